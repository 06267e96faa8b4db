"""Li-GD's search reaches the optimum where it used to stop short, and stops only when
no user and no subchannel relabelling can improve the slot."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import agents
from agents.li_gd import Candidate, Point, SlotProblem
from noma_split_env import Allocation, NomaSplitEnv, Scenario, Slot, evaluate

DATA = Path(__file__).parent / "data"
REGRESSIONS = json.loads((DATA / "li_gd_regressions.json").read_text())
DEFAULT_REGRESSIONS = json.loads((DATA / "li_gd_default_regressions.json").read_text())


def regression_case(case: dict) -> tuple[Slot, Allocation]:
    sc = Scenario(**case["scenario"])
    slot = Slot.from_arrays(
        sc, np.array(case["ul_gain"]), np.array(case["dl_gain"]), case["models"]
    )
    optimum = Allocation(**{k: np.array(v) for k, v in case["optimum"].items()})
    return slot, optimum


@pytest.mark.parametrize("name", ["li-gd", "gd"])
@pytest.mark.parametrize("case", REGRESSIONS["cases"], ids=lambda c: c["name"])
def test_reaches_the_exhaustive_optimum_where_it_stopped_short(case: dict, name: str) -> None:
    """K=3, N=2 slots (NOMA and OMA) where Li-GD ended 0.02-11.6% above the exhaustive
    optimum: the optimum needed a whole subchannel group relabelled, a user going
    local while another takes its subchannel, two local users entering together, or
    a recheck of the last mover."""
    slot, optimum = regression_case(case)
    best = evaluate(slot, optimum).cost
    cost = evaluate(slot, agents.make(name).act(slot)).cost
    assert cost <= best * (1 + 1e-6), (cost, best)


def default_case(case: dict) -> tuple[Slot, float]:
    slot = Slot.from_arrays(
        Scenario(**case["scenario"]),
        np.array(case["ul_gain"]),
        np.array(case["dl_gain"]),
        case["models"],
    )
    reference = Allocation(**{k: np.array(v) for k, v in case["reference"].items()})
    return slot, evaluate(slot, reference).cost


@pytest.mark.parametrize("case", DEFAULT_REGRESSIONS["cases"], ids=lambda c: c["name"])
def test_reaches_the_multi_start_cost_on_default_where_it_stopped_short(case: dict) -> None:
    """``default`` slots where Li-GD ended 0.5-11% above a randomized multi-start search:
    a local user had to enter on another subchannel or with a partner moving away, a
    regrouping paid only with the groups on each other's subchannels, two users had
    to change split together (found from the all-local start), a local user had to
    take a same-model partner's split (the partner going local) and then move to
    another subchannel (seed 2 slot 141), or a subchannel move's descent had to cross
    a ridge before it paid (seed 3 slot 157)."""
    slot, reference = default_case(case)
    assert reference == pytest.approx(case["reference_cost"], rel=1e-12)
    cost = evaluate(slot, agents.make("li-gd").act(slot)).cost
    assert cost <= reference * (1 + 1e-6), (cost, reference)


def test_the_default_regressions_do_fail_with_the_joint_start_alone() -> None:
    """The cases above are real traps, and the all-local start is what closes several of
    them: with the joint start alone at least a third still end 0.1% above."""
    caught = 0
    for case in DEFAULT_REGRESSIONS["cases"]:
        slot, reference = default_case(case)
        cost = evaluate(slot, agents.make("li-gd", starts=("joint",)).act(slot)).cost
        caught += cost > reference * 1.001
    assert caught >= len(DEFAULT_REGRESSIONS["cases"]) // 3


def settled(agent, slot: Slot, allocation: Allocation) -> list[float]:
    """How much each user's own best move (the search's user update) and the best
    subchannel relabelling still improve on ``allocation``."""
    prob = SlotProblem(slot)
    e = allocation.edge_share if allocation.edge_share is not None else np.zeros(slot.num_users)
    point = Point(allocation.ul_power, allocation.dl_power, e)
    cost = prob.cost(allocation.split, allocation.ul_subchannel, allocation.dl_subchannel, point)
    state = Candidate(
        cost, allocation.split, allocation.ul_subchannel, allocation.dl_subchannel, point
    )
    gains = [cost - agent._best_for_user(prob, k, state).cost for k in range(slot.num_users)]
    return [*gains, cost - agent._best_relabel(prob, state).cost]


@pytest.mark.parametrize("access", ["noma", "oma"])
def test_the_search_stops_only_when_every_user_is_settled(access: str) -> None:
    """The stopping rule: no user update and no relabelling improves the result by more
    than the search's tolerance (the last mover used to count as settled even after a
    subchannel move or a swap)."""
    env = NomaSplitEnv(Scenario.preset("default", access=access))
    env.reset(seed=21)
    agent = agents.make("li-gd")
    for _ in range(4):
        slot = env.slot
        allocation = agent.act(slot)
        tolerance = 10 * agent.sweep_tol * max(1.0, agent.stats.extra["cost"])
        assert max(settled(agent, slot, allocation)) <= tolerance
        env.step_allocation(allocation)


@pytest.mark.slow
@pytest.mark.parametrize("access", ["noma", "oma"])
def test_medium_instances_against_exhaustive(access: str) -> None:
    """K=3, N=2 AlexNet slots on fresh seeds: within 0.5% of the exhaustive optimum."""
    sc = Scenario(num_users=3, num_subchannels=2, models=("alexnet",), access=access)
    env = NomaSplitEnv(sc)
    env.reset(seed=101)
    exhaustive = agents.make("exhaustive", max_combinations=10**6)
    li_gd = agents.make("li-gd")
    for _ in range(4):
        slot = env.slot
        best = evaluate(slot, exhaustive.act(slot)).cost
        assert evaluate(slot, li_gd.act(slot)).cost <= best * 1.005
        env.step_allocation(Allocation.all_local(slot))
