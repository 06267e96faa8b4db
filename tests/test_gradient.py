"""The analytic cost gradient against central finite differences of ``evaluate``.

Random slots and allocations over NOMA and OMA, perfect and imperfect SIC (psi > 0),
equal and allocated edge shares, with co-channel users and users that run locally.
"""

from __future__ import annotations

import numpy as np
import pytest

from noma_split_env import Allocation, Scenario, Slot, evaluate
from noma_split_env.gradient import cost_gradient

K, N = 4, 2
REL = 1e-5


def random_case(seed: int, access: str, psi: float, share: bool, **overrides: object):
    """A slot with gains around the cell's range, and an interior, uncapped allocation."""
    sc = Scenario.preset(
        "default",
        access=access,
        sic_residual=psi,
        allocate_edge_share=share,
        num_users=K,
        num_subchannels=N,
        latency_weight=0.4,
        **overrides,
    )
    rng = np.random.default_rng(seed)
    while True:
        ul_gain = 10 ** rng.uniform(-12.5, -9.5, (K, N))
        dl_gain = 10 ** rng.uniform(-12.5, -9.5, (K, N))
        slot = Slot.from_arrays(sc, ul_gain, dl_gain, models=rng.integers(0, 4, K).tolist())
        split = rng.integers(0, slot.num_layers)  # every user offloads ...
        if seed % 3 == 0:
            split[rng.integers(K)] = slot.num_layers[0]  # ... or one runs locally
        split = np.minimum(split, slot.num_layers)
        allocation = Allocation(
            split=split,
            ul_subchannel=rng.integers(0, N, K),
            dl_subchannel=rng.integers(0, N, K),
            ul_power=rng.uniform(0.2, 0.9, K) * sc.user_max_power_w,
            dl_power=rng.dirichlet(np.ones(K)) * rng.uniform(0.3, 0.8) * sc.bs_max_power_w,
            edge_share=rng.dirichlet(np.ones(K)) * 0.9 if share else None,
        )
        out = evaluate(slot, allocation)
        cap = sc.latency_cap_s
        stages = np.concatenate([out.t_up, out.t_dl, out.t_edge])
        if np.all(stages < 0.5 * cap):  # away from the cap's kink
            return slot, allocation


def finite_difference(slot: Slot, allocation: Allocation, field: str) -> np.ndarray:
    """Central differences of the slot cost in one continuous field, step 1e-4 relative."""
    base = getattr(allocation, field)
    fd = np.zeros(K)
    for k in range(K):
        h = min(1e-4 * max(base[k], 1e-3 * base.max()), 0.5 * base[k])
        costs = []
        for sign in (1.0, -1.0):
            value = base.copy()
            value[k] += sign * h
            fields = {f: getattr(allocation, f) for f in ALLOCATION_FIELDS}
            fields[field] = value
            costs.append(evaluate(slot, Allocation(**fields)).cost)
        fd[k] = (costs[0] - costs[1]) / (2 * h)
    return fd


ALLOCATION_FIELDS = ("split", "ul_subchannel", "dl_subchannel", "ul_power", "dl_power")
ALLOCATION_FIELDS += ("edge_share",)


def assert_matches_fd(analytic: np.ndarray, fd: np.ndarray) -> None:
    scale = np.abs(fd).max()
    np.testing.assert_allclose(analytic, fd, rtol=REL, atol=1e-7 * scale + 1e-12)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("access", ["noma", "oma"])
@pytest.mark.parametrize("psi", [0.0, 0.1])
@pytest.mark.parametrize("share", [False, True])
def test_gradient_matches_finite_differences(seed, access, psi, share):
    slot, allocation = random_case(seed, access, psi, share)
    grad = cost_gradient(slot, allocation)
    assert_matches_fd(grad.ul_power, finite_difference(slot, allocation, "ul_power"))
    assert_matches_fd(grad.dl_power, finite_difference(slot, allocation, "dl_power"))
    if share:
        assert_matches_fd(grad.edge_share, finite_difference(slot, allocation, "edge_share"))
    else:
        assert grad.edge_share is None


def test_noma_cross_terms_are_exercised():
    """The random cases put several offloading users on one subchannel (interference)."""
    slot, allocation = random_case(1, "noma", 0.1, False)
    active = allocation.split < slot.num_layers
    counts = np.bincount(allocation.ul_subchannel[active], minlength=N)
    assert counts.max() >= 2


def test_local_users_have_zero_gradient():
    slot, allocation = random_case(0, "noma", 0.1, True)
    grad = cost_gradient(slot, allocation)
    local = allocation.split == slot.num_layers
    assert local.any()
    assert np.all(grad.ul_power[local] == 0)
    assert np.all(grad.dl_power[local] == 0)
    assert np.all(grad.edge_share[local] == 0)


def test_capped_upload_keeps_only_the_energy_derivative():
    """Near-zero power: the upload takes latency_cap_s, so for a user alone on its
    subchannel dC/dp = (1 - lambda) cap / (K E_ref), the derivative of p cap alone."""
    slot, allocation = random_case(2, "noma", 0.0, False)
    p = allocation.ul_power.copy()
    p[0] = 1e-9
    ul = np.ones(K, dtype=np.int64)
    ul[0] = 0
    capped = Allocation(allocation.split, ul, allocation.dl_subchannel, p, allocation.dl_power)
    grad = cost_gradient(slot, capped)
    sc = slot.scenario
    assert allocation.split[0] < slot.num_layers[0]
    assert grad.outcome.t_up[0] == pytest.approx(sc.latency_cap_s)
    expected = (1 - sc.latency_weight) * sc.latency_cap_s / (K * slot.e_ref[0])
    assert grad.ul_power[0] == pytest.approx(expected, rel=1e-12)
    assert_matches_fd(grad.ul_power, finite_difference(slot, capped, "ul_power"))


def test_deadline_term_has_zero_gradient():
    """The miss term is piecewise constant: the gradient ignores the deadline."""
    slot, allocation = random_case(3, "noma", 0.1, False)
    strict = Scenario.preset(
        "default", num_users=K, num_subchannels=N, sic_residual=0.1, latency_weight=0.4,
        deadline_s=1e-3, miss_penalty=5.0,
    )  # fmt: skip
    slot_deadline = Slot.from_arrays(
        strict, slot.ul_gain, slot.dl_gain, models=slot.model_index.tolist()
    )
    assert evaluate(slot_deadline, allocation).num_misses > 0
    plain = cost_gradient(slot, allocation)
    with_deadline = cost_gradient(slot_deadline, allocation)
    np.testing.assert_array_equal(plain.ul_power, with_deadline.ul_power)
    np.testing.assert_array_equal(plain.dl_power, with_deadline.dl_power)


def test_gradient_reuses_a_given_outcome():
    slot, allocation = random_case(4, "oma", 0.0, True)
    out = evaluate(slot, allocation)
    grad = cost_gradient(slot, allocation, out)
    assert grad.outcome is out
    np.testing.assert_array_equal(grad.ul_power, cost_gradient(slot, allocation).ul_power)
