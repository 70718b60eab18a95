"""The selector parameters, written once for every estimator of the area.

:class:`SequentialFeatureDetachment`, :class:`DetachRocketClassifier` and
:class:`DetachEnsembleClassifier` share the parameters of the detachment. Each is
declared here once, with its default, its constraints and its docstring entry;
:func:`keyword_init` builds the ``__init__`` signatures from them and
:func:`document_parameters` fills the ``{selector_parameters}`` field of the class
docstrings.
"""

from numbers import Integral, Real
from typing import NamedTuple

from sklearn.utils._param_validation import Interval, StrOptions

__all__ = ["SELECTOR_PARAMETERS", "document_parameters", "keyword_init", "selector_parameters"]


class _Parameter(NamedTuple):
    default: object
    constraints: list
    kind: str
    doc: str


SELECTOR_PARAMETERS = {
    "alphas": _Parameter(
        None,
        ["array-like", None],
        "array-like of float",
        "Positive ridge penalties tried by leave-one-out for the full and the final "
        "model; ``None`` means ``np.logspace(-10, 10, 20)``. Near-tied leave-one-out "
        "scores (within a relative 1e-6) go to the largest penalty (see the User Guide).",
    ),
    "drop_fraction": _Parameter(
        0.05,
        [Interval(Real, 0, 1, closed="neither")],
        "float in (0, 1)",
        "Fraction of the active features detached per step.",
    ),
    "max_steps": _Parameter(
        150,
        [Interval(Integral, 1, None, closed="left")],
        "int",
        "Powers of ``1 - drop_fraction`` in the schedule (duplicate sizes merge).",
    ),
    "validation_fraction": _Parameter(
        0.33,
        [Interval(Real, 0, 1, closed="neither")],
        "float in (0, 1)",
        "Share of the rows in the stratified validation split.",
    ),
    "n_splits": _Parameter(
        5,
        [Interval(Integral, 1, None, closed="left")],
        "int >= 1",
        "Stratified validation splits (each of ``validation_fraction`` of the rows) whose "
        "validation accuracy curves are averaged before the size is chosen; the detachment "
        "path and the selected features are those of the first split, the split a single "
        "hold-out would use. ``1`` is the reference method's single hold-out. Ignored with "
        "``official_compat=True``.",
    ),
    "trade_off": _Parameter(
        0.1,
        [Interval(Real, 0, None, closed="left")],
        "float >= 0",
        "Weight of the fraction of features dropped against relative validation "
        "accuracy when choosing the step.",
    ),
    "smoothing": _Parameter(
        3,
        [Interval(Integral, 1, None, closed="left")],
        "odd int >= 1",
        "Width of the moving average of the relative validation accuracy (zero padded "
        "at both ends).",
    ),
    "multiclass_importance": _Parameter(
        "max",
        [StrOptions({"max", "norm", "avg"})],
        '{"max", "norm", "avg"}',
        "Importance of a feature from a multiclass ridge: max, L2 or L1 of ``|coef|`` "
        "over classes.",
    ),
    "fixed_fraction": _Parameter(
        None,
        [Interval(Real, 0, 1, closed="right"), None],
        "float in (0, 1]",
        "Keep the step whose fraction of features is closest to this value instead of "
        "optimising the trade-off (1.0 is the full model).",
    ),
    "recompute_alpha": _Parameter(
        True,
        ["boolean"],
        "bool",
        "Re-tune the ridge penalty of the final model on the selected features.",
    ),
    "official_compat": _Parameter(
        False,
        ["boolean"],
        "bool",
        "Reproduce the reference implementation, flaws included: a plain refit loop "
        "where detached features get importance 0 and are ranked by numpy's default "
        "(unstable) argsort, so selections need not be nested; the final mask is the "
        "feature set of the step *before* the chosen one; the split is seeded with 42; "
        "``reselect`` ignores its ``trade_off`` argument; the penalties are chosen by "
        "``RidgeClassifierCV``.",
    ),
    "store_training_features": _Parameter(
        False,
        ["boolean"],
        "bool",
        "Keep the scaled training features (``n_samples x n_features`` float32) so "
        "that ``reselect`` can refit the final ridge on another step. Off by default: "
        "the fitted model then holds no copy of the training data.",
    ),
}


def selector_parameters(names=None):
    """``{name: default}`` of the selector parameters ``names`` (all when ``None``)."""
    names = SELECTOR_PARAMETERS if names is None else names
    return {name: SELECTOR_PARAMETERS[name].default for name in names}


def selector_constraints(names=None):
    """``{name: constraints}`` of the selector parameters ``names`` (all when ``None``)."""
    names = SELECTOR_PARAMETERS if names is None else names
    return {name: SELECTOR_PARAMETERS[name].constraints for name in names}


def keyword_init(qualname, parameters):
    """``__init__(self, *, name=default, ...)`` storing each argument unchanged.

    ``parameters`` is an ordered ``{name: default}``; the defaults must be immutable.
    The function is compiled like a hand-written one, so ``inspect.signature`` (and
    so ``get_params``, ``clone`` and the documentation) see every parameter.
    """
    namespace = {f"_default_{i}": default for i, default in enumerate(parameters.values())}
    arguments = ", ".join(f"{name}=_default_{i}" for i, name in enumerate(parameters))
    body = "".join(f"    self.{name} = {name}\n" for name in parameters) or "    pass\n"
    exec(f"def __init__(self, *, {arguments}):\n{body}", namespace)  # noqa: S102
    init = namespace["__init__"]
    init.__qualname__ = f"{qualname}.__init__"
    return init


def document_parameters(names=None):
    """Class decorator: replace ``{selector_parameters}`` in the docstring by their entries."""

    def decorate(cls):
        chosen = SELECTOR_PARAMETERS if names is None else names
        entries = []
        for name in chosen:
            parameter = SELECTOR_PARAMETERS[name]
            default = parameter.default
            shown = f'"{default}"' if isinstance(default, str) else repr(default)
            entries.append(f"    {name} : {parameter.kind}, default={shown}")
            entries.append(_wrap(parameter.doc, indent=8))
        cls.__doc__ = cls.__doc__.replace("    {selector_parameters}", "\n".join(entries))
        return cls

    return decorate


def _wrap(text, indent):
    import textwrap

    return textwrap.fill(text, width=88, initial_indent=" " * indent, subsequent_indent=" " * indent)
