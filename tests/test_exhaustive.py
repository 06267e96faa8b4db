"""Exhaustive search: a closed-form one-user optimum, optimality over Li-GD, size limit."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest

import agents
from agents.exhaustive import Exhaustive, compute_bound, num_combinations
from agents.li_gd import SlotProblem
from noma_split_env import Allocation, Scenario, Slot, evaluate

GOLDEN = (math.sqrt(5) - 1) / 2


def golden_section(f, lo: float, hi: float, tol: float = 1e-13) -> float:
    """Minimizer of a unimodal f on [lo, hi] (no SciPy)."""
    a, b = lo, hi
    c, d = b - GOLDEN * (b - a), a + GOLDEN * (b - a)
    fc, fd = f(c), f(d)
    while b - a > tol * max(1.0, abs(b)):
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - GOLDEN * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + GOLDEN * (b - a)
            fd = f(d)
    return (a + b) / 2


def minimize_1d(f, hi: float) -> tuple[float, float]:
    """Dense grid for the basin (the capped plateau near 0 is another local minimum),
    then golden section on the neighbouring grid cells."""
    grid = np.linspace(0.0, hi, 4001)
    i = int(np.argmin([f(x) for x in grid]))
    x = golden_section(f, grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)])
    return x, f(x)


def one_user_slot() -> Slot:
    sc = Scenario(num_users=1, num_subchannels=1, models=("alexnet",), latency_weight=0.3)
    return Slot.from_arrays(sc, np.array([[1e-10]]), np.array([[1e-10]]))


def closed_form_optimum(slot: Slot) -> tuple[int, float, float, float]:
    """docs/model.md section 5 for one user alone on the cell (no interference, the whole edge):

    cost(s, p, q) = lam (T_loc + T_up(p) + T_edge + T_dl(q)) / T_ref
                    + (1 - lam) (E_loc + p T_up(p) + E_edge + q T_dl(q)) / E_ref,
    T_up(p) = min(D(s) / (B_ul log2(1 + p g / s2_ul)), cap), T_dl likewise,

    separable in p and q for each split s, minimized by grid + golden section and over
    s by brute force. Returns (split, p, q, cost).
    """
    sc = slot.scenario
    lam, cap = sc.latency_weight, sc.latency_cap_s
    t_ref, e_ref = slot.t_ref[0], slot.e_ref[0]
    g_ul, g_dl = slot.ul_gain[0, 0], slot.dl_gain[0, 0]
    d_out = slot.result_bits[0]
    best = (int(slot.num_layers[0]), 0.0, 0.0, 1.0)  # all local costs exactly 1
    for s in range(int(slot.num_layers[0])):
        w_dev = slot.device_flops[0, s]
        w_edge = slot.total_flops[0] - w_dev
        d = slot.upload_bits[0, s]
        fixed_t = w_dev / sc.device_flops_per_s + w_edge / (
            sc.edge_freq_hz * sc.edge_flops_per_cycle
        )
        fixed_e = w_dev * sc.device_joule_per_flop + (
            sc.edge_capacitance * sc.edge_freq_hz**2 * w_edge / sc.edge_flops_per_cycle
        )

        def up(p, d=d):
            rate = sc.ul_subchannel_hz * math.log2(1 + p * g_ul / sc.ul_noise_w)
            t = min(d / rate, cap) if rate > 0 else cap
            return lam * t / t_ref + (1 - lam) * p * t / e_ref

        def down(q):
            rate = sc.dl_subchannel_hz * math.log2(1 + q * g_dl / sc.dl_noise_w)
            t = min(d_out / rate, cap) if rate > 0 else cap
            return lam * t / t_ref + (1 - lam) * q * t / e_ref

        p, cost_up = minimize_1d(up, sc.user_max_power_w)
        q, cost_down = minimize_1d(down, sc.bs_max_power_w)
        cost = lam * fixed_t / t_ref + (1 - lam) * fixed_e / e_ref + cost_up + cost_down
        if cost < best[3]:
            best = (s, p, q, cost)
    return best


def test_exhaustive_finds_the_closed_form_optimum_of_one_user():
    slot = one_user_slot()
    split, p, q, cost = closed_form_optimum(slot)
    agent = agents.make("exhaustive")
    allocation = agent.act(slot)
    assert 0 < split < slot.num_layers[0]  # a real split, not a corner
    assert 0 < p < slot.scenario.user_max_power_w and 0 < q < slot.scenario.bs_max_power_w
    assert allocation.split[0] == split
    assert evaluate(slot, allocation).cost == pytest.approx(cost, rel=1e-9)
    assert allocation.ul_power[0] == pytest.approx(p, rel=1e-4)
    assert allocation.dl_power[0] == pytest.approx(q, rel=1e-4)


def test_li_gd_finds_the_one_user_optimum_too():
    slot = one_user_slot()
    _, _, _, cost = closed_form_optimum(slot)
    assert evaluate(slot, agents.make("li-gd").act(slot)).cost == pytest.approx(cost, rel=1e-6)


def tiny_slots(n: int, seed: int, **overrides: object) -> list[Slot]:
    env = gym.make("NomaSplit-v0", scenario="tiny", **overrides)
    env.reset(seed=seed)
    slots = []
    for _ in range(n):
        slots.append(env.unwrapped.slot)
        env.unwrapped.step_allocation(Allocation.all_local(env.unwrapped.slot))
    return slots


@pytest.mark.parametrize("overrides", [{}, {"deadline_s": 0.1, "sic_residual": 0.05}])
def test_exhaustive_is_never_beaten_by_li_gd(overrides):
    exhaustive, li_gd = agents.make("exhaustive"), agents.make("li-gd")
    for slot in tiny_slots(4, seed=11, **overrides):
        best = evaluate(slot, exhaustive.act(slot)).cost
        assert exhaustive.stats.extra["combinations"] == 144
        assert best <= evaluate(slot, li_gd.act(slot)).cost + 1e-9
        assert best <= evaluate(slot, Allocation.all_local(slot)).cost + 1e-12


def test_two_subchannels_are_enumerated():
    slot = tiny_slots(1, seed=3, num_subchannels=2)[0]
    assert num_combinations(slot) == (1 + 11 * 4) ** 2
    agent = agents.make("exhaustive")
    best = evaluate(slot, agent.act(slot)).cost
    assert best <= evaluate(slot, agents.make("li-gd").act(slot)).cost + 1e-9


def test_refuses_instances_beyond_the_size_limit():
    env = gym.make("NomaSplit-v0")
    env.reset(seed=0)
    slot = env.unwrapped.slot
    assert num_combinations(slot) > 200_000
    with pytest.raises(ValueError, match=r"Exhaustive\.max_combinations: the slot has \d+"):
        agents.make("exhaustive").act(slot)
    with pytest.raises(ValueError, match="at most 10"):
        Exhaustive(max_combinations=10).act(tiny_slots(1, seed=0)[0])


def test_same_slot_same_decision():
    slot = tiny_slots(1, seed=5)[0]
    assert agents.make("exhaustive").act(slot) == agents.make("exhaustive").act(slot)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"max_combinations": 0}, "max_combinations"),
        ({"gtol": -1}, "gtol"),
        ({"ftol": float("inf")}, "ftol"),
        ({"max_iter": 1.5}, "max_iter"),
        ({"start_scales": ()}, "start_scales"),
        ({"start_scales": (0.0,)}, "start_scales"),
    ],
)
def test_constructor_rejects_bad_values_naming_the_field(kwargs, field):
    with pytest.raises(ValueError, match=rf"Exhaustive\.{field}: got .*allowed"):
        Exhaustive(**kwargs)


def test_bound_is_below_the_cost_of_every_allocation():
    rng = np.random.default_rng(0)
    for share in (False, True):
        for slot in tiny_slots(3, seed=4, allocate_edge_share=share, deadline_s=0.05):
            sc = slot.scenario
            for _ in range(30):
                split = rng.integers(0, slot.num_layers + 1)
                active = split < slot.num_layers
                allocation = Allocation(
                    split,
                    np.zeros(2, dtype=np.int64),
                    np.zeros(2, dtype=np.int64),
                    rng.uniform(0, sc.user_max_power_w, 2) * active,
                    rng.dirichlet(np.ones(2)) * sc.bs_max_power_w * active,
                    rng.dirichlet(np.ones(2)) * active if share else None,
                )
                assert compute_bound(slot, split) <= evaluate(slot, allocation).cost + 1e-12


def test_pruning_is_exact():
    """The pruned search returns the best of all combinations, each descended."""
    exhaustive = Exhaustive()
    for slot in tiny_slots(2, seed=9):
        cost = evaluate(slot, exhaustive.act(slot)).cost
        assert exhaustive.stats.extra["solved"] < exhaustive.stats.extra["combinations"]
        prob = SlotProblem(slot)
        zeros = np.zeros(2, dtype=np.int64)
        every = min(
            prob.descend(
                split, zeros, zeros, prob.default_start(split, scale), 1e-9, 1e-15, 2000
            ).cost
            for split in (np.array([a, b]) for a in range(12) for b in range(12))
            for scale in (1.0, 0.1, 0.01)
        )
        assert cost == pytest.approx(every, rel=1e-12)
