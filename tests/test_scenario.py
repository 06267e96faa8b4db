"""Scenario: presets, validation, and a default that is not degenerate."""

from __future__ import annotations

import collections
import dataclasses

import numpy as np
import pytest

from noma_split_env import PRESETS, Allocation, Scenario, evaluate
from noma_split_env.dynamics import CellDynamics


@pytest.mark.parametrize(
    ("name", "k", "n"), [("tiny", 2, 1), ("default", 4, 2), ("dense", 16, 4), ("massive", 64, 16)]
)
def test_presets(name, k, n):
    sc = Scenario.preset(name)
    assert (sc.num_users, sc.num_subchannels, sc.name) == (k, n, name)
    assert sc.ul_subchannel_hz == 2.5e6 and sc.dl_subchannel_hz == 5e6


def test_tiny_is_small_enough_for_exhaustive_search():
    sc = Scenario.preset("tiny")
    assert sc.model_table.max_layers <= 12 and sc.num_users * sc.num_subchannels <= 2


def test_preset_overrides_and_replace():
    sc = Scenario.preset("dense", latency_weight=0.9)
    assert sc.latency_weight == 0.9 and sc.num_users == 16
    assert sc.replace(num_users=3).num_users == 3
    with pytest.raises(dataclasses.FrozenInstanceError):
        sc.num_users = 5  # type: ignore[misc]
    assert set(PRESETS) == {"tiny", "default", "dense", "massive"}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("num_users", 0),
        ("num_users", 2.5),
        ("num_users", True),
        ("num_subchannels", -1),
        ("ul_bandwidth_hz", 0.0),
        ("dl_bandwidth_hz", float("nan")),
        ("noise_dbm_hz", float("inf")),
        ("sic_residual", -0.1),
        ("shadowing_std_db", -1.0),
        ("fading_correlation", 1.0),
        ("cell_radius_m", -5.0),
        ("min_distance_m", 0.0),
        ("min_distance_m", 600.0),
        ("user_max_power_w", 0.0),
        ("bs_max_power_w", "10"),
        ("device_freq_hz", -1e9),
        ("edge_capacitance", 0.0),
        ("activation_bits", 0),
        ("latency_weight", 1.5),
        ("deadline_s", 0.0),
        ("miss_penalty", -1.0),
        ("access", "cdma"),
        ("allocate_edge_share", 1),
        ("models", ()),
        ("models", ("resnet999",)),
        ("model_weights", (1.0,)),
        ("model_weights", (0.0, 0.0, 0.0, 0.0)),
        ("result_bits", -1.0),
        ("max_episode_steps", 0),
        ("latency_cap_s", 0.0),
    ],
)
def test_invalid_value_names_field_value_and_range(field, value):
    with pytest.raises(ValueError, match=f"Scenario.{field}: got .*allowed: "):
        Scenario(**{field: value})


def test_unknown_preset_lists_the_presets():
    with pytest.raises(ValueError, match="tiny, default, dense, massive"):
        Scenario.preset("huge")


def best_split_census(num_users_sampled: int = 1000) -> tuple[collections.Counter, set]:
    """Best split of each sampled user, its split alone varied (issue 2's recipe).

    Max uplink powers, the BS power split equally, subchannels round-robin, equal edge
    shares (the default), other users all-edge; the user's own cost is minimized.
    """
    sc = Scenario.preset("default")
    k, n = sc.num_users, sc.num_subchannels
    rng = np.random.default_rng(2024)
    kinds: collections.Counter = collections.Counter()
    values: set = set()
    sampled = 0
    while sampled < num_users_sampled:
        dynamics = CellDynamics(sc, rng)
        for _ in range(5):
            slot = dynamics.next_slot()
            sub = np.arange(k) % n
            for user in range(k):
                costs = []
                for s in range(slot.num_layers[user] + 1):
                    split = np.zeros(k, dtype=np.int64)
                    split[user] = s
                    allocation = Allocation(
                        split, sub, sub, np.full(k, sc.user_max_power_w),
                        np.full(k, sc.bs_max_power_w / k),
                    )  # fmt: skip
                    costs.append(evaluate(slot, allocation).user_cost[user])
                best = int(np.argmin(costs))
                num_layers = int(slot.num_layers[user])
                kinds["edge" if best == 0 else "local" if best == num_layers else "mid"] += 1
                values.add((slot.profiles[user].name, best))
                sampled += 1
    return kinds, values


def test_default_is_not_degenerate():
    kinds, values = best_split_census(1000)
    total = sum(kinds.values())
    assert total >= 1000
    assert len({best for _, best in values}) >= 3
    assert kinds["edge"] / total <= 0.70, kinds
    assert kinds["local"] / total <= 0.70, kinds
    assert kinds["mid"] > 0, kinds
