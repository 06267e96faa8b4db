"""Propagation and mobility against closed forms and statistics."""

from __future__ import annotations

import numpy as np
import pytest

from noma_split_env import Scenario
from noma_split_env import dynamics as dynamics_module
from noma_split_env.channel import (
    distance_for_pathloss_db,
    drop_users,
    gauss_markov,
    large_scale_gain,
    pathloss_db,
    random_walk,
    rayleigh_fading,
    rayleigh_power,
    reflect_into_annulus,
    thermal_noise_w,
)
from noma_split_env.dynamics import CellDynamics
from noma_split_env.units import db_to_linear, dbm_to_w, linear_to_db, w_to_dbm


def test_3gpp_macro_pathloss_closed_form():
    # 128.1 + 37.6 log10(d/km): 128.1 dB at 1 km, 37.6 dB less per decade
    assert pathloss_db(np.array(1000.0), 128.1, 3.76) == pytest.approx(128.1)
    assert pathloss_db(np.array(100.0), 128.1, 3.76) == pytest.approx(128.1 - 37.6)
    assert distance_for_pathloss_db(pathloss_db(250.0, 128.1, 3.76), 128.1, 3.76) == (
        pytest.approx(250.0)
    )
    beta = large_scale_gain(np.array([1000.0]), np.array([8.0]), 128.1, 3.76)
    assert beta[0] == pytest.approx(10 ** (-(128.1 - 8.0) / 10))


def test_noise_power_closed_form():
    # -174 dBm/Hz over 1 MHz with 0 dB NF: -114 dBm
    assert thermal_noise_w(-174.0, 1e6, 0.0) == pytest.approx(dbm_to_w(-114.0))
    assert Scenario().ul_noise_w == pytest.approx(dbm_to_w(-174 + 10 * np.log10(2.5e6) + 5))


def test_db_helpers_round_trip():
    x = np.array([1e-12, 0.5, 3.0])
    np.testing.assert_allclose(db_to_linear(linear_to_db(x)), x)
    np.testing.assert_allclose(w_to_dbm(dbm_to_w(np.array([23.0, -100.0]))), [23.0, -100.0])


def test_rayleigh_power_is_unit_exponential():
    rng = np.random.default_rng(1)
    for power in (np.abs(rayleigh_fading(rng, (200_000,))) ** 2, rayleigh_power(rng, (200_000,))):
        # Exp(1): mean 1, variance 1, P(x < 0.1) = 1 - e^-0.1
        assert power.mean() == pytest.approx(1.0, abs=0.01)
        assert power.var() == pytest.approx(1.0, abs=0.03)
        assert (power < 0.1).mean() == pytest.approx(1 - np.exp(-0.1), abs=0.005)


def test_gauss_markov_has_lag_one_correlation_and_unit_power():
    rng = np.random.default_rng(2)
    h = gauss_markov(rayleigh_fading(rng, (20_000, 50)), None, 0.8)
    lag1 = np.mean(h[1:] * np.conj(h[:-1])).real
    assert lag1 == pytest.approx(0.8, abs=0.02)
    assert np.mean(np.abs(h[100:]) ** 2) == pytest.approx(1.0, abs=0.02)


def test_drop_is_uniform_in_area():
    rng = np.random.default_rng(3)
    pos = drop_users(rng, 100_000, 35.0, 500.0)
    r = np.hypot(pos[:, 0], pos[:, 1])
    assert r.min() >= 35.0 and r.max() <= 500.0
    # P(r < 250) = (250^2 - 35^2) / (500^2 - 35^2)
    assert (r < 250).mean() == pytest.approx((250**2 - 35**2) / (500**2 - 35**2), abs=0.005)


def test_random_walk_steps_and_stays_in_annulus():
    rng = np.random.default_rng(4)
    start = drop_users(rng, 50, 35.0, 100.0)
    path = random_walk(rng, start, 500, 7.0, 35.0, 100.0)
    r = np.hypot(path[..., 0], path[..., 1])
    assert r.min() >= 35.0 - 1e-9 and r.max() <= 100.0 + 1e-9
    steps = np.linalg.norm(np.diff(path, axis=0), axis=-1)
    # a free step is exactly 7 m; a radial reflection moves the point by at most
    # twice the overshoot, so no step exceeds 3 x 7 m
    assert np.mean(np.isclose(steps, 7.0)) > 0.8
    assert np.all(steps <= 21.0 + 1e-9)


def test_reflection_closed_form():
    out = reflect_into_annulus(np.array([[510.0, 0.0], [0.0, 30.0], [0.0, 0.0]]), 35.0, 500.0)
    np.testing.assert_allclose(out, [[490.0, 0.0], [0.0, 40.0], [70.0, 0.0]])


def test_chunk_size_changes_no_result(monkeypatch):
    sc = Scenario.preset("default", fading_correlation=0.5, user_speed_mps=30.0)

    def trace(chunk: int) -> list[np.ndarray]:
        monkeypatch.setattr(dynamics_module, "CHUNK_SLOTS", chunk)
        dyn = CellDynamics(sc, np.random.default_rng(7))
        slots = [dyn.next_slot() for _ in range(150)]
        return [
            np.concatenate((s.ul_gain.ravel(), s.dl_gain.ravel(), s.model_index)) for s in slots
        ]

    for a, b in zip(trace(64), trace(5), strict=True):
        # same draws in the same order; positions differ only by summation rounding
        np.testing.assert_allclose(a, b, rtol=1e-9)


def test_dynamics_gains_match_path_loss_on_average():
    sc = Scenario.preset("default", shadowing_std_db=0.0, user_speed_mps=0.0)
    dyn = CellDynamics(sc, np.random.default_rng(5))
    slots = [dyn.next_slot() for _ in range(4000)]
    d = slots[0].distance_m
    beta = large_scale_gain(d, np.zeros(4), sc.pathloss_db_at_1km, sc.pathloss_exponent)
    mean_gain = np.mean([s.ul_gain for s in slots], axis=0)  # E|h|^2 = 1
    np.testing.assert_allclose(mean_gain / beta[:, None], 1.0, atol=0.08)
