"""The observation: a function of the slot, so any agent can encode any slot.

Shape ``[K * F]`` float32 in ``[0, 1]``: user k's features are entries
``k*F .. k*F + F-1`` (``obs.reshape(K, F)`` gives one row per user), ``F = 2N + 2 + M``
(N subchannels, M models in the scenario's mix). Flat because that is what every RL
library takes as it is (Stable-Baselines3 warns on a 2-D Box). Feature columns:

=============  ======================================================================
columns        feature
=============  ======================================================================
0 .. N-1       uplink gain of the user on subchannel n, ``(10 log10 g - G_MIN) /
               (G_MAX - G_MIN)`` clipped to [0, 1], G_MIN = -160 dB, G_MAX = -60 dB
N .. 2N-1      downlink gain, same normalization
2N             distance to the BS / cell radius
2N+1           task workload ``(log10 W [FLOP] - 8) / 4`` clipped to [0, 1]
               (0 = 0.1 GFLOP, 1 = 1 TFLOP)
2N+2 ..        one-hot of the task's model in ``scenario.models``
=============  ======================================================================

The gain window covers the 3GPP macro path loss from 35 m (-73 dB) to 500 m (-117 dB)
with 3-sigma shadowing and deep fades down to -160 dB.
"""

from __future__ import annotations

import numpy as np

from noma_split_env.scenario import Scenario
from noma_split_env.slot import Slot

__all__ = ["GAIN_MAX_DB", "GAIN_MIN_DB", "encode", "num_features", "observe"]

GAIN_MIN_DB = -160.0
"""Gain mapped to 0 [dB]."""
GAIN_MAX_DB = -60.0
"""Gain mapped to 1 [dB]."""


def num_features(scenario: Scenario) -> int:
    """F, the number of features per user."""
    return 2 * scenario.num_subchannels + 2 + len(scenario.models)


def encode(
    scenario: Scenario,
    ul_gain: np.ndarray,
    dl_gain: np.ndarray,
    distance_m: np.ndarray,
    model_index: np.ndarray,
) -> np.ndarray:
    """Observation ``[..., K * F]`` from gains ``[..., K, N]``, distances and models ``[..., K]``.

    Vectorized over any leading (time) axes.
    """
    with np.errstate(divide="ignore"):
        gains_db = 10.0 * np.log10(np.concatenate((ul_gain, dl_gain), axis=-1))
    gains = np.clip((gains_db - GAIN_MIN_DB) / (GAIN_MAX_DB - GAIN_MIN_DB), 0.0, 1.0)
    table = scenario.model_table
    work = np.clip((np.log10(table.total_flops) - 8.0) / 4.0, 0.0, 1.0)
    per_model = np.concatenate((work[:, None], np.eye(len(scenario.models))), axis=1)
    distance = (distance_m / scenario.cell_radius_m)[..., None]
    features = np.concatenate((gains, distance, per_model[model_index]), axis=-1)
    return features.reshape(*features.shape[:-2], -1).astype(np.float32)


def observe(slot: Slot) -> np.ndarray:
    """The ``[K * F]`` observation of one slot (of a queued env's slot, its
    ``[K * (F + 6)]`` observation: :func:`noma_split_env.queue.queue_observation`)."""
    from noma_split_env.queue import QueueSlot, queue_observation

    if isinstance(slot, QueueSlot):
        return queue_observation(slot)
    return encode(slot.scenario, slot.ul_gain, slot.dl_gain, slot.distance_m, slot.model_index)
