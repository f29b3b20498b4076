"""Estimator base classes and safe persistence, without scikit-learn.

The classes follow scikit-learn's estimator contract (``get_params`` /
``set_params`` from the ``__init__`` signature, mixins before the base,
capabilities in ``__sklearn_tags__``) so that scikit-learn's meta-tools and
its check suite accept them. ``__sklearn_tags__`` imports scikit-learn lazily,
inside the method: scikit-learn is always importable when it calls it.

Persistence writes a directory with two files and never pickles:

``model.json``
    ``{"format": "riskloop.scratch", "format_version": 1, "class": name,
    "params": ..., "state": ...}`` — the class is resolved on load *only* from
    the registry of classes defined in ``riskloop.scratch``.
``arrays.npz``
    the fitted arrays, read back with ``np.load(allow_pickle=False)``.

Values that JSON cannot hold faithfully (tuples, dicts with non-string keys,
NaN/inf, NumPy scalars, arrays inside params, nested unfitted estimators) are
written as small tagged objects such as ``{"__tuple__": [...]}``.
"""

from __future__ import annotations

import inspect
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, cast

import numpy as np

from riskloop.scratch._validation import check_is_fitted, validate_parameter_constraints

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "BaseEstimator",
    "ClassifierMixin",
    "ClusterMixin",
    "TransformerMixin",
    "registered_estimators",
]

FORMAT_NAME = "riskloop.scratch"
FORMAT_VERSION = 1
_MODEL_FILE = "model.json"
_ARRAYS_FILE = "arrays.npz"
# Prefix of npz keys holding arrays that came from params rather than state.
_PARAM_ARRAY_PREFIX = "__param__"

_REGISTRY: dict[str, type] = {}


def registered_estimators() -> dict[str, type]:
    """Name → class of every estimator class defined in ``riskloop.scratch``."""
    return dict(_REGISTRY)


