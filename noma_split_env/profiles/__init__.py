"""DNN profiles: shipped data for real networks, and a profiler for your own.

>>> from noma_split_env.profiles import load_profile, available_profiles
>>> load_profile("resnet18").num_layers > 0
True

The shipped JSON files in ``profiles/data/`` are produced by
``python -m noma_split_env.profiles.build`` from the plain-torch architectures in
:mod:`noma_split_env.profiles.architectures`; loading them needs NumPy only.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from noma_split_env.profiles.profile import DnnProfile

if TYPE_CHECKING:  # torch is optional: only profiling new modules needs it
    import torch

__all__ = ["DATA_DIR", "DnnProfile", "available_profiles", "load_profile", "profile_module"]

DATA_DIR = Path(__file__).parent / "data"


def available_profiles() -> tuple[str, ...]:
    """Names of the profiles shipped with the package."""
    return tuple(sorted(p.stem for p in DATA_DIR.glob("*.json")))


@cache
def load_profile(name: str) -> DnnProfile:
    """Load a shipped profile by name (cached; profiles are immutable)."""
    path = DATA_DIR / f"{name}.json"
    if not path.is_file():
        raise ValueError(
            f"profile: unknown DNN profile {name!r}; shipped profiles are "
            f"{', '.join(available_profiles())}"
        )
    return DnnProfile.load(path)


def profile_module(
    module: torch.nn.Module, input_shape: tuple[int, ...], name: str, **kwargs: Any
) -> DnnProfile:
    """Profile your own torch module (needs torch).

    See :func:`noma_split_env.profiles.profiler.profile_module` for the arguments.
    """
    from noma_split_env.profiles.profiler import profile_module as _profile_module

    return _profile_module(module, input_shape, name, **kwargs)
