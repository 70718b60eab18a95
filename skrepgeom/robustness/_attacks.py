"""White-box (FGSM, PGD with EOT) and black-box (Square) evasion attacks.

An attack takes either a fitted estimator exposing ``attack_module(surrogate)`` (then
``y`` holds class labels) or a ``torch.nn.Module`` mapping a batch to class scores
(then ``y`` holds class indices), and returns ``X_adv`` of the shape and dtype of
``X``, inside the eps-ball around ``X`` and inside ``clip_range``.
"""

import numbers

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from skrepgeom.utils._torch import make_generator, seed_from_random_state, to_numpy, to_tensor

__all__ = ["fgsm", "pgd", "square_attack"]

NORMS = ("linf", "l2")
LOSSES = ("ce", "dlr")
# Keeps the division of the L2 step and projection finite for a zero gradient.
_TINY = 1e-12


# --------------------------------------------------------------------- checks
def check_eps(eps):
    if not isinstance(eps, numbers.Real) or isinstance(eps, bool) or not np.isfinite(eps) or eps < 0:
        raise ValueError(f"eps must be a finite number >= 0, got eps={eps!r}.")
    return float(eps)


def _check_choice(name, value, options):
    if value not in options:
        raise ValueError(f"{name} must be one of {options}, got {name}={value!r}.")


def _check_positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be an int >= 1, got {name}={value!r}.")
    return int(value)


def check_clip_range(clip_range):
    if clip_range is None:
        return None
    try:
        lo, hi = (float(v) for v in clip_range)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"clip_range must be None or a pair (low, high), got clip_range={clip_range!r}."
        ) from exc
    if not lo < hi:
        raise ValueError(f"clip_range must have low < high, got clip_range={clip_range!r}.")
    return lo, hi


def check_in_range(X, clip_range, name="X"):
    """Raise when ``X`` (finite) lies outside ``clip_range``, e.g. raw 0..16 digits."""
    if clip_range is None:
        return
    lo, hi = clip_range
    x_min, x_max = float(np.min(X)), float(np.max(X))
    if x_min < lo - 1e-6 or x_max > hi + 1e-6:
        raise ValueError(
            f"{name} has values in [{x_min:g}, {x_max:g}], outside clip_range=({lo:g}, {hi:g}); "
            "scale the inputs first (e.g. MinMaxScaler(clip=True) or X / X.max()) or pass "
            "clip_range=None."
        )


def _check_X(X, clip_range):
    if isinstance(X, torch.Tensor):
        X = to_numpy(X)
    X = np.asarray(X)
    if X.dtype.kind not in "fiu":
        raise ValueError(f"X must be numeric, got dtype {X.dtype}.")
    if X.ndim < 2:
        raise ValueError(f"X must have a sample axis and features (ndim >= 2), got ndim={X.ndim}.")
    if X.shape[0] == 0:
        raise ValueError("X has 0 samples.")
    if not np.isfinite(X).all():
        raise ValueError("X contains NaN or infinity.")
    check_in_range(X, clip_range)
    return X


class _Target:
    """What an attack differentiates: a module, class indices, where to run it."""

    def __init__(self, module, y_index, device, dtype, stochastic):
        self.module = module
        self.y_index = y_index
        self.device = device
        self.dtype = dtype
        self.stochastic = stochastic


def module_device_dtype(module):
    """Device and dtype of a module's first floating-point parameter or buffer."""
    for tensor in list(module.parameters()) + list(module.buffers()):
        if tensor.is_floating_point():
            return tensor.device, tensor.dtype
    return torch.device("cpu"), torch.float32


