"""Warning and error classes raised by skrepgeom."""

from sklearn.exceptions import ConvergenceWarning, NotFittedError

__all__ = [
    "ConvergenceWarning",
    "DuplicateSamplesWarning",
    "KstarSaturationWarning",
    "NotFittedError",
]


class DuplicateSamplesWarning(UserWarning):
    """Identical rows were found and removed before estimation.

    Distance-ratio methods divide by the distance to the nearest neighbour, which
    is zero for a duplicated row; such rows are removed under ``duplicates="warn"``.
    """


class KstarSaturationWarning(UserWarning):
    """The adaptive neighbourhood size k* reached its upper bound for some points."""
