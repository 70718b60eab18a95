import difflib

import pytest
import torch

from skrepgeom.utils._torch import closest_module_names, forward_hooks


def _model():
    encoder = torch.nn.Module()
    encoder.layer = torch.nn.ModuleList(torch.nn.Linear(2, 2) for _ in range(12))
    model = torch.nn.Module()
    model.encoder = encoder
    model.head = torch.nn.Linear(2, 2)
    return model


def test_closest_module_names_ranks_by_similarity():
    model = _model()
    names = closest_module_names(model, "encoder.layers.3", n=4)
    assert names[0] == "encoder.layer.3"
    ratios = [difflib.SequenceMatcher(None, "encoder.layers.3", n).ratio() for n in names]
    assert ratios == sorted(ratios, reverse=True)
    assert len(closest_module_names(model, "x")) == 10


def test_forward_hooks_error_lists_closest_names():
    model = _model()
    with pytest.raises(ValueError, match=r"\['encoder.layers.11'\]; closest available names: \['encoder.layer.11'"):
        with forward_hooks(model, {"encoder.layers.11": lambda *a: None}):
            pass
