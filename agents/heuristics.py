"""Simple heuristic agents (placeholder: all-local only; the rest arrive with issue 3)."""

from __future__ import annotations

from noma_split_env import Allocation, Slot

from agents.base import BaseAgent, register

__all__ = ["AllLocal"]


class AllLocal(BaseAgent):
    """Everything on the device: the reference of the normalized cost (cost exactly 1)."""

    name = "all-local"

    def _act(self, slot: Slot) -> Allocation:
        return Allocation.all_local(slot)


register("all-local", AllLocal)
