"""Sparse autoencoders, latent-annotation statistics and latent steering."""

from skrepgeom.decomposition._display import LatentAnnotationDisplay, TrainingHistoryDisplay
from skrepgeom.decomposition._enrichment import latent_annotation_enrichment
from skrepgeom.decomposition._sae import SparseAutoencoder, sae_metrics
from skrepgeom.decomposition._steering import LatentSteering, sample_masked_lm

__all__ = [
    "LatentAnnotationDisplay",
    "LatentSteering",
    "SparseAutoencoder",
    "TrainingHistoryDisplay",
    "latent_annotation_enrichment",
    "sae_metrics",
    "sample_masked_lm",
]
