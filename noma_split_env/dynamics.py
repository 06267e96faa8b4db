"""The exogenous processes of the cell: mobility, fading and task arrivals.

None of them depends on the decisions, so they are generated ahead, a chunk of slots
at a time, fully vectorized; each has its own random stream, seeded from the
environment's ``np_random`` at reset. Two agents run on the same seed therefore face
exactly the same users, channels and tasks whatever they do.

Per slot t (docs/model.md section 4):

* positions: uniform drop over the annulus at reset; then a random walk of
  ``user_speed_mps x slot_duration_s`` per slot with a uniform direction;
* large-scale gain ``beta(d_k)`` from the path loss and the user's shadowing
  (drawn once per user at reset, the same in both directions);
* fading ``h[t, link, k, n] ~ CN(0, 1)``, independent per user, subchannel and
  direction, AR(1)-correlated in time with ``fading_correlation``;
* gains ``g = beta |h|^2``, ``[K, N]`` per direction;
* tasks: each user's model drawn i.i.d. from the scenario's model mix.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from noma_split_env.channel import (
    drop_users,
    gauss_markov,
    large_scale_gain,
    random_walk,
    rayleigh_fading,
    rayleigh_power,
)
from noma_split_env.observation import encode
from noma_split_env.scenario import Scenario
from noma_split_env.slot import Slot, task_arrays

__all__ = ["CellDynamics", "Chunk", "chunk_of"]

CHUNK_SLOTS = 64
"""Slots generated per batch (fewer at the end of an episode). Each stream is consumed
in the same order whatever its value, so changing it changes the trajectories only by
the floating-point rounding of the position sums (~1e-13 m), not their statistics;
for a fixed value (this constant) results are bit-for-bit reproducible."""


class Chunk(NamedTuple):
    """The arrays of ``T`` consecutive slots, ``[T, ...]`` each: what a :class:`Slot`
    holds (``gains`` ``[T, 2, K, N]``, link 0 the uplink; ``tasks`` the tables of
    :func:`~noma_split_env.slot.task_arrays`), the users' positions ``[T, K, 2]`` [m]
    and the observations ``[T, K * F]``."""

    gains: np.ndarray
    distance: np.ndarray
    model: np.ndarray
    tasks: tuple[np.ndarray, ...]
    positions: np.ndarray
    observations: np.ndarray

    def __len__(self) -> int:  # the number of slots (not of fields)
        return self.distance.shape[0]

    def slots(self, scenario: Scenario) -> list[Slot]:
        """The chunk's slots, in order."""
        g, d, m, tasks = self.gains, self.distance, self.model, self.tasks
        return [
            Slot(scenario, g[t, 0], g[t, 1], d[t], m[t], *(a[t] for a in tasks))
            for t in range(len(self))
        ]


def chunk_of(
    scenario: Scenario,
    positions: np.ndarray,
    power: np.ndarray,
    model: np.ndarray,
    shadowing_db: np.ndarray,
) -> Chunk:
    """The slots of the draws of :meth:`CellDynamics.next_draws`: distances, gains
    ``beta(d) |h|^2``, task tables and observations. Every operation is elementwise
    along the leading axes, so draws stacked over cells (``[T, B, ...]``, shadowing
    ``[B, K]``) give, cell by cell, exactly the slots of each cell alone."""
    sc = scenario
    distance = np.hypot(positions[..., 0], positions[..., 1])  # [T, ..., K]
    beta = large_scale_gain(distance, shadowing_db, sc.pathloss_db_at_1km, sc.pathloss_exponent)
    gains = beta[..., None, :, None] * power  # power [T, ..., 2, K, N]
    tasks = task_arrays(sc, model)
    observations = encode(sc, gains[..., 0, :, :], gains[..., 1, :, :], distance, model)
    return Chunk(gains, distance, model, tasks, positions, observations)


class CellDynamics:
    """Generates the sequence of :class:`Slot` of one episode.

    Args:
        scenario: The scenario.
        rng: Seeds the three independent streams (mobility, fading, tasks).
    """

    def __init__(self, scenario: Scenario, rng: np.random.Generator) -> None:
        self.scenario = scenario
        seeds = rng.integers(0, 2**63, size=3)
        self._mobility_rng, self._fading_rng, self._task_rng = (
            np.random.default_rng(int(s)) for s in seeds
        )
        sc = scenario
        self.positions_m = drop_users(
            self._mobility_rng, sc.num_users, sc.min_distance_m, sc.cell_radius_m
        )
        self.shadowing_db = sc.shadowing_std_db * self._mobility_rng.standard_normal(sc.num_users)
        self._fading: np.ndarray | None = None  # last complex fading [2, K, N]
        self.current_positions_m = self.positions_m  # [K, 2] of the slot last returned
        self.current_observation: np.ndarray | None = None  # [K * F] of that slot
        self._first = True
        self._slots: list[Slot] = []  # the current chunk's
        self._positions = self._observations = np.empty(0)
        self._next = 0
        self._generated = 0

    def next_slot(self) -> Slot:
        """The next slot of the episode."""
        if self._next >= len(self._slots):
            chunk = chunk_of(self.scenario, *self.next_draws(), self.shadowing_db)
            self._slots = chunk.slots(self.scenario)
            self._positions, self._observations = chunk.positions, chunk.observations
            self._next = 0
        t = self._next
        self.current_positions_m = self._positions[t]
        self.current_observation = self._observations[t]
        self._next += 1
        return self._slots[t]

    def next_draws(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The next draws of the episode (``CHUNK_SLOTS`` slots, or the rest of the
        episode and its final observation if fewer): positions ``[T, K, 2]`` [m], fading
        power ``[T, 2, K, N]`` and task models ``[T, K]`` (the batched vector env
        draws them cell by cell, each from the cell's own streams, and turns all the
        cells' draws into slots at once with :func:`chunk_of`)."""
        left = self.scenario.max_episode_steps + 1 - self._generated
        num_slots = left if 0 < left < CHUNK_SLOTS else CHUNK_SLOTS
        self._generated += num_slots
        sc = self.scenario
        positions = self._walk(num_slots)
        power = self._fading_power(num_slots)
        model = self._task_rng.choice(
            len(sc.models), size=(num_slots, sc.num_users), p=sc.model_probabilities
        ).astype(np.int64)
        return positions, power, model

    def _walk(self, num_slots: int) -> np.ndarray:
        """``[T, K, 2]`` positions [m] of the next ``T`` slots (the first is the drop)."""
        sc = self.scenario
        walk = random_walk(
            self._mobility_rng,
            self.positions_m,
            num_slots - self._first,
            sc.user_speed_mps * sc.slot_duration_s,
            sc.min_distance_m,
            sc.cell_radius_m,
        )
        if self._first:
            walk = np.concatenate((self.positions_m[None], walk))
            self._first = False
        self.positions_m = walk[-1]
        return walk

    def _fading_power(self, num_slots: int) -> np.ndarray:
        """``[T, 2, K, N]`` fading power ``|h|^2`` (link 0 = uplink, 1 = downlink)."""
        sc = self.scenario
        shape = (num_slots, 2, sc.num_users, sc.num_subchannels)
        if sc.fading_correlation == 0.0:
            return rayleigh_power(self._fading_rng, shape)
        fading = gauss_markov(
            rayleigh_fading(self._fading_rng, shape), self._fading, sc.fading_correlation
        )
        self._fading = fading[-1]
        return np.abs(fading) ** 2
