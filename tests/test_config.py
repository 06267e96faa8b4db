"""``TrainConfig``: every SB3 keyword a config may set has a rule, nothing else passes,
and the derived views (schedules, activations, the trained budget) are what SB3 does."""

from __future__ import annotations

import inspect
import os
import sys

import pytest

from train import config as config_module
from train.config import (
    ACTIVATIONS,
    ALGORITHMS,
    ON_POLICY,
    TrainConfig,
    activation_class,
    algorithm_class,
    load_config,
)
from train.extras import MissingExtraError, require_rl

VIEW = {"a2c": "multidiscrete", "ppo": "multidiscrete", "sac": "box", "td3": "box"}
POLICIES = [(a, "MlpPolicy") for a in ALGORITHMS] + [(a, "PerUserPolicy") for a in ON_POLICY]


def base(algo: str, **changes: object) -> TrainConfig:
    return TrainConfig(algo, scenario="tiny", action_view=VIEW[algo], **changes)


class Junk:
    """A value no rule accepts."""

    def __repr__(self) -> str:
        return "<junk>"


@pytest.mark.parametrize("algo", sorted(ALGORITHMS))
def test_every_allowed_hyperparameter_is_checked(algo: str) -> None:
    allowed = config_module._algorithm_keywords(algo)
    assert allowed
    for name in allowed:
        with pytest.raises(ValueError, match=rf"^config\.hyperparams\.{name}: got <junk>, allowed"):
            base(algo, hyperparams={name: Junk()})


@pytest.mark.parametrize("algo", sorted(ALGORITHMS))
def test_keywords_without_a_rule_are_refused(algo: str) -> None:
    signature = inspect.signature(algorithm_class(algo).__init__).parameters
    refused = set(signature) - set(config_module._algorithm_keywords(algo)) - {"self"}
    assert {"policy", "env", "seed", "device", "policy_kwargs"} <= refused
    for name in refused:
        with pytest.raises(ValueError, match=rf"unknown {algo} argument\(s\) {name};"):
            base(algo, hyperparams={name: None})


@pytest.mark.parametrize(("algo", "policy"), POLICIES)
def test_every_allowed_policy_keyword_is_checked(algo: str, policy: str) -> None:
    config = base(algo, policy=policy)
    allowed = config_module._policy_rules(config)
    assert "activation_fn" in allowed and ("net_arch" in allowed) == (policy == "MlpPolicy")
    for name in allowed:
        with pytest.raises(ValueError, match=rf"^config\.policy_kwargs\.{name}: got <junk>"):
            config.replace(policy_kwargs={name: Junk()})
    for name in ("optimizer_class", "features_extractor_class", "num_users"):
        with pytest.raises(ValueError, match=rf"unknown {policy} argument\(s\) {name};"):
            config.replace(policy_kwargs={name: None})


def test_the_default_configs_pass_every_rule() -> None:
    for algo in ALGORITHMS:
        config = load_config(algo)
        assert set(config.hyperparams) <= set(config_module._algorithm_keywords(algo))


def test_activations_are_torch_modules() -> None:
    import torch

    for name, class_name in ACTIVATIONS.items():
        cls = activation_class(name)
        assert issubclass(cls, torch.nn.Module) and cls.__name__ == class_name
    with pytest.raises(ValueError, match="activation_fn: got 'swish'"):
        activation_class("swish")


def test_sb3_arguments_from_yaml_values() -> None:
    config = base(
        "ppo",
        hyperparams={"learning_rate": "linear:0.001", "clip_range": "linear:0.2", "gamma": 0.0},
    )
    kwargs = config.algorithm_kwargs()
    assert kwargs["learning_rate"](1.0) == pytest.approx(0.001)
    assert kwargs["clip_range"](0.5) == pytest.approx(0.1)
    assert kwargs["gamma"] == 0.0
    td3 = base("td3", hyperparams={"train_freq": [2, "step"]})
    assert td3.algorithm_kwargs()["train_freq"] == (2, "step")
    signature = inspect.signature(algorithm_class("td3").__init__).parameters
    assert td3.hyperparam("tau") == signature["tau"].default  # the algorithm's default
    assert td3.hyperparam("n_epochs") is None  # not a TD3 argument


@pytest.mark.parametrize("timesteps", [1, 63, 64, 65, 200, 256])
@pytest.mark.parametrize(("algo", "hyperparams"), [("ppo", {"n_steps": 32}), ("td3", {})])
def test_the_effective_budget_is_the_next_whole_collection(
    algo: str, hyperparams: dict, timesteps: int
) -> None:
    config = base(algo, n_envs=2, timesteps=timesteps, hyperparams=hyperparams)
    chunk = 32 * 2 if algo == "ppo" else 2
    effective = config.effective_timesteps()
    assert effective % chunk == 0 and timesteps <= effective < timesteps + chunk
    note = config.rounding_note()
    assert (note == "") == (effective == timesteps)
    if note:
        assert note.startswith(f"timesteps {timesteps} rounded up to {effective}: {algo} ")
    done = 16  # resuming from a checkpoint at step 16: whole collections from there
    more = config.effective_timesteps(done) - done
    remaining = max(timesteps - done, 0)
    assert more % chunk == 0 and remaining <= more < remaining + chunk


def test_torch_threads_up_to_the_cpu_count() -> None:
    cpus = os.cpu_count() or 1
    assert base("ppo", torch_threads=cpus).torch_threads == cpus
    with pytest.raises(ValueError, match=rf"config.torch_threads: got {cpus + 1}, allowed: "):
        base("ppo", torch_threads=cpus + 1)


def test_a_missing_rl_extra_is_one_line(monkeypatch) -> None:
    require_rl("this test")
    monkeypatch.setitem(sys.modules, "stable_baselines3", None)
    for call in (lambda: require_rl("noma-split train"), lambda: load_config("ppo")):
        with pytest.raises(MissingExtraError) as error:
            call()
        message = str(error.value)
        assert "\n" not in message and 'pip install "noma-split[rl]"' in message
        assert "stable-baselines3" in message
