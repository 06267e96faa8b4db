"""The scenario: every parameter of the cell, the devices and the cost, with units.

A :class:`Scenario` is a frozen, validated dataclass. Presets by name
(:meth:`Scenario.preset`) override the defaults, HighwayEnv-style; any field can be
overridden on top: ``Scenario.preset("dense", latency_weight=0.8)``.

Sources of the defaults (cited per field below):

* [36.814] 3GPP TR 36.814 v9.0.0, Table A.2.1.1-2/-3 (macro cell): path loss
  ``128.1 + 37.6 log10(d/km)``, 8 dB log-normal shadowing, 35 m minimum distance,
  -174 dBm/Hz noise PSD, 5 dB BS and 9 dB UE noise figure, 23 dBm UE power.
* [Mao17] Y. Mao et al., "A Survey on Mobile Edge Computing: The Communication
  Perspective", IEEE COMST 2017, section III: dynamic power ``kappa f^3`` of CMOS
  processors, so computing energy ``kappa f^2`` per cycle, kappa ~ 1e-28..1e-27.
* [Kang17] Y. Kang et al., "Neurosurgeon: Collaborative Intelligence Between the
  Cloud and Mobile Edge", ASPLOS 2017: the split-inference trade-off (mobile GPU/CPU
  tens of GFLOP/s, edge GPU ~ TFLOP/s, 8-bit inputs).
* [Jacob18] B. Jacob et al., "Quantization and Training of Neural Networks for
  Efficient Integer-Arithmetic-Only Inference", CVPR 2018: int8 activations.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import numpy as np

from noma_split_env.channel import pathloss_db, thermal_noise_w
from noma_split_env.checks import check, is_int, is_real, range_text
from noma_split_env.profiles import DnnProfile, available_profiles, load_profile

__all__ = [
    "ARRIVAL_PROCESSES",
    "FIELD_RANGES",
    "KERNEL_CONSTANTS",
    "KERNEL_CONSTANTS_DTYPE",
    "PRESETS",
    "FieldRange",
    "ModelTable",
    "Scenario",
]


@dataclass(frozen=True)
class ModelTable:
    """The scenario's DNN model mix stacked into padded arrays, for vectorized lookup.

    Row ``m`` describes ``profiles[m]``; columns are split points ``0..L_max``, padded
    beyond ``L_m`` with the all-local values (never read: splits are ``<= L_m``).
    """

    profiles: tuple[DnnProfile, ...]
    num_layers: np.ndarray  # [M] int, L_m
    device_flops: np.ndarray  # [M, L_max+1] W_dev(s) [FLOP]
    upload_bits: np.ndarray  # [M, L_max+1] D(s) [bit]
    total_flops: np.ndarray  # [M] [FLOP]
    result_bits: np.ndarray  # [M] D_out [bit]
    edge_flops: np.ndarray  # [M, L_max+1] W_edge(s) = W_tot - W_dev(s) [FLOP], 0 from L_m on

    @property
    def max_layers(self) -> int:
        """``L_max``: the largest number of layers in the mix."""
        return int(self.num_layers.max())

    @classmethod
    def build(
        cls,
        profiles: tuple[DnnProfile, ...],
        input_bits: float,
        activation_bits: float,
        result_bits: float | None,
    ) -> ModelTable:
        l_max = max(p.num_layers for p in profiles)
        m = len(profiles)
        device = np.empty((m, l_max + 1))
        upload = np.zeros((m, l_max + 1))
        for i, p in enumerate(profiles):
            dev = p.device_flops()
            device[i, : p.num_layers + 1] = dev
            device[i, p.num_layers + 1 :] = dev[-1]
            upload[i, : p.num_layers + 1] = p.upload_bits(input_bits, activation_bits)
        results = np.array(
            [
                p.output_elements * activation_bits if result_bits is None else result_bits
                for p in profiles
            ],
            dtype=np.float64,
        )
        total = device[np.arange(m), [p.num_layers for p in profiles]]
        table = cls(
            profiles=profiles,
            num_layers=np.array([p.num_layers for p in profiles], dtype=np.int64),
            device_flops=device,
            upload_bits=upload,
            total_flops=total,
            result_bits=results,
            edge_flops=total[:, None] - device,  # exactly 0 where device == total
        )
        for arr in (
            table.num_layers,
            table.device_flops,
            table.upload_bits,
            table.total_flops,
            table.result_bits,
            table.edge_flops,
        ):
            arr.setflags(write=False)
        return table


@dataclass(frozen=True)
class FieldRange:
    """The allowed values of one numeric :class:`Scenario` field, with its unit.

    Every numeric field has one (:data:`FIELD_RANGES`): wide enough for any cell a
    researcher studies, narrow enough that every accepted scenario gives finite
    observations and rewards for every admissible action (tested at the bounds).
    """

    lo: float
    hi: float
    unit: str = ""
    integer: bool = False
    hi_open: bool = False
    optional: bool = False
    """None is allowed too (it has a meaning of its own, given in the field's docs)."""

    def allowed(self) -> str:
        """The range as text, e.g. ``"a number in [0, 1)"``."""
        text = range_text(
            self.lo, self.hi, integer=self.integer, hi_open=self.hi_open, unit=self.unit
        )
        return f"None or {text}" if self.optional else text

    def contains(self, value: Any) -> bool:
        """``value`` is allowed (None only if ``optional``)."""
        if value is None:
            return self.optional
        ok = (is_int(value) if self.integer else is_real(value)) and math.isfinite(value)
        return ok and self.lo <= value and (value < self.hi if self.hi_open else value <= self.hi)


@dataclass(frozen=True)
class Scenario:
    """Every parameter of a NomaSplit scenario, with its unit and source.

    Frozen and validated on construction: an invalid value raises ``ValueError``
    naming the field, the value and the allowed range. Build one from a preset,
    ``Scenario.preset("default")``, and override fields with keyword arguments.
    """

    # --- cell and access ---------------------------------------------------------
    num_users: int = 4
    """K, number of mobile users (>= 1)."""
    num_subchannels: int = 2
    """N, subchannels per direction (>= 1)."""
    access: Literal["noma", "oma"] = "noma"
    """"noma": users sharing a subchannel superpose, separated by SIC (docs/model.md section 4);
    "oma": they split its bandwidth equally and do not interfere."""
    ul_bandwidth_hz: float = 5e6
    """W_ul, total uplink band [Hz] (5 MHz LTE carrier; the uplink is the narrower
    FDD band, which makes the split decision non-trivial)."""
    dl_bandwidth_hz: float = 10e6
    """W_dl, total downlink band [Hz] (10 MHz LTE carrier [36.814])."""
    noise_dbm_hz: float = -174.0
    """N0, thermal noise power spectral density [dBm/Hz] [36.814]."""
    bs_noise_figure_db: float = 5.0
    """Noise figure of the BS receiver, applies to the uplink [dB] [36.814]."""
    ue_noise_figure_db: float = 9.0
    """Noise figure of the user receiver, applies to the downlink [dB] [36.814]."""
    sic_residual: float = 0.0
    """psi, fraction of an already decoded signal's power left after SIC (>= 0;
    0 = perfect SIC)."""

    # --- propagation ------------------------------------------------------------
    pathloss_db_at_1km: float = 128.1
    """Path loss at 1 km [dB]: PL = this + 10 n log10(d/1 km) [36.814 macro]."""
    pathloss_exponent: float = 3.76
    """n, path-loss exponent (3.76 gives the 37.6 dB/decade of [36.814])."""
    shadowing_std_db: float = 8.0
    """Std of log-normal shadowing [dB], drawn per user at reset and kept for the
    episode (8 dB [36.814]; 0 turns it off)."""
    fading_correlation: float = 0.0
    """rho in [0, 1): AR(1) correlation of the complex Rayleigh fading between
    slots, h_t = rho h_{t-1} + sqrt(1 - rho^2) w_t; 0 = independent block fading."""
    cell_radius_m: float = 500.0
    """Users are placed uniformly over the disc of this radius around the BS [m]
    (inter-site distance 500 m urban macro [36.814])."""
    min_distance_m: float = 35.0
    """Minimum user-BS distance [m] [36.814]."""
    user_speed_mps: float = 1.0
    """Speed of every user's random walk (direction redrawn each slot) [m/s]
    (pedestrian); users reflect at the cell edge and at the minimum distance."""
    slot_duration_s: float = 1.0
    """Time between decisions: users move ``speed x slot`` per slot [s]."""

    # --- powers -----------------------------------------------------------------
    user_max_power_w: float = 0.2
    """P_user_max, user transmit power limit [W] (23 dBm [36.814])."""
    bs_max_power_w: float = 10.0
    """P_bs_max, BS transmit power shared by all downlink results [W] (40 dBm)."""

    # --- computing --------------------------------------------------------------
    device_freq_hz: float = 1.8e9
    """f_d, device CPU frequency [cycle/s] (mobile SoC big core) [Kang17]."""
    device_flops_per_cycle: float = 16.0
    """phi_d, device FLOP per cycle (4-wide FP32 NEON FMA x 2 pipes) [Kang17]."""
    device_capacitance: float = 3e-28
    """kappa_d, effective switched capacitance [J s^2/cycle^3]: power
    kappa_d f_d^3 = 1.75 W at full speed [Mao17]."""
    edge_freq_hz: float = 1.5e9
    """F_e, edge accelerator frequency [cycle/s] (shared by offloaded tasks)."""
    edge_flops_per_cycle: float = 1024.0
    """phi_e, edge FLOP per cycle: 1.5 TFLOP/s at F_e, a data-centre GPU [Kang17]."""
    edge_capacitance: float = 3e-26
    """kappa_e, edge switched capacitance [J s^2/cycle^3]: 100 W at full speed."""

    # --- tasks ------------------------------------------------------------------
    models: tuple[str | DnnProfile, ...] = ("resnet18", "mobilenet_v2", "resnet50", "vgg16")
    """The DNN model mix: shipped profile names or your own :class:`DnnProfile`s."""
    model_weights: tuple[float, ...] | None = None
    """Probability of each model in ``models`` for a new task; None = uniform."""
    input_bits: float = 8.0
    """Bits per input element (8: uint8 image pixels) [bit]."""
    activation_bits: float = 8.0
    """Bits per intermediate activation element (8: int8 features [Jacob18];
    32: fp32) [bit]."""
    result_bits: float | None = None
    """D_out, size of the result sent back [bit]; None = the model's final output
    elements x ``activation_bits`` (1000 class scores)."""

    # --- cost -------------------------------------------------------------------
    latency_weight: float = 0.5
    """lambda in [0, 1]: weight of normalized latency against normalized energy."""
    deadline_s: float | None = None
    """tau, per-task deadline [s]; None = no deadline (no misses)."""
    miss_penalty: float = 1.0
    """mu, slot-cost penalty per missed deadline or failed task, scaled by misses / K."""
    latency_cap_s: float = 10.0
    """The longest a stage (upload, edge compute, download) may take [s]. A stage that
    cannot finish within it (zero power or share, or a rate below ``amount / cap``)
    fails the task (docs/model.md section 5.3); its time is reported as the cap, so
    every figure stays finite."""
    failure_penalty: float = 1.0
    """Added to the per-user cost of a failed task, whose cost is
    ``max(c_k, 1) + failure_penalty``: a failed task always costs more than running it
    locally (cost 1), so zero-power "offloading" is never free (> 0)."""
    allocate_edge_share: bool = False
    """If True the action includes each user's edge compute share (journal
    version); otherwise offloading users share the edge equally."""
    max_episode_steps: int = 100
    """Slots per episode (the episode ends by truncation)."""

    # --- queues (NomaSplit-queue-v0 only; docs/model.md section 12) --------------
    arrival_process: str = "bernoulli"
    """New tasks per user per slot: ``"bernoulli"`` (0 or 1, probability
    ``arrival_rate``) or ``"poisson"`` (mean ``arrival_rate``)."""
    arrival_rate: float = 0.3
    """Mean new tasks per user per slot (at most 1 for Bernoulli arrivals)."""
    queue_capacity: int = 10
    """Tasks a device holds, the one in service included; an arrival beyond it is
    dropped."""
    task_deadline_slots: int = 10
    """Slots a task has from its arrival to its result; a task not done by then is
    abandoned and counts as a miss."""
    drop_penalty: float = 1.0
    """Slot-cost penalty per task dropped at a full queue, scaled by drops / K."""
    battery_capacity_j: float | None = None
    """Device battery [J], full at reset; None = no battery (mains power)."""
    harvest_mean_j: float = 0.0
    """Mean energy harvested per device per slot [J] (exponential, i.i.d.), with a
    battery."""

    name: str = field(default="custom", compare=False)
    """Preset name, for display and run folders."""

    # ------------------------------------------------------------------ checks
    def __post_init__(self) -> None:
        models = self.models
        if isinstance(models, (str, DnnProfile)):
            models = (models,)
        if isinstance(models, (list, tuple)):
            object.__setattr__(self, "models", tuple(models))
        if isinstance(self.model_weights, (list, np.ndarray)):
            object.__setattr__(self, "model_weights", tuple(self.model_weights))
        self._validate()

    def _check(self, name: str, ok: bool, allowed: str) -> None:
        check("Scenario", name, getattr(self, name), ok, allowed)

    def _validate(self) -> None:
        for name, rng in FIELD_RANGES.items():
            self._check(name, rng.contains(getattr(self, name)), rng.allowed())
        self._check(
            "min_distance_m",
            self.min_distance_m < self.cell_radius_m,
            f"a distance below cell_radius_m = {self.cell_radius_m}",
        )
        loss = float(
            pathloss_db(self.min_distance_m, self.pathloss_db_at_1km, self.pathloss_exponent)
        )
        self._check(
            "pathloss_db_at_1km",
            loss >= 0.0,
            f"a value whose path loss at min_distance_m = {self.min_distance_m} m is >= 0 dB "
            f"(a passive channel has no gain; it is {loss:.1f} dB with pathloss_exponent = "
            f"{self.pathloss_exponent})",
        )
        self._check("access", self.access in ("noma", "oma"), "'noma' or 'oma'")
        self._check(
            "arrival_process",
            self.arrival_process in ARRIVAL_PROCESSES,
            " or ".join(repr(a) for a in ARRIVAL_PROCESSES),
        )
        if self.arrival_process == "bernoulli":
            self._check(
                "arrival_rate",
                self.arrival_rate <= 1.0,
                "a probability in [0, 1] with arrival_process='bernoulli'",
            )
        self._check(
            "allocate_edge_share", isinstance(self.allocate_edge_share, bool), "True or False"
        )
        shipped = available_profiles()
        self._check(
            "models",
            isinstance(self.models, tuple)
            and len(self.models) >= 1
            and all(
                isinstance(m, DnnProfile) or (isinstance(m, str) and m in shipped)
                for m in self.models
            ),
            f"a non-empty tuple of DnnProfile objects or shipped names {shipped}",
        )
        if self.model_weights is not None:
            w = self.model_weights
            self._check(
                "model_weights",
                isinstance(w, tuple)
                and len(w) == len(self.models)
                and all(is_real(x) and math.isfinite(x) and 0 <= x <= 1e6 for x in w)
                and sum(w) > 0,
                f"None or {len(self.models)} finite weights in [0, 1e6] with a positive sum",
            )

    # ------------------------------------------------------------------ presets
    @classmethod
    def preset(cls, name: str, **overrides: Any) -> Scenario:
        """The preset ``name`` (see :data:`PRESETS`) with ``overrides`` applied."""
        if name not in PRESETS:
            raise ValueError(
                f"Scenario.preset: unknown preset {name!r}; presets are {', '.join(PRESETS)}"
            )
        _check_names("Scenario.preset", overrides)
        fields = {"name": name, **PRESETS[name], **overrides}
        return cls(**fields)

    @classmethod
    def resolve(cls, owner: str, scenario: str | Scenario, **overrides: Any) -> Scenario:
        """A preset name or a Scenario, with ``overrides`` applied; a ValueError naming
        ``owner`` for anything else (the constructors of the envs)."""
        if isinstance(scenario, str):
            return cls.preset(scenario, **overrides)
        if isinstance(scenario, Scenario):
            return scenario.replace(**overrides) if overrides else scenario
        raise ValueError(
            f"{owner}.scenario: got {scenario!r}, allowed: a preset name or a Scenario"
        )

    def replace(self, **changes: Any) -> Scenario:
        """A copy with ``changes`` applied (and validated)."""
        _check_names("Scenario.replace", changes)
        return dataclasses.replace(self, **changes)

    # ------------------------------------------------------------------ derived
    @cached_property
    def profiles(self) -> tuple[DnnProfile, ...]:
        """The model mix as loaded profiles."""
        return tuple(m if isinstance(m, DnnProfile) else load_profile(m) for m in self.models)

    @cached_property
    def model_probabilities(self) -> np.ndarray:
        """``[M]`` probability of each model for a new task."""
        if self.model_weights is None:
            return np.full(len(self.models), 1.0 / len(self.models))
        w = np.asarray(self.model_weights, dtype=np.float64)
        return w / w.sum()

    @cached_property
    def model_table(self) -> ModelTable:
        """The model mix stacked for vectorized lookup."""
        return ModelTable.build(
            self.profiles, self.input_bits, self.activation_bits, self.result_bits
        )

    @property
    def ul_subchannel_hz(self) -> float:
        """B_ul = W_ul / N [Hz]."""
        return self.ul_bandwidth_hz / self.num_subchannels

    @property
    def dl_subchannel_hz(self) -> float:
        """B_dl = W_dl / N [Hz]."""
        return self.dl_bandwidth_hz / self.num_subchannels

    @cached_property
    def ul_noise_w(self) -> float:
        """sigma^2 on one uplink subchannel: N0 B_ul NF_bs [W]."""
        return thermal_noise_w(self.noise_dbm_hz, self.ul_subchannel_hz, self.bs_noise_figure_db)

    @cached_property
    def dl_noise_w(self) -> float:
        """sigma^2 on one downlink subchannel: N0 B_dl NF_ue [W]."""
        return thermal_noise_w(self.noise_dbm_hz, self.dl_subchannel_hz, self.ue_noise_figure_db)

    @cached_property
    def kernel_constants(self) -> np.ndarray:
        """``[1]`` read-only record of :data:`KERNEL_CONSTANTS_DTYPE`: the scenario's
        constants as the compiled kernels take them."""
        record = np.zeros(1, dtype=KERNEL_CONSTANTS_DTYPE)
        for name in KERNEL_CONSTANTS:
            record[name] = float(getattr(self, name))
        record.setflags(write=False)
        return record

    @property
    def device_flops_per_s(self) -> float:
        """f_d phi_d [FLOP/s]."""
        return self.device_freq_hz * self.device_flops_per_cycle

    @property
    def device_joule_per_flop(self) -> float:
        """kappa_d f_d^2 / phi_d [J/FLOP]."""
        return self.device_capacitance * self.device_freq_hz**2 / self.device_flops_per_cycle


def _check_names(owner: str, fields: dict[str, Any]) -> None:
    """A ValueError naming the keywords of ``fields`` that are not Scenario fields."""
    names = [f.name for f in dataclasses.fields(Scenario)]
    unknown = sorted(set(fields) - set(names))
    if unknown:
        raise ValueError(
            f"{owner}: unknown Scenario field(s) {', '.join(unknown)}; allowed: {', '.join(names)}"
        )


ARRIVAL_PROCESSES = ("bernoulli", "poisson")
"""Allowed values of :attr:`Scenario.arrival_process`."""

FIELD_RANGES: dict[str, FieldRange] = {
    "num_users": FieldRange(1, 256, integer=True),
    "num_subchannels": FieldRange(1, 64, integer=True),
    "ul_bandwidth_hz": FieldRange(1e4, 1e10, "Hz"),
    "dl_bandwidth_hz": FieldRange(1e4, 1e10, "Hz"),
    "noise_dbm_hz": FieldRange(-210.0, -120.0, "dBm/Hz"),
    "bs_noise_figure_db": FieldRange(0.0, 30.0, "dB"),
    "ue_noise_figure_db": FieldRange(0.0, 30.0, "dB"),
    "sic_residual": FieldRange(0.0, 1.0),
    "pathloss_db_at_1km": FieldRange(30.0, 200.0, "dB"),
    "pathloss_exponent": FieldRange(1.5, 8.0),
    "shadowing_std_db": FieldRange(0.0, 20.0, "dB"),
    "fading_correlation": FieldRange(0.0, 1.0, hi_open=True),
    "cell_radius_m": FieldRange(10.0, 1e5, "m"),
    "min_distance_m": FieldRange(1.0, 1e4, "m"),
    "user_speed_mps": FieldRange(0.0, 150.0, "m/s"),
    "slot_duration_s": FieldRange(1e-3, 3600.0, "s"),
    "user_max_power_w": FieldRange(1e-4, 10.0, "W"),
    "bs_max_power_w": FieldRange(1e-3, 1000.0, "W"),
    "device_freq_hz": FieldRange(1e7, 1e10, "cycle/s"),
    "device_flops_per_cycle": FieldRange(0.1, 1e4, "FLOP/cycle"),
    "device_capacitance": FieldRange(1e-32, 1e-24, "J s^2/cycle^3"),
    "edge_freq_hz": FieldRange(1e7, 1e11, "cycle/s"),
    "edge_flops_per_cycle": FieldRange(1.0, 1e6, "FLOP/cycle"),
    "edge_capacitance": FieldRange(1e-32, 1e-22, "J s^2/cycle^3"),
    "input_bits": FieldRange(1.0, 64.0, "bit"),
    "activation_bits": FieldRange(1.0, 64.0, "bit"),
    "result_bits": FieldRange(0.0, 1e10, "bit", optional=True),
    "latency_weight": FieldRange(0.0, 1.0),
    "deadline_s": FieldRange(1e-6, 1e5, "s", optional=True),
    "miss_penalty": FieldRange(0.0, 1e6),
    "latency_cap_s": FieldRange(1e-3, 1e5, "s"),
    "failure_penalty": FieldRange(1e-6, 1e6),
    "max_episode_steps": FieldRange(1, 10**9, integer=True),
    "arrival_rate": FieldRange(0.0, 100.0, "tasks/slot"),
    "queue_capacity": FieldRange(1, 10**6, integer=True),
    "task_deadline_slots": FieldRange(1, 10**9, integer=True),
    "drop_penalty": FieldRange(0.0, 1e6),
    "battery_capacity_j": FieldRange(1e-6, 1e6, "J", optional=True),
    "harvest_mean_j": FieldRange(0.0, 1e6, "J"),
}
"""The allowed range of every numeric :class:`Scenario` field (docs/model.md section 8
lists them with the defaults and sources). Besides these, ``min_distance_m <
cell_radius_m`` and the path loss at ``min_distance_m`` must be >= 0 dB."""


KERNEL_CONSTANTS: dict[str, str] = {
    "ul_subchannel_hz": "B_ul [Hz]",
    "dl_subchannel_hz": "B_dl [Hz]",
    "ul_noise_w": "sigma^2 of an uplink subchannel [W]",
    "dl_noise_w": "sigma^2 of a downlink subchannel [W]",
    "sic_residual": "psi",
    "device_flops_per_s": "f_d phi_d [FLOP/s]",
    "device_joule_per_flop": "kappa_d f_d^2 / phi_d [J/FLOP]",
    "edge_freq_hz": "F_e [cycle/s]",
    "edge_flops_per_cycle": "phi_e [FLOP/cycle]",
    "edge_capacitance": "kappa_e [J s^2/cycle^3]",
    "latency_cap_s": "T_cap [s]",
    "latency_weight": "lambda",
    "failure_penalty": "added to a failed task's cost",
}
"""The constants of the compiled cost kernels: each a Scenario field or property of
that name, with its meaning."""

KERNEL_CONSTANTS_DTYPE = np.dtype([(name, np.float64) for name in KERNEL_CONSTANTS])
"""A record of :data:`KERNEL_CONSTANTS`: the kernels read ``consts[0].latency_cap_s``,
by name (a record crosses into numba ten times faster than a named tuple of floats)."""


PRESETS: dict[str, dict[str, Any]] = {
    "tiny": {
        "num_users": 2,
        "num_subchannels": 1,
        "models": ("alexnet",),
        "ul_bandwidth_hz": 2.5e6,
        "dl_bandwidth_hz": 5e6,
    },
    "default": {},
    "dense": {
        "num_users": 16,
        "num_subchannels": 4,
        "ul_bandwidth_hz": 10e6,
        "dl_bandwidth_hz": 20e6,
    },
    "massive": {
        "num_users": 64,
        "num_subchannels": 16,
        "ul_bandwidth_hz": 40e6,
        "dl_bandwidth_hz": 80e6,
        "bs_max_power_w": 40.0,
    },
}
"""Named overrides of the defaults. ``tiny`` (K=2, N=1, AlexNet) is small enough for
exhaustive search; ``default`` (K=4, N=2); ``dense`` (K=16, N=4); ``massive`` (K=64,
N=16). Bandwidth grows with N so that subchannels stay 2.5 MHz (uplink) and 5 MHz
(downlink) wide."""