class BaseEstimator:
    """Base of every riskloop.scratch estimator.

    Provides ``get_params`` / ``set_params`` (introspecting ``__init__``),
    ``__repr__`` (parameters that differ from their defaults), the base
    ``__sklearn_tags__``, ``save`` / ``load`` and ``_validate_params``.
    Subclasses declare ``_parameter_constraints`` (one entry per ``__init__``
    parameter, see :mod:`riskloop.scratch._validation.params`), call
    ``self._validate_params()`` first thing in ``fit``, and implement
    ``_to_state`` and ``_from_state``; ``n_features_in_`` and
    ``feature_names_in_`` are saved and restored here, so they need not.
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {}
    _param_names: ClassVar[tuple[str, ...]]  # cached by _get_param_names, per class
    # Set by validate_data(reset=True) in fit; declared (not assigned) so that
    # hasattr() still tells a fitted estimator from an unfitted one.
    n_features_in_: int
    feature_names_in_: np.ndarray

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Only our own classes are loadable: a model file can never name code
        # from elsewhere.
        if cls.__module__.startswith("riskloop.scratch"):
            _REGISTRY[cls.__name__] = cls

    # ------------------------------------------------------------------ params
    @classmethod
    def _get_param_names(cls) -> list[str]:
        # Read from the signature once per class: get_params runs at every fit
        # (parameter validation), clone and repr.
        if "_param_names" not in cls.__dict__:
            cls._param_names = tuple(cls._read_param_names())
        return list(cls._param_names)

    @classmethod
    def _read_param_names(cls) -> list[str]:
        init = cls.__init__
        if init is object.__init__:
            return []
        params = [
            p
            for p in inspect.signature(init).parameters.values()
            if p.name != "self" and p.kind != p.VAR_KEYWORD
        ]
        for p in params:
            if p.kind == p.VAR_POSITIONAL:
                raise RuntimeError(
                    f"{cls.__name__} should not take *args in __init__: estimator "
                    "parameters must be explicit keyword arguments."
                )
        return sorted(p.name for p in params)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Parameters of this estimator (and, if ``deep``, of nested estimators)."""
        out: dict[str, Any] = {}
        for key in self._get_param_names():
            value = getattr(self, key)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                out.update((f"{key}__{k}", v) for k, v in value.get_params().items())
            out[key] = value
        return out

    def set_params(self, **params: Any) -> BaseEstimator:
        """Set parameters; ``name__sub`` sets ``sub`` on the nested estimator ``name``."""
        if not params:
            return self
        valid = self.get_params(deep=True)
        nested: dict[str, dict[str, Any]] = {}
        for key, value in params.items():
            name, delim, sub_key = key.partition("__")
            if name not in valid:
                raise ValueError(
                    f"Invalid parameter {name!r} for estimator {self}. Valid parameters "
                    f"are: {sorted(self._get_param_names())!r}."
                )
            if delim:
                nested.setdefault(name, {})[sub_key] = value
            else:
                setattr(self, name, value)
                valid[name] = value
        for name, sub_params in nested.items():
            valid[name].set_params(**sub_params)
        return self

    def _validate_params(self) -> None:
        """Check every parameter against ``_parameter_constraints``; once per fit.

        Raises
        ------
        InvalidParameterError
            Naming the parameter, the rule it breaks and the value received.
        """
        validate_parameter_constraints(
            self._parameter_constraints,
            self.get_params(deep=False),
            caller_name=type(self).__name__,
        )

    def __repr__(self) -> str:
        defaults = {
            name: p.default for name, p in inspect.signature(type(self).__init__).parameters.items()
        }
        changed = [
            f"{k}={v!r}"
            for k, v in self.get_params(deep=False).items()
            if not _same_value(v, defaults.get(k, inspect.Parameter.empty))
        ]
        return f"{type(self).__name__}({', '.join(changed)})"

    # -------------------------------------------------------------------- tags
    def __sklearn_tags__(self):
        from sklearn.utils import Tags, TargetTags

        return Tags(
            estimator_type=None,
            target_tags=TargetTags(required=False),
            transformer_tags=None,
            regressor_tags=None,
            classifier_tags=None,
        )

    # ------------------------------------------------------------- persistence
    def _to_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        """(JSON-able metadata, named arrays) describing the fitted state."""
        raise NotImplementedError(f"{type(self).__name__} does not implement _to_state")

    def _from_state(self, meta: dict, arrays: dict[str, np.ndarray]) -> None:
        """Restore fitted attributes from what ``_to_state`` returned."""
        raise NotImplementedError(f"{type(self).__name__} does not implement _from_state")

    def save(self, path: str | Path) -> None:
        """Save the fitted estimator to directory ``path`` (model.json + arrays.npz).

        Raises
        ------
        NotFittedError
            If the estimator has not been fitted.
        TypeError
            If a parameter cannot be stored without pickling.
        """
        check_is_fitted(self)
        arrays: dict[str, np.ndarray] = {}
        params = _encode(self.get_params(deep=False), arrays, prefix=_PARAM_ARRAY_PREFIX)
        meta, state_arrays = self._to_state()
        for name, array in state_arrays.items():
            if name.startswith(_PARAM_ARRAY_PREFIX) or name.startswith("__input__"):
                raise ValueError(f"state array name {name!r} uses a reserved prefix")
            arrays[name] = np.asarray(array)
        if hasattr(self, "n_features_in_"):
            arrays["__input__n_features_in_"] = np.asarray(self.n_features_in_, np.int64)
        if hasattr(self, "feature_names_in_"):
            arrays["__input__feature_names_in_"] = np.asarray(self.feature_names_in_)
        object_arrays = []
        for name, array in list(arrays.items()):
            if array.dtype == object:
                if not all(isinstance(v, str) for v in array.ravel().tolist()):
                    raise TypeError(
                        f"array {name!r} has object dtype with non-string values; "
                        "it cannot be saved without pickling"
                    )
                arrays[name] = array.astype(str)
                object_arrays.append(name)
        document = {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "class": type(self).__name__,
            "params": params,
            "state": _encode(meta, arrays=None),
            "object_arrays": object_arrays,
        }
        directory = Path(path)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / _MODEL_FILE).write_text(json.dumps(document, indent=1, allow_nan=False))
        np.savez(directory / _ARRAYS_FILE, **cast(dict[str, Any], arrays))

    @classmethod
    def load(cls, path: str | Path) -> BaseEstimator:
        """Load an estimator saved with :meth:`save`.

        The class named in ``model.json`` must be a registered
        ``riskloop.scratch`` estimator (and a subclass of ``cls`` when called on
        a subclass); arrays are read with ``allow_pickle=False``.
        """
        directory = Path(path)
        document = json.loads((directory / _MODEL_FILE).read_text())
        if document.get("format") != FORMAT_NAME:
            raise ValueError(f"{directory} is not a {FORMAT_NAME} model directory")
        version = document.get("format_version")
        if version != FORMAT_VERSION:
            raise ValueError(
                f"{directory} has format_version {version!r}; this riskloop reads "
                f"version {FORMAT_VERSION}. Re-train or re-save the model."
            )
        name = document.get("class")
        klass = _REGISTRY.get(name)
        if klass is None:
            raise ValueError(
                f"unknown estimator class {name!r} in {directory}; known: {sorted(_REGISTRY)}"
            )
        if not issubclass(klass, cls):
            raise TypeError(f"{directory} holds a {name}, not a {cls.__name__}")
        with np.load(directory / _ARRAYS_FILE, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
        for key in document.get("object_arrays", []):
            arrays[key] = arrays[key].astype(object)
        params = _decode(document["params"], arrays)
        estimator = klass()
        estimator.set_params(**params)
        if "__input__n_features_in_" in arrays:
            estimator.n_features_in_ = int(arrays.pop("__input__n_features_in_"))
        if "__input__feature_names_in_" in arrays:
            estimator.feature_names_in_ = arrays.pop("__input__feature_names_in_")
        state_arrays = {k: v for k, v in arrays.items() if not k.startswith(_PARAM_ARRAY_PREFIX)}
        estimator._from_state(_decode(document["state"], {}), state_arrays)
        return estimator


if TYPE_CHECKING:

    class _MixedInto:
        """What the mixins rely on in the estimator they are mixed into (for type checking)."""

        labels_: np.ndarray
        fit: Callable[..., Any]
        predict: Callable[..., np.ndarray]
        transform: Callable[..., np.ndarray]

        def __sklearn_tags__(self) -> Any: ...

else:
    _MixedInto = object


class ClassifierMixin(_MixedInto):
    """Mixin for classifiers: ``score`` is accuracy; y is required."""

    _requires_y: ClassVar[bool] = True

    def __sklearn_tags__(self):
        from sklearn.utils import ClassifierTags

        tags = super().__sklearn_tags__()
        tags.estimator_type = "classifier"
        tags.classifier_tags = ClassifierTags()
        tags.target_tags.required = True
        return tags

    def score(self, X, y, sample_weight=None) -> float:
        """Mean accuracy of ``predict(X)`` against ``y`` (weighted if given)."""
        correct = (self.predict(X) == np.asarray(y).reshape(-1)).astype(np.float64)
        if sample_weight is None:
            return float(correct.mean())
        weights = np.asarray(sample_weight, dtype=np.float64)
        return float(np.sum(correct * weights) / np.sum(weights))


class TransformerMixin(_MixedInto):
    """Mixin for transformers: ``fit_transform``."""

    def __sklearn_tags__(self):
        from sklearn.utils import TransformerTags

        tags = super().__sklearn_tags__()
        tags.transformer_tags = TransformerTags()
        return tags

    def fit_transform(self, X: Any, y: Any = None) -> np.ndarray:
        """Fit to X, then return ``transform(X)``."""
        return self.fit(X, y).transform(X)


class ClusterMixin(_MixedInto):
    """Mixin for clusterers: ``fit_predict`` returns ``labels_``."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.estimator_type = "clusterer"
        if tags.transformer_tags is not None:
            tags.transformer_tags.preserves_dtype = []
        return tags

    def fit_predict(self, X: Any, y: Any = None) -> np.ndarray:
        """Fit to X and return the cluster label of each sample."""
        self.fit(X)
        return self.labels_


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------
def _same_value(a: Any, b: Any) -> bool:
    if a is b:
        return True
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return False
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    try:
        return bool(type(a) is type(b) and a == b)
    except Exception:  # noqa: BLE001 - exotic __eq__: treat as changed
        return False


def _encode(value: Any, arrays: dict[str, np.ndarray] | None, prefix: str = "") -> Any:
    """Turn ``value`` into strict JSON; arrays go to ``arrays`` (if allowed)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, np.bool_):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else {"__float__": repr(value)}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, arrays, f"{prefix}.{i}") for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [_encode(v, arrays, f"{prefix}.{i}") for i, v in enumerate(value)]
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value) and not any(k.startswith("__") for k in value):
            return {k: _encode(v, arrays, f"{prefix}.{k}") for k, v in value.items()}
        return {
            "__dict__": [
                [_encode(k, arrays, prefix), _encode(v, arrays, f"{prefix}.{i}")]
                for i, (k, v) in enumerate(value.items())
            ]
        }
    if isinstance(value, np.ndarray):
        if arrays is None:
            raise TypeError("put arrays in the arrays dict of _to_state, not in its metadata")
        arrays[prefix] = value
        return {"__array__": prefix}
    if isinstance(value, BaseEstimator):
        return {
            "__estimator__": type(value).__name__,
            "params": _encode(value.get_params(deep=False), arrays, f"{prefix}.params"),
        }
    raise TypeError(
        f"cannot save value {value!r} of type {type(value).__name__} without pickling; "
        "use JSON types, tuples, dicts, arrays or riskloop.scratch estimators"
    )


def _decode(value: Any, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(value, list):
        return [_decode(v, arrays) for v in value]
    if not isinstance(value, dict):
        return value
    if "__float__" in value:
        return float(value["__float__"])
    if "__tuple__" in value:
        return tuple(_decode(v, arrays) for v in value["__tuple__"])
    if "__dict__" in value:
        return {_decode(k, arrays): _decode(v, arrays) for k, v in value["__dict__"]}
    if "__array__" in value:
        return arrays[value["__array__"]]
    if "__estimator__" in value:
        klass = _REGISTRY.get(value["__estimator__"])
        if klass is None:
            raise ValueError(f"unknown nested estimator class {value['__estimator__']!r}")
        return klass(**_decode(value["params"], arrays))
    return {k: _decode(v, arrays) for k, v in value.items()}
