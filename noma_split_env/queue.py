"""``NomaSplit-queue-v0``: queued tasks, deadlines across slots and batteries.

The same cell as ``NomaSplit-v0`` (channels, NOMA links, DNN splits and the one cost
function :func:`~noma_split_env.evaluate`), but tasks arrive at random and a device
serves them one after the other, so a slot's decision shapes the slots after it
(docs/model.md section 12):

* Each slot every user gets new tasks (Bernoulli or Poisson, ``arrival_rate`` per
  slot) into a FIFO queue of ``queue_capacity`` tasks; an arrival to a full queue is
  dropped.
* The task at the head of the queue is in service. Its split is chosen in the slot it
  starts and kept; the work left (local FLOP, upload bits, edge FLOP, download bits)
  carries over from slot to slot. A slot's rates, shares and powers are those that
  :func:`~noma_split_env.evaluate` gives the slot's allocation, the stages run one
  after the other for at most ``slot_duration_s``, and a finished task leaves the
  queue at the end of its slot.
* A task not done within ``task_deadline_slots`` of its arrival is abandoned (a miss).
* With ``battery_capacity_j`` set, the device's computing and transmission draw on a
  battery refilled by exponential harvests of mean ``harvest_mean_j`` per slot; a
  device with an empty battery can neither compute nor transmit.

Agents keep ``act(slot)``: :attr:`QueueEnv.slot` is a :class:`QueueSlot`, a
:class:`~noma_split_env.Slot` whose per-split tables hold the work left of each
user's head task (a task in service offers two "splits": 0 = go on, 1 = finish
locally from the device's own activations; a local task or an idle user offers only
0), plus the queue and battery state. Every v0 solver therefore solves the head tasks
as in v0; ``agents.make("lyapunov")`` weighs them by the queues behind them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from noma_split_env.actions import ActionDecoder
from noma_split_env.dynamics import CellDynamics
from noma_split_env.env import INFO_LEVELS
from noma_split_env.evaluate import Outcome, evaluate
from noma_split_env.observation import encode, num_features
from noma_split_env.scenario import Scenario
from noma_split_env.slot import Allocation, Slot, task_arrays

__all__ = [
    "FRESH",
    "IDLE",
    "LOCAL",
    "OFFLOADING",
    "QUEUE_DEFAULTS",
    "QUEUE_FEATURES",
    "QueueEnv",
    "QueueSlot",
    "queue_features",
    "queue_observation",
]

QUEUE_DEFAULTS: dict[str, Any] = {"slot_duration_s": 0.1, "max_episode_steps": 500}
"""Scenario fields the queued env sets on a preset named by string (before the
caller's overrides): 100 ms slots, so that a task spans slots (ResNet-50 takes 143 ms
on the device, VGG16 538 ms), and 500 slots (50 s) per episode."""

IDLE, FRESH, OFFLOADING, LOCAL = 0, 1, 2, 3
""":attr:`QueueSlot.head_state`: no task; a task not started (any split); a task in
service with a split below its last layer; a task finishing on the device."""

QUEUE_FEATURES = 6
"""Features per user the queued observation adds to v0's (:func:`queue_features`)."""


@dataclass(frozen=True, eq=False)
class QueueSlot(Slot):
    """A :class:`~noma_split_env.Slot` of the queued env: the tables describe each
    user's head task as it stands (module docstring), and these fields the queues.

    Attributes:
        queue_length: ``[K]`` tasks at the device, the head included.
        head_age: ``[K]`` slots since the head task arrived (0 in its arrival slot; 0
            when idle).
        head_state: ``[K]`` :data:`IDLE`, :data:`FRESH`, :data:`OFFLOADING` or
            :data:`LOCAL`.
        head_split: ``[K]`` the split the head task is served with, -1 before it starts.
        head_work: ``[K]`` FLOP of the head task's whole network (0 when idle).
        remaining_flops: ``[K]`` device plus edge FLOP left of the head task.
        remaining_bits: ``[K]`` upload plus download bits left of the head task.
        head_bits: ``[K]`` upload plus download bits of the head task at its split
            (``D(s) + D_out``), 0 before it starts or when it is local.
        battery_j: ``[K]`` battery level [J]; ``inf`` without a battery.
    """

    queue_length: np.ndarray
    head_age: np.ndarray
    head_state: np.ndarray
    head_split: np.ndarray
    head_work: np.ndarray
    remaining_flops: np.ndarray
    remaining_bits: np.ndarray
    head_bits: np.ndarray
    battery_j: np.ndarray


