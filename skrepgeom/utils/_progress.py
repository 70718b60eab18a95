"""User-facing progress messages shared by every area."""

import sys

__all__ = ["compilation_notice"]

_announced = False


def compilation_notice(verbose, *dispatchers):
    """Say once per process that Numba is compiling, when it is about to.

    The first call after installation compiles the kernels (tens of seconds, cached
    on disk afterwards); without a word a verbose fit looks hung. ``dispatchers`` are
    the Numba functions about to run: when all of them are already compiled in this
    process nothing is printed.
    """
    global _announced
    if not verbose or _announced:
        return
    if dispatchers and all(getattr(d, "signatures", None) for d in dispatchers):
        return
    _announced = True
    print(
        "skrepgeom: compiling Numba kernels if needed (first run after install only; "
        "cached on disk afterwards).",
        file=sys.stderr,
        flush=True,
    )
