"""No free lunch: a stage that cannot finish within the cap fails the task
(docs/model.md section 5.3), and a failed task always costs more than running it
locally, so no solver returns a stalled user, even when latency is almost free."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from test_properties import slots_and_allocations

import agents
from noma_split_env import Allocation, NomaSplitEnv, Scenario, Slot, evaluate
from noma_split_env.gradient import cost_gradient


def one_offloader(sc: Scenario, p: float, q: float, share: float | None = None) -> Allocation:
    """User 0 offloads everything (split 0), user 1 runs locally."""
    return Allocation(
        split=np.array([0, 11]),
        ul_subchannel=np.zeros(2, dtype=np.int64),
        dl_subchannel=np.zeros(2, dtype=np.int64),
        ul_power=np.array([p, 0.0]),
        dl_power=np.array([q, 0.0]),
        edge_share=None if share is None else np.array([share, 0.0]),
    )


def tiny_slot(**overrides: object) -> Slot:
    sc = Scenario.preset("tiny", **overrides)
    return Slot.from_arrays(sc, np.array([[1e-11], [1e-11]]), np.array([[1e-11], [1e-11]]))


def power_for_time(slot: Slot, bits: float, seconds: float, uplink: bool) -> float:
    """The power [W] whose rate sends ``bits`` in ``seconds`` (user 0 alone):
    ``R = B log2(1 + p g / sigma^2) = bits / seconds``."""
    sc = slot.scenario
    band = sc.ul_subchannel_hz if uplink else sc.dl_subchannel_hz
    noise = sc.ul_noise_w if uplink else sc.dl_noise_w
    gain = (slot.ul_gain if uplink else slot.dl_gain)[0, 0]
    return math.expm1(bits / seconds / band * math.log(2.0)) * noise / gain


@pytest.mark.parametrize("lam", [0.0, 1e-3, 0.5, 1.0])
def test_zero_power_fails_and_costs_more_than_local(lam: float) -> None:
    slot = tiny_slot(latency_weight=lam)
    sc = slot.scenario
    out = evaluate(slot, one_offloader(sc, 0.0, 0.0))
    assert out.failed.tolist() == [True, False]
    assert out.miss.tolist() == [True, False]  # a miss with no deadline set
    assert sc.deadline_s is None and out.num_misses == 1 and out.num_failed == 1
    assert out.t_up[0] == pytest.approx(sc.latency_cap_s)
    assert out.user_cost[0] >= 1.0 + sc.failure_penalty
    assert out.user_cost[1] == 1.0
    terms = out.latency_term + out.energy_term + out.failure_term + out.miss_term
    assert out.cost == pytest.approx(terms, rel=1e-12)
    assert out.miss_term == pytest.approx(sc.miss_penalty / 2)
    assert out.cost > evaluate(slot, Allocation.all_local(slot)).cost


def test_failed_cost_is_capped_cost_or_one_plus_the_penalty() -> None:
    """``c = max(c_capped, 1) + failure_penalty``: a latency-heavy failure keeps its
    capped cost above 1, an energy-only failure at zero power sits at 1 + penalty."""
    slot = tiny_slot(latency_weight=1.0, failure_penalty=0.25)
    out = evaluate(slot, one_offloader(slot.scenario, 0.0, 1.0))
    capped = out.latency[0] / slot.t_ref[0]  # lambda = 1: c_capped = T / T_ref > 1
    assert capped > 1
    assert out.user_cost[0] == pytest.approx(capped + 0.25, rel=1e-12)
    slot = tiny_slot(latency_weight=0.0, failure_penalty=0.25, allocate_edge_share=True)
    out = evaluate(slot, one_offloader(slot.scenario, 0.0, 0.0, share=0.0))
    assert out.energy[0] == 0.0  # nothing spent anywhere: c_capped = 0
    assert out.user_cost[0] == 1.25


@pytest.mark.parametrize("uplink", [True, False])
def test_the_cap_is_the_boundary_of_failure(uplink: bool) -> None:
    """A rate just fast enough finishes within the cap; just slower fails."""
    slot = tiny_slot(latency_cap_s=0.5)
    sc = slot.scenario
    bits = slot.upload_bits[0, 0] if uplink else slot.result_bits[0]
    power = power_for_time(slot, bits, sc.latency_cap_s, uplink)
    other = 1.0 if uplink else sc.user_max_power_w  # the other link comfortably fast
    assert power < (sc.user_max_power_w if uplink else sc.bs_max_power_w)
    for factor, fails in ((1.001, False), (0.999, True)):
        p, q = (power * factor, other) if uplink else (other, power * factor)
        out = evaluate(slot, one_offloader(sc, p, q))
        stage = out.t_up[0] if uplink else out.t_dl[0]
        assert bool(out.failed[0]) is fails
        assert stage <= sc.latency_cap_s
        assert stage == pytest.approx(sc.latency_cap_s, rel=2e-3)


def test_an_edge_share_too_small_fails_the_task() -> None:
    slot = tiny_slot(allocate_edge_share=True)
    sc = slot.scenario
    needed = slot.total_flops[0] / (sc.latency_cap_s * sc.edge_freq_hz * sc.edge_flops_per_cycle)
    for factor, fails in ((1.01, False), (0.99, True), (0.0, True)):
        out = evaluate(slot, one_offloader(sc, 0.2, 1.0, share=needed * factor))
        assert bool(out.failed[0]) is fails


@settings(max_examples=150, deadline=None)
@given(slots_and_allocations())
def test_failed_tasks_always_cost_more_than_local(case) -> None:
    """For any slot and allocation: a failed user costs more than the same user run
    locally (exactly 1), counts as a miss, and the cost terms add up."""
    slot, allocation = case
    out = evaluate(slot, allocation)
    assert np.all(out.user_cost[out.failed] > 1.0)
    assert np.all(out.user_cost[out.failed] >= 1.0 + slot.scenario.failure_penalty)
    assert np.all(out.miss[out.failed])
    local = allocation.split == slot.num_layers
    assert not np.any(out.failed & local)
    assert np.all(out.user_cost[local] == 1.0)
    terms = out.latency_term + out.energy_term + out.failure_term + out.miss_term
    assert out.cost == pytest.approx(terms, rel=1e-9, abs=1e-12)
    assert out.failure_term >= 0.0


def test_failed_user_at_the_constant_cost_has_zero_gradient() -> None:
    """A failed task at ``1 + failure_penalty`` is constant in every variable."""
    slot = tiny_slot(latency_weight=0.0, allocate_edge_share=True)
    allocation = one_offloader(slot.scenario, 1e-12, 1e-12, share=1e-12)
    grad = cost_gradient(slot, allocation)
    assert grad.outcome.failed[0]
    assert grad.outcome.user_cost[0] == 1.0 + slot.scenario.failure_penalty
    assert grad.ul_power[0] == 0.0 and grad.dl_power[0] == 0.0
    assert grad.edge_share is not None and grad.edge_share[0] == 0.0


def default_slots(lam: float, count: int, **overrides: object) -> list[Slot]:
    env = NomaSplitEnv(Scenario.preset("default", latency_weight=lam, **overrides))
    env.reset(seed=11)
    slots = []
    for _ in range(count):
        slots.append(env.slot)
        env.step_allocation(Allocation.all_local(env.slot))
    return slots


@pytest.mark.parametrize("lam", [0.0, 1e-3])
@pytest.mark.parametrize("name", ["li-gd", "gd", "greedy"])
def test_no_solver_returns_a_stalled_user(name: str, lam: float) -> None:
    """Latency (almost) free: the solvers still never stall a user (zero power was
    free before the failure rule: Li-GD returned p = q = 0 for every user)."""
    agent = agents.make(name)
    for slot in default_slots(lam, 4):
        allocation = agent.act(slot)
        out = evaluate(slot, allocation)
        assert out.num_failed == 0, (name, lam, out.t_up, out.t_dl)
        offloading = allocation.split < slot.num_layers
        assert np.all(allocation.ul_power[offloading] > 0)
        assert np.all(allocation.dl_power[offloading] > 0)


@pytest.mark.parametrize("lam", [0.0, 1e-3])
@pytest.mark.parametrize("share", [False, True])
def test_exhaustive_and_li_gd_never_stall_on_tiny(lam: float, share: bool) -> None:
    env = NomaSplitEnv(Scenario.preset("tiny", latency_weight=lam, allocate_edge_share=share))
    env.reset(seed=5)
    for name in ("exhaustive", "li-gd"):
        agent = agents.make(name)
        for _ in range(2):
            out = evaluate(env.slot, agent.act(env.slot))
            assert out.num_failed == 0, name
            env.step_allocation(Allocation.all_local(env.slot))


def test_an_edge_share_without_allocate_edge_share_is_rejected() -> None:
    """With ``allocate_edge_share=False`` the edge is shared equally: an explicit share
    used to be applied silently (cost 0.262 became 1.128 with shares of 0.01)."""
    slot = tiny_slot()
    assert not slot.scenario.allocate_edge_share
    allocation = one_offloader(slot.scenario, 0.2, 1.0, share=0.01)
    with pytest.raises(
        ValueError, match=r"Allocation\.edge_share: got \[0\.01, 0\.0\], allowed: None"
    ):
        evaluate(slot, allocation)
    shared = tiny_slot(allocate_edge_share=True)
    assert np.isfinite(evaluate(shared, one_offloader(shared.scenario, 0.2, 1.0, 0.01)).cost)
