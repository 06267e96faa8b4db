"""Training configuration: one frozen dataclass, read from YAML, validated.

Every algorithm has a default file, ``train/configs/<algo>.yaml``, that lists every
setting with a comment; copy it, edit it and pass it with ``--config my.yaml``. A
user file is merged over the algorithm's default file, so it may hold only the
settings that change: its settings replace the default's one by one,
``hyperparams`` and ``scenario_overrides`` entry by entry, ``policy_kwargs`` as a
whole (its entries depend on the policy). The resolved configuration is written to
each run folder as ``config.yaml``, which is itself a valid ``--config`` file.

>>> cfg = load_config("ppo", overrides={"timesteps": 1000})
>>> cfg.algo, cfg.action_view, cfg.timesteps
('ppo', 'multidiscrete', 1000)
>>> load_config("dqn")
Traceback (most recent call last):
...
ValueError: unknown algorithm 'dqn'; choose from a2c, ppo, sac, td3
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

import yaml

from noma_split_env import PRESETS, Scenario

__all__ = [
    "ACTION_VIEWS",
    "ALGORITHMS",
    "CONFIG_DIR",
    "POLICIES",
    "REWARDS",
    "TrainConfig",
    "algorithm_class",
    "default_config_path",
    "load_config",
    "read_yaml",
]

CONFIG_DIR = Path(__file__).resolve().parent / "configs"
"""Folder of the default ``<algo>.yaml`` files."""

ALGORITHMS: dict[str, tuple[str, tuple[str, ...]]] = {
    "a2c": ("A2C", ("multidiscrete", "box")),
    "ppo": ("PPO", ("multidiscrete", "box")),
    "sac": ("SAC", ("box",)),
    "td3": ("TD3", ("box",)),
}
"""Algorithm name -> (Stable-Baselines3 class name, action views it supports)."""

ACTION_VIEWS = ("multidiscrete", "box")
"""``multidiscrete``: :class:`~noma_split_env.wrappers.MultiDiscreteAction`;
``box``: :class:`~noma_split_env.wrappers.FlatBoxAction`."""

REWARDS = ("cost", "log-cost")
"""Training reward: ``cost`` = the env's reward ``-C``; ``log-cost`` = ``-ln C``."""

POLICIES = ("MlpPolicy", "PerUserPolicy")
"""``MlpPolicy`` (SB3) or :class:`train.policies.PerUserPolicy` (PPO, A2C)."""

