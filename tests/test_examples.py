"""Every example script runs to completion.

Their wall times are printed at the end of the test session (the gallery aims at
under a minute each on 2 cores); no test asserts on them, since they depend on the
machine and its load.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").rglob("*.py"))
# Far above any example's run time: only a hung script reaches it.
HANG_TIMEOUT_S = 600


def test_examples_exist():
    names = {path.name for path in EXAMPLES}
    assert {"quickstart.py", "plot_intrinsic_dimension.py"} <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=[str(p.relative_to(ROOT)) for p in EXAMPLES])
def test_example_runs(path, tmp_path, record_property):
    env = {**os.environ, "MPLBACKEND": "Agg"}
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, str(path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=HANG_TIMEOUT_S,
    )
    record_property("example_wall_s", time.perf_counter() - start)
    assert result.returncode == 0, result.stderr[-3000:]