def resolve_target(model, y, surrogate=None, random_state=None):
    """A :class:`_Target` from a fitted estimator (labels) or an ``nn.Module`` (indices)."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D, got shape {y.shape}.")
    if isinstance(model, torch.nn.Module):
        if surrogate is not None:
            raise ValueError(
                f"surrogate={surrogate!r} is unknown: an nn.Module has no surrogates, use None."
            )
        if y.dtype.kind not in "iu":
            raise ValueError("With an nn.Module, y must hold integer class indices.")
        device, dtype = module_device_dtype(model)
        return _Target(model, torch.as_tensor(y, dtype=torch.long), device, dtype,
                       bool(getattr(model, "stochastic", False)))
    if not hasattr(model, "attack_module"):
        raise TypeError(
            "model must be a torch.nn.Module or a fitted estimator with an attack_module "
            f"method, got {type(model).__name__}."
        )
    check_is_fitted(model)
    surrogates = tuple(model.attack_surrogates_)
    if surrogate is not None and surrogate not in surrogates:
        raise ValueError(
            f"surrogate={surrogate!r} is unknown for {type(model).__name__}; use one of "
            f"{surrogates} or None."
        )
    classes = model.classes_
    index = np.searchsorted(classes, y)
    index = np.clip(index, 0, len(classes) - 1)
    if not np.all(classes[index] == y):
        raise ValueError(f"y contains labels not in the fitted classes {classes.tolist()}.")
    module = model.attack_module(surrogate, random_state=random_state)
    device, dtype = module_device_dtype(module)
    return _Target(module, torch.as_tensor(index, dtype=torch.long), device, dtype,
                   bool(getattr(module, "stochastic", False)))


# ---------------------------------------------------------------------- losses
def dlr_loss(scores, y):
    """Per-sample DLR loss -(z_y - max_{i != y} z_i) / (z_pi1 - z_pi3 + 1e-12).

    With fewer than three classes the denominator is 1 (the ratio is undefined).
    """
    z_y = scores.gather(1, y[:, None])[:, 0]
    others = scores.scatter(1, y[:, None], float("-inf"))
    margin = z_y - others.amax(dim=1)
    if scores.shape[1] < 3:
        return -margin
    top = torch.sort(scores, dim=1, descending=True).values
    return -margin / (top[:, 0] - top[:, 2] + 1e-12)


def attack_loss(scores, y, loss):
    """Sum over the batch (so each sample's gradient is its own) of the per-sample loss."""
    if loss == "ce":
        return torch.nn.functional.cross_entropy(scores, y, reduction="sum")
    return dlr_loss(scores, y).sum()


def _gradient(module, x, y, loss, eot_samples):
    """Input gradient of the loss, averaged over ``eot_samples`` passes (EOT)."""
    total = torch.zeros_like(x)
    for _ in range(eot_samples):
        x_var = x.detach().requires_grad_(True)
        value = attack_loss(module(x_var), y, loss)
        (grad,) = torch.autograd.grad(value, x_var)
        total += grad
    return total / eot_samples


def _flat_norm(t):
    return torch.linalg.vector_norm(t.reshape(t.shape[0], -1), dim=1).reshape(
        (-1,) + (1,) * (t.ndim - 1)
    )


def _project(x_adv, x, eps, norm, clip):
    delta = x_adv - x
    if norm == "linf":
        delta = delta.clamp(-eps, eps)
    else:
        delta = delta * torch.clamp(eps / (_flat_norm(delta) + _TINY), max=1.0)
    x_adv = x + delta
    if clip is not None:
        x_adv = x_adv.clamp(clip[0], clip[1])
    return x_adv


def _random_start(x, eps, norm, generator):
    shape = x.shape
    if norm == "linf":
        noise = (torch.rand(shape, generator=generator, dtype=torch.float64) * 2 - 1) * eps
    else:
        # uniform in the L2 ball: Gaussian direction, radius eps * U^(1/d)
        direction = torch.randn(shape, generator=generator, dtype=torch.float64)
        direction = direction / (_flat_norm(direction) + _TINY)
        d = int(np.prod(shape[1:]))
        radius = torch.rand((shape[0],) + (1,) * (len(shape) - 1), generator=generator,
                            dtype=torch.float64) ** (1.0 / d)
        noise = direction * radius * eps
    return x + noise.to(device=x.device, dtype=x.dtype)


def pgd_tensor(module, x, y, *, eps, norm, steps, step_size, random_start, eot_samples, loss,
               clip, generator):
    """PGD on tensors (one restart): the loop every public attack and the trainers share.

    ``eps`` and ``step_size`` are numbers or per-row tensors broadcasting against ``x``.
    """
    x = x.detach()
    x_adv = _project(_random_start(x, eps, norm, generator), x, eps, norm, clip) if random_start else x
    for _ in range(steps):
        grad = _gradient(module, x_adv, y, loss, eot_samples)
        if norm == "linf":
            step = grad.sign()
        else:
            step = grad / (_flat_norm(grad) + _TINY)
        x_adv = _project(x_adv + step_size * step, x, eps, norm, clip)
    return x_adv.detach()


def _predict_index(module, x):
    with torch.no_grad():
        return module(x).argmax(dim=1)


def _run_batched(fn, X, target, batch_size):
    """Apply ``fn(x_batch, y_batch) -> x_adv_batch`` to tensors made from ``X``."""
    out = np.empty(X.shape, dtype=X.dtype)
    for start in range(0, X.shape[0], batch_size):
        stop = start + batch_size
        x = to_tensor(np.asarray(X[start:stop], dtype=np.float64), dtype=target.dtype,
                      device=target.device)
        y = target.y_index[start:stop].to(target.device)
        out[start:stop] = to_numpy(fn(x, y)).astype(X.dtype, copy=False)
    return out


def _project_numpy(X_adv, X, eps, norm, clip):
    """Final projection in the dtype of ``X``: casting back must not leave the ball."""
    delta = X_adv - X
    if norm == "linf":
        delta = np.clip(delta, -eps, eps)
    else:
        flat = np.linalg.norm(delta.reshape(delta.shape[0], -1), axis=1)
        scale = np.minimum(1.0, eps / np.maximum(flat, _TINY)).astype(X.dtype)
        delta = delta * scale.reshape((-1,) + (1,) * (X.ndim - 1))
    out = X + delta
    if clip is not None:
        out = np.clip(out, clip[0], clip[1])
    return out.astype(X.dtype, copy=False)


def _attack_inputs(model, X, y, surrogate, clip_range, random_state):
    """Checked inputs, the attacked target and a seeded generator, shared by the attacks.

    The surrogate is resolved from the seeded stream before the generator is drawn
    from it, so a given ``random_state`` fixes both.
    """
    clip = check_clip_range(clip_range)
    X = _check_X(X, clip)
    y = np.asarray(y)
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"X and y have unequal lengths: {X.shape[0]} != {y.shape[0]}.")
    rng = np.random.RandomState(seed_from_random_state(random_state) % (2**32))
    target = resolve_target(model, y, surrogate, random_state=rng)
    return X, clip, target, make_generator(rng, "cpu")


