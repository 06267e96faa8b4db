"""Agents: the registry, and every agent's decisions on random scenarios and slots.

Agent-wide tests are parametrized over the built-in heuristics plus whatever
``agents.available()`` lists at collection time, so new solvers are covered as they
are registered.
"""

from __future__ import annotations

import inspect
from importlib.metadata import EntryPoint

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import agents
import agents.base
from agents.base import Agent, AgentStats, BaseAgent
from agents.heuristics import (
    AllEdge,
    AllLocal,
    Greedy,
    RandomAgent,
    allocation_for_splits,
    balanced_subchannels,
)
from noma_split_env import Allocation, NomaSplitEnv, Scenario, Slot, evaluate

HEURISTICS = ("all-local", "all-edge", "random", "greedy")
NEEDS_TRAINED_MODEL = {"sb3"}
"""Agents that act only with a trained model (``path=``): tests/test_sb3_agent.py
trains one and checks its allocations."""
ALL_AGENTS = tuple(
    n for n in dict.fromkeys((*HEURISTICS, *agents.available())) if n not in NEEDS_TRAINED_MODEL
)
MODELS = ("alexnet", "resnet18", "mobilenet_v2")
ANY_WEIGHT = st.floats(0.0, 1.0)
AGENT_KWARGS = {"exhaustive": {"max_combinations": 200}}
"""Constructor arguments for agent-wide tests: exhaustive search refuses (documented
``ValueError``) slots beyond 200 combinations, which keeps each example below ~0.3 s."""
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --------------------------------------------------------------------------- strategies
@st.composite
def random_slots(draw: st.DrawFn, latency_weights: st.SearchStrategy[float] = ANY_WEIGHT) -> Slot:
    """A slot of a random small scenario: K in 1..6, N in 1..3, NOMA or OMA, edge shares
    allocated or not, a model mix from MODELS, a latency weight from ``latency_weights``,
    gains of -150..-70 dB path loss times Rayleigh fading (some exactly 0), random
    models per user."""
    k = draw(st.integers(1, 6), label="K")
    n = draw(st.integers(1, 3), label="N")
    mix = draw(st.lists(st.sampled_from(MODELS), min_size=1, max_size=3, unique=True))
    scenario = Scenario(
        num_users=k,
        num_subchannels=n,
        access=draw(st.sampled_from(["noma", "oma"])),
        allocate_edge_share=draw(st.booleans()),
        models=tuple(mix),
        latency_weight=draw(latency_weights),
    )
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1), label="gain seed"))
    beta_db = rng.uniform(-150.0, -70.0, size=(2, k, 1))
    gains = 10.0 ** (beta_db / 10.0) * rng.standard_exponential((2, k, n))
    gains[rng.random((2, k, n)) < 0.05] = 0.0  # deep fades: exactly zero gain
    models = rng.integers(0, len(mix), size=k)
    return Slot.from_arrays(scenario, gains[0], gains[1], models=models)


def default_slots(num_seeds: int = 3, steps: int = 5) -> list[Slot]:
    """Slots of the default scenario as the environment draws them."""
    env = NomaSplitEnv("default")
    slots = []
    for seed in range(num_seeds):
        env.reset(seed=seed)
        for _ in range(steps):
            slots.append(env.slot)
            env.step_allocation(Allocation.all_local(env.slot))
    return slots


def make_or_skip(name: str) -> Agent:
    """``agents.make(name, **AGENT_KWARGS[name])``; skips agents that need arguments."""
    factory = agents.base._factory(name)
    try:
        params = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):  # no signature: just try
        params = ()
    required = [
        p.name
        for p in params
        if p.default is p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]
    if required:
        pytest.skip(f"agent {name!r} needs constructor arguments {required}")
    return agents.make(name, **AGENT_KWARGS.get(name, {}))


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> dict:
    """A private copy of the registry, so tests can register without side effects."""
    copy = dict(agents.base._REGISTRY)
    monkeypatch.setattr(agents.base, "_REGISTRY", copy)
    return copy


# --------------------------------------------------------------------------- registry
def test_available_lists_the_heuristics_sorted():
    names = agents.available()
    assert set(HEURISTICS) <= set(names)
    assert list(names) == sorted(names)


