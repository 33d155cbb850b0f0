"""Lazy package namespaces, so that `import fcn_keras` and `fcn-keras --help` need no TensorFlow.

A package lists its public names and the modules that define them; a name's module
(and TensorFlow with it) is imported on first access (PEP 562 `__getattr__`).
Keras finds the package's custom objects only once their modules ran, so
`register_with_keras` imports them as soon as Keras itself is imported.
"""

import importlib
import importlib.abc
import importlib.util
import sys
import threading
import warnings

# Every module that registers objects with `keras.saving.register_keras_serializable`.
SERIALIZABLE_MODULES = ("fcn_keras.layers", "fcn_keras.losses", "fcn_keras.metrics", "fcn_keras.models.fcn_model",
                        "fcn_keras.training.optimizers", "fcn_keras.portable_optimizers")


def lazy_namespace(package, exports):
    """`__getattr__`, `__dir__` and `__all__` for a package whose names load on first use.

    Submodules load on first access too (`fcn_keras.models` after `import fcn_keras`).

    Args:
        package: the package's `__name__`.
        exports: {module name: names it defines}; a name equal to its module's last
            component stands for the submodule itself (e.g. {"fcn_keras.data": ["data"]}).

    Returns:
        `(__getattr__, __dir__, __all__)` to assign in the package's `__init__`.

    Example:
        >>> __getattr__, __dir__, __all__ = lazy_namespace("fcn_keras", {"fcn_keras.models.fcn": ["build_fcn"]})
        >>> __all__, __getattr__("build_fcn").__module__
        (['build_fcn'], 'fcn_keras.models.fcn')
    """
    origin = {name: module for module, names in exports.items() for name in names}

    def __getattr__(name):
        if name not in origin:
            if name.startswith("_") or importlib.util.find_spec(f"{package}.{name}") is None:
                raise AttributeError(f"module {package!r} has no attribute {name!r}")
            return importlib.import_module(f"{package}.{name}")  # a submodule, as an eager package has
        module = importlib.import_module(origin[name])
        value = module if origin[name].rsplit(".", 1)[-1] == name else getattr(module, name)
        setattr(sys.modules[package], name, value)  # later lookups skip __getattr__
        return value

    def __dir__():
        return sorted(set(vars(sys.modules[package])) | set(origin))

    return __getattr__, __dir__, sorted(origin)


class _CallbackLoader(importlib.abc.Loader):
    """Executes a module with the real loader, then calls `callback()` once; all else is the real loader's."""

    def __init__(self, loader, callback):
        self._loader, self._callback = loader, callback

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        module.__loader__ = module.__spec__.loader = self._loader
        self._loader.exec_module(module)
        self._callback()

    def __getattr__(self, name):
        return getattr(self._loader, name)


class _AfterImport(importlib.abc.MetaPathFinder):
    """Runs `callback()` once, right after module `name` has been executed by an import; when that import
    happens inside the import of a module of `package`, right after the imports of `package`'s modules
    under way have ended, so that `callback` may import them whole.

    Only an import that executes the module counts: libraries that merely look the
    module up (`importlib.util.find_spec`, as TensorFlow does for Keras) get a spec
    whose loader is never run, and this finder stays in place for the real import.
    """

    def __init__(self, name, callback, package=__package__):
        self.name, self.callback, self.package = name, callback, package
        self._looking = threading.local()
        self._executed = False

    def find_spec(self, name, path=None, target=None):
        watched = name == self.name or name.startswith(f"{self.package}.")
        if not watched or getattr(self._looking, "active", False):
            return None
        self._looking.active = True
        try:
            spec = importlib.util.find_spec(name)  # what the other finders make of it
        finally:
            self._looking.active = False
        if spec is None or spec.loader is None:
            return spec
        spec.loader = _CallbackLoader(spec.loader, lambda: self._done(name))
        return spec

    def _done(self, name):
        self._executed = self._executed or name == self.name
        if self._executed and not self._package_importing(besides=name) and self in sys.meta_path:
            sys.meta_path.remove(self)
            self.callback()

    def _package_importing(self, besides):
        """Whether a module of `package` other than `besides` is being imported (executed) now."""
        return any(getattr(getattr(module, "__spec__", None), "_initializing", False)
                   for name, module in list(sys.modules.items())
                   if name != besides and (name == self.package or name.startswith(f"{self.package}.")))


def register_with_keras(modules=SERIALIZABLE_MODULES):
    """Imports `modules` (which register the package's layers, losses, metrics and schedules
    with Keras) now if Keras is loaded, else right after Keras is first imported, so
    `keras.models.load_model` finds them without `custom_objects`.

    Args:
        modules: the modules whose import registers the serializable objects.

    Example:
        >>> register_with_keras()  # in fcn_keras/__init__.py
        >>> keras.saving.get_registered_object("fcn_keras>BilinearUpsampling")
        <class 'fcn_keras.layers.bilinear.BilinearUpsampling'>
    """

    def register():
        for module in modules:
            try:
                importlib.import_module(module)
            except Exception as error:  # never break the user's `import keras`
                warnings.warn(f"fcn_keras could not register its Keras objects ({error}); import {module} "
                              "before loading .keras files.", stacklevel=2)

    if "keras" in sys.modules:
        register()
    elif not any(isinstance(finder, _AfterImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _AfterImport("keras", register))
