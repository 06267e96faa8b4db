"""The queued env, where the long run matters: myopic Li-GD against the Lyapunov agent
(and any policy trained with ``noma-split train --env queue``) over the arrival rate.

    python benchmarks/bench_queue.py                               # rates 0.3..0.9, V 0.5..4
    python benchmarks/bench_queue.py --run ppo=runs/queue-default__ppo__0__...

(a policy is scored alone and repaired by :class:`agents.Refined`, as the shipped v0
policies act).

Every agent runs one episode of ``--steps`` slots per seed, on the same arrivals,
harvests and channels (docs/model.md section 12.1); seeds start at 100, away from the
training seeds of any policy. Per rate and agent it prints the long-run cost per slot,
its ratio to myopic Li-GD (mean of the per-seed ratios, with a 95% CI over the seeds:
the comparison is paired), the share of tasks lost (dropped or missed), the mean queue
length, the mean time from arrival to result, and the mean decision time. Then, per
rate, which agent has the lowest cost and which loses the fewest tasks.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import numpy as np

from agents.lyapunov import Lyapunov
from agents.refine import Refined
from agents.runner import ci_half_width
from noma_split_env import Scenario
from noma_split_env.queue import QUEUE_DEFAULTS
from train.queued import run_queued


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="default")
    parser.add_argument("--rates", default="0.3,0.5,0.7,0.9")
    parser.add_argument("--v", default="0.5,1,4", help="V values of the Lyapunov agent")
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--first-seed", type=int, default=100)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--run", action="append", default=[], metavar="LABEL=RUN_DIR")
    parser.add_argument("--workers", type=int)
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",")]
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    named: dict = {"li-gd": "li-gd"}
    for v in args.v.split(","):
        named[f"lyapunov V={float(v):g}"] = Lyapunov(v=float(v))
    for text in args.run:
        from train.sb3_agent import SB3Agent

        label, _, path = text.partition("=")
        named[label] = SB3Agent(path)
        named[f"{label} refined"] = Refined(SB3Agent(path))  # repaired by one-user moves
    base = Scenario.preset(args.scenario, **QUEUE_DEFAULTS)
    print(
        f"{args.scenario}, queued: {args.steps} slots of {base.slot_duration_s * 1e3:g} ms, "
        f"seeds {seeds[0]}..{seeds[-1]}, deadline {base.task_deadline_slots} slots, "
        f"queue {base.queue_capacity} tasks"
    )
    header = (
        f"{'rate':>5} {'agent':<16} {'cost':>8} {'/Li-GD':>7} {'95% CI':>7} {'lost':>6} "
        f"{'queue':>6} {'sojourn[ms]':>11} {'decide[ms]':>10}"
    )
    print(header)
    start = time.perf_counter()
    for rate in rates:
        rows = run_queued(named, base.replace(arrival_rate=rate), seeds, args.steps, args.workers)
        by = {label: [r for r in rows if r["agent"] == label] for label in named}
        ref = {r["seed"]: r for r in by["li-gd"]}
        best_cost = min(named, key=lambda a: statistics.fmean(r["cost"] for r in by[a]))
        best_loss = min(named, key=lambda a: statistics.fmean(r["loss_rate"] for r in by[a]))
        for label, mine in by.items():
            ratios = [r["cost"] / ref[r["seed"]]["cost"] for r in mine]
            print(
                f"{rate:>5g} {label:<16} {statistics.fmean(r['cost'] for r in mine):>8.4f} "
                f"{statistics.fmean(ratios):>7.4f} {_ci(ratios):>7} "
                f"{statistics.fmean(r['loss_rate'] for r in mine):>6.3f} "
                f"{statistics.fmean(r['queue_length'] for r in mine):>6.2f} "
                f"{1e3 * statistics.fmean(r['sojourn_s'] for r in mine):>11.0f} "
                f"{1e3 * float(np.mean([r['decision_time_s'] for r in mine])):>10.2f}"
            )
        print(f"{'':>5} lowest cost: {best_cost}; fewest tasks lost: {best_loss}")
    print(f"wall time {time.perf_counter() - start:.0f} s")


def _ci(ratios: list[float]) -> str:
    """The 95% CI half-width of ``ratios``, or ``n/a`` for a single seed."""
    half = ci_half_width(ratios, 0.95)
    return "n/a" if math.isnan(half) else f"{half:.4f}"


if __name__ == "__main__":
    main()
