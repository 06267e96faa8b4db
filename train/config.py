"""Training configuration: one frozen dataclass, read from YAML, validated.

Every algorithm has a default file, ``train/configs/<algo>.yaml``, that lists every
setting with a comment; copy it, edit it and pass it with ``--config my.yaml``. A
user file is merged over the algorithm's default file, so it may hold only the
settings that change: its settings replace the default's one by one,
``hyperparams`` and ``scenario_overrides`` entry by entry, ``policy_kwargs`` as a
whole (its entries depend on the policy). Between the two come the settings tuned
per env id, ``train/hyperparams/<algo>.yml`` (one section per id, as RL Baselines3
Zoo keeps them; :func:`tuned_settings`). The resolved configuration is written to
each run folder as ``config.yaml``, which is itself a valid ``--config`` file.

Every value is checked here, before anything is built: each keyword of
``hyperparams`` (the SB3 algorithm's) and of ``policy_kwargs`` (the policy's) has a
rule in a table (``_HYPERPARAMS``, ``_POLICY_KWARGS``); a keyword without a rule
(one that takes a Python class, or that training sets itself) is refused, so nothing
reaches SB3 unchecked. Every count has an upper bound too, so that a slip such as
``n_steps: 1000000000`` fails here in one line instead of as a memory error or a hang
inside SB3; :meth:`TrainConfig.check_memory` also refuses, before training, a buffer
that would not fit in this machine's memory.

>>> cfg = load_config("ppo", overrides={"timesteps": 1000})
>>> cfg.algo, cfg.action_view, cfg.timesteps, cfg.effective_timesteps()
('ppo', 'multidiscrete', 1000, 2048)
>>> load_config("ppo", overrides={"hyperparams": {"gamma": 5.0}})
Traceback (most recent call last):
...
ValueError: config.hyperparams.gamma: got 5.0, allowed: a number in [0, 1]
>>> load_config("dqn")
Traceback (most recent call last):
...
ValueError: unknown algorithm 'dqn'; choose from a2c, ppo, sac, td3
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from noma_split_env import PRESETS, NomaSplitEnv, Scenario
from noma_split_env.checks import check, check_number, is_int, range_text
from noma_split_env.files import atomic_write
from noma_split_env.wrappers import FlatBoxAction, MultiDiscreteAction
from train.extras import model_based_agents, require_rl

__all__ = [
    "ACTION_VIEWS",
    "ACTIVATIONS",
    "ALGORITHMS",
    "CONFIG_DIR",
    "HYPERPARAMS_DIR",
    "INITS",
    "ON_POLICY",
    "POLICIES",
    "REWARDS",
    "TrainConfig",
    "activation_class",
    "algorithm_class",
    "default_config_path",
    "load_config",
    "read_yaml",
    "tuned_settings",
]

CONFIG_DIR = Path(__file__).resolve().parent / "configs"
"""Folder of the default ``<algo>.yaml`` files."""

HYPERPARAMS_DIR = Path(__file__).resolve().parent / "hyperparams"
"""Folder of the tuned settings per env id, ``<algo>.yml`` (:func:`tuned_settings`)."""

ALGORITHMS: dict[str, tuple[str, tuple[str, ...]]] = {
    "a2c": ("A2C", ("multidiscrete", "box")),
    "ppo": ("PPO", ("multidiscrete", "box")),
    "sac": ("SAC", ("box",)),
    "td3": ("TD3", ("box",)),
}
"""Algorithm name -> (Stable-Baselines3 class name, action views it supports)."""

ON_POLICY = ("a2c", "ppo")
"""Algorithms that collect whole rollouts of ``n_steps`` per env between updates;
the others (SAC, TD3) are off-policy, with a replay buffer."""

ACTION_VIEWS = ("multidiscrete", "box")
"""``multidiscrete``: :class:`~noma_split_env.wrappers.MultiDiscreteAction`;
``box``: :class:`~noma_split_env.wrappers.FlatBoxAction`."""

REWARDS = ("cost", "log-cost")
"""Training reward: ``cost`` = the env's reward ``-C``; ``log-cost`` = ``-ln C``."""

ENVS = ("v0", "queue")
"""The env a policy trains on: ``v0`` (``NomaSplit-v0`` and its presets' ids) or
``queue`` (``NomaSplit-queue-v0`` and its presets' ids, :mod:`noma_split_env.queue`)."""

INITS = ("none", "bc")
"""Policy starts: random weights, or behaviour cloning of an expert (:mod:`train.imitation`)."""

POLICIES = ("MlpPolicy", "PerUserPolicy")
"""``MlpPolicy`` (SB3) or the per-user policy of the algorithm
(:func:`train.policies.per_user_policy`)."""

ACTIVATIONS: dict[str, str] = {
    "tanh": "Tanh",
    "relu": "ReLU",
    "elu": "ELU",
    "leaky_relu": "LeakyReLU",
    "gelu": "GELU",
    "silu": "SiLU",
}
"""Names allowed for ``policy_kwargs.activation_fn`` -> their ``torch.nn`` class name."""