ACTIVATIONS = ("tanh", "relu", "elu", "leaky_relu", "gelu", "silu")
"""Names allowed for ``policy_kwargs.activation_fn`` (``torch.nn`` classes)."""


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run depends on. Same config and seed, same model (CPU)."""

    algo: str
    """Algorithm: ``ppo``, ``a2c`` (MultiDiscrete or Box view), ``sac``, ``td3`` (Box)."""
    scenario: str = "default"
    """Scenario preset the policy is trained on (``tiny``, ``default``, ...)."""
    scenario_overrides: dict[str, Any] = field(default_factory=dict)
    """Scenario fields changed on top of the preset, e.g. ``{latency_weight: 0.8}``."""
    timesteps: int = 200_000
    """Total environment steps (slots) of training, over all parallel envs."""
    seed: int = 0
    """Seeds Python, NumPy, torch, the policy, the action space and every env."""
    n_envs: int = 8
    """Parallel copies of the env (``DummyVecEnv``: one process, stepped in turn)."""
    action_view: str = "multidiscrete"
    """SB3 view of the native ``Dict`` action: ``multidiscrete`` or ``box``."""
    power_levels: int = 8
    """Levels of each power fraction under the ``multidiscrete`` view (>= 2)."""
    reward: str = "cost"
    """Training reward: ``cost`` (the env's ``-C``) or ``log-cost`` (``-ln C``, the same
    optimum on every slot, see :mod:`train.training`). Evaluation always reports ``C``."""
    normalize_obs: bool = True
    """Normalize observations with running mean and variance (``VecNormalize``)."""
    normalize_reward: bool = False
    """Scale rewards by the running std of the discounted return (``VecNormalize``)."""
    clip_obs: float = 10.0
    """Normalized observations are clipped to ``[-clip_obs, clip_obs]``."""
    eval_freq: int = 10_000
    """Evaluate the deterministic policy every this many steps (0 = never)."""
    eval_episodes: int = 5
    """Episodes per evaluation; always the same ones (the eval env is reseeded)."""
    checkpoint_freq: int = 50_000
    """Save a checkpoint (model, normalization, replay buffer) every this many steps
    (0 = never)."""
    torch_threads: int = 1
    """torch CPU threads; 1 is fastest for these small networks on a shared machine."""
    policy: str = "MlpPolicy"
    """``MlpPolicy`` or ``PerUserPolicy`` (one network shared by the users, PPO and A2C:
    :mod:`train.policies`)."""
    policy_kwargs: dict[str, Any] = field(default_factory=dict)
    """Passed to the policy: ``activation_fn`` (a name from ``tanh, relu, elu,
    leaky_relu, gelu, silu``); MlpPolicy: ``net_arch`` (list or ``{pi: [...], vf:
    [...]}``); PerUserPolicy: ``hidden``, ``rounds``."""
    action_noise_sigma: float = 0.0
    """SAC/TD3: std of Gaussian exploration noise added to actions (0 = none)."""
    hyperparams: dict[str, Any] = field(default_factory=dict)
    """Keyword arguments of the SB3 algorithm (``learning_rate``, ``n_steps``, ...);
    ``learning_rate: linear:3e-4`` decays linearly to 0."""

    def __post_init__(self) -> None:
        self._validate()

    # ------------------------------------------------------------------ checks
    def _fail(self, name: str, allowed: str) -> None:
        raise ValueError(f"config.{name}: got {getattr(self, name)!r}, allowed: {allowed}")

    def _validate(self) -> None:
        if self.algo not in ALGORITHMS:
            raise ValueError(
                f"unknown algorithm {self.algo!r}; choose from {', '.join(sorted(ALGORITHMS))}"
            )
        if self.scenario not in PRESETS:
            raise ValueError(
                f"unknown scenario {self.scenario!r}; choose from {', '.join(PRESETS)}"
            )
        views = ALGORITHMS[self.algo][1]
        if self.action_view not in views:
            self._fail("action_view", f"{' or '.join(views)} for {self.algo}")
        for name in ("timesteps", "n_envs", "eval_episodes", "torch_threads"):
            if not _is_int(getattr(self, name)) or getattr(self, name) < 1:
                self._fail(name, "an integer >= 1")
        for name in ("eval_freq", "checkpoint_freq", "seed"):
            if not _is_int(getattr(self, name)) or getattr(self, name) < 0:
                self._fail(name, "an integer >= 0")
        if not _is_int(self.power_levels) or self.power_levels < 2:
            self._fail("power_levels", "an integer >= 2")
        if self.reward not in REWARDS:
            self._fail("reward", " or ".join(REWARDS))
        for name in ("normalize_obs", "normalize_reward"):
            if not isinstance(getattr(self, name), bool):
                self._fail(name, "true or false")
        if not _is_real(self.clip_obs) or self.clip_obs <= 0:
            self._fail("clip_obs", "a number > 0")
        if not _is_real(self.action_noise_sigma) or self.action_noise_sigma < 0:
            self._fail("action_noise_sigma", "a number >= 0")
        if self.policy not in POLICIES:
            self._fail("policy", " or ".join(POLICIES))
        if self.policy == "PerUserPolicy" and self.algo not in ("ppo", "a2c"):
            self._fail("policy", f"MlpPolicy for {self.algo} (PerUserPolicy: ppo and a2c)")
        if self.action_noise_sigma and self.algo not in ("sac", "td3"):
            self._fail("action_noise_sigma", f"0 for {self.algo} (off-policy algorithms only)")
        self._validate_scenario_overrides()
        self._validate_policy_kwargs()
        self._validate_hyperparams()

    def _validate_scenario_overrides(self) -> None:
        if not isinstance(self.scenario_overrides, Mapping):
            self._fail("scenario_overrides", "a mapping of Scenario fields")
        names = [f.name for f in dataclasses.fields(Scenario) if f.name != "name"]
        unknown = sorted(set(self.scenario_overrides) - set(names))
        if unknown:
            raise ValueError(
                f"config.scenario_overrides: unknown Scenario field(s) {', '.join(unknown)}; "
                f"allowed: {', '.join(names)}"
            )
        Scenario.preset(self.scenario, **self.scenario_overrides)  # validates the values

    def _validate_policy_kwargs(self) -> None:
        if not isinstance(self.policy_kwargs, Mapping):
            self._fail("policy_kwargs", "a mapping")
        allowed = _policy_keywords(self.algo, self.policy)
        unknown = sorted(set(self.policy_kwargs) - set(allowed))
        if unknown:
            raise ValueError(
                f"config.policy_kwargs: unknown {self.policy} argument(s) {', '.join(unknown)}; "
                f"allowed: {', '.join(allowed)}"
            )
        act = self.policy_kwargs.get("activation_fn")
        if act is not None and act not in ACTIVATIONS:
            raise ValueError(
                f"config.policy_kwargs.activation_fn: got {act!r}, allowed: "
                f"{', '.join(ACTIVATIONS)}"
            )

    def _validate_hyperparams(self) -> None:
        if not isinstance(self.hyperparams, Mapping):
            self._fail("hyperparams", "a mapping of algorithm keyword arguments")
        allowed = _algorithm_keywords(self.algo)
        unknown = sorted(set(self.hyperparams) - set(allowed))
        if unknown:
            raise ValueError(
                f"config.hyperparams: unknown {self.algo} argument(s) {', '.join(unknown)}; "
                f"allowed: {', '.join(allowed)}"
            )
        lr = self.hyperparams.get("learning_rate")
        if isinstance(lr, str) and not _parse_linear(lr):
            raise ValueError(
                f"config.hyperparams.learning_rate: got {lr!r}, allowed: a number > 0 or "
                "'linear:<number>' (linear decay to 0)"
            )

    # ------------------------------------------------------------------ views
    def make_scenario(self) -> Scenario:
        """The scenario the policy is trained on."""
        return Scenario.preset(self.scenario, **self.scenario_overrides)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (YAML-ready), fields in declaration order."""
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def to_yaml(self, path: str | PathLike[str]) -> Path:
        """Write the config as YAML (a valid ``--config`` file). Returns the path."""
        path = Path(path)
        text = yaml.safe_dump(self.to_dict(), sort_keys=False, default_flow_style=False)
        path.write_text("# Resolved training configuration (noma-split train)\n" + text)
        return path

    def replace(self, **changes: Any) -> TrainConfig:
        """A validated copy with ``changes``."""
        return dataclasses.replace(self, **changes)

    def learning_rate(self) -> float | Any:
        """The SB3 ``learning_rate`` argument: a float or a linear schedule."""
        lr = self.hyperparams.get("learning_rate")
        if isinstance(lr, str):
            start = _parse_linear(lr)
            return _LinearSchedule(start)
        return lr