def queue_features(slot: QueueSlot) -> np.ndarray:
    """``[K, QUEUE_FEATURES]`` in ``[0, 1]``: queue length / ``queue_capacity``, head
    age / ``task_deadline_slots``, the head's FLOP left / its network's FLOP, its bits
    left / its bits at its split (1 before it starts, 0 when local), 1 if it is
    offloading, battery / ``battery_capacity_j`` (1 without a battery)."""
    sc = slot.scenario
    battery = (
        np.ones(sc.num_users)
        if sc.battery_capacity_j is None
        else slot.battery_j / sc.battery_capacity_j
    )
    feats = np.stack(
        (
            slot.queue_length / sc.queue_capacity,
            slot.head_age / sc.task_deadline_slots,
            np.divide(
                slot.remaining_flops,
                slot.head_work,
                out=np.zeros(sc.num_users),
                where=slot.head_work > 0,
            ),
            np.where(
                slot.head_state == FRESH,
                1.0,
                np.divide(
                    slot.remaining_bits,
                    slot.head_bits,
                    out=np.zeros(sc.num_users),
                    where=slot.head_bits > 0,
                ),
            ),
            (slot.head_state == OFFLOADING).astype(np.float64),
            battery,
        ),
        axis=1,
    )
    return np.clip(feats, 0.0, 1.0)


def queue_observation(slot: QueueSlot) -> np.ndarray:
    """The ``[K * (F + QUEUE_FEATURES)]`` float32 observation of a queued slot: per
    user v0's ``F`` features of the head task (zero workload and model columns when
    idle), then :func:`queue_features`."""
    sc = slot.scenario
    k = sc.num_users
    base = encode(sc, slot.ul_gain, slot.dl_gain, slot.distance_m, slot.model_index)
    base = base.reshape(k, num_features(sc))
    idle = slot.head_state == IDLE
    base[idle, 2 * sc.num_subchannels + 1 :] = 0.0
    obs = np.concatenate((base, queue_features(slot).astype(np.float32)), axis=1)
    return obs.reshape(-1)