MAX_TORCH_THREADS = 256
"""Most ``torch_threads`` a config may ask for (training caps it to the CPU count)."""

_ALGO_ERROR = "unknown algorithm {!r}; choose from " + ", ".join(sorted(ALGORITHMS))


def activation_class(name: str) -> type:
    """The ``torch.nn`` class of activation ``name`` (a key of :data:`ACTIVATIONS`)."""
    check("config.policy_kwargs", "activation_fn", name, name in ACTIVATIONS, _ACTIVATION_TEXT)
    import torch

    return getattr(torch.nn, ACTIVATIONS[name])


# --------------------------------------------------------------------------- rules
@dataclass(frozen=True)
class _Rule:
    """A value check: ``ok(value)`` and the text of what is allowed; ``a | b`` is either."""

    ok: Callable[[Any], bool]
    allowed: str

    def __call__(self, owner: str, name: str, value: Any) -> None:
        if self.ok(value):
            return
        hint = ""
        if isinstance(value, str) and _positive(value.lstrip("-")) is not None:
            hint = " (YAML reads a number without a dot, like 3e-4, as text: write 3.0e-4)"
        check(owner, name, value, False, self.allowed + hint)

    def __or__(self, other: _Rule) -> _Rule:
        return _Rule(lambda v: self.ok(v) or other.ok(v), f"{self.allowed} or {other.allowed}")


def _number(
    lo: float | None = None,
    hi: float | None = None,
    *,
    integer: bool = False,
    lo_open: bool = False,
) -> _Rule:
    """A finite number (an integer if ``integer``) in the range, as :func:`check_number`."""

    def ok(value: Any) -> bool:
        try:
            check_number("", "", value, lo, hi, integer=integer, lo_open=lo_open)
        except ValueError:
            return False
        return True

    return _Rule(ok, range_text(lo, hi, integer=integer, lo_open=lo_open))


def _int_text(n: int) -> str:
    """``n`` as written in messages: ``2**20``, ``10**10`` for large round numbers."""
    for base in (10, 2):
        power = round(math.log(n, base)) if n > 0 else 0
        if n >= 10**5 and base**power == n:
            return f"{base}**{power}"
    return str(n)


def _integer(lo: int, hi: int) -> _Rule:
    """An integer in ``[lo, hi]`` (the bounds written as :func:`_int_text` does)."""
    return _Rule(
        lambda v: is_int(v) and lo <= v <= hi,
        f"an integer in [{_int_text(lo)}, {_int_text(hi)}]",
    )


def _check_integer(owner: str, name: str, value: Any, lo: int, hi: int) -> None:
    _integer(lo, hi)(owner, name, value)


def _exactly(value: Any, text: str) -> _Rule:
    return _Rule(lambda v: type(v) is type(value) and v == value, text)


def _positive(text: str) -> float | None:
    """The finite number > 0 written in ``text``, else None."""
    try:
        number = float(text)
    except ValueError:
        return None
    return number if 0 < number < float("inf") else None


def _parse_linear(text: str) -> float | None:
    """``x`` of ``'linear:<x>'`` (``x > 0``), else None."""
    head, _, value = text.partition(":")
    return _positive(value) if head == "linear" else None


def _is_auto(value: Any) -> bool:
    """SAC's learned entropy coefficient: ``'auto'`` or ``'auto_<initial value > 0>'``."""
    if not isinstance(value, str):
        return False
    head, sep, start = value.partition("_")
    return head == "auto" and (not sep or _positive(start) is not None)


def _layers(value: Any) -> bool:
    return (
        isinstance(value, list | tuple)
        and len(value) <= MAX_LAYERS
        and all(_WIDTH.ok(x) for x in value)
    )


def _net_arch(critic: str, both: bool) -> _Rule:
    """SB3's ``net_arch``: layer widths, shared or ``{pi: [...], <critic>: [...]}``."""
    keys = {"pi", critic}

    def ok(value: Any) -> bool:
        if isinstance(value, Mapping):
            given = set(value)
            return (given == keys if both else given <= keys) and all(map(_layers, value.values()))
        return _layers(value)

    text = (
        f"a list of at most {MAX_LAYERS} integers in [1, {MAX_WIDTH}] (layer widths) or "
        f"{{pi: [...], {critic}: [...]}}"
    )
    return _Rule(ok, text + (" (both keys)" if both else ""))


def _is_train_freq(value: Any) -> bool:
    if isinstance(value, list | tuple) and len(value) == 2:
        return _TRAIN_FREQ.ok(value[0]) and value[1] in ("step", "episode")
    return _TRAIN_FREQ.ok(value)


