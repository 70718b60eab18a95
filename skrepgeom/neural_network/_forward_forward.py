"""Forward-Forward training (Hinton 2022) as a scikit-learn classifier.

The recipe follows the code of *Emergent representations in networks trained with
the Forward-Forward algorithm* (Tosato et al.): every layer normalises its input to
unit norm (in the p of the goodness), the goodness is the L2 *norm* of the layer's
output, the loss is ``softplus(theta - g_pos) + softplus(g_neg - theta)`` and layers
are trained greedily, one after the other, with no gradient crossing a layer.
"""

import copy
from numbers import Integral, Real

import numpy as np
import torch
from torch.autograd.function import once_differentiable
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_consistent_length, check_is_fitted, column_or_1d

from skrepgeom.utils._torch import (
    make_generator,
    resolve_device,
    resolve_dtype,
    to_numpy,
    to_tensor,
    torch_threads,
)
from skrepgeom.utils._validation import validate_float_data

__all__ = ["ForwardForwardClassifier"]

_GOODNESS = ("l2", "sumsq", "l1", "linf")
_NORM_P = {"l2": 2.0, "sumsq": 2.0, "l1": 1.0, "linf": float("inf")}
_EPS = 1e-4  # added to the input norm, as in the paper's code
# Layers at most this wide are trained on one thread when n_jobs=None: their matmuls
# are too small to amortise the synchronisation of several threads.
_SMALL_LAYER = 256


def _chunk_rows(device):
    """Rows (samples x classes) per chunk of the batched inference passes.

    On the CPU a chunk's activations should stay in cache (1024 x 500 float32 is
    2 MB): measured on digits 3 x 500, 10k x 10 rows, 1 thread, 1024-row chunks
    predicted ~25 % faster than 8192-row ones. A GPU wants large launches.
    """
    return 1024 if device.type == "cpu" else 65536


def _normalize(x, p):
    return x / (torch.linalg.vector_norm(x, ord=p, dim=1, keepdim=True) + _EPS)


def _activate(z, activation, inplace=False):
    if inplace:
        return z.clamp_min_(0) if activation == "relu" else z.sigmoid_()
    return torch.relu(z) if activation == "relu" else torch.sigmoid(z)


def _goodness(h, kind):
    if kind == "l2":
        return torch.linalg.vector_norm(h, ord=2, dim=1)
    if kind == "sumsq":
        return (h * h).sum(dim=1)
    if kind == "l1":
        return h.abs().sum(dim=1)
    return h.abs().amax(dim=1)


def _ff_loss(g_pos, g_neg, threshold):
    """Mean over the concatenated batch of softplus(theta - g_pos), softplus(g_neg - theta)."""
    return torch.nn.functional.softplus(torch.cat([threshold - g_pos, g_neg - threshold])).mean()


# Goodness kinds whose ReLU-layer gradient has a closed form in the layer output h:
# autograd's ReLU -> norm chain costs several elementwise passes (mask, divide,
# masked fill, threshold backward) that rival the matmuls for 500-unit layers.
_FUSED_GOODNESS = ("l2", "sumsq", "l1")


class _ReluGoodness(torch.autograd.Function):
    """Goodness of ``relu(x_hat @ W.T + b)`` with a one-pass backward.

    For h = relu(z): d||h||_2/dz = h/||h||_2 (h is already 0 where z <= 0, so no
    mask is needed; 0 when h = 0, as autograd gives), d(sum h^2)/dz = 2h and
    d(sum h)/dz = [z > 0]. ``x_hat`` is a constant (the layer's normalised input).
    """

    @staticmethod
    def forward(ctx, x_hat, weight, bias, kind):
        h = torch.addmm(bias, x_hat, weight.t()).clamp_min_(0)
        if kind == "l2":
            g = torch.linalg.vector_norm(h, ord=2, dim=1)
        elif kind == "sumsq":
            g = torch.linalg.vector_norm(h, ord=2, dim=1).square_()
        else:
            g = h.sum(dim=1)
        ctx.save_for_backward(x_hat, h, g)
        ctx.kind = kind
        return g

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_g):
        # x_hat is a detached layer input in greedy training: no gradient for it
        assert not ctx.needs_input_grad[0]
        x_hat, h, g = ctx.saved_tensors
        if ctx.kind == "l2":
            scale = torch.where(g > 0, grad_g / g, torch.zeros_like(g))
            grad_z = h * scale[:, None]
        elif ctx.kind == "sumsq":
            grad_z = h * (2.0 * grad_g)[:, None]
        else:
            grad_z = (h > 0).to(h.dtype).mul_(grad_g[:, None])
        return None, grad_z.t() @ x_hat, grad_z.sum(dim=0), None


