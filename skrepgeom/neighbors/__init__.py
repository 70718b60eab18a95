"""The nearest-neighbour engine shared by all areas.

Every estimator in skrepgeom searches neighbours through :func:`kneighbors`.
"""

from skrepgeom.neighbors._duplicates import find_duplicates
from skrepgeom.neighbors._knn import kneighbors
from skrepgeom.neighbors._duplicates import DUPLICATES_OPTIONS, handle_duplicates
from skrepgeom.neighbors._knn import BACKENDS

__all__ = ["find_duplicates", "kneighbors"]
__all__ += ["BACKENDS", "DUPLICATES_OPTIONS", "handle_duplicates"]
