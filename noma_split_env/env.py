"""The Gymnasium environment ``NomaSplit-v0``: a thin shell around the physics."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from noma_split_env.actions import ActionDecoder
from noma_split_env.dynamics import CellDynamics
from noma_split_env.evaluate import Outcome, evaluate
from noma_split_env.observation import num_features
from noma_split_env.scenario import Scenario
from noma_split_env.slot import Allocation, Slot

__all__ = ["INFO_LEVELS", "NomaSplitEnv", "outcome_info"]

INFO_LEVELS = ("full", "costs", "none")
"""What ``step`` returns in ``info`` (see :class:`NomaSplitEnv`, ``info_level``)."""


def outcome_info(outcome: Outcome, level: str) -> dict[str, Any]:
    """The ``info`` of a step at ``level`` (:data:`INFO_LEVELS`)."""
    if level == "full":
        return outcome.to_info()
    if level == "costs":
        return {
            "cost": outcome.cost,
            "reward_terms": outcome.reward_terms(),
            "num_failed": outcome.num_failed,
            "num_misses": outcome.num_misses,
        }
    return {}


class NomaSplitEnv(gym.Env[np.ndarray, dict[str, np.ndarray]]):
    """Split DNN inference over a NOMA uplink and downlink to an edge server.

    ## Description
    K mobile users each run one DNN inference task per time slot. Each user's
    network is split at a layer s: layers 1..s run on the device, the intermediate
    data goes up to the base station over a NOMA uplink (users sharing a subchannel
    are separated by successive interference cancellation), the co-located edge
    server runs the rest, and the result comes back over a NOMA downlink. Every slot
    the agent chooses, for every user, the split, the uplink and downlink
    subchannels and the uplink and downlink transmit powers (and, if the scenario
    says so, the user's share of the edge server), trading latency against the
    energy of device and edge. The physics is in :func:`noma_split_env.evaluate`
    (docs/model.md sections 4-5); the model follows Yuan et al., "High Efficiency Inference
    Accelerating Algorithm for NOMA-based Mobile Edge Computing", arXiv 2312.15850.

    ## Action Space
    ``Dict`` (see :mod:`noma_split_env.actions` for the exact decoding):

    | key             | space                         | physical meaning                         |
    |-----------------|-------------------------------|------------------------------------------|
    | `split`         | `MultiDiscrete([L_max+1]*K)`  | split point, scaled onto `0..L_k`        |
    | `ul_subchannel` | `MultiDiscrete([N]*K)`        | uplink subchannel                        |
    | `dl_subchannel` | `MultiDiscrete([N]*K)`        | downlink subchannel                      |
    | `ul_power`      | `Box(0, 1, (K,))`             | fraction of `P_user_max` [W]             |
    | `dl_power`      | `Box(0, 1, (K,))`             | fraction of `P_bs_max` [W], sum <= 1     |
    | `edge_share`    | `Box(0, 1, (K,))` (optional)  | share of the edge server, sum <= 1       |

    Flat views for Stable-Baselines3 are in :mod:`noma_split_env.wrappers`.

    ## Observation Space
    ``Box(0, 1, (K * F,), float32)`` with ``F = 2N + 2 + M`` features per user (M =
    models in the mix); user k's are entries ``k*F .. k*F + F-1``, so
    ``obs.reshape(K, F)`` gives one row per user:

    | columns     | feature                                   | normalization                  |
    |-------------|-------------------------------------------|--------------------------------|
    | 0..N-1      | uplink gain on each subchannel [dB]       | (g + 160) / 100, clipped       |
    | N..2N-1     | downlink gain on each subchannel [dB]     | (g + 160) / 100, clipped       |
    | 2N          | distance to the BS [m]                    | / cell radius                  |
    | 2N+1        | task workload [FLOP]                      | (log10 W - 8) / 4, clipped     |
    | 2N+2..      | task model                                | one-hot over the model mix     |

    ## Rewards
    ``reward = -slot cost``, with per-user cost
    ``c_k = lambda T_k / T_ref,k + (1 - lambda) E_k / E_ref,k`` normalized by the
    all-local latency and energy (all-local costs exactly 1), and
    ``slot cost = mean_k c_k + mu misses / K``. A task with a stage (upload, edge
    compute, download) that cannot finish within ``latency_cap_s`` fails: it is a miss
    and costs ``max(c_k, 1) + failure_penalty``, more than running it locally
    (docs/model.md section 5.3). The four terms (latency, energy, failure, miss) are
    in ``info["reward_terms"]``; ``info`` also holds every latency and energy part, the
    rates, SINRs, failed tasks, misses and the decoded ``Allocation``.

    ## Starting State
    Users dropped uniformly over the cell annulus, shadowing drawn per user, fresh
    Rayleigh fading and tasks drawn from the model mix; all from ``np_random``.

    ## Episode End
    No termination. Truncation after ``scenario.max_episode_steps`` slots (100 by
    default). Each step users move, fading is redrawn and new tasks arrive; these
    exogenous processes have their own random streams, so the same seed gives the
    same channels and tasks whatever the actions.

    ## Arguments
    ``scenario``: a preset name (``"tiny"``, ``"default"``, ``"dense"``,
    ``"massive"``) or a :class:`Scenario`; keyword overrides of its fields may follow.
    ``render_mode``: ``None`` or ``"rgb_array"`` (a picture of the cell).
    ``info_level``: what ``step`` puts in ``info``: ``"full"`` (default) everything
    above; ``"costs"`` only ``cost``, ``reward_terms``, ``num_failed`` and
    ``num_misses`` (what training reads, cheaper to build and to merge across vector
    envs); ``"none"`` an empty dict. Observations and rewards are the same at every
    level.

    >>> import gymnasium as gym
    >>> import noma_split_env
    >>> env = gym.make("NomaSplit-v0", latency_weight=0.8)
    >>> obs, info = env.reset(seed=0)
    >>> obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
    >>> sorted(info["reward_terms"])
    ['energy', 'failure', 'latency', 'miss']

    ## Version History
    * v0 (noma-split 0.2.0): a stage that cannot finish within the cap fails the task
      (before, a zero-power upload "finished" after the cap at zero energy); every
      numeric scenario field has a range.
    * v0 (noma-split 0.1.0): initial release.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 4}  # noqa: RUF012 (gymnasium API)

    def __init__(
        self,
        scenario: str | Scenario = "default",
        render_mode: str | None = None,
        info_level: str = "full",
        **overrides: Any,
    ) -> None:
        scenario = Scenario.resolve("NomaSplitEnv", scenario, **overrides)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"NomaSplitEnv.render_mode: got {render_mode!r}, allowed: None or 'rgb_array'"
            )
        if info_level not in INFO_LEVELS:
            raise ValueError(
                f"NomaSplitEnv.info_level: got {info_level!r}, allowed: {', '.join(INFO_LEVELS)}"
            )
        self.scenario = scenario
        self.render_mode = render_mode
        self.info_level = info_level
        self.decoder = ActionDecoder(scenario)
        self.action_space = self.decoder.space
        self.observation_space = spaces.Box(
            0.0, 1.0, (scenario.num_users * num_features(scenario),), dtype=np.float32
        )
        self._dynamics: CellDynamics | None = None
        self._slot: Slot | None = None
        self._obs: np.ndarray | None = None
        self._steps = 0
        self._last: tuple[Slot, np.ndarray, Outcome] | None = None

    # ------------------------------------------------------------------ API
    @property
    def slot(self) -> Slot:
        """The slot the next action is applied to."""
        if self._slot is None:
            raise RuntimeError("NomaSplitEnv: call reset() before reading the slot")
        return self._slot

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self._dynamics = CellDynamics(self.scenario, self.np_random)
        self._steps = 0
        self._last = None
        self._advance()
        return self._obs, {}

    def step(
        self, action: dict[str, np.ndarray]
    ) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self._slot is None:
            raise RuntimeError("NomaSplitEnv: call reset() before step()")
        allocation = self.decoder.decode(action, self._slot)
        return self.step_allocation(allocation, check=False)

    def step_allocation(
        self, allocation: Allocation, *, check: bool = True
    ) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Step with an :class:`Allocation` in physical units (model-based solvers).

        ``check=False`` skips the domain check, for allocations valid by construction
        (the decoder's); an invalid one then gives undefined results."""
        outcome = evaluate(self.slot, allocation, check=check)
        assert self._dynamics is not None
        self._last = (self._slot, self._dynamics.current_positions_m, outcome)
        self._steps += 1
        info = outcome_info(outcome, self.info_level)
        self._advance()
        truncated = self._steps >= self.scenario.max_episode_steps
        return self._obs, -outcome.cost, False, truncated, info

    def render(self) -> np.ndarray | None:
        if self.render_mode != "rgb_array":
            return None
        from noma_split_env.render import render_cell

        if self._dynamics is None:
            raise RuntimeError("NomaSplitEnv: call reset() before render()")
        if self._last is None:  # nothing decided yet: the current slot, no links
            return render_cell(self.slot, self._dynamics.current_positions_m, None)
        return render_cell(*self._last)

    # ------------------------------------------------------------------ internals
    def _advance(self) -> None:
        assert self._dynamics is not None
        self._slot = self._dynamics.next_slot()
        self._obs = self._dynamics.current_observation
