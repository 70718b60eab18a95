"""Honest robustness evaluation: worst case over attacks, a scorer, masking checks."""

import dataclasses

import numpy as np
import torch
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import Pipeline
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from skrepgeom.robustness._attacks import (
    LOSSES,
    _check_X,
    check_clip_range,
    check_eps,
    fgsm,
    module_device_dtype,
    pgd,
    resolve_target,
    square_attack,
)
from skrepgeom.utils._torch import to_numpy, to_tensor

__all__ = [
    "GradientMaskingReport",
    "check_gradient_masking",
    "make_robust_scorer",
    "robust_accuracy",
]

ATTACKS = ("fgsm", "pgd", "square", "transfer", "autoattack")
# Tolerance of the masking checks (accuracy points).
_TOL = 0.02


def _clip_of(model, attack_params):
    if "clip_range" in attack_params:
        return check_clip_range(attack_params.pop("clip_range"))
    return check_clip_range(getattr(model, "clip_range", (0.0, 1.0)))


def _predictor(model):
    """``X -> predicted labels`` of the real defence (an estimator's own ``predict``)."""
    if isinstance(model, torch.nn.Module):
        device, dtype = module_device_dtype(model)

        def predict(X):
            with torch.no_grad():
                x = to_tensor(np.asarray(X, dtype=np.float64), dtype=dtype, device=device)
                return to_numpy(model(x).argmax(dim=1))

        return predict
    return model.predict


def _surrogates(model, surrogates):
    available = (None,) if isinstance(model, torch.nn.Module) else tuple(model.attack_surrogates_)
    if surrogates == "all":
        return list(available)
    if isinstance(surrogates, str) or surrogates is None:
        surrogates = [surrogates]
    return list(surrogates)


def _is_stochastic(model):
    if isinstance(model, torch.nn.Module):
        return bool(getattr(model, "stochastic", False))
    return bool(getattr(model.attack_module(None), "stochastic", False))


def _transfer_source(model, source):
    if source is None:
        if not hasattr(model, "classifier_"):
            raise ValueError(
                'attack="transfer" needs source= (a fitted estimator or nn.Module) for a model '
                "without a classifier_ attribute."
            )
        source = model.classifier_
    if isinstance(source, FrozenEstimator):
        source = source.estimator
    return source


def _autoattack(model, X, y_index, *, eps, norm, version, seed, n_classes, clip):
    """AutoAttack components from torchattacks at 100 iterations (its default wrapper uses 10)."""
    try:
        import torchattacks
    except ImportError as exc:
        raise ImportError(
            'attack="autoattack" needs torchattacks: pip install --no-deps torchattacks'
        ) from exc
    if clip != (0.0, 1.0):
        raise ValueError('attack="autoattack" needs clip_range=(0.0, 1.0) (torchattacks\' box).')
    norm_name = {"linf": "Linf", "l2": "L2"}[norm]
    if version == "rand":
        attacks = [
            torchattacks.APGD(model, norm=norm_name, eps=eps, steps=100, loss="ce", eot_iter=20,
                              seed=seed),
            torchattacks.APGD(model, norm=norm_name, eps=eps, steps=100, loss="dlr", eot_iter=20,
                              seed=seed),
        ]
    else:
        attacks = [
            torchattacks.APGD(model, norm=norm_name, eps=eps, steps=100, loss="ce", seed=seed),
            torchattacks.APGDT(model, norm=norm_name, eps=eps, steps=100, n_classes=n_classes,
                               seed=seed),
            torchattacks.FAB(model, norm=norm_name, eps=eps, steps=100, n_classes=n_classes,
                             multi_targeted=True, seed=seed),
            torchattacks.Square(model, norm=norm_name, eps=eps, n_queries=5000, seed=seed),
        ]
    return attacks