_FLAG = _Rule(lambda v: isinstance(v, bool), "true or false")
_NULL = _Rule(lambda v: v is None, "null")
_LINEAR = _Rule(
    lambda v: isinstance(v, str) and _parse_linear(v) is not None,
    "'linear:<number > 0>' (linear decay to 0)",
)
MAX_WIDTH = 4096
"""Widest layer a policy may have (``net_arch`` entries, ``PerUserPolicy.hidden``)."""
MAX_LAYERS = 64
"""Most layers a ``net_arch`` list may have."""
MAX_STEPS = 10**10
"""Largest step count of any budget or frequency (``timesteps``, ``eval_freq``, ...)."""
MAX_BATCH = 2**20
"""Largest ``n_steps`` and ``batch_size``."""

_COUNT = _integer(1, MAX_STEPS)
_WIDTH = _integer(1, MAX_WIDTH)
_TRAIN_FREQ = _integer(1, 10**6)
_POSITIVE = _number(0, lo_open=True)
_NON_NEGATIVE = _number(0)
_FRACTION = _number(0, 1)
_SCHEDULE = _POSITIVE | _LINEAR
_ACTIVATION_TEXT = ", ".join(ACTIVATIONS)

_HYPERPARAMS: dict[str, _Rule] = {
    "learning_rate": _SCHEDULE,
    # PPO/A2C: rollout steps per env (and the rollout buffer: check_memory); SAC/TD3:
    # n-step returns
    "n_steps": _integer(1, MAX_BATCH),
    "batch_size": _integer(1, MAX_BATCH),
    "n_epochs": _integer(1, 10**4),
    "gamma": _FRACTION,
    "gae_lambda": _FRACTION,
    "clip_range": _SCHEDULE,
    "clip_range_vf": _NULL | _SCHEDULE,
    "normalize_advantage": _FLAG,
    "ent_coef": _NON_NEGATIVE,
    "vf_coef": _NON_NEGATIVE,
    "max_grad_norm": _POSITIVE,
    "target_kl": _NULL | _POSITIVE,
    "use_sde": _FLAG,
    "sde_sample_freq": _integer(-1, MAX_STEPS),
    "use_sde_at_warmup": _FLAG,
    "stats_window_size": _integer(1, 10**6),
    "rms_prop_eps": _POSITIVE,
    "use_rms_prop": _FLAG,
    "buffer_size": _integer(1, 10**8),  # and what fits in memory: check_memory
    "learning_starts": _integer(0, MAX_STEPS),
    "tau": _FRACTION,
    "train_freq": _Rule(
        _is_train_freq,
        f"{_TRAIN_FREQ.allowed} or [<{_TRAIN_FREQ.allowed.removeprefix('an ')}>, step or episode]",
    ),
    "gradient_steps": _integer(1, 10**4) | _exactly(-1, "-1 (as many as the steps collected)"),
    "optimize_memory_usage": _exactly(
        False, "false (SB3's replay buffer cannot combine it with the episode time limit)"
    ),
    "target_update_interval": _COUNT,
    "target_entropy": _exactly("auto", "'auto'") | _number(),
    "policy_delay": _integer(1, 10**6),
    "target_policy_noise": _NON_NEGATIVE,
    "target_noise_clip": _NON_NEGATIVE,
}
"""SB3 algorithm keyword -> its rule; an algorithm's keyword not listed is refused
(``policy``, ``env``, ``seed``, ``device``, ... are set by training, the
``*_class`` / ``*_kwargs`` ones take Python classes)."""

_ALGO_HYPERPARAMS: dict[str, dict[str, _Rule]] = {
    "sac": {"ent_coef": _NON_NEGATIVE | _Rule(_is_auto, "'auto' or 'auto_<number > 0>'")},
}
"""Rules that differ for one algorithm."""

_POLICY_KWARGS: dict[str, _Rule] = {
    "activation_fn": _Rule(lambda v: isinstance(v, str) and v in ACTIVATIONS, _ACTIVATION_TEXT),
    "ortho_init": _FLAG,
    "log_std_init": _number(),
    "full_std": _FLAG,
    "use_expln": _FLAG,
    "squash_output": _FLAG,
    "normalize_images": _FLAG,
    "share_features_extractor": _FLAG,
    "clip_mean": _NON_NEGATIVE,
    "n_critics": _integer(1, 64),
    "hidden": _WIDTH,  # PerUserPolicy
    "rounds": _integer(0, 16),  # PerUserPolicy
    "mixer": _Rule(lambda v: v in ("mean", "attention"), "mean or attention"),  # PerUserPolicy
    "heads": _integer(1, 64),  # PerUserPolicy (attention; a divisor of hidden)
    "critic_rounds": _integer(0, 16),  # PerUserPolicy of SAC and TD3
    "critic_hidden": _WIDTH,  # PerUserPolicy of SAC and TD3
}
"""Policy keyword -> its rule (``net_arch``: :data:`_NET_ARCH`); keywords not listed
(``optimizer_class``, ``features_extractor_class`` and their ``*_kwargs``,
``num_users``, filled in by training) are refused."""

