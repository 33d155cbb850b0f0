"""What this machine is: CPU flags from cpuinfo, GPUs and versions from the active Keras backend's library."""

import json

import keras
import pytest

from fcn_keras import machine

pytestmark = pytest.mark.backends  # every test here runs under every Keras backend

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


def test_describe_names_the_backend_its_version_cpu_and_gpus():
    import importlib

    backend = keras.backend.backend()
    described = machine.describe()
    assert described["backend"] == backend and machine.keras_backend() == backend
    assert described[backend] == importlib.import_module(backend).__version__
    assert not {"tensorflow", "jax", "torch"} - {backend} & set(described)  # only the active backend's library
    assert described["keras"] == keras.__version__ and described["cpu"] == machine.cpu_model()
    assert described["onednn"] in (("on", "off") if backend != "jax" else ("n/a (XLA's own CPU kernels)",))
    found = machine.gpus()
    assert all(name in described["gpus"] for name, _ in found) if found else described["gpus"] == "none"


def test_gpus_come_as_names_and_capabilities():
    for name, capability in machine.gpus():
        assert isinstance(name, str) and (capability is None or len(capability) == 2)


@pytest.mark.parametrize("value, capability", [((9, 0), (9, 0)), ("8.6", (8, 6)), ("9", (9, 0)), (None, None),
                                               ("", None), ("gfx90a", None)])
def test_compute_capabilities_are_read_as_numbers(value, capability):
    assert machine._capability(value) == capability


def test_the_backend_is_found_as_keras_finds_it_without_importing_keras(tmp_path):
    assert machine.configured_backend({"KERAS_BACKEND": "torch", "KERAS_HOME": str(tmp_path)}) == "torch"
    assert machine.configured_backend({"KERAS_HOME": str(tmp_path)}) == "tensorflow"  # no keras.json: Keras' default
    (tmp_path / "keras.json").write_text(json.dumps({"floatx": "float32", "backend": "jax"}))
    assert machine.configured_backend({"KERAS_HOME": str(tmp_path)}) == "jax"
    assert machine.configured_backend({"KERAS_BACKEND": "", "KERAS_HOME": str(tmp_path)}) == "jax"  # empty: unset
    (tmp_path / "keras.json").write_text("{not json")
    assert machine.configured_backend({"KERAS_HOME": str(tmp_path)}) == "tensorflow"
    assert machine.keras_backend() == keras.backend.backend()  # once Keras is imported, Keras answers
