"""A trained Stable-Baselines3 policy as an agent: ``agents.make("sb3", path=RUN_DIR)``.

The agent maps a :class:`~noma_split_env.Slot` to an
:class:`~noma_split_env.Allocation` exactly as the policy acted in training:

1. observation ``noma_split_env.observe(slot)`` (the env's observation of that slot);
2. the run's saved observation normalization (``VecNormalize`` statistics, applied
   without updating them), when the run normalized observations;
3. ``model.predict(obs, deterministic=True)`` (for the per-user policy in the
   MultiDiscrete view its numpy mirror, :class:`train.policies.NumpyActor`, the same
   actions about 3x faster on ``default``; in the Box view
   ``PerUserPolicy.deterministic_action`` or SB3's own path);
4. the run's action view (``MultiDiscreteAction`` or ``FlatBoxAction``, from its
   ``config.yaml``) turns the prediction into the native ``Dict`` action
   (``wrapper.action``), and the scenario's
   :class:`~noma_split_env.actions.ActionDecoder` into the allocation.

``path`` is a run folder written by ``noma-split train`` (its ``model.zip``), that
folder's ``model.zip``, or one of its checkpoints ``checkpoints/model_<N>_steps.zip``
(with the normalization statistics saved next to it). The slot's scenario must have
the run's shapes (users, subchannels, model mix); its other parameters may differ
(the policy then acts as trained, e.g. for another latency weight).

The agent lives in :mod:`train` (it needs the run's config and action view) and is
registered through the entry-point group ``noma_split.agents`` (``sb3 =
"train.sb3_agent:SB3Agent"`` in ``pyproject.toml``), so :mod:`agents` never imports
:mod:`train`. Torch and SB3 are imported only when an agent is built; without the
``rl`` extra that is one line saying what to install
(:func:`train.extras.require_rl`).
"""

from __future__ import annotations

import os
import pickle
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from agents.base import BaseAgent
from noma_split_env import Allocation, Scenario, Slot, observe
from noma_split_env.actions import ActionDecoder
from train.extras import require_rl
from train.training import files_of, final_files, view_wrapper

__all__ = ["SB3Agent", "resolve_run"]

_HINT = "expected a run folder written by `noma-split train`, its model.zip or a checkpoint"


def resolve_run(path: str | PathLike[str]) -> tuple[Path, Path, Path | None]:
    """``(run folder, model file, normalization file or None)`` for ``path``.

    File names come from :class:`train.training.CheckpointFiles`.

    Raises:
        FileNotFoundError: ``path`` (or the run's ``config.yaml``) does not exist.
    """
    path = Path(path)
    files = final_files(path) if path.is_dir() else files_of(path)
    if not files.model.is_file():
        raise FileNotFoundError(
            f"sb3 agent: model file {str(files.model)!r} does not exist; {_HINT}"
        )
    if not (files.run_dir / "config.yaml").is_file():
        raise FileNotFoundError(
            f"sb3 agent: no config.yaml in {str(files.run_dir)!r} next to the model; {_HINT}"
        )
    norm = files.vecnormalize
    return files.run_dir, files.model, norm if norm.is_file() else None


