"""Time-series classification with pruned random-convolution features (Detach-ROCKET)."""

from skrepgeom.time_series._display import (
    ChannelRelevanceDisplay,
    SFDCurveDisplay,
    plot_channel_relevance,
)
from skrepgeom.time_series._ensemble import DetachEnsembleClassifier
from skrepgeom.time_series._rocket import DetachRocketClassifier
from skrepgeom.time_series._sfd import SequentialFeatureDetachment

__all__ = [
    "ChannelRelevanceDisplay",
    "DetachEnsembleClassifier",
    "DetachRocketClassifier",
    "SFDCurveDisplay",
    "SequentialFeatureDetachment",
    "plot_channel_relevance",
]
