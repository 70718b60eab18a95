"""Zigzag persistence of layer representations (Gardinazzi et al., ICML 2025)."""

from skrepgeom.topology._display import PersistenceSimilarityDisplay, ZigzagBarcodeDisplay
from skrepgeom.topology._similarity import ZigzagPersistenceSimilarity
from skrepgeom.topology._zigzag import (
    betti_curves,
    inter_layer_persistence,
    layer_barcode,
    layers_to_prune,
    persistence_similarity,
    pruning_score,
    zigzag_barcode,
)

__all__ = [
    "PersistenceSimilarityDisplay",
    "ZigzagBarcodeDisplay",
    "ZigzagPersistenceSimilarity",
    "betti_curves",
    "inter_layer_persistence",
    "layer_barcode",
    "layers_to_prune",
    "persistence_similarity",
    "pruning_score",
    "zigzag_barcode",
]