_NET_ARCH = {
    "a2c": _net_arch("vf", both=False),
    "ppo": _net_arch("vf", both=False),
    "sac": _net_arch("qf", both=True),
    "td3": _net_arch("qf", both=True),
}


# --------------------------------------------------------------------------- config
@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run depends on. Same config and seed, same model (CPU)."""

    algo: str
    """Algorithm: ``ppo``, ``a2c`` (MultiDiscrete or Box view), ``sac``, ``td3`` (Box)."""
    scenario: str = "default"
    """Scenario preset the policy is trained on (``tiny``, ``default``, ...)."""
    env: str = "v0"
    """``v0`` (slots independent of the decisions) or ``queue`` (the queued variant, where
    decisions shape the next slots: train with ``gamma > 0``; the preset gets the queued
    env's slot length and episode length, :data:`noma_split_env.queue.QUEUE_DEFAULTS`,
    before ``scenario_overrides``)."""
    scenario_overrides: dict[str, Any] = field(default_factory=dict)
    """Scenario fields changed on top of the preset, e.g. ``{latency_weight: 0.8}``."""
    timesteps: int = 200_000
    """Total environment steps (slots) of training, over all parallel envs. SB3 trains
    whole rollouts, so it may train a little more: :meth:`effective_timesteps`."""
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
    """torch CPU threads, 1 to 256; training uses at most the machine's CPU count (and
    says so). 1 is fastest for these small networks on a shared machine."""
    policy: str = "MlpPolicy"
    """``MlpPolicy`` or ``PerUserPolicy`` (one network shared by the users; for SAC and
    TD3 in their actor and critics: :mod:`train.policies`)."""
    policy_kwargs: dict[str, Any] = field(default_factory=dict)
    """Passed to the policy: ``activation_fn`` (a name from ``tanh, relu, elu,
    leaky_relu, gelu, silu``); MlpPolicy: ``net_arch`` (list or ``{pi: [...], vf:
    [...]}``, SAC/TD3 ``{pi: [...], qf: [...]}``); PerUserPolicy: ``hidden``,
    ``rounds``, ``mixer``, ``heads`` (SAC/TD3: ``critic_rounds``, ``critic_hidden``);
    ``ortho_init``, ``log_std_init``, ``n_critics``, ... (``_POLICY_KWARGS``)."""
    action_noise_sigma: float = 0.0
    """SAC/TD3: std of Gaussian exploration noise added to actions (0 = none)."""
    actor_warmup: int = 0
    """SAC/TD3: environment steps after ``learning_starts`` during which only the
    critics learn and the actor stays as it is (0 = none). With ``init: bc`` this
    lets the critics learn the slots around the clone before they steer it: a fresh
    critic's gradient would first undo the clone."""
    hyperparams: dict[str, Any] = field(default_factory=dict)
    """Keyword arguments of the SB3 algorithm (``learning_rate``, ``n_steps``, ...);
    ``learning_rate`` and ``clip_range`` take ``linear:<x>``, a linear decay from x to 0."""
    init: str = "none"
    """How the policy starts: ``none`` (random weights) or ``bc``, behaviour cloning of
    an expert solver before RL (:mod:`train.imitation`). With ``bc``,
    ``timesteps`` may be 0: the clone is the model."""
    bc: dict[str, Any] = field(default_factory=dict)
    """Behaviour-cloning settings (``init: bc``) over
    :data:`train.imitation.BC_DEFAULTS`: ``expert`` (an agent name), ``episodes`` and
    ``steps`` of expert data, ``holdout`` (share of episodes that scores the clone),
    ``epochs``, ``batch_size``, ``learning_rate``, ``vf_coef``, ``relabel`` (random
    subchannel relabelling of every batch), ``workers`` (expert processes, 0 = every
    core)."""

    def __post_init__(self) -> None:
        self._validate()

    # ------------------------------------------------------------------ checks
    def _validate(self) -> None:
        if self.algo not in ALGORITHMS:
            raise ValueError(_ALGO_ERROR.format(self.algo))
        if self.scenario not in PRESETS:
            raise ValueError(
                f"unknown scenario {self.scenario!r}; choose from {', '.join(PRESETS)}"
            )
        self._validate_fields()
        self._validate_choices()
        self._validate_scenario_overrides()
        self._validate_keywords("policy_kwargs", self.policy_kwargs, _policy_rules(self))
        self._validate_keywords("hyperparams", self.hyperparams, _hyperparam_rules(self.algo))
        self._validate_combinations()

    def _validate_fields(self) -> None:
        owner = "config"
        least = 0 if self.init == "bc" else 1  # bc alone: the clone is the model
        _check_integer(owner, "timesteps", self.timesteps, least, MAX_STEPS)
        _check_integer(owner, "n_envs", self.n_envs, 1, 256)
        _check_integer(owner, "eval_episodes", self.eval_episodes, 1, 10**4)
        # a fixed range, not this machine's CPU count: a saved run loads anywhere
        # (training caps the threads to the CPUs it finds, with a note)
        _check_integer(owner, "torch_threads", self.torch_threads, 1, MAX_TORCH_THREADS)
        for name in ("eval_freq", "checkpoint_freq"):
            _check_integer(owner, name, getattr(self, name), 0, MAX_STEPS)
        seed_ok = is_int(self.seed) and 0 <= self.seed < 2**32
        check(owner, "seed", self.seed, seed_ok, "an integer in [0, 2**32 - 1]")
        _check_integer(owner, "power_levels", self.power_levels, 2, 1024)
        for name in ("normalize_obs", "normalize_reward"):
            _FLAG(owner, name, getattr(self, name))
        check_number(owner, "clip_obs", self.clip_obs, 0, lo_open=True)
        check_number(owner, "action_noise_sigma", self.action_noise_sigma, 0)
        _check_integer(owner, "actor_warmup", self.actor_warmup, 0, MAX_STEPS)

    def _validate_choices(self) -> None:
        owner, algo = "config", self.algo
        views = ALGORITHMS[algo][1]
        ok = self.action_view in views
        check(owner, "action_view", self.action_view, ok, f"{' or '.join(views)} for {algo}")
        check(owner, "reward", self.reward, self.reward in REWARDS, " or ".join(REWARDS))
        check(owner, "policy", self.policy, self.policy in POLICIES, " or ".join(POLICIES))
        ok = not self.action_noise_sigma or algo not in ON_POLICY
        allowed = f"0 for {algo} (off-policy algorithms only)"
        check(owner, "action_noise_sigma", self.action_noise_sigma, ok, allowed)
        ok = not self.actor_warmup or algo not in ON_POLICY
        check(owner, "actor_warmup", self.actor_warmup, ok, allowed)
        check(owner, "env", self.env, self.env in ENVS, " or ".join(ENVS))
        if self.env == "queue":  # an idle cell costs 0: ln 0 has no value
            ok = self.reward == "cost"
            check(owner, "reward", self.reward, ok, "cost with env: queue (its cost may be 0)")
        check(owner, "init", self.init, self.init in INITS, " or ".join(INITS))
        self._validate_bc()

    def _validate_bc(self) -> None:
        from train.imitation import BC_DEFAULTS

        owner, bc = "config.bc", self.bc
        check("config", "bc", bc, isinstance(bc, Mapping), "a mapping of bc settings")
        unknown = _sorted(set(bc) - set(BC_DEFAULTS))
        if unknown:
            raise ValueError(
                f"config.bc: unknown setting(s) {', '.join(unknown)}; allowed: "
                f"{', '.join(BC_DEFAULTS)}"
            )
        settings = {**BC_DEFAULTS, **bc}
        expert = settings["expert"]
        experts = model_based_agents()
        check(owner, "expert", expert, expert in experts, "one of " + ", ".join(experts))
        for name, low, high in (
            ("episodes", 1, 10**6),
            ("steps", 1, 10**5),
            ("epochs", 1, 10**5),
            ("batch_size", 1, 10**6),
            ("workers", 0, 1024),
        ):
            _check_integer(owner, name, settings[name], low, high)
        check_number(owner, "holdout", settings["holdout"], 0, 1, hi_open=True)
        check_number(owner, "learning_rate", settings["learning_rate"], 0, lo_open=True)
        check_number(owner, "vf_coef", settings["vf_coef"], 0)
        _FLAG(owner, "relabel", settings["relabel"])

    def bc_settings(self) -> dict[str, Any]:
        """The behaviour-cloning settings: :data:`train.imitation.BC_DEFAULTS` updated
        by ``bc``."""
        from train.imitation import BC_DEFAULTS

        return {**BC_DEFAULTS, **self.bc}

    def _validate_scenario_overrides(self) -> None:
        overrides = self.scenario_overrides
        ok = isinstance(overrides, Mapping)
        check("config", "scenario_overrides", overrides, ok, "a mapping of Scenario fields")
        names = [f.name for f in dataclasses.fields(Scenario) if f.name != "name"]
        unknown = _sorted(set(overrides) - set(names))
        if unknown:
            raise ValueError(
                f"config.scenario_overrides: unknown Scenario field(s) {', '.join(unknown)}; "
                f"allowed: {', '.join(names)}"
            )
        Scenario.preset(self.scenario, **overrides)  # validates the values

    def _validate_keywords(self, name: str, given: Any, rules: Mapping[str, _Rule]) -> None:
        """Every entry of mapping ``given`` (``policy_kwargs`` or ``hyperparams``) is a
        keyword of ``rules`` and passes its rule."""
        what = self.policy if name == "policy_kwargs" else self.algo
        check("config", name, given, isinstance(given, Mapping), f"a mapping of {what} arguments")
        unknown = _sorted(set(given) - set(rules))
        if unknown:
            raise ValueError(
                f"config.{name}: unknown {what} argument(s) {', '.join(unknown)}; "
                f"allowed: {', '.join(sorted(rules))}"
            )
        for key, value in given.items():
            rules[key](f"config.{name}", key, value)

    def _validate_combinations(self) -> None:
        """Rules between settings: gSDE needs the Box view, episodic training one env,
        normalized advantages two samples."""
        self._validate_exploration()
        if self.algo in ON_POLICY and self.hyperparam("normalize_advantage"):
            self._validate_advantages()

    def _validate_exploration(self) -> None:
        owner = "config.hyperparams"
        if self.hyperparam("use_sde") and self.action_view != "box":
            allowed = f"false with action_view {self.action_view} (gSDE needs action_view box)"
            check(owner, "use_sde", True, False, allowed)
        if self.policy_kwargs.get("squash_output") and not self.hyperparam("use_sde"):
            allowed = "false unless hyperparams.use_sde is true (SB3 squashes gSDE only)"
            check("config.policy_kwargs", "squash_output", True, False, allowed)
        freq = self.hyperparam("train_freq")
        if isinstance(freq, list | tuple) and freq[1] == "episode" and self.n_envs > 1:
            allowed = f"[{freq[0]}, step] or an integer with n_envs {self.n_envs} (SB3 counts "
            check(owner, "train_freq", freq, False, allowed + "episodes with n_envs 1 only)")

    def _validate_advantages(self) -> None:
        owner = "config.hyperparams"
        n_steps = self.hyperparam("n_steps")
        allowed = (
            "an integer >= 2 when n_envs is 1 and normalize_advantage is true (advantages "
            "are normalized over the n_steps x n_envs steps of a rollout)"
        )
        check(owner, "n_steps", n_steps, n_steps * self.n_envs > 1, allowed)
        if self.algo == "ppo":
            batch = self.hyperparam("batch_size")
            allowed = (
                "an integer >= 2 while normalize_advantage is true (advantages are "
                "normalized over each mini-batch)"
            )
            check(owner, "batch_size", batch, batch > 1, allowed)

    # ------------------------------------------------------------------ views
    def hyperparam(self, name: str) -> Any:
        """SB3 keyword ``name``: its value in ``hyperparams``, else the algorithm's
        default (None if the algorithm has no such keyword)."""
        if name in self.hyperparams:
            return self.hyperparams[name]
        param = _signature(self.algo).get(name)
        return None if param is None or param.default is inspect.Parameter.empty else param.default

    def algorithm_kwargs(self) -> dict[str, Any]:
        """``hyperparams`` as SB3 takes them: ``'linear:<x>'`` -> a picklable linear
        schedule, a ``train_freq`` list -> a tuple."""
        out = dict(self.hyperparams)
        for key, value in out.items():
            if isinstance(value, str) and (start := _parse_linear(value)) is not None:
                out[key] = _LinearSchedule(start)
            elif key == "train_freq" and isinstance(value, list | tuple):
                out[key] = (int(value[0]), str(value[1]))
        return out

    def _collection(self) -> tuple[int, str]:
        """(steps SB3 collects between two looks at the budget, why)."""
        algo, n = self.algo, self.n_envs
        if algo in ON_POLICY:
            k = self.hyperparam("n_steps")
            return k * n, f"{algo} collects rollouts of n_steps x n_envs = {k} x {n} steps"
        freq = self.hyperparam("train_freq")
        count, unit = (freq, "step") if is_int(freq) else freq
        if unit == "step" and count == 1:
            return n, f"{algo} steps its n_envs = {n} envs together"
        if unit == "step":
            why = f"{algo} collects train_freq x n_envs = {count} x {n} steps between updates"
            return count * n, why
        length = self.make_scenario().max_episode_steps  # n_envs is 1 (validated)
        why = f"{algo} collects train_freq = {count} whole episode(s) of {length} steps"
        return count * length, why + " between updates"

    def effective_timesteps(self, done: int = 0) -> int:
        """The step count SB3 stops at when training to ``timesteps`` from step ``done``.

        SB3 looks at the budget only between collections: on-policy algorithms
        collect whole rollouts of ``n_steps x n_envs`` steps, off-policy ones
        ``train_freq x n_envs`` steps (or whole episodes of every env), so the count
        is rounded up to the next whole collection.
        """
        chunk, _ = self._collection()
        remaining = max(self.timesteps - done, 0)
        return done + -(-remaining // chunk) * chunk

    def rounding_note(self, done: int = 0) -> str:
        """One line saying how and why :meth:`effective_timesteps` differs from
        ``timesteps`` (empty if it does not), e.g. ``timesteps 512 rounded up to 2048:
        ppo collects rollouts of n_steps x n_envs = 256 x 8 steps``."""
        target = self.effective_timesteps(done)
        if target <= max(self.timesteps, done):
            return ""
        start = f" (from step {done})" if done else ""
        return f"timesteps {self.timesteps} rounded up to {target}{start}: {self._collection()[1]}"

    def make_scenario(self) -> Scenario:
        """The scenario the policy is trained on."""
        if self.env == "queue":
            from noma_split_env.queue import QUEUE_DEFAULTS

            return Scenario.preset(self.scenario, **{**QUEUE_DEFAULTS, **self.scenario_overrides})
        return Scenario.preset(self.scenario, **self.scenario_overrides)

    def make_env(self, scenario: Scenario | None = None, info_level: str = "full") -> Any:
        """A fresh env of the config (``NomaSplitEnv`` or ``QueueEnv``) on ``scenario``
        (default :meth:`make_scenario`)."""
        scenario = self.make_scenario() if scenario is None else scenario
        if self.env == "queue":
            from noma_split_env.queue import QueueEnv

            return QueueEnv(scenario, info_level=info_level)
        return NomaSplitEnv(scenario, info_level=info_level)

    @property
    def env_id(self) -> str | None:
        """The registered id of the config's env and preset."""
        from noma_split_env import ENV_IDS, QUEUE_ENV_IDS

        ids = QUEUE_ENV_IDS if self.env == "queue" else ENV_IDS
        return next((i for i, name in ids.items() if name == self.scenario), None)

    def check_memory(self) -> None:
        """Refuse, before anything is allocated, a rollout or replay buffer larger than
        half this machine's physical memory; the message names the setting to lower.

        The buffers hold float32 values: the on-policy rollout buffer ``n_steps x
        n_envs x (obs + act + 6)`` (observation, action, reward, return, episode start,
        value, log-probability, advantage), the off-policy replay buffer ``buffer_size
        x (2 obs + act + 2)`` (observation, next observation, action, reward, done), with
        ``obs`` the observation size ``K x F`` and ``act`` the action view's size. A
        machine-dependent check, so it is not part of validation (a saved run loads
        anywhere): :func:`train.training.train` and ``resume`` call it.

        Raises:
            ValueError: ``config.hyperparams.<n_steps or buffer_size>: got <value>,
                allowed: at most <N> on this machine (...)``.
        """
        total = _physical_memory()
        if total is None:
            return
        limit = total // 2
        obs, act = _buffer_sizes(self)
        if self.algo in ON_POLICY:
            name, what = "n_steps", "rollout buffer"
            per_unit, given = self.n_envs * (obs + act + 6) * 4, f" with n_envs {self.n_envs}"
        else:
            name, what, given = "buffer_size", "replay buffer", ""
            per_unit = (2 * obs + act + 2) * 4
        value = self.hyperparam(name)
        need = value * per_unit
        allowed = (
            f"at most {limit // per_unit}{given} on this machine (the {what} would need "
            f"{_gb(need)} of {_gb(limit)}, half the physical memory)"
        )
        check("config.hyperparams", name, value, need <= limit, allowed)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (YAML-ready), fields in declaration order."""
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def to_yaml(self, path: str | PathLike[str]) -> Path:
        """Write the config as YAML (a valid ``--config`` file), atomically. Returns the path."""
        import yaml

        path = Path(path)
        text = yaml.safe_dump(self.to_dict(), sort_keys=False, default_flow_style=False)
        with atomic_write(path) as f:
            f.write("# Resolved training configuration (noma-split train)\n" + text)
        return path

    def replace(self, **changes: Any) -> TrainConfig:
        """A validated copy with ``changes``."""
        return dataclasses.replace(self, **changes)


class _LinearSchedule:
    """``progress_remaining * start`` (picklable, unlike a lambda)."""

    def __init__(self, start: float) -> None:
        self.start = start

    def __call__(self, progress_remaining: float) -> float:
        return progress_remaining * self.start


def _physical_memory() -> int | None:
    """This machine's physical memory [bytes], None where the OS does not say."""
    try:
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):  # no sysconf (Windows) or no such name
        return None
    return total if total > 0 else None


