"""Utilities shared by all areas: estimator discovery, checks and input validation."""

from skrepgeom.utils.discovery import all_displays, all_estimators

__all__ = ["all_displays", "all_estimators"]