@pytest.mark.parametrize("name", HEURISTICS)
def test_make_builds_a_fresh_agent_of_the_protocol(name):
    a, b = agents.make(name), agents.make(name)
    assert a is not b
    assert isinstance(a, Agent)
    assert isinstance(a.stats, AgentStats)
    assert a.name == name


def test_make_unknown_name_lists_every_choice():
    with pytest.raises(ValueError, match="unknown agent 'no-such-agent'") as err:
        agents.make("no-such-agent")
    for name in agents.available():
        assert name in str(err.value)


def test_make_passes_keyword_arguments():
    agent = agents.make("greedy", max_sweeps=1)
    assert agent.max_sweeps == 1


def test_third_party_registration(registry):
    class Constant(BaseAgent):
        name = "constant"

        def __init__(self, power: float = 0.0) -> None:
            super().__init__()
            self.power = power

        def _act(self, slot: Slot) -> Allocation:
            return Allocation.all_local(slot)

    agents.register("constant", Constant)
    assert "constant" in agents.available()
    agent = agents.make("constant", power=0.1)
    assert isinstance(agent, Constant) and agent.power == 0.1
    slot = default_slots(1, 1)[0]
    assert evaluate(slot, agent.act(slot)).cost == 1.0


@pytest.mark.parametrize("name", ["", None, 3])
def test_register_rejects_bad_names(name, registry):
    with pytest.raises(ValueError, match="agents.register"):
        agents.register(name, AllLocal)


def test_register_rejects_a_non_callable_factory(registry):
    with pytest.raises(ValueError, match="factory"):
        agents.register("broken", object())


def test_entry_point_discovery(registry, monkeypatch):
    plugin = EntryPoint("x-plugin", "agents.heuristics:AllLocal", agents.ENTRY_POINT_GROUP)

    def fake_entry_points(*, group: str):
        return [plugin] if group == agents.ENTRY_POINT_GROUP else []

    monkeypatch.setattr(agents.base, "entry_points", fake_entry_points)
    assert "x-plugin" in agents.available()
    assert set(HEURISTICS) <= set(agents.available())
    assert isinstance(agents.make("x-plugin"), AllLocal)


def test_registered_name_wins_over_an_entry_point(registry, monkeypatch):
    plugin = EntryPoint("greedy", "agents.heuristics:AllLocal", agents.ENTRY_POINT_GROUP)
    monkeypatch.setattr(agents.base, "entry_points", lambda *, group: [plugin])
    assert agents.available().count("greedy") == 1
    assert isinstance(agents.make("greedy"), Greedy)


def test_broken_entry_point_fails_only_itself(registry, monkeypatch):
    plugin = EntryPoint("broken", "no_such_module_xyz:Agent", agents.ENTRY_POINT_GROUP)
    monkeypatch.setattr(agents.base, "entry_points", lambda *, group: [plugin])
    assert "broken" in agents.available()
    assert isinstance(agents.make("all-local"), AllLocal)
    with pytest.raises(ValueError, match="no_such_module_xyz:Agent"):
        agents.make("broken")


def test_base_agent_times_act_and_resets_stats():
    class Counting(BaseAgent):
        def _act(self, slot: Slot) -> Allocation:
            self.stats.iterations += 1
            return Allocation.all_local(slot)

    agent = Counting()
    slot = default_slots(1, 1)[0]
    agent.act(slot)
    agent.act(slot)
    assert agent.stats.iterations == 1  # fresh stats per call
    assert agent.stats.wall_time_s >= 0.0
    with pytest.raises(NotImplementedError, match="_act"):
        BaseAgent().act(slot)


# --------------------------------------------------------------------------- every agent
@pytest.mark.parametrize("name", ALL_AGENTS)
@SETTINGS
@given(slot=random_slots())
def test_agent_returns_a_valid_allocation(name, slot):
    agent = make_or_skip(name)
    agent.reset(0)
    try:
        allocation = agent.act(slot)
    except ValueError as error:
        if name == "exhaustive":  # documented: refuses problems too large to enumerate
            return
        if name == "pretrained" and "which does not fit scenario" in str(error):
            return  # documented: acts only on scenarios shaped like its training one
        raise
    assert isinstance(allocation, Allocation)
    out = evaluate(slot, allocation)  # checks the domain: raises if invalid
    assert np.isfinite(out.cost) and out.cost >= 0.0
    assert np.all(np.isfinite(out.user_cost))


