"""The native vector env: ``B`` NomaSplit cells stepped together in one batched kernel.

``gym.make_vec("NomaSplit-v0", num_envs=B, vectorization_mode="vector_entry_point")``
(the default mode of ``make_vec`` for every NomaSplit id) gives a
:class:`NomaSplitVectorEnv`. Cell ``i`` is exactly the single env
:class:`~noma_split_env.NomaSplitEnv` reset with seed ``seed + i`` (or the i-th of a
list of seeds, as Gymnasium's ``SyncVectorEnv`` seeds its copies): the same
observations, rewards and flags, bit for bit, because each cell keeps its own
:class:`~noma_split_env.dynamics.CellDynamics` (its own random streams) and the step
decodes and scores every cell with the same code as the single env
(:meth:`~noma_split_env.actions.ActionDecoder.decode_batch`,
:func:`~noma_split_env.evaluate.evaluate_batch_kernel`).

What makes it fast: the dynamics generate 64 slots at a time per cell, and as every
episode has the same length (``max_episode_steps``; there is no termination), all
cells start, end and reset together: their chunks are stacked once, each step reads
one row, and one decode and one evaluation call cover all cells (the evaluation
spread over the cores).

Autoreset follows Gymnasium's default, ``AutoresetMode.NEXT_STEP``: the step after the
episodes ended resets every cell (the actions are ignored) and returns the first
observations, rewards 0, both flags False and an empty ``info``. Otherwise ``info``
(``info_level``, as the single env's) is a dict of arrays with a leading ``[B]`` axis:
``"costs"`` (the default here) holds ``cost``, ``reward_terms``, ``num_failed`` and
``num_misses``; ``"full"`` adds the four terms and every per-user part ``[B, K]``
(``latency``, ``t_up``, ..., ``failed``, ``miss``);
``"none"`` is empty. The keys and types are those of the single envs' infos merged
by Gymnasium (each key ``x`` with its mask ``_x``, all True; ``reward_terms`` a dict
of arrays), except that ``"full"`` has no ``allocation`` objects: with
``info_level="costs"`` the native env and ``vectorization_mode="sync"`` give equal
infos.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from noma_split_env.actions import ActionDecoder
from noma_split_env.dynamics import CellDynamics, Chunk, chunk_of
from noma_split_env.env import INFO_LEVELS
from noma_split_env.evaluate import PARTS, SlotTerms, evaluate_batch_kernel, slot_terms
from noma_split_env.observation import num_features
from noma_split_env.scenario import Scenario
from noma_split_env.slot import Slot

__all__ = ["NomaSplitVectorEnv"]


class NomaSplitVectorEnv(VectorEnv):
    """``num_envs`` NomaSplit cells of one scenario, stepped in one batch.

    Args:
        num_envs: ``B``, the number of cells (>= 1).
        scenario: A preset name or a :class:`Scenario`; keyword overrides may follow.
        info_level: ``"costs"`` (default), ``"full"`` or ``"none"`` (module docstring).
        max_episode_steps: Overrides ``scenario.max_episode_steps`` (``make_vec``
            passes the registered value, which is None for NomaSplit ids).
    """

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP}  # noqa: RUF012 (gymnasium API)

    def __init__(
        self,
        num_envs: int = 1,
        scenario: str | Scenario = "default",
        info_level: str = "costs",
        max_episode_steps: int | None = None,
        **overrides: Any,
    ) -> None:
        if not isinstance(num_envs, int | np.integer) or isinstance(num_envs, bool) or num_envs < 1:
            raise ValueError(
                f"NomaSplitVectorEnv.num_envs: got {num_envs!r}, allowed: an integer >= 1"
            )
        if max_episode_steps is not None:
            overrides["max_episode_steps"] = max_episode_steps
        scenario = Scenario.resolve("NomaSplitVectorEnv", scenario, **overrides)
        if info_level not in INFO_LEVELS:
            raise ValueError(
                f"NomaSplitVectorEnv.info_level: got {info_level!r}, allowed: "
                f"{', '.join(INFO_LEVELS)}"
            )
        self.num_envs = int(num_envs)
        self.scenario = scenario
        self.info_level = info_level
        self.decoder = ActionDecoder(scenario)
        self.single_action_space = self.decoder.space
        self.single_observation_space = spaces.Box(
            0.0, 1.0, (scenario.num_users * num_features(scenario),), dtype=np.float32
        )
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self._rngs: list[np.random.Generator | None] = [None] * self.num_envs
        self._dynamics: list[CellDynamics] = []
        self._stacked: Chunk | None = None  # every cell's chunk, [T, B, ...]
        self._row = 0  # the current slot's row in the chunks (the same for every cell)
        self._steps = 0  # steps of the current episodes (they all have the same length)
        self._ended = False  # the episodes ended at the last step: this one resets
        self._oma = scenario.access == "oma"
        self._equal_share = not scenario.allocate_edge_share

    # ------------------------------------------------------------------ API
    def reset(
        self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Reset every cell: seed ``seed + i`` for cell ``i`` (an int), the i-th seed
        (a list of ``B``), or each cell's generator continued (None)."""
        if seed is None:
            seeds: list[int | None] = [None] * self.num_envs
        elif isinstance(seed, int | np.integer) and not isinstance(seed, bool):
            seeds = [int(seed) + i for i in range(self.num_envs)]
        elif isinstance(seed, list | tuple) and len(seed) == self.num_envs:
            seeds = list(seed)
        else:
            raise ValueError(
                f"NomaSplitVectorEnv.reset.seed: got {seed!r}, allowed: None, an integer or a "
                f"list of {self.num_envs} seeds"
            )
        self._dynamics = [self._new_dynamics(i, s) for i, s in enumerate(seeds)]
        self._new_chunks()
        self._steps = 0
        self._ended = False
        return self._current().observations.copy(), {}

    def step(
        self, actions: dict[str, np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Step every cell with ``actions`` (the batched ``Dict``, ``[B, K]`` entries);
        cells whose episode ended at the last step are reset instead."""
        if not self._dynamics:
            raise RuntimeError("NomaSplitVectorEnv: call reset() before step()")
        b = self.num_envs
        terminated = np.zeros(b, dtype=np.bool_)
        if self._ended:  # NEXT_STEP autoreset: every cell's episode ended together
            self._dynamics = [self._new_dynamics(i, None) for i in range(b)]
            self._new_chunks()
            self._steps = 0
            self._ended = False
            info: dict[str, Any] = {}  # what the reset of a single env gives, merged
            obs = self._current().observations.copy()
            return obs, np.zeros(b), terminated, np.zeros(b, dtype=np.bool_), info
        cur = self._current()
        split, ul, dl, p, q, share = self.decoder.decode_batch(actions, cur.tasks[0])
        stacked, terms = evaluate_batch_kernel(
            split, ul, dl, p, q, share if share.shape[1] else p, self._equal_share,
            self._oma, cur.gains[:, 0], cur.gains[:, 1], *cur.tasks,
            self.scenario.kernel_constants,
        )  # fmt: skip
        slot = slot_terms(stacked, terms[:, 0], self.scenario)
        info = {} if self.info_level == "none" else self._info(slot, terms, stacked)
        self._steps += 1
        self._ended = self._steps >= self.scenario.max_episode_steps
        self._row += 1
        if self._row >= len(self._stacked):
            self._new_chunks()
        obs = self._current().observations.copy()
        return obs, -slot.cost, terminated, np.full(b, self._ended), info

    def slot(self, i: int) -> Slot:
        """Cell ``i``'s current slot (what the next action is applied to), for agents."""
        if self._stacked is None:
            raise RuntimeError("NomaSplitVectorEnv: call reset() before reading a slot")
        s, t = self._stacked, self._row
        g = s.gains[t, i]
        return Slot(self.scenario, g[0], g[1], s.distance[t, i], s.model[t, i],
                    *(a[t, i] for a in s.tasks))  # fmt: skip

    # ------------------------------------------------------------------ internals
    def _new_dynamics(self, i: int, seed: int | None) -> CellDynamics:
        """A cell's dynamics as the single env's ``reset(seed=seed)`` makes them."""
        if seed is not None or self._rngs[i] is None:
            self._rngs[i], _ = seeding.np_random(seed)
        rng = self._rngs[i]
        assert rng is not None
        return CellDynamics(self.scenario, rng)

    def _new_chunks(self) -> None:
        """The next chunk of every cell, stacked; its first row is the current slot."""
        draws = [d.next_draws() for d in self._dynamics]  # each cell's own streams
        positions, power, model = (np.stack(x, axis=1) for x in zip(*draws, strict=True))
        shadowing = np.stack([d.shadowing_db for d in self._dynamics])
        self._stacked = chunk_of(self.scenario, positions, power, model, shadowing)
        self._row = 0

    def _current(self) -> Chunk:
        """Every cell's current slot, ``[B, ...]`` views."""
        s, t = self._stacked, self._row
        assert s is not None
        return Chunk(s.gains[t], s.distance[t], s.model[t], tuple(a[t] for a in s.tasks),
                     s.positions[t], s.observations[t])  # fmt: skip

    def _info(self, slot: SlotTerms, terms: np.ndarray, stacked: np.ndarray) -> dict[str, Any]:
        """The single envs' infos at ``info_level`` merged as Gymnasium's vector envs
        merge them: the same keys, each an array with a leading ``[B]`` axis and a mask
        ``_key`` (all True), ``reward_terms`` a dict of such arrays."""
        mask = np.ones(self.num_envs, dtype=np.bool_)
        reward_terms = {"latency": terms[:, 1], "energy": terms[:, 2], "failure": terms[:, 3],
                        "miss": slot.miss_term}  # fmt: skip
        values: dict[str, Any] = {"cost": slot.cost}
        if self.info_level == "full":
            values |= {"latency_term": terms[:, 1], "energy_term": terms[:, 2],
                       "failure_term": terms[:, 3], "miss_term": slot.miss_term}  # fmt: skip
            values |= {name: stacked[:, j] for j, name in enumerate(PARTS[:-1])}
            values |= {"failed": slot.failed, "miss": slot.miss}
        values |= {"num_failed": slot.failed.sum(axis=1), "num_misses": slot.num_misses}
        values["reward_terms"] = _masked(reward_terms, mask)
        return _masked(values, mask)


def _masked(values: dict[str, Any], mask: np.ndarray) -> dict[str, Any]:
    """``values`` with the mask ``_key`` beside each key (Gymnasium's vector infos)."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        out[key] = value
        out[f"_{key}"] = mask
    return out