class _LinearSchedule:
    """``progress_remaining * start`` (picklable, unlike a lambda)."""

    def __init__(self, start: float) -> None:
        self.start = start

    def __call__(self, progress_remaining: float) -> float:
        return progress_remaining * self.start


def _parse_linear(text: str) -> float | None:
    head, _, value = text.partition(":")
    try:
        number = float(value)
    except ValueError:
        return None
    return number if head == "linear" and number > 0 else None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def algorithm_class(algo: str) -> type:
    """The Stable-Baselines3 class of ``algo`` (imported on demand)."""
    if algo not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algo!r}; choose from {', '.join(sorted(ALGORITHMS))}")
    import stable_baselines3

    return getattr(stable_baselines3, ALGORITHMS[algo][0])


_RESERVED = frozenset(
    {"self", "policy", "env", "seed", "policy_kwargs", "tensorboard_log", "verbose", "device"}
    | {"action_noise", "_init_setup_model", "replay_buffer_class", "replay_buffer_kwargs"}
)


def _algorithm_keywords(algo: str) -> list[str]:
    """Constructor arguments of ``algo`` a config may set (the rest are wired by training)."""
    params = inspect.signature(algorithm_class(algo).__init__).parameters
    return sorted(p for p in params if p not in _RESERVED)


def _policy_keywords(algo: str, policy: str) -> list[str]:
    """Constructor arguments of the policy a config may set in ``policy_kwargs``."""
    if policy == "PerUserPolicy":
        from train.policies import PerUserPolicy

        classes = [PerUserPolicy, PerUserPolicy.__mro__[1]]
    else:
        classes = [algorithm_class(algo).policy_aliases[policy]]
    wired = {"self", "observation_space", "action_space", "lr_schedule", "kwargs", "use_sde"}
    names = {p for c in classes for p in inspect.signature(c.__init__).parameters}
    if policy == "PerUserPolicy":
        names -= {"net_arch"}
    return sorted(names - wired)


