"""The policies shipped with the package: they load, act, pickle, carry their card,
and ``noma-split compare`` uses them by default."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

import agents
from noma_split_env import NomaSplitEnv, Scenario
from train.compare import CompareConfig, compare
from train.config import load_config
from train.pretrained import PRETRAINED_DIR, PretrainedAgent, export, read_card, shipped
from train.training import train


def test_default_and_dense_are_shipped_with_their_cards() -> None:
    assert {"default", "dense"} <= set(shipped())
    for name in shipped():
        folder = PRETRAINED_DIR / name
        for file in ("model.zip", "vecnormalize.pkl", "config.yaml", "card.json"):
            assert (folder / file).is_file(), (name, file)
        assert (folder / "model.zip").stat().st_size < 2_000_000  # small: no optimizer state
        card = read_card(name)
        assert card["scenario"] == name and card["command"].startswith("noma-split train")
        assert card["commit"] and card["train_seconds"] > 0
        evaluation = card["evaluation"]
        assert evaluation["scenario"] == name and evaluation["seeds"] >= 10
        assert evaluation["cost_ratio"] > 0.9  # against Li-GD on unseen seeds
        assert load_config(path=folder / "config.yaml").scenario == name


@pytest.mark.parametrize("name", ["default", "dense"])
def test_a_shipped_policy_acts_and_pickles(name: str) -> None:
    agent = agents.make("pretrained", scenario=name)
    assert isinstance(agent, PretrainedAgent) and repr(agent).startswith("PretrainedAgent(")
    env = NomaSplitEnv(Scenario.preset(name))
    env.reset(seed=0)
    again = pickle.loads(pickle.dumps(agent))
    for _ in range(3):
        allocation = agent.act(env.slot)
        allocation.check(env.slot)
        other = again.act(env.slot)
        np.testing.assert_array_equal(allocation.split, other.split)
        np.testing.assert_array_equal(allocation.ul_power, other.ul_power)
        env.step_allocation(allocation)


def test_an_unshipped_scenario_is_one_clear_error() -> None:
    with pytest.raises(ValueError, match=r"scenario: got 'massive', allowed: .*default"):
        agents.make("pretrained", scenario="massive")


def test_compare_uses_the_shipped_policy_by_default(tmp_path: Path) -> None:
    config = CompareConfig(
        scenario="default", seeds=(0,), steps=2, agents=("all-local",), lambdas=(0.5,),
        sweep_agents=("all-local",), sweep_steps=1, out=str(tmp_path / "out"), workers=1,
    )  # fmt: skip
    lines: list[str] = []
    result = compare(config, progress_bar=False, log=lines.append)
    assert result.records.agents == ("all-local", "pretrained")
    assert any("pretrained" in line for line in lines)
    assert not (tmp_path / "out" / "runs").exists()
    lines.clear()
    tiny = compare(
        CompareConfig(**{**config.__dict__, "scenario": "tiny", "out": str(tmp_path / "t")}),
        progress_bar=False,
        log=lines.append,
    )
    assert tiny.records.agents == ("all-local",)  # nothing shipped for tiny: said, not trained
    assert any("no pretrained policy is shipped for tiny" in line for line in lines)


def test_export_trims_a_run(tmp_path: Path) -> None:
    config = load_config(
        "ppo",
        overrides={
            "scenario": "tiny", "timesteps": 64, "n_envs": 2, "eval_episodes": 1,
            "policy": "PerUserPolicy", "policy_kwargs": {"hidden": 8, "rounds": 1},
            "hyperparams": {"n_steps": 32, "batch_size": 32, "n_epochs": 1},
        },
    )  # fmt: skip
    run = train(config, tmp_path / "runs", progress_bar=False).run_dir
    target = export(run, "tiny", "noma-split train --scenario tiny", dest=tmp_path / "ship")
    assert sorted(p.name for p in target.iterdir()) == [
        "card.json", "config.yaml", "learning_curve.csv", "model.zip", "vecnormalize.pkl",
    ]  # fmt: skip
    assert (target / "model.zip").stat().st_size < (run / "model.zip").stat().st_size
    from train.sb3_agent import SB3Agent

    env = NomaSplitEnv(config.make_scenario())
    env.reset(seed=1)
    trimmed, original = SB3Agent(target), SB3Agent(run)
    np.testing.assert_array_equal(trimmed.predict(env.slot), original.predict(env.slot))


@pytest.mark.parametrize("name", ["default", "dense"])
def test_the_numpy_actor_decides_as_torch_on_the_shipped_policies(name: str) -> None:
    """The shipped agents decide through :class:`train.policies.NumpyActor`; on 300
    observations of their preset (seed 100) it gives torch's actions, every one."""
    from train.policies import NumpyActor

    agent = agents.make("pretrained", scenario=name)
    policy = agent.model.policy
    actor = NumpyActor.of(policy)
    assert actor is not None and agent._numpy_actor is not None
    env = NomaSplitEnv(Scenario.preset(name))
    env.reset(seed=100)
    for _ in range(300):
        obs = agent.observation(env.slot)
        np.testing.assert_array_equal(actor(obs), policy.deterministic_action(obs))
        env.step_allocation(agent.act(env.slot))
