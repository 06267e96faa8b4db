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

from noma_split_env.channel import thermal_noise_w
from noma_split_env.profiles import DnnProfile, available_profiles, load_profile

__all__ = ["PRESETS", "ModelTable", "Scenario"]


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
        table = cls(
            profiles=profiles,
            num_layers=np.array([p.num_layers for p in profiles], dtype=np.int64),
            device_flops=device,
            upload_bits=upload,
            total_flops=device[np.arange(m), [p.num_layers for p in profiles]],
            result_bits=results,
        )
        for arr in (
            table.num_layers,
            table.device_flops,
            table.upload_bits,
            table.total_flops,
            table.result_bits,
        ):
            arr.setflags(write=False)
        return table


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


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
    """"noma": users sharing a subchannel superpose, separated by SIC (SPEC 4);
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
    """mu, slot-cost penalty per missed deadline, scaled by misses / K (>= 0)."""
    latency_cap_s: float = 10.0
    """Cap on each stage (upload, edge compute, download) latency [s]: a stage with
    work to do and zero rate takes this long, so the cost stays finite."""
    allocate_edge_share: bool = False
    """If True the action includes each user's edge compute share (journal
    version); otherwise offloading users share the edge equally."""
    max_episode_steps: int = 100
    """Slots per episode (the episode ends by truncation)."""

    name: str = field(default="custom", compare=False)
    """Preset name, for display and run folders."""

    # ------------------------------------------------------------------ checks
    def __post_init__(self) -> None:
        models = self.models
        if isinstance(models, (str, DnnProfile)):
            models = (models,)
        object.__setattr__(self, "models", tuple(models))
        if self.model_weights is not None:
            object.__setattr__(self, "model_weights", tuple(self.model_weights))
        self._validate()

    def _check(self, name: str, ok: bool, allowed: str) -> None:
        if not ok:
            raise ValueError(f"Scenario.{name}: got {getattr(self, name)!r}, allowed: {allowed}")

    def _validate(self) -> None:
        positive_ints = ("num_users", "num_subchannels", "max_episode_steps")
        for name in positive_ints:
            v = getattr(self, name)
            self._check(name, _is_int(v) and v >= 1, "an integer >= 1")
        positive = (
            "ul_bandwidth_hz",
            "dl_bandwidth_hz",
            "cell_radius_m",
            "min_distance_m",
            "slot_duration_s",
            "user_max_power_w",
            "bs_max_power_w",
            "device_freq_hz",
            "device_flops_per_cycle",
            "device_capacitance",
            "edge_freq_hz",
            "edge_flops_per_cycle",
            "edge_capacitance",
            "input_bits",
            "activation_bits",
            "latency_cap_s",
        )
        for name in positive:
            v = getattr(self, name)
            self._check(name, _is_real(v) and math.isfinite(v) and v > 0, "a finite number > 0")
        non_negative = (
            "sic_residual",
            "shadowing_std_db",
            "user_speed_mps",
            "miss_penalty",
            "bs_noise_figure_db",
            "ue_noise_figure_db",
            "pathloss_exponent",
        )
        for name in non_negative:
            v = getattr(self, name)
            self._check(name, _is_real(v) and math.isfinite(v) and v >= 0, "a finite number >= 0")
        for name in ("noise_dbm_hz", "pathloss_db_at_1km"):
            v = getattr(self, name)
            self._check(name, _is_real(v) and math.isfinite(v), "a finite number [dB]")
        self._check(
            "min_distance_m",
            self.min_distance_m < self.cell_radius_m,
            f"a distance below cell_radius_m = {self.cell_radius_m}",
        )
        self._check(
            "fading_correlation",
            _is_real(self.fading_correlation) and 0 <= self.fading_correlation < 1,
            "a number in [0, 1)",
        )
        self._check(
            "latency_weight",
            _is_real(self.latency_weight) and 0 <= self.latency_weight <= 1,
            "a number in [0, 1]",
        )
        self._check("access", self.access in ("noma", "oma"), "'noma' or 'oma'")
        self._check(
            "allocate_edge_share", isinstance(self.allocate_edge_share, bool), "True or False"
        )
        self._check(
            "deadline_s",
            self.deadline_s is None
            or (
                _is_real(self.deadline_s) and math.isfinite(self.deadline_s) and self.deadline_s > 0
            ),
            "None (no deadline) or a finite number > 0 [s]",
        )
        self._check(
            "result_bits",
            self.result_bits is None
            or (
                _is_real(self.result_bits)
                and math.isfinite(self.result_bits)
                and self.result_bits >= 0
            ),
            "None (the model's output size) or a finite number >= 0 [bit]",
        )
        shipped = available_profiles()
        self._check(
            "models",
            len(self.models) >= 1
            and all(isinstance(m, DnnProfile) or m in shipped for m in self.models),
            f"a non-empty tuple of DnnProfile objects or shipped names {shipped}",
        )
        if self.model_weights is not None:
            w = self.model_weights
            self._check(
                "model_weights",
                len(w) == len(self.models)
                and all(_is_real(x) and math.isfinite(x) and x >= 0 for x in w)
                and sum(w) > 0,
                f"None or {len(self.models)} finite weights >= 0 with a positive sum",
            )

    # ------------------------------------------------------------------ presets
    @classmethod
    def preset(cls, name: str, **overrides: Any) -> Scenario:
        """The preset ``name`` (see :data:`PRESETS`) with ``overrides`` applied."""
        if name not in PRESETS:
            raise ValueError(
                f"Scenario.preset: unknown preset {name!r}; presets are {', '.join(PRESETS)}"
            )
        fields = {"name": name, **PRESETS[name], **overrides}
        return cls(**fields)

    def replace(self, **changes: Any) -> Scenario:
        """A copy with ``changes`` applied (and validated)."""
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
        """The constants of the cost kernel, in the order of :data:`KERNEL_CONSTANTS`."""
        values = np.array([float(getattr(self, name)) for name in KERNEL_CONSTANTS])
        values.setflags(write=False)
        return values

    @property
    def device_flops_per_s(self) -> float:
        """f_d phi_d [FLOP/s]."""
        return self.device_freq_hz * self.device_flops_per_cycle

    @property
    def device_joule_per_flop(self) -> float:
        """kappa_d f_d^2 / phi_d [J/FLOP]."""
        return self.device_capacitance * self.device_freq_hz**2 / self.device_flops_per_cycle


KERNEL_CONSTANTS = (
    "ul_subchannel_hz",
    "dl_subchannel_hz",
    "ul_noise_w",
    "dl_noise_w",
    "sic_residual",
    "device_flops_per_s",
    "device_joule_per_flop",
    "edge_freq_hz",
    "edge_flops_per_cycle",
    "edge_capacitance",
    "latency_cap_s",
    "latency_weight",
)
"""Scenario constants packed, in this order, into one array for the compiled kernel of
:func:`noma_split_env.evaluate`."""

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
