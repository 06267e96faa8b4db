"""``noma-split compare``: writes every file, reproduces its table, fails in one line.

Tiny budgets: the ``tiny`` scenario, two seeds, a few slots, a 256-step PPO and a
two-point lambda sweep."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from agents.runner import RECORD_SCHEMA, Records
from train.cli import main
from train.compare import CompareConfig, compare

FILES = (
    "records.csv",
    "records.json",
    "summary.csv",
    "summary.json",
    "summary.md",
    "sweep.csv",
    "access.csv",
    "cost.png",
    "latency_cdf.png",
    "tradeoff.png",
    "noma_vs_oma.png",
    "learning_curve.png",
)
AGENTS = ("li-gd", "greedy", "all-edge", "all-local")


@pytest.fixture(scope="module")
def ppo_config(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cfg") / "ppo_tiny.yaml"
    data = {
        "n_envs": 2,
        "eval_freq": 128,
        "eval_episodes": 1,
        "checkpoint_freq": 0,
        "policy": "PerUserPolicy",
        "policy_kwargs": {"hidden": 16, "rounds": 1},
        "hyperparams": {"n_steps": 32, "batch_size": 32, "n_epochs": 2},
    }
    path.write_text(yaml.safe_dump(data))
    return path


def tiny_argv(out: Path, config: Path) -> list[str]:
    return [
        "compare",
        "--scenario", "tiny",
        "--seeds", "2",
        "--steps", "3",
        "--agents", *AGENTS,
        "--timesteps", "256",
        "--config", str(config),
        "--lambdas", "0,1",
        "--sweep-steps", "2",
        "--out", str(out),
        "--no-progress-bar",
    ]  # fmt: skip


def tiny_config(out: Path, config: Path) -> CompareConfig:
    return CompareConfig(
        scenario="tiny",
        seeds=(0, 1),
        steps=3,
        agents=AGENTS,
        timesteps=256,
        train_config=str(config),
        lambdas=(0.0, 1.0),
        sweep_steps=2,
        out=str(out),
    )


def test_compare_writes_every_file(tmp_path: Path, ppo_config: Path, capsys) -> None:
    out = tmp_path / "results"
    assert main(tiny_argv(out, ppo_config)) == 0
    printed = capsys.readouterr().out
    for name in FILES:
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    (run,) = (out / "runs").iterdir()
    assert (run / "model.zip").is_file()
    records = Records.from_csv(out / "records.csv")
    assert records == Records.from_json(out / "records.json")
    assert records.agents == (*AGENTS, "ppo")
    assert len(records) == 5 * 2 * 3
    assert set(records.columns) == {name for name, _, _ in RECORD_SCHEMA}
    summary = json.loads((out / "summary.json").read_text())
    assert [r["agent"] for r in summary] == list(records.agents)
    with (out / "sweep.csv").open() as f:
        sweep = list(csv.DictReader(f))
    assert {(r["agent"], float(r["latency_weight"])) for r in sweep} == {
        (a, lam) for a in AGENTS for lam in (0.0, 1.0)
    }
    with (out / "access.csv").open() as f:
        assert {(r["agent"], r["access"]) for r in csv.DictReader(f)} == {
            (a, m) for a in AGENTS for m in ("noma", "oma")
        }
    md = (out / "summary.md").read_text()
    assert "| agent | cost | 95% CI | vs Li-GD |" in md and "noma-split compare" in md
    for header in ("cost", "95% CI", "latency [ms]", "device E [J]", "edge E [J]", "miss rate"):
        assert header in printed
    assert "decision [ms]" in printed and f"results: {out}" in printed


def test_same_command_same_table(tmp_path: Path, ppo_config: Path) -> None:
    """Everything but the decision times is reproducible, RL training included."""
    first = compare(tiny_config(tmp_path / "a", ppo_config), progress_bar=False, log=lambda _: None)
    second = compare(
        tiny_config(tmp_path / "b", ppo_config), progress_bar=False, log=lambda _: None
    )

    def timeless(rows):
        return [{k: v for k, v in r.items() if "decision_time" not in k} for r in rows]

    assert timeless(first.records) == timeless(second.records)
    assert timeless(first.summary) == timeless(second.summary)
    assert first.sweep == second.sweep and first.access == second.access
    assert first.curves == second.curves


def test_existing_run_and_console_script(tmp_path: Path, ppo_config: Path) -> None:
    """``--run`` reuses a trained policy; the installed command, in a fresh process."""
    first = compare(tiny_config(tmp_path / "a", ppo_config), progress_bar=False, log=lambda _: None)
    (run,) = first.rl_runs.values()
    script = Path(sys.executable).with_name("noma-split")
    out = tmp_path / "again"
    argv = [str(script), *tiny_argv(out, ppo_config), "--run", str(run), "--run", str(run)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "training" not in done.stdout and not (out / "runs").exists()
    records = Records.from_csv(out / "records.csv")
    assert records.agents == (*AGENTS, "ppo", "ppo-2")
    again = [r["cost"] for r in records if r["agent"] == "ppo"]
    assert again == [r["cost"] for r in first.records if r["agent"] == "ppo"]


@pytest.mark.parametrize(
    ("argv", "needles"),
    [
        (["--scenario", "huge"], ["unknown scenario 'huge'", "tiny, default, dense, massive"]),
        (["--agents", "li-gd", "oracle"], ["unknown agent 'oracle'", "greedy", "li-gd"]),
        (["--algo", "dqn"], ["unknown algorithm 'dqn'", "a2c, ppo, sac, td3"]),
        (["--timesteps", "-1"], ["--timesteps: must be >= 1, got -1"]),
        (["--seeds", "0"], ["--seeds: must be >= 1, got 0"]),
        (["--lambdas", "0,2"], ["latency weights must be in [0, 1]"]),
    ],
)
def test_bad_arguments_fail_in_one_line(argv: list[str], needles: list[str], capsys) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["compare", *argv])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("noma-split compare: error:"), err
    for needle in needles:
        assert needle in err


def test_bad_config_values(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown agent 'sb3'"):
        CompareConfig(agents=("sb3",))
    with pytest.raises(ValueError, match="compare.steps"):
        CompareConfig(steps=0)
    with pytest.raises(ValueError, match="compare.lambdas"):
        CompareConfig(lambdas=(1.5,))
