"""``TrainConfig``: every SB3 keyword a config may set has a rule, nothing else passes,
and the derived views (schedules, activations, the trained budget) are what SB3 does."""

from __future__ import annotations

import inspect
import os
import re
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
POLICIES = [(a, policy) for a in ALGORITHMS for policy in ("MlpPolicy", "PerUserPolicy")]


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


def test_torch_threads_in_a_fixed_range_not_this_machines_cpu_count() -> None:
    """A run trained with more threads than this machine has still loads (training caps
    the threads, tests/test_train.py); only the fixed range [1, 256] is checked."""
    cpus = os.cpu_count() or 1
    assert base("ppo", torch_threads=cpus).torch_threads == cpus
    assert base("ppo", torch_threads=min(cpus + 1, 256)).torch_threads == min(cpus + 1, 256)
    assert base("ppo", torch_threads=256).torch_threads == 256
    for bad in (0, 257, 100000):
        with pytest.raises(
            ValueError,
            match=rf"^config.torch_threads: got {bad}, allowed: an integer in \[1, 256\]$",
        ):
            base("ppo", torch_threads=bad)


# (algo, group or None for a top-level field, key, largest allowed value, its text)
SIZE_BOUNDS = [
    ("ppo", None, "timesteps", 10**10, "10**10"),
    ("ppo", None, "n_envs", 256, "256"),
    ("ppo", None, "eval_episodes", 10**4, "10000"),
    ("ppo", None, "eval_freq", 10**10, "10**10"),
    ("ppo", None, "checkpoint_freq", 10**10, "10**10"),
    ("ppo", None, "power_levels", 1024, "1024"),
    ("ppo", "hyperparams", "n_steps", 2**20, "2**20"),
    ("ppo", "hyperparams", "batch_size", 2**20, "2**20"),
    ("ppo", "hyperparams", "n_epochs", 10**4, "10000"),
    ("ppo", "hyperparams", "sde_sample_freq", 10**10, "10**10"),
    ("ppo", "hyperparams", "stats_window_size", 10**6, "10**6"),
    ("sac", "hyperparams", "buffer_size", 10**8, "10**8"),
    ("sac", "hyperparams", "learning_starts", 10**10, "10**10"),
    ("sac", "hyperparams", "gradient_steps", 10**4, "10000"),
    ("sac", "hyperparams", "train_freq", 10**6, "10**6"),
    ("sac", "hyperparams", "target_update_interval", 10**10, "10**10"),
    ("sac", "hyperparams", "n_steps", 2**20, "2**20"),
    ("td3", "hyperparams", "policy_delay", 10**6, "10**6"),
    ("ppo", "policy_kwargs", "hidden", 4096, "4096"),
    ("ppo", "policy_kwargs", "rounds", 16, "16"),
    ("td3", "policy_kwargs", "n_critics", 64, "64"),
]


@pytest.mark.parametrize(("algo", "group", "key", "largest", "text"), SIZE_BOUNDS)
def test_every_size_has_an_upper_bound(
    algo: str, group: str | None, key: str, largest: int, text: str
) -> None:
    policy = "PerUserPolicy" if key in ("hidden", "rounds") else "MlpPolicy"

    def config(value: int) -> TrainConfig:
        if group is None:
            return base(algo, policy=policy, **{key: value})
        return base(algo, policy=policy, **{group: {key: value}})

    assert config(largest) is not None
    where = f"config.{group}.{key}" if group else f"config.{key}"
    needle = rf"^{re.escape(where)}: got {largest + 1}, allowed: .*{re.escape(text)}\]"
    with pytest.raises(ValueError, match=needle):
        config(largest + 1)


def test_net_arch_widths_and_depth_are_bounded() -> None:
    config = base("sac", policy_kwargs={"net_arch": [4096] * 64})
    assert config.policy_kwargs["net_arch"] == [4096] * 64
    for bad in ([4097], [8] * 65, {"pi": [8], "qf": [10**9]}):
        with pytest.raises(
            ValueError, match=r"^config\.policy_kwargs\.net_arch: got .*at most 64 "
        ):
            config.replace(policy_kwargs={"net_arch": bad})
    with pytest.raises(ValueError, match=r"train_freq: got \[1000001, 'step'\]"):
        base("sac", hyperparams={"train_freq": [10**6 + 1, "step"]})


GB = 10**9


def massive_sizes() -> tuple[int, int]:
    """(observation size, Box view size) of ``massive``, from the env's own spaces."""
    from noma_split_env import NomaSplitEnv, Scenario
    from noma_split_env.wrappers import FlatBoxAction

    env = FlatBoxAction(NomaSplitEnv(Scenario.preset("massive")))
    return env.observation_space.shape[0], env.action_space.shape[0]


