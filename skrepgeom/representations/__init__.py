"""Representations of neural networks: activations, intrinsic-dimension profiles, interventions."""

from skrepgeom.representations._activations import collect_activations, iter_activations
from skrepgeom.representations._display import IntrinsicDimensionProfileDisplay
from skrepgeom.representations._id_profile import IntrinsicDimensionProfile, select_layer
from skrepgeom.representations._interventions import ActivationPatching, TokenAblation, positions_of

__all__ = [
    "ActivationPatching",
    "IntrinsicDimensionProfile",
    "IntrinsicDimensionProfileDisplay",
    "TokenAblation",
    "collect_activations",
    "iter_activations",
    "positions_of",
    "select_layer",
]
