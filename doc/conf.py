"""Sphinx configuration of the skrepgeom documentation.

Build with ``make docs`` (``sphinx -W --keep-going``). The build is offline by
default; set ``SKREPGEOM_DOCS_ONLINE=1`` to enable intersphinx links to Python,
NumPy, SciPy, scikit-learn and matplotlib (their inventories are downloaded).
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")

import matplotlib  # noqa: E402

matplotlib.use("Agg")

DOC_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(DOC_DIR / "sphinxext"))

import skrepgeom  # noqa: E402

# -- Project information -----------------------------------------------------

project = "skrepgeom"
author = "The skrepgeom developers"
copyright = "The skrepgeom developers"
release = skrepgeom.__version__
version = release.split(".dev")[0]

# -- General configuration ---------------------------------------------------

ONLINE = os.environ.get("SKREPGEOM_DOCS_ONLINE", "0") == "1"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
if ONLINE:
    extensions.append("sphinx.ext.intersphinx")

templates_path = ["_templates"]
exclude_patterns = ["_build", "_templates", "sphinxext", "**.ipynb_checkpoints"]
root_doc = "index"
default_role = "literal"

# -- autodoc / autosummary / numpydoc -----------------------------------------

autosummary_generate = True
autosummary_imported_members = False
autodoc_typehints = "none"

numpydoc_show_class_members = False
numpydoc_show_inherited_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False

# -- intersphinx (only with SKREPGEOM_DOCS_ONLINE=1) ----------------------------

if ONLINE:
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "numpy": ("https://numpy.org/doc/stable", None),
        "scipy": ("https://docs.scipy.org/doc/scipy", None),
        "sklearn": ("https://scikit-learn.org/stable", None),
        "matplotlib": ("https://matplotlib.org/stable", None),
        "joblib": ("https://joblib.readthedocs.io/en/stable", None),
    }
    intersphinx_timeout = 30

# -- sphinx-gallery ------------------------------------------------------------

sphinx_gallery_conf = {
    "examples_dirs": ["../examples"],
    "gallery_dirs": ["auto_examples"],
    # Only plot_*.py files run; examples/quickstart.py is a script for `make demo`
    # and is shown on the install page instead of in the gallery.
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"__init__\.py|quickstart\.py",
    "run_stale_examples": False,
    "plot_gallery": "True",
    "abort_on_example_error": False,
    "only_warn_on_example_error": False,
    "within_subsection_order": "FileNameSortKey",
    "image_scrapers": ("matplotlib",),
    # Reset matplotlib between examples and warn (-W: fail) past the 60 s budget.
    "reset_modules": ("matplotlib", "skrepgeom_docs.example_time_budget"),
    "reset_modules_order": "both",
    "doc_module": ("skrepgeom",),
    "backreferences_dir": "generated/backreferences",
    "inspect_global_variables": False,
    "remove_config_comments": True,
    "show_memory": False,
    "download_all_examples": False,
}

# -- HTML output ------------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"skrepgeom {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "navbar_align": "left",
    "header_links_before_dropdown": 5,
    "secondary_sidebar_items": ["page-toc", "sourcelink"],
}
html_sidebars = {"install": [], "index": []}
html_show_sourcelink = True
html_copy_source = True


def setup(app):
    from skrepgeom_docs import setup as setup_helpers

    setup_helpers(app, online=ONLINE)
