"""Every example in a docstring of fcn_keras runs, and none is skipped: run by the tests, or not there.

Each module with examples is one case. Its docstrings are found and run as `doctest.testmod` does
(the module's globals plus `EXTRAGLOBS`, `OPTIONFLAGS`), each in a fresh empty working directory
(examples may write files) with the global seed set; the environment variables, the dtype policy
and the backbone registry are restored after each one.
"""

import doctest
import importlib
import os
import pathlib
import pkgutil
import re

import keras
import numpy as np
import pytest
import tensorflow as tf

import fcn_keras
from fcn_keras import build_fcn, build_fcn8s, build_fcn16s, build_fcn32s
from fcn_keras.backbones import model_backbone, registry
from fcn_keras.data import prepare, synthetic_shapes
from fcn_keras.geometry import tensor_grid

PACKAGE_DIR = pathlib.Path(fcn_keras.__file__).parent
EXTRAGLOBS = {"np": np, "tf": tf, "keras": keras, "fcn_keras": fcn_keras, "build_fcn": build_fcn,
              "build_fcn8s": build_fcn8s, "build_fcn16s": build_fcn16s, "build_fcn32s": build_fcn32s,
              "prepare": prepare, "synthetic_shapes": synthetic_shapes, "tensor_grid": tensor_grid,
              "model_backbone": model_backbone}
OPTIONFLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
# Modules whose examples need an optional extra of setup.py: skipped (as their other tests are) without it.
OPTIONAL = {"fcn_keras.export.onnx": ("onnx", "tf2onnx", "onnxruntime"),
            "fcn_keras.export.openvino": ("openvino", "nncf"), "fcn_keras.export.runtime_models": ("ai_edge_litert",),
            "fcn_keras.weight_files.torch_pth": ("torch",), "fcn_keras.benchmark.pytorch_peer": ("torch",)}
SKIP_DIRECTIVE = re.compile(r"doctest:.*[+]SKIP")


def module_names():
    names = [fcn_keras.__name__] + [info.name for info in pkgutil.walk_packages(fcn_keras.__path__, "fcn_keras.")]
    return sorted(names)


def docstring_tests(module):
    finder = doctest.DocTestFinder()
    return [test for test in finder.find(module, module.__name__, extraglobs=EXTRAGLOBS) if test.examples]


MODULES_WITH_EXAMPLES = [name for name in module_names() if docstring_tests(importlib.import_module(name))]


@pytest.mark.parametrize("name", MODULES_WITH_EXAMPLES)
def test_docstring_examples_run(name, tmp_path, monkeypatch):
    for package in OPTIONAL.get(name, ()):
        pytest.importorskip(package)
    runner = doctest.DocTestRunner(optionflags=OPTIONFLAGS)
    policy = keras.mixed_precision.global_policy()
    environment, backbones = dict(os.environ), set(registry.available_backbones())
    for index, test in enumerate(docstring_tests(importlib.import_module(name))):
        folder = tmp_path / str(index)
        folder.mkdir()
        monkeypatch.chdir(folder)
        keras.utils.set_random_seed(0)
        try:
            runner.run(test)
        finally:  # what one docstring changes, the next does not see
            keras.mixed_precision.set_global_policy(policy)
            os.environ.clear()
            os.environ.update(environment)
            for added in set(registry.available_backbones()) - backbones:
                del registry._BACKBONES[added]
    result = runner.summarize(verbose=False)
    assert result.attempted > 0 and result.failed == 0, f"{result.failed} failed examples in {name}, printed above"


def test_every_module_is_walked():
    on_disk = {".".join(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts).removesuffix(".__init__")
               for path in PACKAGE_DIR.rglob("*.py")}
    assert set(module_names()) == on_disk


def test_no_example_is_skipped():
    skipping = [f"{path.relative_to(PACKAGE_DIR.parent)}:{number}"
                for path in sorted(PACKAGE_DIR.rglob("*.py"))
                for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
                if SKIP_DIRECTIVE.search(line)]
    assert not skipping, f"An example in a docstring is run by the tests, or it is not there: {skipping}"
