"""``agents.Refined`` / ``agents.refine.refine``: single-user moves that never raise
the cost, stop when no move helps, and undo the mistakes they are meant for."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import agents
from agents.refine import refine
from noma_split_env import NomaSplitEnv, Scenario, evaluate


def slots(preset: str, n: int, seed: int = 0, **overrides):
    env = NomaSplitEnv(Scenario.preset(preset, **overrides))
    env.reset(seed=seed)
    for _ in range(n):
        yield env.slot
        env.step_allocation(agents.make("all-local").act(env.slot))


@pytest.mark.parametrize(
    ("preset", "overrides"),
    [("default", {}), ("dense", {}), ("default", {"access": "oma"}),
     ("default", {"allocate_edge_share": True})],
)  # fmt: skip
@pytest.mark.parametrize("base", ["random", "all-edge", "greedy"])
def test_never_worse_and_valid(preset, overrides, base) -> None:
    agent = agents.make(base)
    agent.reset(3)
    for slot in slots(preset, 6, **overrides):
        start = agent.act(slot)
        better, evaluations = refine(slot, start, rounds=2)
        better.check(slot)
        assert evaluate(slot, better).cost <= evaluate(slot, start).cost
        k, n = slot.num_users, slot.scenario.num_subchannels
        assert 1 <= evaluations <= 1 + 2 * k * (1 + 2 * (n - 1))
        # with rounds enough to stop by itself, the result is a fixed point
        settled, _ = refine(slot, start, rounds=50)
        again, more = refine(slot, settled, rounds=1)
        assert evaluate(slot, again).cost == evaluate(slot, settled).cost
        assert more <= 1 + k * (1 + 2 * (n - 1))


def test_it_undoes_an_offload_over_a_dead_channel() -> None:
    """All-edge with one user's uplink gains at -200 dB: it stalls, and going local is
    the single move that fixes it."""
    slot = next(slots("default", 1))
    dead = slot.ul_gain.copy()
    dead[0] = 1e-20
    bad = dataclasses.replace(slot, ul_gain=dead)
    allocation = agents.make("all-edge").act(bad)
    fixed, _ = refine(bad, allocation)
    assert fixed.split[0] == bad.num_layers[0]
    assert evaluate(bad, fixed).cost < 0.5 * evaluate(bad, allocation).cost


def test_the_agent_wraps_any_agent() -> None:
    refined = agents.make("refined", base="random", rounds=1)
    plain = agents.make("random")
    refined.reset(5)
    plain.reset(5)
    for slot in slots("default", 4):
        mine, theirs = refined.act(slot), plain.act(slot)
        assert evaluate(slot, mine).cost <= evaluate(slot, theirs).cost
        assert refined.stats.evaluations >= 1
    assert repr(refined).startswith("Refined(base=")
    with pytest.raises(ValueError, match=r"Refined.rounds: got 0, allowed: an integer >= 1"):
        agents.Refined("greedy", rounds=0)


def test_pretrained_refine_zero_is_the_policy_alone() -> None:
    from train.pretrained import PRETRAINED_DIR
    from train.sb3_agent import SB3Agent

    alone = agents.make("pretrained", scenario="default", refine=0)
    policy = SB3Agent(PRETRAINED_DIR / "default")
    refined = agents.make("pretrained", scenario="default")
    for slot in slots("default", 5, seed=2):
        a, b = alone.act(slot), policy.act(slot)
        np.testing.assert_array_equal(a.split, b.split)
        np.testing.assert_array_equal(a.dl_power, b.dl_power)
        assert evaluate(slot, refined.act(slot)).cost <= evaluate(slot, a).cost
    with pytest.raises(ValueError, match=r"refine: got -1, allowed: an integer >= 0"):
        agents.make("pretrained", scenario="default", refine=-1)


def _reference(slot, allocation, rounds=2):
    """The passes written out with ``evaluate`` per move (module docstring): user by
    user, local, then each other uplink, then each other downlink subchannel; the
    first of the cheapest taken if it lowers the slot cost."""
    best, evaluations = evaluate(slot, allocation).cost, 1
    n = slot.scenario.num_subchannels
    for _ in range(rounds):
        moved = False
        for k in range(slot.num_users):
            if allocation.split[k] >= slot.num_layers[k]:
                continue
            moves = [("split", int(slot.num_layers[k]))]
            moves += [("ul_subchannel", c) for c in range(n) if c != allocation.ul_subchannel[k]]
            moves += [("dl_subchannel", c) for c in range(n) if c != allocation.dl_subchannel[k]]
            tried = []
            for field, value in moves:
                changed = np.array(getattr(allocation, field), copy=True)
                changed[k] = value
                tried.append(dataclasses.replace(allocation, **{field: changed}))
            costs = [evaluate(slot, a).cost for a in tried]
            evaluations += len(moves)
            i = int(np.argmin(costs))
            if costs[i] < best:
                allocation, best, moved = tried[i], costs[i], True
        if not moved:
            break
    return allocation, evaluations


@pytest.mark.parametrize(
    ("preset", "overrides"),
    [("default", {}), ("dense", {}), ("default", {"access": "oma"}),
     ("default", {"allocate_edge_share": True}), ("tiny", {"deadline_s": 0.2})],
)  # fmt: skip
def test_the_compiled_passes_are_the_written_out_ones(preset, overrides) -> None:
    """The compiled passes (one numba call) give the allocation and the evaluation
    count of the same passes made move by move with ``evaluate``."""
    base = agents.make("random")
    base.reset(seed=1)
    for i, slot in enumerate(slots(preset, 12, seed=3, **overrides)):
        start = agents.make("all-edge").act(slot) if i % 2 else base.act(slot)
        got, got_evaluations = refine(slot, start)
        want, want_evaluations = _reference(slot, start)
        assert got_evaluations == want_evaluations
        for field in ("split", "ul_subchannel", "dl_subchannel", "ul_power", "dl_power"):
            np.testing.assert_array_equal(getattr(got, field), getattr(want, field))
        assert evaluate(slot, got).cost == evaluate(slot, want).cost