def _gb(n: int) -> str:
    return f"{n / 1e9:.1f} GB"


def _buffer_sizes(config: TrainConfig) -> tuple[int, int]:
    """(observation size ``K x F``, action size of the view) of ``config``'s scenario."""
    env = config.make_env()
    if config.action_view == "multidiscrete":
        view: Any = MultiDiscreteAction(env, power_levels=config.power_levels)
    else:
        view = FlatBoxAction(env)
    return int(np.prod(env.observation_space.shape)), int(np.prod(view.action_space.shape))


def _sorted(keys: set[Any]) -> list[str]:
    return sorted(map(str, keys))


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def algorithm_class(algo: str) -> type:
    """The Stable-Baselines3 class of ``algo`` (imported on demand)."""
    if algo not in ALGORITHMS:
        raise ValueError(_ALGO_ERROR.format(algo))
    require_rl(f"the {algo} algorithm")
    import stable_baselines3

    return getattr(stable_baselines3, ALGORITHMS[algo][0])


@functools.cache
def _signature(algo: str) -> Mapping[str, inspect.Parameter]:
    return inspect.signature(algorithm_class(algo).__init__).parameters


def _hyperparam_rules(algo: str) -> dict[str, _Rule]:
    """The rules of the constructor keywords of ``algo`` a config may set."""
    rules = {**_HYPERPARAMS, **_ALGO_HYPERPARAMS.get(algo, {})}
    return {name: rules[name] for name in _signature(algo) if name in rules}


