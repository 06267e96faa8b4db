"""Optional dependencies: one check, one message, for everything that needs the RL extra.

The environment and the analytic agents need only the base install; training,
reading training configs and the ``sb3`` agent need the ``rl`` extra (torch,
Stable-Baselines3, PyYAML, TensorBoard, tqdm, rich). :func:`require_rl` turns a
missing piece into one line that says what to install, instead of an ``ImportError``
traceback deep in SB3.

>>> require_rl("noma-split train")  # the test environment has the extra
"""

from __future__ import annotations

import importlib

__all__ = ["LEARNED_AGENTS", "RL_MODULES", "MissingExtraError", "model_based_agents", "require_rl"]

LEARNED_AGENTS = ("sb3", "pretrained")
"""Registered agents that are learned policies: the commands get them from the shipped
policy, ``--run`` and ``--train``, never from ``--agents``, and they never label
expert data."""


def model_based_agents() -> tuple[str, ...]:
    """The registered agents but the learned ones (:data:`LEARNED_AGENTS`), sorted."""
    import agents

    return tuple(name for name in agents.available() if name not in LEARNED_AGENTS)


RL_MODULES: dict[str, str] = {
    "torch": "torch",
    "stable_baselines3": "stable-baselines3",
    "yaml": "pyyaml",
    "tensorboard": "tensorboard",
    "tqdm": "tqdm",
    "rich": "rich",
}
"""Modules of the ``rl`` extra: import name -> pip distribution name (SB3's logger
needs tensorboard, its progress bar tqdm and rich: without them ``learn()`` fails with
an ImportError that does not name the extra)."""


class MissingExtraError(ImportError):
    """A feature needs an optional dependency group (an "extra") that is not installed."""


def require_rl(what: str) -> None:
    """Check that the ``rl`` extra imports; ``what`` names the feature that needs it.

    Raises:
        MissingExtraError: one line, e.g. ``noma-split train needs the RL extra: pip
            install "noma-split[rl]" (missing: torch)``.
    """
    missing = []
    for module, distribution in RL_MODULES.items():
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(distribution)
    if missing:
        raise MissingExtraError(
            f'{what} needs the RL extra: pip install "noma-split[rl]" '
            f"(missing: {', '.join(missing)})"
        )
