"""Density-peak clustering: adaptive neighbourhoods, PAk densities, peak hierarchy."""

from skrepgeom.cluster._density_peaks import DensityPeakClusterer
from skrepgeom.cluster._display import PeakDendrogramDisplay

__all__ = ["DensityPeakClusterer", "PeakDendrogramDisplay"]
