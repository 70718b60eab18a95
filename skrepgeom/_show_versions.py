"""Report the versions of skrepgeom's dependencies and the BLAS in use."""

import importlib.metadata
import platform
import sys

_DEPENDENCIES = (
    "skrepgeom",
    "numpy",
    "scipy",
    "scikit-learn",
    "numba",
    "torch",
    "sktime",
    "gudhi",
    "joblib",
    "threadpoolctl",
    "tqdm",
    "matplotlib",
    "dask",
    "distributed",
    "pynndescent",
    "transformers",
)


def _dependency_versions():
    versions = {}
    for name in _DEPENDENCIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _threadpool_info():
    from threadpoolctl import threadpool_info

    return [
        {k: pool.get(k) for k in ("user_api", "internal_api", "version", "num_threads")}
        for pool in threadpool_info()
    ]


def show_versions(*, file=None):
    """Print Python, platform, dependency and BLAS/OpenMP versions.

    Parameters
    ----------
    file : file-like, default=None
        Where to print; ``None`` means ``sys.stdout``.

    Examples
    --------
    >>> from skrepgeom import show_versions
    >>> show_versions()  # doctest: +ELLIPSIS
    <BLANKLINE>
    System:
    ...
    """
    out = sys.stdout if file is None else file
    print("\nSystem:", file=out)
    print(f"    python: {sys.version.split()[0]}", file=out)
    print(f"  platform: {platform.platform()}", file=out)
    print(f"   machine: {platform.machine()}", file=out)
    print("\nPython dependencies:", file=out)
    for name, version in _dependency_versions().items():
        print(f"{name:>15}: {version if version is not None else 'not installed'}", file=out)
    print("\nThreadpool libraries (BLAS / OpenMP):", file=out)
    for pool in _threadpool_info():
        print(
            f"  {pool['internal_api']} {pool['version']} ({pool['user_api']}), "
            f"num_threads={pool['num_threads']}",
            file=out,
        )
