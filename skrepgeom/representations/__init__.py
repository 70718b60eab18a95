"""Representations of neural networks: token activations of any module."""

from skrepgeom.representations._activations import collect_activations, iter_activations
from skrepgeom.representations._display import IntrinsicDimensionProfileDisplay
from skrepgeom.representations._id_profile import IntrinsicDimensionProfile, select_layer

__all__ = [
    "IntrinsicDimensionProfile",
    "IntrinsicDimensionProfileDisplay",
    "collect_activations",
    "iter_activations",
    "select_layer",
]