def _algorithm_keywords(algo: str) -> list[str]:
    """Constructor arguments of ``algo`` a config may set (the rest are wired by training)."""
    return sorted(_hyperparam_rules(algo))


def _policy_rules(config: TrainConfig) -> dict[str, _Rule]:
    """The rules of the policy keywords a config may set in ``policy_kwargs``."""
    algorithm = algorithm_class(config.algo)  # first: says if the rl extra is missing
    if config.policy == "PerUserPolicy":
        from train.policies import per_user_policy

        policy = per_user_policy(config.algo)
        sb3 = next(c for c in policy.__mro__ if c.__module__.startswith("stable_baselines3"))
        classes = [policy, sb3]
        rules = dict(_POLICY_KWARGS)  # no net_arch: hidden and rounds
    else:
        classes = [algorithm.policy_aliases[config.policy]]
        rules = {**_POLICY_KWARGS, "net_arch": _NET_ARCH[config.algo]}
    names = {p for c in classes for p in inspect.signature(c.__init__).parameters}
    return {name: rules[name] for name in sorted(names) if name in rules}


def default_config_path(algo: str) -> Path:
    """``train/configs/<algo>.yaml``."""
    if algo not in ALGORITHMS:
        raise ValueError(_ALGO_ERROR.format(algo))
    return CONFIG_DIR / f"{algo}.yaml"