@pytest.mark.parametrize("name", HEURISTICS)
@SETTINGS
@given(slot=random_slots())
def test_heuristic_local_users_get_zero_powers(name, slot):
    allocation = agents.make(name, **({"seed": 0} if name == "random" else {})).act(slot)
    local = np.asarray(allocation.split) == slot.num_layers
    assert np.all(np.asarray(allocation.ul_power)[local] == 0.0)
    assert np.all(np.asarray(allocation.dl_power)[local] == 0.0)
    if allocation.edge_share is not None:
        assert np.all(np.asarray(allocation.edge_share)[local] == 0.0)


# --------------------------------------------------------------------------- all-local
@SETTINGS
@given(slot=random_slots(latency_weights=st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0])))
def test_all_local_costs_exactly_one(slot):
    out = evaluate(slot, AllLocal().act(slot))
    assert out.cost == 1.0
    np.testing.assert_array_equal(out.user_cost, np.ones(slot.num_users))
    np.testing.assert_array_equal(out.latency, slot.t_ref)


@SETTINGS
@given(slot=random_slots())
def test_all_local_costs_exactly_one_for_random_slots(slot):
    out = evaluate(slot, AllLocal().act(slot))
    assert out.cost == 1.0


@pytest.mark.parametrize("latency_weight", np.linspace(0.0, 1.0, 101))
def test_all_local_costs_exactly_one_for_any_latency_weight(latency_weight):
    sc = Scenario(
        num_users=1, num_subchannels=1, models=("resnet18",), latency_weight=latency_weight
    )
    gain = np.full((1, 1), 1e-12)
    slot = Slot.from_arrays(sc, gain, gain)
    assert evaluate(slot, AllLocal().act(slot)).cost == 1.0


# --------------------------------------------------------------------------- all-edge
@SETTINGS
@given(slot=random_slots())
def test_all_edge_offloads_everything_at_full_power(slot):
    sc = slot.scenario
    a = AllEdge().act(slot)
    k = slot.num_users
    np.testing.assert_array_equal(a.split, np.zeros(k))
    np.testing.assert_array_equal(a.ul_power, np.full(k, sc.user_max_power_w))
    np.testing.assert_allclose(a.dl_power, np.full(k, sc.bs_max_power_w / k), rtol=1e-15)
    if sc.allocate_edge_share:
        np.testing.assert_allclose(a.edge_share, np.full(k, 1.0 / k), rtol=1e-15)
    else:
        assert a.edge_share is None
    for sub in (a.ul_subchannel, a.dl_subchannel):
        load = np.bincount(sub, minlength=sc.num_subchannels)
        assert load.max() - load.min() <= 1


def test_balanced_subchannels_deals_rounds_of_strong_and_weak_users():
    # 4 users, 2 subchannels; best gains rank the users 2 > 0 > 3 > 1
    gain = np.array(
        [
            [5.0, 6.0],  # user 0, best on subchannel 1
            [1.0, 0.5],  # user 1, best on 0
            [9.0, 1.0],  # user 2, best on 0
            [2.0, 4.0],  # user 3, best on 1
        ]
    )
    active = np.ones(4, dtype=bool)
    # round 1: user 2 takes 0, user 0 takes its best, 1; round 2: user 3 takes 1, user 1 gets 0
    np.testing.assert_array_equal(balanced_subchannels(gain, active), [1, 0, 0, 1])
    # user 2 inactive: round 1 = users 0, 3 (0 takes 1, 3 gets 0); round 2 = user 1 takes 0
    active[2] = False
    np.testing.assert_array_equal(balanced_subchannels(gain, active), [1, 0, 0, 0])


@SETTINGS
@given(slot=random_slots())
def test_balanced_subchannels_one_user_per_subchannel_per_round(slot):
    n = slot.num_subchannels
    active = np.arange(slot.num_users) % 2 == 0
    sub = balanced_subchannels(slot.ul_gain, active)
    users = np.flatnonzero(active)
    ranked = users[np.argsort(-slot.ul_gain[users].max(axis=1), kind="stable")]
    for start in range(0, ranked.size, n):
        chosen = sub[ranked[start : start + n]]
        assert len(set(chosen.tolist())) == chosen.size