def pgd(model, X, y, *, eps, norm="linf", steps=50, step_size=None, random_start=True,
        n_restarts=1, eot_samples=1, loss="ce", surrogate=None, clip_range=(0.0, 1.0),
        batch_size=512, random_state=None):
    """Projected gradient descent (Madry et al.) with restarts and EOT.

    Parameters
    ----------
    model : fitted estimator with ``attack_module`` or torch.nn.Module
        The model to attack. An estimator's ``y`` holds labels; a module's ``y``
        holds class indices and its output is one score per class.
    X : array-like of shape (n_samples, ...)
        Clean inputs, inside ``clip_range``.
    y : array-like of shape (n_samples,)
        True classes.
    eps : float >= 0
        Radius of the threat ball (``0`` returns a copy of ``X``).
    norm : {"linf", "l2"}, default="linf"
        L-infinity: sign steps, box projection. L2: steps along ``g / ||g||_2``,
        projection onto the ball.
    steps : int >= 1, default=50
        Gradient steps.
    step_size : float, default=None
        ``None`` gives ``2.5 * eps / steps``.
    random_start : bool, default=True
        Start uniformly at random in the ball.
    n_restarts : int >= 1, default=1
        Per example, the first restart that fools the attacked module is kept (the
        last restart otherwise).
    eot_samples : int >= 1, default=1
        Expectation over transformation: each step uses the mean of this many input
        gradients, one per (stochastic) forward pass.
    loss : {"ce", "dlr"}, default="ce"
        Cross-entropy, or the difference-of-logits ratio of Croce & Hein (2020).
    surrogate : str, default=None
        Which differentiable scores of the estimator to attack (see its
        ``attack_surrogates_``); ``None`` uses its default.
    clip_range : (float, float) or None, default=(0.0, 1.0)
        Valid input box, enforced at every step; ``None``: no box.
    batch_size : int >= 1, default=512
        Samples attacked together.
    random_state : int, RandomState instance or None, default=None
        Seeds the random starts and the estimator's stochastic passes.

    Returns
    -------
    X_adv : ndarray of the shape and dtype of ``X``
        Adversarial examples with ``||X_adv - X|| <= eps`` inside ``clip_range``.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from skrepgeom.robustness import pgd
    >>> model = torch.nn.Linear(4, 3)
    >>> X = np.full((5, 4), 0.5, dtype=np.float32)
    >>> X_adv = pgd(model, X, np.zeros(5, dtype=int), eps=0.1, steps=5, random_state=0)
    >>> bool(np.abs(X_adv - X).max() <= 0.1 + 1e-7)
    True
    """
    eps = check_eps(eps)
    _check_choice("norm", norm, NORMS)
    _check_choice("loss", loss, LOSSES)
    steps = _check_positive_int("steps", steps)
    n_restarts = _check_positive_int("n_restarts", n_restarts)
    eot_samples = _check_positive_int("eot_samples", eot_samples)
    batch_size = _check_positive_int("batch_size", batch_size)
    if step_size is None:
        step_size = 2.5 * eps / steps
    elif not isinstance(step_size, numbers.Real) or not step_size > 0:
        raise ValueError(f"step_size must be a number > 0 or None, got step_size={step_size!r}.")
    X, clip, target, generator = _attack_inputs(model, X, y, surrogate, clip_range, random_state)
    if eps == 0:
        return X.copy()
    module = target.module

    def attack(x, y_batch):
        x_adv = pgd_tensor(module, x, y_batch, eps=eps, norm=norm, steps=steps,
                           step_size=step_size, random_start=random_start,
                           eot_samples=eot_samples, loss=loss, clip=clip, generator=generator)
        fooled = _predict_index(module, x_adv) != y_batch
        for _ in range(n_restarts - 1):
            rows = torch.nonzero(~fooled)[:, 0]
            if rows.numel() == 0:
                break
            retry = pgd_tensor(module, x[rows], y_batch[rows], eps=eps, norm=norm, steps=steps,
                               step_size=step_size, random_start=random_start,
                               eot_samples=eot_samples, loss=loss, clip=clip,
                               generator=generator)
            x_adv[rows] = retry
            fooled[rows] = _predict_index(module, retry) != y_batch[rows]
        return x_adv

    with torch.enable_grad():
        X_adv = _run_batched(attack, X, target, batch_size)
    return _project_numpy(X_adv, X, eps, norm, clip)


