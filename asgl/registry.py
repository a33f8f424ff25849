"""Strict local registry of training methods (timm's ``register_model``, made strict), found lazily.

A *method* is everything that differs between the compared approaches: the spiking neuron and the
callbacks that drive it during training. Model builders take a neuron factory ``Callable[[], nn.Module]``;
a method supplies it. Each entry is a frozen :class:`MethodSpec`:

* ``make_neuron(params: Mapping, **shape_kwargs) -> nn.Module`` — a module-level function (so that
  ``functools.partial(make_neuron, params)`` pickles) returning a *fresh* neuron module that maps a
  time-major tensor ``[T, B, ...]`` to ``[T, B, ...]``; ``params`` is the method's resolved section of
  ``params.yaml``; ``shape_kwargs`` may carry ``channels=C`` for per-channel options;
* ``callbacks`` — callback *classes* (the hooks of :mod:`asgl.training.callbacks`) instantiated per run as
  ``cls(params)``;
* ``defaults`` — the defaults of the method's section ``methods.<name>`` in ``params.yaml`` (one name, one
  key); :meth:`MethodSpec.resolve_params` rejects unknown keys and wrong types, naming the key;
* ``requires`` — ``(import name, pip requirement)`` pairs checked before a neuron is built.

Where methods come from (nothing is imported before it is asked for):

* ``asgl`` and ``sg`` live in :mod:`asgl.methods`, imported on the first lookup;
* every other method is a module that calls :func:`register_method` when imported. It is announced by an
  entry point in the group :data:`ENTRY_POINT_GROUP` (``asgl_bench.methods``), whose name is the method's
  name and whose value is the module (how pytest and timm find their plugins); this repository's own
  baselines are announced the same way in ``pyproject.toml``. :func:`get_method` imports only the module
  that announces the name asked for; :func:`available_methods` imports them all. A module can also be
  imported by file path (``pipelines.lib.identity.import_source``), with no entry point at all.

Registration is strict: a duplicate name raises. The registry imports no training code and no baseline.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from types import MappingProxyType
from typing import Any

from torch import nn

from asgl.errors import UserError

ENTRY_POINT_GROUP = "asgl_bench.methods"
_METHODS: dict[str, MethodSpec] = {}
_BUILTIN_MODULE = "asgl.methods"


class MissingRequirementError(ImportError, UserError):
    """A method needs a package that is not installed; the message names the pip command."""


class PluginError(ImportError, UserError):
    """An entry point of ``asgl_bench.methods`` does not import, or does not register the method it names."""


class MethodNameError(ValueError, UserError):
    """A method name that no built-in, baseline, plugin or file registers; the message lists the known ones."""


class MethodParamsError(ValueError, TypeError, UserError):
    """A ``methods.<name>`` key the method does not have (a ``ValueError``), or a value of the wrong type (a
    ``TypeError``); the message names ``methods.<name>.<key>``."""


def _check_value(name: str, key: str, value: Any, default: Any) -> None:
    """Raise ``TypeError`` naming ``methods.<name>.<key>`` when ``value`` does not have the type of ``default``."""
    if default is None or value is None:
        return
    if isinstance(default, bool) or isinstance(value, bool):
        ok = isinstance(value, bool) and isinstance(default, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float))
    elif isinstance(default, (list, tuple)):
        ok = isinstance(value, (list, tuple))
    else:
        ok = isinstance(value, type(default))
    if not ok:
        raise MethodParamsError(f"methods.{name}.{key}: expected {type(default).__name__}, "
                                f"got {type(value).__name__} ({value!r})")


@dataclass(frozen=True)
class MethodSpec:
    """One registered method (see the module docstring).

    Attributes:
        name: registry key, e.g. ``"asgl"``; also its params section ``methods.<name>`` and its runs' folder.
        display_name: label for tables and plots.
        family: coarse group (``"asgl"``, ``"surrogate"``, ``"snntorch"``, ``"sharpen"``, ...).
        make_neuron: module-level ``(params, **shape_kwargs) -> nn.Module`` returning a fresh neuron.
        defaults: default values of the section ``methods.<name>`` (read-only); they also fix each key's type.
        callbacks: callback classes, each instantiated per run as ``cls(params)``.
        requires: ``(import name, pip requirement)`` pairs, e.g. ``(("snntorch", "snntorch==1.0.0"),)``.
        description: one line for the docs and ``asgl-bench methods``.
    """

    name: str
    display_name: str
    family: str
    make_neuron: Callable[..., nn.Module]
    defaults: Mapping[str, Any] = field(default_factory=dict)
    callbacks: tuple[type, ...] = ()
    requires: tuple[tuple[str, str], ...] = ()
    description: str = ""

    def __post_init__(self) -> None:
        if not self.name or not isinstance(self.name, str):
            raise ValueError(f"method name must be a non-empty string, got {self.name!r}")
        if getattr(self.make_neuron, "__name__", "") == "<lambda>" or "<locals>" in getattr(
                self.make_neuron, "__qualname__", ""):
            raise ValueError(f"method {self.name!r}: make_neuron must be a module-level function "
                             "(lambdas and closures do not pickle)")
        object.__setattr__(self, "defaults", MappingProxyType(dict(self.defaults)))
        object.__setattr__(self, "callbacks", tuple(self.callbacks))
        object.__setattr__(self, "requires", tuple(tuple(r) for r in self.requires))

    def resolve_params(self, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Defaults updated with ``params``; unknown keys raise ``ValueError``, wrong types ``TypeError``."""
        params = dict(params or {})
        unknown = sorted(set(params) - set(self.defaults))
        if unknown:
            raise MethodParamsError(f"methods.{self.name}: unknown key(s) {unknown}; "
                                    f"known keys: {sorted(self.defaults)}")
        for key, value in params.items():
            _check_value(self.name, key, value, self.defaults[key])
        resolved = dict(self.defaults)
        resolved.update(params)
        return resolved

    def check_requirements(self) -> None:
        """Raise :class:`MissingRequirementError` naming the package and the pip command if one is missing."""
        for module, requirement in self.requires:
            if importlib.util.find_spec(module) is None:
                raise MissingRequirementError(
                    f"method {self.name!r} needs the Python package {module!r}; install it with "
                    f"`pip install '{requirement}'`")

    def neuron_factory(self, params: Mapping[str, Any] | None = None,
                       **shape_kwargs: Any) -> Callable[[], nn.Module]:
        """A picklable zero-argument factory (``functools.partial``) for model builders."""
        self.check_requirements()
        return functools.partial(self.make_neuron, self.resolve_params(params), **shape_kwargs)

    def build_neuron(self, params: Mapping[str, Any] | None = None, **shape_kwargs: Any) -> nn.Module:
        """One fresh neuron module built from (resolved) ``params``."""
        return self.neuron_factory(params, **shape_kwargs)()

    def make_callbacks(self, params: Mapping[str, Any] | None = None) -> list:
        """Fresh instances of the method's callbacks for one run."""
        resolved = self.resolve_params(params)
        return [cls(resolved) for cls in self.callbacks]


