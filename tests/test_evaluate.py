"""The one cost function against hand computation of docs/model.md, sections 4-5."""

from __future__ import annotations

import math

import numpy as np
import pytest

from noma_split_env import Allocation, DnnProfile, Scenario, Slot, evaluate

REL = 1e-9

TOY = DnnProfile(
    name="toy",
    input_shape=(2000,),
    layer_names=("a", "b", "c"),
    layer_flops=np.array([1e9, 2e9, 3e9]),
    layer_output_shapes=((1000,), (500,), (10,)),
)
# D(s) at 8 bits per element: 16000, 8000, 4000, 0; D_out = 10 x 8 = 80 bit.


def two_user_scenario(**overrides: object) -> Scenario:
    base = dict(
        num_users=2,
        num_subchannels=1,
        models=(TOY,),
        ul_bandwidth_hz=1e6,
        dl_bandwidth_hz=2e6,
        sic_residual=0.1,
        latency_weight=0.3,
        deadline_s=0.5,
        miss_penalty=2.0,
    )
    base.update(overrides)
    return Scenario(**base)


def hand_outcome(sc: Scenario, g_ul, g_dl, split, p, q, share=None):
    """The formulas of docs/model.md written out for K=2 on one subchannel (distinct gains)."""
    d = {0: 16000.0, 1: 8000.0, 2: 4000.0, 3: 0.0}
    w_dev = {0: 0.0, 1: 1e9, 2: 3e9, 3: 6e9}
    s2_ul = 10 ** ((sc.noise_dbm_hz + sc.bs_noise_figure_db) / 10) * 1e-3 * sc.ul_bandwidth_hz
    s2_dl = 10 ** ((sc.noise_dbm_hz + sc.ue_noise_figure_db) / 10) * 1e-3 * sc.dl_bandwidth_hz
    psi = sc.sic_residual
    active = [s < 3 for s in split]
    if sc.access == "noma":
        ul, dl = [], []
        for k in range(2):
            j = 1 - k
            # uplink: the weaker user is interference, the stronger one leaves psi
            ul_weight = 1.0 if g_ul[j] < g_ul[k] else psi
            ul.append(p[k] * g_ul[k] / (ul_weight * p[j] * g_ul[j] * active[j] + s2_ul))
            # downlink: the stronger user's signal is interference, the weaker's psi
            dl_weight = 1.0 if g_dl[j] > g_dl[k] else psi
            dl.append(q[k] * g_dl[k] / (dl_weight * g_dl[k] * q[j] * active[j] + s2_dl))
        b_ul = [sc.ul_bandwidth_hz] * 2
        b_dl = [sc.dl_bandwidth_hz] * 2
    else:
        m = sum(active)
        ul = [p[i] * g_ul[i] / (s2_ul / m) for i in range(2)]
        dl = [q[i] * g_dl[i] / (s2_dl / m) for i in range(2)]
        b_ul = [sc.ul_bandwidth_hz / m] * 2
        b_dl = [sc.dl_bandwidth_hz / m] * 2
    n_off = sum(active)
    out = []
    for k in range(2):
        s = split[k]
        if not active[k]:
            ul[k] = dl[k] = 0.0
        r_ul = b_ul[k] * math.log2(1 + ul[k])
        r_dl = b_dl[k] * math.log2(1 + dl[k])
        e_share = (1 / n_off if active[k] else 0.0) if share is None else share[k]
        f_e = e_share * sc.edge_freq_hz
        t_loc = w_dev[s] / (sc.device_freq_hz * sc.device_flops_per_cycle)
        e_loc = sc.device_capacitance * sc.device_freq_hz**2 * w_dev[s] / sc.device_flops_per_cycle
        t_up = d[s] / r_ul if d[s] else 0.0
        w_edge = 6e9 - w_dev[s]
        t_edge = w_edge / (f_e * sc.edge_flops_per_cycle) if w_edge else 0.0
        e_edge = sc.edge_capacitance * f_e**2 * w_edge / sc.edge_flops_per_cycle
        t_dl = 80.0 / r_dl if active[k] else 0.0
        latency = t_loc + t_up + t_edge + t_dl
        energy = e_loc + p[k] * t_up + e_edge + q[k] * t_dl
        t_ref = 6e9 / (sc.device_freq_hz * sc.device_flops_per_cycle)
        e_ref = sc.device_capacitance * sc.device_freq_hz**2 * 6e9 / sc.device_flops_per_cycle
        lam = sc.latency_weight
        cost = lam * latency / t_ref + (1 - lam) * energy / e_ref
        out.append(
            dict(
                ul_sinr=ul[k], dl_sinr=dl[k], ul_rate=r_ul, dl_rate=r_dl, t_local=t_loc,
                t_up=t_up, t_edge=t_edge, t_dl=t_dl, e_local=e_loc, e_up=p[k] * t_up,
                e_edge=e_edge, e_dl=q[k] * t_dl, latency=latency, energy=energy,
                user_cost=cost, miss=latency > sc.deadline_s,
            )
        )  # fmt: skip
    return out


