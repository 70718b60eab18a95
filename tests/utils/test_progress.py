import numba
import numpy as np

import skrepgeom.utils._progress as progress


@numba.njit
def _never_called(x):
    return x + 1


@numba.njit
def _called(x):
    return x + 1


def test_notice_printed_once_and_only_when_verbose(capsys, monkeypatch):
    monkeypatch.setattr(progress, "_announced", False)
    progress.compilation_notice(0, _never_called)
    assert capsys.readouterr().err == ""
    progress.compilation_notice(1, _never_called)
    assert "compiling Numba kernels" in capsys.readouterr().err
    progress.compilation_notice(1, _never_called)
    assert capsys.readouterr().err == ""


def test_no_notice_when_kernels_already_compiled(capsys, monkeypatch):
    monkeypatch.setattr(progress, "_announced", False)
    _called(np.float64(1.0))
    progress.compilation_notice(1, _called)
    assert capsys.readouterr().err == ""
