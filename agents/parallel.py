"""Parallel execution of independent tasks: a local process pool or Ray.

:func:`run_tasks` maps a module-level function over picklable tasks and returns the
results in task order, whatever order the workers finish in, so that a parallel run
gives exactly what a serial one gives. Used by :func:`agents.runner.run` (tasks are
(agent, seed) pairs) and through it by ``noma-split compare`` and ``noma-split
sweep``.

Workers compute on one thread each (numba's parallel loops, torch, BLAS): with as
many workers as cores that is the fastest use of the machine, and it keeps a worker
from starving the others. Workers ignore Ctrl-C; the parent stops them on it.
"""

from __future__ import annotations

import atexit
import logging
import os
import pickle
import signal
import socket
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["RAY_INSTALL", "check_picklable", "progress_bar", "run_tasks"]

RAY_INSTALL = 'pip install "noma-split[ray]"'
"""How to get Ray."""

_THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def check_picklable(what: str, value: Any) -> None:
    """Raise a ValueError naming ``what`` if ``value`` cannot be sent to a worker."""
    try:
        pickle.dumps(value)
    except Exception as error:
        raise ValueError(
            f"{what}: cannot be sent to a worker process ({type(error).__name__}: {error}); "
            "allowed: a registered agent name or a picklable agent, or workers=1"
        ) from None


def run_tasks(
    fn: Callable[[Any], Any],
    tasks: Sequence[Any],
    workers: int,
    backend: str = "process",
    address: str | None = None,
    progress: bool = False,
) -> list[Any]:
    """``[fn(task) for task in tasks]`` on ``workers`` workers of ``backend``.

    ``fn`` must be importable (a module-level function) and every task picklable;
    a task's ``describe()`` (if it has one) names it in errors. A failing task
    re-raises its exception here, with a note naming the task, after the other
    workers are stopped.
    """
    for task in tasks:
        check_picklable(_describe(task), task)
    if backend == "ray":
        return _run_ray(fn, tasks, workers, address, progress)
    return _run_processes(fn, tasks, workers, progress)


def _describe(task: Any) -> str:
    describe = getattr(task, "describe", None)
    return f"task ({describe()})" if callable(describe) else "task"


def progress_bar(total: int, enabled: bool, unit: str = "task", desc: str = "run") -> Any:
    """A tqdm bar over ``total`` items on stderr, cleared when closed; a stand-in that
    does nothing unless ``enabled``."""
    from tqdm.auto import tqdm

    return tqdm(total=total, unit=unit, desc=desc, disable=not enabled, leave=False)


def _failed(error: BaseException, task: Any) -> BaseException:
    if hasattr(error, "add_note"):  # Python >= 3.11
        error.add_note(f"in a worker: {_describe(task)}")
    return error


