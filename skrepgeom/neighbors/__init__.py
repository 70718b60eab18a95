"""The nearest-neighbour engine shared by all areas.

Every estimator in skrepgeom searches neighbours through :func:`kneighbors`.
"""

from skrepgeom.neighbors._duplicates import DUPLICATES_OPTIONS, find_duplicates, handle_duplicates
from skrepgeom.neighbors._knn import BACKENDS, BackendChoice, explain_backend, kneighbors
from skrepgeom.neighbors._overlap import (
    label_overlap,
    label_overlap_from_indices,
    neighborhood_overlap,
    neighborhood_overlap_from_indices,
    overlap_profile,
)

__all__ = [
    "BACKENDS",
    "DUPLICATES_OPTIONS",
    "BackendChoice",
    "explain_backend",
    "find_duplicates",
    "handle_duplicates",
    "kneighbors",
    "label_overlap",
    "label_overlap_from_indices",
    "neighborhood_overlap",
    "neighborhood_overlap_from_indices",
    "overlap_profile",
]
