"""Every example script runs, within the 30 s budget of the gallery."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").rglob("*.py"))
TIME_LIMIT_S = 30


def test_examples_exist():
    names = {path.name for path in EXAMPLES}
    assert {"quickstart.py", "plot_intrinsic_dimension.py"} <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=[str(p.relative_to(ROOT)) for p in EXAMPLES])
def test_example_runs(path, tmp_path):
    env = {**os.environ, "MPLBACKEND": "Agg"}
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, str(path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=5 * TIME_LIMIT_S,
    )
    elapsed = time.perf_counter() - start
    assert result.returncode == 0, result.stderr[-3000:]
    assert elapsed < TIME_LIMIT_S, f"{path.name} took {elapsed:.1f} s"