def read_yaml(path: str | PathLike[str]) -> dict[str, Any]:
    """A YAML mapping from ``path``; ``FileNotFoundError`` / ``ValueError`` in one line."""
    require_rl("reading a training config")
    import yaml

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


def tuned_settings(algo: str, scenario: Any, env: Any = "v0") -> dict[str, Any]:
    """The settings tuned for ``algo`` on the env id of preset ``scenario`` and env
    ``env`` (:data:`ENVS`): ``train/hyperparams/<algo>.yml`` holds one section per env
    id (``NomaSplit-v0``, ``NomaSplit-dense-v0``, ``NomaSplit-queue-v0``, ...), as RL
    Baselines3 Zoo keeps them; empty for an id without a section."""
    from noma_split_env import ENV_IDS, QUEUE_ENV_IDS

    path = HYPERPARAMS_DIR / f"{algo}.yml"
    if not path.is_file():
        return {}
    sections = read_yaml(path)
    ids = QUEUE_ENV_IDS if env == "queue" else ENV_IDS
    env_id = next((i for i, name in ids.items() if name == scenario), None)
    section = sections.get(env_id) or {}
    if not isinstance(section, dict):
        raise ValueError(f"{path}: section {env_id!r} is not a mapping of settings")
    return section


def load_config(
    algo: str | None = None,
    path: str | PathLike[str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> TrainConfig:
    """The resolved config: the algorithm's default file, then its tuned settings for
    the scenario's env id (:func:`tuned_settings`), then ``path``, then ``overrides``.

    Args:
        algo: Algorithm name; None = the ``algo`` of the file at ``path``.
        path: A user YAML file (a copy of ``train/configs/<algo>.yaml``, edited).
        overrides: Top-level settings that win over both files (the CLI's flags);
            None values are ignored.

    Raises:
        ValueError: unknown algorithm or setting, invalid value, an ``algo`` in the file
            that contradicts ``algo``; the message names the setting and what is allowed.
        FileNotFoundError: ``path`` does not exist.
        train.extras.MissingExtraError: the ``rl`` extra is not installed.
    """
    require_rl("reading a training config")
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
        raise ValueError(_ALGO_ERROR.format(algo))
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    base = read_yaml(default_config_path(algo))
    scenario = given.get("scenario", user.get("scenario", base.get("scenario")))
    env = given.get("env", user.get("env", base.get("env", "v0")))
    merged = _merge(_merge(base, tuned_settings(algo, scenario, env)), user)
    merged.update(given)
    merged["algo"] = algo
    names = [f.name for f in dataclasses.fields(TrainConfig)]
    unknown = _sorted(set(merged) - set(names))
    if unknown:
        raise ValueError(
            f"config: unknown setting(s) {', '.join(unknown)}; allowed: {', '.join(names)}"
        )
    return TrainConfig(**merged)


_MERGED = frozenset({"hyperparams", "scenario_overrides", "bc"})


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