class SB3Agent(BaseAgent):
    """A trained SB3 policy acting on slots (deterministic).

    Args:
        path: Run folder, its ``model.zip`` or a checkpoint (see the module docstring).

    Building one sets torch's intra-op threads to the run's ``torch_threads`` (1 by
    default), as training does: a process-wide setting.

    Attributes:
        run_dir: The run folder.
        config: The run's :class:`~train.config.TrainConfig`.
        model: The loaded SB3 model.
        algo: ``"ppo"``, ``"a2c"``, ``"sac"`` or ``"td3"``.
    """

    name = "sb3"

    def __init__(self, path: str | PathLike[str] | None = None) -> None:
        super().__init__()
        if path is None:
            raise ValueError(
                "agents.make('sb3'): missing path; pass path=RUN_DIR (a folder written by "
                "`noma-split train`) or path=RUN_DIR/model.zip"
            )
        require_rl("the sb3 agent")
        from train.config import algorithm_class, load_config
        from train.training import view_wrapper

        self._path = str(path)
        self.run_dir, model_path, norm_path = resolve_run(path)
        self._norm_name = files_of(model_path).vecnormalize.name
        self.config = load_config(path=self.run_dir / "config.yaml")
        self.algo = self.config.algo
        try:
            self.model = algorithm_class(self.algo).load(model_path, device="cpu")
        except Exception as exc:  # zip, pickle, torch or SB3 errors: one message
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise ValueError(
                f"sb3 agent: cannot load {self.algo} model {str(model_path)!r}: {reason}; {_HINT}"
            ) from None
        self._obs_shape = tuple(self.model.observation_space.shape)
        self._normalizer = self._load_normalizer(norm_path)
        scenario = self.config.make_scenario()
        self._view = view_wrapper(self.config)(self.config.make_env(scenario))
        self._box = self.config.action_view == "box"
        self._decoders: dict[int, tuple[Any, ActionDecoder]] = {}
        from train.policies import NumpyActor

        self._numpy_actor = NumpyActor.of(self.model.policy)  # None: torch decides
        import torch

        # as in training: these small networks decide ~10x faster on one thread than on
        # torch's default of all cores (0.35 ms against 3 ms per default slot, measured)
        torch.set_num_threads(min(self.config.torch_threads, os.cpu_count() or 1))

    def _load_normalizer(self, path: Path | None) -> Any:
        if not self.config.normalize_obs:
            return None
        if path is None:
            raise FileNotFoundError(
                f"sb3 agent: the run {str(self.run_dir)!r} normalizes observations but has no "
                f"{self._norm_name}; it was not saved completely"
            )
        try:
            with path.open("rb") as f:
                normalizer = pickle.load(f)  # a VecNormalize without its venv
            normalizer.training = False
            normalizer.normalize_obs(np.zeros(self._obs_shape, dtype=np.float32))
        except Exception as exc:
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise ValueError(
                f"sb3 agent: cannot read normalization statistics {str(path)!r}: {reason}"
            ) from None
        return normalizer

    def _decoder(self, slot: Slot) -> ActionDecoder:
        """The decoder of the slot's scenario, built (and the scenario checked to fit
        the policy, :meth:`check_scenario`) once per scenario."""
        key = id(slot.scenario)
        hit = self._decoders.get(key)
        if hit is None or hit[0] is not slot.scenario:
            self.check_scenario(slot.scenario)
            hit = (slot.scenario, ActionDecoder(slot.scenario))
            self._decoders = {key: hit}
        return hit[1]

    def check_scenario(self, scenario: Scenario) -> None:
        """Raise ``ValueError`` unless the policy can act on ``scenario``'s slots: the
        same observation and action shapes (users, subchannels, model mix) as its run's."""
        sc = scenario
        env = self.config.make_env(sc)
        shape = env.observation_space.shape
        actions = view_wrapper(self.config)(env).action_space
        if shape != self._obs_shape or actions != self.model.action_space:
            raise ValueError(
                f"sb3 agent {str(self.run_dir)!r}: trained on {self.config.scenario!r}, which "
                f"does not fit scenario {sc.name!r} (K={sc.num_users}, N={sc.num_subchannels}, "
                f"{len(sc.models)} models): observations {shape} vs {self._obs_shape}, actions "
                f"{_describe(actions)} vs {_describe(self.model.action_space)}; allowed: a "
                "scenario of the run's shape"
            )

    def observation(self, slot: Slot) -> np.ndarray:
        """The (normalized) observation the policy sees for ``slot``."""
        obs = observe(slot)
        if obs.shape != self._obs_shape:
            sc = slot.scenario
            raise ValueError(
                f"sb3 agent: the slot's observation has shape {obs.shape} (K={sc.num_users}, "
                f"N={sc.num_subchannels}, {len(sc.models)} models), allowed: {self._obs_shape}, "
                f"the shape of the run's scenario {self.config.scenario!r}"
            )
        if self._normalizer is not None:
            obs = self._normalizer.normalize_obs(obs)
        return obs

    def predict(self, slot: Slot) -> np.ndarray:
        """The policy's raw action (in its SB3 view) for ``slot``."""
        obs = self.observation(slot)
        if self._numpy_actor is not None:  # PerUserPolicy, MultiDiscrete view
            return self._numpy_actor(obs)
        fast = getattr(self.model.policy, "deterministic_action", None)  # PerUserPolicy
        action = fast(obs) if fast is not None else None
        if action is not None:
            return action
        action, _ = self.model.predict(obs, deterministic=True)
        if self._box:  # SAC/TD3 squash with tanh; keep float rounding inside the box
            action = np.clip(action, -1.0, 1.0)
        return action

    def _act(self, slot: Slot) -> Allocation:
        decoder = self._decoder(slot)  # first: refuses a scenario of another shape
        return decoder.decode(self._view.action(self.predict(slot)), slot)

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        """Pickled as its path: a worker process loads the run again (the run folder
        must be readable there)."""
        return (type(self), (self._path,))

    def __repr__(self) -> str:
        return f"SB3Agent(algo={self.algo!r}, run_dir={str(self.run_dir)!r})"


def _describe(space: Any) -> str:
    """A one-line description of an action space (numpy wraps long reprs)."""
    if hasattr(space, "nvec"):
        return f"MultiDiscrete{np.asarray(space.nvec).tolist()}"
    return f"{type(space).__name__}{tuple(space.shape)}"
