"""Property-based tests over random scenarios, realizations and allocations."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from noma_split_env import Allocation, Scenario, Slot, evaluate

MODELS = ("alexnet", "resnet18", "mobilenet_v2", "vgg16")


@st.composite
def scenarios(draw) -> Scenario:
    models = draw(st.lists(st.sampled_from(MODELS), min_size=1, max_size=3, unique=True))
    return Scenario(
        num_users=draw(st.integers(1, 8)),
        num_subchannels=draw(st.integers(1, 4)),
        access=draw(st.sampled_from(["noma", "oma"])),
        sic_residual=draw(st.sampled_from([0.0, 0.05, 0.5, 1.0])),
        models=tuple(models),
        latency_weight=draw(st.floats(0.0, 1.0)),
        deadline_s=draw(st.one_of(st.none(), st.floats(1e-3, 5.0))),
        allocate_edge_share=draw(st.booleans()),
        activation_bits=draw(st.sampled_from([8.0, 16.0, 32.0])),
    )


@st.composite
def slots_and_allocations(draw) -> tuple[Slot, Allocation]:
    sc = draw(scenarios())
    k, n = sc.num_users, sc.num_subchannels
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    # gains from far below the noise to far above it, with exact zeros
    gain_db = rng.uniform(-200, -40, (2, k, n))
    gains = 10 ** (gain_db / 10) * (rng.random((2, k, n)) > 0.05)
    models = rng.integers(0, len(sc.models), k)
    slot = Slot.from_arrays(sc, gains[0], gains[1], models=list(models))
    split = rng.integers(0, slot.num_layers + 1)
    extreme = draw(st.sampled_from(["random", "zero", "max"]))
    unit = {"random": rng.random, "zero": np.zeros, "max": np.ones}[extreme]
    q = unit(k)
    q = q / max(1.0, q.sum())
    share = None
    if sc.allocate_edge_share:
        share = unit(k)
        share = share / max(1.0, share.sum())
    allocation = Allocation(
        split=split,
        ul_subchannel=rng.integers(0, n, k),
        dl_subchannel=rng.integers(0, n, k),
        ul_power=unit(k) * sc.user_max_power_w,
        dl_power=q * sc.bs_max_power_w,
        edge_share=share,
    )
    return slot, allocation


@settings(max_examples=150, deadline=None)
@given(slots_and_allocations())
def test_costs_finite_rates_non_negative(case):
    slot, allocation = case
    out = evaluate(slot, allocation)
    assert np.isfinite(out.cost) and out.cost >= 0
    for name in ("latency", "energy", "ul_rate", "dl_rate", "ul_sinr", "dl_sinr", "user_cost"):
        value = getattr(out, name)
        assert np.all(np.isfinite(value)) and np.all(value >= 0), name
    cap = slot.scenario.latency_cap_s
    for stage in (out.t_up, out.t_edge, out.t_dl):
        assert np.all(stage <= cap * (1 + 1e-12))
    offloading = allocation.split < slot.num_layers
    assert np.all(out.ul_rate[~offloading] == 0) and np.all(out.t_up[~offloading] == 0)


@settings(max_examples=200, deadline=None)
@given(slots_and_allocations(), st.data())
def test_adding_a_cochannel_interferer_never_raises_a_rate(case, data):
    slot, allocation = case
    sc = slot.scenario
    j = data.draw(st.integers(0, sc.num_users - 1))
    # before: user j runs everything locally, so it is on neither link
    split = allocation.split.copy()
    split[j] = slot.num_layers[j]
    p, q = allocation.ul_power.copy(), allocation.dl_power.copy()
    before = evaluate(
        slot,
        Allocation(split.copy(), allocation.ul_subchannel, allocation.dl_subchannel, p.copy(),
                   q.copy(), allocation.edge_share),
    )  # fmt: skip
    # after: j offloads on the subchannels of some other user (or any), at max power
    split[j] = 0
    ul_sub, dl_sub = allocation.ul_subchannel.copy(), allocation.dl_subchannel.copy()
    ul_sub[j] = data.draw(st.sampled_from(ul_sub.tolist()))
    dl_sub[j] = data.draw(st.sampled_from(dl_sub.tolist()))
    p[j] = sc.user_max_power_w
    q[j] = max(0.0, sc.bs_max_power_w - (q.sum() - q[j]))
    after = evaluate(slot, Allocation(split, ul_sub, dl_sub, p, q, allocation.edge_share))
    others = np.arange(sc.num_users) != j
    assert np.all(after.ul_rate[others] <= before.ul_rate[others] * (1 + 1e-12))
    assert np.all(after.dl_rate[others] <= before.dl_rate[others] * (1 + 1e-12))
    # and j really interferes with someone when it shares a subchannel with them
    if sc.sic_residual > 0 and sc.access == "noma":
        own_gain = slot.ul_gain[np.arange(sc.num_users), ul_sub]
        cochannel = others & (ul_sub == ul_sub[j]) & (split < slot.num_layers) & (p * own_gain > 0)
        if cochannel.any() and slot.ul_gain[j, ul_sub[j]] > 0:
            assert np.any(after.ul_rate[cochannel] < before.ul_rate[cochannel])
