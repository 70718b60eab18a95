"""Input checks for series: shapes, channels, unequal lengths, sktime's nested frames.

Free functions shared by every estimator of the area. :func:`validate_series`
records what it learns at fit time on the estimator (``n_features_in_``,
``n_channels_``, ``series_length_``) and checks later inputs against it.
"""

import warnings

import numpy as np
from sklearn.utils.validation import validate_data

__all__ = ["MIN_TIMEPOINTS", "as_series_list", "pad_to", "validate_series"]

#: Shortest series the ROCKET-family transforms accept; shorter ones are zero-padded.
MIN_TIMEPOINTS = 9
_SHAPE_MESSAGE = (
    "X must be 2-D (n_samples, n_timepoints) for univariate series or 3-D "
    "(n_samples, n_channels, n_timepoints)"
)


def as_series_list(X):
    """A list of (n_channels, length) float64 arrays when X holds unequal lengths, else None."""
    if isinstance(X, np.ndarray) and X.dtype != object:
        return None
    if not isinstance(X, (list, tuple, np.ndarray)) or len(X) == 0:
        return None
    try:
        items = [np.asarray(x, dtype=np.float64) for x in X]
    except (TypeError, ValueError):
        return None
    if any(item.ndim not in (1, 2) for item in items):
        return None
    if len({item.shape for item in items}) == 1:
        return None
    return [item[None, :] if item.ndim == 1 else item for item in items]


def pad_to(X3, length):
    """``X3`` zero-padded at the end of the time axis to ``length`` (unchanged if longer)."""
    n, c, t = X3.shape
    if t >= length:
        return X3
    out = np.zeros((n, c, length))
    out[:, :, :t] = X3
    return out


def _is_nested_frame(X):
    """Whether X is sktime's ``nested_univ`` frame (one pandas Series per cell)."""
    if type(X).__name__ != "DataFrame" or X.shape[0] == 0 or X.shape[1] == 0:
        return False
    return type(X.iloc[0, 0]).__name__ == "Series"


def _from_nested_frame(X):
    """sktime's ``nested_univ`` frame as an array or a list of (channels, length) arrays."""
    try:
        from sktime.datatypes import convert_to
    except ImportError as error:  # pragma: no cover - sktime is a dependency
        raise TypeError(
            "X is a nested pandas DataFrame (sktime's nested_univ format); converting it "
            "needs sktime. Pass a numpy array (n_samples, n_channels, n_timepoints) instead."
        ) from error
    lengths = {len(cell) for cell in X.to_numpy().ravel()}
    if len(lengths) == 1:
        return convert_to(X, to_type="numpy3D")
    return [frame.to_numpy(dtype=np.float64).T for frame in convert_to(X, to_type="df-list")]


def _as_padded_array(estimator, series, *, reset, unequal_length):
    """Stack a list of unequal-length series, padded/truncated by ``unequal_length``."""
    lengths = [s.shape[-1] for s in series]
    channels = {s.shape[0] for s in series}
    if len(channels) > 1:
        raise ValueError(
            f"All series must have the same number of channels; got {sorted(channels)}."
        )
    if unequal_length == "error":
        if reset:
            detail = 'pass unequal_length="pad" to pad them at the end with zeros.'
        else:
            detail = (
                f"the model was fitted on series of length {estimator._input_length}; "
                'fit with unequal_length="pad" to accept them.'
            )
        raise ValueError(
            f"The series have unequal lengths (min {min(lengths)}, max {max(lengths)}); "
            f"{type(estimator).__name__} {detail}"
        )
    target = max(lengths) if reset else estimator._input_length
    if max(lengths) > target:
        warnings.warn(
            f"Series longer than the training length {target} (up to {max(lengths)}) "
            "are truncated.",
            UserWarning,
            stacklevel=4,
        )
    X3 = np.zeros((len(series), series[0].shape[0], target))
    for i, s in enumerate(series):
        m = min(target, s.shape[-1])
        X3[i, :, :m] = s[:, :m]
    return X3


def validate_series(estimator, X, *, reset, unequal_length="error"):
    """Validated C-contiguous writeable float64 (n, channels, timepoints) array.

    Accepts 2-D (univariate) and 3-D arrays, lists of series of unequal lengths
    (padded at the end with zeros when ``unequal_length="pad"``) and sktime's
    ``nested_univ`` frames (converted by sktime). With ``reset=True`` records
    ``n_features_in_`` (second dimension of X, as scikit-learn's validation does),
    ``n_channels_`` and ``series_length_`` (after padding) on ``estimator``; otherwise checks X against
    them, padding or truncating (with a warning) other lengths under ``"pad"``.
    Series shorter than :data:`MIN_TIMEPOINTS` are zero-padded to it.
    """
    if _is_nested_frame(X):
        X = _from_nested_frame(X)
    series = as_series_list(X)
    if series is not None:
        X = _as_padded_array(estimator, series, reset=reset, unequal_length=unequal_length)
    else:
        ndim = getattr(X, "ndim", None)
        if ndim is None:
            ndim = np.asarray(X).ndim
        if ndim not in (2, 3):
            hint = " Reshape your data to (n_samples, n_timepoints)." if ndim == 1 else ""
            raise ValueError(f"{_SHAPE_MESSAGE}; got a {ndim}-D array.{hint}")
    X = validate_data(
        estimator,
        X,
        reset=reset,
        dtype=np.float64,
        ensure_all_finite=True,
        allow_nd=True,
        ensure_2d=False,
    )
    if X.ndim not in (2, 3):
        raise ValueError(f"{_SHAPE_MESSAGE}; got a {X.ndim}-D array.")
    X3 = X[:, None, :] if X.ndim == 2 else X
    if reset:
        # validate_data records n_features_in_ only for 2-D checks.
        estimator.n_features_in_ = X.shape[1]
        estimator.n_channels_ = X3.shape[1]
        estimator._input_length = X3.shape[2]
        estimator.series_length_ = max(X3.shape[2], MIN_TIMEPOINTS)
    else:
        X3 = _match_training_shape(estimator, X3, two_d=X.ndim == 2, unequal_length=unequal_length)
    X3 = pad_to(X3, MIN_TIMEPOINTS)
    return np.require(X3, dtype=np.float64, requirements=["C", "W", "O"])


def _match_training_shape(estimator, X3, *, two_d, unequal_length):
    if X3.shape[1] != estimator.n_channels_:
        raise ValueError(
            f"X has {X3.shape[1]} channel(s) but the model was fitted on "
            f"{estimator.n_channels_} channel(s)."
        )
    length = estimator._input_length
    if X3.shape[2] == length:
        return X3
    if unequal_length == "pad":
        if X3.shape[2] > length:
            warnings.warn(
                f"Series of length {X3.shape[2]} are truncated to the training length {length}.",
                UserWarning,
                stacklevel=4,
            )
        return pad_to(X3[:, :, :length], length)
    detail = (
        f" (X has {X3.shape[2]} features, but {type(estimator).__name__} is expecting "
        f"{length} features as input)"
        if two_d
        else ""
    )
    raise ValueError(
        f"X has series of length {X3.shape[2]} but the model was fitted on length "
        f'{length}{detail}; fit with unequal_length="pad" to pad or truncate.'
    )