def score(sc, g_ul, g_dl, split, p, q, share=None):
    slot = Slot.from_arrays(sc, np.array(g_ul)[:, None], np.array(g_dl)[:, None])
    alloc = Allocation(
        split=np.array(split),
        ul_subchannel=np.zeros(2, dtype=np.int64),
        dl_subchannel=np.zeros(2, dtype=np.int64),
        ul_power=np.array(p, dtype=float),
        dl_power=np.array(q, dtype=float),
        edge_share=None if share is None else np.array(share, dtype=float),
    )
    return evaluate(slot, alloc)


CASES = [
    # gains (strong user first), splits, powers
    dict(g_ul=[3e-10, 4e-11], g_dl=[5e-10, 2e-11], split=[1, 0], p=[0.1, 0.2], q=[2.0, 6.0]),
    dict(g_ul=[3e-10, 4e-11], g_dl=[5e-10, 2e-11], split=[2, 3], p=[0.05, 0.2], q=[1.0, 0.0]),
    dict(g_ul=[1e-9, 1e-12], g_dl=[2e-12, 1e-9], split=[0, 2], p=[0.2, 0.2], q=[5.0, 5.0]),
]


@pytest.mark.parametrize("access", ["noma", "oma"])
@pytest.mark.parametrize("case", CASES)
def test_two_user_one_subchannel_matches_hand_computation(access, case):
    sc = two_user_scenario(access=access)
    out = score(sc, **case)
    expected = hand_outcome(sc, **case)
    for k in range(2):
        for name, value in expected[k].items():
            got = getattr(out, name)[k]
            if name == "miss":
                assert bool(got) == value
            else:
                assert got == pytest.approx(value, rel=REL, abs=1e-300), (access, name, k)
    user_costs = [e["user_cost"] for e in expected]
    misses = sum(e["miss"] for e in expected)
    assert out.cost == pytest.approx(np.mean(user_costs) + sc.miss_penalty * misses / 2, rel=REL)
    assert out.cost == pytest.approx(out.latency_term + out.energy_term + out.miss_term, rel=REL)


def test_downlink_order_follows_downlink_gain():
    """The strong downlink user (index 1 here) sees no intra-cell interference."""
    sc = two_user_scenario(sic_residual=0.0)
    out = score(sc, g_ul=[1e-9, 1e-12], g_dl=[2e-12, 1e-9], split=[0, 2], p=[0.2, 0.2], q=[5, 5])
    s2 = sc.dl_noise_w
    assert out.dl_sinr[1] == pytest.approx(5 * 1e-9 / s2, rel=REL)
    assert out.dl_sinr[0] == pytest.approx(5 * 2e-12 / (2e-12 * 5 + s2), rel=REL)


def test_explicit_edge_share():
    sc = two_user_scenario(allocate_edge_share=True)
    case = dict(CASES[0], share=[0.7, 0.2])
    out = score(sc, **case)
    expected = hand_outcome(sc, **case)
    for k in range(2):
        assert out.t_edge[k] == pytest.approx(expected[k]["t_edge"], rel=REL)
        assert out.e_edge[k] == pytest.approx(expected[k]["e_edge"], rel=REL)
    assert out.edge_share.tolist() == [0.7, 0.2]


def test_all_local_costs_exactly_one():
    sc = Scenario.preset("default")
    rng = np.random.default_rng(0)
    slot = Slot.from_arrays(
        sc, rng.exponential(1e-10, (4, 2)), rng.exponential(1e-10, (4, 2)), models=sc.models
    )
    out = evaluate(slot, Allocation.all_local(slot))
    np.testing.assert_allclose(out.user_cost, 1.0, rtol=1e-12)
    assert out.cost == pytest.approx(1.0, rel=1e-12)
    assert np.all(out.ul_rate == 0) and np.all(out.t_up == 0)


def test_zero_rate_is_capped_not_infinite():
    sc = two_user_scenario(latency_cap_s=3.0)
    out = score(sc, g_ul=[3e-10, 4e-11], g_dl=[5e-10, 2e-11], split=[0, 0], p=[0.0, 0.2], q=[0, 0])
    assert out.t_up[0] == 3.0 and out.t_dl[0] == 3.0 and out.t_dl[1] == 3.0
    assert np.isfinite(out.cost)


