"""PGD adversarial training (Madry et al., 2018) as a scikit-learn classifier."""

import copy
from numbers import Integral, Real

import numpy as np
import torch
from scipy.special import softmax
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_consistent_length, check_is_fitted, column_or_1d

from skrepgeom.robustness._attacks import (
    check_clip_range,
    check_in_range,
    module_device_dtype,
    pgd_tensor,
)
from skrepgeom.utils._torch import (
    TORCH_PARAMETER_CONSTRAINTS,
    make_adam,
    make_generator,
    resolve_device,
    resolve_dtype,
    seed_from_random_state,
    to_numpy,
    to_tensor,
    torch_threads,
)
from skrepgeom.utils._validation import validate_float_data

__all__ = ["AdversarialTrainingClassifier"]

# Rows per forward pass at prediction time.
_PREDICT_CHUNK = 4096


def check_image_shape(image_shape, n_features):
    if image_shape is None:
        return None
    shape = tuple(int(s) for s in image_shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(
            f"image_shape must be (channels, height, width), got image_shape={image_shape!r}."
        )
    if int(np.prod(shape)) != n_features:
        raise ValueError(
            f"image_shape={image_shape!r} has {int(np.prod(shape))} pixels but X has "
            f"n_features={n_features}."
        )
    return shape


def check_targets(estimator, X, y):
    """Labels -> (classes, indices), with the errors every classifier here shares."""
    if y is None:
        raise ValueError(
            f"{type(estimator).__name__} requires y to be passed, but the target y is None."
        )
    y = column_or_1d(y, warn=True)
    check_consistent_length(X, y)
    check_classification_targets(y)
    classes, y_index = np.unique(y, return_inverse=True)
    if classes.shape[0] < 2:
        raise ValueError(
            f"{type(estimator).__name__} needs samples of at least 2 classes in y; got 1 "
            f"class ({classes[0]!r})."
        )
    return classes, y_index


def validate_inputs(estimator, X, *, reset):
    X = validate_float_data(estimator, X, reset=reset)
    check_in_range(X, check_clip_range(estimator.clip_range))
    if not X.flags.writeable:  # torch warns on read-only arrays
        X = X.copy()
    return X


def build_seeded(builder, seed):
    """Call ``builder()`` with torch's global RNG seeded, restoring the RNG afterwards.

    Module constructors draw their initial weights from the global RNG; forking it
    makes the weights a function of ``random_state`` without touching the caller's
    stream.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return builder()


def _mlp(n_features, hidden_layer_sizes, n_classes):
    layers, width = [], n_features
    for size in hidden_layer_sizes:
        layers += [torch.nn.Linear(width, size), torch.nn.ReLU()]
        width = size
    layers.append(torch.nn.Linear(width, n_classes))
    return torch.nn.Sequential(*layers)


def _cnn(image_shape, n_classes):
    channels, height, width = image_shape
    flat = 64 * (height // 2) * (width // 2)
    return torch.nn.Sequential(
        torch.nn.Unflatten(1, image_shape),
        torch.nn.Conv2d(channels, 32, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.Conv2d(32, 64, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(flat, 128),
        torch.nn.ReLU(),
        torch.nn.Linear(128, n_classes),
    )


def check_logit_module(module, n_features, n_classes, device, dtype):
    """Raise unless ``module`` maps (n, n_features) rows to (n, n_classes) scores."""
    probe = torch.zeros((2, n_features), device=device, dtype=dtype)
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            out = module(probe)
    finally:
        module.train(was_training)
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (2, n_classes):
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(
            f"The classifier module must output one logit per class, shape (n, {n_classes}); "
            f"got output shape {shape} for input (2, {n_features})."
        )


def module_scores(module, X, *, device, dtype):
    """Outputs of ``module`` on ``X`` (numpy), in chunks, without gradients."""
    outputs = []
    with torch.no_grad():
        for start in range(0, X.shape[0], _PREDICT_CHUNK):
            x = to_tensor(X[start : start + _PREDICT_CHUNK], dtype=dtype, device=device)
            outputs.append(to_numpy(module(x)))
    return np.concatenate(outputs)


def binary_scores(scores):
    """scikit-learn's convention: one score (class 1 minus class 0) for two classes."""
    return scores[:, 1] - scores[:, 0] if scores.shape[1] == 2 else scores


def progress_bar(verbose, total, desc):
    if not verbose:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc)


