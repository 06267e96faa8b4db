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

__all__ = ["CellDynamics"]

CHUNK_SLOTS = 64
"""Slots generated per batch (fewer at the end of an episode). Each stream is consumed
in the same order whatever its value, so changing it changes the trajectories only by
the floating-point rounding of the position sums (~1e-13 m), not their statistics;
for a fixed value (this constant) results are bit-for-bit reproducible."""


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
        self._buffer: list[Slot] = []
        self._positions = np.empty((0, scenario.num_users, 2))
        self._next = 0
        self._generated = 0

    def next_slot(self) -> Slot:
        """The next slot of the episode."""
        if self._next >= len(self._buffer):
            # the rest of the episode (and its final observation) if shorter than a chunk
            left = self.scenario.max_episode_steps + 1 - self._generated
            self._buffer = self._generate(left if 0 < left < CHUNK_SLOTS else CHUNK_SLOTS)
            self._generated += len(self._buffer)
            self._next = 0
        slot = self._buffer[self._next]
        self.current_positions_m = self._positions[self._next]
        self.current_observation = self._observations[self._next]
        self._next += 1
        return slot

    # ------------------------------------------------------------------ batches
    def _generate(self, num_slots: int) -> list[Slot]:
        sc = self.scenario
        k = sc.num_users
        self._positions = self._walk(num_slots)  # [T, K, 2]
        distance = np.hypot(self._positions[..., 0], self._positions[..., 1])  # [T, K]
        beta = large_scale_gain(
            distance, self.shadowing_db, sc.pathloss_db_at_1km, sc.pathloss_exponent
        )
        power = self._fading_power(num_slots)  # [T, 2, K, N]
        gains = beta[:, None, :, None] * power
        model = self._task_rng.choice(
            len(sc.models), size=(num_slots, k), p=sc.model_probabilities
        ).astype(np.int64)
        tasks = task_arrays(sc, model)  # [T, ...] each
        self._observations = encode(sc, gains[:, 0], gains[:, 1], distance, model)
        return [
            Slot(sc, gains[t, 0], gains[t, 1], distance[t], model[t], *(a[t] for a in tasks))
            for t in range(num_slots)
        ]

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