def fgsm(model, X, y, *, eps, norm="linf", loss="ce", surrogate=None, clip_range=(0.0, 1.0)):
    """Fast gradient sign method (Goodfellow et al.): one step of size ``eps``.

    L-infinity: ``X + eps * sign(grad)``; L2: ``X + eps * grad / ||grad||_2``; then
    clipped to ``clip_range``. Parameters are those of :func:`pgd`.

    Returns
    -------
    X_adv : ndarray of the shape and dtype of ``X``

    Examples
    --------
    >>> import numpy as np, torch
    >>> from skrepgeom.robustness import fgsm
    >>> model = torch.nn.Linear(2, 2)
    >>> X_adv = fgsm(model, np.full((3, 2), 0.5, np.float32), np.array([0, 1, 0]), eps=0.1)
    >>> X_adv.shape
    (3, 2)
    """
    return pgd(model, X, y, eps=eps, norm=norm, steps=1, step_size=max(float(eps), _TINY),
               random_start=False, loss=loss, surrogate=surrogate, clip_range=clip_range,
               random_state=0)


def _margin(module, x, y):
    """``z_y - max_{i != y} z_i``: negative once the example is misclassified."""
    with torch.no_grad():
        scores = module(x)
    z_y = scores.gather(1, y[:, None])[:, 0]
    return z_y - scores.scatter(1, y[:, None], float("-inf")).amax(dim=1)


def _square_fraction(i, n_queries, p_init=0.05):
    """Andriushchenko et al.'s piecewise-constant schedule, rescaled to ``n_queries``."""
    it = int(i / n_queries * 10000)
    for bound, divisor in ((10, 1), (50, 2), (200, 4), (500, 8), (1000, 16), (2000, 32),
                           (4000, 64), (6000, 128), (8000, 256)):
        if it <= bound:
            return p_init / divisor
    return p_init / 512


