"""The machine's description and the precision `auto` picks: fake CPUs and GPUs in, policy out."""

import keras
import pytest

from fcn_keras import machine
from fcn_keras.precision import (
    MIN_BFLOAT16_SPEEDUP,
    PrecisionChoice,
    choose_precision,
    dtype_policy,
    measure_bfloat16_speedup,
    resolve_precision,
)

AVX2_ONLY = {"sse4_2", "avx", "avx2", "fma"}  # e.g. AMD Zen 3
AVX512_BF16 = AVX2_ONLY | {"avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8"}


def never_probe():
    raise AssertionError("the probe must not run when the flags already rule bfloat16 out")


def test_avx2_only_cpu_trains_in_float32_without_probing():
    choice = choose_precision(AVX2_ONLY, gpu_capabilities=[], onednn=True, probe=never_probe)
    assert choice.policy == "float32"
    assert "no bfloat16 instructions" in choice.reason


def test_bfloat16_cpu_with_onednn_off_trains_in_float32():
    choice = choose_precision(AVX512_BF16, gpu_capabilities=[], onednn=False, probe=never_probe)
    assert choice.policy == "float32"
    assert "oneDNN kernels are off" in choice.reason


@pytest.mark.parametrize("speedup, policy", [(2.3, "mixed_bfloat16"), (1.05, "mixed_bfloat16"),
                                             (MIN_BFLOAT16_SPEEDUP, "mixed_bfloat16"), (0.7, "float32"),
                                             (0.2, "float32")])
def test_the_probe_only_vetoes_bfloat16_that_is_slower(speedup, policy):
    choice = choose_precision({"avx512_bf16"}, gpu_capabilities=[], onednn=True, probe=lambda: speedup)
    assert choice.policy == policy
    assert f"{speedup:.1f}x" in choice.reason


@pytest.mark.parametrize("capabilities, policy", [([(8, 0)], "mixed_float16"), ([(7, 0)], "mixed_float16"),
                                                  ([(6, 1)], "float32"), ([(6, 1), (9, 0)], "mixed_float16"),
                                                  ([None], "mixed_float16")])
def test_gpus_decide_before_the_cpu(capabilities, policy):
    choice = choose_precision(AVX512_BF16, gpu_capabilities=capabilities, onednn=True, probe=never_probe)
    assert choice.policy == policy


def test_explicit_precision_wins_and_bad_names_are_refused():
    assert resolve_precision("mixed_bfloat16") == PrecisionChoice("mixed_bfloat16", "as asked")
    with pytest.raises(ValueError, match="Unknown precision 'bf16'; choose one of auto, float32"):
        resolve_precision("bf16")


def test_auto_follows_this_machines_flags(monkeypatch):
    import fcn_keras.precision as precision

    precision._auto_choice.cache_clear()
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset(AVX2_ONLY))
    monkeypatch.setattr(precision, "_gpu_capabilities", lambda: [])
    assert resolve_precision("auto").policy == "float32"
    precision._auto_choice.cache_clear()


def test_probe_measures_a_positive_ratio():
    speedup = measure_bfloat16_speedup(repeats=1)
    assert 0.01 < speedup < 100


def test_dtype_policy_is_restored_even_after_an_error():
    before = keras.mixed_precision.global_policy().name
    with pytest.raises(RuntimeError):
        with dtype_policy("mixed_bfloat16"):
            assert keras.mixed_precision.global_policy().name == "mixed_bfloat16"
            raise RuntimeError
    assert keras.mixed_precision.global_policy().name == before


CPUINFO = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 7B13
flags\t\t: fpu sse4_2 avx avx2 fma bmi2

processor\t: 1
model name\t: AMD EPYC 7B13
flags\t\t: fpu sse4_2 avx avx2 fma bmi2
"""


def test_cpu_model_and_flags_are_read_from_cpuinfo(tmp_path):
    path = tmp_path / "cpuinfo"
    path.write_text(CPUINFO)
    assert machine.cpu_model(str(path)) == "AMD EPYC 7B13"
    assert machine.cpu_flags(str(path)) == {"fpu", "sse4_2", "avx", "avx2", "fma", "bmi2"}
    assert machine.speed_flags(machine.cpu_flags(str(path))) == (
        "+avx2 +fma -avx512f -avx512_bf16 -avx512_vnni -avx_vnni -amx_bf16 -amx_int8")


def test_a_machine_without_cpuinfo_has_no_flags(tmp_path):
    assert machine.cpu_flags(str(tmp_path / "missing")) == frozenset()
    assert machine.cpu_model(str(tmp_path / "missing"))  # falls back to the platform's name


def test_describe_names_versions_cpu_and_gpus():
    import tensorflow as tf

    described = machine.describe()
    assert described["tensorflow"] == tf.__version__ and described["keras"] == keras.__version__
    assert described["cpu"] == machine.cpu_model() and described["onednn"] in ("on", "off")
    found = machine.gpus()
    assert all(name in described["gpus"] for name, _ in found) if found else described["gpus"] == "none"
