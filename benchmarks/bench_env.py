"""Step time of every NomaSplit id against CartPole-v1, measured in the same run.

    python benchmarks/bench_env.py [--steps 20000] [--repeats 5]

Both environments are built by ``gym.make`` (same wrapper stack), stepped with
random valid actions drawn ahead of time, and reset when an episode ends. The
measurements alternate between CartPole and the env under test, and each figure is
the median over repeats, so that load from other processes on this shared machine
hits both alike. Targets (issue 2): at most 5x CartPole for NomaSplit-v0 and 20x
for the massive preset.
"""

from __future__ import annotations

import argparse
import statistics
import time

import gymnasium as gym
import numpy as np

import noma_split_env

TARGETS = {"NomaSplit-v0": 5.0, "NomaSplit-massive-v0": 20.0}


def time_steps(env: gym.Env, actions: list, steps: int) -> float:
    """Mean wall time of one ``step`` [s] over ``steps`` steps (resets excluded)."""
    env.reset(seed=0)
    total = 0.0
    n_actions = len(actions)
    for i in range(steps):
        start = time.perf_counter()
        _, _, terminated, truncated, _ = env.step(actions[i % n_actions])
        total += time.perf_counter() - start
        if terminated or truncated:
            env.reset()
    return total / steps


def sample_actions(env: gym.Env, n: int, seed: int = 0) -> list:
    env.action_space.seed(seed)
    return [env.action_space.sample() for _ in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000, help="steps per measurement")
    parser.add_argument("--repeats", type=int, default=5, help="alternating repeats")
    parser.add_argument("--ids", nargs="*", default=sorted(noma_split_env.ENV_IDS))
    args = parser.parse_args()
    if args.steps < 1 or args.repeats < 1:
        parser.error("--steps and --repeats must be >= 1")

    cartpole = gym.make("CartPole-v1")
    cart_actions = sample_actions(cartpole, 1000)
    print(f"{'env id':<24}{'step [us]':>10}{'CartPole [us]':>15}{'ratio':>8}{'target':>8}")
    for env_id in args.ids:
        env = gym.make(env_id)
        actions = sample_actions(env, 1000)
        time_steps(env, actions, 500)  # warm-up: numba kernels loaded from cache
        time_steps(cartpole, cart_actions, 500)
        ours, theirs = [], []
        for _ in range(args.repeats):
            theirs.append(time_steps(cartpole, cart_actions, args.steps))
            ours.append(time_steps(env, actions, args.steps))
        a, b = statistics.median(ours), statistics.median(theirs)
        ratio = a / b
        target = TARGETS.get(env_id)
        verdict = "" if target is None else f"{'<=' if ratio <= target else '>'}{target:g}x"
        print(f"{env_id:<24}{a * 1e6:>10.1f}{b * 1e6:>15.1f}{ratio:>7.1f}x{verdict:>8}")
    print(f"numpy {np.__version__}, gymnasium {gym.__version__}")


if __name__ == "__main__":
    main()
