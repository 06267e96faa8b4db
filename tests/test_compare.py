"""``noma-split compare``: writes every file, reproduces its table, fails in one line.

Tiny budgets: the ``tiny`` scenario, two seeds, a few slots, a 256-step PPO and a
two-point lambda sweep."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time
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
        "--train",
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
        train=True,
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
    no_training = [a for a in tiny_argv(out, ppo_config) if a != "--train"]
    argv = [str(script), *no_training, "--run", str(run), "--run", str(run)]
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


# --------------------------------------------------------------------------- results folders
@pytest.fixture(scope="module")
def trained_run(tmp_path_factory, ppo_config: Path) -> Path:
    from train.config import load_config
    from train.training import train

    cfg = load_config("ppo", path=ppo_config, overrides={"scenario": "tiny", "timesteps": 64})
    return train(cfg, tmp_path_factory.mktemp("runs"), progress_bar=False).run_dir


def quick_config(trained_run: Path, **changes: object) -> CompareConfig:
    """A comparison of a few slots with an already trained policy (no training)."""
    base = dict(
        scenario="tiny", seeds=(0,), steps=2, agents=("all-local", "greedy"),
        runs=(str(trained_run),), lambdas=(0.5,), sweep_agents=("all-local",), sweep_steps=1,
    )  # fmt: skip
    return CompareConfig(**{**base, **changes})


def test_two_comparisons_in_the_same_second_get_their_own_folders(
    tmp_path: Path, trained_run: Path, monkeypatch
) -> None:
    """The default folder carries the time to the second; two runs started in the same
    second used to write into one folder, the first run's results lost."""
    import train.compare as module

    monkeypatch.setattr(module, "default_out_dir", lambda scenario: tmp_path / "same__second")
    first = compare(quick_config(trained_run), progress_bar=False, log=lambda _: None)
    second = compare(quick_config(trained_run, seeds=(1,)), progress_bar=False, log=lambda _: None)
    assert first.out_dir != second.out_dir
    assert {first.out_dir.name, second.out_dir.name} == {"same__second", "same__second-2"}
    assert Records.from_csv(first.out_dir / "records.csv") == first.records  # not overwritten
    assert {r["seed"] for r in Records.from_csv(second.out_dir / "records.csv")} == {1}


def test_concurrent_processes_never_share_a_folder(tmp_path: Path, trained_run: Path) -> None:
    """Two real ``noma-split compare`` processes at once, both with the default folder."""
    script = Path(sys.executable).with_name("noma-split")
    argv = [str(script), "compare", "--scenario", "tiny", "--seeds", "1", "--steps", "1"]
    argv += ["--agents", "all-local", "--lambdas", "0.5", "--sweep-steps", "1"]
    argv += ["--run", str(trained_run), "--no-progress-bar"]
    procs = [
        subprocess.Popen(argv, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
    folders = sorted((tmp_path / "results").iterdir())
    assert len(folders) == 2
    for folder in folders:
        assert (folder / "records.csv").is_file() and (folder / "summary.md").is_file()
    # the same --out for both: one gets the folder, the other a one-line refusal
    same = [*argv, "--out", str(tmp_path / "same")]
    procs = [
        subprocess.Popen(same, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    done = [(proc.wait(timeout=180), proc.stderr.read().decode()) for proc in procs]
    assert sorted(code for code, _ in done) == [0, 2], done
    (refused,) = [err for code, err in done if code == 2]
    assert refused.count("\n") == 1 and ("in use" in refused or "not empty" in refused)
    assert not (tmp_path / "same" / ".noma-split-claim").exists()


def test_out_onto_a_non_empty_folder_refuses_unless_asked(
    tmp_path: Path, trained_run: Path, capsys
) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("months of work")
    argv = ["compare", "--scenario", "tiny", "--seeds", "1", "--steps", "1", "--agents",
            "all-local", "--lambdas", "0.5", "--sweep-steps", "1", "--run", str(trained_run),
            "--out", str(out), "--no-progress-bar"]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not empty; pass --overwrite" in err, err
    assert sorted(p.name for p in out.iterdir()) == ["thesis.tex"]
    assert main([*argv, "--overwrite"]) == 0
    assert (out / "thesis.tex").read_text() == "months of work"
    assert (out / "records.csv").is_file()


@pytest.mark.parametrize("kind", ["file", "under-a-file", "unwritable"])
def test_bad_output_paths_fail_before_any_work(
    tmp_path: Path, trained_run: Path, kind: str, capsys
) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    out = {"file": blocker, "under-a-file": blocker / "sub", "unwritable": Path("/proc/nsx")}[kind]
    argv = ["compare", "--scenario", "tiny", "--run", str(trained_run), "--out", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("noma-split compare: error: --out"), err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]


def test_a_failing_comparison_leaves_no_folder(
    tmp_path: Path, trained_run: Path, monkeypatch, capsys
) -> None:
    """Validation comes first (a bad run folder, a bad training config), and a crash
    mid-way removes the folder the command created."""
    monkeypatch.chdir(tmp_path)
    assert main(["compare", "--scenario", "tiny", "--run", str(tmp_path / "nope")]) == 2
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"hyperparams": {"n_steps": -5}}))
    assert main(["compare", "--scenario", "tiny", "--train", "--config", str(bad)]) == 2
    errors = capsys.readouterr().err.splitlines()
    assert len(errors) == 2 and "n_steps" in errors[1], errors
    import train.compare as module

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(module, "run", crash)
    with pytest.raises(RuntimeError, match="disk on fire"):
        compare(quick_config(trained_run), progress_bar=False, log=lambda _: None)
    assert not (tmp_path / "results").exists()  # nor the results/ parent it made
    nested = tmp_path / "a" / "b" / "c"
    with pytest.raises(RuntimeError, match="disk on fire"):
        compare(quick_config(trained_run, out=str(nested)), progress_bar=False, log=lambda _: None)
    assert not (tmp_path / "a").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml"]


def test_ctrl_c_during_the_comparison_is_one_line(tmp_path: Path, trained_run: Path) -> None:
    """SIGINT while Li-GD and GD run: exit 130, one line, no half-made folder."""
    script = Path(sys.executable).with_name("noma-split")
    argv = [str(script), "compare", "--scenario", "tiny", "--seeds", "200", "--steps", "100",
            "--agents", "li-gd", "gd", "--run", str(trained_run), "--no-progress-bar"]  # fmt: skip
    proc = subprocess.Popen(argv, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=default_sigint)  # fmt: skip
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith(b"comparing"):
                break
        time.sleep(1.0)  # the warm-up call, then the first slots: inside the solver
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert err.decode().strip() == "noma-split compare: interrupted", err
    assert not any((tmp_path / "results").glob("*"))


def test_a_run_of_another_shape_is_refused_before_any_work(
    tmp_path: Path, trained_run: Path, capsys
) -> None:
    out = tmp_path / "out"
    assert (
        main(["compare", "--scenario", "default", "--run", str(trained_run), "--out", str(out)])
        == 2
    )
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "trained on 'tiny', which does not fit scenario" in err, err
    assert not out.exists()


def default_sigint() -> None:
    """In the child: Ctrl-C as on a terminal, even when this suite runs in the
    background (a shell starts background jobs with SIGINT ignored, and children
    inherit that)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
