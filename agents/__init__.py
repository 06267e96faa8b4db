"""Solver plugins: every agent maps a Slot to an Allocation (docs/model.md section 7).

>>> import agents
>>> "all-local" in agents.available()
True
"""

from __future__ import annotations

from agents.base import ENTRY_POINT_GROUP, Agent, AgentStats, BaseAgent, available, make, register

__all__ = [
    "ENTRY_POINT_GROUP",
    "Agent",
    "AgentStats",
    "BaseAgent",
    "Refined",
    "available",
    "make",
    "register",
]

# Built-in solvers: one import and one register() line each (in their modules).
from agents import exhaustive, heuristics, li_gd, lyapunov  # noqa: F401
from agents.refine import Refined
