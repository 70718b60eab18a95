"""Pieces shared by the side-by-side compare scripts in ``asv_bench/compare/``.

A compare script times skrepgeom against an anchor (another library, or a reference
loop) on the same data, at the same thread budget, and prints medians, ratios and a
verdict per target. This module holds everything that is not specific to one area, so
that every script measures and reports the same way.

Only the standard library is imported at module level: the module runs unchanged in
a throw-away anchor virtual environment (for instance one with ``numpy<2``), where
skrepgeom and its dependencies may be absent.

Measuring in a fresh interpreter
--------------------------------
Timings and peak memory belong to one call only when that call runs in a fresh
process (imports, Numba compilation and torch buffers of earlier calls otherwise
stay in the figures; ``tracemalloc`` misses Numba and torch memory). The worker
side is a plain function of the compare script that takes JSON-able arguments and
returns a JSON-able dict; the driver side calls it through :func:`run_worker`::

    # asv_bench/compare/myarea.py -- stdlib-only at module level, as this file.
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import _harness

    def fit_once(n, seed):                        # runs in the subprocess
        import numpy as np                        # heavy imports inside the worker
        from skrepgeom.dimension import TwoNNDimension

        X = np.random.default_rng(seed).normal(size=(n, 10))
        TwoNNDimension().fit(X[:500])             # warm-up: imports, JIT, caches
        ready = _harness.current_rss_mb()
        with _harness.Timer() as timer:
            TwoNNDimension().fit(X)
        return {"seconds": timer.seconds, "ready_rss_mb": ready,
                "peak_rss_mb": _harness.peak_rss_mb()}

    def main():
        print(_harness.header("myarea"))
        runs = [_harness.run_worker(sys.executable, __file__, "fit_once",
                                    {"n": 10_000, "seed": 0}, threads=1)
                for _ in range(3)]
        summary = _harness.summarize([r["seconds"] for r in runs if "error" not in r])
        print(_harness.verdict("TwoNN fit, seconds", summary and summary["median"],
                               5.0, higher_is_better=False, unit=" s"))

:func:`run_worker` starts ``python _harness.py --call <script> <function> <json>``:
this file imports the script by path, calls the function with the decoded keyword
arguments and prints one ``RESULT {...}`` line, which the driver parses. A failure
(non-zero exit, time-out, no result line) comes back as ``{"error": "..."}`` instead of
raising, so one broken anchor does not lose the other rows. The thread variables
(:data:`THREAD_VARIABLES`) are set to ``threads`` in the child, the repository root is
put first on ``PYTHONPATH`` (so the checkout's ``skrepgeom`` is imported, not an
installed copy), and ``NUMBA_CACHE_DIR`` defaults to ``<repo>/.numba_cache``.

Anchor environments
-------------------
:func:`anchor_python` creates (or reuses) a virtual environment and installs pinned
requirements into it with pip; on failure it logs pip's error and what the index
offers, and returns ``None`` so that the script can skip those rows. Pass a
directory to keep it between runs; without one, :func:`temporary_directory` gives a
path that is deleted at exit.

Reporting
---------
:func:`header` prints the script name, date, CPU count, git revision of the checkout
(dirty or not) and the load average; :func:`load_line` repeats the load after each
case, since figures from a loaded machine are worth less. :func:`summarize` gives
median/min/max of repeated runs, :func:`ratio` anchor/ours, :func:`verdict` one
``[MET]`` / ``[NOT MET]`` / ``[NOT EVALUATED]`` line per target, and
:func:`package_versions` the versions (and BLAS) seen by a worker.

In-process timing
-----------------
Scripts whose anchor runs in the same interpreter (torch loops, for instance) use
:func:`median_time` (warm-up calls, then the median of repeated calls) and
:class:`Timer`.

The asv benchmarks (``asv_bench/benchmarks``) share their timing attributes through
``benchmarks/_base.py`` instead: asv imports that package on its own.
"""

import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
"""Root of the checkout these scripts belong to."""

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")
"""Environment variables that fix the thread pools of OpenMP, BLAS and Numba."""

RESULT_PREFIX = "RESULT "

__all__ = [
    "REPO_ROOT",
    "THREAD_VARIABLES",
    "Timer",
    "anchor_python",
    "current_rss_mb",
    "git_revision",
    "has_modules",
    "header",
    "load_line",
    "log",
    "median_time",
    "package_versions",
    "peak_rss_mb",
    "pip_install",
    "ratio",
    "run_worker",
    "summarize",
    "temporary_directory",
    "thread_env",
    "verdict",
]


