"""Adapter to sktime's ROCKET-family transforms, called directly on float64 arrays.

Building the transforms with our seeds and thread counts, running their private
``_fit``/``_transform`` (no pandas round trip, the same numbers as their public
methods), reading their fitted kernels, and the Numba functions they compile.
"""

from numbers import Integral

import numpy as np
from sklearn.base import clone
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import InvalidParameterError

__all__ = [
    "DEFAULT_KERNELS",
    "TRANSFORMERS",
    "full_features",
    "make_transformer",
    "minirocket_feature_channels",
    "n_kernels_total",
    "numba_dispatchers",
    "seed_from",
]

TRANSFORMERS = ("rocket", "minirocket", "multirocket")
DEFAULT_KERNELS = {"rocket": 10_000, "minirocket": 10_000, "multirocket": 6_250}
_MINIROCKET_KERNELS = 84
# Rows per transform call when a progress bar is shown (results are per series, so
# chunking changes nothing but the bar).
_PROGRESS_CHUNKS = 20


def seed_from(random_state):
    """An int (or None) for sktime, which ignores anything but a Python int."""
    if random_state is None:
        return None
    if isinstance(random_state, (Integral, np.integer)):
        return int(random_state)
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def make_transformer(transformer, *, n_kernels, max_dilations_per_kernel, normalize, n_threads,
                     random_state, owner):
    """``(transform, direct)``: an unfitted sktime transform, or a clone of a user object.

    ``direct`` says that the sktime object is driven through ``_fit``/``_transform``.
    ``n_threads`` is the Numba thread count sktime sets during its calls (``None``:
    Numba's current setting, so nothing changes).
    """
    if not isinstance(transformer, str):
        return clone(transformer), False
    from numba import config, get_num_threads

    # sktime sets this many Numba threads around its calls; None keeps the current one.
    n_threads = min(n_threads or get_num_threads(), config.NUMBA_NUM_THREADS)
    seed = seed_from(random_state)
    n_kernels = n_kernels or DEFAULT_KERNELS[transformer]
    if transformer == "rocket":
        from sktime.transformations.rocket import Rocket

        return Rocket(
            num_kernels=n_kernels, normalise=normalize, n_jobs=n_threads, random_state=seed
        ), True
    if transformer == "minirocket":
        from sktime.transformations.rocket import MiniRocketMultivariate

        if n_kernels < _MINIROCKET_KERNELS:
            raise InvalidParameterError(
                f"The 'n_kernels' parameter of {owner} must be >= {_MINIROCKET_KERNELS} with "
                f'transformer="minirocket", got n_kernels={n_kernels}.'
            )
        return MiniRocketMultivariate(
            num_kernels=n_kernels,
            max_dilations_per_kernel=max_dilations_per_kernel,
            n_jobs=n_threads,
            random_state=seed,
        ), True
    from sktime.transformations.rocket import MultiRocketMultivariate

    return MultiRocketMultivariate(
        num_kernels=n_kernels,
        max_dilations_per_kernel=max_dilations_per_kernel,
        normalise=normalize,
        n_jobs=n_threads,
        random_state=seed,
    ), True


def _writeable_parameters(transform):
    """Give sktime writeable copies of its fitted arrays.

    sktime's typed Numba signatures refuse read-only arrays (e.g. after a
    memory-mapped unpickle).
    """
    for name in ("kernels", "parameters", "parameter", "parameter1"):
        value = getattr(transform, name, None)
        if isinstance(value, tuple) and not all(
            getattr(a, "flags", None) is None or a.flags.writeable for a in value
        ):
            setattr(
                transform, name, tuple(np.array(a) if hasattr(a, "flags") else a for a in value)
            )


def _as_float32(features):
    if hasattr(features, "to_numpy"):
        return features.to_numpy(np.float32)
    return np.asarray(features, dtype=np.float32)


def full_features(transform, direct, X3, *, verbose=0):
    """All transform features of the (n, channels, timepoints) float64 ``X3``, float32.

    With ``verbose`` a progress bar follows the series, transformed in chunks.
    """
    _writeable_parameters(transform)
    apply = transform._transform if direct else transform.transform
    if not verbose or X3.shape[0] < 2:
        return _as_float32(apply(X3))
    from tqdm.auto import tqdm

    bounds = np.unique(np.linspace(0, X3.shape[0], _PROGRESS_CHUNKS + 1).astype(int))
    chunks = []
    with tqdm(total=X3.shape[0], desc="transform (series)") as bar:
        for start, stop in zip(bounds[:-1], bounds[1:]):
            chunks.append(_as_float32(apply(X3[start:stop])))
            bar.update(stop - start)
    return np.concatenate(chunks, axis=0)


def n_kernels_total(transform, kind):
    """Kernels of a fitted transform (0 when a user transform does not say)."""
    if kind == "rocket":
        return int(len(transform.kernels[1]))
    if kind in ("minirocket", "multirocket"):
        return int(getattr(transform, "num_kernels_", None) or transform.num_kernels)
    return int(getattr(transform, "num_kernels", 0) or 0)


def numba_dispatchers(kind):
    """sktime's Numba functions a fit with this transform compiles on first use."""
    if kind == "rocket":
        from sktime.transformations.rocket import _rocket_numba as module

        return (module._apply_kernels,)
    if kind == "minirocket":
        from sktime.transformations.rocket import _minirocket_multi_numba as module

        return (module._fit_biases_multi, module._transform_multi)
    if kind == "multirocket":
        from sktime.transformations.rocket import _multirocket_multi_numba as module

        return (module._fit_biases, module._transform)
    return ()


def minirocket_feature_channels(transform):
    """Channels of every MiniRocket feature, from a fitted ``MiniRocketMultivariate``.

    Returns ``(feature_combination, combinations)``: for each feature the index of
    the kernel/dilation combination that produced it, and for each combination the
    int array of channels it reads.
    """
    n_ch_per_comb, channel_indices, dilations, n_feat_per_dilation, _ = transform.parameters
    n_ch_per_comb = np.asarray(n_ch_per_comb)
    starts = np.concatenate([[0], np.cumsum(n_ch_per_comb)])
    combos = [channel_indices[starts[i] : starts[i + 1]] for i in range(n_ch_per_comb.shape[0])]
    # combination index = dilation * 84 + kernel, each with n_feat_per_dilation[d] features
    per_combination = np.repeat(np.asarray(n_feat_per_dilation), _MINIROCKET_KERNELS)
    feature_combination = np.repeat(np.arange(per_combination.shape[0]), per_combination)
    return feature_combination, combos
