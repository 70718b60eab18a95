"""The nearest-neighbour engine shared by all areas.

Every estimator in skrepgeom searches neighbours through :func:`kneighbors`.
"""

from skrepgeom.neighbors._duplicates import find_duplicates
from skrepgeom.neighbors._knn import kneighbors
from skrepgeom.neighbors._knn import BackendChoice, explain_backend

__all__ = ["find_duplicates", "kneighbors"]
__all__ += ["BackendChoice", "explain_backend"]