class _Queues:
    """Every user's FIFO queue and head-task progress (docs/model.md section 12)."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        k = scenario.num_users
        self.tasks: list[list[tuple[int, int]]] = [[] for _ in range(k)]  # (model, arrival)
        self.state = np.full(k, IDLE, dtype=np.int64)
        self.split = np.full(k, -1, dtype=np.int64)
        self.r_loc = np.zeros(k)  # device FLOP left
        self.r_up = np.zeros(k)  # upload bits left
        self.r_edge = np.zeros(k)  # edge FLOP left
        self.r_dl = np.zeros(k)  # download bits left
        self.fallback = np.zeros(k)  # FLOP the device adds to finish an offloading task
        self.bits = np.zeros(k)  # D(s) + D_out of an offloading task
        cap = scenario.battery_capacity_j
        self.battery = np.full(k, np.inf if cap is None else float(cap))
        self.totals = {"arrived": 0, "completed": 0, "dropped": 0, "expired": 0}

    def queued(self) -> int:
        """Tasks at the devices now."""
        return sum(len(q) for q in self.tasks)

    def admit(self, counts: np.ndarray, models: np.ndarray, slot_index: int) -> np.ndarray:
        """Append ``counts[k]`` new tasks (models taken in order from ``models``) to each
        queue; the ones beyond ``queue_capacity`` are dropped. Returns drops ``[K]``."""
        cap = self.scenario.queue_capacity
        drops = np.zeros(len(self.tasks), dtype=np.int64)
        i = 0
        for k, n in enumerate(counts):
            for _ in range(int(n)):
                if len(self.tasks[k]) < cap:
                    self.tasks[k].append((int(models[i]), slot_index))
                else:
                    drops[k] += 1
                i += 1
        self.totals["arrived"] += int(counts.sum())
        self.totals["dropped"] += int(drops.sum())
        for k in range(len(self.tasks)):
            if self.state[k] == IDLE and self.tasks[k]:
                self.state[k] = FRESH
        return drops

    def slot(self, channel: Slot, slot_index: int) -> QueueSlot:
        """The :class:`QueueSlot` of the head tasks on ``channel``'s gains."""
        sc = self.scenario
        k_users = sc.num_users
        model = np.array([q[0][0] if q else 0 for q in self.tasks], dtype=np.int64)
        num_layers, device, upload, edge, result, t_ref, e_ref = (
            np.array(a) for a in task_arrays(sc, model)
        )
        work = device[np.arange(k_users), num_layers].copy()
        left_flops = np.zeros(k_users)
        left_bits = np.zeros(k_users)
        for k in range(k_users):
            state = self.state[k]
            if state == FRESH:
                left_flops[k] = work[k]
                continue
            if state == OFFLOADING:  # 0: go on; 1: finish on the device
                num_layers[k] = 1
                device[k] = self.r_loc[k] + self.fallback[k]
                device[k, 0] = self.r_loc[k]
                upload[k] = 0.0
                upload[k, 0] = self.r_up[k]
                edge[k] = 0.0
                edge[k, 0] = self.r_edge[k]
                result[k] = self.r_dl[k]
                left_flops[k] = self.r_loc[k] + self.r_edge[k]
                left_bits[k] = self.r_up[k] + self.r_dl[k]
            else:  # LOCAL or IDLE: only 0, on the device
                num_layers[k] = 0
                device[k] = self.r_loc[k] if state == LOCAL else 0.0
                upload[k] = 0.0
                edge[k] = 0.0
                left_flops[k] = device[k, 0]
                if state == IDLE:
                    work[k] = 0.0
                    t_ref[k] = e_ref[k] = 1.0  # an idle user costs 0 whatever these are
        age = np.array([slot_index - q[0][1] if q else 0 for q in self.tasks], dtype=np.int64)
        return QueueSlot(
            sc,
            channel.ul_gain,
            channel.dl_gain,
            channel.distance_m,
            model,
            num_layers,
            device,
            upload,
            edge,
            result,
            t_ref,
            e_ref,
            np.array([len(q) for q in self.tasks], dtype=np.int64),
            age,
            self.state.copy(),
            np.where(self.state == FRESH, -1, self.split),
            work,
            left_flops,
            left_bits,
            np.where(self.state == OFFLOADING, self.bits, 0.0),
            self.battery.copy(),
        )

    def serve(self, slot: QueueSlot, allocation: Allocation, outcome: Outcome) -> dict[str, Any]:
        """Run every head task for one slot at the outcome's rates and shares; return
        the per-user busy time [s], device and edge energy [J], completion, outage and
        cost with its latency and energy parts (docs/model.md sections 12.3, 12.5)."""
        sc = self.scenario
        k_users = sc.num_users
        dt = sc.slot_duration_s
        speed = sc.device_flops_per_s
        device_power = sc.device_joule_per_flop * speed  # kappa_d f_d^3 [W]
        edge_speed = outcome.edge_share * sc.edge_freq_hz * sc.edge_flops_per_cycle
        edge_joule = (
            sc.edge_capacitance * (outcome.edge_share * sc.edge_freq_hz) ** 2
        ) / sc.edge_flops_per_cycle  # per FLOP at the user's share
        busy = np.zeros(k_users)
        dev_e = np.zeros(k_users)
        edge_e = np.zeros(k_users)
        done = np.zeros(k_users, dtype=bool)
        outage = np.zeros(k_users, dtype=bool)
        table = sc.model_table
        for k in range(k_users):
            state = self.state[k]
            if state == IDLE:
                continue
            s = int(allocation.split[k])
            if state == FRESH:
                m = self.tasks[k][0][0]
                if s < table.num_layers[m]:
                    self._start_offloading(k, m, s)
                else:
                    self.state[k], self.split[k] = LOCAL, s
                    self.r_loc[k] = table.total_flops[m]
            elif state == OFFLOADING and s >= 1:  # finish on the device
                self.state[k] = LOCAL
                self.r_loc[k] += self.fallback[k]
                self.r_up[k] = self.r_edge[k] = self.r_dl[k] = 0.0
            t, battery = 0.0, self.battery[k]
            # the device computes, then uploads, drawing on the battery
            t, used, stopped = _run(self.r_loc, k, speed, device_power, dt - t, battery)
            dev_e[k] += used
            battery -= used
            if not stopped and self.r_loc[k] == 0.0 and self.state[k] == OFFLOADING:
                rest, used, stopped = _run(
                    self.r_up, k, outcome.ul_rate[k], allocation.ul_power[k], dt - t, battery
                )
                t += rest
                dev_e[k] += used
                battery -= used
                if self.r_up[k] == 0.0:
                    rest, used, _ = _run(
                        self.r_edge, k, edge_speed[k], edge_joule[k] * edge_speed[k],
                        dt - t, np.inf,
                    )  # fmt: skip
                    t += rest
                    edge_e[k] += used
                if self.r_up[k] == 0.0 and self.r_edge[k] == 0.0:
                    rest, used, _ = _run(
                        self.r_dl, k, outcome.dl_rate[k], allocation.dl_power[k], dt - t, np.inf
                    )
                    t += rest
                    edge_e[k] += used
            outage[k] = stopped
            self.battery[k] = max(battery, 0.0)
            finished = self.r_loc[k] == 0.0 and (
                self.state[k] == LOCAL
                or (self.r_up[k] == 0.0 and self.r_edge[k] == 0.0 and self.r_dl[k] == 0.0)
            )
            done[k] = finished
            busy[k] = t if finished else dt
        lam = sc.latency_weight
        latency = lam * (busy / slot.t_ref)  # section 12.5, per user
        energy = (1.0 - lam) * ((dev_e + edge_e) / slot.e_ref)
        return {
            "busy": busy,
            "device_energy": dev_e,
            "edge_energy": edge_e,
            "done": done,
            "outage": outage,
            "latency_cost": latency,
            "energy_cost": energy,
            "user_cost": latency + energy,
        }

    def _start_offloading(self, k: int, m: int, s: int) -> None:
        table = self.scenario.model_table
        self.state[k], self.split[k] = OFFLOADING, s
        self.r_loc[k] = table.device_flops[m, s]
        self.r_up[k] = table.upload_bits[m, s]
        self.r_edge[k] = self.fallback[k] = table.edge_flops[m, s]
        self.r_dl[k] = table.result_bits[m]
        self.bits[k] = self.r_up[k] + self.r_dl[k]

    def finish(
        self, done: np.ndarray, busy: np.ndarray, slot_index: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Remove the finished head tasks and those past their deadline (at the end of
        slot ``slot_index``). Returns the expiries ``[K]`` and the sojourn times ``[K]``
        [s] (arrival to result) of the finished ones, 0 for the others."""
        sc = self.scenario
        dt = sc.slot_duration_s
        expired = np.zeros(len(self.tasks), dtype=np.int64)
        sojourn = np.zeros(len(self.tasks))
        for k, queue in enumerate(self.tasks):
            if done[k]:
                _, arrival = queue.pop(0)
                sojourn[k] = (slot_index - arrival) * dt + busy[k]
                self._clear(k)
            # a task that arrived for slot a has slots a .. a + D - 1; the queue is in
            # arrival order, so the late ones are a prefix, the head among them
            late = 0
            while late < len(queue) and slot_index - queue[late][1] + 1 >= sc.task_deadline_slots:
                late += 1
            if late:
                del queue[:late]
                expired[k] = late
                self._clear(k)
        self.totals["completed"] += int(done.sum())
        self.totals["expired"] += int(expired.sum())
        return expired, sojourn

    def _clear(self, k: int) -> None:
        self.state[k] = FRESH if self.tasks[k] else IDLE
        self.split[k] = -1
        self.r_loc[k] = self.r_up[k] = self.r_edge[k] = self.r_dl[k] = 0.0
        self.fallback[k] = self.bits[k] = 0.0


def _run(
    left: np.ndarray, k: int, speed: float, power: float, time_s: float, battery_j: float
) -> tuple[float, float, bool]:
    """Work on ``left[k]`` (FLOP or bits) at ``speed`` per second, drawing ``power``
    [W], for at most ``time_s`` and ``battery_j``. Updates ``left[k]``; returns the time
    spent, the energy used and whether the battery stopped it."""
    amount = left[k]
    if amount <= 0.0 or time_s <= 0.0:
        return 0.0, 0.0, False
    if speed <= 0.0:  # a stalled stage (no rate, no share): the task waits
        return time_s, 0.0, False
    need = amount / speed
    limit = time_s
    by_battery = power > 0.0 and battery_j < power * min(need, time_s)
    if by_battery:
        limit = max(battery_j, 0.0) / power
    if need <= limit:
        left[k] = 0.0
        return need, power * need, False
    left[k] = amount - speed * limit
    return (time_s if by_battery else limit), power * limit, by_battery


class QueueEnv(gym.Env[np.ndarray, dict[str, np.ndarray]]):
    """Split DNN inference with task queues: ``NomaSplit-queue-v0`` (module docstring,
    docs/model.md section 12).

    ## Action Space
    As ``NomaSplit-v0`` (:class:`~noma_split_env.NomaSplitEnv`), decoded against
    :attr:`slot`: a task in service has two splits (0 go on, 1 finish on the device),
    a local task or an idle user one; the SB3 views work unchanged.

    ## Observation Space
    ``Box(0, 1, (K * (F + 6),), float32)``, per user v0's ``F`` features of its head
    task (:mod:`noma_split_env.observation`) then queue length / capacity, head age /
    deadline, FLOP left / network FLOP, bits left, offloading flag and battery / capacity
    (:func:`queue_features`).

    ## Rewards
    ``-(mean_k c_k + drop_penalty drops / K + miss_penalty misses / K)`` with
    ``c_k = lambda busy_k / T_ref,k + (1 - lambda) E_k / E_ref,k`` for the head task's
    time in service and energy (device and edge) in this slot; misses are tasks
    abandoned at their deadline. A task served start to end within one slot costs
    what it costs in v0.

    ## Episode End
    Truncation after ``max_episode_steps`` slots (500 on a preset named by string).
    Arrivals, harvests, channels and mobility have their own random streams: the same
    seed gives the same of each whatever the actions.

    ## Arguments
    ``scenario`` (a preset name, to which :data:`QUEUE_DEFAULTS` apply, or a
    :class:`Scenario` taken as it is) and keyword overrides; ``info_level`` as in v0;
    ``render_mode`` only None.
    """

    metadata = {"render_modes": []}  # noqa: RUF012 (gymnasium API)

    def __init__(
        self,
        scenario: str | Scenario = "default",
        render_mode: str | None = None,
        info_level: str = "full",
        **overrides: Any,
    ) -> None:
        if render_mode is not None:
            raise ValueError(
                f"QueueEnv.render_mode: got {render_mode!r}, allowed: None (the queued env "
                "draws no picture; NomaSplit-v0 does)"
            )
        if isinstance(scenario, str):
            overrides = {**QUEUE_DEFAULTS, **overrides}
        scenario = Scenario.resolve("QueueEnv", scenario, **overrides)
        if info_level not in INFO_LEVELS:
            raise ValueError(
                f"QueueEnv.info_level: got {info_level!r}, allowed: {', '.join(INFO_LEVELS)}"
            )
        self.scenario = scenario
        self.info_level = info_level
        self.decoder = ActionDecoder(scenario)
        self.action_space = self.decoder.space
        features = num_features(scenario) + QUEUE_FEATURES
        self.observation_space = spaces.Box(
            0.0, 1.0, (scenario.num_users * features,), dtype=np.float32
        )
        self._dynamics: CellDynamics | None = None
        self._queues: _Queues | None = None
        self._slot: QueueSlot | None = None
        self._steps = 0

    @property
    def slot(self) -> QueueSlot:
        """The slot the next action is applied to."""
        if self._slot is None:
            raise RuntimeError("QueueEnv: call reset() before reading the slot")
        return self._slot

    @property
    def totals(self) -> dict[str, int]:
        """Tasks arrived, completed, dropped and expired so far in the episode, and
        those at the devices (``arrived = completed + dropped + expired + queued``)."""
        if self._queues is None:
            raise RuntimeError("QueueEnv: call reset() before reading the totals")
        return {**self._queues.totals, "queued": self._queues.queued()}

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self._dynamics = CellDynamics(self.scenario, self.np_random)
        arrivals, harvest = self.np_random.integers(0, 2**63, size=2)
        self._arrival_rng = np.random.default_rng(int(arrivals))
        self._harvest_rng = np.random.default_rng(int(harvest))
        self._queues = _Queues(self.scenario)
        self._steps = 0
        self._queues.admit(*self._arrivals(), 0)
        self._slot = self._queues.slot(self._dynamics.next_slot(), 0)
        return queue_observation(self._slot), {}

    def step(
        self, action: dict[str, np.ndarray]
    ) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        allocation = self.decoder.decode(action, self.slot)
        return self.step_allocation(allocation, check=False)

    def step_allocation(
        self, allocation: Allocation, *, check: bool = True
    ) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Step with an :class:`Allocation` in physical units (model-based solvers).

        ``check=False`` skips the domain check, for allocations valid by construction
        (the decoder's); an invalid one then gives undefined results."""
        slot = self.slot
        outcome = evaluate(slot, allocation, check=check)
        queues = self._queues
        assert queues is not None and self._dynamics is not None
        t = self._steps
        served = queues.serve(slot, allocation, outcome)
        expired, sojourn = queues.finish(served["done"], served["busy"], t)
        counts, models = self._arrivals()
        drops = queues.admit(counts, models, t + 1)
        harvest = self.scenario.harvest_mean_j * self._harvest_rng.exponential(
            1.0, self.scenario.num_users
        )
        cap = self.scenario.battery_capacity_j
        if cap is not None:
            queues.battery = np.minimum(queues.battery + harvest, cap)
        sc = self.scenario
        k = sc.num_users
        terms = {
            "latency": float(np.mean(served["latency_cost"])),
            "energy": float(np.mean(served["energy_cost"])),
            "drop": sc.drop_penalty * int(drops.sum()) / k,
            "miss": sc.miss_penalty * int(expired.sum()) / k,
        }
        cost = float(np.mean(served["user_cost"])) + terms["drop"] + terms["miss"]
        self._steps += 1
        self._slot = queues.slot(self._dynamics.next_slot(), self._steps)
        truncated = self._steps >= sc.max_episode_steps
        info: dict[str, Any] = {}
        if self.info_level != "none":
            info = {
                "cost": cost,
                "reward_terms": terms,
                "num_completed": int(served["done"].sum()),
                "num_dropped": int(drops.sum()),
                "num_expired": int(expired.sum()),
                "num_outages": int(served["outage"].sum()),
            }
        if self.info_level == "full":
            info.update(
                user_cost=served["user_cost"],
                busy_time=served["busy"],
                device_energy=served["device_energy"],
                edge_energy=served["edge_energy"],
                completed=served["done"],
                outage=served["outage"],
                arrivals=counts,
                harvest_j=harvest,
                dropped=drops,
                expired=expired,
                sojourn_s=sojourn,
                queue_length=self._slot.queue_length,
                totals=self.totals,
                allocation=allocation,
            )
            if cap is not None:
                info["battery_j"] = self._slot.battery_j
        return queue_observation(self._slot), -cost, False, truncated, info

    def _arrivals(self) -> tuple[np.ndarray, np.ndarray]:
        """New tasks per user ``[K]`` and their models, in user order (own stream)."""
        sc = self.scenario
        rng = self._arrival_rng
        if sc.arrival_process == "bernoulli":
            counts = (rng.random(sc.num_users) < sc.arrival_rate).astype(np.int64)
        else:
            counts = rng.poisson(sc.arrival_rate, sc.num_users).astype(np.int64)
        models = rng.choice(len(sc.models), size=int(counts.sum()), p=sc.model_probabilities)
        return counts, models
