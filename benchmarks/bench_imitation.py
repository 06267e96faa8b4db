"""What makes behaviour cloning of Li-GD work: an ablation on ``default``.

    python benchmarks/bench_imitation.py              # about 8 minutes on 2 cores
    python benchmarks/bench_imitation.py --episodes 100 --epochs 10   # a quick look

Clones Li-GD (``episodes`` x 50 slots of expert data, cached; the last 10% of the
episodes held out) into the per-user policy in the MultiDiscrete view with 32 power
levels, ``epochs`` epochs each, and prints the clone's held-out cost against Li-GD's
(``bc.json``'s ``holdout_cost_ratio``) for

1. mean-pooled context, every entry of the action in the loss (no mask);
2. mean-pooled context, a local user's subchannels and powers masked out;
3. attention over the users, masked;
4. attention, masked, subchannels relabelled at random in every batch.

Each variant starts from the same seed. The README's numbers come from runs like
these (see "Learned policies against Li-GD").
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from noma_split_env import Scenario
from train import imitation
from train.config import load_config
from train.training import _build_model, _seed_everything, make_vec_env

VARIANTS = (
    ("mean, no mask", "mean", False, False),
    ("mean", "mean", True, False),
    ("attention", "attention", True, False),
    ("attention + relabel", "attention", True, True),
)
"""(label, mixer, mask the local users' entries, relabel the subchannels)."""


def clone(data: imitation.ExpertData, mixer: str, mask: bool, relabel: bool, epochs: int) -> float:
    config = load_config(
        "ppo",
        overrides={
            "scenario": "default",
            "power_levels": 32,
            "reward": "log-cost",
            "policy": "PerUserPolicy",
            "policy_kwargs": {"hidden": 128, "rounds": 2, "mixer": mixer, "activation_fn": "tanh"},
        },
    )
    _seed_everything(config, lambda _: None)
    model = _build_model(config, make_vec_env(config))
    weights = imitation.entry_weights
    if not mask:  # every entry counts, the local users' arbitrary powers included
        imitation.entry_weights = lambda view, offload: np.ones_like(weights(view, offload))
    try:
        result = imitation.behaviour_clone(model, data, epochs=epochs, relabel=relabel)
    finally:
        imitation.entry_weights = weights
    return result.holdout_cost_ratio


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=400)
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args()
    data = imitation.expert_data(
        Scenario.preset("default"), episodes=args.episodes, steps=50, log=print
    )
    print(f"\n{'variant':<22} {'held-out cost / Li-GD':>22} {'fit [s]':>8}")
    for label, mixer, mask, relabel in VARIANTS:
        start = time.perf_counter()
        ratio = clone(data, mixer, mask, relabel, args.epochs)
        print(f"{label:<22} {ratio:>22.4f} {time.perf_counter() - start:>8.0f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
