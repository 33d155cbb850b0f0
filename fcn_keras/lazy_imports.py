"""Lazy package namespaces, so that `import fcn_keras` and `fcn-keras --help` need no TensorFlow.

A package lists its public names and the modules that define them; a name's module
(and TensorFlow with it) is imported on first access (PEP 562 `__getattr__`).
Keras finds the package's custom layers only once their module ran, so
`register_layers_with_keras` imports them as soon as Keras itself is imported.
"""

import importlib
import importlib.abc
import importlib.util
import sys
import warnings


def lazy_namespace(package, exports):
    """`__getattr__`, `__dir__` and `__all__` for a package whose names load on first use.

    Args:
        package: the package's `__name__`.
        exports: {module name: names it defines}; a name equal to its module's last
            component stands for the submodule itself (e.g. {"fcn_keras.data": ["data"]}).

    Returns:
        `(__getattr__, __dir__, __all__)` to assign in the package's `__init__`.

    Example:
        >>> __getattr__, __dir__, __all__ = lazy_namespace(__name__, {
        ...     "fcn_keras.models.fcn": ["build_fcn"]})  # doctest: +SKIP
    """
    origin = {name: module for module, names in exports.items() for name in names}

    def __getattr__(name):
        if name not in origin:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = importlib.import_module(origin[name])
        value = module if origin[name].rsplit(".", 1)[-1] == name else getattr(module, name)
        setattr(sys.modules[package], name, value)  # later lookups skip __getattr__
        return value

    def __dir__():
        return sorted(set(vars(sys.modules[package])) | set(origin))

    return __getattr__, __dir__, sorted(origin)


class _AfterImport(importlib.abc.MetaPathFinder):
    """Runs `callback()` right after module `name` has been imported, then leaves `sys.meta_path`.

    Only an import that executes the module counts: libraries that merely look the
    module up (`importlib.util.find_spec`, as TensorFlow does for Keras) get the
    real spec and leave this finder in place.
    """

    def __init__(self, name, callback):
        self.name, self.callback = name, callback

    def find_spec(self, name, path=None, target=None):
        if name != self.name:
            return None
        position = sys.meta_path.index(self)
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(name)  # what the other finders make of it
        finally:
            sys.meta_path.insert(position, self)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        exec_module = spec.loader.exec_module

        def exec_then_callback(module):
            exec_module(module)
            if self in sys.meta_path:
                sys.meta_path.remove(self)
                self.callback()

        spec.loader.exec_module = exec_then_callback
        return spec


def register_layers_with_keras(module="fcn_keras.layers"):
    """Imports `module` (which registers the custom layers) now if Keras is loaded, else
    right after Keras is first imported, so `keras.models.load_model` finds the layers.

    Args:
        module: the module whose import registers the layers.

    Example:
        >>> register_layers_with_keras()  # in fcn_keras/__init__.py  # doctest: +SKIP
    """

    def register():
        try:
            importlib.import_module(module)
        except Exception as error:  # never break the user's `import keras`
            warnings.warn(f"fcn_keras could not register its Keras layers ({error}); import {module} "
                          "before loading .keras files.", stacklevel=2)

    if "keras" in sys.modules:
        register()
    elif not any(isinstance(finder, _AfterImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _AfterImport("keras", register))
