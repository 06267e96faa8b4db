"""The solver plugin protocol and registry.

Every solver maps a :class:`~noma_split_env.Slot` to an
:class:`~noma_split_env.Allocation`; all are scored by the one
:func:`~noma_split_env.evaluate`. A new solver is one file and one registration
line::

    from agents import register
    from agents.base import BaseAgent

    class MySolver(BaseAgent):
        name = "my-solver"
        def _act(self, slot): ...

    register("my-solver", MySolver)

Third-party packages register through the entry-point group ``noma_split.agents``
(in their ``pyproject.toml``)::

    [project.entry-points."noma_split.agents"]
    my-solver = "my_package.solver:MySolver"

Entry points are listed by :func:`available` without being imported, and loaded by
:func:`make` on first use, so a broken plugin breaks only itself. A name registered
with :func:`register` takes precedence over an entry point of the same name.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Protocol, runtime_checkable

from noma_split_env import Allocation, Slot

__all__ = [
    "ENTRY_POINT_GROUP",
    "Agent",
    "AgentStats",
    "BaseAgent",
    "available",
    "caused_by_interrupt",
    "make",
    "register",
]

ENTRY_POINT_GROUP = "noma_split.agents"


@dataclass
class AgentStats:
    """Statistics of an agent's last :meth:`Agent.act` call."""

    wall_time_s: float = 0.0
    """Decision time of the call [s]."""
    iterations: int = 0
    """Gradient (or search) iterations spent."""
    evaluations: int = 0
    """Calls of the cost function."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Solver-specific records, e.g. Li-GD's iterations per split layer."""


@runtime_checkable
class Agent(Protocol):
    """What every solver provides."""

    name: str
    stats: AgentStats

    def act(self, slot: Slot) -> Allocation:
        """The allocation for ``slot``."""
        ...

    def reset(self, seed: int | None = None) -> None:
        """Start a new episode (reseed the agent's own randomness, if any)."""
        ...


class BaseAgent:
    """Convenience base: timing of :meth:`act` and a no-op :meth:`reset`.

    Subclasses implement :meth:`_act`; :meth:`act` starts fresh ``stats``, calls it
    and times it into ``stats.wall_time_s`` (``_act`` may fill the other fields).
    """

    name = "base"

    def __init__(self) -> None:
        self.stats = AgentStats()

    def reset(self, seed: int | None = None) -> None:
        """Start a new episode; stateless agents ignore it."""

    def act(self, slot: Slot) -> Allocation:
        """The allocation for ``slot``, with the call's statistics in ``stats``.

        A Ctrl-C inside a compiled (numba) kernel reaches Python as a ``SystemError``
        chained to the ``KeyboardInterrupt``; it is raised as the plain
        ``KeyboardInterrupt`` it is.
        """
        self.stats = AgentStats()
        start = time.perf_counter()
        try:
            allocation = self._act(slot)
        except SystemError as exc:
            if caused_by_interrupt(exc):
                raise KeyboardInterrupt from None
            raise
        self.stats.wall_time_s = time.perf_counter() - start
        return allocation

    def _act(self, slot: Slot) -> Allocation:
        raise NotImplementedError(f"{type(self).__name__} must implement _act(slot)")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


def caused_by_interrupt(exc: BaseException) -> bool:
    """``exc`` is, or was caused by, a ``KeyboardInterrupt`` (numba turns a Ctrl-C in a
    compiled function into a chain of ``SystemError``s ending in one)."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


_REGISTRY: dict[str, Callable[..., Agent]] = {}


def register(name: str, factory: Callable[..., Agent]) -> None:
    """Register ``factory`` (a class or function returning an Agent) under ``name``.

    Registering a name again replaces the earlier factory (so modules can be reloaded).
    """
    if not name or not isinstance(name, str):
        raise ValueError(f"agents.register: got name {name!r}, allowed: a non-empty string")
    if not callable(factory):
        raise ValueError(
            f"agents.register: got factory {factory!r} for {name!r}, allowed: a class or "
            "function that returns an Agent"
        )
    _REGISTRY[name] = factory


def _entry_points() -> dict[str, EntryPoint]:
    """The installed plugins of :data:`ENTRY_POINT_GROUP`, by name (not imported)."""
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def available() -> tuple[str, ...]:
    """Names of every registered agent, built-in and from entry points, sorted."""
    return tuple(sorted(set(_REGISTRY) | set(_entry_points())))


def _factory(name: str) -> Callable[..., Agent]:
    if name in _REGISTRY:
        return _REGISTRY[name]
    plugin = _entry_points().get(name) if isinstance(name, str) else None
    if plugin is None:
        raise ValueError(
            f"agents.make: unknown agent {name!r}; available: {', '.join(available())}"
        )
    try:
        factory = plugin.load()
    except Exception as exc:
        raise ValueError(
            f"agents.make: the entry point {name} = {plugin.value!r} of group "
            f"{ENTRY_POINT_GROUP!r} failed to load: {exc!r}"
        ) from exc
    register(name, factory)
    return factory


def make(name: str, **kwargs: Any) -> Agent:
    """Build the agent registered as ``name`` with ``kwargs``.

    >>> import agents
    >>> agents.make("all-local")
    AllLocal(name='all-local')
    """
    return _factory(name)(**kwargs)
