"""Learned policies against Li-GD on each preset: cost ratio, decision time, training time.

    python benchmarks/bench_learned.py                          # the shipped policies
    python benchmarks/bench_learned.py --run ppo=runs/default__ppo__0__...  # any runs,
                                                                # alone and refined
    python benchmarks/bench_learned.py --first-seed 100 --seeds 30 --write-card  # the cards

A shipped policy is scored as its agent acts (``refine=2``: the policy's
allocation repaired by single-user moves, :mod:`agents.refine`) and alone
(``refine=0``). Every policy and Li-GD run on the same unseen slots: seeds 0..N-1 (``--seeds``), one
episode of ``--steps`` slots each; training never meets those seeds
(:mod:`train.pretrained`). Per policy it prints

* the cost ratio to Li-GD, ``sum C_policy / sum C_li-gd`` over all slots, with a 95%
  confidence interval over the seeds (Student t on the per-seed ratios);
* the median decision time of the policy and of Li-GD and their ratio (both timed in
  this process, one after the other, so the ratio is fair on a noisy machine);
* the training time recorded with the policy (``card.json`` or the run's
  ``train_time.json``), when there is one, with the time Li-GD took to label the
  expert data (cached after the first run);

and checks the issue's targets: ``default`` at most 1.03x Li-GD deciding at least 10x
faster, ``dense`` at most 1.05x deciding at least 50x faster. It exits with 1 if a
shipped policy misses one.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

import agents
from agents.runner import ci_half_width, run
from noma_split_env import Scenario

TARGETS = {"default": (1.03, 10.0), "dense": (1.05, 50.0)}
"""Preset -> (largest cost ratio to Li-GD, smallest decision speed-up)."""


def evaluate_policies(
    policies: dict[str, agents.Agent], scenario: str, seeds: list[int], steps: int
) -> dict[str, dict[str, float]]:
    """The benchmark's row of each policy on ``scenario``: one run of Li-GD and the
    policies on the same slots, one process (decision times comparable)."""
    records = run({"li-gd": "li-gd", **policies}, scenario, seeds, max_steps=steps, workers=1)
    cost = {
        name: np.array([[r["cost"] for r in records if r["agent"] == name and r["seed"] == s]
                        for s in seeds])
        for name in ("li-gd", *policies)
    }  # fmt: skip
    times = {
        name: float(np.median([r["decision_time_s"] for r in records if r["agent"] == name]))
        for name in ("li-gd", *policies)
    }
    rows = {}
    for label in policies:
        per_seed = cost[label].sum(axis=1) / cost["li-gd"].sum(axis=1)
        ci = ci_half_width(per_seed.tolist(), 0.95) if len(seeds) > 1 else float("nan")
        rows[label] = {
            "scenario": scenario,
            "seeds": len(seeds),
            "steps": steps,
            "cost_li_gd": float(cost["li-gd"].mean()),
            "cost": float(cost[label].mean()),
            "cost_ratio": float(cost[label].sum() / cost["li-gd"].sum()),
            "cost_ratio_ci": ci,
            "decision_ms": 1e3 * times[label],
            "decision_ms_li_gd": 1e3 * times["li-gd"],
            "speedup": times["li-gd"] / times[label],
        }
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", action="append", default=[], metavar="LABEL=RUN_DIR")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=0, help="seeds first..first+N-1")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--write-card", action="store_true", help="store it in card.json")
    args = parser.parse_args()

    from train.pretrained import PRETRAINED_DIR, PretrainedAgent, read_card, shipped
    from train.sb3_agent import SB3Agent

    policies: list[tuple[str, agents.Agent, str, dict]] = []
    for spec in args.run:
        label, _, path = spec.partition("=")
        agent = SB3Agent(path)
        timing = Path(agent.run_dir) / "train_time.json"
        extra = json.loads(timing.read_text()) if timing.is_file() else {}
        policies.append((label, agent, agent.config.scenario, extra))
        refined = agents.Refined(agent, rounds=2)  # as the shipped agents repair
        policies.append((f"{label} refined", refined, agent.config.scenario, extra))
    if not args.run:
        for name in shipped():
            card = read_card(name)
            policies.append((f"pretrained/{name}", PretrainedAgent(name), name, card))
            alone = PretrainedAgent(name, refine=0)
            policies.append((f"pretrained/{name} alone", alone, name, card))
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    print(f"seeds {seeds[0]}..{seeds[-1]} x {args.steps} slots, Li-GD as the reference\n")
    header = (
        f"{'policy':<26} {'scenario':<9} {'cost/Li-GD':>10} {'95% CI':>8} {'decision [ms]':>13} "
        f"{'Li-GD [ms]':>10} {'speed-up':>8} {'train [s]':>9}"
    )
    print(header)
    failed = []
    start = time.perf_counter()
    by_scenario: dict[str, list[tuple[str, agents.Agent, dict]]] = {}
    for label, agent, scenario, card in policies:
        Scenario.preset(scenario)
        by_scenario.setdefault(scenario, []).append((label, agent, card))
    for scenario, entries in by_scenario.items():
        rows = evaluate_policies({label: agent for label, agent, _ in entries}, scenario, seeds,
                                 args.steps)  # fmt: skip
        for label, agent, card in entries:
            row = rows[label]
            train_s = card.get("train_seconds")
            if train_s is not None and "bc" in card:  # + making the expert data (once, cached)
                train_s = round(train_s + card["bc"]["data"]["seconds"])
            print(
                f"{label:<26} {scenario:<9} {row['cost_ratio']:>10.4f} "
                f"{row['cost_ratio_ci']:>8.4f} {row['decision_ms']:>13.3f} "
                f"{row['decision_ms_li_gd']:>10.2f} {row['speedup']:>7.1f}x "
                f"{train_s if train_s is not None else 'n/a':>9}",
                flush=True,
            )
            shipped_agent = label == f"pretrained/{scenario}"
            if shipped_agent and scenario in TARGETS:
                ratio, speedup = TARGETS[scenario]
                if row["cost_ratio"] > ratio or row["speedup"] < speedup:
                    failed.append(f"{label}: {row['cost_ratio']:.4f}x (<= {ratio}), "
                                  f"{row['speedup']:.1f}x faster (>= {speedup})")  # fmt: skip
            if args.write_card and label.startswith("pretrained/"):
                path = PRETRAINED_DIR / scenario / "card.json"
                data = read_card(scenario)
                key = "evaluation" if shipped_agent else "evaluation_policy_alone"
                data[key] = row | {
                    "command": "python benchmarks/bench_learned.py " + " ".join(sys.argv[1:]),
                    "first_seed": seeds[0],
                    "date": time.strftime("%Y-%m-%d"),
                    "refine": agent.refine,
                }
                path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    print(f"\nwall time {time.perf_counter() - start:.0f} s")
    for line in failed:
        print("TARGET MISSED:", line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
