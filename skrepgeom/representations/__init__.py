"""Representations of neural networks: token activations of any module."""

from skrepgeom.representations._activations import collect_activations, iter_activations
from skrepgeom.representations._layer_activations import LayerActivations

__all__ = ["collect_activations", "iter_activations"]
__all__ += ["LayerActivations"]