# --------------------------------------------------------------------------- random
def test_random_same_seed_same_decisions():
    slots = default_slots(2, 5)
    first = [RandomAgent(seed=7).act(s) for s in slots[:1]]
    a, b = RandomAgent(seed=7), RandomAgent(seed=7)
    run_a = [a.act(s) for s in slots]
    run_b = [b.act(s) for s in slots]
    assert run_a == run_b
    assert run_a[0] == first[0]
    a.reset(7)  # reset(seed) restarts the stream
    assert [a.act(s) for s in slots] == run_a
    c = RandomAgent(seed=8)
    assert [c.act(s) for s in slots] != run_a


def test_random_reset_none_continues_the_stream():
    slot = default_slots(1, 1)[0]
    a, b = RandomAgent(seed=1), RandomAgent(seed=1)
    a.act(slot)
    a.reset(None)
    b.act(slot)
    assert a.act(slot) == b.act(slot)


def test_random_covers_the_domain():
    slot = default_slots(1, 1)[0]
    sc = slot.scenario.replace(allocate_edge_share=True)
    slot = Slot.from_arrays(sc, slot.ul_gain, slot.dl_gain, models=slot.model_index)
    agent = RandomAgent(seed=0)
    allocations = [agent.act(slot) for _ in range(400)]
    split = np.array([a.split for a in allocations])
    assert np.all(split.min(axis=0) == 0)
    np.testing.assert_array_equal(split.max(axis=0), slot.num_layers)
    for a in allocations:
        active = a.split < slot.num_layers
        if active.any():
            assert a.dl_power.sum() == pytest.approx(sc.bs_max_power_w, rel=1e-12)
            assert a.edge_share.sum() == pytest.approx(1.0, rel=1e-12)
    ul = np.array([a.ul_subchannel for a in allocations])
    assert set(np.unique(ul)) == set(range(sc.num_subchannels))


# --------------------------------------------------------------------------- greedy
def _cost(slot: Slot, split: np.ndarray) -> float:
    return evaluate(slot, allocation_for_splits(slot, split)).cost


def test_heuristics_are_the_shared_rule_at_the_extremes():
    # what makes "greedy <= min(all-local, all-edge)" hold by construction
    for slot in default_slots(2, 3):
        local = slot.num_layers.astype(np.int64)
        assert _cost(slot, local) == evaluate(slot, AllLocal().act(slot)).cost == 1.0
        assert AllEdge().act(slot) == allocation_for_splits(slot, np.zeros_like(local))


def test_greedy_never_worse_than_all_local_and_all_edge_on_default_slots():
    greedy = Greedy()
    for slot in default_slots(4, 10):
        g = evaluate(slot, greedy.act(slot)).cost
        bound = min(
            evaluate(slot, AllLocal().act(slot)).cost, evaluate(slot, AllEdge().act(slot)).cost
        )
        assert g <= bound
        assert greedy.stats.extra["cost"] == g


@SETTINGS
@given(slot=random_slots())
def test_greedy_never_worse_than_all_local_and_all_edge(slot):
    g = evaluate(slot, Greedy().act(slot)).cost
    assert g <= evaluate(slot, AllLocal().act(slot)).cost  # 1 up to rounding, see above
    assert g <= evaluate(slot, AllEdge().act(slot)).cost


@pytest.mark.parametrize("slot", default_slots(2, 3), ids=lambda s: "")
def test_greedy_stops_at_a_single_user_local_minimum(slot):
    greedy = Greedy(max_sweeps=50)
    allocation = greedy.act(slot)
    assert greedy.stats.iterations < 50  # converged: the last sweep changed nothing
    best = evaluate(slot, allocation).cost
    split = np.asarray(allocation.split)
    for k in range(slot.num_users):
        for s in range(int(slot.num_layers[k]) + 1):
            trial = split.copy()
            trial[k] = s
            assert _cost(slot, trial) >= best
    sweeps = greedy.stats.iterations
    assert greedy.stats.evaluations == 2 + sweeps * int(slot.num_layers.sum())


def test_greedy_single_sweep_is_no_better_than_converged():
    for slot in default_slots(2, 5):
        one = evaluate(slot, Greedy(max_sweeps=1).act(slot)).cost
        full = evaluate(slot, Greedy().act(slot)).cost
        assert full <= one


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, None])
def test_greedy_rejects_bad_max_sweeps(bad):
    with pytest.raises(ValueError, match="Greedy.max_sweeps"):
        Greedy(max_sweeps=bad)