class _FFNet(torch.nn.Module):
    """Stack of Linear layers; ``normalize`` puts every layer input on the unit sphere."""

    def __init__(self, sizes, *, n_outputs, activation, goodness, normalize, generator, dtype):
        super().__init__()
        self.activation = activation
        self.goodness = goodness
        self.p = _NORM_P[goodness]
        self.normalize = normalize
        self.layers = torch.nn.ModuleList(
            _linear(sizes[i], sizes[i + 1], generator, dtype) for i in range(len(sizes) - 1)
        )
        self.head = _linear(sizes[-1], n_outputs, generator, dtype) if n_outputs else None

    def layer(self, index, x):
        if self.normalize:
            x = _normalize(x, self.p)
        return _activate(self.layers[index](x), self.activation)

    def layer_inplace(self, index, x):
        """``layer`` for inference, overwriting ``x``: no temporaries of x's size.

        Large temporaries are fresh pages for the allocator (page faults), which
        costs as much as the elementwise work for 500-unit layers.
        """
        if self.normalize:
            x = x.div_(torch.linalg.vector_norm(x, ord=self.p, dim=1, keepdim=True) + _EPS)
        linear = self.layers[index]
        z = torch.addmm(linear.bias, x, linear.weight.t())
        return _activate(z, self.activation, inplace=True)

    def goodness_of_normalized(self, index, x_hat):
        """Goodness of layer ``index`` on an input already normalised (training path)."""
        linear = self.layers[index]
        if self.activation == "relu" and self.goodness in _FUSED_GOODNESS:
            return _ReluGoodness.apply(x_hat, linear.weight, linear.bias, self.goodness)
        return _goodness(_activate(linear(x_hat), self.activation), self.goodness)

    def forward(self, x):
        """All hidden activations (list) of ``x``."""
        outputs = []
        for index in range(len(self.layers)):
            x = self.layer(index, x)
            outputs.append(x)
        return outputs


def _linear(n_in, n_out, generator, dtype):
    # torch's default initialisation (U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight
    # and bias), drawn from our generator so that random_state decides it.
    # skip_init: torch's own initialisation would draw from (and advance) the
    # global RNG before being overwritten.
    linear = torch.nn.utils.skip_init(torch.nn.Linear, n_in, n_out, dtype=dtype)
    bound = 1.0 / np.sqrt(n_in)
    with torch.no_grad():
        linear.weight.uniform_(-bound, bound, generator=generator)
        linear.bias.uniform_(-bound, bound, generator=generator)
    return linear


def _batches(n, batch_size, generator, device):
    permutation = torch.randperm(n, generator=generator).to(device)
    return [permutation[start : start + batch_size] for start in range(0, n, batch_size)]


def _train_layer(
    net,
    index,
    pos_in,
    neg_in,
    *,
    max_epochs,
    batch_size,
    learning_rate,
    threshold,
    generator,
    negatives_fn=None,
    progress=None,
):
    """Train layer ``index`` of ``net`` alone (greedy FF); earlier layers are untouched.

    ``pos_in``/``neg_in`` are the detached inputs of the layer; the same minibatch
    permutation indexes both. ``negatives_fn(epoch)``, when given, returns new
    negative inputs at the start of each epoch ("hard" negatives).

    Returns per-epoch mean loss, mean positive and mean negative goodness.
    """
    layer = net.layers[index]
    # fused: one multi-tensor kernel per step instead of a dozen per parameter
    optimizer = torch.optim.Adam(
        layer.parameters(), lr=learning_rate, fused=pos_in.device.type in ("cpu", "cuda")
    )
    n = pos_in.shape[0]

    def normalised(x):
        # The layer's input is fixed while it trains: normalise it once, not per batch.
        return _normalize(x, net.p) if net.normalize else x

    # Positives in rows [0, n), negatives in [n, 2n): one gather and one matmul per batch.
    both = torch.cat([normalised(pos_in), normalised(neg_in)])
    losses, g_pos_curve, g_neg_curve = [], [], []
    for epoch in range(max_epochs):
        if negatives_fn is not None:
            both[n:] = normalised(negatives_fn(epoch))
        # Accumulated on the device: no host synchronisation inside the epoch.
        total = both.new_zeros(3)
        for rows in _batches(n, batch_size, generator, pos_in.device):
            m = rows.shape[0]
            g = net.goodness_of_normalized(index, both[torch.cat([rows, rows + n])])
            g_pos, g_neg = g[:m], g[m:]
            loss = _ff_loss(g_pos, g_neg, threshold)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            with torch.no_grad():
                total += torch.stack([loss * m, g_pos.sum(), g_neg.sum()])
        loss_sum, g_pos_sum, g_neg_sum = (total / n).tolist()
        losses.append(loss_sum)
        g_pos_curve.append(g_pos_sum)
        g_neg_curve.append(g_neg_sum)
        if progress is not None:
            progress.update(1)
            progress.set_postfix(loss=f"{losses[-1]:.4f}")
    # Freeze: no gradient ever reaches this layer again.
    optimizer.zero_grad(set_to_none=True)
    for parameter in layer.parameters():
        parameter.requires_grad_(False)
    return losses, g_pos_curve, g_neg_curve


