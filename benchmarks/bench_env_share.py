"""How much of PPO training is stepping the envs: the bound on what a faster vector env
(an SB3 adapter over ``NomaSplitVectorEnv``) could save.

    python benchmarks/bench_env_share.py [--timesteps 16384] [--scenario default]

Trains the tuned PPO config of the scenario (``train/hyperparams/ppo.yml``, from random
weights, no evaluations or checkpoints) for ``--timesteps`` steps, then steps the same
training env stack (``DummyVecEnv`` of ``n_envs`` wrapped envs, ``VecNormalize``) for
as many steps with random actions, and prints both wall times and their ratio.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np

from train import training
from train.config import load_config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timesteps", type=int, default=16384)
    parser.add_argument("--scenario", default="default")
    args = parser.parse_args()
    overrides = {
        "scenario": args.scenario,
        "init": "none",
        "timesteps": args.timesteps,
        "eval_freq": 0,
        "checkpoint_freq": 0,
    }
    config = load_config("ppo", overrides=overrides)
    with tempfile.TemporaryDirectory() as runs:
        start = time.perf_counter()
        result = training.train(config, runs, progress_bar=False, log=lambda _: None)
        train_s = time.perf_counter() - start
    venv = training.make_vec_env(config)
    venv.seed(0)
    venv.reset()
    space = venv.action_space
    space.seed(0)
    steps = result.timesteps // venv.num_envs
    actions = [np.stack([space.sample() for _ in range(venv.num_envs)]) for _ in range(steps)]
    start = time.perf_counter()
    for action in actions:
        venv.step(action)
    env_s = time.perf_counter() - start
    print(
        f"{args.scenario}: PPO trained {result.timesteps} steps in {train_s:.1f} s; the same "
        f"env stack ({venv.num_envs} envs) steps them in {env_s:.2f} s = "
        f"{100 * env_s / train_s:.1f}% of training"
    )


if __name__ == "__main__":
    main()
