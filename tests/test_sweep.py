"""``noma-split sweep``: parsing, validation, the files it writes, the numbers in them."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest

from agents.runner import run
from noma_split_env import Scenario
from train.cli import main
from train.sweep import (
    CONVERGENCE_STUDIES,
    STUDIES,
    SUMMARY_COLUMNS,
    SWEEPABLE,
    SweepConfig,
    parse_vary,
    sweep,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("num_users=2,4, 8", ("num_users", (2, 4, 8))),
        ("ul_bandwidth_hz=1e6,2.5e6", ("ul_bandwidth_hz", (1e6, 2.5e6))),
        ("access=noma,oma", ("access", ("noma", "oma"))),
        ("allocate_edge_share=true,False", ("allocate_edge_share", (True, False))),
        ("models=alexnet,resnet18+vgg16", ("models", (("alexnet",), ("resnet18", "vgg16")))),
        ("deadline_s=none,0.5", ("deadline_s", (None, 0.5))),
    ],
)
def test_values_are_parsed_as_the_field_type(text, expected):
    name, values = parse_vary(text)
    assert (name, values) == expected
    assert [type(v) for v in values] == [type(v) for v in expected[1]]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("num_users", r"expected FIELD=v1,v2"),
        ("nope=1,2", r"unknown field 'nope'; sweepable Scenario fields: num_users, "),
        ("num_users=", r"one or more comma-separated values"),
        ("num_users=2,,4", r"one or more comma-separated values"),
        ("num_users=2,2", r"appears twice"),
        ("num_users=0", r"--vary num_users: got '0', allowed: an integer in \[1, 256\]"),
        ("num_users=2.5", r"--vary num_users: got '2.5', allowed: an integer"),
        ("sic_residual=abc", r"--vary sic_residual: got 'abc', allowed: a number in \[0, 1\]"),
        ("access=fdma", r"allowed: noma, oma"),
        ("allocate_edge_share=yes", r"allowed: true, false"),
    ],
)
def test_bad_vary_is_one_clear_line(text, match):
    with pytest.raises(ValueError, match=match) as err:
        parse_vary(text)
    assert "\n" not in str(err.value)


def test_every_listed_field_is_a_scenario_field():
    names = set(Scenario.__dataclass_fields__)
    assert set(SWEEPABLE) <= names and "name" not in SWEEPABLE
    for name, study in STUDIES.items():  # every study's values make valid scenarios
        SweepConfig(vary=study.vary, convergence=name in CONVERGENCE_STUDIES)


def test_config_checks_every_scenario_before_running(tmp_path):
    with pytest.raises(ValueError, match=r"--vary min_distance_m=600: .*min_distance_m"):
        SweepConfig(vary=(("min_distance_m", (20.0, 600.0)),))
    with pytest.raises(ValueError, match="unknown agent 'nope'"):
        SweepConfig(vary=(("num_users", (2,)),), agents=("nope",))
    with pytest.raises(ValueError, match="each field once"):
        SweepConfig(vary=(("num_users", (2,)), ("num_users", (3,))))
    with pytest.raises(ValueError, match="sweep.workers"):
        SweepConfig(vary=(("num_users", (2,)),), workers=0)


def test_sweep_writes_every_file_with_the_runner_numbers(tmp_path):
    config = SweepConfig(
        vary=(("num_users", (1, 3)), ("access", ("noma", "oma"))),
        scenario="tiny",
        agents=("li-gd", "all-edge"),
        seeds=(0, 1, 2),
        steps=2,
        out=str(tmp_path / "out"),
        workers=1,
    )
    result = sweep(config, progress_bar=False, log=lambda _: None, command="noma-split sweep")
    out = tmp_path / "out"
    names = {p.name for p in out.iterdir()}
    assert names == {"records.csv", "records.json", "summary.csv", "summary.json",
                     "summary.md", "num_users.png", "access.png"}  # fmt: skip
    for png in ("num_users.png", "access.png"):
        assert (out / png).read_bytes()[:4] == b"\x89PNG"
    with (out / "records.csv").open(newline="") as f:
        records = list(csv.DictReader(f))
    assert len(records) == 4 * 2 * 3 * 2  # values x agents x seeds x slots
    summary = json.loads((out / "summary.json").read_text())
    assert len(summary) == 4 * 2 and list(summary[0]) == list(SUMMARY_COLUMNS)
    # the numbers are the runner's on the same scenario
    direct = run(
        ["li-gd", "all-edge"], Scenario.preset("tiny", num_users=3), [0, 1, 2], max_steps=2
    )
    expected = direct.summary().rows
    mine = [r for r in result.summary if r["field"] == "num_users" and r["value"] == "3"]
    for row, ref in zip(mine, expected, strict=True):
        assert row["agent"] == ref["agent"] and row["episodes"] == 3
        assert row["cost_mean"] == pytest.approx(ref["cost_mean"], rel=1e-12)
        assert row["cost_ci"] == pytest.approx(ref["cost_ci_half_width"], rel=1e-9)
        assert row["latency_ms_mean"] == pytest.approx(ref["latency_ms"], rel=1e-12)
        assert all(math.isfinite(row[c]) for c in SUMMARY_COLUMNS[5:])
    assert "noma-split sweep" in (out / "summary.md").read_text()


def test_sweep_on_two_workers_writes_the_same_numbers(tmp_path):
    common = {"vary": (("latency_weight", (0.0, 1.0)),), "scenario": "tiny", "seeds": (0, 1),
              "steps": 2, "agents": ("greedy", "random")}  # fmt: skip
    one = sweep(SweepConfig(**common, out=str(tmp_path / "a"), workers=1), progress_bar=False,
                log=lambda _: None)  # fmt: skip
    two = sweep(SweepConfig(**common, out=str(tmp_path / "b"), workers=2), progress_bar=False,
                log=lambda _: None)  # fmt: skip

    def strip(rows):
        return [{k: v for k, v in r.items() if "decision_time" not in k} for r in rows]

    assert strip(one.records) == strip(two.records)
    assert strip(one.summary) == strip(two.summary)


def test_cli_sweep_errors_and_a_study(tmp_path, capsys):
    assert main(["sweep", "--vary", "nope=1"]) == 2
    assert "unknown field 'nope'; sweepable Scenario fields:" in capsys.readouterr().err
    assert main(["sweep"]) == 2
    assert "--vary FIELD=v1,v2,..." in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:
        main(["sweep", "--study", "nope"])
    assert stop.value.code == 2
    assert "unknown study 'nope'; choose from users, " in capsys.readouterr().err
    out = tmp_path / "study"
    argv = ["sweep", "--study", "access", "--scenario", "tiny", "--seeds", "2", "--steps", "1"]
    argv += ["--agents", "greedy", "--out", str(out), "--no-progress-bar", "--workers", "1"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "access: mean cost" in printed and "greedy" in printed
    assert (out / "access.png").is_file()
    assert main(argv) == 2  # --out is not empty now
    assert "pass --overwrite" in capsys.readouterr().err


def test_convergence_study_shows_the_warm_start(tmp_path):
    from train.convergence import convergence

    out = tmp_path / "conv"
    out.mkdir()
    curves = convergence(Scenario.preset("tiny"), [0, 1], 3, out)
    assert {p.name for p in out.iterdir()} == {"convergence.csv", "convergence_splits.csv",
                                               "convergence.png"}  # fmt: skip
    with (out / "convergence.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    for agent in ("li-gd", "gd"):
        cost = curves[agent]["cost"]
        assert cost[0] == 1.0  # all-local, before any gradient
        assert np.all(np.diff(cost) <= 0)  # the best so far
        mine = [r for r in rows if r["agent"] == agent]
        assert int(mine[0]["gradients"]) == 0 and float(mine[0]["best_cost"]) == 1.0
    # the same search: the same final cost; the warm start spends fewer gradients
    assert curves["li-gd"]["cost"][-1] == pytest.approx(curves["gd"]["cost"][-1], rel=1e-5)
    assert curves["li-gd"]["split_gradients"].sum() < curves["gd"]["split_gradients"].sum()
    assert len(curves["grid"]) == len(curves["li-gd"]["cost"])


def test_cli_convergence_study(tmp_path, capsys):
    out = tmp_path / "study"
    argv = ["sweep", "--study", "convergence", "--scenario", "tiny", "--seeds", "1"]
    argv += ["--steps", "2", "--out", str(out), "--no-progress-bar"]
    assert main(argv) == 0
    assert "gd     reaches its final mean cost" in capsys.readouterr().out
    assert {p.name for p in out.iterdir()} >= {"convergence.png", "summary.md"}
