"""skrepgeom: geometry, topology and interpretability of data and representations.

Public estimators live in their area packages (:mod:`skrepgeom.dimension`,
:mod:`skrepgeom.neighbors`, ...); this module only holds the version and
:func:`show_versions`.
"""

from skrepgeom._show_versions import show_versions
from skrepgeom._version import __version__

__all__ = ["__version__", "show_versions"]
