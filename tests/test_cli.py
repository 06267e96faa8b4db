"""``noma-split rollout``: prints one row per slot; bad input is one line; Ctrl-C is
one line and exit code 130."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from agents.runner import run
from train.cli import main


def test_rollout_prints_the_slots_of_the_runner(capsys) -> None:
    assert main(["rollout", "--scenario", "tiny", "--agent", "greedy", "--steps", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "NomaSplit rollout: scenario=tiny agent=greedy steps=3 seed=0"
    rows = [line.split() for line in lines[2:5]]
    assert [int(r[0]) for r in rows] == [0, 1, 2]
    # the same slots and decisions as the runner's episode of seed 0
    expected = [r["cost"] for r in run(["greedy"], "tiny", seeds=[0], max_steps=3)]
    np.testing.assert_allclose([float(r[1]) for r in rows], expected, atol=5e-5)
    mean = float(lines[5].split(":")[1].split()[0])
    assert mean == pytest.approx(np.mean(expected), abs=5e-5)


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--agent", "oracle"], "unknown agent 'oracle'; choose from"),
        (["--agent", "sb3"], "unknown agent 'sb3'"),
        (["--scenario", "huge"], "unknown scenario 'huge'; choose from tiny, default"),
        (["--steps", "0"], "--steps: must be >= 1, got 0"),
    ],
)
def test_rollout_bad_input_is_one_line(argv: list[str], needle: str, capsys) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["rollout", *argv])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and needle in err, err


def test_rollout_negative_seed_is_one_line(capsys) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["rollout", "--seed", "-1"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--seed: must be >= 0, got -1" in err, err


def test_ctrl_c_inside_a_numba_solver_exits_130_in_one_line() -> None:
    """SIGINT while Li-GD runs its compiled descent (a dense slot takes ~0.5 s): numba
    wraps the interrupt in SystemErrors; the command still says one line, exit 130."""
    script = Path(sys.executable).with_name("noma-split")
    argv = [str(script), "rollout", "--scenario", "dense", "--agent", "li-gd", "--steps", "50"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=default_sigint)  # fmt: skip
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # the header, then the first slot: Li-GD is now busy
            if line.split()[:1] == ["0"]:
                break
        time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert err.strip() == "noma-split rollout: interrupted", err


def default_sigint() -> None:
    """In the child: Ctrl-C as on a terminal, even when this suite runs in the
    background (a shell starts background jobs with SIGINT ignored, and children
    inherit that)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