@pytest.mark.parametrize(
    ("algo", "settings", "key", "what"),
    [
        ("sac", {"hyperparams": {"buffer_size": 10**6}}, "buffer_size", "replay"),
        ("ppo", {"n_envs": 8, "hyperparams": {"n_steps": 2**20}}, "n_steps", "rollout"),
    ],
)
def test_buffers_larger_than_half_the_memory_are_refused(
    monkeypatch, algo: str, settings: dict, key: str, what: str
) -> None:
    config = base(algo, **settings).replace(scenario="massive", action_view="box")
    obs, act = massive_sizes()
    assert obs > 1000 and act > 100
    # float32 values: rollout (obs + act + 6) per step and env; replay (2 obs + act + 2)
    per_unit = 4 * (8 * (obs + act + 6) if algo in ON_POLICY else 2 * obs + act + 2)
    monkeypatch.setattr(config_module, "_physical_memory", lambda: 16 * GB)
    value = config.hyperparam(key)
    with pytest.raises(ValueError) as error:
        config.check_memory()
    message = str(error.value)
    most = 8 * GB // per_unit
    assert message.startswith(f"config.hyperparams.{key}: got {value}, allowed: at most {most}")
    need = f"{value * per_unit / GB:.1f} GB"
    assert f"on this machine (the {what} buffer would need {need} of 8.0 GB" in message
    assert "\n" not in message
    fits = config.replace(hyperparams={**config.hyperparams, key: most})
    fits.check_memory()
    with pytest.raises(ValueError, match=rf"got {most + 1}, allowed: at most {most} "):
        fits.replace(hyperparams={**config.hyperparams, key: most + 1}).check_memory()
    monkeypatch.setattr(config_module, "_physical_memory", lambda: None)  # the OS does not say
    config.check_memory()


def test_physical_memory_is_read_from_the_os() -> None:
    memory = config_module._physical_memory()
    assert memory is None or memory > 2**20


def test_a_missing_rl_extra_is_one_line(monkeypatch) -> None:
    require_rl("this test")
    monkeypatch.setitem(sys.modules, "stable_baselines3", None)
    for call in (lambda: require_rl("noma-split train"), lambda: load_config("ppo")):
        with pytest.raises(MissingExtraError) as error:
            call()
        message = str(error.value)
        assert "\n" not in message and 'pip install "noma-split[rl]"' in message
        assert "stable-baselines3" in message


# --------------------------------------------------------------------------- tuned per env id
def test_tuned_sections_name_registered_ids_and_pass_every_rule() -> None:
    from noma_split_env import ENV_IDS, QUEUE_ENV_IDS

    ids = {**{i: (p, "v0") for i, p in ENV_IDS.items()}}
    ids.update({i: (p, "queue") for i, p in QUEUE_ENV_IDS.items()})
    for algo in ALGORITHMS:
        path = config_module.HYPERPARAMS_DIR / f"{algo}.yml"
        sections = config_module.read_yaml(path) if path.is_file() else {}
        assert set(sections) <= set(ids), (algo, sorted(sections))
        for env_id, (preset, env) in ids.items():
            if env_id not in sections:
                continue  # a queued id without a section keeps the algorithm's defaults
            config = load_config(algo, overrides={"scenario": preset, "env": env})
            for key, value in sections.get(env_id, {}).items():
                if key in ("hyperparams", "bc"):
                    assert value.items() <= getattr(config, key).items(), (algo, env_id, key)
                else:
                    assert getattr(config, key) == value, (algo, env_id, key)


def test_tuned_settings_come_between_the_default_file_and_the_user(tmp_path) -> None:
    import yaml

    tuned = config_module.tuned_settings("ppo", "default")
    assert tuned, "ppo has tuned settings for NomaSplit-v0"
    assert config_module.tuned_settings("ppo", "no-such-preset") == {}
    key, value = next((k, v) for k, v in tuned.items() if k not in ("hyperparams", "bc"))
    assert getattr(load_config("ppo"), key) == value  # the default scenario is tuned
    mine = tmp_path / "mine.yaml"
    changed = {"power_levels": 5, "init": "none", "policy": "MlpPolicy", "policy_kwargs": {}}
    mine.write_text(yaml.safe_dump(changed))
    config = load_config("ppo", path=mine)
    assert {k: getattr(config, k) for k in changed} == changed  # the user's file wins
    assert load_config("ppo", path=mine, overrides={"power_levels": 9}).power_levels == 9