def test_zero_edge_share_is_capped():
    sc = two_user_scenario(allocate_edge_share=True, latency_cap_s=2.0)
    out = score(sc, **dict(CASES[0], share=[0.0, 1.0]))
    assert out.t_edge[0] == 2.0 and out.e_edge[0] == 0.0


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("split", np.array([4, 0]), "Allocation.split"),
        ("split", np.array([1.0, 0.0]), "Allocation.split"),
        ("ul_subchannel", np.array([1, 0]), "Allocation.ul_subchannel"),
        ("ul_power", np.array([0.3, 0.1]), "Allocation.ul_power"),
        ("ul_power", np.array([np.nan, 0.1]), "Allocation.ul_power"),
        ("dl_power", np.array([6.0, 6.0]), "Allocation.dl_power"),
        ("dl_power", np.array([1.0]), "Allocation.dl_power"),
        ("edge_share", np.array([0.6, 0.6]), "Allocation.edge_share"),
    ],
)
def test_invalid_allocation_names_the_field(field, value, message):
    sc = two_user_scenario()
    slot = Slot.from_arrays(sc, np.full((2, 1), 1e-10), np.full((2, 1), 1e-10))
    fields = dict(
        split=np.array([1, 0]),
        ul_subchannel=np.zeros(2, dtype=np.int64),
        dl_subchannel=np.zeros(2, dtype=np.int64),
        ul_power=np.array([0.1, 0.1]),
        dl_power=np.array([1.0, 1.0]),
    )
    fields[field] = value
    with pytest.raises(ValueError, match=message):
        evaluate(slot, Allocation(**fields))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(ul_gain=np.full((2, 2), 1e-10)), "Slot.ul_gain"),
        (dict(ul_gain=np.array([[np.inf], [1.0]])), "Slot.ul_gain"),
        (dict(dl_gain=np.array([[-1.0], [1.0]])), "Slot.dl_gain"),
        (dict(models=["resnet18", "toy"]), "Slot.models"),
        (dict(distance_m=np.array([1.0, 100.0])), "Slot.distance_m"),
    ],
)
def test_invalid_slot_names_the_field(kwargs, message):
    sc = two_user_scenario()
    args = dict(ul_gain=np.full((2, 1), 1e-10), dl_gain=np.full((2, 1), 1e-10))
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        Slot.from_arrays(sc, **args)


def test_the_kernel_parts_are_outcome_arrays_in_their_order() -> None:
    """``evaluate`` unpacks the kernel's stacked parts into :class:`Outcome` by position:
    the two lists of names must stay in step."""
    from dataclasses import fields

    from noma_split_env.evaluate import PARTS, Outcome

    names = [f.name for f in fields(Outcome)]
    first = names.index(PARTS[0])
    assert tuple(names[first : first + len(PARTS)]) == PARTS


@pytest.mark.parametrize("share", [False, True])
def test_the_batch_kernel_is_evaluate_cell_by_cell(share) -> None:
    """``evaluate_batch_kernel`` (the vector env's step) writes each cell's parts array
    straight into its rows of the output: every row, ``failed`` included (0/1), equals
    ``evaluate`` of that cell's allocation, with failed tasks among them."""
    import gymnasium as gym

    from noma_split_env.evaluate import FAILED, PARTS, evaluate_batch_kernel, kernel_slot

    scenario = Scenario.preset("dense", allocate_edge_share=share)
    env = gym.make("NomaSplit-v0", scenario=scenario)
    env.reset(seed=3)
    rng = np.random.default_rng(0)
    k_users, n_sub = scenario.num_users, scenario.num_subchannels
    slots, allocations = [], []
    for _ in range(12):
        slot = env.unwrapped.slot
        env.unwrapped.step_allocation(Allocation.all_local(slot))
        on = rng.random(k_users) > 0.3  # some zero powers: failed tasks
        shares = rng.dirichlet(np.ones(k_users)) if share else None
        allocations.append(
            Allocation(
                split=rng.integers(0, slot.num_layers + 1).astype(np.int64),
                ul_subchannel=rng.integers(0, n_sub, k_users),
                dl_subchannel=rng.integers(0, n_sub, k_users),
                ul_power=rng.uniform(0, scenario.user_max_power_w, k_users) * on,
                dl_power=rng.uniform(0, scenario.bs_max_power_w / k_users, k_users) * on,
                edge_share=shares,
            )
        )
        slots.append(slot)
    fields = [kernel_slot(s) for s in slots]
    a = allocations
    batch = [np.stack([getattr(x, f) for x in a]) for f in
             ("split", "ul_subchannel", "dl_subchannel", "ul_power", "dl_power")]  # fmt: skip
    shares = np.stack([x.edge_share for x in a]) if share else batch[3]
    slot_arrays = [np.stack([f[j] for f in fields]) for j in range(len(fields[0]) - 1)]
    stacked, terms = evaluate_batch_kernel(
        *batch, shares, not share, False, *slot_arrays, fields[0].consts
    )
    failed = 0
    for b, (slot, allocation) in enumerate(zip(slots, allocations, strict=True)):
        out = evaluate(slot, allocation, check=False)
        for row, name in enumerate(PARTS):
            expected = np.asarray(getattr(out, name), dtype=np.float64)
            np.testing.assert_array_equal(stacked[b, row], expected, err_msg=name)
        assert terms[b, 0] + out.miss_term == pytest.approx(out.cost, rel=1e-15)
        failed += out.num_failed
    assert 0 < failed < stacked.shape[0] * k_users
    assert set(np.unique(stacked[:, FAILED])) == {0.0, 1.0}
