"""Sparse autoencoders, latent-annotation statistics and latent steering."""

from skrepgeom.decomposition._sae import SparseAutoencoder, sae_metrics

__all__ = ["SparseAutoencoder", "sae_metrics"]
