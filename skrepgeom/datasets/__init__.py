"""Data generators and small models for tests, examples and benchmarks (no download)."""

from skrepgeom.datasets._esm import esm2_8m_config, esm_tokenize, make_random_esm_model
from skrepgeom.datasets._synthetic import make_motif_proteins, make_sparse_dictionary_data

__all__ = [
    "esm2_8m_config",
    "esm_tokenize",
    "make_motif_proteins",
    "make_random_esm_model",
    "make_sparse_dictionary_data",
]
