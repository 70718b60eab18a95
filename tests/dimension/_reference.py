"""NumPy versions of the dimension kernels' random draws, written independently."""

import numpy as np

_GAMMA = 0x9E3779B97F4A7C15
_MUL1 = 0xBF58476D1CE4E5B9
_MUL2 = 0x94D049BB133111EB


def splitmix64_outputs(seed, n):
    """First ``n`` SplitMix64 outputs from ``seed`` (counter form: state k = seed + k gamma)."""
    with np.errstate(over="ignore"):
        z = np.uint64(seed) + np.arange(1, n + 1, dtype=np.uint64) * np.uint64(_GAMMA)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(_MUL1)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(_MUL2)
    return z ^ (z >> np.uint64(31))


def bounded_indices(seed, n, bound):
    """``n`` uniform integers in ``[0, bound)`` by Lemire's rejection on the high words.

    A rejected output only skips one step of the stream, so the accepted values are
    the first ``n`` accepted outputs of a long enough prefix.
    """
    threshold = (2**32) % bound
    extra = 64
    while True:
        high = splitmix64_outputs(seed, n + extra) >> np.uint64(32)
        product = high * np.uint64(bound)
        accepted = (product & np.uint64(0xFFFFFFFF)) >= np.uint64(threshold)
        if np.count_nonzero(accepted) >= n:
            return (product[accepted][:n] >> np.uint64(32)).astype(np.int64)
        extra *= 4
