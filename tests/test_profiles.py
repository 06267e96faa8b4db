"""DNN profiles: shipped totals vs. published MACs, profiler vs. closed forms, I/O, errors.

Tests on the shipped data need NumPy only; tests that profile a module import torch
through ``pytest.importorskip``.
"""

from __future__ import annotations

import numpy as np
import pytest

from noma_split_env.profiles import DnnProfile, available_profiles, load_profile

# Published multiply-accumulates at 224x224 (docs/model.md section 3; torchvision model docs for
# ViT-B/16, whose "GFLOPS" column counts MACs).
PUBLISHED_MACS = {
    "vgg16": 15.5e9,
    "resnet18": 1.82e9,
    "resnet50": 4.1e9,
    "mobilenet_v2": 0.30e9,
    "alexnet": 0.71e9,
    "vit_b_16": 17.56e9,
}
MACS_RTOL = 0.03

SHIPPED = ("alexnet", "mobilenet_v2", "resnet18", "resnet50", "vgg16", "vit_b_16")


def test_available_profiles_are_the_six_shipped():
    assert available_profiles() == SHIPPED


@pytest.mark.parametrize("name", SHIPPED)
def test_total_macs_match_published(name):
    profile = load_profile(name)
    assert profile.total_macs == pytest.approx(PUBLISHED_MACS[name], rel=MACS_RTOL)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_profile_is_well_formed(name):
    profile = load_profile(name)
    assert profile.name == name
    assert profile.input_shape == (3, 224, 224)
    assert len(set(profile.layer_names)) == profile.num_layers
    assert np.all(profile.layer_flops >= 0)
    assert profile.layer_output_shapes[-1] == (1000,)


@pytest.mark.parametrize("name", ["resnet18", "alexnet", "mobilenet_v2"])
def test_shipped_json_equals_fresh_profile(name):
    pytest.importorskip("torch")
    from noma_split_env.profiles.build import build_profile

    shipped, fresh = load_profile(name), build_profile(name)
    assert fresh.layer_names == shipped.layer_names
    assert fresh.layer_output_shapes == shipped.layer_output_shapes
    assert fresh.input_shape == shipped.input_shape
    np.testing.assert_array_equal(fresh.layer_flops, shipped.layer_flops)
    assert fresh.to_dict() == shipped.to_dict()


def test_small_sequential_matches_closed_form():
    """Conv 3->8, k3, p1 on 3x8x8: 2 * (8*8 outputs * 8 channels) * (3*3*3) FLOP.

    ``FlopCounterMode`` counts 2 FLOP per MAC and does not count bias adds, ReLU or
    flatten; the linear layer costs 2 * 512 * 10.
    """
    torch = pytest.importorskip("torch")
    from torch import nn

    from noma_split_env.profiles.profiler import profile_module

    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(512, 10))
    profile = profile_module(net, (3, 8, 8), "small")
    conv_flops = 2 * (8 * 8 * 8) * (3 * 3 * 3)
    linear_flops = 2 * 512 * 10
    assert profile.layer_names == ("0", "1", "2", "3")
    np.testing.assert_array_equal(profile.layer_flops, [conv_flops, 0, 0, linear_flops])
    assert profile.layer_output_shapes == ((8, 8, 8), (8, 8, 8), (512,), (10,))
    assert profile.input_shape == (3, 8, 8)
    assert not net.training
    assert torch.is_grad_enabled()


def test_explicit_blocks_are_run_in_sequence():
    pytest.importorskip("torch")
    from torch import nn

    from noma_split_env.profiles.profiler import profile_module

    conv, head = nn.Conv2d(3, 4, 1), nn.Sequential(nn.Flatten(), nn.Linear(4 * 5 * 5, 2))
    profile = profile_module(nn.Module(), (3, 5, 5), "pair", blocks=[("conv", conv), ("fc", head)])
    assert profile.layer_names == ("conv", "fc")
    np.testing.assert_array_equal(profile.layer_flops, [2 * 25 * 4 * 3, 2 * 100 * 2])
    assert profile.layer_output_shapes == ((4, 5, 5), (2,))