def log(message=""):
    """Print and flush, so that progress shows while long cases run."""
    print(message, flush=True)


# --------------------------------------------------------------------------------------
# Worker side: memory and time of the current process.


def _status_mb(key):
    """A ``/proc/self/status`` memory line in MiB (NaN off Linux)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(key):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def current_rss_mb():
    """Resident set size of this process now, in MiB (``VmRSS``; NaN off Linux)."""
    return _status_mb("VmRSS:")


def peak_rss_mb():
    """Peak resident set size of this process, in MiB.

    ``VmHWM`` on Linux (the high-water mark :func:`reset_peak_rss` can lower), else
    ``ru_maxrss``. Meaningful for one measured call only in a fresh process: see
    :func:`run_worker`.
    """
    peak = _status_mb("VmHWM:")
    if peak == peak:
        return peak
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def reset_peak_rss():
    """Lower the peak RSS to the current RSS (Linux), so that the next
    :func:`peak_rss_mb` covers only what runs after: e.g. a search, not the
    generation of its input. Returns whether the reset happened."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        return True
    except OSError:
        return False


class Timer:
    """Wall-clock time of a ``with`` block, in ``seconds`` (``time.perf_counter``)."""

    def __enter__(self):
        self.seconds = float("nan")
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc_info):
        self.seconds = time.perf_counter() - self._start
        return False


def median_time(fn, repeats, *, warmup=1):
    """Median wall-clock seconds of ``repeats`` calls of ``fn()`` after ``warmup`` calls."""
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        with Timer() as timer:
            fn()
        times.append(timer.seconds)
    return statistics.median(times)


def package_versions(names):
    """``{name: version or "absent"}`` for distributions ``names``, plus ``"blas"``.

    ``"blas"`` lists the BLAS/OpenMP libraries threadpoolctl sees (when it is
    installed), which explain most differences between machines.
    """
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in names:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "absent"
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return found
    found["blas"] = ", ".join(
        sorted({f"{i['internal_api']} {i.get('version')}" for i in threadpool_info()})
    )
    return found


# --------------------------------------------------------------------------------------
# Driver side: fresh interpreters.


def thread_env(threads, base=None):
    """A copy of ``base`` (default ``os.environ``) with every thread variable = ``threads``."""
    env = dict(os.environ if base is None else base)
    for variable in THREAD_VARIABLES:
        env[variable] = str(threads)
    return env


def run_worker(python, script, function, kwargs=None, *, threads, timeout=None, env=None):
    """Call ``function(**kwargs)`` of ``script`` in a fresh ``python`` process.

    Parameters
    ----------
    python : str or path
        Interpreter to run (``sys.executable`` for ours, an anchor venv's python).
    script : str or path
        File that defines ``function``; it is imported by path, so its module level
        must import only what ``python`` has (the standard library, to be safe).
    function : str
        Name of a module-level function returning a JSON-able dict.
    kwargs : dict, optional
        JSON-able keyword arguments.
    threads : int
        Value of every variable of :data:`THREAD_VARIABLES` in the child.
    timeout : float, optional
        Seconds before the child is killed.
    env : dict, optional
        Extra environment variables for the child (they win over the defaults).

    Returns
    -------
    dict
        The function's result, or ``{"error": message}`` when the child failed, timed
        out or printed no result.
    """
    child_env = thread_env(threads)
    child_env.setdefault("NUMBA_CACHE_DIR", str(REPO_ROOT / ".numba_cache"))
    child_env["PYTHONPATH"] = os.pathsep.join(
        part for part in (str(REPO_ROOT), os.environ.get("PYTHONPATH")) if part
    )
    child_env.update(env or {})
    command = [
        str(python), str(Path(__file__).resolve()), "--call",
        str(Path(script).resolve()), function, json.dumps(kwargs or {}),
    ]
    try:
        completed = subprocess.run(
            command, env=child_env, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout} s"}
    for line in reversed(completed.stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX) :])
    tail = (completed.stderr or completed.stdout)[-2000:]
    return {"error": f"exit {completed.returncode}: {tail}"}


def _call(script, function, kwargs_json):
    """Child side of :func:`run_worker`."""
    spec = importlib.util.spec_from_file_location(Path(script).stem, script)
    module = importlib.util.module_from_spec(spec)
    # Registered before execution so that pickling or dataclasses inside it work.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    result = getattr(module, function)(**json.loads(kwargs_json))
    print(RESULT_PREFIX + json.dumps(result), flush=True)


# --------------------------------------------------------------------------------------
# Anchor virtual environments.


