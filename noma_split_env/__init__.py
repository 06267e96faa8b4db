"""NomaSplit: split DNN inference in NOMA-based mobile edge computing.

>>> import gymnasium as gym
>>> import noma_split_env
>>> env = gym.make("NomaSplit-v0")

Public API (docs/model.md section 7): :class:`Scenario`, :class:`Slot`, :class:`Allocation`,
:class:`Outcome` and the one cost function :func:`evaluate`.
"""

from __future__ import annotations

from gymnasium.envs.registration import register, registry

from noma_split_env.env import NomaSplitEnv
from noma_split_env.evaluate import Outcome, evaluate
from noma_split_env.observation import observe
from noma_split_env.profiles import DnnProfile, available_profiles, load_profile, profile_module
from noma_split_env.scenario import PRESETS, Scenario
from noma_split_env.slot import Allocation, Slot
from noma_split_env.vector import NomaSplitVectorEnv
from noma_split_env.wrappers import FlatBoxAction, MultiDiscreteAction

__all__ = [
    "ENV_IDS",
    "PRESETS",
    "QUEUE_ENV_IDS",
    "Allocation",
    "DnnProfile",
    "FlatBoxAction",
    "MultiDiscreteAction",
    "NomaSplitEnv",
    "NomaSplitVectorEnv",
    "Outcome",
    "Scenario",
    "Slot",
    "available_profiles",
    "evaluate",
    "load_profile",
    "observe",
    "profile_module",
    "register_envs",
]

__version__ = "0.2.0"

ENV_IDS: dict[str, str] = {
    "NomaSplit-v0": "default",
    "NomaSplit-tiny-v0": "tiny",
    "NomaSplit-dense-v0": "dense",
    "NomaSplit-massive-v0": "massive",
}
"""Registered ids and the preset each one runs."""


QUEUE_ENV_IDS: dict[str, str] = {
    "NomaSplit-queue-v0": "default",
    "NomaSplit-queue-tiny-v0": "tiny",
    "NomaSplit-queue-dense-v0": "dense",
    "NomaSplit-queue-massive-v0": "massive",
}
"""Registered ids of the queued env (:mod:`noma_split_env.queue`) and their presets."""


def register_envs() -> None:
    """Register every NomaSplit id with Gymnasium (idempotent)."""
    for env_id, preset in QUEUE_ENV_IDS.items():
        if env_id not in registry:
            register(
                id=env_id, entry_point="noma_split_env.queue:QueueEnv", kwargs={"scenario": preset}
            )
    for env_id, preset in ENV_IDS.items():
        if env_id not in registry:
            # No TimeLimit: the env truncates at its scenario's max_episode_steps,
            # which follows scenario overrides passed to gym.make.
            register(
                id=env_id,
                entry_point="noma_split_env.env:NomaSplitEnv",
                vector_entry_point="noma_split_env.vector:NomaSplitVectorEnv",
                kwargs={"scenario": preset},
            )


register_envs()
