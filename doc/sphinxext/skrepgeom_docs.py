"""Small Sphinx helpers for the skrepgeom documentation (imported by ``conf.py``)."""

import re
import time
from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger(__name__)

# Gallery examples aim at running in less than this many seconds on 2 CPU cores. The
# time depends on the machine and its load, so a slower run is reported, not failed.
EXAMPLE_TIME_BUDGET_S = 60.0

_started = {}


def example_time_budget(gallery_conf, fname, when):
    """sphinx-gallery ``reset_modules`` hook reporting the wall time of each example."""
    if fname is None:
        return
    if when == "before":
        _started[fname] = time.perf_counter()
        return
    start = _started.pop(fname, None)
    if start is None:
        return
    elapsed = time.perf_counter() - start
    over = " (over the %.0f s aim of an example)" % EXAMPLE_TIME_BUDGET_S
    logger.info(
        "gallery example %s ran for %.1f s%s",
        Path(fname).name,
        elapsed,
        over if elapsed > EXAMPLE_TIME_BUDGET_S else "",
    )


# A numpydoc "name : type" line whose type holds a shape tuple.
_SHAPE_LINE = re.compile(r"^(\s*[\w*, ]+ : .*?\bshape )(\(.*\))(.*)$")
# A bare identifier ending in "_" (a fitted attribute such as n_samples_fit_) that is
# not already quoted: reST would read it as a hyperlink reference.
_BARE_ATTRIBUTE = re.compile(r"(?<![`\w])([A-Za-z]\w*_)(?![`\w])")


def quote_fitted_attributes_in_shapes(app, what, name, obj, options, lines):
    """Quote fitted-attribute names in numpydoc shapes, as scikit-learn writes them.

    ``ndarray of shape (n_samples_fit_,)`` becomes ``ndarray of shape
    (`n_samples_fit_`,)``; unquoted, docutils takes ``n_samples_fit_`` for a link
    target and fails with 'Unknown target name'.
    """
    for i, line in enumerate(lines):
        match = _SHAPE_LINE.match(line)
        if match is None:
            continue
        head, shape, tail = match.groups()
        lines[i] = head + _BARE_ATTRIBUTE.sub(r"`\1`", shape) + tail


def plain_glossary_terms(app, env, node, contnode):
    """Offline: show ``:term:`` references to scikit-learn's glossary as plain text.

    Docstrings follow scikit-learn and cite its glossary (``:term:`fit```). Online
    builds (``SKREPGEOM_DOCS_ONLINE=1``) resolve these through intersphinx; offline
    there is no inventory, so the term is rendered without a link instead of failing
    the ``-W`` build.
    """
    if node.get("refdomain") == "std" and node.get("reftype") == "term":
        return contnode
    return None


_METADATA_REQUEST = re.compile(r"^set_\w+_request$")


def skip_metadata_request_methods(app, what, name, obj, skip, options):
    """Leave out scikit-learn's generated ``set_*_request`` methods.

    scikit-learn adds them to every estimator whose methods take extra arguments;
    their docstrings cite scikit-learn's own user guide, which offline builds cannot
    resolve, and they say nothing specific to skrepgeom.
    """
    if what == "class" and _METADATA_REQUEST.match(name):
        return True
    return None


def setup(app, *, online):
    """Connect the helpers; ``online`` is True when intersphinx is enabled."""
    # Before numpydoc (priority 500) reshapes the docstring sections.
    app.connect("autodoc-process-docstring", quote_fitted_attributes_in_shapes, priority=400)
    app.connect("autodoc-skip-member", skip_metadata_request_methods)
    if not online:
        app.connect("missing-reference", plain_glossary_terms)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
