"""RL against Li-GD and the heuristics on ``default``: the comparison table of the README.

    python benchmarks/bench_rl.py                      # PPO, the default budget
    python benchmarks/bench_rl.py --algos ppo a2c sac td3
    python benchmarks/bench_rl.py --run runs/default__ppo__0__...   # reuse trained runs

Trains each algorithm with its configuration for ``default``
(``train/configs/<algo>.yaml`` with its tuned section for ``NomaSplit-v0`` in
``train/hyperparams/<algo>.yml``, seed 0), then runs the comparison of ``noma-split
compare`` with those runs on seeds 0..9 x 50 slots and writes its results folder.
With ``--algos ppo`` (the default) this is what ``noma-split compare --train`` does.

Targets (issue 4): the best RL agent's mean cost is within 15% of Li-GD's and lower
than all-local, all-edge and random, and the default command runs in at most 15
minutes on 2 CPU cores. The script prints the table, the learning-curve plot, the
checks and the wall time of each stage, and exits with 1 if a check fails.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from train.compare import CompareConfig, compare
from train.config import ALGORITHMS, load_config
from train.training import train

TARGET_RATIO = 1.15
"""Best RL cost / Li-GD cost must not exceed this."""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--algos", nargs="+", default=["ppo"], choices=sorted(ALGORITHMS))
    parser.add_argument("--run", action="append", help="use trained runs instead of training")
    parser.add_argument("--seed", type=int, default=0, help="training seed")
    parser.add_argument("--out", default=None, help="results folder")
    parser.add_argument("--no-progress-bar", dest="progress_bar", action="store_false")
    args = parser.parse_args()

    start = time.perf_counter()
    out = (
        Path(args.out)
        if args.out
        else Path("results") / f"bench_rl__{time.strftime('%Y%m%d-%H%M%S')}"
    )
    runs = list(args.run or [])
    train_times = {}
    if not runs:
        for algo in args.algos:
            overrides = {"scenario": "default", "seed": args.seed}
            config = load_config(algo, overrides=overrides)
            print(f"training {algo}: {config.timesteps} steps ({config.policy})", flush=True)
            result = train(config, out / "runs", progress_bar=args.progress_bar)
            train_times[algo] = result.wall_time_s
            print(f"  {result.wall_time_s:.0f} s -> {result.run_dir}", flush=True)
            runs.append(str(result.run_dir))

    result = compare(
        CompareConfig(scenario="default", runs=tuple(runs), out=str(out)),
        progress_bar=args.progress_bar,
        command="python benchmarks/bench_rl.py " + " ".join(sys.argv[1:]),
    )
    total = time.perf_counter() - start
    costs = {r["agent"]: r["cost_mean"] for r in result.summary}
    rl = {label: costs[label] for label in result.rl_runs}
    best = min(rl, key=rl.get)
    ratio = rl[best] / costs["li-gd"]
    checks = {
        f"best RL ({best}) within {TARGET_RATIO - 1:.0%} of Li-GD: ratio {ratio:.3f}": ratio
        <= TARGET_RATIO,
        **{
            f"best RL below {name} ({rl[best]:.4f} < {costs[name]:.4f})": rl[best] < costs[name]
            for name in ("all-local", "all-edge", "random")
        },
    }
    print()
    print("NomaSplit-v0 (default): 10 seeds x 50 slots, 95% CI over episodes")
    print(result.table)
    print()
    for label, seconds in train_times.items():
        print(f"training {label}: {seconds:.0f} s")
    print(
        "stages [s]: "
        + ", ".join(f"{k} {v:.0f}" for k, v in result.timings_s.items() if k != "train")
    )
    print(f"learning curve: {result.out_dir / 'learning_curve.png'}")
    print(f"results: {result.out_dir}")
    for text, ok in checks.items():
        print(f"{'PASS' if ok else 'FAIL'}  {text}")
    print(f"wall time: {total:.0f} s ({total / 60:.1f} min)")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
