"""The one module the torch estimators share: device, dtype, seeding, threads, hooks.

Torch is imported here and nowhere at package import time, so that the NumPy-only
areas stay light.
"""

import contextlib
from numbers import Integral

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import StrOptions

from skrepgeom.utils._parallel import effective_n_threads

__all__ = [
    "TORCH_PARAMETER_CONSTRAINTS",
    "closest_module_names",
    "forward_hooks",
    "make_adam",
    "make_generator",
    "resolve_device",
    "resolve_dtype",
    "seed_from_random_state",
    "to_numpy",
    "to_tensor",
    "torch_threads",
]

# Constraints of the parameters every torch estimator shares (same names, same meaning).
TORCH_PARAMETER_CONSTRAINTS = {
    "device": [str, torch.device],
    "dtype": [StrOptions({"float32", "float64"})],
    "n_jobs": [Integral, None],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
}

_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def resolve_device(device):
    """Turn ``"cpu"``, ``"cuda"``, ``"cuda:<i>"``, ``"auto"`` or a ``torch.device`` into a device.

    ``"auto"`` picks CUDA when available, else the CPU. Asking for CUDA on a machine
    without it raises a ValueError instead of failing later inside torch.
    """
    if isinstance(device, torch.device):
        spec = device
    elif device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    elif isinstance(device, str):
        try:
            spec = torch.device(device)
        except RuntimeError as exc:
            raise ValueError(
                f"device must be 'cpu', 'cuda', 'cuda:<index>' or 'auto', got device={device!r}."
            ) from exc
    else:
        raise TypeError(f"device must be a str or torch.device, got {type(device).__name__}.")
    if spec.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={str(device)!r} was requested but CUDA is not available on this "
            "machine; use device='cpu' or device='auto'."
        )
    if spec.type not in ("cpu", "cuda"):
        raise ValueError(f"device must be a CPU or CUDA device, got device={str(device)!r}.")
    return spec


def resolve_dtype(dtype):
    """Map ``"float32"``/``"float64"`` (or the numpy/torch dtype) to a torch dtype."""
    if isinstance(dtype, torch.dtype) and dtype in _DTYPES.values():
        return dtype
    key = np.dtype(dtype).name if not isinstance(dtype, str) else dtype
    if key not in _DTYPES:
        raise ValueError(f"dtype must be 'float32' or 'float64', got dtype={dtype!r}.")
    return _DTYPES[key]


def seed_from_random_state(random_state):
    """Draw a 63-bit seed from an sklearn-style ``random_state``."""
    rng = check_random_state(random_state)
    return int(rng.randint(0, 2**31 - 1)) << 32 | int(rng.randint(0, 2**31 - 1))


def make_generator(random_state, device="cpu"):
    """A ``torch.Generator`` on ``device`` seeded from ``random_state``.

    The same int ``random_state`` always gives the same stream; a ``RandomState``
    instance is advanced, as in scikit-learn.
    """
    generator = torch.Generator(device=resolve_device(device))
    generator.manual_seed(seed_from_random_state(random_state))
    return generator


def to_tensor(X, *, dtype=None, device="cpu"):
    """Convert an array to a tensor, keeping float32/float64 unless ``dtype`` is given.

    The conversion shares memory with ``X`` when device and dtype allow it.
    """
    if isinstance(X, torch.Tensor):
        tensor = X
    else:
        tensor = torch.from_numpy(np.ascontiguousarray(X))
    target = tensor.dtype if dtype is None else resolve_dtype(dtype)
    return tensor.to(device=resolve_device(device), dtype=target)


def to_numpy(tensor):
    """A CPU NumPy array from a tensor (detached), dtype kept."""
    return tensor.detach().cpu().numpy()


@contextlib.contextmanager
def torch_threads(n_jobs):
    """Set torch's intra-op thread count for the block and restore it afterwards.

    ``None`` leaves torch's setting alone; ``-1`` uses all cores; a negative value
    ``-k`` uses all but ``k - 1`` cores, as in joblib.
    """
    previous = torch.get_num_threads()
    n_threads = effective_n_threads(n_jobs)
    if n_threads is not None:
        torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def closest_module_names(model, name, n=10):
    """The ``n`` names of ``model.named_modules()`` most similar to ``name``.

    Ranked by :func:`difflib.SequenceMatcher` ratio (ties keep the module order), so a
    typo such as ``"encoder.layers.3"`` lists ``"encoder.layer.3"`` first.
    """
    import difflib

    names = [candidate for candidate, _ in model.named_modules()]
    ratio = {c: difflib.SequenceMatcher(None, name, c).ratio() for c in names}
    return sorted(names, key=lambda c: -ratio[c])[:n]


@contextlib.contextmanager
def forward_hooks(model, hooks, *, training=None):
    """Register forward hooks on named submodules for the duration of a block.

    Parameters
    ----------
    model : torch.nn.Module
        The model whose submodules get hooks.
    hooks : dict of str to callable
        ``{module_name: fn}`` with names as in ``model.named_modules()`` (``""`` is
        the model itself); ``fn(module, inputs, output)`` may return a replacement
        output, as for :meth:`torch.nn.Module.register_forward_hook`.
    training : bool or None, default=None
        Mode to put the model in inside the block (``False`` = eval); ``None``
        keeps the current mode.

    Yields
    ------
    model : torch.nn.Module
        The same model, hooked.

    Notes
    -----
    On exit, normal or by exception, every hook is removed and ``model.training``
    (and each submodule's flag) is restored.
    """
    modules = dict(model.named_modules())
    unknown = [name for name in hooks if name not in modules]
    if unknown:
        raise ValueError(
            f"Unknown module name(s) {unknown}; closest available names: "
            f"{closest_module_names(model, unknown[0])}."
        )
    modes = {name: module.training for name, module in modules.items()}
    handles = []
    try:
        # model.train walks every submodule: skip it when none would change mode.
        if training is not None and any(mode != training for mode in modes.values()):
            model.train(training)
        for name, fn in hooks.items():
            handles.append(modules[name].register_forward_hook(fn))
        yield model
    finally:
        for handle in handles:
            handle.remove()
        for name, module in modules.items():
            module.training = modes[name]


def make_adam(parameters, learning_rate):
    """Adam over ``parameters``, with the fused kernel where torch has one.

    The fused kernel updates every tensor in one call instead of a dozen small ops
    per tensor and step; it differs from the loop by float rounding only.
    """
    parameters = list(parameters)
    fused = all(p.device.type in ("cpu", "cuda") and p.is_floating_point() for p in parameters)
    return torch.optim.Adam(parameters, lr=learning_rate, fused=fused or None)
