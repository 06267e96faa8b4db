"""Imitation of a solver: expert datasets and behaviour cloning into an SB3 policy.

Li-GD decides a ``default`` slot in about 10 ms and a ``dense`` one in about 150 ms; a
policy network decides in well under a millisecond. Slots do not depend on the
decisions (docs/model.md section 9.9), so Li-GD's allocation of a slot is a label
for that slot's observation, and a policy can learn it by supervised learning before
any reinforcement learning:

1. :func:`expert_data` runs the expert (``li-gd`` by default) on ``episodes`` episodes
   of ``steps`` slots and keeps every slot's observation (:func:`noma_split_env.observe`),
   the expert's allocation as a native action
   (:meth:`~noma_split_env.actions.ActionDecoder.encode`, its exact inverse) and the
   expert's cost. Episodes run in parallel (:func:`agents.parallel.run_tasks`); their
   seeds come from ``SeedSequence([seed, EXPERT_STREAM])``, so they never meet the
   small seeds of comparisons (0, 1, 2, ...) or the evaluation seeds of training. The
   result is cached (:func:`cache_path`): the key holds the scenario, the expert, the
   sizes, the seed and a hash of the source that makes the labels
   (:func:`code_fingerprint`: the physics and the expert's code), so a change there
   makes a new dataset.
2. :func:`behaviour_clone` fits an SB3 actor-critic (PPO or A2C; the per-user policy
   of :mod:`train.policies` or an MLP) to it in either action view: it maximizes the
   log-likelihood of the expert's action (``policy.evaluate_actions``) and fits the
   value head to the reward of the expert's action, which is what a policy close to
   the expert earns (``gamma = 0``), so that PPO fine-tuning starts from a critic
   that already knows the slots. For SAC and TD3 (Box view) it regresses the actor's
   deterministic action onto the expert's (squared error) and fits every Q network
   at the expert's action to that reward; their target networks start as the fit.
   The observation normalization (``VecNormalize``) is set to the dataset's
   statistics first. In the MultiDiscrete view the expert's
   power fractions are rounded *up* to the next level
   (``MultiDiscreteAction.encode(rounding="up")``): rounding a small downlink power
   down to 0 would stall that user's result.

``noma-split train --init bc`` runs both before RL (:mod:`train.training`); the
``bc`` section of the config holds the sizes (:data:`BC_DEFAULTS`).
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from agents.base import make as make_agent
from agents.parallel import run_tasks
from noma_split_env import NomaSplitEnv, Scenario, observe
from noma_split_env.actions import ActionDecoder
from noma_split_env.files import atomic_path

__all__ = [
    "BC_DEFAULTS",
    "EXPERT_STREAM",
    "BCResult",
    "CachedDataset",
    "ExpertData",
    "behaviour_clone",
    "cache_dir",
    "cache_path",
    "cached_datasets",
    "code_fingerprint",
    "discounted",
    "entry_weights",
    "expert_data",
    "expert_seeds",
    "relabel_subchannels",
    "view_targets",
]

EXPERT_STREAM = 0xBC
"""Second entry of the ``SeedSequence`` that draws the expert episodes' seeds."""

BC_DEFAULTS: dict[str, Any] = {
    "expert": "li-gd",  # a registered agent name
    "episodes": 200,  # expert episodes ...
    "steps": 50,  # ... of this many slots each
    "holdout": 0.1,  # share of the episodes kept out of training, to score the clone
    "epochs": 60,
    "batch_size": 256,
    "learning_rate": 1.0e-3,
    "vf_coef": 0.5,
    "relabel": True,  # relabel the subchannels at random in every batch (a symmetry)
    "workers": 0,  # expert processes; 0 = every core
}
"""The ``bc`` section of a training config, with its defaults."""

_FORMAT = 2
"""Version of the dataset layout (part of the cache key)."""

_NATIVE_KEYS = ("split", "ul_subchannel", "dl_subchannel", "ul_power", "dl_power", "edge_share")