class ForwardForwardClassifier(ClassifierMixin, TransformerMixin, BaseEstimator):
    """Multi-layer network trained with the Forward-Forward algorithm.

    Each layer learns, locally, to give high *goodness* (a norm of its output) to
    **positive** inputs (a sample with its true label embedded) and low goodness to
    **negative** inputs (the sample with a wrong label). Prediction embeds every
    candidate label and picks the one the network finds best. The same class also
    trains the architecture end to end (``training="backprop_ff"``) and as a plain
    backpropagation classifier (``training="backprop"``), the baselines of the
    paper on emergent sparse ensembles [2]_.

    Read more in the :ref:`User Guide <neural_network>`.

    Parameters
    ----------
    hidden_layer_sizes : array-like of int, default=(500, 500, 500)
        Width of each layer (at least one layer, every width >= 1).
    activation : {"relu", "sigmoid"}, default="relu"
        Non-linearity of every layer.
    goodness : {"l2", "sumsq", "l1", "linf"}, default="l2"
        ``"l2"``: ``||h||_2`` (the paper's code); ``"sumsq"``: ``sum h**2`` (Hinton);
        ``"l1"``, ``"linf"``: the other norms. Layer inputs are normalised in the
        matching norm (p=2 for ``"l2"`` and ``"sumsq"``).
    threshold : float > 0, default=3.0
        The goodness ``theta`` separating positives from negatives.
    label_embedding : {"concat", "overwrite"}, default="concat"
        ``"overwrite"`` (the paper): the first ``n_classes`` features are set to 0 and
        feature ``label`` to the label value; needs ``n_features >= n_classes``.
        ``"concat"``: a one-hot block times the label value is appended (safe for
        tabular data, where the first features carry information).
    label_value : "max" or float, default="max"
        Value written at the label's position. ``"max"`` uses the maximum of the
        training ``X`` (the paper's code uses the max of each batch; a fixed value
        keeps predictions independent of how the rows are batched).
    negatives : {"random_wrong", "hard"}, default="random_wrong"
        ``"random_wrong"``: one wrong label per sample, uniform over the other
        classes, drawn once at the start of ``fit``. ``"hard"``: the wrong label of
        highest current goodness, recomputed every epoch (costs a pass over
        ``n_samples * n_classes`` rows per epoch and keeps those layer inputs in memory).
    training : {"greedy", "backprop_ff", "backprop"}, default="greedy"
        ``"greedy"``: Forward-Forward, layer after layer, each trained for
        ``max_epochs`` with its own Adam and then frozen. ``"backprop_ff"``: the
        same network and loss (the per-layer FF losses summed over layers), trained
        end to end. ``"backprop"``: the same hidden layers without label embedding or
        input normalisation, a linear head and cross-entropy.
    aggregation : {"softmax_sum", "sum"}, default="softmax_sum"
        How per-layer goodness becomes a class score: ``"softmax_sum"`` sums over
        layers the softmax over classes of each layer's goodness; ``"sum"`` sums
        the raw goodness.
    skip_first_layer : bool, default=False
        Leave layer 0 out of the aggregation (Hinton's choice); needs two layers.
    transform_layer : int or "all", default=-1
        Layer whose activations :meth:`transform` returns (``"all"``: all layers,
        concatenated).
    max_epochs : int, default=300
        Epochs per layer (``"greedy"``) or in total (backprop modes).
    batch_size : int, default=1024
        Minibatch size (positives; as many negatives go with them).
    learning_rate : float, default=0.01
        Adam step size (the paper uses 0.01 for FF and 1e-3 for backprop).
    device : {"cpu", "cuda", "auto"} or torch.device, default="cpu"
        Where to train; ``"auto"`` picks CUDA when available.
    dtype : {"float32", "float64"}, default="float32"
        Precision of the network and of the outputs.
    n_jobs : int, default=None
        Torch intra-op threads during ``fit`` and prediction (set and restored).
        ``None`` uses **one thread when every layer has at most 256 units** (small
        matmuls lose more to thread synchronisation than they gain: on a 2-core
        machine a 2 x 64 fit took 22.7 s with 2 threads and 1.4 s with 1) and
        torch's current setting otherwise. ``-1`` uses all cores.
    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights, the minibatch order and the negative labels.
    verbose : int, default=0
        Show a tqdm progress bar per layer with the current loss.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of features seen during :term:`fit`.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`, when ``X`` has string column names.
    n_layers_ : int
        Number of hidden layers.
    label_value_ : float
        Value used for the label embedding.
    loss_curve_ : list of list of float
        Mean loss per epoch, one list per layer (``"greedy"``) or a single list
        (backprop modes).
    goodness_pos_curve_, goodness_neg_curve_ : list of list of float or None
        Mean goodness of positive and negative rows per epoch and layer (``None``
        for ``training="backprop"``).
    n_iter_ : int
        Epochs run (per layer for ``"greedy"``).

    See Also
    --------
    hoyer_sparsity : Sparsity of the activations returned by :meth:`transform_layers`.
    ActivationWallDisplay : The paper's wall plot of the activations.

    Notes
    -----
    The fitted network is kept in a private attribute and pickles as CPU tensors;
    prediction runs where the network lives.

    References
    ----------
    .. [1] G. Hinton, "The Forward-Forward Algorithm: Some Preliminary
       Investigations", arXiv:2212.13345 (2022).
    .. [2] N. Tosato, L. Basile, E. Ballarin, G. de Alteriis, A. Cazzaniga, A. Ansuini,
       "Emergent representations in networks trained with the Forward-Forward
       algorithm", arXiv:2305.18353 (2023).

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skrepgeom.neural_network import ForwardForwardClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> clf = ForwardForwardClassifier(
    ...     hidden_layer_sizes=(32, 32), max_epochs=50, batch_size=32, random_state=0
    ... ).fit(X, y)
    >>> clf.goodness_scores(X[:2]).shape
    (2, 3, 2)
    >>> bool(clf.score(X, y) > 0.8)
    True
    """

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like"],
        "activation": [StrOptions({"relu", "sigmoid"})],
        "goodness": [StrOptions(set(_GOODNESS))],
        "threshold": [Interval(Real, 0, None, closed="neither")],
        "label_embedding": [StrOptions({"concat", "overwrite"})],
        "label_value": [StrOptions({"max"}), Interval(Real, None, None, closed="neither")],
        "negatives": [StrOptions({"random_wrong", "hard"})],
        "training": [StrOptions({"greedy", "backprop_ff", "backprop"})],
        "aggregation": [StrOptions({"softmax_sum", "sum"})],
        "skip_first_layer": ["boolean"],
        "transform_layer": [Interval(Integral, None, None, closed="neither"), StrOptions({"all"})],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "device": [str, torch.device],
        "dtype": [StrOptions({"float32", "float64"})],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        hidden_layer_sizes=(500, 500, 500),
        activation="relu",
        goodness="l2",
        threshold=3.0,
        label_embedding="concat",
        label_value="max",
        negatives="random_wrong",
        training="greedy",
        aggregation="softmax_sum",
        skip_first_layer=False,
        transform_layer=-1,
        max_epochs=300,
        batch_size=1024,
        learning_rate=0.01,
        device="cpu",
        dtype="float32",
        n_jobs=None,
        random_state=None,
        verbose=0,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.goodness = goodness
        self.threshold = threshold
        self.label_embedding = label_embedding
        self.label_value = label_value
        self.negatives = negatives
        self.training = training
        self.aggregation = aggregation
        self.skip_first_layer = skip_first_layer
        self.transform_layer = transform_layer
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.device = device
        self.dtype = dtype
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ helpers
    def _layer_sizes(self):
        sizes = np.asarray(self.hidden_layer_sizes).ravel() if not np.isscalar(
            self.hidden_layer_sizes
        ) else np.asarray([self.hidden_layer_sizes])
        if sizes.size == 0:
            raise ValueError("hidden_layer_sizes must contain at least one layer, got ().")
        if not np.issubdtype(sizes.dtype, np.integer) or np.any(sizes < 1):
            raise ValueError(
                "hidden_layer_sizes must be positive integers, got "
                f"hidden_layer_sizes={self.hidden_layer_sizes!r}."
            )
        return [int(size) for size in sizes]

    def _effective_n_jobs(self, sizes):
        if self.n_jobs is not None:
            return self.n_jobs
        return 1 if max(sizes) <= _SMALL_LAYER else None

    def _check_transform_layer(self, n_layers):
        if self.transform_layer == "all":
            return
        if not -n_layers <= self.transform_layer < n_layers:
            raise ValueError(
                f"transform_layer={self.transform_layer} is out of range for a network "
                f"of {n_layers} layer(s); use an index in [{-n_layers}, {n_layers - 1}] or 'all'."
            )

    def _embed(self, X, labels):
        """Embed class indices ``labels`` (long tensor) into the rows of ``X``."""
        n_classes = self.classes_.shape[0]
        rows = torch.arange(X.shape[0], device=X.device)
        if self.label_embedding == "overwrite":
            Z = X.clone()
            Z[:, :n_classes] = 0
        else:
            Z = torch.cat([X, X.new_zeros((X.shape[0], n_classes))], dim=1)
            labels = labels + X.shape[1]
        Z[rows, labels] = self.label_value_
        return Z

    def _embed_all(self, X):
        """Every row of ``X`` with every class: (n * n_classes, d'), class fastest."""
        n_classes = self.classes_.shape[0]
        labels = torch.arange(n_classes, device=X.device).repeat(X.shape[0])
        return self._embed(X.repeat_interleave(n_classes, dim=0), labels)

    def _to_net(self, X):
        if not X.flags.writeable:  # torch warns on read-only arrays
            X = X.copy()
        parameter = next(self._net.parameters())
        return to_tensor(X, dtype=parameter.dtype, device=parameter.device)

    # ---------------------------------------------------------------------- fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Train the network.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data (standardise it first; the network's first step puts every
            row on the unit sphere).
        y : array-like of shape (n_samples,)
            Class labels (at least two classes).

        Returns
        -------
        self : ForwardForwardClassifier
            The fitted classifier.
        """
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        X = validate_float_data(self, X, reset=True)
        y = column_or_1d(y, warn=True)
        check_consistent_length(X, y)
        check_classification_targets(y)
        self.classes_, y_index = np.unique(y, return_inverse=True)
        n_classes = self.classes_.shape[0]
        if n_classes < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes in y; got 1 "
                f"class ({self.classes_[0]!r})."
            )
        sizes = self._layer_sizes()
        n_layers = len(sizes)
        self._check_transform_layer(n_layers)
        if self.skip_first_layer and n_layers < 2:
            raise ValueError("skip_first_layer=True needs at least 2 hidden layers.")
        if self.training != "backprop" and self.label_embedding == "overwrite":
            if X.shape[1] < n_classes:
                raise ValueError(
                    f'label_embedding="overwrite" writes the label into the first '
                    f"n_classes={n_classes} features, but X has only {X.shape[1]}; use "
                    'label_embedding="concat" to append the label instead.'
                )
        device = resolve_device(self.device)
        dtype = resolve_dtype(self.dtype)
        rng = check_random_state(self.random_state)
        self.label_value_ = float(X.max()) if self.label_value == "max" else float(self.label_value)
        self.n_layers_ = n_layers

        with torch_threads(self._effective_n_jobs(sizes)):
            generator = make_generator(rng, "cpu")
            if self.training == "backprop":
                n_in, n_outputs = X.shape[1], n_classes
            else:
                n_in = X.shape[1] + (n_classes if self.label_embedding == "concat" else 0)
                n_outputs = 0
            net = _FFNet(
                [n_in, *sizes],
                n_outputs=n_outputs,
                activation=self.activation,
                goodness=self.goodness,
                normalize=self.training != "backprop",
                generator=generator,
                dtype=dtype,
            ).to(device)
            self._net = net
            if not X.flags.writeable:  # torch warns on read-only arrays
                X = X.copy()
            X_t = to_tensor(X, dtype=dtype, device=device)
            y_t = torch.as_tensor(y_index, device=device)
            # One wrong label per sample, uniform over the other classes.
            offsets = rng.randint(1, n_classes, size=X.shape[0])
            y_neg = torch.as_tensor((y_index + offsets) % n_classes, device=device)
            if self.training == "greedy":
                self._fit_greedy(net, X_t, y_t, y_neg, generator)
            elif self.training == "backprop_ff":
                self._fit_backprop_ff(net, X_t, y_t, y_neg, generator)
            else:
                self._fit_backprop(net, X_t, y_t, generator)
            net.eval()
            for parameter in net.parameters():
                parameter.requires_grad_(False)
        self.n_iter_ = self.max_epochs
        return self

    def _progress(self, desc):
        from tqdm.auto import tqdm

        return tqdm(total=self.max_epochs, desc=desc, disable=not self.verbose, leave=True)

    def _fit_greedy(self, net, X, y, y_neg, generator):
        n, n_classes = X.shape[0], self.classes_.shape[0]
        pos_in, neg_in = self._embed(X, y), self._embed(X, y_neg)
        # For hard negatives: the layer input of every (sample, class) pair.
        all_in = self._embed_all(X) if self.negatives == "hard" else None
        rows = torch.arange(n, device=X.device)
        self.loss_curve_, self.goodness_pos_curve_, self.goodness_neg_curve_ = [], [], []
        for index in range(len(net.layers)):
            negatives_fn = None
            if all_in is not None:

                def negatives_fn(epoch, index=index, all_in=all_in):
                    with torch.no_grad():
                        g = self._chunked(lambda Z: _goodness(net.layer(index, Z), net.goodness), all_in)
                    g = g.reshape(n, n_classes)
                    g[rows, y] = -torch.inf
                    return all_in.reshape(n, n_classes, -1)[rows, g.argmax(dim=1)]

            with self._progress(f"FF layer {index}") as progress:
                losses, g_pos, g_neg = _train_layer(
                    net,
                    index,
                    pos_in,
                    neg_in,
                    max_epochs=self.max_epochs,
                    batch_size=self.batch_size,
                    learning_rate=self.learning_rate,
                    threshold=self.threshold,
                    generator=generator,
                    negatives_fn=negatives_fn,
                    progress=progress,
                )
            self.loss_curve_.append(losses)
            self.goodness_pos_curve_.append(g_pos)
            self.goodness_neg_curve_.append(g_neg)
            if index + 1 < len(net.layers):
                with torch.no_grad():
                    pos_in = net.layer(index, pos_in)
                    neg_in = net.layer(index, neg_in)
                    if all_in is not None:
                        all_in = self._chunked(lambda Z: net.layer(index, Z), all_in)

    @staticmethod
    def _chunked(fn, Z):
        rows = _chunk_rows(Z.device)
        return torch.cat([fn(Z[s : s + rows]) for s in range(0, Z.shape[0], rows)])

    def _fit_backprop_ff(self, net, X, y, y_neg, generator):
        n, n_classes = X.shape[0], self.classes_.shape[0]
        n_layers = len(net.layers)
        optimizer = torch.optim.Adam(net.parameters(), lr=self.learning_rate)
        pos_in = self._embed(X, y)
        neg_in = self._embed(X, y_neg)
        rows = torch.arange(n, device=X.device)
        self.loss_curve_ = [[]]
        self.goodness_pos_curve_ = [[] for _ in range(n_layers)]
        self.goodness_neg_curve_ = [[] for _ in range(n_layers)]
        with self._progress("backprop_ff") as progress:
            for _ in range(self.max_epochs):
                if self.negatives == "hard":
                    with torch.no_grad():
                        g = self._goodness_tensor(X, net).sum(dim=2)
                    g[rows, y] = -torch.inf
                    neg_in = self._embed(X, g.argmax(dim=1))
                total = 0.0
                g_pos_total = [0.0] * n_layers
                g_neg_total = [0.0] * n_layers
                for batch in _batches(n, self.batch_size, generator, X.device):
                    m = batch.shape[0]
                    outputs = net(torch.cat([pos_in[batch], neg_in[batch]]))
                    loss = 0.0
                    for index, out in enumerate(outputs):
                        g = _goodness(out, net.goodness)
                        loss = loss + _ff_loss(g[:m], g[m:], self.threshold)
                        g_pos_total[index] += g[:m].sum().item()
                        g_neg_total[index] += g[m:].sum().item()
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    optimizer.step()
                    total += loss.item() * m
                self.loss_curve_[0].append(total / n)
                for index in range(n_layers):
                    self.goodness_pos_curve_[index].append(g_pos_total[index] / n)
                    self.goodness_neg_curve_[index].append(g_neg_total[index] / n)
                progress.update(1)
                progress.set_postfix(loss=f"{total / n:.4f}")

    def _fit_backprop(self, net, X, y, generator):
        n = X.shape[0]
        optimizer = torch.optim.Adam(net.parameters(), lr=self.learning_rate)
        self.loss_curve_ = [[]]
        self.goodness_pos_curve_ = self.goodness_neg_curve_ = None
        with self._progress("backprop") as progress:
            for _ in range(self.max_epochs):
                total = 0.0
                for batch in _batches(n, self.batch_size, generator, X.device):
                    logits = net.head(net(X[batch])[-1])
                    loss = torch.nn.functional.cross_entropy(logits, y[batch])
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    optimizer.step()
                    total += loss.item() * batch.shape[0]
                self.loss_curve_[0].append(total / n)
                progress.update(1)
                progress.set_postfix(loss=f"{total / n:.4f}")

    # ---------------------------------------------------------------- predict
    def _first_layer_all_classes(self, X, net):
        """Pre-activation of layer 0 for every (sample, class) pair: (n * n_classes, h).

        The embedded rows of one sample differ only in the label slot, and their norm
        ``||(x_data, label_value_)||_p`` does not depend on the class; so the data part
        goes through the weights once per sample and each class adds one weight
        column: ``(W x_data + v W[:, j_c]) / (||.|| + eps) + b``. This does 1/n_classes
        of the first layer's multiply-adds of the plain per-class forward.
        """
        n_classes = self.classes_.shape[0]
        linear = net.layers[0]
        if self.label_embedding == "overwrite":
            data = X.clone()
            data[:, :n_classes] = 0
            label_columns = linear.weight[:, :n_classes]
            data_weight = linear.weight
        else:
            data = X
            label_columns = linear.weight[:, X.shape[1] :]
            data_weight = linear.weight[:, : X.shape[1]]
        value = abs(self.label_value_)
        if net.p == 2:
            norm = torch.sqrt(torch.linalg.vector_norm(data, ord=2, dim=1).square() + value**2)
        elif net.p == 1:
            norm = torch.linalg.vector_norm(data, ord=1, dim=1) + value
        else:
            norm = torch.linalg.vector_norm(data, ord=float("inf"), dim=1).clamp_min(value)
        scale = 1.0 / (norm + _EPS)
        # (n, h) and (n_classes, h): the only n * n_classes * h pass is the addcmul.
        shared = torch.addcmul(linear.bias, data @ data_weight.t(), scale[:, None])
        per_class = self.label_value_ * label_columns.t()
        z = torch.addcmul(shared[:, None, :], scale[:, None, None], per_class[None, :, :])
        return z.reshape(X.shape[0] * n_classes, -1)

    def _goodness_tensor(self, X, net):
        """(n, n_classes, n_layers) goodness, one batched pass over n * n_classes rows."""
        n_classes = self.classes_.shape[0]
        per_chunk = max(1, _chunk_rows(X.device) // n_classes)
        blocks = []
        for start in range(0, X.shape[0], per_chunk):
            # Only the label-embedding modes get here, and they all normalise.
            z = self._first_layer_all_classes(X[start : start + per_chunk], net)
            h = _activate(z, net.activation, inplace=True)
            g = [_goodness(h, net.goodness)]
            for index in range(1, len(net.layers)):
                h = net.layer_inplace(index, h)
                g.append(_goodness(h, net.goodness))
            blocks.append(torch.stack(g, dim=1).reshape(-1, n_classes, len(g)))
        return torch.cat(blocks)

    def _validate_for_predict(self, X):
        check_is_fitted(self)
        return validate_float_data(self, X, reset=False)

    def _threads(self):
        return torch_threads(self._effective_n_jobs(self._layer_sizes()))

    def goodness_scores(self, X):
        """Goodness of every layer for every candidate label.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        scores : ndarray of shape (n_samples, n_classes, n_layers)
            ``scores[i, c, l]``: goodness of layer ``l`` on sample ``i`` with class
            ``classes_[c]`` embedded.
        """
        X = self._validate_for_predict(X)
        if self.training == "backprop":
            raise ValueError(
                'goodness_scores is undefined for training="backprop", which embeds no label.'
            )
        with self._threads(), torch.inference_mode():
            return to_numpy(self._goodness_tensor(self._to_net(X), self._net))

    def _class_scores(self, X):
        """(n, n_classes) tensor whose rows sum to 1 and whose argmax is the prediction."""
        X = self._validate_for_predict(X)
        with self._threads(), torch.inference_mode():
            X_t = self._to_net(X)
            if self.training == "backprop":
                return torch.softmax(self._net.head(self._net(X_t)[-1]), dim=1)
            g = self._goodness_tensor(X_t, self._net)
            if self.skip_first_layer:
                g = g[:, :, 1:]
            if self.aggregation == "softmax_sum":
                return torch.softmax(g, dim=1).sum(dim=2) / g.shape[2]
            return torch.softmax(g.sum(dim=2), dim=1)

    def predict_proba(self, X):
        """Class scores normalised to sum to 1.

        For ``aggregation="softmax_sum"`` the mean over layers of the per-layer
        softmax of the goodness; for ``"sum"`` the softmax of the summed goodness;
        for ``training="backprop"`` the softmax of the head's logits.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Rows sum to 1; columns in the order of ``classes_``.
        """
        return to_numpy(self._class_scores(X))

    def predict(self, X):
        """Class of highest aggregated goodness.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted labels.
        """
        scores = self._class_scores(X)
        return self.classes_[to_numpy(scores.argmax(dim=1))]

    def transform_layers(self, X, y=None):
        """Activations of every layer, with ``y`` (or the predicted label) embedded.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.
        y : array-like of shape (n_samples,), default=None
            Labels to embed (the paper's analysis uses the true labels); ``None``
            embeds the predicted ones. Ignored for ``training="backprop"``.

        Returns
        -------
        activations : list of ndarray of shape (n_samples, n_units_l)
            One array per layer.
        """
        X = self._validate_for_predict(X)
        if self.training != "backprop":
            if y is None:
                y_index = to_numpy(self._class_scores(X).argmax(dim=1))
            else:
                y = column_or_1d(y)
                check_consistent_length(X, y)
                unseen = np.setdiff1d(y, self.classes_)
                if unseen.size:
                    raise ValueError(
                        f"y contains labels not seen during fit: {unseen.tolist()[:10]}; "
                        f"known classes are {self.classes_.tolist()}."
                    )
                y_index = np.searchsorted(self.classes_, y)
        with self._threads(), torch.inference_mode():
            X_t = self._to_net(X)
            if self.training != "backprop":
                labels = torch.as_tensor(y_index, device=X_t.device)
                X_t = self._embed(X_t, labels)
            rows = _chunk_rows(X_t.device)
            outputs = [
                torch.cat(parts)
                for parts in zip(
                    *(self._net(X_t[s : s + rows]) for s in range(0, X_t.shape[0], rows))
                )
            ]
            return [to_numpy(out) for out in outputs]

    def transform(self, X):
        """Activations of ``transform_layer`` with the predicted label embedded.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_units)
            Activations of the chosen layer (all layers side by side for ``"all"``).
        """
        check_is_fitted(self)
        self._check_transform_layer(self.n_layers_)
        layers = self.transform_layers(X)
        if self.transform_layer == "all":
            return np.hstack(layers)
        return layers[self.transform_layer]

    # -------------------------------------------------------------- pickling
    def __getstate__(self):
        state = super().__getstate__()
        if "_net" in state:
            state = dict(state)
            net = copy.deepcopy(state["_net"]).cpu()
            state["_net"] = net
        return state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = [self.dtype]
        tags.non_deterministic = self.device != "cpu" and str(self.device) != "cpu"
        return tags
