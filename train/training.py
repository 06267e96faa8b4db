"""Train a Stable-Baselines3 policy on NomaSplit: the logic behind ``noma-split train``.

Read it top to bottom: :func:`train` seeds everything, builds the vectorized envs
(:func:`make_vec_env`) and the model in memory, only then creates the run folder
``runs/<scenario>__<algo>__<seed>__<time>/`` (:func:`new_run_dir`: two runs started
in the same second get ``...`` and ``...-2``), learns, and writes:

================================  ====================================================
``config.yaml``                   the resolved :class:`~train.config.TrainConfig`
``model.zip``                     the final model (``agents.make("sb3", path=run)``)
``vecnormalize.pkl``              observation normalization statistics
``learning_curve.csv`` / ``.png`` evaluation cost per slot against training steps
``bc.json``                       ``init: bc``: the expert data and the clone's scores
                                  (:mod:`train.imitation`)
``train_time.json``               wall time of the whole run and of its RL part [s]
``checkpoints/``                  ``model_<steps>_steps.zip`` + normalization + replay
                                  buffer (names: :func:`checkpoint_files`)
``eval/evaluations.npz``          every evaluation's episode returns and lengths
                                  (keys ``timesteps``, ``results``, ``ep_lengths``)
``tb/``                           TensorBoard logs (``tensorboard --logdir runs``)
================================  ====================================================

**Nothing is lost.** Every file but the TensorBoard logs is written under a
temporary name and renamed once complete (:mod:`noma_split_env.files`), so a kill
leaves the previous version intact; a checkpoint's model file is written last, after
its normalization and replay buffer. Ctrl-C during a save is held back until the save
is complete (:func:`deferred_sigint`). A Ctrl-C during learning saves a checkpoint
and returns ``interrupted=True``; :func:`resume` continues from the newest checkpoint
that loads, saying which ones it skipped (a finished run's ``model.zip`` comes first
when it holds more steps than every checkpoint). A run that fails with an error
removes the run folder it created while nothing of value is in it; once it has saved
a checkpoint or ``model.zip`` the folder stays (resume it) and the error propagates.
A Ctrl-C inside numba code, which arrives as a ``SystemError`` caused by a
``KeyboardInterrupt``, counts as a Ctrl-C.

**The environment as the policy sees it.** ``NomaSplitEnv`` -> the action view
(:class:`~noma_split_env.wrappers.MultiDiscreteAction` or
:class:`~noma_split_env.wrappers.FlatBoxAction`) -> :class:`TrainingEnv` (keeps only
the cost in ``info``: SB3's ``DummyVecEnv`` deep-copies every ``info`` each step and
the env's full breakdown made that a fifth of the training time; optional
``log-cost`` reward) -> ``Monitor`` -> ``DummyVecEnv`` -> ``VecNormalize``.
Slots do not depend on the decisions (docs/model.md section 9.9), so each slot is a
contextual bandit: ``gamma = 0`` in the default configs, and the ``log-cost`` reward
``-ln C`` has the same best action on every slot as ``-C`` (a monotone map of a
reward that is a function of the slot and the action) while taming the heavy tail of
bad random actions (a stalled upload costs up to 100x all-local).

**Seeds.** ``set_random_seed(seed)`` (Python, NumPy, torch), deterministic torch
algorithms, ``torch_threads`` threads (at most the machine's CPU count, with a note
when capped), the algorithm's own seeding (policy, action space). The training envs
get seeds ``base + i`` and the evaluation env the seed ``eval``, both drawn from
``SeedSequence([seed, ...])`` (large integers), so the small seeds of comparisons (0,
1, 2, ...) never meet a training episode. Same config and seed, same model on CPU. A
resumed run (``--resume``) restarts its episodes from fresh seeds; it is reproducible
itself but not bit-identical to an uninterrupted run.

**Budget.** SB3 trains whole rollouts, so a run trains
:meth:`~train.config.TrainConfig.effective_timesteps` steps, which may exceed
``timesteps``; the run then says so (:meth:`~train.config.TrainConfig.rounding_note`).

**Evaluation.** Every ``eval_freq`` steps, and at the first and the last step, the
deterministic policy runs ``eval_episodes`` episodes on the evaluation env,
reseeded each time so that every point of the learning curve scores the same slots;
the curve reports the cost per slot (``-return / length``) with its standard
deviation over episodes.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import re
import shutil
import signal
import sys
import threading
import time
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from os import PathLike
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from agents.base import caused_by_interrupt
from noma_split_env.files import atomic_path, atomic_write, check_output_dir, exclusive_dir
from noma_split_env.wrappers import FlatBoxAction, MultiDiscreteAction
from train.config import TrainConfig, activation_class, algorithm_class, load_config
from train.extras import require_rl

__all__ = [
    "CURVE_FIELDS",
    "CheckpointFiles",
    "TrainResult",
    "TrainingEnv",
    "checkpoint_files",
    "checkpoint_steps",
    "deferred_sigint",
    "files_of",
    "final_files",
    "latest_checkpoint",
    "list_checkpoints",
    "make_vec_env",
    "new_run_dir",
    "read_curve",
    "resume",
    "run_name",
    "save_model",
    "seeds_for",
    "train",
    "view_wrapper",
]

CURVE_FIELDS = ("timesteps", "cost_mean", "cost_std", "episodes")
"""Columns of ``learning_curve.csv``: steps, mean and std over episodes of the
per-slot evaluation cost, and the number of episodes."""


def _to_stderr(message: str) -> None:
    print(message, file=sys.stderr)


Log = Callable[[str], None]
"""Where a run reports what the user should know (budget rounding, skipped
checkpoints): one line per call; stderr by default."""


@dataclass(frozen=True)
class TrainResult:
    """What a training run produced."""

    run_dir: Path
    """The run folder."""
    model_path: Path
    """``model.zip`` (or, if interrupted, the last checkpoint)."""
    timesteps: int
    """Steps trained in total (whole rollouts: ``config.effective_timesteps()``)."""
    interrupted: bool
    """True if stopped by Ctrl-C; ``model_path`` is then the saved checkpoint."""
    wall_time_s: float
    """Duration of this call [s]."""
    curve: tuple[dict[str, float], ...]
    """The learning curve (rows with :data:`CURVE_FIELDS`)."""


# --------------------------------------------------------------------------- envs
class TrainingEnv(gym.Wrapper):
    """The training view of the env: a lean ``info`` and the configured reward.

    ``info`` keeps only ``cost`` (the slot cost ``C``); the reward is ``-C``
    (``reward="cost"``) or ``-ln C`` (``reward="log-cost"``; ``C > 0`` always, since
    energy is positive).
    """

    def __init__(self, env: gym.Env, reward: str = "cost") -> None:
        super().__init__(env)
        if reward not in ("cost", "log-cost"):
            raise ValueError(f"TrainingEnv.reward: got {reward!r}, allowed: cost or log-cost")
        self.log_cost = reward == "log-cost"

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        cost = float(info["cost"])
        reward = -float(np.log(cost)) if self.log_cost else float(reward)
        return obs, reward, terminated, truncated, {"cost": cost}


def view_wrapper(config: TrainConfig) -> Callable[[gym.Env], gym.Env]:
    """The action view of ``config``: ``env -> MultiDiscreteAction | FlatBoxAction``."""
    if config.action_view == "multidiscrete":
        return lambda env: MultiDiscreteAction(env, power_levels=config.power_levels)
    return FlatBoxAction


def _env_factory(config: TrainConfig, reward: str) -> Callable[[], gym.Env]:
    from stable_baselines3.common.monitor import Monitor

    scenario = config.make_scenario()
    wrap = view_wrapper(config)

    def make() -> gym.Env:
        return Monitor(TrainingEnv(wrap(config.make_env(scenario, "costs")), reward=reward))

    return make


def make_vec_env(config: TrainConfig, *, evaluation: bool = False) -> Any:
    """``DummyVecEnv`` of ``n_envs`` training envs (1 for evaluation), with
    ``VecNormalize`` when the config normalizes observations or rewards.

    The evaluation env always scores the true cost and never updates the statistics
    (they are copied from the training env before each evaluation).
    """
    from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

    n = 1 if evaluation else config.n_envs
    reward = "cost" if evaluation else config.reward
    venv = DummyVecEnv([_env_factory(config, reward) for _ in range(n)])
    if config.normalize_obs or config.normalize_reward:
        venv = VecNormalize(
            venv,
            training=not evaluation,
            norm_obs=config.normalize_obs,
            norm_reward=config.normalize_reward and not evaluation,
            clip_obs=config.clip_obs,
            gamma=float(config.hyperparam("gamma")),
        )
    return venv


def seeds_for(seed: int, restart: int = 0) -> tuple[int, int]:
    """``(training base seed, evaluation seed)`` derived from ``seed``.

    ``restart`` > 0 gives fresh training seeds for a resumed run (the step count).
    """
    train_base, eval_seed = np.random.SeedSequence([seed, restart]).generate_state(2)
    return int(train_base) // 2, int(eval_seed) // 2  # room for base + i below 2**32


def _seed_everything(config: TrainConfig, log: Log) -> None:
    import torch
    from stable_baselines3.common.utils import set_random_seed

    cpus = os.cpu_count() or 1
    threads = min(config.torch_threads, cpus)
    if threads < config.torch_threads:
        plural = "s" if cpus > 1 else ""
        log(
            f"torch_threads {config.torch_threads} capped to the {cpus} CPU{plural} of this machine"
        )
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True, warn_only=True)
    # argument validation of torch.distributions costs ~15% of a MultiDiscrete rollout
    torch.distributions.Distribution.set_default_validate_args(False)
    set_random_seed(config.seed)


# --------------------------------------------------------------------------- model
def _policy_kwargs(config: TrainConfig) -> dict[str, Any]:
    kwargs = dict(config.policy_kwargs)
    if "activation_fn" in kwargs:
        kwargs["activation_fn"] = activation_class(kwargs["activation_fn"])
    if config.policy == "PerUserPolicy":
        kwargs["num_users"] = config.make_scenario().num_users
    return kwargs


def _policy(config: TrainConfig) -> Any:
    if config.policy == "PerUserPolicy":
        from train.policies import per_user_policy

        return per_user_policy(config.algo)
    return config.policy


def _build_model(config: TrainConfig, venv: Any) -> Any:
    """The model, in memory only (its TensorBoard folder is set once the run has one)."""
    hyper = config.algorithm_kwargs()
    if config.action_noise_sigma > 0:
        from stable_baselines3.common.noise import NormalActionNoise

        dim = venv.action_space.shape[0]
        hyper["action_noise"] = NormalActionNoise(
            np.zeros(dim), config.action_noise_sigma * np.ones(dim)
        )
    return algorithm_class(config.algo)(
        _policy(config),
        venv,
        seed=config.seed,
        device="cpu",
        verbose=0,
        policy_kwargs=_policy_kwargs(config),
        **hyper,
    )


# --------------------------------------------------------------------------- saved files
_CHECKPOINT = re.compile(r"^model_(\d+)_steps\.zip$")


@dataclass(frozen=True)
class CheckpointFiles:
    """The files of one saved model of a run: the one home of their names.

    A checkpoint (``steps`` set) is ``checkpoints/model_<N>_steps.zip`` with
    ``model_vecnormalize_<N>_steps.pkl`` and ``model_replay_buffer_<N>_steps.pkl``;
    the final model is ``model.zip`` with ``vecnormalize.pkl`` and no replay buffer.
    """

    run_dir: Path
    """The run folder."""
    model: Path
    """The SB3 model (``.zip``)."""
    vecnormalize: Path
    """The ``VecNormalize`` statistics (``.pkl``), written when the run normalizes."""
    replay_buffer: Path | None
    """The replay buffer (``.pkl``, SAC/TD3), None for the final model."""
    steps: int | None
    """Training steps of a checkpoint; None for the final model."""


def checkpoint_files(run_dir: str | PathLike[str], steps: int) -> CheckpointFiles:
    """The files of the checkpoint at ``steps`` training steps in ``run_dir/checkpoints``."""
    run_dir = Path(run_dir)
    folder = run_dir / "checkpoints"
    return CheckpointFiles(
        run_dir=run_dir,
        model=folder / f"model_{steps}_steps.zip",
        vecnormalize=folder / f"model_vecnormalize_{steps}_steps.pkl",
        replay_buffer=folder / f"model_replay_buffer_{steps}_steps.pkl",
        steps=steps,
    )


def final_files(run_dir: str | PathLike[str]) -> CheckpointFiles:
    """The files of the final model of ``run_dir``: ``model.zip``, ``vecnormalize.pkl``."""
    run_dir = Path(run_dir)
    return CheckpointFiles(run_dir, run_dir / "model.zip", run_dir / "vecnormalize.pkl", None, None)


def checkpoint_steps(path: str | PathLike[str]) -> int | None:
    """``N`` of a checkpoint model ``.../model_<N>_steps.zip``, else None."""
    match = _CHECKPOINT.match(Path(path).name)
    return int(match.group(1)) if match else None


def files_of(model: str | PathLike[str]) -> CheckpointFiles:
    """The files that go with model file ``model``: a checkpoint's (in ``checkpoints/``)
    or, for any other ``.zip``, those of the final model of its folder."""
    model = Path(model)
    steps = checkpoint_steps(model)
    if steps is not None and model.parent.name == "checkpoints":
        return checkpoint_files(model.parent.parent, steps)
    run_dir = model.parent
    return CheckpointFiles(run_dir, model, run_dir / "vecnormalize.pkl", None, None)


def list_checkpoints(run_dir: str | PathLike[str]) -> list[CheckpointFiles]:
    """The checkpoints of ``run_dir`` whose model file exists, newest (most steps) first."""
    folder = Path(run_dir) / "checkpoints"
    if not folder.is_dir():
        return []
    found = {checkpoint_steps(p) for p in folder.iterdir()} - {None}
    return [checkpoint_files(run_dir, n) for n in sorted(found, reverse=True)]


def latest_checkpoint(run_dir: str | PathLike[str]) -> Path | None:
    """The checkpoint model with the most steps in ``run_dir/checkpoints``, or None."""
    found = list_checkpoints(run_dir)
    return found[0].model if found else None


def save_model(model: Any, files: CheckpointFiles) -> Path:
    """Save ``model`` to ``files``, each file atomically; returns ``files.model``.

    The normalization statistics and the replay buffer (if ``files`` has one and the
    model keeps one) come first and the model last, so a model file that exists always
    has its companions. Wrap the call in :func:`deferred_sigint` to finish it even
    through a Ctrl-C.
    """
    files.model.parent.mkdir(parents=True, exist_ok=True)
    normalizer = model.get_vec_normalize_env()
    if normalizer is not None:
        with atomic_path(files.vecnormalize) as tmp:
            normalizer.save(str(tmp))
    if files.replay_buffer is not None and getattr(model, "replay_buffer", None) is not None:
        with atomic_path(files.replay_buffer) as tmp:
            model.save_replay_buffer(tmp)
    with atomic_path(files.model) as tmp:
        model.save(tmp)
    return files.model


@contextlib.contextmanager
def deferred_sigint(reraise: bool = True) -> Iterator[list[int]]:
    """Hold Ctrl-C (SIGINT) back until the block is done.

    Inside the block SIGINT only appends to the yielded list; the previous handler is
    restored on exit, and then, if a SIGINT came and ``reraise``, ``KeyboardInterrupt``
    is raised. Outside the main thread (where handlers cannot be installed) the block
    runs unprotected.
    """
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return
    previous = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, lambda signum, _frame: received.append(signum))
    try:
        yield received
    finally:
        signal.signal(signal.SIGINT, previous if previous is not None else signal.SIG_DFL)
    if received and reraise:
        raise KeyboardInterrupt


# --------------------------------------------------------------------------- callbacks
def _checkpoint_callback(run_dir: Path, every: int) -> Any:
    """Save a checkpoint (:func:`save_model`) every ``every`` calls (vectorized steps)."""
    from stable_baselines3.common.callbacks import BaseCallback

    class Checkpoints(BaseCallback):
        def _on_step(self) -> bool:
            if self.n_calls % every == 0:
                with deferred_sigint():  # a Ctrl-C waits for the save, then stops learning
                    save_model(self.model, checkpoint_files(run_dir, self.num_timesteps))
            return True

    return Checkpoints()


def _evaluation_callback(
    config: TrainConfig, run_dir: Path, eval_seed: int, previous: Sequence[dict[str, Any]]
) -> Any:
    """The evaluations of the learning curve (module docstring), with their log
    ``eval/evaluations.npz`` rewritten atomically after each one."""
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.evaluation import evaluate_policy
    from stable_baselines3.common.vec_env import sync_envs_normalization

    every = max(config.eval_freq // config.n_envs, 1) if config.eval_freq > 0 else 0
    log_path = run_dir / "eval" / "evaluations.npz"

    class Evaluation(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self.eval_env = make_vec_env(config, evaluation=True)
            self.evaluations_timesteps = [int(r["timesteps"]) for r in previous]
            self.evaluations_results = [list(r["_returns"]) for r in previous]
            self.evaluations_length = [list(r["_lengths"]) for r in previous]

        def _on_training_start(self) -> None:
            self._evaluate_if_new()

        def _on_training_end(self) -> None:
            self._evaluate_if_new()

        def _on_step(self) -> bool:
            if every and self.n_calls % every == 0:
                self._evaluate()
            return True

        def _evaluate_if_new(self) -> None:
            done = self.evaluations_timesteps
            if every and (not done or done[-1] < self.num_timesteps):
                self._evaluate()

        def _evaluate(self) -> None:
            if self.model.get_vec_normalize_env() is not None:
                sync_envs_normalization(self.training_env, self.eval_env)
            self.eval_env.seed(eval_seed)
            returns, lengths = evaluate_policy(
                self.model,
                self.eval_env,
                n_eval_episodes=config.eval_episodes,
                deterministic=True,
                return_episode_rewards=True,
                warn=False,
            )
            self.evaluations_timesteps.append(self.num_timesteps)
            self.evaluations_results.append(list(returns))
            self.evaluations_length.append(list(lengths))
            _write_evaluations(log_path, self)
            self._record(np.asarray(returns, dtype=float), np.asarray(lengths, dtype=float))

        def _record(self, returns: np.ndarray, lengths: np.ndarray) -> None:
            self.logger.record("eval/mean_reward", float(returns.mean()))
            self.logger.record("eval/mean_ep_length", float(lengths.mean()))
            self.logger.record("eval/cost", float(-returns.sum() / lengths.sum()))
            self.logger.record("time/total_timesteps", self.num_timesteps, exclude="tensorboard")
            self.logger.dump(self.num_timesteps)

    return Evaluation()


def _callbacks(
    config: TrainConfig, run_dir: Path, eval_seed: int, previous: Sequence[dict[str, Any]]
) -> tuple[list[Any], Any]:
    """``(callbacks, the evaluation callback)`` of a run."""
    callbacks: list[Any] = []
    if config.checkpoint_freq > 0:
        every = max(config.checkpoint_freq // config.n_envs, 1)
        callbacks.append(_checkpoint_callback(run_dir, every))
    if config.actor_warmup > 0:
        callbacks.append(_actor_warmup_callback(config.actor_warmup))
    evaluation = _evaluation_callback(config, run_dir, eval_seed, previous)
    callbacks.append(evaluation)
    return callbacks, evaluation


def _actor_warmup_callback(steps: int) -> Any:
    """``actor_warmup``: keep SAC's or TD3's actor fixed (no gradient) until
    ``learning_starts + steps`` environment steps, counted from the start of the run
    (a resumed run picks up where it was); the critics learn meanwhile."""
    from stable_baselines3.common.callbacks import BaseCallback

    class ActorWarmup(BaseCallback):
        def _set(self) -> None:
            frozen = self.model.num_timesteps < self.model.learning_starts + steps
            for parameter in self.model.actor.parameters():
                parameter.requires_grad_(not frozen)

        def _on_training_start(self) -> None:
            self._set()

        def _on_step(self) -> bool:  # before the gradient steps that follow this step
            self._set()
            return True

        def _on_training_end(self) -> None:
            for parameter in self.model.actor.parameters():
                parameter.requires_grad_(True)

    return ActorWarmup()


def _write_evaluations(path: Path, evaluation: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, "wb") as f:
        np.savez(
            f,
            timesteps=np.asarray(evaluation.evaluations_timesteps),
            results=np.asarray(evaluation.evaluations_results),
            ep_lengths=np.asarray(evaluation.evaluations_length),
        )


def _curve(evaluation: Any) -> tuple[dict[str, float], ...]:
    rows = []
    for t, returns, lengths in zip(
        evaluation.evaluations_timesteps,
        evaluation.evaluations_results,
        evaluation.evaluations_length,
        strict=True,
    ):
        per_slot = -np.asarray(returns, dtype=float) / np.asarray(lengths, dtype=float)
        rows.append(
            {
                "timesteps": int(t),
                "cost_mean": float(per_slot.mean()),
                "cost_std": float(per_slot.std()),
                "episodes": len(per_slot),
            }
        )
    return tuple(rows)


def _write_curve(run_dir: Path, curve: Sequence[dict[str, float]], label: str) -> None:
    from train.plots import plot_learning_curves

    with atomic_write(run_dir / "learning_curve.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=CURVE_FIELDS)
        writer.writeheader()
        writer.writerows(curve)
    with atomic_path(run_dir / "learning_curve.png") as tmp:
        plot_learning_curves({label: curve}, tmp)


def read_curve(run_dir: str | PathLike[str]) -> list[dict[str, float]]:
    """The learning curve of a run folder (empty if it has none)."""
    path = Path(run_dir) / "learning_curve.csv"
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as f:
        return [
            {
                "timesteps": int(r["timesteps"]),
                "cost_mean": float(r["cost_mean"]),
                "cost_std": float(r["cost_std"]),
                "episodes": int(r["episodes"]),
            }
            for r in csv.DictReader(f)
        ]


def _previous_evaluations(run_dir: Path, upto: int, log: Log) -> list[dict[str, Any]]:
    """The evaluations of ``eval/evaluations.npz`` up to step ``upto`` (none, with a
    note, if the file does not load)."""
    path = run_dir / "eval" / "evaluations.npz"
    if not path.is_file():
        return []
    try:
        with np.load(path) as data:
            logged = zip(data["timesteps"], data["results"], data["ep_lengths"], strict=True)
            return [
                {"timesteps": int(t), "_returns": returns, "_lengths": lengths}
                for t, returns, lengths in logged
                if int(t) <= upto
            ]
    except Exception as exc:  # truncated or foreign file: numpy, zip or key errors
        log(
            f"ignoring eval/evaluations.npz: it does not load ({_reason(exc)}); the learning "
            f"curve restarts at step {upto}"
        )
        return []


# --------------------------------------------------------------------------- run folder
def run_name(config: TrainConfig, when: datetime | None = None) -> str:
    """``<scenario>__<algo>__<seed>__<YYYYmmdd-HHMMSS>`` (``queue-<scenario>`` on the
    queued env)."""
    stamp = (when or datetime.now()).strftime("%Y%m%d-%H%M%S")
    scenario = f"queue-{config.scenario}" if config.env == "queue" else config.scenario
    return f"{scenario}__{config.algo}__{config.seed}__{stamp}"


def new_run_dir(
    runs_dir: str | PathLike[str], config: TrainConfig, when: datetime | None = None
) -> Path:
    """Create and return a new run folder ``runs_dir/<run_name>``, or ``<run_name>-2``,
    ``-3``, ... if taken (also by another process at the same moment)."""
    return exclusive_dir(Path(runs_dir) / run_name(config, when))


def _check_destination(runs_dir: str | PathLike[str], run_dir: str | PathLike[str] | None) -> None:
    """Refuse, before any computation, a destination a run cannot be written to."""
    if run_dir is None:
        check_output_dir(runs_dir, "--runs-dir", overwrite=True)
        return
    if (Path(run_dir) / "config.yaml").exists():
        raise ValueError(
            f"train.run_dir: {str(run_dir)!r} already holds a run; allowed: a new folder "
            "(or use resume)"
        )
    check_output_dir(run_dir, "train.run_dir", overwrite=True)


def _create_run_dir(
    config: TrainConfig, runs_dir: str | PathLike[str], run_dir: str | PathLike[str] | None
) -> tuple[Path, frozenset[str] | None]:
    """``(run folder, names it held before)``; None = this call created it."""
    if run_dir is None:
        return new_run_dir(runs_dir, config), None
    path = Path(run_dir)
    if path.is_dir():
        return path, frozenset(p.name for p in path.iterdir())
    path.mkdir(parents=True)
    return path, None


def _holds_a_model(path: Path) -> bool:
    """``path`` holds a saved model: a checkpoint model or ``model.zip``."""
    return bool(list_checkpoints(path)) or final_files(path).model.is_file()


def _discard(path: Path, before: frozenset[str] | None) -> None:
    """Remove what a failed run wrote: its folder if it created it, else its new entries."""
    if before is None:
        shutil.rmtree(path, ignore_errors=True)
        return
    for entry in path.iterdir():
        if entry.name not in before:
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()


# --------------------------------------------------------------------------- resuming
class _Unloadable(Exception):
    """A saved model that does not load; the message says which file and why."""


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    text = text if len(text) <= 160 else text[:157] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _attempt(what: str, load: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    try:
        return load(*args, **kwargs)
    except Exception as exc:  # zip, pickle, torch or SB3 errors alike
        raise _Unloadable(f"{what} does not load ({_reason(exc)})") from None


def _load(config: TrainConfig, files: CheckpointFiles, venv: Any) -> Any:
    """The model of ``files`` on ``venv`` with its normalization and replay buffer."""
    from stable_baselines3.common.vec_env import VecNormalize

    env = venv
    if isinstance(venv, VecNormalize):
        name = f"its normalization file {files.vecnormalize.name}"
        if not files.vecnormalize.is_file():
            raise _Unloadable(f"{name} is missing")
        env = _attempt(name, VecNormalize.load, str(files.vecnormalize), venv.venv)
        env.training = True
    tb = str(files.run_dir / "tb")
    cls = algorithm_class(config.algo)
    model = _attempt("the model", cls.load, files.model, env=env, device="cpu", tensorboard_log=tb)
    buffer = files.replay_buffer
    keeps_one = getattr(model, "replay_buffer", None) is not None
    if keeps_one and buffer is not None and buffer.is_file():
        _attempt(f"its replay buffer {buffer.name}", model.load_replay_buffer, buffer)
    return model


def _saved_steps(model: Path) -> int | None:
    """``num_timesteps`` of the SB3 model file ``model`` (its ``data`` entry, plain
    JSON, read without loading the model), None if it cannot be read."""
    try:
        with zipfile.ZipFile(model) as archive:
            steps = json.loads(archive.read("data"))["num_timesteps"]
    except Exception:  # not a zip, no data entry, not JSON, no such key: zip/JSON/key errors
        return None
    return steps if isinstance(steps, int) and not isinstance(steps, bool) else None


def _candidates(run_dir: Path) -> list[CheckpointFiles]:
    """The saved models of ``run_dir`` to try, in order: the checkpoints newest first,
    then ``model.zip``; ``model.zip`` first if it holds more steps than every
    checkpoint (a finished run whose total is not a checkpoint step). On a tie the
    newest checkpoint goes first: the same model, with its replay buffer."""
    checkpoints = list_checkpoints(run_dir)
    final = final_files(run_dir)
    if not final.model.is_file():
        return checkpoints
    steps = _saved_steps(final.model)
    if steps is not None and all(steps > files.steps for files in checkpoints):
        return [final, *checkpoints]
    return [*checkpoints, final]


def _load_latest(config: TrainConfig, run_dir: Path, log: Log) -> Any:
    """The newest saved model of ``run_dir`` that loads (in the order of
    :func:`_candidates`); says which it skipped and why."""
    candidates = [files for files in _candidates(run_dir) if files.model.is_file()]
    if not candidates:
        raise FileNotFoundError(
            f"--resume: nothing to resume in {str(run_dir)!r}: no checkpoints/model_*_steps.zip "
            "and no model.zip"
        )
    venv = make_vec_env(config)
    skipped: list[str] = []
    for files in candidates:
        name = files.model.relative_to(run_dir).as_posix()
        try:
            model = _load(config, files, venv)
        except _Unloadable as why:
            skipped.append(f"{name}: {why}")
            continue
        for line in skipped:
            log(f"skipping {line}")
        if skipped:
            log(f"resuming from {name} (step {model.num_timesteps})")
        return model
    raise ValueError(f"--resume: no saved model of {str(run_dir)!r} loads: {'; '.join(skipped)}")


# --------------------------------------------------------------------------- entry points
def train(
    config: TrainConfig,
    runs_dir: str | PathLike[str] = "runs",
    *,
    progress_bar: bool = True,
    run_dir: str | PathLike[str] | None = None,
    log: Log = _to_stderr,
) -> TrainResult:
    """Train ``config`` from scratch into a new run folder under ``runs_dir``.

    Args:
        config: The resolved configuration (:func:`train.config.load_config`).
        runs_dir: Parent of the run folder (checked writable before anything runs).
        progress_bar: Show SB3's progress bar (tqdm + rich).
        run_dir: Use this exact folder instead of a new ``runs_dir/<name>`` (it may
            exist but must hold no ``config.yaml``).
        log: Receives one-line notes (the budget rounding); default: stderr.

    The buffers are checked to fit in memory (:meth:`TrainConfig.check_memory`) and
    the model is built before the run folder is created. If training then fails with
    an error before any model is saved, the folder (or what this call added to
    ``run_dir``) is removed; once a checkpoint or ``model.zip`` is saved the folder is
    kept, with a note to ``log`` saying how to resume, and the error propagates. A
    Ctrl-C (``KeyboardInterrupt``, or numba's ``SystemError`` caused by one) saves a
    checkpoint and the learning curve so far and returns with ``interrupted=True``;
    continue with :func:`resume`.
    """
    require_rl("noma-split train")
    config.check_memory()
    _check_destination(runs_dir, run_dir)
    if note := config.rounding_note():
        log(note)
    _seed_everything(config, log)
    venv = make_vec_env(config)
    model = _build_model(config, venv)
    train_seed, eval_seed = seeds_for(config.seed)
    venv.seed(train_seed)  # after the model, which seeds the envs with `seed` itself
    path, before = _create_run_dir(config, runs_dir, run_dir)
    try:
        model.tensorboard_log = str(path / "tb")
        config.to_yaml(path / "config.yaml")
        start = time.perf_counter()
        if config.init == "bc":
            _clone(model, config, path, progress_bar, log)
        result = _learn(model, config, path, eval_seed, progress_bar, [], resumed=False)
        with atomic_write(path / "train_time.json") as f:
            total = time.perf_counter() - start
            json.dump(
                {"train_seconds": round(total, 1), "rl_seconds": round(result.wall_time_s, 1)}, f
            )
        return result
    except Exception:
        if not _holds_a_model(path):
            _discard(path, before)
        else:
            resume_with = f"noma-split train --resume {path}"
            log(f"keeping {path}: it holds saved models; resume with: {resume_with}")
        raise


def resume(
    run_dir: str | PathLike[str],
    timesteps: int | None = None,
    *,
    progress_bar: bool = True,
    log: Log = _to_stderr,
) -> TrainResult:
    """Continue the run in ``run_dir`` from its newest checkpoint that loads.

    Trains until ``timesteps`` in total (default: the run's configured total). The
    checkpoints are tried newest first, then ``model.zip`` (first, if it holds more
    steps than every checkpoint: a finished run); one that does not load
    (its model, or its normalization file when the run normalizes, or its replay
    buffer) is skipped with a note to ``log`` (default: stderr). The normalization
    statistics and, for SAC/TD3, the replay buffer are restored. An
    ``eval/evaluations.npz`` that does not load is ignored with a note.

    Raises:
        FileNotFoundError: ``run_dir`` is not a run folder or holds no saved model.
        ValueError: no saved model loads (each one is named with its reason), or the
            run has already trained ``timesteps`` steps.
    """
    require_rl("noma-split train --resume")
    path = Path(run_dir)
    if not (path / "config.yaml").is_file():
        raise FileNotFoundError(
            f"--resume: {str(path)!r} is not a run folder (no config.yaml); expected a "
            "folder written by `noma-split train`"
        )
    check_output_dir(path, "--resume", overwrite=True)
    config = load_config(path=path / "config.yaml")
    if timesteps is not None:
        config = config.replace(timesteps=timesteps)
    config.check_memory()
    _seed_everything(config, log)
    model = _load_latest(config, path, log)
    done = int(model.num_timesteps)
    if config.timesteps <= done:
        raise ValueError(
            f"--resume: {str(path)!r} has already trained {done} of {config.timesteps} steps; "
            "pass a larger --timesteps to train further"
        )
    if note := config.rounding_note(done):
        log(note)
    config.to_yaml(path / "config.yaml")
    eval_seed = seeds_for(config.seed)[1]
    model.get_env().seed(seeds_for(config.seed, restart=done)[0])
    previous = _previous_evaluations(path, done, log)
    return _learn(model, config, path, eval_seed, progress_bar, previous, resumed=True)


def _clone(model: Any, config: TrainConfig, run_dir: Path, progress: bool, log: Log) -> None:
    """``init: bc``: behaviour-clone the expert into ``model`` and write ``bc.json``."""
    from train.imitation import behaviour_clone, expert_data

    bc = config.bc_settings()
    data = expert_data(
        config.make_scenario(),
        expert=bc["expert"],
        episodes=bc["episodes"],
        steps=bc["steps"],
        seed=config.seed,
        workers=bc["workers"],
        progress=progress,
        log=log,
        queued=config.env == "queue",
    )
    result = behaviour_clone(
        model,
        data,
        reward=config.reward,
        epochs=bc["epochs"],
        batch_size=bc["batch_size"],
        learning_rate=bc["learning_rate"],
        vf_coef=0.0 if config.normalize_reward else bc["vf_coef"],
        holdout=bc["holdout"],
        relabel=bc["relabel"],
        seed=config.seed,
        gamma=float(config.hyperparam("gamma")),
        log=log,
    )
    with atomic_write(run_dir / "bc.json") as f:
        json.dump({"data": data.meta, "result": result.to_dict()}, f, indent=2)


def _learn(
    model: Any,
    config: TrainConfig,
    run_dir: Path,
    eval_seed: int,
    progress_bar: bool,
    previous: Sequence[dict[str, Any]],
    *,
    resumed: bool,
) -> TrainResult:
    """Learn up to ``config.timesteps``, then save the model (a checkpoint if
    interrupted) and the learning curve, through a Ctrl-C if need be."""
    callbacks, evaluation = _callbacks(config, run_dir, eval_seed, previous)
    start = time.perf_counter()
    interrupted = False
    budget = config.timesteps - model.num_timesteps if resumed else config.timesteps
    venv = model.get_env()
    if budget == 0 and hasattr(venv, "obs_rms"):  # the clone alone: keep its statistics
        venv.training = False  # (SB3's reset before the first rollout would update them)
    try:
        try:
            model.learn(
                budget,
                callback=callbacks,
                progress_bar=progress_bar,
                tb_log_name=config.algo,
                reset_num_timesteps=not resumed,
            )
        except KeyboardInterrupt:
            interrupted = True
        except SystemError as error:  # numba's wrapper of a Ctrl-C inside a compiled kernel
            if not caused_by_interrupt(error):
                raise
            interrupted = True
        steps = int(model.num_timesteps)
        with deferred_sigint(reraise=False):  # stopping anyway: a 2nd Ctrl-C waits
            files = checkpoint_files(run_dir, steps) if interrupted else final_files(run_dir)
            model_path = save_model(model, files)
            curve = _curve(evaluation)
            _write_curve(run_dir, curve, config.algo)
    finally:
        model.get_env().close()
        evaluation.eval_env.close()
    return TrainResult(
        run_dir=run_dir,
        model_path=model_path,
        timesteps=steps,
        interrupted=interrupted,
        wall_time_s=time.perf_counter() - start,
        curve=curve,
    )