def default_config_path(algo: str) -> Path:
    """``train/configs/<algo>.yaml``."""
    if algo not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algo!r}; choose from {', '.join(sorted(ALGORITHMS))}")
    return CONFIG_DIR / f"{algo}.yaml"


def read_yaml(path: str | PathLike[str]) -> dict[str, Any]:
    """A YAML mapping from ``path``; ``FileNotFoundError`` / ``ValueError`` in one line."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file {str(path)!r} does not exist")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        reason = " ".join(str(exc).split())
        raise ValueError(f"config file {str(path)!r} is not valid YAML: {reason}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(
            f"config file {str(path)!r}: got a {type(data).__name__}, allowed: a mapping of "
            "settings (see train/configs/ppo.yaml)"
        )
    return data


def load_config(
    algo: str | None = None,
    path: str | PathLike[str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> TrainConfig:
    """The resolved config: the algorithm's default file, then ``path``, then ``overrides``.

    Args:
        algo: Algorithm name; None = the ``algo`` of the file at ``path``.
        path: A user YAML file (a copy of ``train/configs/<algo>.yaml``, edited).
        overrides: Top-level settings that win over both files (the CLI's flags);
            None values are ignored.

    Raises:
        ValueError: unknown algorithm or setting, invalid value, an ``algo`` in the file
            that contradicts ``algo``; the message names the setting and what is allowed.
        FileNotFoundError: ``path`` does not exist.
    """
    user = read_yaml(path) if path is not None else {}
    file_algo = user.get("algo")
    if algo is None:
        algo = file_algo if file_algo is not None else "ppo"
    elif file_algo is not None and file_algo != algo:
        raise ValueError(
            f"config file {str(path)!r} is for algo {file_algo!r} but --algo is {algo!r}; "
            "drop one of them or make them agree"
        )
    if algo not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algo!r}; choose from {', '.join(sorted(ALGORITHMS))}")
    merged = _merge(read_yaml(default_config_path(algo)), user)
    merged.update({k: v for k, v in (overrides or {}).items() if v is not None})
    merged["algo"] = algo
    names = [f.name for f in dataclasses.fields(TrainConfig)]
    unknown = sorted(set(merged) - set(names))
    if unknown:
        raise ValueError(
            f"config: unknown setting(s) {', '.join(unknown)}; allowed: {', '.join(names)}"
        )
    return TrainConfig(**merged)


_MERGED = frozenset({"hyperparams", "scenario_overrides"})


def _merge(base: dict[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` updated by ``top``; ``hyperparams`` and ``scenario_overrides`` are merged
    entry by entry, ``policy_kwargs`` is replaced (it depends on the policy)."""
    out = dict(base)
    for key, value in top.items():
        if key in _MERGED and isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out