def square_attack(model, X, y, *, eps, n_queries=1000, surrogate=None, clip_range=(0.0, 1.0),
                  random_state=None):
    """Square Attack (Andriushchenko et al., 2020): gradient-free, L-infinity.

    Random search over vertices of the eps-box: each query redraws the sign of the
    perturbation on a random window (a square for image batches ``(n, c, h, w)``, a
    contiguous run of features for flat inputs) and keeps it when the margin
    ``z_y - max_{i != y} z_i`` decreases. Uses only forward passes, so gradient
    masking does not stop it.

    Parameters
    ----------
    model, X, y, eps, surrogate, clip_range, random_state
        As in :func:`pgd`.
    n_queries : int >= 1, default=1000
        Forward passes per example (the first is the initialisation).

    Returns
    -------
    X_adv : ndarray of the shape and dtype of ``X``

    Examples
    --------
    >>> import numpy as np, torch
    >>> from skrepgeom.robustness import square_attack
    >>> model = torch.nn.Linear(4, 2)
    >>> X = np.full((3, 4), 0.5, np.float32)
    >>> square_attack(model, X, np.array([0, 1, 0]), eps=0.1, n_queries=20, random_state=0).shape
    (3, 4)
    """
    eps = check_eps(eps)
    n_queries = _check_positive_int("n_queries", n_queries)
    X, clip, target, generator = _attack_inputs(model, X, y, surrogate, clip_range, random_state)
    if eps == 0:
        return X.copy()
    module = target.module

    def clip_box(x_new, x):
        x_new = torch.minimum(torch.maximum(x_new, x - eps), x + eps)
        return x_new if clip is None else x_new.clamp(clip[0], clip[1])

    def attack(x, y_batch):
        n = x.shape[0]
        image = x.ndim == 4
        # vertical stripes (image) or one random sign per feature (flat) to start
        if image:
            signs = torch.randint(0, 2, (n, x.shape[1], 1, x.shape[3]), generator=generator)
            signs = signs.expand(-1, -1, x.shape[2], -1)
        else:
            signs = torch.randint(0, 2, x.shape, generator=generator)
        x_best = clip_box(x + eps * (2 * signs.to(x) - 1), x)
        margin = _margin(module, x_best, y_batch)
        for i in range(n_queries - 1):
            active = torch.nonzero(margin > 0)[:, 0]
            if active.numel() == 0:
                break
            xa, x0 = x_best[active], x[active]
            m = active.numel()
            p = _square_fraction(i, n_queries)
            if image:
                h, w = x.shape[2], x.shape[3]
                side = max(1, min(h - 1, int(round(np.sqrt(p * h * w)))))
                r = torch.randint(0, h - side + 1, (m,), generator=generator)
                c = torch.randint(0, w - side + 1, (m,), generator=generator)
                rows = torch.arange(h)[None, :]
                cols = torch.arange(w)[None, :]
                in_r = (rows >= r[:, None]) & (rows < (r + side)[:, None])
                in_c = (cols >= c[:, None]) & (cols < (c + side)[:, None])
                window = (in_r[:, :, None] & in_c[:, None, :])[:, None]
                s = 2 * torch.randint(0, 2, (m, x.shape[1], 1, 1), generator=generator) - 1
            else:
                d = int(np.prod(x.shape[1:]))
                side = max(1, min(d - 1, int(round(p * d))))
                start = torch.randint(0, d - side + 1, (m,), generator=generator)
                idx = torch.arange(d)[None, :]
                window = ((idx >= start[:, None]) & (idx < (start + side)[:, None])).reshape(
                    (m,) + tuple(x.shape[1:])
                )
                s = (2 * torch.randint(0, 2, (m,), generator=generator) - 1).reshape(
                    (m,) + (1,) * (x.ndim - 1)
                )
            window = window.to(x.device)
            candidate = torch.where(window, x0 + eps * s.to(x), xa)
            candidate = clip_box(candidate, x0)
            new_margin = _margin(module, candidate, y_batch[active])
            better = new_margin < margin[active]
            x_best[active[better]] = candidate[better]
            margin[active[better]] = new_margin[better]
        return x_best

    X_adv = _run_batched(attack, X, target, 512)
    return _project_numpy(X_adv, X, eps, "linf", clip)
