"""Intrinsic dimension from neighbour-distance ratios (TwoNN, GRIDE)."""

from skrepgeom.dimension._display import IntrinsicDimensionScaleDisplay
from skrepgeom.dimension._gride import GrideDimension
from skrepgeom.dimension._twonn import TwoNNDimension, twonn_decimation, twonn_from_distances

__all__ = [
    "GrideDimension",
    "IntrinsicDimensionScaleDisplay",
    "TwoNNDimension",
    "twonn_decimation",
    "twonn_from_distances",
]