def temporary_directory(prefix):
    """A new directory deleted when the interpreter exits."""
    import atexit

    path = tempfile.mkdtemp(prefix=prefix)
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def _venv_python(path):
    path = Path(path)
    python = path / "bin" / "python"
    if not python.exists():
        log(f"creating anchor venv {path}")
        subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
    return python


def has_modules(python, modules):
    """Whether ``python`` can import every name in ``modules``."""
    code = "import " + ", ".join(modules)
    return subprocess.run([str(python), "-c", code], capture_output=True).returncode == 0


def pip_install(python, requirements):
    """``pip install requirements`` into ``python``'s environment; ``True`` on success.

    On failure, logs pip's error (warnings dropped) and the versions the index offers
    for each requirement, so that a report can say why an anchor is missing.
    """
    command = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    completed = subprocess.run(command + list(requirements), capture_output=True, text=True)
    if completed.returncode == 0:
        return True
    tail = "\n".join(
        line for line in completed.stderr.splitlines() if not line.startswith("WARNING")
    )[-3000:]
    log(f"pip install {' '.join(requirements)} failed:\n{tail}")
    for requirement in requirements:
        name = requirement.split(";")[0]
        for separator in "=<>!~[":
            name = name.split(separator)[0]
        index = subprocess.run(
            [str(python), "-m", "pip", "index", "versions", name.strip()],
            capture_output=True,
            text=True,
        )
        lines = [line for line in index.stdout.splitlines() if line.strip()]
        log(f"  pip index versions {name}: {' | '.join(lines[:2]) or index.stderr[-200:]}")
    return False


def anchor_python(path, requirements, modules):
    """Python of a venv at ``path`` that can import ``modules``, or ``None``.

    The venv is created if missing; ``requirements`` (pip specifiers) are installed
    only when ``modules`` cannot be imported yet, so a kept venv is reused as is.
    """
    python = _venv_python(path)
    if has_modules(python, modules):
        log(f"reusing anchor venv {path}")
        return python
    log(f"installing {' '.join(requirements)} into {path} (a few minutes)")
    if pip_install(python, requirements) and has_modules(python, modules):
        return python
    return None


# --------------------------------------------------------------------------------------
# Summaries and reports.


def summarize(values):
    """``{"median", "min", "max", "runs"}`` of a list of numbers; ``None`` when empty."""
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "runs": len(values),
    }


def ratio(numerator, denominator):
    """``numerator / denominator``, or ``None`` when either is missing (a failed row)."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def verdict(description, value, target, *, higher_is_better=True, unit="x"):
    """One report line: ``[MET]``, ``[NOT MET]`` or ``[NOT EVALUATED]`` (value missing).

    >>> verdict("ours vs anchor, 1 thread", 3.5, 3)
    '  [MET] ours vs anchor, 1 thread: 3.50x (target >= 3x)'
    >>> verdict("peak RSS", 512.0, 400, higher_is_better=False, unit=" MB")
    '  [NOT MET] peak RSS: 512.00 MB (target <= 400 MB)'
    """
    if value is None or value != value:
        return f"  [NOT EVALUATED] {description}: a measurement is missing"
    met = value >= target if higher_is_better else value <= target
    sign = ">=" if higher_is_better else "<="
    status = "MET" if met else "NOT MET"
    return f"  [{status}] {description}: {value:.2f}{unit} (target {sign} {target}{unit})"


def git_revision(root=REPO_ROOT):
    """Short HEAD of the checkout, noting uncommitted changes under ``skrepgeom/``."""
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--", "skrepgeom"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return head + (" with uncommitted changes under skrepgeom/" if dirty else "")


def load_line():
    """``"load average (1, 5, 15 min): ..."``: other processes skew every timing."""
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "load average: unavailable"
    return f"load average (1, 5, 15 min): {one:.2f}, {five:.2f}, {fifteen:.2f}"


def header(name, **settings):
    """Opening lines of a report: script, settings, date, CPUs, git revision and load."""
    options = ", ".join(f"{key}={value}" for key, value in settings.items())
    return "\n".join(
        [
            f"skrepgeom compare/{name}" + (f": {options}" if options else ""),
            f"{time.strftime('%Y-%m-%d %H:%M:%S')}, {os.cpu_count()} CPUs, "
            f"python {sys.version.split()[0]}",
            f"skrepgeom source: {git_revision()}",
            load_line(),
        ]
    )


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--call":
        _call(*sys.argv[2:])
    else:
        sys.exit(f"usage: {sys.argv[0]} --call SCRIPT FUNCTION JSON_KWARGS")
