"""Representations of neural networks: token activations of any module."""

from skrepgeom.representations._activations import collect_activations, iter_activations
from skrepgeom.representations._interventions import ActivationPatching, TokenAblation, positions_of

__all__ = [
    "collect_activations",
    "iter_activations",
    "ActivationPatching",
    "TokenAblation",
    "positions_of",
]
