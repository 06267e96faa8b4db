"""Policies shipped with the package: ``agents.make("pretrained", scenario="default")``.

The agent is the policy's allocation repaired by two passes of single-user moves
(:mod:`agents.refine`, ``refine=2``): the network clones Li-GD well on most slots
but makes rare costly mistakes, which one move undoes for about 0.1-1 ms more
(``refine=0`` is the policy alone; ``benchmarks/bench_learned.py`` reports both).

Each shipped policy is a trimmed run folder under ``train/pretrained/<scenario>/``:

======================  ======================================================
``model.zip``           the SB3 model, without its optimizer state (not needed to act)
``vecnormalize.pkl``    its observation normalization
``config.yaml``         the resolved training config (``noma-split train --config``)
``learning_curve.csv``  its evaluation cost against training steps
``card.json``           how it was made and how well it does: the exact command, the
                        commit, the training time, the behaviour-cloning scores and
                        an evaluation against Li-GD on seeds it never trained on
======================  ======================================================

Training never meets the evaluation seeds: training episodes, expert data and the
training run's own evaluation draw their seeds from ``SeedSequence([seed, ...])``
(random integers up to ``2**31`` or ``2**63``), comparisons use seeds ``0, 1, 2, ...``.

Make one with ``python -m train.pretrained RUN_DIR --name default --command "..."``
(after ``noma-split train``), which trims the run into the folder above; the card's
evaluation comes from ``benchmarks/bench_learned.py --write-card``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from collections.abc import Sequence
from os import PathLike
from pathlib import Path
from typing import Any

from agents.refine import refine
from noma_split_env import Allocation, Slot
from train.sb3_agent import SB3Agent

__all__ = ["PRETRAINED_DIR", "PretrainedAgent", "export", "read_card", "shipped"]

PRETRAINED_DIR = Path(__file__).resolve().parent / "pretrained"
"""Folder of the shipped policies, one sub-folder per scenario preset."""


def shipped() -> tuple[str, ...]:
    """The scenario presets that have a shipped policy, sorted."""
    if not PRETRAINED_DIR.is_dir():
        return ()
    return tuple(sorted(p.name for p in PRETRAINED_DIR.iterdir() if (p / "model.zip").is_file()))


def read_card(name: str) -> dict[str, Any]:
    """The ``card.json`` of the shipped policy ``name`` (empty if it has none)."""
    path = PRETRAINED_DIR / name / "card.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


class PretrainedAgent(SB3Agent):
    """A shipped policy (module docstring) as an agent.

    Args:
        scenario: The preset it was trained on: one of :func:`shipped`.
        refine: Passes of single-user moves that repair the policy's allocation
            (:func:`agents.refine.refine`: local or another subchannel, kept when
            ``evaluate`` says it is cheaper); 0 = the policy alone. Default 2.
    """

    def __init__(self, scenario: str = "default", refine: int = 2) -> None:
        if not isinstance(refine, int) or isinstance(refine, bool) or refine < 0:
            raise ValueError(
                f"agents.make('pretrained').refine: got {refine!r}, allowed: an integer >= 0 "
                "(passes of single-user moves; 0 = the policy alone)"
            )
        names = shipped()
        if scenario not in names:
            raise ValueError(
                f"agents.make('pretrained').scenario: got {scenario!r}, allowed: "
                f"{', '.join(names) or 'none shipped'} (the presets with a shipped policy; "
                "train one with `noma-split train --scenario ...` and use agents.make('sb3', "
                "path=RUN_DIR))"
            )
        super().__init__(PRETRAINED_DIR / scenario)
        self.scenario_name, self.refine = scenario, refine
        self.card = read_card(scenario)

    def _act(self, slot: Slot) -> Allocation:
        allocation = super()._act(slot)
        if self.refine:
            allocation, self.stats.evaluations = refine(slot, allocation, self.refine)
        return allocation

    def __reduce__(self) -> tuple[Any, tuple[str, int]]:  # type: ignore[override]
        return (type(self), (self.scenario_name, self.refine))

    def __repr__(self) -> str:
        return (
            f"PretrainedAgent(scenario={self.scenario_name!r}, algo={self.algo!r}, "
            f"refine={self.refine})"
        )


def _commit() -> str:
    """The checkout's commit, ``+dirty`` if code outside the shipped policies differs."""

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=Path(__file__).parent, capture_output=True, text=True, check=True
        )
        return done.stdout.strip()

    try:
        commit = git("rev-parse", "--short", "HEAD")
        dirty = git(
            "status",
            "--porcelain",
            "--untracked-files=no",
            "--",
            ":(top)",
            ":(top,exclude)train/pretrained",
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def export(run_dir: str | PathLike[str], name: str, command: str, dest: Path | None = None) -> Path:
    """Trim the run ``run_dir`` into ``PRETRAINED_DIR/name`` (or ``dest``).

    The model is saved again without its optimizer state; ``card.json`` gets the
    command, the commit, the run's training time and its ``bc.json`` scores.
    """
    from train.config import load_config

    run = Path(run_dir)
    agent = SB3Agent(run)  # checks that the run loads
    target = dest or PRETRAINED_DIR / name
    target.mkdir(parents=True, exist_ok=True)
    model = agent.model
    model.policy.optimizer = type(model.policy.optimizer)(model.policy.parameters())
    model.save(target / "model.zip")
    shutil.copyfile(run / "vecnormalize.pkl", target / "vecnormalize.pkl")
    shutil.copyfile(run / "config.yaml", target / "config.yaml")
    if (run / "learning_curve.csv").is_file():
        shutil.copyfile(run / "learning_curve.csv", target / "learning_curve.csv")
    card: dict[str, Any] = {
        "scenario": load_config(path=run / "config.yaml").scenario,
        "command": command,
        "commit": _commit(),
        "run": run.name,
    }
    if (run / "bc.json").is_file():
        card["bc"] = json.loads((run / "bc.json").read_text(encoding="utf-8"))
    if (run / "train_time.json").is_file():
        card.update(json.loads((run / "train_time.json").read_text(encoding="utf-8")))
    old = target / "card.json"
    if old.is_file():  # keep an evaluation written earlier for the same run
        previous = json.loads(old.read_text(encoding="utf-8"))
        if previous.get("run") == card["run"] and "evaluation" in previous:
            card["evaluation"] = previous["evaluation"]
    old.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    return target


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m train.pretrained", description="Ship a trained run as a pretrained policy."
    )
    parser.add_argument("run_dir", help="a run folder written by noma-split train")
    parser.add_argument("--name", required=True, help="the preset it is for, e.g. default")
    parser.add_argument("--command", required=True, help="the exact command that trained it")
    args = parser.parse_args(argv)
    print(export(args.run_dir, args.name, args.command))
    return 0


if __name__ == "__main__":
    sys.exit(main())
