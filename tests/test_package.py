"""The package's namespaces: every public name resolves to what its module defines, lazily."""

import importlib
import pkgutil
import types

import pytest

import fcn_keras

PACKAGES = ["fcn_keras", "fcn_keras.data", "fcn_keras.export", "fcn_keras.models", "fcn_keras.training"]
SUBMODULE_EXPORTS = {"data", "losses", "metrics", "presets", "visualize"}  # fcn_keras.data etc. are meant as modules


@pytest.mark.parametrize("package", PACKAGES)
def test_no_public_name_is_hidden_by_a_submodule_of_the_same_name(package):
    for module in pkgutil.walk_packages(fcn_keras.__path__, "fcn_keras."):
        importlib.import_module(module.name)  # importing a submodule sets it as a package attribute
    namespace = importlib.import_module(package)
    for name in namespace.__all__:
        value = getattr(namespace, name)
        if isinstance(value, types.ModuleType):
            assert package == "fcn_keras" and name in SUBMODULE_EXPORTS, (package, name)
        elif isinstance(value, (type, types.FunctionType)):
            assert value.__name__ == name, (package, name, value)


def test_unknown_names_raise_attribute_error():
    with pytest.raises(AttributeError, match="has no attribute 'build_fcn9s'"):
        fcn_keras.build_fcn9s  # noqa: B018
    assert "build_fcn8s" in dir(fcn_keras)


@pytest.mark.parametrize("first", ["fcn_keras.losses", "fcn_keras.backends"])
def test_keras_objects_are_registered_whichever_module_imports_keras_first(first):
    """A module of the package that is the first to import Keras is whole before its Keras objects register:
    the registration imports modules that need its names."""
    from helpers import run_under

    script = (f"import warnings; warnings.simplefilter('error')\nimport {first}, keras\n"
              "assert keras.saving.get_registered_object('fcn_keras>LinearWarmUp') is not None")
    done = run_under("jax", script, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
