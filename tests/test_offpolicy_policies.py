"""The per-user SAC and TD3 policies (train.policies) and the actor warm-up of training."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

pytest.importorskip("stable_baselines3")

import torch as th
from stable_baselines3 import SAC, TD3

import noma_split_env  # noqa: F401
from noma_split_env.wrappers import FlatBoxAction
from train.config import load_config
from train.policies import PerUserSACPolicy, PerUserTD3Policy, per_user_policy
from train.training import _build_model, _learn, _seed_everything, make_vec_env

K = 4  # users of NomaSplit-v0 (default)
ALGOS = [(TD3, PerUserTD3Policy), (SAC, PerUserSACPolicy)]
KWARGS = {"num_users": K, "hidden": 16, "rounds": 1, "critic_rounds": 1, "mixer": "attention"}


def model_of(algo, policy, **kwargs):
    env = FlatBoxAction(gym.make("NomaSplit-v0"))
    return algo(policy, env, policy_kwargs={**KWARGS, **kwargs}, learning_starts=8, seed=0)


def permuted(obs: th.Tensor, actions: th.Tensor | None, order: np.ndarray):
    """Relabel the users: rows of the observation, entries of every action block."""
    b = obs.shape[0]
    moved = obs.view(b, K, -1)[:, order].reshape(b, -1)
    if actions is None:
        return moved, None
    return moved, actions.view(b, -1, K)[:, :, order].reshape(b, -1)


@pytest.mark.parametrize(("algo", "policy"), ALGOS)
def test_actor_is_equivariant_and_critics_invariant_to_relabelling_users(algo, policy) -> None:
    model = model_of(algo, policy)
    gen = th.Generator().manual_seed(0)
    obs = th.randn(5, model.observation_space.shape[0], generator=gen)
    actions = th.rand(5, model.action_space.shape[0], generator=gen) * 2 - 1
    order = np.array([2, 0, 3, 1])
    obs_p, actions_p = permuted(obs, actions, order)
    with th.no_grad():
        act = model.policy._predict(obs, deterministic=True)
        act_p = model.policy._predict(obs_p, deterministic=True)
        th.testing.assert_close(permuted(obs, act, order)[1], act_p, atol=1e-6, rtol=1e-5)
        for q, q_p in zip(model.critic(obs, actions), model.critic(obs_p, actions_p), strict=True):
            th.testing.assert_close(q, q_p, atol=1e-5, rtol=1e-5)
        # and the critic does depend on the action: another user's action, another value
        other = actions.clone()
        other[:, 0] = -other[:, 0]
        assert not th.allclose(model.critic(obs, actions)[0], model.critic(obs, other)[0])


@pytest.mark.parametrize(("algo", "policy"), ALGOS)
def test_a_saved_per_user_model_loads_and_acts_the_same(tmp_path: Path, algo, policy) -> None:
    model = model_of(algo, policy)
    model.learn(32)
    model.save(tmp_path / "m")
    loaded = algo.load(tmp_path / "m")
    assert type(loaded.policy) is policy and loaded.policy.critic_rounds == 1
    assert loaded.policy.critic_hidden == 16  # hidden, by default
    obs, _ = FlatBoxAction(gym.make("NomaSplit-v0")).reset(seed=3)
    first = model.predict(obs, deterministic=True)[0]
    np.testing.assert_array_equal(first, loaded.predict(obs, deterministic=True)[0])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mixer": "sum"}, r"mixer: got 'sum', allowed: mean or attention"),
        ({"heads": 3}, r"heads: got 3, allowed: a divisor of hidden \(16\)"),
        ({"num_users": 3}, r"num_users: got 3, allowed: a divisor of the observation size"),
        ({"net_arch": [8]}, r"net_arch is not used; set hidden and rounds"),
        ({"critic_hidden": 18}, r"critic_hidden: got 18, allowed: a multiple of heads \(4\)"),
    ],
)
@pytest.mark.parametrize(("algo", "policy"), ALGOS)
def test_bad_per_user_settings_fail_in_one_line(algo, policy, kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        model_of(algo, policy, **kwargs)


def test_the_per_user_class_follows_the_algorithm() -> None:
    assert per_user_policy("td3") is PerUserTD3Policy
    assert per_user_policy("sac") is PerUserSACPolicy
    assert per_user_policy("ppo").__name__ == "PerUserPolicy"
    with pytest.raises(ValueError, match=r"per_user_policy: got 'dqn', allowed: ppo, a2c"):
        per_user_policy("dqn")


@pytest.mark.parametrize("algo", ["td3", "sac"])
def test_actor_warmup_keeps_the_actor_while_the_critics_learn(tmp_path: Path, algo: str) -> None:
    """``actor_warmup``: up to ``learning_starts + actor_warmup`` steps the actor's
    weights stay bit for bit, the critics' change; after it the actor learns."""

    def run(warmup: int, steps: int):
        config = load_config(
            algo,
            overrides={
                "scenario": "tiny",
                "timesteps": steps,
                "n_envs": 1,
                "eval_freq": 0,
                "checkpoint_freq": 0,
                "actor_warmup": warmup,
                "policy": "PerUserPolicy",
                "policy_kwargs": {"hidden": 8, "rounds": 1, "critic_rounds": 1},
                "hyperparams": {"learning_starts": 16, "batch_size": 8, "buffer_size": 500},
            },
        )
        _seed_everything(config, lambda _: None)
        model = _build_model(config, make_vec_env(config))
        actor = [p.detach().clone() for p in model.actor.parameters()]
        critic = [p.detach().clone() for p in model.critic.parameters()]
        _learn(model, config, tmp_path / f"{algo}{warmup}_{steps}", 1, False, [], resumed=False)
        same = lambda before, net: all(  # noqa: E731
            th.equal(a, b) for a, b in zip(before, net.parameters(), strict=True)
        )
        assert all(p.requires_grad for p in model.actor.parameters())  # released at the end
        return same(actor, model.actor), same(critic, model.critic)

    assert run(warmup=40, steps=48) == (True, False)  # 32 gradient steps, none on the actor
    assert run(warmup=8, steps=48) == (False, False)