# --------------------------------------------------------------------------- dataset
@dataclass(frozen=True)
class ExpertData:
    """Slots labelled by an expert: row ``i`` is one slot.

    Attributes:
        observations: ``[M, K F]`` float32, the env's observation of each slot.
        actions: Native key -> ``[M, K]`` (int64 for ``split`` and the subchannels,
            float32 fractions for the powers and shares), decoding to the expert's
            allocation exactly (:meth:`~noma_split_env.actions.ActionDecoder.encode`).
        offload: ``[M, K]`` bool, the expert offloads the user (``s_k < L_k``); a
            local user's subchannels, powers and share do not count
            (:func:`entry_weights`).
        costs: ``[M]`` the expert's slot cost ``C``.
        episodes: ``[M]`` index of the episode each slot belongs to.
        meta: What made it: scenario, expert, sizes, seed, code fingerprint, time.
    """

    observations: np.ndarray
    actions: dict[str, np.ndarray]
    offload: np.ndarray
    costs: np.ndarray
    episodes: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.costs.shape[0])

    def subset(self, rows: np.ndarray) -> ExpertData:
        """The rows ``rows`` (a boolean mask or indices)."""
        return ExpertData(
            self.observations[rows],
            {key: value[rows] for key, value in self.actions.items()},
            self.offload[rows],
            self.costs[rows],
            self.episodes[rows],
            dict(self.meta),
        )

    def save(self, path: str | PathLike[str]) -> Path:
        """Write ``path`` (``.npz``) atomically."""
        arrays = {f"action_{key}": value for key, value in self.actions.items()}
        with atomic_path(path) as tmp:
            with tmp.open("wb") as f:
                np.savez_compressed(
                    f,
                    observations=self.observations,
                    offload=self.offload,
                    costs=self.costs,
                    episodes=self.episodes,
                    meta=np.array(json.dumps(self.meta, sort_keys=True)),
                    **arrays,
                )
        return Path(path)

    @classmethod
    def load(cls, path: str | PathLike[str]) -> ExpertData:
        """Read a file written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as f:
            actions = {
                key[len("action_") :]: f[key] for key in f.files if key.startswith("action_")
            }
            meta = json.loads(str(f["meta"]))
            return cls(f["observations"], actions, f["offload"], f["costs"], f["episodes"], meta)


def expert_seeds(seed: int, episodes: int) -> list[int]:
    """The seeds of the ``episodes`` expert episodes drawn from ``seed``."""
    state = np.random.SeedSequence([seed, EXPERT_STREAM]).generate_state(episodes, np.uint64)
    return [int(s) // 2 for s in state]


def cache_dir() -> Path:
    """Where expert datasets are cached: ``$NOMA_SPLIT_CACHE`` if set, else
    ``$XDG_CACHE_HOME/noma-split/experts`` (``~/.cache/noma-split/experts``)."""
    root = os.environ.get("NOMA_SPLIT_CACHE")
    if root:
        return Path(root)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "noma-split" / "experts"


@functools.cache
def code_fingerprint(expert: str = "li-gd") -> str:
    """A hash of the source that makes ``expert``'s labels: all of
    :mod:`noma_split_env` (physics, profiles, dynamics), :mod:`agents.base`, and the
    expert's own module or package with every ``agents`` module it imports, followed
    transitively (``li-gd``: ``agents/li_gd/``; ``exhaustive``: its module and
    ``agents/li_gd/``). A change of an unrelated agent keeps the cached data."""
    import inspect

    import agents
    import noma_split_env

    agents_root = Path(agents.__file__).parent
    files = {
        p for p in Path(noma_split_env.__file__).parent.rglob("*") if p.suffix in (".py", ".json")
    }
    files.add(agents_root / "base.py")
    source = Path(inspect.getsourcefile(type(make_agent(expert))) or "")
    todo = [
        source.parent if source.name == "__init__.py" or source.parent != agents_root else source
    ]
    seen: set[Path] = set()
    while todo:
        where = todo.pop()
        if where in seen or not where.exists():
            continue
        seen.add(where)
        found = sorted(where.rglob("*.py")) if where.is_dir() else [where]
        files.update(found)
        for path in found:
            for name in re.findall(r"^\s*(?:from|import) agents\.(\w+)", path.read_text(), re.M):
                todo += [agents_root / name, agents_root / f"{name}.py"]
    root = agents_root.parent
    digest = hashlib.sha256()
    for path in sorted(p for p in files if "__pycache__" not in p.parts):
        digest.update(str(path.relative_to(root) if path.is_relative_to(root) else path).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _meta(
    scenario: Scenario, expert: str, episodes: int, steps: int, seed: int, queued: bool = False
) -> dict[str, Any]:
    env = {"env": "queue"} if queued else {}  # v0 data keeps its earlier keys
    return env | {
        "scenario": scenario.name,
        "scenario_hash": hashlib.sha256(repr(scenario).encode()).hexdigest()[:16],
        "expert": expert,
        "episodes": episodes,
        "steps": steps,
        "seed": seed,
        "code": code_fingerprint(expert),
        "format": _FORMAT,
    }


def cache_path(
    scenario: Scenario, expert: str, episodes: int, steps: int, seed: int, queued: bool = False
) -> Path:
    """The cache file of that dataset (:func:`cache_dir`)."""
    meta = _meta(scenario, expert, episodes, steps, seed, queued)
    key = hashlib.sha256(json.dumps(meta, sort_keys=True).encode()).hexdigest()[:16]
    name = f"queue-{scenario.name}" if queued else scenario.name
    return cache_dir() / f"{name}-{expert}-{episodes}x{steps}-seed{seed}-{key}.npz"


@dataclass(frozen=True)
class CachedDataset:
    """One file of the expert cache (:func:`cached_datasets`)."""

    path: Path
    size_bytes: int
    expert: str | None
    """The expert that labelled it (None: not a readable dataset)."""
    current: bool
    """Made by the code as it is now (its ``code`` fingerprint is the expert's
    :func:`code_fingerprint`): a run with the same settings reuses it. A stale one
    (older code) is never read again unless that code comes back."""


def cached_datasets() -> list[CachedDataset]:
    """Every ``.npz`` file in :func:`cache_dir`, by name."""
    root = cache_dir()
    found = []
    for path in sorted(root.glob("*.npz")) if root.is_dir() else []:
        try:
            with np.load(path, allow_pickle=False) as f:
                meta = json.loads(str(f["meta"]))
            expert = str(meta["expert"])
            current = meta.get("code") == code_fingerprint(expert)
        except (OSError, ValueError, KeyError, TypeError):  # not one of ours, or torn
            expert, current = None, False
        found.append(CachedDataset(path, path.stat().st_size, expert, current))
    return found


@dataclass(frozen=True)
class _Episode:
    """One expert episode, what a worker needs to run it."""

    scenario: Scenario
    expert: str
    seed: int
    steps: int
    queued: bool = False

    def describe(self) -> str:
        return f"expert {self.expert!r}, episode seed {self.seed}"


def _run_episode(
    task: _Episode,
) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray, np.ndarray]:
    env = _env(task.scenario, task.queued)
    env.reset(seed=task.seed)
    expert = make_agent(task.expert)
    expert.reset(task.seed)
    decoder = ActionDecoder(task.scenario)
    observations, offload, costs = [], [], []
    actions: dict[str, list[np.ndarray]] = {}
    for _ in range(task.steps):
        slot = env.slot
        observations.append(observe(slot))
        allocation = expert.act(slot)
        offload.append(allocation.split < slot.num_layers)
        for key, value in decoder.encode(allocation, slot).items():
            actions.setdefault(key, []).append(value)
        _, _, _, truncated, info = env.step_allocation(allocation)
        costs.append(float(info["cost"]))
        if truncated:
            env.reset()
    return (
        np.stack(observations).astype(np.float32),
        {key: np.stack(value) for key, value in actions.items()},
        np.stack(offload),
        np.asarray(costs),
    )


def _env(scenario: Scenario, queued: bool) -> Any:
    """A fresh ``NomaSplitEnv`` or, ``queued``, ``QueueEnv`` on ``scenario``."""
    if queued:
        from noma_split_env.queue import QueueEnv

        return QueueEnv(scenario)
    return NomaSplitEnv(scenario)


def expert_data(
    scenario: Scenario,
    *,
    expert: str = "li-gd",
    episodes: int = 200,
    steps: int = 50,
    seed: int = 0,
    workers: int = 0,
    cache: bool = True,
    progress: bool = False,
    log: Callable[[str], None] | None = None,
    queued: bool = False,
) -> ExpertData:
    """``episodes`` x ``steps`` slots of ``scenario`` labelled by ``expert``.

    Args:
        scenario: The scenario (its slots and its action space).
        expert: A registered agent name (``li-gd``, ``gd``, ``exhaustive``, ...).
        episodes: Episodes, each reset with its own seed (:func:`expert_seeds`).
        steps: Slots per episode.
        seed: Draws the episodes' seeds.
        queued: On the queued env (``NomaSplit-queue-v0``): there the expert's own
            decisions shape the slots it meets (its closed-loop trajectory).
        workers: Processes; 0 = every core.
        cache: Read the dataset from :func:`cache_path` if it is there, and write it
            there after computing it.
        progress: A progress bar over episodes.
        log: Receives one line saying where the data came from.
    """
    for name, value in (("episodes", episodes), ("steps", steps)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"expert_data.{name}: got {value!r}, allowed: an integer >= 1")
    path = cache_path(scenario, expert, episodes, steps, seed, queued)
    if cache and path.is_file():
        try:
            data = ExpertData.load(path)
        except Exception as error:  # a damaged file (the writes are atomic, but disks fail)
            if log:
                log(f"expert data: cannot read the cache {path} ({error!r}); making it again")
        else:
            if log:
                log(f"expert data: {len(data)} slots of {expert} from the cache {path}")
            return data
    make_agent(expert)  # an unknown name fails here, not in a worker
    tasks = [_Episode(scenario, expert, s, steps, queued) for s in expert_seeds(seed, episodes)]
    start = time.perf_counter()
    workers = workers or (os.cpu_count() or 1)
    workers = min(workers, len(tasks))
    parts = (
        run_tasks(_run_episode, tasks, workers=workers, progress=progress)
        if workers > 1
        else [_run_episode(task) for task in tasks]
    )
    data = ExpertData(
        np.concatenate([p[0] for p in parts]),
        {key: np.concatenate([p[1][key] for p in parts]) for key in parts[0][1]},
        np.concatenate([p[2] for p in parts]),
        np.concatenate([p[3] for p in parts]),
        np.repeat(np.arange(episodes), steps),
        _meta(scenario, expert, episodes, steps, seed, queued)
        | {"seconds": round(time.perf_counter() - start, 1), "workers": workers},
    )
    if cache:
        path.parent.mkdir(parents=True, exist_ok=True)
        data.save(path)
    if log:
        where = f", cached in {path}" if cache else ""
        log(f"expert data: {len(data)} slots of {expert} in {data.meta['seconds']} s{where}")
    return data


# --------------------------------------------------------------------------- cloning
def view_targets(view: Any, actions: Mapping[str, np.ndarray]) -> np.ndarray:
    """The expert's native actions ``[M, K]`` per key as ``[M, D]`` actions of ``view``
    (a :class:`~noma_split_env.wrappers.MultiDiscreteAction`, fractions rounded up,
    or a :class:`~noma_split_env.wrappers.FlatBoxAction`)."""
    from noma_split_env.wrappers import MultiDiscreteAction

    keys = [key for key in _NATIVE_KEYS if key in view.slices]
    rows = len(actions[keys[0]])
    encode = (
        functools.partial(view.encode, rounding="up")
        if isinstance(view, MultiDiscreteAction)
        else view.encode
    )
    return np.stack([encode({key: actions[key][i] for key in keys}) for i in range(rows)])


def entry_weights(view: Any, offload: np.ndarray) -> np.ndarray:
    """``[M, D]`` weights of the view's entries in the imitation loss: 1, but 0 for the
    subchannels, powers and share of a user the expert keeps local (they do not
    change the slot, and fitting their arbitrary values would teach the policy to
    switch off the power of a user that offloads)."""
    weights = np.ones((offload.shape[0], int(np.prod(view.action_space.shape))), np.float32)
    for key, where in view.slices.items():
        if key != "split":
            weights[:, where] = offload
    return weights


def _entry_log_prob(policy: Any, observations: Any, actions: Any) -> Any:
    """``[B, D]`` log-probability of every entry of ``actions`` under ``policy``."""
    from stable_baselines3.common.distributions import (
        DiagGaussianDistribution,
        MultiCategoricalDistribution,
    )

    distribution = policy.get_distribution(observations)
    if hasattr(distribution, "entry_log_prob"):  # train.policies' block categorical
        return distribution.entry_log_prob(actions)
    if isinstance(distribution, MultiCategoricalDistribution):
        import torch as th

        parts = zip(distribution.distribution, th.unbind(actions, dim=1), strict=True)
        return th.stack([d.log_prob(a) for d, a in parts], dim=1)
    if isinstance(distribution, DiagGaussianDistribution):
        return distribution.distribution.log_prob(actions)
    raise ValueError(
        f"behaviour_clone: got a policy with a {type(distribution).__name__}, allowed: a "
        "MultiDiscrete or Box action view without gSDE"
    )


@dataclass(frozen=True)
class BCResult:
    """What :func:`behaviour_clone` did and how well the clone does."""

    samples: int
    """Training slots."""
    holdout_samples: int
    """Slots of the held-out episodes."""
    epochs: int
    seconds: float
    """Wall time of the fit."""
    train_loss: float
    """Negative log-likelihood of the expert's actions per slot (entries that count,
    :func:`entry_weights`), last epoch."""
    holdout_loss: float
    """The same on the held-out slots."""
    holdout_accuracy: dict[str, float]
    """``split``, ``ul_subchannel``, ``dl_subchannel`` -> share of the held-out users
    (offloading ones for the subchannels) where the clone's deterministic native
    action equals the expert's."""
    holdout_fraction_error: dict[str, float]
    """``ul_power``, ``dl_power`` (``edge_share``) -> mean absolute difference of the
    clone's native fraction from the expert's, over held-out offloading users."""
    holdout_cost_ratio: float
    """Mean cost of the clone over mean cost of the expert on the held-out slots
    (1.0 = as good as the expert)."""

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def behaviour_clone(
    model: Any,
    data: ExpertData,
    *,
    reward: str = "log-cost",
    epochs: int = 60,
    batch_size: int = 256,
    learning_rate: float = 1e-3,
    vf_coef: float = 0.5,
    holdout: float = 0.1,
    relabel: bool = True,
    seed: int = 0,
    max_grad_norm: float = 0.5,
    gamma: float = 0.0,
    log: Callable[[str], None] | None = None,
) -> BCResult:
    """Fit ``model``'s policy (an SB3 PPO, A2C, SAC or TD3) to ``data`` (module docstring).

    ``model.get_env()`` must be the training env built by
    :func:`train.training.make_vec_env`: its action view gives the targets, and its
    ``VecNormalize`` (if any) gets the dataset's observation statistics. The last
    ``holdout`` share of the episodes is held out and scores the clone.

    With ``relabel`` every training batch relabels the uplink and the downlink
    subchannels by a random permutation of each slot (:func:`relabel_subchannels`):
    the model is symmetric in them (equal bandwidths, one power budget), so a
    relabelled slot with the relabelled allocation costs exactly the same, and ``N``
    subchannels turn each slot into up to ``(N!)^2`` examples.

    The value head is fitted to the expert's discounted return with ``gamma`` (0: the
    slot's reward), episode by episode. On the queued env the held-out score is closed
    loop: the clone runs the held-out episodes' seeds itself (its decisions shape its
    slots) against the expert's cost there.
    """
    import torch as th

    if not hasattr(model.policy, "predict_values") and not hasattr(model.policy, "critic"):
        raise ValueError(
            f"behaviour_clone: got a {type(model).__name__} model, allowed: PPO, A2C, SAC or TD3"
        )
    if not 0.0 <= holdout < 1.0:
        raise ValueError(f"behaviour_clone.holdout: got {holdout!r}, allowed: [0, 1)")
    venv = model.get_env()
    view = venv.envs[0] if not hasattr(venv, "venv") else venv.venv.envs[0]
    view = _find_view(view)
    targets = view_targets(view, data.actions)
    normalizer = venv if hasattr(venv, "obs_rms") else None
    normalize: Callable[[np.ndarray], np.ndarray] = lambda x: x  # noqa: E731
    if normalizer is not None and normalizer.norm_obs:
        normalizer.obs_rms.mean = data.observations.mean(axis=0).astype(np.float64)
        normalizer.obs_rms.var = data.observations.var(axis=0).astype(np.float64)
        normalizer.obs_rms.count = float(len(data))
        normalize = normalizer.normalize_obs
    observations = normalize(data.observations)
    returns = discounted(
        -np.log(data.costs) if reward == "log-cost" else -data.costs, data.episodes, gamma
    )
    episodes = int(data.episodes.max()) + 1
    held = data.episodes >= episodes - round(holdout * episodes)
    train_rows, held_rows = np.flatnonzero(~held), np.flatnonzero(held)
    if not len(train_rows):
        raise ValueError(
            f"behaviour_clone.holdout: got {holdout!r}, which holds out all {episodes} "
            "expert episodes; allowed: a share that leaves at least one to train on"
        )

    policy = model.policy
    device = policy.device
    obs_t = th.as_tensor(observations, dtype=th.float32, device=device)
    act_t = th.as_tensor(targets, device=device)
    weight_t = th.as_tensor(entry_weights(view, data.offload), device=device)
    ret_t = th.as_tensor(returns, dtype=th.float32, device=device)
    fitted = _fitted_parameters(policy)
    optimizer = th.optim.Adam(fitted, lr=learning_rate)
    batches = max(1, -(-len(train_rows) // batch_size))
    schedule = th.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs * batches)
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    policy.set_training_mode(True)
    train_loss = math.nan
    for _ in range(epochs):
        order = train_rows[rng.permutation(len(train_rows))]
        total = 0.0
        for b in range(batches):
            batch = order[b * batch_size : (b + 1) * batch_size]
            rows = th.as_tensor(batch, device=device)
            if relabel:
                raw, moved = relabel_subchannels(
                    view, data.observations[batch], targets[batch], rng
                )
                obs_b = th.as_tensor(normalize(raw), dtype=th.float32, device=device)
                act_b = th.as_tensor(moved, device=device)
            else:
                obs_b, act_b = obs_t[rows], act_t[rows]
            nll = _imitation_loss(policy, obs_b, act_b, weight_t[rows])
            loss = nll + vf_coef * _value_loss(policy, obs_b, act_b, ret_t[rows])
            optimizer.zero_grad()
            loss.backward()
            th.nn.utils.clip_grad_norm_(fitted, max_grad_norm)
            optimizer.step()
            schedule.step()
            total += float(nll.detach()) * len(rows)
        train_loss = total / len(train_rows)
    policy.set_training_mode(False)
    for name in ("actor", "critic"):  # SAC, TD3: the target networks start as the fit
        if hasattr(policy, f"{name}_target"):
            getattr(policy, f"{name}_target").load_state_dict(getattr(policy, name).state_dict())
    seconds = time.perf_counter() - start
    held_loss, accuracy, errors, ratio = math.nan, {}, {}, math.nan
    if len(held_rows):
        with th.no_grad():
            held_loss = float(
                _imitation_loss(policy, obs_t[held_rows], act_t[held_rows], weight_t[held_rows])
            )
            predicted, _ = policy.predict(observations[held_rows], deterministic=True)
        accuracy, errors = _agreement(view, predicted, data.subset(held_rows))
        if data.meta.get("env") == "queue":
            ratio = _closed_loop_ratio(view, policy, normalize, data, held_rows)
        else:
            ratio = _cost_ratio(view, predicted, data, held_rows)
    result = BCResult(
        samples=len(train_rows),
        holdout_samples=len(held_rows),
        epochs=epochs,
        seconds=round(seconds, 1),
        train_loss=train_loss,
        holdout_loss=held_loss,
        holdout_accuracy=accuracy,
        holdout_fraction_error=errors,
        holdout_cost_ratio=ratio,
    )
    if log:
        log(
            f"behaviour cloning: {len(train_rows)} slots, {epochs} epochs in {seconds:.0f} s; "
            f"held-out cost {ratio:.4f}x the expert's"
        )
    return result


def relabel_subchannels(
    view: Any, observations: np.ndarray, targets: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """The slots ``observations`` ``[B, K F]`` and their view actions ``targets``
    ``[B, D]`` with the uplink subchannels relabelled by one random permutation per
    slot and the downlink ones by another. The gain columns move with the labels,
    and the subchannels of a direction differ only in their gains (equal bandwidths
    and noise, one power budget), so each relabelled pair is the same decision
    problem with the same cost (``tests/test_imitation.py`` checks both)."""
    from noma_split_env.wrappers import MultiDiscreteAction

    scenario = view.unwrapped.scenario
    n, k = scenario.num_subchannels, scenario.num_users
    count = observations.shape[0]
    x = observations.reshape(count, k, -1).copy()
    t = targets.copy()
    discrete = isinstance(view, MultiDiscreteAction)
    for key, columns in (("ul_subchannel", slice(0, n)), ("dl_subchannel", slice(n, 2 * n))):
        perm = np.argsort(rng.random((count, n)), axis=1)  # new column j = old column perm[j]
        x[:, :, columns] = np.take_along_axis(x[:, :, columns], perm[:, None, :], axis=2)
        where = view.slices[key]
        old = t[:, where] if discrete else np.rint(((t[:, where] + 1.0) * n - 1.0) / 2.0)
        new = np.take_along_axis(np.argsort(perm, axis=1), old.astype(np.int64), axis=1)
        t[:, where] = new if discrete else ((2 * new + 1) / n - 1.0).astype(t.dtype)
    return x.reshape(count, -1), t


def _agreement(
    view: Any, predicted: np.ndarray, data: ExpertData
) -> tuple[dict[str, float], dict[str, float]]:
    """(accuracy of the discrete keys, mean error of the fractions) of ``predicted``
    (view actions, one row per slot of ``data``) against the expert, in native terms."""
    natives = [view.action(row) for row in predicted]
    accuracy, errors = {}, {}
    for key, expert in data.actions.items():
        clone = np.stack([native[key] for native in natives])
        counted = np.ones_like(data.offload) if key == "split" else data.offload
        if not counted.any():
            continue
        if key in ("split", "ul_subchannel", "dl_subchannel"):
            accuracy[key] = float(np.mean((clone == expert)[counted]))
        else:
            errors[key] = float(np.mean(np.abs(clone - expert)[counted]))
    return accuracy, errors


def _nll(policy: Any, observations: Any, actions: Any, weights: Any) -> Any:
    """Mean over slots of the weighted negative log-likelihood of the expert's entries."""
    return -(_entry_log_prob(policy, observations, actions) * weights).sum(dim=1).mean()


def _fitted_parameters(policy: Any) -> list[Any]:
    """What cloning fits: the whole actor-critic (PPO, A2C), or the actor and the
    critics of SAC and TD3 (not their target networks, which are copied after)."""
    if hasattr(policy, "predict_values"):
        return list(policy.parameters())
    return [*policy.actor.parameters(), *policy.critic.parameters()]


def _imitation_loss(policy: Any, observations: Any, actions: Any, weights: Any) -> Any:
    """The actor's loss: :func:`_nll` for an actor-critic; for SAC and TD3, whose
    actors squash their action into the Box view, the weighted squared error of the
    deterministic action, summed over entries and averaged over slots."""
    if hasattr(policy, "predict_values"):
        return _nll(policy, observations, actions, weights)
    error = policy._predict(observations, deterministic=True) - actions
    return (error.square() * weights).sum(dim=1).mean()


def _value_loss(policy: Any, observations: Any, actions: Any, returns: Any) -> Any:
    """Squared error of the value head (actor-critic) or of every Q network at the
    expert's action (SAC, TD3) against the expert's return."""
    import torch as th

    mse = th.nn.functional.mse_loss
    if hasattr(policy, "predict_values"):
        return mse(policy.predict_values(observations).flatten(), returns)
    q_values = policy.critic(observations, actions.to(observations.dtype))
    return sum(mse(q.flatten(), returns) for q in q_values)


def _find_view(env: Any) -> Any:
    """The action-view wrapper inside a training env's wrapper chain."""
    while env is not None and not hasattr(env, "slices"):
        env = getattr(env, "env", None)
    if env is None:
        raise ValueError("behaviour_clone: the model's env has no NomaSplit action view")
    return env


def discounted(rewards: np.ndarray, episodes: np.ndarray, gamma: float) -> np.ndarray:
    """``G_t = r_t + gamma G_{t+1}`` within each episode (rows in episode order, an
    episode's rows consecutive); ``gamma = 0`` gives the rewards."""
    returns = np.asarray(rewards, dtype=np.float64).copy()
    if gamma:
        for t in range(len(returns) - 2, -1, -1):
            if episodes[t] == episodes[t + 1]:
                returns[t] += gamma * returns[t + 1]
    return returns


def _closed_loop_ratio(
    view: Any,
    policy: Any,
    normalize: Callable[[np.ndarray], np.ndarray],
    data: ExpertData,
    rows: np.ndarray,
) -> float:
    """The queued env's held-out score: the clone's total cost over the held-out
    episodes, run closed loop from their seeds, over the expert's there."""
    from noma_split_env.queue import QueueEnv

    meta = data.meta
    seeds = expert_seeds(int(meta["seed"]), int(meta["episodes"]))
    env = QueueEnv(view.unwrapped.scenario)  # not the training env: its state stays
    decoder = ActionDecoder(env.scenario)
    total = 0.0
    for episode in sorted({int(e) for e in data.episodes[rows]}):
        obs, _ = env.reset(seed=seeds[episode])
        for _ in range(int(np.sum(data.episodes[rows] == episode))):
            action, _ = policy.predict(normalize(obs[None]), deterministic=True)
            allocation = decoder.decode(view.action(action[0]), env.slot)
            obs, _, _, _, info = env.step_allocation(allocation)
            total += float(info["cost"])
    return total / float(np.sum(data.costs[rows]))


def _cost_ratio(view: Any, predicted: np.ndarray, data: ExpertData, rows: np.ndarray) -> float:
    """Mean cost of ``predicted`` on the slots of ``rows`` over the expert's there.

    The slots are rebuilt by replaying their episodes: an episode's slots depend only
    on its seed (docs/model.md section 9.9).
    """
    meta = data.meta
    seeds = expert_seeds(int(meta["seed"]), int(meta["episodes"]))
    env = NomaSplitEnv(view.unwrapped.scenario)  # not the training env: its state stays
    decoder = ActionDecoder(env.scenario)
    by_episode: dict[int, list[int]] = {}
    for i, row in enumerate(rows):
        by_episode.setdefault(int(data.episodes[row]), []).append(i)
    total = 0.0
    for episode, indices in sorted(by_episode.items()):
        env.reset(seed=seeds[episode])
        for i in indices:  # the episode's slots in order, as _run_episode made them
            allocation = decoder.decode(view.action(predicted[i]), env.slot)
            _, _, _, truncated, info = env.step_allocation(allocation)
            total += float(info["cost"])
            if truncated:
                env.reset()
    return total / float(np.sum(data.costs[rows]))
