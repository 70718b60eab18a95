import io

from skrepgeom import __version__, show_versions


def test_show_versions_lists_dependencies_and_blas():
    out = io.StringIO()
    show_versions(file=out)
    text = out.getvalue()
    assert f"skrepgeom: {__version__}" in text
    for name in ("numpy", "scikit-learn", "numba", "torch", "threadpoolctl"):
        assert f"{name}:" in text
    assert "Threadpool libraries" in text