def _same_definition(a: MethodSpec, b: MethodSpec) -> bool:
    """Both specs come from the same function of the same file (one file imported under two module names,
    e.g. once through its entry point and once by path)."""
    fa, fb = source_file(a), source_file(b)
    return fa is not None and fa == fb and a.make_neuron.__qualname__ == b.make_neuron.__qualname__


def register_method(spec: MethodSpec) -> MethodSpec:
    """Add ``spec`` to the registry and return the registered entry.

    A name already registered raises ``ValueError``, unless the registered entry was defined by the same
    function of the same file (the file imported a second time under another module name): then the first
    entry stays and is returned.
    """
    if not isinstance(spec, MethodSpec):
        raise TypeError(f"register_method expects a MethodSpec, got {type(spec).__name__}")
    if spec.name in _METHODS and _same_definition(_METHODS[spec.name], spec):
        return _METHODS[spec.name]
    if spec.name in _METHODS:
        owner = getattr(_METHODS[spec.name].make_neuron, "__module__", "?")
        raise ValueError(f"method {spec.name!r} is already registered (by {owner}); choose another name")
    _METHODS[spec.name] = spec
    return spec


def _load_builtin() -> None:
    importlib.import_module(_BUILTIN_MODULE)


def method_entry_points() -> dict[str, EntryPoint]:
    """The entry points of the group ``asgl_bench.methods`` on ``sys.path``, by method name (not imported)."""
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def _load_entry_point(ep: EntryPoint) -> None:
    """Import the module an entry point names (registering its methods); it must register ``ep.name``."""
    if ep.name in _METHODS:
        return
    where = f"entry point {ENTRY_POINT_GROUP}:{ep.name} = {ep.value}"
    if ep.dist is not None:
        where += f" (distribution {ep.dist.name})"
    try:
        ep.load()
    except MissingRequirementError:
        raise
    except Exception as exc:
        raise PluginError(f"{where}: importing it failed ({type(exc).__name__}: {exc}); fix or uninstall "
                          "that plugin") from exc
    if ep.name not in _METHODS:
        raise PluginError(f"{where}: the module was imported but registered no method named {ep.name!r}; "
                          "the entry point's name must be the method's name")


def get_method(name: str) -> MethodSpec:
    """The spec registered under ``name``; an unknown name raises ``ValueError`` listing the known ones.

    Looks in what is registered, then the built-in :mod:`asgl.methods`, then the entry point of that name.
    """
    if name not in _METHODS:
        _load_builtin()
    if name not in _METHODS:
        ep = method_entry_points().get(name)
        if ep is not None:
            _load_entry_point(ep)
    if name not in _METHODS:
        known = sorted(set(_METHODS) | set(method_entry_points()))
        raise MethodNameError(f"unknown method {name!r}; known methods: {known} (a plugin is found through an "
                              f"entry point of the group {ENTRY_POINT_GROUP!r} or by the path of its .py file)")
    return _METHODS[name]


def available_methods() -> tuple[str, ...]:
    """Names of all methods: the built-in ones, every entry point's (imported now) and any registered, sorted."""
    _load_builtin()
    for ep in method_entry_points().values():
        _load_entry_point(ep)
    return tuple(sorted(_METHODS))


def registered_methods() -> tuple[str, ...]:
    """Names registered so far in this process, without importing anything, sorted."""
    return tuple(sorted(_METHODS))


def source_file(spec: MethodSpec) -> Path | None:
    """The ``.py`` file that defines ``spec.make_neuron`` (the module that registers the method), if known."""
    module = sys.modules.get(getattr(spec.make_neuron, "__module__", ""))
    try:
        found = inspect.getsourcefile(module) if module is not None else None
    except TypeError:
        found = None
    return Path(found).resolve() if found else None
