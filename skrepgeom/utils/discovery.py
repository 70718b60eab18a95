"""Find skrepgeom's public estimators and displays by walking the package."""

import inspect
import pkgutil
from importlib import import_module
from operator import itemgetter

from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    ClusterMixin,
    RegressorMixin,
    TransformerMixin,
)

__all__ = ["all_displays", "all_estimators"]

_TYPE_MIXINS = {
    "classifier": ClassifierMixin,
    "regressor": RegressorMixin,
    "transformer": TransformerMixin,
    "cluster": ClusterMixin,
}


def _public_modules():
    """Import every public module of skrepgeom (no private or test component)."""
    import skrepgeom

    yield skrepgeom
    for info in pkgutil.walk_packages(skrepgeom.__path__, prefix="skrepgeom."):
        parts = info.name.split(".")
        if any(part.startswith("_") or part in ("tests", "conftest") for part in parts[1:]):
            continue
        yield import_module(info.name)


def _public_classes():
    classes = {}
    for module in _public_modules():
        for name, obj in inspect.getmembers(module, inspect.isclass):
            if name.startswith("_") or not obj.__module__.startswith("skrepgeom"):
                continue
            classes[name] = obj
    return classes


def all_estimators(type_filter=None):
    """List the public estimators of skrepgeom.

    Parameters
    ----------
    type_filter : {"classifier", "regressor", "transformer", "cluster"} or list of such, default=None
        Keep only estimators of these kinds; ``None`` keeps all.

    Returns
    -------
    estimators : list of (str, type)
        ``(name, class)`` pairs sorted by name.

    Examples
    --------
    >>> from skrepgeom.utils import all_estimators
    >>> "TwoNNDimension" in dict(all_estimators())
    True
    """
    estimators = [
        (name, cls)
        for name, cls in _public_classes().items()
        if issubclass(cls, BaseEstimator) and not inspect.isabstract(cls)
    ]
    if type_filter is not None:
        kinds = [type_filter] if isinstance(type_filter, str) else list(type_filter)
        unknown = [kind for kind in kinds if kind not in _TYPE_MIXINS]
        if unknown:
            raise ValueError(
                f"type_filter must be None or among {sorted(_TYPE_MIXINS)}, got {unknown}."
            )
        estimators = [
            (name, cls)
            for name, cls in estimators
            if any(issubclass(cls, _TYPE_MIXINS[kind]) for kind in kinds)
        ]
    return sorted(estimators, key=itemgetter(0))


def all_displays():
    """List the public ``*Display`` classes of skrepgeom as sorted ``(name, class)`` pairs.

    Examples
    --------
    >>> from skrepgeom.utils import all_displays
    >>> "IntrinsicDimensionScaleDisplay" in dict(all_displays())
    True
    """
    displays = [(name, cls) for name, cls in _public_classes().items() if name.endswith("Display")]
    return sorted(displays, key=itemgetter(0))
