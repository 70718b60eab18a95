"""Representations of neural networks: activations, intrinsic-dimension profiles, interventions."""

from skrepgeom.representations._activations import collect_activations, iter_activations
from skrepgeom.representations._display import IntrinsicDimensionProfileDisplay
from skrepgeom.representations._id_profile import IntrinsicDimensionProfile, select_layer
from skrepgeom.representations._interventions import ActivationPatching, TokenAblation, positions_of
from skrepgeom.representations._layer_activations import LayerActivations

__all__ = [
    "ActivationPatching",
    "IntrinsicDimensionProfile",
    "IntrinsicDimensionProfileDisplay",
    "LayerActivations",
    "TokenAblation",
    "collect_activations",
    "iter_activations",
    "positions_of",
    "select_layer",
]
