"""Scenario: presets, validation, and a default that is not degenerate."""

from __future__ import annotations

import collections
import dataclasses

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from noma_split_env import PRESETS, Allocation, NomaSplitEnv, Scenario, evaluate
from noma_split_env.dynamics import CellDynamics
from noma_split_env.queue import QueueEnv
from noma_split_env.scenario import FIELD_RANGES


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
        ("failure_penalty", 0.0),
        # the hostile values that used to pass and break the physics
        ("device_capacitance", 1e300),
        ("edge_capacitance", 1e300),
        ("user_max_power_w", 1e308),
        ("device_freq_hz", 1e-300),
        ("cell_radius_m", 1e300),
        ("sic_residual", 1e6),
        ("models", None),
        ("models", 3),
        ("pathloss_db_at_1km", 30.0),  # in range, but a gain > 0 dB at 35 m
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


def test_every_numeric_field_has_a_documented_range():
    numeric = {
        f.name
        for f in dataclasses.fields(Scenario)
        if f.name != "name"
        and (isinstance(f.default, (int, float)) or f.name in FIELD_RANGES)
        and not isinstance(f.default, bool)
    }
    assert numeric <= set(FIELD_RANGES)
    for name, rng in FIELD_RANGES.items():
        assert rng.lo < rng.hi, name
        assert rng.contains(getattr(Scenario(), name)), name  # the default is allowed
        for outside in (rng.lo - abs(rng.lo) * 0.5 - 1, rng.hi * 2 + 1, float("nan")):
            with pytest.raises(ValueError, match=f"Scenario.{name}: got .*allowed: "):
                Scenario(**{name: outside})


def consistent(values: dict[str, object]) -> dict[str, object]:
    """Make drawn field values meet the cross-field rules (the annulus is not empty, the
    path loss at the minimum distance is >= 0 dB) by moving the distances only."""
    out = dict(values)
    radius = float(out.get("cell_radius_m", 500.0))
    d_min = float(out.get("min_distance_m", 35.0))
    pl0 = float(out.get("pathloss_db_at_1km", 128.1))
    n = float(out.get("pathloss_exponent", 3.76))
    d_min = max(d_min, 1000.0 * 10 ** (-pl0 / (10 * n)) * 1.001)  # PL(d_min) >= 0 dB
    if d_min >= radius:
        radius = min(d_min * 2, FIELD_RANGES["cell_radius_m"].hi)
        d_min = min(d_min, radius / 2)
    out["cell_radius_m"], out["min_distance_m"] = radius, d_min
    if float(out.get("arrival_rate", 0.0)) > 1.0:  # Bernoulli arrivals are probabilities
        out["arrival_process"] = "poisson"
    return out


def bound_values(name: str) -> list[object]:
    rng = FIELD_RANGES[name]
    hi = rng.hi * (1 - 1e-12) if rng.hi_open else rng.hi
    inside = (rng.lo + hi) / 2 if rng.lo <= 0 else float(np.sqrt(rng.lo * hi))
    values: list[object] = [rng.lo, hi, int(inside) if rng.integer else inside]
    return [*values, None] if rng.optional else values


def admissible_actions(env: NomaSplitEnv) -> list[dict[str, np.ndarray]]:
    """The corners of the action space (every power and share 0 or 1, every split 0 or
    L_max, every user on subchannel 0 or N-1) and a few random actions."""
    space = env.action_space
    space.seed(0)
    k = env.scenario.num_users
    actions = []
    for fill in (0.0, 1.0):
        for split in (0, env.decoder.max_layers):
            for sub in (0, env.scenario.num_subchannels - 1):
                action = {
                    key: (np.full(k, fill, dtype=np.float32) if key.endswith(("power", "share"))
                          else np.full(k, sub, dtype=np.int64))
                    for key in space
                }  # fmt: skip
                action["split"] = np.full(k, split, dtype=np.int64)
                actions.append(action)
    return actions + [space.sample() for _ in range(3)]


def assert_finite_everywhere(scenario: Scenario) -> None:
    env = NomaSplitEnv(scenario)
    obs, _ = env.reset(seed=0)
    for action in admissible_actions(env):
        assert np.all(np.isfinite(obs)) and env.observation_space.contains(obs)
        obs, reward, _, _, info = env.step(action)
        assert np.isfinite(reward), (scenario, action)
        for key, value in info.items():
            if isinstance(value, np.ndarray) and value.dtype.kind == "f":
                assert np.all(np.isfinite(value)), key
        assert all(np.isfinite(v) for v in info["reward_terms"].values())
    queued = QueueEnv(scenario)  # the same physics with queues
    obs, _ = queued.reset(seed=0)
    for action in admissible_actions(env):
        obs, reward, _, _, info = queued.step(action)
        assert np.all(np.isfinite(obs)) and queued.observation_space.contains(obs)
        assert np.isfinite(reward), (scenario, action)
        for key, value in info.items():
            if isinstance(value, np.ndarray) and value.dtype.kind == "f":
                assert np.all(np.isfinite(value)), key


@pytest.mark.parametrize("name", sorted(FIELD_RANGES))
def test_each_field_at_and_inside_its_bounds_gives_finite_steps(name):
    for value in bound_values(name):
        overrides = consistent({name: value})
        if name in ("num_users", "num_subchannels") and value == FIELD_RANGES[name].hi:
            overrides["max_episode_steps"] = 2  # keep the test fast at K=256 / N=64
        assert_finite_everywhere(Scenario(**overrides))


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_any_mix_of_bounds_gives_finite_steps(data):
    """Every field at its low bound, its high bound or inside, independently: every
    accepted scenario gives finite observations and rewards for every tested action."""
    values = {}
    for name in sorted(FIELD_RANGES):
        value = data.draw(st.sampled_from(bound_values(name)), label=name)
        if name == "num_users":
            value = min(value, 32)  # K and N at their maxima are tested one at a time
        if name == "num_subchannels":
            value = min(value, 8)
        values[name] = value
    values["max_episode_steps"] = 12
    try:
        scenario = Scenario(**consistent(values))
    except ValueError:
        assume(False)  # a cross-field rule the distance repair could not meet
    assert_finite_everywhere(scenario)
