"""``agents.make("sb3", path=...)``: a trained policy is an agent that acts exactly as
it did in training, reloads to the same actions, and fails clearly on bad files."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

import agents
from agents.runner import run
from noma_split_env import NomaSplitEnv, Scenario, Slot
from train.cli import main
from train.config import load_config
from train.sb3_agent import SB3Agent
from train.training import files_of, make_vec_env, train

TINY = {
    "ppo": {"n_steps": 32, "batch_size": 32, "n_epochs": 2},
    "td3": {"learning_starts": 64, "batch_size": 32, "buffer_size": 2000},
}


@pytest.fixture(scope="module", params=["ppo", "td3"])
def trained(request, tmp_path_factory) -> Path:
    """A tiny run of PPO (MultiDiscrete view) and of TD3 (Box view)."""
    algo = request.param
    overrides = {
        "scenario": "tiny",
        "timesteps": 256,
        "n_envs": 2,
        "eval_freq": 128,
        "eval_episodes": 1,
        "checkpoint_freq": 128,
        "scenario_overrides": {"max_episode_steps": 16},
        "policy_kwargs": {"hidden": 16, "rounds": 1} if algo == "ppo" else {"net_arch": [16]},
        "hyperparams": {**load_config(algo).hyperparams, **TINY[algo]},
    }
    config = load_config(algo, overrides=overrides)
    return train(config, tmp_path_factory.mktemp(algo), progress_bar=False).run_dir


def slots(n: int = 12, seed: int = 5) -> list[Slot]:
    env = NomaSplitEnv(Scenario.preset("tiny", max_episode_steps=16))
    env.reset(seed=seed)
    out = []
    for _ in range(n):
        out.append(env.slot)
        env.step_allocation(agents.make("all-local").act(env.slot))
    return out


def test_acts_like_the_policy_in_its_training_envs(trained: Path) -> None:
    """Same observation, normalization, prediction and decoding as the env stack."""
    from stable_baselines3.common.vec_env import VecNormalize

    agent = agents.make("sb3", path=trained)
    config = load_config(path=trained / "config.yaml")
    venv = make_vec_env(config.replace(n_envs=1), evaluation=True)
    venv = VecNormalize.load(str(trained / "vecnormalize.pkl"), venv.venv)
    venv.training = False
    venv.seed(11)
    obs = venv.reset()
    inner = venv.venv.envs[0]
    view = inner.env.env  # Monitor -> TrainingEnv -> the action view
    for _ in range(10):
        slot = inner.unwrapped.slot
        action, _ = agent.model.predict(obs, deterministic=True)
        if config.action_view == "box":  # TD3 squashes with tanh: clipping changes nothing
            np.testing.assert_array_equal(np.clip(action, -1, 1), action)
        np.testing.assert_array_equal(agent.observation(slot), obs[0])
        np.testing.assert_array_equal(agent.predict(slot), action[0])
        assert agent.act(slot) == inner.unwrapped.decoder.decode(view.action(action[0]), slot)
        obs, *_ = venv.step(action)


def test_reloads_to_the_same_actions(trained: Path) -> None:
    first, second = SB3Agent(trained), SB3Agent(trained / "model.zip")
    # saved by the checkpoint callback during the last rollout, before the last update
    path = trained / "checkpoints" / "model_256_steps.zip"
    checkpoints = SB3Agent(path), SB3Agent(path)
    for slot in slots():
        a = first.act(slot)
        assert a == second.act(slot)
        assert checkpoints[0].act(slot) == checkpoints[1].act(slot)
        a.check(slot)
    assert first.stats.wall_time_s > 0


def test_runs_in_the_runner(trained: Path) -> None:
    agent = agents.make("sb3", path=trained)
    scenario = Scenario.preset("tiny", max_episode_steps=16)
    once = run({"rl": agent, "local": "all-local"}, scenario, seeds=[0, 1], max_steps=4)
    again = run({"rl": SB3Agent(trained)}, scenario, seeds=[0, 1], max_steps=4)
    costs = [r["cost"] for r in once if r["agent"] == "rl"]
    assert costs == [r["cost"] for r in again]
    assert all(np.isfinite(costs))
    # in worker processes: the agent is sent as its run folder and loaded there
    parallel = run({"rl": agent}, scenario, seeds=[0, 1], max_steps=4, workers=2)
    assert [r["cost"] for r in parallel] == costs


def test_bad_paths_and_files(trained: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="missing path"):
        agents.make("sb3")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        agents.make("sb3", path=tmp_path / "nowhere")
    copy = tmp_path / "run"
    shutil.copytree(trained, copy)
    (copy / "model.zip").write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="cannot load .* model"):
        SB3Agent(copy)
    shutil.copy(trained / "model.zip", copy / "model.zip")
    (copy / "vecnormalize.pkl").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="cannot read normalization statistics"):
        SB3Agent(copy)
    (copy / "vecnormalize.pkl").unlink()
    with pytest.raises(FileNotFoundError, match="no vecnormalize.pkl"):
        SB3Agent(copy)
    checkpoint = files_of(copy / "checkpoints" / "model_256_steps.zip")
    checkpoint.vecnormalize.unlink()
    with pytest.raises(FileNotFoundError, match=f"no {checkpoint.vecnormalize.name}"):
        SB3Agent(checkpoint.model)
    (copy / "config.yaml").unlink()
    with pytest.raises(FileNotFoundError, match="no config.yaml"):
        SB3Agent(copy)


def test_wrong_scenario_shape(trained: Path) -> None:
    agent = SB3Agent(trained)
    env = NomaSplitEnv("default")
    env.reset(seed=0)
    with pytest.raises(ValueError, match="which does not fit scenario 'default'"):
        agent.act(env.slot)
    # the same observation size by coincidence (K=1, N=3, two models: 1 x 10 = 2 x 5)
    # is refused too, not decoded into nonsense
    odd = Scenario.preset("tiny", num_users=1, num_subchannels=3, models=("alexnet", "resnet18"))
    odd_env = NomaSplitEnv(odd)
    odd_env.reset(seed=0)
    assert odd_env.observation_space.shape == agent.model.observation_space.shape
    with pytest.raises(ValueError, match="which does not fit scenario"):
        agent.act(odd_env.slot)
    # other parameters may differ: the policy acts as trained
    other = Scenario.preset("tiny", latency_weight=0.9)
    slot = Slot.from_arrays(other, np.full((2, 1), 1e-11), np.full((2, 1), 1e-11))
    agent.act(slot).check(slot)


def test_compare_rejects_bad_runs_in_one_line(trained: Path, tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "config.yaml").write_text(yaml.safe_dump({"algo": "ppo", "scenario": "tiny"}))
    (bad / "model.zip").write_bytes(b"\x00" * 10)
    for path, needle in ((tmp_path / "missing", "does not exist"), (bad, "cannot load")):
        out = str(tmp_path / "out")  # an empty results folder: the run is what is bad
        code = main(["compare", "--scenario", "tiny", "--run", str(path), "--out", out])
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1 and needle in err, err


def python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )


def test_agents_does_not_import_train() -> None:
    """The sb3 agent is an entry point of ``train``: no import cycle agents <-> train."""
    done = python(
        "import agents, sys; "
        "assert not any(m == 'train' or m.startswith('train.') for m in sys.modules); "
        "assert 'sb3' in agents.available()"
    )
    assert done.returncode == 0, done.stderr


def test_without_the_rl_extra_the_sb3_agent_says_what_to_install(tmp_path: Path) -> None:
    """Checked before the path: the message is about the missing extra."""
    blocked = "import sys; sys.modules.update(torch=None, stable_baselines3=None, yaml=None)"
    done = python(
        f"{blocked}\n"
        "import agents, train.cli, train.config, train.training\n"
        "train.cli.build_parser()\n"
        f"agents.make('sb3', path={str(tmp_path)!r})\n"
    )
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("train.extras.MissingExtraError: the sb3 agent needs the RL extra")
    assert 'pip install "noma-split[rl]"' in last
