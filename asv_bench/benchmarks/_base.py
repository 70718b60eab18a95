"""Timing attributes shared by the asv benchmarks of this package.

asv's defaults (many calls per sample, a second of warm-up) suit micro-benchmarks;
our calls take seconds, so each benchmark class inherits one of these instead of
repeating the attributes. A class without ``time_``/``peakmem_`` methods is not a
benchmark to asv, so these bases are never run on their own.
"""


class SecondsBenchmark:
    """Calls of about a second: one call per sample, at most 3 samples or 20 s a round.

    Warm Numba kernels and load data in ``setup``: warm-up calls are not made.
    """

    timeout = 120
    number = 1
    repeat = (1, 3, 20.0)
    warmup_time = 0


class LongBenchmark(SecondsBenchmark):
    """Calls of several seconds: as :class:`SecondsBenchmark`, 30 s a round, 300 s timeout."""

    timeout = 300
    repeat = (1, 3, 30.0)
