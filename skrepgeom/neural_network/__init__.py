"""Forward-Forward networks and the sparsity of their representations."""

from skrepgeom.neural_network._display import ActivationWallDisplay
from skrepgeom.neural_network._forward_forward import ForwardForwardClassifier
from skrepgeom.neural_network._sparsity import ensemble_overlap, fraction_active, hoyer_sparsity

__all__ = [
    "ActivationWallDisplay",
    "ForwardForwardClassifier",
    "ensemble_overlap",
    "fraction_active",
    "hoyer_sparsity",
]
