"""Steps per second of the native NomaSplit vector env against Gymnasium's sync mode
and CartPole's native vector env, measured in the same run.

    python benchmarks/bench_vector.py [--sizes 1 8 64 256] [--seconds 1.0] [--repeats 3]

For each batch size B: ``gym.make_vec("NomaSplit-v0", num_envs=B)`` in
``vector_entry_point`` mode (the native batched env, ``info_level="costs"``), in
``sync`` mode (B single envs in a ``SyncVectorEnv``, their full ``info`` merged: what
Gymnasium gives without a native vector env), and ``CartPole-v1``'s native vector
env. Each is stepped with random valid actions drawn ahead of time (autoreset as
Gymnasium does it) for about ``--seconds`` per measurement; the three alternate and
each figure is the median over ``--repeats``, so that load from other processes on
this shared machine hits all alike. Figures are env-steps per second (B per step).

Targets (issue 9): native at least 10x sync at B = 64; the native per-env step cost
within 2x of CartPole's native vector env (at B = 64).
"""

from __future__ import annotations

import argparse
import statistics
import time

import gymnasium as gym

import noma_split_env  # noqa: F401  (registers the ids)


def steps_per_second(env: gym.vector.VectorEnv, seconds: float) -> float:
    """Env-steps per second (``num_envs`` per call) over about ``seconds``."""
    env.reset(seed=0)
    env.action_space.seed(0)
    actions = [env.action_space.sample() for _ in range(64)]
    for action in actions[:3]:  # warm-up: compiled kernels load on the first call
        env.step(action)
    calls, start = 0, time.perf_counter()
    while True:
        for action in actions:
            env.step(action)
        calls += len(actions)
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return calls * env.num_envs / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 8, 64, 256])
    parser.add_argument("--seconds", type=float, default=1.0, help="per measurement")
    parser.add_argument("--repeats", type=int, default=3, help="alternating repeats")
    args = parser.parse_args()
    if min(args.sizes) < 1 or args.seconds <= 0 or args.repeats < 1:
        parser.error("--sizes must be >= 1, --seconds > 0, --repeats >= 1")
    header = ("B", "native/s", "sync/s", "CartPole/s", "native/sync", "per-env vs CartPole")
    print("{:>5} {:>12} {:>12} {:>12} {:>12} {:>20}".format(*header))
    verdicts = []
    for size in args.sizes:
        envs = {
            "native": gym.make_vec("NomaSplit-v0", num_envs=size,
                                   vectorization_mode="vector_entry_point"),
            "sync": gym.make_vec("NomaSplit-v0", num_envs=size, vectorization_mode="sync"),
            "cartpole": gym.make_vec("CartPole-v1", num_envs=size,
                                     vectorization_mode="vector_entry_point"),
        }  # fmt: skip
        rates: dict[str, list[float]] = {name: [] for name in envs}
        for _ in range(args.repeats):
            for name, env in envs.items():
                rates[name].append(steps_per_second(env, args.seconds))
        median = {name: statistics.median(r) for name, r in rates.items()}
        speedup = median["native"] / median["sync"]
        per_env = median["cartpole"] / median["native"]  # native step cost / CartPole's
        print(
            f"{size:>5} {median['native']:>12,.0f} {median['sync']:>12,.0f} "
            f"{median['cartpole']:>12,.0f} {speedup:>11.1f}x {per_env:>19.1f}x"
        )
        if size == 64:
            verdicts.append(("native >= 10x sync at B=64", speedup >= 10))
            verdicts.append(("native per-env step <= 2x CartPole's at B=64", per_env <= 2))
        for env in envs.values():
            env.close()
    for label, ok in verdicts:
        print(f"target {label}: {'PASS' if ok else 'MISS'}")


if __name__ == "__main__":
    main()