# --------------------------------------------------------------------------- processes
def _init_worker() -> None:
    """A worker computes on one thread, leaves Ctrl-C to its parent and ends when the
    parent is gone (killed, say), instead of computing on as an orphan."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = os.getppid()
    threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()
    for name in _THREAD_VARIABLES:
        os.environ[name] = "1"
    import numba

    numba.set_num_threads(1)
    # torch, if a task imports it, reads OMP_NUM_THREADS then (importing it here would
    # cost every worker seconds and hundreds of MB, for agents that may not need it)


def _exit_with(parent: int, period_s: float = 1.0) -> None:
    """End this process once its parent ``parent`` has exited (checked every second)."""
    while os.getppid() == parent:
        time.sleep(period_s)
    os._exit(1)


def _run_processes(
    fn: Callable[[Any], Any], tasks: Sequence[Any], workers: int, progress: bool
) -> list[Any]:
    from concurrent.futures import FIRST_EXCEPTION, wait

    pool = _pool(workers)
    futures = [pool.submit(fn, task) for task in tasks]
    index = {future: i for i, future in enumerate(futures)}
    results: list[Any] = [None] * len(tasks)
    bar = progress_bar(len(tasks), progress)
    pending = set(futures)
    try:
        while pending:
            # a timeout keeps the wait short, so that Ctrl-C is seen at once
            done, pending = wait(pending, timeout=0.2, return_when=FIRST_EXCEPTION)
            for future in done:
                i = index[future]
                error = future.exception()
                if error is not None:
                    raise _failed(error, tasks[i])
                results[i] = future.result()
                bar.update()
    except BaseException:
        _stop(workers)
        raise
    finally:
        bar.close()
    return results


_POOLS: dict[int, Any] = {}
"""Worker pools by size, kept for the next run of the process: starting a worker
(a new interpreter, the imports, the compiled kernels loaded) takes seconds, and a
comparison makes several runs in a row."""


def _pool(workers: int) -> Any:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    pool = _POOLS.get(workers)
    if pool is None:
        # spawn, not fork: the parent may hold numba or torch threads, which fork breaks
        context = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker)
        _POOLS[workers] = pool
    return pool


@atexit.register
def _close_pools() -> None:
    """At exit: end the kept pools while the interpreter is still whole."""
    while _POOLS:
        _POOLS.popitem()[1].shutdown(wait=True, cancel_futures=True)


def _stop(workers: int) -> None:
    """Cancel what has not started and end the pool's workers now."""
    pool = _POOLS.pop(workers)
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(timeout=5)


# --------------------------------------------------------------------------- ray
def _run_ray(
    fn: Callable[[Any], Any],
    tasks: Sequence[Any],
    workers: int,
    address: str | None,
    progress: bool,
) -> list[Any]:
    try:
        import ray
    except ImportError:
        raise ImportError(f"backend 'ray' needs Ray, not installed here: {RAY_INSTALL}") from None
    started = False
    if not ray.is_initialized():
        if address is not None:
            _check_reachable(address)
        options: dict[str, Any] = {
            "log_to_driver": False,
            "include_dashboard": False,
            "logging_level": logging.ERROR,
        }
        if address is None:
            options["num_cpus"] = workers
        try:
            ray.init(address=address, **options)
        except (ConnectionError, TimeoutError, RuntimeError, ValueError) as error:
            where = f"at {address!r}" if address is not None else "locally"
            raise ConnectionError(
                f"cannot start or reach a Ray cluster {where} ({error}); {_ADDRESS_HINT}"
            ) from None
        started = True
    remote = ray.remote(num_cpus=1)(_ray_task)
    refs = [remote.remote(fn, task) for task in tasks]
    index = {ref: i for i, ref in enumerate(refs)}
    results: list[Any] = [None] * len(tasks)
    bar = progress_bar(len(tasks), progress)
    pending = list(refs)
    try:
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                i = index[ref]
                try:
                    results[i] = ray.get(ref)
                except ray.exceptions.RayTaskError as error:
                    cause = error.as_instanceof_cause()
                    raise _failed(cause, tasks[i]) from None
                bar.update()
    except BaseException:
        for ref in pending:
            ray.cancel(ref, force=True)
        raise
    finally:
        bar.close()
        if started:
            ray.shutdown()
    return results


_ADDRESS_HINT = (
    "check the address (host:6379, ray://host:10001 or auto), or leave --address out to "
    "start a local instance"
)


def _check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """A ConnectionError at once if nothing listens at a ``host:port`` address (Ray
    itself retries for minutes); ``auto`` and addresses without a port are left to Ray."""
    target = address.removeprefix("ray://")
    host, sep, port = target.rpartition(":")
    if not sep or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except OSError as error:
        raise ConnectionError(
            f"cannot reach a Ray cluster at {address!r} ({error}); {_ADDRESS_HINT}"
        ) from None


def _ray_task(fn: Callable[[Any], Any], task: Any) -> Any:
    """A task on a Ray worker, on one thread like a pool worker."""
    for name in _THREAD_VARIABLES:
        os.environ[name] = "1"
    import numba

    numba.set_num_threads(1)
    return fn(task)
