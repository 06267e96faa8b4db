"""``noma-split rollout``: prints one row per slot; bad input is one line."""

from __future__ import annotations

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