def robust_accuracy(estimator, X, y, *, eps, attack="pgd", norm="linf", surrogates="all",
                    losses=("ce", "dlr"), eot_samples=None, source=None, return_details=False,
                    random_state=None, **attack_params):
    """Accuracy of the real defence on the worst case over several adaptive attacks.

    An example counts as robust only if ``estimator.predict`` (the defence itself,
    not the differentiable surrogate the attack followed) is right on the clean input
    and on the adversarial example of **every** surrogate x loss x restart. Once an
    example is fooled it is not attacked again: the worst case is the same and the
    evaluation is cheaper.

    Parameters
    ----------
    estimator : fitted estimator with ``attack_module``, or torch.nn.Module
        The defence. A module's ``y`` holds class indices.
    X : array-like of shape (n_samples, n_features)
        Clean inputs inside the model's ``clip_range``.
    y : array-like of shape (n_samples,)
        True classes.
    eps : float >= 0
        Threat radius.
    attack : {"fgsm", "pgd", "square", "transfer", "autoattack"} or callable, default="pgd"
        ``"transfer"``: PGD crafted on ``source`` (all its surrogates and ``losses``),
        evaluated on the defence. ``"autoattack"``: torchattacks' APGD-CE, APGD-T,
        FAB-T (100 iterations each) and Square-5000, or with ``version="rand"`` in
        ``attack_params`` APGD-CE and APGD-DLR with EOT over 20 passes. A callable is
        called as ``attack(estimator, X, y, eps=eps, **attack_params)`` and returns
        ``X_adv``.
    norm : {"linf", "l2"}, default="linf"
        Threat norm.
    surrogates : "all", str or list, default="all"
        Surrogates of the estimator to attack (``"all"``: its ``attack_surrogates_``).
    losses : tuple of {"ce", "dlr"}, default=("ce", "dlr")
        Losses of the gradient attacks.
    eot_samples : int, default=None
        Gradient passes per step; ``None``: 8 for a stochastic defence, 1 otherwise.
    source : estimator or nn.Module, default=None
        Model the transfer attack is crafted on; ``None``: ``estimator.classifier_``.
    return_details : bool, default=False
        Also return a dict with ``clean_accuracy``, ``robust_mask``, ``X_adv`` (the
        fooling example, or the last attempt) and ``runs`` (newly fooled per run).
    random_state : int, RandomState instance or None, default=None
        Seeds every run.
    **attack_params
        Passed to the attack (``steps``, ``step_size``, ``n_restarts``, ``n_queries``,
        ``clip_range``, ``batch_size``, ``version``...).

    Returns
    -------
    accuracy : float
        Fraction of robust examples.
    details : dict
        Only with ``return_details=True``.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from skrepgeom.robustness import robust_accuracy
    >>> model = torch.nn.Linear(2, 2)
    >>> with torch.no_grad():
    ...     _ = model.weight.copy_(torch.tensor([[1.0, 0.0], [-1.0, 0.0]]))
    ...     _ = model.bias.copy_(torch.tensor([-0.5, 0.5]))
    >>> X = np.array([[0.9, 0.5], [0.55, 0.5]], dtype=np.float32)
    >>> robust_accuracy(model, X, np.array([0, 0]), eps=0.1, clip_range=None, steps=10)
    0.5
    """
    eps = check_eps(eps)
    if not callable(attack) and attack not in ATTACKS:
        raise ValueError(f"attack must be one of {ATTACKS} or a callable, got attack={attack!r}.")
    losses = (losses,) if isinstance(losses, str) else tuple(losses)
    for loss in losses:
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got loss={loss!r}.")
    if not isinstance(estimator, torch.nn.Module):
        check_is_fitted(estimator)
    attack_params = dict(attack_params)
    clip = _clip_of(estimator, attack_params)
    X = _check_X(X, clip)
    y = np.asarray(y)
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"X and y have unequal lengths: {X.shape[0]} != {y.shape[0]}.")
    rng = check_random_state(random_state)
    predict = _predictor(estimator)
    robust = np.asarray(predict(X) == y)
    clean_accuracy = float(robust.mean())
    X_adv = X.copy()
    runs = []
    n_restarts = attack_params.pop("n_restarts", 1)

    def record(name, rows, X_rows):
        fooled = np.asarray(predict(X_rows) != y[rows])
        X_adv[rows] = X_rows
        robust[rows[fooled]] = False
        runs.append({**name, "n_fooled": int(fooled.sum())})

    if eps > 0 and robust.any():
        if callable(attack):
            rows = np.flatnonzero(robust)
            record({"attack": getattr(attack, "__name__", "callable")}, rows,
                   attack(estimator, X[rows], y[rows], eps=eps, **attack_params))
        elif attack == "transfer":
            model = _transfer_source(estimator, source)
            if isinstance(model, torch.nn.Module):
                classes = estimator.classes_
                y_model = np.searchsorted(classes, y)
            else:
                y_model = y
            eot = 1 if eot_samples is None else eot_samples
            for surrogate in _surrogates(model, "all"):
                for loss in losses:
                    for restart in range(n_restarts):
                        rows = np.flatnonzero(robust)
                        if rows.size:
                            X_rows = pgd(model, X[rows], y_model[rows], eps=eps, norm=norm,
                                         loss=loss, surrogate=surrogate, eot_samples=eot,
                                         clip_range=clip, random_state=rng, **attack_params)
                            record({"attack": "transfer", "surrogate": surrogate, "loss": loss,
                                    "restart": restart}, rows, X_rows)
        elif attack == "autoattack":
            target = resolve_target(estimator, y, None)
            version = attack_params.pop("version", "standard")
            for surrogate in _surrogates(estimator, surrogates):
                module = resolve_target(estimator, y, surrogate, random_state=rng).module
                for component in _autoattack(module, X, target.y_index, eps=eps, norm=norm,
                                             version=version, seed=int(rng.randint(2**31 - 1)),
                                             n_classes=len(np.unique(target.y_index))
                                             if isinstance(estimator, torch.nn.Module)
                                             else len(estimator.classes_), clip=clip):
                    rows = np.flatnonzero(robust)
                    if rows.size:
                        x = to_tensor(X[rows].astype(np.float32), device=target.device)
                        X_rows = to_numpy(component(x, target.y_index[rows].to(target.device)))
                        X_rows = np.clip(X_rows.astype(X.dtype), X[rows] - eps, X[rows] + eps)
                        record({"attack": type(component).__name__, "surrogate": surrogate},
                               rows, np.clip(X_rows, *clip))
        else:
            stochastic = _is_stochastic(estimator)
            eot = eot_samples if eot_samples is not None else (8 if stochastic else 1)
            for surrogate in _surrogates(estimator, surrogates):
                for loss in (losses if attack in ("pgd", "fgsm") else ("margin",)):
                    for restart in range(n_restarts if attack != "fgsm" else 1):
                        rows = np.flatnonzero(robust)
                        if not rows.size:
                            continue
                        if attack == "pgd":
                            X_rows = pgd(estimator, X[rows], y[rows], eps=eps, norm=norm,
                                         loss=loss, surrogate=surrogate, eot_samples=eot,
                                         clip_range=clip, random_state=rng, **attack_params)
                        elif attack == "fgsm":
                            X_rows = fgsm(estimator, X[rows], y[rows], eps=eps, norm=norm,
                                          loss=loss, surrogate=surrogate, clip_range=clip)
                        else:
                            if norm != "linf":
                                raise ValueError('attack="square" is an L-infinity attack.')
                            X_rows = square_attack(estimator, X[rows], y[rows], eps=eps,
                                                   surrogate=surrogate, clip_range=clip,
                                                   random_state=rng, **attack_params)
                        record({"attack": attack, "surrogate": surrogate, "loss": loss,
                                "restart": restart}, rows, X_rows)
    accuracy = float(robust.mean())
    if not return_details:
        return accuracy
    return accuracy, {"clean_accuracy": clean_accuracy, "robust_mask": robust, "X_adv": X_adv,
                      "runs": runs}