class AdversarialTrainingClassifier(ClassifierMixin, BaseEstimator):
    """Neural network classifier trained on PGD adversarial examples (Madry et al.).

    Every minibatch is replaced by its PGD adversarial version (random start,
    ``attack_steps`` sign steps of ``attack_step_size``) against the current network
    before the gradient step, so the network learns to classify the worst case in the
    ``eps``-ball. ``eps=0`` is standard training.

    Read more in the :ref:`User Guide <robustness>`.

    Parameters
    ----------
    architecture : {"mlp", "cnn"} or callable, default="mlp"
        ``"mlp"``: Linear-ReLU layers of ``hidden_layer_sizes`` and a linear head.
        ``"cnn"``: conv32-conv64 (3x3, padding 1, ReLU), 2x2 max-pool, fc128, head;
        needs ``image_shape``. A callable ``(input_shape, n_classes) -> nn.Module``
        builds a custom network; the module receives flat rows ``(n, n_features)``
        (``input_shape`` is ``image_shape`` or ``(n_features,)``) and returns logits.
    hidden_layer_sizes : tuple of int, default=(256, 256)
        Widths of the hidden layers of the MLP.
    image_shape : tuple (channels, height, width), default=None
        Shape of one image, needed by ``"cnn"``; its product must be ``n_features``.
    eps : float >= 0, default=0.2
        Radius of the training threat ball.
    norm : {"linf", "l2"}, default="linf"
        Norm of the threat ball.
    attack_steps : int, default=10
        PGD steps per minibatch.
    attack_step_size : float, default=None
        ``None`` gives ``2.5 * eps / attack_steps``.
    max_epochs : int, default=60
        Training epochs (Adam, cosine-annealed learning rate).
    batch_size : int, default=128
        Minibatch size.
    learning_rate : float, default=1e-3
        Initial Adam step size.
    clip_range : (float, float) or None, default=(0.0, 1.0)
        Valid input box: inputs outside it are refused and attacks stay inside it.
        ``None``: no box.
    device : {"cpu", "cuda", "auto"} or torch.device, default="cpu"
        Where to train; ``"auto"`` picks CUDA when available.
    dtype : {"float32", "float64"}, default="float32"
        Precision of the network.
    n_jobs : int, default=None
        Torch intra-op threads during fit and prediction (set and restored);
        ``None`` leaves torch's setting alone.
    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights, minibatch order and random starts.
    verbose : int, default=0
        Show a tqdm progress bar over epochs.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of features seen during :term:`fit`.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`, when ``X`` has string column names.
    module_ : torch.nn.Module
        The trained network (logits out), in eval mode; pickles as CPU tensors.
    history_ : dict of list of float
        ``"loss"`` (mean training loss) and ``"train_accuracy"`` (on the
        adversarial minibatches) per epoch.
    attack_surrogates_ : tuple of str
        ``("logits",)``: the scores :meth:`attack_module` exposes.

    See Also
    --------
    CARSOClassifier : Adds a representation-conditional purifier on top.
    robust_accuracy : Accuracy under adaptive attack.

    References
    ----------
    .. [1] A. Madry, A. Makelov, L. Schmidt, D. Tsipras, A. Vladu, "Towards Deep
       Learning Models Resistant to Adversarial Attacks", ICLR 2018.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skrepgeom.robustness import AdversarialTrainingClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = AdversarialTrainingClassifier(
    ...     hidden_layer_sizes=(32,), eps=0.1, max_epochs=3, random_state=0
    ... ).fit(X[:300] / 16, y[:300])
    >>> clf.predict_proba(X[:2] / 16).shape
    (2, 10)
    """

    _parameter_constraints: dict = {
        "architecture": [StrOptions({"mlp", "cnn"}), callable],
        "hidden_layer_sizes": ["array-like"],
        "image_shape": ["array-like", None],
        "eps": [Interval(Real, 0, None, closed="left")],
        "norm": [StrOptions({"linf", "l2"})],
        "attack_steps": [Interval(Integral, 1, None, closed="left")],
        "attack_step_size": [Interval(Real, 0, None, closed="neither"), None],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "clip_range": ["array-like", None],
        **TORCH_PARAMETER_CONSTRAINTS,
    }

    def __init__(
        self,
        *,
        architecture="mlp",
        hidden_layer_sizes=(256, 256),
        image_shape=None,
        eps=0.2,
        norm="linf",
        attack_steps=10,
        attack_step_size=None,
        max_epochs=60,
        batch_size=128,
        learning_rate=1e-3,
        clip_range=(0.0, 1.0),
        device="cpu",
        dtype="float32",
        n_jobs=None,
        random_state=None,
        verbose=0,
    ):
        self.architecture = architecture
        self.hidden_layer_sizes = hidden_layer_sizes
        self.image_shape = image_shape
        self.eps = eps
        self.norm = norm
        self.attack_steps = attack_steps
        self.attack_step_size = attack_step_size
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.clip_range = clip_range
        self.device = device
        self.dtype = dtype
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    def _build(self, n_features, n_classes):
        image_shape = check_image_shape(self.image_shape, n_features)
        if self.architecture == "cnn":
            if image_shape is None:
                raise ValueError(
                    'architecture="cnn" needs image_shape=(channels, height, width).'
                )
            return lambda: _cnn(image_shape, n_classes)
        if self.architecture == "mlp":
            sizes = [int(s) for s in np.atleast_1d(self.hidden_layer_sizes)]
            if not sizes or min(sizes) < 1:
                raise ValueError(
                    "hidden_layer_sizes must be positive integers, got "
                    f"hidden_layer_sizes={self.hidden_layer_sizes!r}."
                )
            return lambda: _mlp(n_features, sizes, n_classes)
        input_shape = image_shape if image_shape is not None else (n_features,)
        return lambda: self.architecture(input_shape, n_classes)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Train the network on PGD adversarial minibatches.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs, inside ``clip_range``.
        y : array-like of shape (n_samples,)
            Class labels (at least two classes).

        Returns
        -------
        self : AdversarialTrainingClassifier
            The fitted classifier.
        """
        X = validate_inputs(self, X, reset=True)
        self.classes_, y_index = check_targets(self, X, y)
        n_classes = self.classes_.shape[0]
        device, dtype = resolve_device(self.device), resolve_dtype(self.dtype)
        clip = check_clip_range(self.clip_range)
        rng = check_random_state(self.random_state)
        builder = self._build(X.shape[1], n_classes)
        with torch_threads(self.n_jobs):
            module = build_seeded(builder, seed_from_random_state(rng)).to(device, dtype)
            check_logit_module(module, X.shape[1], n_classes, device, dtype)
            generator = make_generator(rng, "cpu")
            self.history_ = self._train(module, X, y_index, clip, generator, device, dtype)
        module.eval()
        self.module_ = module
        self.attack_surrogates_ = ("logits",)
        return self

    def _train(self, module, X, y_index, clip, generator, device, dtype):
        X_t = to_tensor(X, dtype=dtype, device=device)
        y_t = torch.as_tensor(y_index, dtype=torch.long, device=device)
        optimizer = make_adam(module.parameters(), self.learning_rate)
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=self.max_epochs)
        step_size = self.attack_step_size or 2.5 * self.eps / self.attack_steps
        history = {"loss": [], "train_accuracy": []}
        n = X_t.shape[0]
        bar = progress_bar(self.verbose, self.max_epochs, type(self).__name__)
        for _ in range(self.max_epochs):
            total_loss = torch.zeros((), device=device, dtype=torch.float64)
            correct = torch.zeros((), device=device, dtype=torch.long)
            for rows in torch.randperm(n, generator=generator).to(device).split(self.batch_size):
                x, target = X_t[rows], y_t[rows]
                if self.eps > 0:
                    module.eval()
                    x = pgd_tensor(module, x, target, eps=self.eps, norm=self.norm,
                                   steps=self.attack_steps, step_size=step_size,
                                   random_start=True, eot_samples=1, loss="ce", clip=clip,
                                   generator=generator)
                    module.train()
                logits = module(x)
                loss = torch.nn.functional.cross_entropy(logits, target)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                with torch.no_grad():
                    total_loss += loss.detach() * rows.numel()
                    correct += (logits.argmax(dim=1) == target).sum()
            scheduler.step()
            history["loss"].append(float(total_loss) / n)
            history["train_accuracy"].append(float(correct) / n)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{history['loss'][-1]:.4f}")
        if bar is not None:
            bar.close()
        return history

    def decision_function(self, X):
        """Logits of the network.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs inside ``clip_range``.

        Returns
        -------
        logits : ndarray of shape (n_samples, n_classes) or (n_samples,)
            For two classes, as in scikit-learn, the difference ``l_1 - l_0``.
        """
        return binary_scores(self._logits(X))

    def _logits(self, X):
        check_is_fitted(self)
        X = validate_inputs(self, X, reset=False)
        device, dtype = module_device_dtype(self.module_)
        with torch_threads(self.n_jobs):
            return module_scores(self.module_, X, device=device, dtype=dtype)

    def predict_proba(self, X):
        """Class probabilities (softmax of the logits).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs inside ``clip_range``.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        return softmax(self._logits(X).astype(np.float64), axis=1)

    def predict(self, X):
        """Most probable class.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs inside ``clip_range``.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        scores = self._logits(X)
        return self.classes_[np.argmax(scores, axis=1)]

    def attack_module(self, surrogate=None, *, random_state=None):
        """The network as a differentiable module for attacks (logits out).

        Parameters
        ----------
        surrogate : {"logits"} or None, default=None
            The only surrogate of a deterministic classifier.
        random_state : None
            Unused (the module is deterministic); accepted for a common interface.

        Returns
        -------
        module : torch.nn.Module
            ``module_`` in eval mode.
        """
        check_is_fitted(self)
        if surrogate not in (None, "logits"):
            raise ValueError(f"surrogate must be 'logits' or None, got surrogate={surrogate!r}.")
        return self.module_.eval()

    def __getstate__(self):
        state = super().__getstate__()
        if "module_" in state:
            state = dict(state)
            state["module_"] = copy.deepcopy(state["module_"]).cpu()
        return state
