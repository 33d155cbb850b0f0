"""The precision `auto` picks: fake CPUs, GPUs and backend kernels in, policy out (under every Keras backend)."""

import keras
import pytest

from fcn_keras.precision import (
    EMULATED_BFLOAT16,
    MIN_BFLOAT16_SPEEDUP,
    PrecisionChoice,
    choose_precision,
    dtype_policy,
    hlo_computes_bfloat16,
    measure_bfloat16_speedup,
    native_bfloat16_kernels,
    resolve_precision,
)

AVX2_ONLY = {"sse4_2", "avx", "avx2", "fma"}  # e.g. AMD Zen 3
AVX512_BF16 = AVX2_ONLY | {"avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8"}


def never_probe():
    raise AssertionError("the probe must not run when the flags already rule bfloat16 out")


def never_asked():
    raise AssertionError("the backend's kernels must not be asked when the flags already rule bfloat16 out")


@pytest.mark.backends
def test_avx2_only_cpu_trains_in_float32_without_probing():
    choice = choose_precision(AVX2_ONLY, gpu_capabilities=[], native_kernels=True, probe=never_probe)
    assert choice.policy == "float32"
    assert "no bfloat16 instructions" in choice.reason


@pytest.mark.backends
@pytest.mark.parametrize("backend", sorted(EMULATED_BFLOAT16))
def test_bfloat16_cpu_whose_backend_emulates_it_trains_in_float32(backend):
    choice = choose_precision(AVX512_BF16, gpu_capabilities=[], native_kernels=False, probe=never_probe,
                              backend=backend)
    assert choice == PrecisionChoice("float32", f"the CPU has avx512_bf16/amx_bf16 but {EMULATED_BFLOAT16[backend]}")


@pytest.mark.backends
def test_the_flags_rule_out_bfloat16_before_the_backend_is_asked(monkeypatch):
    import fcn_keras.precision as precision

    monkeypatch.setattr(precision, "native_bfloat16_kernels", lambda backend: never_asked())
    assert choose_precision(AVX2_ONLY, gpu_capabilities=[], probe=never_probe).policy == "float32"


@pytest.mark.backends
@pytest.mark.parametrize("speedup, policy", [(2.3, "mixed_bfloat16"), (1.05, "mixed_bfloat16"),
                                             (MIN_BFLOAT16_SPEEDUP, "mixed_bfloat16"), (0.7, "float32"),
                                             (0.2, "float32")])
def test_the_probe_only_vetoes_bfloat16_that_is_slower(speedup, policy):
    choice = choose_precision({"avx512_bf16"}, gpu_capabilities=[], native_kernels=True, probe=lambda: speedup)
    assert choice.policy == policy
    assert f"{speedup:.1f}x" in choice.reason


@pytest.mark.backends
@pytest.mark.parametrize("capabilities, policy", [([(8, 0)], "mixed_float16"), ([(7, 0)], "mixed_float16"),
                                                  ([(6, 1)], "float32"), ([(6, 1), (9, 0)], "mixed_float16"),
                                                  ([None], "mixed_float16")])
def test_gpus_decide_before_the_cpu(capabilities, policy):
    choice = choose_precision(AVX512_BF16, gpu_capabilities=capabilities, native_kernels=True,
                              probe=never_probe)
    assert choice.policy == policy


@pytest.mark.backends
def test_explicit_precision_wins_and_bad_names_are_refused():
    assert resolve_precision("mixed_bfloat16") == PrecisionChoice("mixed_bfloat16", "as asked")
    with pytest.raises(ValueError, match="Unknown precision 'bf16'; choose one of auto, float32"):
        resolve_precision("bf16")


@pytest.mark.backends
def test_auto_follows_this_machines_flags(monkeypatch):
    import fcn_keras.precision as precision

    precision._auto_choice.cache_clear()
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset(AVX2_ONLY))
    monkeypatch.setattr(precision, "_gpu_capabilities", lambda backend: [])
    assert resolve_precision("auto").policy == "float32"
    precision._auto_choice.cache_clear()


@pytest.mark.backends
def test_probe_measures_a_positive_ratio_on_the_active_backend():
    speedup = measure_bfloat16_speedup(repeats=1)
    assert 0.01 < speedup < 100


@pytest.mark.backends
def test_the_active_backend_says_whether_its_kernels_run_bfloat16():
    native = native_bfloat16_kernels()
    assert native in (True, False)
    if keras.backend.backend() == "tensorflow":
        from fcn_keras.machine import onednn_enabled

        assert native == onednn_enabled()
    assert native_bfloat16_kernels("numpy") is False


CONVERTED_HLO = """
%fused_computation (param_0: f32[1,8,8,8], param_1: f32[3,3,8,8]) -> f32[1,8,8,8] {
  ROOT %conv_general_dilated.0 = f32[1,8,8,8]{3,2,1,0} convolution(%param_0, %param_1), window={size=3x3 pad=1_1x1_1}
}
ENTRY %main (x.1: bf16[1,8,8,8], w.1: bf16[3,3,8,8]) -> bf16[1,8,8,8] {
  %wrapped_convert = f32[1,8,8,8]{3,2,1,0} fusion(%x.1), kind=kLoop, calls=%wrapped_convert_computation
  ROOT %wrapped_convert.2 = bf16[1,8,8,8]{3,2,1,0} fusion(%ynn_fusion), kind=kLoop
}
"""


@pytest.mark.backends
def test_xla_hlo_tells_converted_from_native_bfloat16_convolutions():
    assert not hlo_computes_bfloat16(CONVERTED_HLO)  # XLA CPU of jax 0.10: converts to float32 around it
    assert hlo_computes_bfloat16(CONVERTED_HLO.replace("f32[1,8,8,8]{3,2,1,0} convolution",
                                                       "bf16[1,8,8,8]{3,2,1,0} convolution"))
    assert hlo_computes_bfloat16('%c = f32[1,8,8,8] custom-call(%a, %b), custom_call_target="__onednn$convolution"')
    assert not hlo_computes_bfloat16("ROOT %add = bf16[4] add(%a, %b)")


@pytest.mark.skipif(keras.backend.backend() != "jax", reason="XLA's compiled HLO: JAX backend only")
@pytest.mark.backends
def test_jax_on_this_cpu_computes_bfloat16_convolutions_in_float32():
    import jax

    if jax.devices()[0].platform != "cpu" or jax.__version__.split(".")[:2] != ["0", "10"]:
        pytest.skip("measured for XLA's CPU backend of jax 0.10")
    assert native_bfloat16_kernels("jax") is False


@pytest.mark.backends
def test_dtype_policy_is_restored_even_after_an_error():
    before = keras.mixed_precision.global_policy().name
    with pytest.raises(RuntimeError):
        with dtype_policy("mixed_bfloat16"):
            assert keras.mixed_precision.global_policy().name == "mixed_bfloat16"
            raise RuntimeError
    assert keras.mixed_precision.global_policy().name == before