def make_robust_scorer(*, eps, attack="pgd", **kw):
    """A scorer ``(estimator, X, y) -> robust accuracy`` for model selection.

    In a :class:`~sklearn.pipeline.Pipeline` the attack acts on the input of the last
    step (``X`` transformed by the earlier steps), whose ``clip_range`` applies.

    Parameters
    ----------
    eps : float >= 0
        Threat radius.
    attack : str or callable, default="pgd"
        See :func:`robust_accuracy`.
    **kw
        Passed to :func:`robust_accuracy` (``random_state``, ``steps``...).

    Returns
    -------
    scorer : callable
        Greater is better.

    Examples
    --------
    >>> from skrepgeom.robustness import make_robust_scorer
    >>> scorer = make_robust_scorer(eps=0.1, steps=10, random_state=0)
    >>> callable(scorer)
    True
    """
    check_eps(eps)

    def robust_scorer(estimator, X, y):
        if isinstance(estimator, Pipeline):
            X = estimator[:-1].transform(X)
            estimator = estimator[-1]
        return robust_accuracy(estimator, X, y, eps=eps, attack=attack, **kw)

    return robust_scorer


@dataclasses.dataclass(repr=False)
class GradientMaskingReport:
    """Outcome of :func:`check_gradient_masking`.

    Attributes
    ----------
    eps_curve : dict of float to float
        PGD accuracy at each radius (should not increase with eps).
    steps_curve : dict of int to float
        PGD accuracy at ``eps`` after 10 and 200 steps (more steps must not help the model).
    high_eps_accuracy : float
        PGD accuracy at eps 0.9 (should be near chance).
    white_box_accuracy : float
        PGD-50 over every surrogate and loss at ``eps``.
    transfer_accuracy : float
        PGD crafted on a surrogate model (``classifier_``, else a small network
        trained on the model's own predictions); must not beat white box.
    black_box_accuracy : float
        Square Attack with 1000 queries; must not beat white box.
    chance : float
        ``1 / n_classes``.
    failed_checks : list of str
        Names of the failed checks.
    """

    eps_curve: dict
    steps_curve: dict
    high_eps_accuracy: float
    white_box_accuracy: float
    transfer_accuracy: float
    black_box_accuracy: float
    chance: float
    failed_checks: list

    @property
    def passed(self):
        """True when no check failed."""
        return not self.failed_checks

    def __repr__(self):
        curve = ", ".join(f"{e:g}: {a:.3f}" for e, a in self.eps_curve.items())
        steps = ", ".join(f"{s}: {a:.3f}" for s, a in self.steps_curve.items())
        verdict = "passed" if self.passed else "FAILED " + ", ".join(self.failed_checks)
        return (
            "GradientMaskingReport(\n"
            f"  accuracy vs eps:   {curve}\n"
            f"  accuracy vs steps: {steps}\n"
            f"  eps=0.9: {self.high_eps_accuracy:.3f} (chance {self.chance:.3f})\n"
            f"  white box {self.white_box_accuracy:.3f}, transfer {self.transfer_accuracy:.3f}, "
            f"black box {self.black_box_accuracy:.3f}\n"
            f"  {verdict}\n)"
        )


