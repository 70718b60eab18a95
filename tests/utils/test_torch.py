import numpy as np
import pytest

torch = pytest.importorskip("torch")

from skrepgeom.utils._torch import (  # noqa: E402
    forward_hooks,
    make_generator,
    resolve_device,
    resolve_dtype,
    to_numpy,
    to_tensor,
    torch_threads,
)


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    with pytest.raises(ValueError, match="device must be"):
        resolve_device("tpu:0:x")
    with pytest.raises(TypeError):
        resolve_device(3)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error raised without CUDA")
def test_cuda_requested_without_cuda():
    with pytest.raises(ValueError, match="CUDA is not available"):
        resolve_device("cuda")


def test_resolve_dtype():
    assert resolve_dtype("float32") is torch.float32
    assert resolve_dtype(np.float64) is torch.float64
    with pytest.raises(ValueError, match="dtype must be"):
        resolve_dtype("int8")


def test_generator_is_reproducible():
    a = torch.rand(5, generator=make_generator(0))
    b = torch.rand(5, generator=make_generator(0))
    c = torch.rand(5, generator=make_generator(1))
    assert torch.equal(a, b) and not torch.equal(a, c)
    rng = np.random.RandomState(0)
    assert not torch.equal(
        torch.rand(5, generator=make_generator(rng)), torch.rand(5, generator=make_generator(rng))
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_tensor_round_trip_keeps_dtype(dtype):
    X = np.arange(6, dtype=dtype).reshape(2, 3)
    tensor = to_tensor(X)
    assert tensor.dtype == resolve_dtype(np.dtype(dtype).name)
    back = to_numpy(tensor)
    assert back.dtype == dtype
    np.testing.assert_array_equal(back, X)
    assert to_tensor(X, dtype="float64").dtype == torch.float64


def test_torch_threads_sets_and_restores():
    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError):
        with torch_threads(1):
            raise RuntimeError
    assert torch.get_num_threads() == before
    with torch_threads(None):
        assert torch.get_num_threads() == before


def _model():
    return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))


def test_forward_hooks_capture_and_are_removed():
    model = _model().train()
    seen = {}
    with forward_hooks(model, {"0": lambda m, i, o: seen.setdefault("0", o.detach())}, training=False):
        assert not model.training
        out = model(torch.ones(2, 3))
    assert model.training, "training mode not restored"
    assert all(not m._forward_hooks for m in model.modules()), "hook left registered"
    torch.testing.assert_close(seen["0"], model[0](torch.ones(2, 3)))
    assert out.shape == (2, 2)


def test_forward_hooks_can_replace_output():
    model = _model().eval()
    x = torch.ones(1, 3)
    with forward_hooks(model, {"1": lambda m, i, o: torch.zeros_like(o)}):
        out = model(x)
    torch.testing.assert_close(out, model[2].bias.detach().unsqueeze(0))


def test_forward_hooks_cleanup_on_exception():
    model = _model().eval()
    model[0].train()  # a submodule in its own mode must get it back too
    with pytest.raises(KeyError):
        with forward_hooks(model, {"0": lambda m, i, o: None}, training=True):
            assert model.training
            raise KeyError
    assert not model.training and model[0].training and not model[2].training
    assert all(not m._forward_hooks for m in model.modules())


def test_forward_hooks_unknown_name():
    with pytest.raises(ValueError, match="Unknown module"):
        with forward_hooks(_model(), {"nope": lambda m, i, o: None}):
            pass


def test_make_adam_is_fused_on_the_cpu_and_steps_as_the_loop():
    from skrepgeom.utils._torch import make_adam

    torch.manual_seed(0)
    fused_net, loop_net = torch.nn.Linear(5, 3), torch.nn.Linear(5, 3)
    loop_net.load_state_dict(fused_net.state_dict())
    fused = make_adam(fused_net.parameters(), 1e-2)
    loop = torch.optim.Adam(loop_net.parameters(), lr=1e-2, fused=False, foreach=False)
    assert fused.defaults["fused"]
    x = torch.randn(16, 5)
    for _ in range(5):
        for net, optimizer in ((fused_net, fused), (loop_net, loop)):
            optimizer.zero_grad()
            net(x).square().sum().backward()
            optimizer.step()
    for a, b in zip(fused_net.parameters(), loop_net.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_forward_hooks_switches_modes_only_when_one_differs():
    calls = []

    class Counted(torch.nn.Sequential):
        def train(self, mode=True):
            calls.append(mode)
            return super().train(mode)

    model = Counted(torch.nn.Linear(3, 3), torch.nn.Dropout(0.5)).eval()
    with forward_hooks(model, {}, training=False):
        pass
    assert calls == [False]  # only the .eval() above
    model[1].train()
    with forward_hooks(model, {}, training=False) as hooked:
        assert not any(module.training for module in hooked.modules())
    assert calls == [False, False]
    assert not model.training and model[1].training  # restored
