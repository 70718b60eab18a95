"""Forward-Forward training (Hinton 2022) as a scikit-learn classifier.

The network, its goodness and the training loops live in ``_ff_net``; this module
holds the estimator: parameters, input checks, threads, the label value, the
aggregation of per-layer goodness into class scores, and the fitted state.
"""

import copy
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Hidden, Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_feature_names_in,
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
)

from skrepgeom.neural_network._ff_net import (
    GOODNESS,
    FFNet,
    train_backprop,
    train_backprop_ff,
    train_greedy,
)
from skrepgeom.utils._parallel import check_n_jobs, effective_n_threads
from skrepgeom.utils._torch import (
    TORCH_PARAMETER_CONSTRAINTS,
    make_generator,
    resolve_device,
    resolve_dtype,
    to_numpy,
    to_tensor,
    torch_threads,
)
from skrepgeom.utils._validation import validate_float_data

__all__ = ["ForwardForwardClassifier"]

# Under n_jobs=None, networks whose layers are all at most this wide run on one torch
# thread: their matmuls are too small to amortise the synchronisation of several
# threads. Measured by asv_bench/compare/neural_network.py ("threads" section).
_SMALL_LAYER = 256
# A loss that changes by less than this (relative) over the last epochs has stopped
# moving: float32 sums of the same batches in another order differ by ~1e-7.
_STUCK_RTOL = 1e-5
_STUCK_EPOCHS = 3


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
    label_value : {"auto", "max"} or float, default="auto"
        Value written at the label's position. ``"auto"``: the root mean square of
        the training entries, ``sqrt(mean(X**2))`` (1.0 for an all-zero ``X``), so
        that the label weighs like one typical feature when the layer normalises
        its input, and the network is unchanged when ``X`` is multiplied by a
        constant; one outlying entry barely moves it. ``"max"``: the maximum of the
        training ``X``, the paper's choice for MNIST, which after a
        ``StandardScaler`` can be one outlier 30 times larger than the rest and then
        drowns the data. A fixed value keeps predictions independent of how rows
        are batched (the paper's code takes the maximum of each batch).
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
    feature_layer : int or "all", default=-1
        Layer whose activations :meth:`transform` returns (``"all"``: all layers,
        concatenated).
    max_epochs : int, default=300
        Epochs per layer (``"greedy"``) or in total (backprop modes).
    batch_size : int, default=1024
        Minibatch size (positives; as many negatives go with them).
    learning_rate : float, default=0.01
        Adam step size (the paper uses 0.01 for FF and 1e-3 for backprop). A loss
        that becomes NaN or infinite stops ``fit`` with a ``ValueError``; a loss that
        stops moving, or a layer silent on every training row, gives a
        :class:`~sklearn.exceptions.ConvergenceWarning`.
    device : {"cpu", "cuda", "auto"} or torch.device, default="cpu"
        Where to train; ``"auto"`` picks CUDA when available.
    dtype : {"float32", "float64"}, default="float32"
        Precision of the network and of the outputs.
    n_jobs : int, default=None
        Drives one pool: **torch's intra-op threads** during ``fit``, prediction and
        ``transform`` (set, then restored). No joblib workers; BLAS and Numba are
        not touched. ``k`` uses ``k`` threads, ``-1`` all cores, ``-k`` all but
        ``k - 1``. ``None`` means the ``n_jobs`` of an enclosing
        ``joblib.parallel_config`` when there is one; otherwise one thread when
        every layer has at most 256 units (their matmuls lose more to thread
        synchronisation than several threads gain; measured in
        ``asv_bench/compare/neural_network.py``) and torch's current setting for
        wider networks.
    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights, the minibatch order and the negative labels.
    verbose : int, default=0
        Show a tqdm progress bar per layer with the current loss.
    transform_layer : int or "all"
        Deprecated alias of ``feature_layer``; accepted with a ``FutureWarning``
        until version 0.2.

        .. deprecated:: 0.1
           Use ``feature_layer``: the old name read like the ``transform_layers``
           method.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of features seen during :term:`fit`.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`, when ``X`` has string column names.
    module_ : torch.nn.Module
        The fitted network: ``module_.layers`` (``torch.nn.Linear``), ``module_.head``
        (``training="backprop"`` only) and the label embedding it was trained with.
        It stays on ``device`` after ``fit``; a pickled classifier holds it on the
        CPU, and an unpickled one predicts on the CPU.
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
    >>> clf.transform(X[:2]).shape
    (2, 32)
    """

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like"],
        "activation": [StrOptions({"relu", "sigmoid"})],
        "goodness": [StrOptions(set(GOODNESS))],
        "threshold": [Interval(Real, 0, None, closed="neither")],
        "label_embedding": [StrOptions({"concat", "overwrite"})],
        "label_value": [StrOptions({"auto", "max"}), Interval(Real, None, None, closed="neither")],
        "negatives": [StrOptions({"random_wrong", "hard"})],
        "training": [StrOptions({"greedy", "backprop_ff", "backprop"})],
        "aggregation": [StrOptions({"softmax_sum", "sum"})],
        "skip_first_layer": ["boolean"],
        "feature_layer": [Interval(Integral, None, None, closed="neither"), StrOptions({"all"})],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        **TORCH_PARAMETER_CONSTRAINTS,
        "transform_layer": [
            Interval(Integral, None, None, closed="neither"),
            StrOptions({"all"}),
            Hidden(StrOptions({"deprecated"})),
        ],
    }

    def __init__(
        self,
        *,
        hidden_layer_sizes=(500, 500, 500),
        activation="relu",
        goodness="l2",
        threshold=3.0,
        label_embedding="concat",
        label_value="auto",
        negatives="random_wrong",
        training="greedy",
        aggregation="softmax_sum",
        skip_first_layer=False,
        feature_layer=-1,
        max_epochs=300,
        batch_size=1024,
        learning_rate=0.01,
        device="cpu",
        dtype="float32",
        n_jobs=None,
        random_state=None,
        verbose=0,
        transform_layer="deprecated",
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
        self.feature_layer = feature_layer
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.device = device
        self.dtype = dtype
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.transform_layer = transform_layer

    # ------------------------------------------------------------------ helpers
    def _layer_sizes(self):
        sizes = np.asarray(self.hidden_layer_sizes).ravel()
        if sizes.size == 0:
            raise ValueError("hidden_layer_sizes must contain at least one layer, got ().")
        if not np.issubdtype(sizes.dtype, np.integer) or np.any(sizes < 1):
            raise ValueError(
                "hidden_layer_sizes must be positive integers, got "
                f"hidden_layer_sizes={self.hidden_layer_sizes!r}."
            )
        return [int(size) for size in sizes]

    def _n_threads(self, sizes):
        """Torch threads for the one ``n_jobs`` rule, with the small-layer heuristic."""
        n_threads = effective_n_threads(self.n_jobs)
        if n_threads is None and max(sizes) <= _SMALL_LAYER:
            return 1
        return n_threads

    def _threads(self):
        return torch_threads(self._n_threads(self._layer_sizes()))

    def _feature_layer(self):
        """``feature_layer``, or the deprecated ``transform_layer`` when that was set."""
        if self.transform_layer == "deprecated":
            return self.feature_layer
        if self.feature_layer != -1:
            raise ValueError(
                "Set only feature_layer: transform_layer is its deprecated alias, got "
                f"feature_layer={self.feature_layer!r} and "
                f"transform_layer={self.transform_layer!r}."
            )
        warnings.warn(
            "transform_layer was renamed feature_layer in 0.1 and will be removed in 0.2; "
            "use feature_layer.",
            FutureWarning,
            stacklevel=3,
        )
        return self.transform_layer

    def _check_feature_layer(self, n_layers):
        layer = self._feature_layer()
        if layer == "all":
            return layer
        if not -n_layers <= layer < n_layers:
            raise ValueError(
                f"feature_layer={layer} is out of range for a network of {n_layers} "
                f"layer(s); use an index in [{-n_layers}, {n_layers - 1}] or 'all'."
            )
        return layer

    def _label_value(self, X):
        if self.label_value == "max":
            return float(X.max())
        if self.label_value == "auto":
            rms = float(np.sqrt(np.mean(np.square(X, dtype=np.float64))))
            return rms if rms > 0 else 1.0
        return float(self.label_value)

    def _to_net(self, X):
        if not X.flags.writeable:  # torch warns on read-only arrays
            X = X.copy()
        parameter = next(self.module_.parameters())
        return to_tensor(X, dtype=parameter.dtype, device=parameter.device)

    def _progress(self, desc):
        from tqdm.auto import tqdm

        return tqdm(total=self.max_epochs, desc=desc, disable=not self.verbose, leave=True)

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
        check_n_jobs(self.n_jobs)
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
        self._check_feature_layer(n_layers)
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
        self.label_value_ = self._label_value(X)
        self.n_layers_ = n_layers

        with torch_threads(self._n_threads(sizes)):
            generator = make_generator(rng, "cpu")
            net = FFNet(
                X.shape[1],
                sizes,
                n_classes=n_classes,
                label_embedding=None if self.training == "backprop" else self.label_embedding,
                label_value=self.label_value_,
                activation=self.activation,
                goodness=self.goodness,
                generator=generator,
                dtype=dtype,
            ).to(device)
            if not X.flags.writeable:  # torch warns on read-only arrays
                X = X.copy()
            X_t = to_tensor(X, dtype=dtype, device=device)
            y_t = torch.as_tensor(y_index, device=device)
            # One wrong label per sample, uniform over the other classes.
            offsets = rng.randint(1, n_classes, size=X.shape[0])
            y_neg = torch.as_tensor((y_index + offsets) % n_classes, device=device)
            common = dict(
                max_epochs=self.max_epochs,
                batch_size=self.batch_size,
                learning_rate=self.learning_rate,
                generator=generator,
                progress=self._progress,
            )
            if self.training == "backprop":
                self.loss_curve_ = train_backprop(net, X_t, y_t, **common)
                self.goodness_pos_curve_ = self.goodness_neg_curve_ = None
            else:
                trainer = train_greedy if self.training == "greedy" else train_backprop_ff
                self.loss_curve_, self.goodness_pos_curve_, self.goodness_neg_curve_ = trainer(
                    net,
                    X_t,
                    y_t,
                    y_neg,
                    hard_negatives=self.negatives == "hard",
                    threshold=self.threshold,
                    **common,
                )
            net.eval()
            for parameter in net.parameters():
                parameter.requires_grad_(False)
        self.module_ = net
        self.n_iter_ = self.max_epochs
        self._warn_if_stuck()
        return self

    def _warn_if_stuck(self):
        """ConvergenceWarning when a loss has stopped moving or a layer is silent."""
        problems = []
        greedy = self.training == "greedy"
        for index, curve in enumerate(self.loss_curve_):
            where = f"layer {index}" if greedy else "the network"
            tail = curve[-_STUCK_EPOCHS:]
            if len(tail) >= 2 and max(tail) - min(tail) <= _STUCK_RTOL * abs(tail[-1]):
                problems.append(
                    f"the loss of {where} did not move over its last {len(tail)} epochs "
                    f"(stays at {tail[-1]:.6g})"
                )
        if self.goodness_pos_curve_ is not None:
            for index, (g_pos, g_neg) in enumerate(
                zip(self.goodness_pos_curve_, self.goodness_neg_curve_)
            ):
                if g_pos[-1] == 0 and g_neg[-1] == 0:
                    problems.append(f"layer {index} is silent on every training row")
        if problems:
            warnings.warn(
                f"{type(self).__name__} did not learn: {'; '.join(problems)}. "
                f"learning_rate={self.learning_rate!r} is probably too large (units die) "
                "or too small (weights do not change).",
                ConvergenceWarning,
                stacklevel=3,
            )

    # ---------------------------------------------------------------- predict
    def _validate_for_predict(self, X):
        check_is_fitted(self)
        return validate_float_data(self, X, reset=False)

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
            return to_numpy(self.module_.goodness_all_classes(self._to_net(X)))

    def _class_scores(self, X):
        """(n, n_classes) tensor whose rows sum to 1 and whose argmax is the prediction.

        ``X`` is already validated.
        """
        with self._threads(), torch.inference_mode():
            X_t = self._to_net(X)
            if self.training == "backprop":
                return torch.softmax(self.module_.logits(X_t), dim=1)
            g = self.module_.goodness_all_classes(X_t)
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
        return to_numpy(self._class_scores(self._validate_for_predict(X)))

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
        scores = self._class_scores(self._validate_for_predict(X))
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
                X_t = self.module_.embed(X_t, torch.as_tensor(y_index, device=X_t.device))
            return [to_numpy(out) for out in self.module_.activations(X_t)]

    def transform(self, X):
        """Activations of ``feature_layer`` with the predicted label embedded.

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
        layer = self._check_feature_layer(self.n_layers_)
        layers = self.transform_layers(X)
        if layer == "all":
            return np.hstack(layers)
        return layers[layer]

    def get_feature_names_out(self, input_features=None):
        """Names of the units :meth:`transform` returns.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Only checked against the names seen in :meth:`fit`; the outputs are
            units, not input features.

        Returns
        -------
        feature_names_out : ndarray of str objects
            ``"forwardforwardclassifier_layer<l>_unit<j>"`` for unit ``j`` of layer
            ``l`` (layers counted from 0), for the layer(s) of ``feature_layer``.
        """
        check_is_fitted(self)
        _check_feature_names_in(self, input_features, generate_names=False)
        layer = self._check_feature_layer(self.n_layers_)
        sizes = [linear.out_features for linear in self.module_.layers]
        indices = range(self.n_layers_) if layer == "all" else [range(self.n_layers_)[layer]]
        prefix = type(self).__name__.lower()
        return np.asarray(
            [f"{prefix}_layer{i}_unit{j}" for i in indices for j in range(sizes[i])], dtype=object
        )

    # -------------------------------------------------------------- pickling
    def __getstate__(self):
        state = super().__getstate__()
        if "module_" in state:
            # A copy: pickling must not move the live estimator's network.
            state = dict(state)
            state["module_"] = copy.deepcopy(state["module_"]).cpu()
        return state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = [self.dtype]
        tags.non_deterministic = self.device != "cpu" and str(self.device) != "cpu"
        return tags