def _distilled_source(model, X, y, random_state):
    """A small standard network trained on the model's own predictions on X."""
    from skrepgeom.robustness._adversarial_training import AdversarialTrainingClassifier

    labels = _predictor(model)(X)
    if np.unique(labels).size < 2:
        labels = y
    return AdversarialTrainingClassifier(
        hidden_layer_sizes=(64,), eps=0.0, max_epochs=50, batch_size=64,
        clip_range=None, random_state=random_state,
    ).fit(X, labels)


def check_gradient_masking(estimator_or_module, X, y, *, eps, random_state=None):
    """Run the standard sanity checks for gradient masking (Athalye et al., Carlini et al.).

    Checks: accuracy does not increase with eps (0, 0.05, 0.1, 0.2, 0.3; tolerance
    0.02); at eps 0.9 it is at most chance + 0.05; PGD-200 is not weaker than PGD-10
    (+0.02); a transfer attack and the gradient-free Square Attack (1000 queries) do
    not beat the white-box attack (-0.02). A defence that fails any of them has
    gradients an attacker cannot use, and its white-box accuracy is not a robustness
    figure.

    Parameters
    ----------
    estimator_or_module : fitted estimator with ``attack_module``, or torch.nn.Module
        The defence (a module's ``y`` holds class indices).
    X : array-like of shape (n_samples, n_features)
        Clean inputs.
    y : array-like of shape (n_samples,)
        True classes.
    eps : float > 0
        Threat radius of the white-box, transfer and black-box comparisons.
    random_state : int, RandomState instance or None, default=None
        Seeds the attacks and the distilled transfer source.

    Returns
    -------
    report : GradientMaskingReport

    Examples
    --------
    >>> import numpy as np, torch
    >>> from skrepgeom.robustness import check_gradient_masking
    >>> rng = np.random.RandomState(0)
    >>> X = rng.uniform(0.2, 0.8, (60, 2)).astype(np.float32)
    >>> y = (X[:, 0] > 0.5).astype(int)
    >>> model = torch.nn.Linear(2, 2)
    >>> with torch.no_grad():
    ...     _ = model.weight.copy_(torch.tensor([[-4.0, 0.0], [4.0, 0.0]]))
    ...     _ = model.bias.copy_(torch.tensor([2.0, -2.0]))
    >>> check_gradient_masking(model, X, y, eps=0.1, random_state=0).passed
    True
    """
    eps = check_eps(eps)
    if eps == 0:
        raise ValueError("check_gradient_masking needs eps > 0.")
    model = estimator_or_module
    rng = check_random_state(random_state)
    clip = _clip_of(model, {})
    X = _check_X(X, clip)
    y = np.asarray(y)

    def seed():
        return int(rng.randint(2**31 - 1))

    eps_curve = {
        e: (robust_accuracy(model, X, y, eps=e, steps=20, losses=("ce",), random_state=seed())
            if e > 0 else float(np.mean(_predictor(model)(X) == y)))
        for e in (0.0, 0.05, 0.1, 0.2, 0.3)
    }
    steps_curve = {
        s: robust_accuracy(model, X, y, eps=eps, steps=s, losses=("ce",), random_state=seed())
        for s in (10, 200)
    }
    high = robust_accuracy(model, X, y, eps=0.9, steps=20, losses=("ce",), random_state=seed())
    white = robust_accuracy(model, X, y, eps=eps, steps=50, random_state=seed())
    if hasattr(model, "classifier_"):
        source = None
    else:
        source = _distilled_source(model, X, y, seed())
    if isinstance(model, torch.nn.Module):
        # the transfer attack maps labels through classes_: a module's are its indices
        classes = np.arange(int(np.max(y)) + 1)
        transfer = _transfer_on_module(model, source, X, y, eps, clip, classes, seed())
        n_classes = classes.size
    else:
        transfer = robust_accuracy(model, X, y, eps=eps, attack="transfer", source=source,
                                   steps=50, random_state=seed())
        n_classes = len(model.classes_)
    black = robust_accuracy(model, X, y, eps=eps, attack="square", n_queries=1000,
                            random_state=seed())
    chance = 1.0 / n_classes
    failed = []
    values = list(eps_curve.values())
    if any(b > a + _TOL for a, b in zip(values, values[1:])):
        failed.append("accuracy increases with eps")
    if high > chance + 0.05:
        failed.append("accuracy at eps=0.9 above chance")
    if steps_curve[200] > steps_curve[10] + _TOL:
        failed.append("more PGD steps do not lower accuracy")
    if transfer < white - _TOL:
        failed.append("transfer attack beats white box")
    if black < white - _TOL:
        failed.append("black-box attack beats white box")
    return GradientMaskingReport(eps_curve, steps_curve, high, white, transfer, black, chance,
                                 failed)


def _transfer_on_module(module, source, X, y, eps, clip, classes, random_state):
    """Transfer accuracy of PGD crafted on ``source`` (labels = indices) against a module."""
    predict = _predictor(module)
    robust = predict(X) == y
    rng = check_random_state(random_state)
    for loss in LOSSES:
        rows = np.flatnonzero(robust)
        if not rows.size:
            break
        X_rows = pgd(source, X[rows], classes[y[rows]], eps=eps, steps=50, loss=loss,
                     clip_range=clip, random_state=rng)
        robust[rows[predict(X_rows) != y[rows]]] = False
    return float(robust.mean())

