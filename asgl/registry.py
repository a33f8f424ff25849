"""Strict local registry of training methods (timm's ``register_model``, made strict).

A *method* is everything that differs between the compared approaches: the spiking neuron and the
callbacks that drive it during training. Model builders take a neuron factory ``Callable[[], nn.Module]``;
a method supplies it. Each entry is a frozen :class:`MethodSpec`:

* ``make_neuron(params: Mapping, **shape_kwargs) -> nn.Module`` — a module-level function (so that
  ``functools.partial(make_neuron, params)`` pickles) returning a *fresh* neuron module that maps a
  time-major tensor ``[T, B, ...]`` to ``[T, B, ...]``; ``params`` is the method's resolved section of
  ``params.yaml``; ``shape_kwargs`` may carry ``channels=C`` for per-channel options;
* ``callbacks`` — callback *classes* (see :mod:`asgl.training.callbacks`) instantiated per run as
  ``cls(params)``;
* ``params_section`` and ``defaults`` — the name of the section in ``params.yaml`` and its defaults;
  :meth:`MethodSpec.resolve_params` rejects unknown keys and wrong types, naming the key;
* ``requires`` — ``(import name, pip requirement)`` pairs checked before a neuron is built.

Registration is strict: a duplicate name raises. ``asgl`` and ``sg`` live in :mod:`asgl.methods` (loaded
on first lookup); baselines register themselves when the ``baselines`` package is imported (``asgl`` never
imports ``baselines``).

Neuron contract used by the trainer and the metrics (:func:`is_spiking_neuron`): a module is a spiking
neuron if it is an :class:`asgl.LIF` or sets the class attribute ``spiking_neuron = True``. Its output is the
spike train (zeros where silent).
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from torch import nn

_METHODS: dict[str, MethodSpec] = {}
_BUILTIN_MODULE = "asgl.methods"


class MissingRequirementError(ImportError):
    """A method needs a package that is not installed; the message names the pip command."""


def _check_value(section: str, key: str, value: Any, default: Any) -> None:
    """Raise ``TypeError`` naming ``section.key`` when ``value`` does not have the type of ``default``."""
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
        raise TypeError(f"params.{section}.{key}: expected {type(default).__name__}, "
                        f"got {type(value).__name__} ({value!r})")


@dataclass(frozen=True)
class MethodSpec:
    """One registered method (see the module docstring).

    Attributes:
        name: registry key, e.g. ``"asgl"``; also the folder name of its runs.
        display_name: label for tables and plots.
        family: coarse group (``"asgl"``, ``"surrogate"``, ``"snntorch"``, ``"sharpen"``).
        make_neuron: module-level ``(params, **shape_kwargs) -> nn.Module`` returning a fresh neuron.
        params_section: name of the method's section in ``params.yaml``.
        defaults: default values of that section (read-only); they also fix each key's type.
        callbacks: callback classes, each instantiated per run as ``cls(params)``.
        requires: ``(import name, pip requirement)`` pairs, e.g. ``(("snntorch", "snntorch==1.0.0"),)``.
        description: one line for the docs.
    """

    name: str
    display_name: str
    family: str
    make_neuron: Callable[..., nn.Module]
    params_section: str
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
            raise ValueError(f"params.{self.params_section}: unknown key(s) {unknown}; "
                             f"known keys: {sorted(self.defaults)}")
        for key, value in params.items():
            _check_value(self.params_section, key, value, self.defaults[key])
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


def register_method(spec: MethodSpec) -> MethodSpec:
    """Add ``spec`` to the registry; a name already registered raises ``ValueError``."""
    if not isinstance(spec, MethodSpec):
        raise TypeError(f"register_method expects a MethodSpec, got {type(spec).__name__}")
    if spec.name in _METHODS:
        owner = getattr(_METHODS[spec.name].make_neuron, "__module__", "?")
        raise ValueError(f"method {spec.name!r} is already registered (by {owner})")
    _METHODS[spec.name] = spec
    return spec


def _load_builtin() -> None:
    importlib.import_module(_BUILTIN_MODULE)


def get_method(name: str) -> MethodSpec:
    """The spec registered under ``name``; an unknown name raises ``ValueError`` listing the known ones."""
    _load_builtin()
    if name not in _METHODS:
        raise ValueError(f"unknown method {name!r}; known methods: {sorted(_METHODS)} "
                         "(baseline methods register when the `baselines` package is imported)")
    return _METHODS[name]


def available_methods() -> tuple[str, ...]:
    """Names of all registered methods, sorted."""
    _load_builtin()
    return tuple(sorted(_METHODS))


def is_spiking_neuron(module: nn.Module) -> bool:
    """True for an :class:`asgl.LIF` or any module whose class sets ``spiking_neuron = True``."""
    from asgl.neuron import LIF

    return isinstance(module, LIF) or getattr(type(module), "spiking_neuron", False) is True