def test_attention_matmuls_are_counted():
    """ViT encoder block: qkv, q@k^T, attn@v, out-proj and MLP MACs, N=197 tokens."""
    n, d, heads, mlp = 197, 768, 12, 3072
    expected_macs = n * d * 3 * d + 2 * heads * n * n * (d // heads) + n * d * d + 2 * n * d * mlp
    profile = load_profile("vit_b_16")
    block = profile.layer_names.index("encoder0")
    assert profile.layer_flops[block] == 2 * expected_macs


@pytest.mark.parametrize("name", SHIPPED)
def test_upload_bits_and_device_flops(name):
    profile = load_profile(name)
    n_layers = profile.num_layers
    input_bits, act_bits = 8, 32
    d = profile.upload_bits(input_bits, act_bits)
    assert d.shape == (n_layers + 1,)
    assert d[0] == profile.input_elements * input_bits
    assert d[-1] == 0
    for s in range(1, n_layers):
        assert d[s] == np.prod(profile.layer_output_shapes[s - 1]) * act_bits

    w = profile.device_flops()
    assert w.shape == (n_layers + 1,)
    assert w[0] == 0
    assert w[-1] == pytest.approx(profile.total_flops, rel=1e-12)
    assert np.all(np.diff(w) >= 0)
    np.testing.assert_allclose(np.diff(w), profile.layer_flops, rtol=1e-12)


@pytest.mark.parametrize("name", SHIPPED)
def test_save_load_round_trip(name, tmp_path):
    profile = load_profile(name)
    path = tmp_path / f"{name}.json"
    profile.save(path)
    loaded = DnnProfile.load(path)
    assert loaded.to_dict() == profile.to_dict()
    np.testing.assert_array_equal(loaded.layer_flops, profile.layer_flops)
    assert loaded.layer_output_shapes == profile.layer_output_shapes
    assert loaded.input_shape == profile.input_shape
    assert loaded.description == profile.description


def test_profile_module_rejects_non_sequential_without_blocks():
    pytest.importorskip("torch")
    from torch import nn

    from noma_split_env.profiles.profiler import profile_module

    with pytest.raises(ValueError, match=r"Linear.*nn\.Sequential.*blocks="):
        profile_module(nn.Linear(3, 2), (3,), "bad")


@pytest.mark.parametrize("shape", [(3, -224, 224), (0,), (), (3.0, 4), "abc"])
def test_profile_module_rejects_bad_input_shape(shape):
    pytest.importorskip("torch")
    from torch import nn

    from noma_split_env.profiles.profiler import profile_module

    with pytest.raises(ValueError, match=r"input_shape=.*positive integers"):
        profile_module(nn.Sequential(nn.Flatten()), shape, "bad")


def test_profile_module_rejects_non_tensor_block_output():
    pytest.importorskip("torch")
    from torch import nn

    from noma_split_env.profiles.profiler import profile_module

    class TwoOutputs(nn.Module):
        def forward(self, x):
            return x, x

    with pytest.raises(ValueError, match=r"'split'.*tuple.*single tensor"):
        profile_module(nn.Sequential(), (2,), "bad", blocks=[("split", TwoOutputs())])


def test_load_profile_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match=r"'nope'") as info:
        load_profile("nope")
    for name in SHIPPED:
        assert name in str(info.value)


def test_profile_does_not_freeze_the_callers_array():
    flops = np.array([1.0, 2.0])
    profile = DnnProfile("x", (1,), ("a", "b"), flops, ((1,), (1,)))
    assert flops.flags.writeable
    assert not profile.layer_flops.flags.writeable
    flops[0] = 5.0
    assert profile.layer_flops[0] == 1.0


@pytest.mark.parametrize(
    ("flops", "shapes", "needle"),
    [
        ([1e-300, 0.0], ((4,), (2,)), "total workload in \\[1, 1e\\+16\\]"),
        ([1e17, 0.0], ((4,), (2,)), "total workload"),
        ([1e9, 1e9], ((0,), (2,)), "1 to 1e\\+10 elements"),
        ([1e9, 1e9], ((10**6, 10**5), (2,)), "1 to 1e\\+10 elements"),
    ],
)
def test_hostile_profiles_are_refused(flops, shapes, needle) -> None:
    """A workload of 1e-300 FLOP made T_ref underflow to 0 (a NaN cost)."""
    with pytest.raises(ValueError, match=needle):
        DnnProfile("hostile", (3,), ("a", "b"), np.array(flops), shapes)
