"""The base install: the environment and the analytic agents work without the RL extra
(torch, Stable-Baselines3, PyYAML); every RL command names the extra in one line.

The fast test hides the extra's modules from a fresh interpreter; the slow one builds
a real virtual environment without torch and installs the project into it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

HIDE_RL = """
import importlib.abc, sys
HIDDEN = ("torch", "stable_baselines3", "yaml", "tensorboard")
class Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in HIDDEN:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, Hide())
"""

BASE_USE = """
import sys
import gymnasium as gym
import numpy as np
import noma_split_env, agents
env = gym.make("NomaSplit-v0")
obs, _ = env.reset(seed=0)
obs, reward, *_ = env.step(env.action_space.sample())
assert np.isfinite(reward)
allocation = agents.make("li-gd").act(env.unwrapped.slot)
assert np.isfinite(noma_split_env.evaluate(env.unwrapped.slot, allocation).cost)
from train.cli import main
assert main(["rollout", "--scenario", "tiny", "--steps", "2"]) == 0
for argv in (["train"], ["compare"]):
    assert main(argv) == 2
try:
    agents.make("sb3", path="runs/x")
except ImportError as error:
    print("sb3:", error)
loaded = [m for m in ("torch", "stable_baselines3", "yaml") if m in sys.modules]
assert not loaded, loaded
"""


def run_python(python: str, code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [python, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
        check=False,
    )


def assert_base_install_works(done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 0, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.strip()]
    extra = 'needs the RL extra: pip install "noma-split[rl]"'
    assert len(errors) == 2, done.stderr
    assert errors[0].startswith("noma-split train: error: noma-split train " + extra), errors
    assert errors[1].startswith("noma-split compare: error: noma-split compare"), errors
    assert extra in errors[1]
    assert f"sb3: sb3 agent {extra}" in done.stdout or extra in done.stdout, done.stdout


def test_without_the_rl_extra_the_env_and_solvers_work(tmp_path: Path) -> None:
    assert_base_install_works(run_python(sys.executable, HIDE_RL + BASE_USE, tmp_path))


def test_agents_never_imports_train_or_torch(tmp_path: Path) -> None:
    """Layers: noma_split_env <- agents <- train; the env and the solvers stay light."""
    code = """
    import sys
    import agents, noma_split_env
    agents.make("li-gd"), agents.make("exhaustive"), agents.available()
    heavy = [m for m in sys.modules if m.split(".")[0] in ("train", "torch", "stable_baselines3")]
    assert not heavy, heavy
    """
    done = run_python(sys.executable, code, tmp_path)
    assert done.returncode == 0, done.stderr


@pytest.mark.slow
def test_a_fresh_venv_without_torch(tmp_path: Path) -> None:
    """``pip install .`` into a new venv (no torch anywhere): the base install works."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    subprocess.run([python, "-m", "pip", "install", "--quiet", str(ROOT)], check=True, timeout=900)
    probe = run_python(python, "import importlib.util as u; print(u.find_spec('torch'))", tmp_path)
    assert probe.stdout.strip() == "None"
    assert_base_install_works(run_python(python, BASE_USE, tmp_path))
