"""The Forward-Forward network, its goodness and loss, and the three training loops.

The recipe follows the code of *Emergent representations in networks trained with
the Forward-Forward algorithm* (Tosato et al.): every layer normalises its input to
unit norm (in the p of the goodness), the goodness is the L2 *norm* of the layer's
output, the loss is ``softplus(theta - g_pos) + softplus(g_neg - theta)`` and layers
are trained greedily, one after the other, with no gradient crossing a layer.

Nothing here knows about scikit-learn: :class:`FFNet` holds the label embedding it
was built with, so a fitted network embeds, scores and predicts on its own.
"""

import functools
import math

import numpy as np
import torch
from torch.autograd.function import once_differentiable

__all__ = [
    "GOODNESS",
    "FFNet",
    "ReluGoodness",
    "chunk_rows",
    "ff_loss",
    "goodness_of",
    "train_backprop",
    "train_backprop_ff",
    "train_greedy",
    "train_layer",
]

GOODNESS = ("l2", "sumsq", "l1", "linf")
_NORM_P = {"l2": 2.0, "sumsq": 2.0, "l1": 1.0, "linf": float("inf")}
_EPS = 1e-4  # added to the input norm, as in the paper's code
# Goodness kinds whose ReLU-layer gradient has a closed form in the layer output h:
# autograd's ReLU -> norm chain costs several elementwise passes (mask, divide,
# masked fill, threshold backward) that rival the matmuls for 500-unit layers.
_FUSED_GOODNESS = ("l2", "sumsq", "l1")


def chunk_rows(device):
    """Rows (samples x classes) per chunk of the batched inference passes.

    On the CPU a chunk's activations should stay in cache (1024 x 500 float32 is
    2 MB): measured on digits 3 x 500, 10k x 10 rows, 1 thread, 1024-row chunks
    predicted ~25 % faster than 8192-row ones. A GPU wants large launches.
    """
    return 1024 if device.type == "cpu" else 65536


def _chunked(fn, Z):
    rows = chunk_rows(Z.device)
    return torch.cat([fn(Z[s : s + rows]) for s in range(0, Z.shape[0], rows)])


@functools.cache
def _onednn_runs():
    """Whether torch's oneDNN linear kernels run here and match ``torch.mm``.

    At one thread on an AVX-512 AMD EPYC, oneDNN's float32 ``x @ W.T`` for the
    products of batched inference (1024 rows, 500 x 500 weights, or fewer input
    columns when silent units are left out) measured 1.1-1.5x faster than torch's
    default BLAS (MKL); on Intel CPUs both are Intel's kernels. The kernels are
    private to torch, so they are used only after a small product has matched.
    """
    try:
        if not torch.backends.mkldnn.is_available():
            return False
        x = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
        weight = torch.tensor([[0.5, -1.0], [2.0, 0.25]])
        packed = torch.ops.mkldnn._reorder_linear_weight(weight, 2)
        kernel = torch.ops.mkldnn._linear_pointwise
        return all(
            torch.equal(kernel(x, w, None, "none", [], ""), x @ weight.t()) for w in (weight, packed)
        )
    except (AttributeError, RuntimeError):
        return False


def _uses_onednn(x):
    # oneDNN refuses an empty inner dimension (every input unit silent on a chunk).
    return (
        x.device.type == "cpu" and x.dtype == torch.float32 and x.shape[-1] > 0 and _onednn_runs()
    )


def _prepared(weight, rows):
    """``weight`` in oneDNN's blocked layout for products of about ``rows`` rows, if used.

    Packing once per inference call saves oneDNN the reordering in every product
    (about 5 % of a 1024 x 500 x 500 product).
    """
    if _uses_onednn(weight):
        return torch.ops.mkldnn._reorder_linear_weight(weight, rows)
    return weight


def _product(x, weight, out):
    """``x @ weight.T``: oneDNN for float32 on the CPU where it runs, else into ``out``.

    ``weight`` is a plain tensor, or one prepared by :func:`_prepared`.
    """
    if _uses_onednn(x):
        return torch.ops.mkldnn._linear_pointwise(x, weight, None, "none", [], "")
    return torch.mm(x, weight.t(), out=out)


def _normalize(x, p):
    return x / (torch.linalg.vector_norm(x, ord=p, dim=1, keepdim=True) + _EPS)


def _activate(z, activation, inplace=False):
    if inplace:
        return z.clamp_min_(0) if activation == "relu" else z.sigmoid_()
    return torch.relu(z) if activation == "relu" else torch.sigmoid(z)


def goodness_of(h, kind):
    """Goodness of every row of a layer output ``h``: a norm, or the sum of squares."""
    if kind == "l2":
        return torch.linalg.vector_norm(h, ord=2, dim=1)
    if kind == "sumsq":
        return (h * h).sum(dim=1)
    if kind == "l1":
        return h.abs().sum(dim=1)
    return h.abs().amax(dim=1)


def ff_loss(g_pos, g_neg, threshold):
    """Mean over the concatenated batch of softplus(theta - g_pos), softplus(g_neg - theta)."""
    return torch.nn.functional.softplus(torch.cat([threshold - g_pos, g_neg - threshold])).mean()


class ReluGoodness(torch.autograd.Function):
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


class FFNet(torch.nn.Module):
    """Stack of Linear layers with the label embedding they were trained with.

    Parameters
    ----------
    n_features : int
        Width of the data (before any label is embedded).
    hidden_layer_sizes : list of int
        Width of each layer.
    n_classes : int
        Number of classes.
    label_embedding : {"concat", "overwrite"} or None
        How a label enters the input (``None``: no embedding, a linear head over
        the last layer gives ``n_classes`` logits instead; the backprop baseline).
    label_value : float
        Value written at the label's position.
    activation : {"relu", "sigmoid"}
        Non-linearity of every layer.
    goodness : {"l2", "sumsq", "l1", "linf"}
        Goodness of a layer output; layer inputs are normalised in its p.
    generator : torch.Generator
        Source of the initial weights.
    dtype : torch.dtype
        Precision of the weights.
    """

    def __init__(
        self,
        n_features,
        hidden_layer_sizes,
        *,
        n_classes,
        label_embedding,
        label_value,
        activation,
        goodness,
        generator,
        dtype,
    ):
        super().__init__()
        self.n_features = n_features
        self.n_classes = n_classes
        self.label_embedding = label_embedding
        self.label_value = float(label_value)
        self.activation = activation
        self.goodness = goodness
        self.p = _NORM_P[goodness]
        # Only the label-embedding modes put layer inputs on the unit sphere.
        self.normalize = label_embedding is not None
        n_in = n_features + (n_classes if label_embedding == "concat" else 0)
        sizes = [n_in, *hidden_layer_sizes]
        self.layers = torch.nn.ModuleList(
            _linear(sizes[i], sizes[i + 1], generator, dtype) for i in range(len(sizes) - 1)
        )
        self.head = (
            _linear(sizes[-1], n_classes, generator, dtype) if label_embedding is None else None
        )

    # ------------------------------------------------------------ embedding
    def embed(self, X, labels):
        """Embed class indices ``labels`` (long tensor) into the rows of ``X``."""
        rows = torch.arange(X.shape[0], device=X.device)
        if self.label_embedding == "overwrite":
            Z = X.clone()
            Z[:, : self.n_classes] = 0
        else:
            Z = torch.cat([X, X.new_zeros((X.shape[0], self.n_classes))], dim=1)
            labels = labels + X.shape[1]
        Z[rows, labels] = self.label_value
        return Z

    def embed_all(self, X):
        """Every row of ``X`` with every class: (n * n_classes, d'), class fastest."""
        labels = torch.arange(self.n_classes, device=X.device).repeat(X.shape[0])
        return self.embed(X.repeat_interleave(self.n_classes, dim=0), labels)

    # ---------------------------------------------------------------- layers
    def layer(self, index, x):
        """Output of layer ``index`` on its input ``x`` (normalised first)."""
        if self.normalize:
            x = _normalize(x, self.p)
        return _activate(self.layers[index](x), self.activation)

    def _layer_into(self, index, x, weight, scale, out, gather):
        """Inference output of layer ``index``, in ``out`` or a tensor of its shape.

        ``x`` is the previous layer's output, not yet normalised; ``weight`` is the
        layer's weight, possibly prepared by :func:`_prepared`. ``scale`` holds
        ``1 / (||x||_p + eps)`` per row (``None`` when the network does not
        normalise), applied to the product instead of to ``x``:
        ``W (x s) + b = (W x) s + b``, so ``x`` is read once, by the matmul. The
        ``torch.mm`` path writes into the preallocated ``out``, which avoids fresh
        pages for every chunk (page faults cost as much as the elementwise work for
        500-unit layers); oneDNN returns its own tensor. When ``x`` is a
        ReLU output, the units silent on every row of ``x`` contribute exact zeros
        and are left out of the matmul: FF layers are sparse (on digits, 3 x 500,
        about 40 % of the second layer's units are silent on a whole chunk), and
        the matmuls are most of the inference time.
        """
        linear = self.layers[index]
        if self.activation == "relu":
            # x >= 0, so a column sums to exactly 0 only when it is all zeros (a NaN
            # keeps its column). A column sum and index_select cost a fraction of
            # Tensor.any and boolean-mask indexing, which rivalled the saved work.
            active = torch.nonzero(x.sum(dim=0)).squeeze(1)
            # Gathering the columns costs a pass over x: worth it only when it saves more.
            if active.shape[0] < 0.9 * x.shape[1]:
                gathered = gather[: x.shape[0] * active.shape[0]].view(x.shape[0], -1)
                x = torch.index_select(x, 1, active, out=gathered)
                weight = linear.weight.index_select(1, active)
        out = _product(x, weight, out)
        if scale is None:
            out.add_(linear.bias)
        else:
            torch.addcmul(linear.bias, out, scale[:, None], out=out)
        return _activate(out, self.activation, inplace=True)

    def normalized(self, x):
        """A layer input as the layer sees it (on the unit sphere when normalising)."""
        return _normalize(x, self.p) if self.normalize else x

    def goodness_of_normalized(self, index, x_hat):
        """Goodness of layer ``index`` on an input already normalised (training path)."""
        linear = self.layers[index]
        if self.activation == "relu" and self.goodness in _FUSED_GOODNESS:
            return ReluGoodness.apply(x_hat, linear.weight, linear.bias, self.goodness)
        return goodness_of(_activate(linear(x_hat), self.activation), self.goodness)

    def forward(self, x):
        """All hidden activations (list) of ``x`` (labels already embedded, if any)."""
        outputs = []
        for index in range(len(self.layers)):
            x = self.layer(index, x)
            outputs.append(x)
        return outputs

    def logits(self, X):
        """Head logits of the backprop baseline (no label embedding)."""
        return self.head(self(X)[-1])

    # ------------------------------------------------------------- inference
    def _first_layer_all_classes(self, X, out):
        """Layer 0's pre-activation for every (sample, class) pair, into ``out``.

        ``out`` has shape ``(n * n_classes, h)``, class fastest. The embedded rows of
        one sample differ only in the label slot, and their norm
        ``||(x_data, label_value)||_p`` does not depend on the class; so the data part
        goes through the weights once per sample and each class adds one weight
        column: ``(W x_data + v W[:, j_c]) / (||.|| + eps) + b``. This does 1/n_classes
        of the first layer's multiply-adds of the plain per-class forward.
        """
        n_classes = self.n_classes
        linear = self.layers[0]
        if self.label_embedding == "overwrite":
            data = X.clone()
            data[:, :n_classes] = 0
            label_columns = linear.weight[:, :n_classes]
            data_weight = linear.weight
        else:
            data = X
            label_columns = linear.weight[:, X.shape[1] :]
            data_weight = linear.weight[:, : X.shape[1]]
        value = abs(self.label_value)
        if self.p == 2:
            norm = torch.sqrt(torch.linalg.vector_norm(data, ord=2, dim=1).square() + value**2)
        elif self.p == 1:
            norm = torch.linalg.vector_norm(data, ord=1, dim=1) + value
        else:
            norm = torch.linalg.vector_norm(data, ord=float("inf"), dim=1).clamp_min(value)
        scale = 1.0 / (norm + _EPS)
        # (n, h) and (n_classes, h): the only n * n_classes * h pass is the addcmul,
        # written straight into the contiguous (n, n_classes, h) view of ``out``.
        shared = torch.addcmul(linear.bias, data @ data_weight.t(), scale[:, None])
        per_class = self.label_value * label_columns.t()
        torch.addcmul(
            shared[:, None, :],
            scale[:, None, None],
            per_class[None, :, :],
            out=out.view(X.shape[0], n_classes, -1),
        )
        return out

    def _input_scale(self, h, goodness):
        """``1 / (||h||_p + eps)`` per row, reusing the goodness when it is that norm."""
        if not self.normalize:
            return None
        if self.goodness == "l2":
            norm = goodness  # both are torch.linalg.vector_norm(h, ord=2, dim=1)
        else:
            norm = torch.linalg.vector_norm(h, ord=self.p, dim=1)
        return 1.0 / (norm + _EPS)

    def goodness_all_classes(self, X):
        """(n, n_classes, n_layers) goodness, one batched pass over n * n_classes rows.

        Inference only (no autograd): layer outputs are written into buffers reused
        by every chunk.
        """
        n_classes = self.n_classes
        per_chunk = max(1, chunk_rows(X.device) // n_classes)
        rows = min(per_chunk, X.shape[0]) * n_classes
        dtype = self.layers[0].weight.dtype
        outputs = [
            torch.empty((rows, layer.out_features), dtype=dtype, device=X.device)
            for layer in self.layers
        ]
        widest_input = max((layer.in_features for layer in self.layers[1:]), default=0)
        gather = torch.empty(rows * widest_input, dtype=dtype, device=X.device)
        # Layer 0 goes through _first_layer_all_classes.
        weights = [None] + [_prepared(layer.weight, rows) for layer in self.layers[1:]]
        blocks = []
        for start in range(0, X.shape[0], per_chunk):
            chunk = X[start : start + per_chunk]
            n_rows = chunk.shape[0] * n_classes
            h = self._first_layer_all_classes(chunk, outputs[0][:n_rows])
            h = _activate(h, self.activation, inplace=True)
            g = [goodness_of(h, self.goodness)]
            for index in range(1, len(self.layers)):
                scale = self._input_scale(h, g[-1])
                h = self._layer_into(
                    index, h, weights[index], scale, outputs[index][:n_rows], gather
                )
                g.append(goodness_of(h, self.goodness))
            blocks.append(torch.stack(g, dim=1).reshape(-1, n_classes, len(g)))
        return torch.cat(blocks)

    def activations(self, X):
        """Every layer's activations of ``X`` (labels embedded already), in chunks."""
        rows = chunk_rows(X.device)
        return [
            torch.cat(parts)
            for parts in zip(*(self(X[s : s + rows]) for s in range(0, X.shape[0], rows)))
        ]


# ------------------------------------------------------------------- training
def _batches(n, batch_size, generator, device):
    permutation = torch.randperm(n, generator=generator).to(device)
    return [permutation[start : start + batch_size] for start in range(0, n, batch_size)]


def _check_finite(loss, epoch, learning_rate, where):
    """Stop at the first non-finite epoch loss: later epochs cannot recover from it."""
    if not math.isfinite(loss):
        raise ValueError(
            f"The loss of {where} became {loss} at epoch {epoch + 1}; training stopped. "
            f"learning_rate={learning_rate!r} is probably too large (try 1e-2 for the "
            "Forward-Forward modes, 1e-3 for backprop); unscaled inputs can also cause this."
        )


def train_layer(
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

    Returns per-epoch mean loss, mean positive and mean negative goodness. Raises
    a ValueError as soon as an epoch's loss is not finite.
    """
    layer = net.layers[index]
    # fused: one multi-tensor kernel per step instead of a dozen per parameter
    optimizer = torch.optim.Adam(
        layer.parameters(), lr=learning_rate, fused=pos_in.device.type in ("cpu", "cuda")
    )
    n = pos_in.shape[0]
    # The layer's input is fixed while it trains: normalise it once, not per batch.
    # Positives in rows [0, n), negatives in [n, 2n): one gather and one matmul per batch.
    both = torch.cat([net.normalized(pos_in), net.normalized(neg_in)])
    losses, g_pos_curve, g_neg_curve = [], [], []
    for epoch in range(max_epochs):
        if negatives_fn is not None:
            both[n:] = net.normalized(negatives_fn(epoch))
        # Accumulated on the device: no host synchronisation inside the epoch.
        total = both.new_zeros(3)
        for rows in _batches(n, batch_size, generator, pos_in.device):
            m = rows.shape[0]
            g = net.goodness_of_normalized(index, both[torch.cat([rows, rows + n])])
            g_pos, g_neg = g[:m], g[m:]
            loss = ff_loss(g_pos, g_neg, threshold)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            with torch.no_grad():
                total += torch.stack([loss * m, g_pos.sum(), g_neg.sum()])
        loss_mean, g_pos_mean, g_neg_mean = (total / n).tolist()
        _check_finite(loss_mean, epoch, learning_rate, f"layer {index}")
        losses.append(loss_mean)
        g_pos_curve.append(g_pos_mean)
        g_neg_curve.append(g_neg_mean)
        if progress is not None:
            progress.update(1)
            progress.set_postfix(loss=f"{loss_mean:.4f}")
    # Freeze: no gradient ever reaches this layer again.
    optimizer.zero_grad(set_to_none=True)
    for parameter in layer.parameters():
        parameter.requires_grad_(False)
    return losses, g_pos_curve, g_neg_curve


def train_greedy(
    net,
    X,
    y,
    y_neg,
    *,
    hard_negatives,
    max_epochs,
    batch_size,
    learning_rate,
    threshold,
    generator,
    progress,
):
    """Forward-Forward, layer after layer: each trained by :func:`train_layer`, then frozen.

    ``y``/``y_neg`` are class indices (long tensors); ``hard_negatives`` replaces
    ``y_neg`` every epoch by the wrong class of highest goodness of the layer being
    trained. ``progress(desc)`` returns a context-managed progress bar.

    Returns the loss, positive-goodness and negative-goodness curves, one list per layer.
    """
    n, n_classes = X.shape[0], net.n_classes
    pos_in, neg_in = net.embed(X, y), net.embed(X, y_neg)
    # For hard negatives: the layer input of every (sample, class) pair.
    all_in = net.embed_all(X) if hard_negatives else None
    rows = torch.arange(n, device=X.device)
    curves = ([], [], [])
    for index in range(len(net.layers)):
        negatives_fn = None
        if all_in is not None:

            def negatives_fn(epoch, index=index, all_in=all_in):
                with torch.no_grad():
                    g = _chunked(lambda Z: goodness_of(net.layer(index, Z), net.goodness), all_in)
                g = g.reshape(n, n_classes)
                g[rows, y] = -torch.inf
                return all_in.reshape(n, n_classes, -1)[rows, g.argmax(dim=1)]

        with progress(f"FF layer {index}") as bar:
            layer_curves = train_layer(
                net,
                index,
                pos_in,
                neg_in,
                max_epochs=max_epochs,
                batch_size=batch_size,
                learning_rate=learning_rate,
                threshold=threshold,
                generator=generator,
                negatives_fn=negatives_fn,
                progress=bar,
            )
        for curve, values in zip(curves, layer_curves):
            curve.append(values)
        if index + 1 < len(net.layers):
            with torch.no_grad():
                pos_in = net.layer(index, pos_in)
                neg_in = net.layer(index, neg_in)
                if all_in is not None:
                    all_in = _chunked(lambda Z: net.layer(index, Z), all_in)
    return curves


def train_backprop_ff(
    net,
    X,
    y,
    y_neg,
    *,
    hard_negatives,
    max_epochs,
    batch_size,
    learning_rate,
    threshold,
    generator,
    progress,
):
    """The FF network and loss (per-layer losses summed), trained end to end.

    Same arguments as :func:`train_greedy`. Returns the loss curve (one list) and
    the positive and negative goodness curves (one list per layer).
    """
    n = X.shape[0]
    n_layers = len(net.layers)
    optimizer = torch.optim.Adam(net.parameters(), lr=learning_rate)
    pos_in = net.embed(X, y)
    neg_in = net.embed(X, y_neg)
    rows = torch.arange(n, device=X.device)
    loss_curve = []
    g_pos_curves = [[] for _ in range(n_layers)]
    g_neg_curves = [[] for _ in range(n_layers)]
    with progress("backprop_ff") as bar:
        for epoch in range(max_epochs):
            if hard_negatives:
                with torch.no_grad():
                    g = net.goodness_all_classes(X).sum(dim=2)
                g[rows, y] = -torch.inf
                neg_in = net.embed(X, g.argmax(dim=1))
            # Loss, then positive and negative goodness per layer, summed on the device.
            total = X.new_zeros(1 + 2 * n_layers)
            for batch in _batches(n, batch_size, generator, X.device):
                m = batch.shape[0]
                outputs = net(torch.cat([pos_in[batch], neg_in[batch]]))
                loss = 0.0
                sums = []
                for out in outputs:
                    g = goodness_of(out, net.goodness)
                    loss = loss + ff_loss(g[:m], g[m:], threshold)
                    sums += [g[:m].sum(), g[m:].sum()]
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                with torch.no_grad():
                    total += torch.stack([loss * m, *sums])
            means = (total / n).tolist()
            _check_finite(means[0], epoch, learning_rate, "the network")
            loss_curve.append(means[0])
            for index in range(n_layers):
                g_pos_curves[index].append(means[1 + 2 * index])
                g_neg_curves[index].append(means[2 + 2 * index])
            bar.update(1)
            bar.set_postfix(loss=f"{means[0]:.4f}")
    return [loss_curve], g_pos_curves, g_neg_curves


def train_backprop(net, X, y, *, max_epochs, batch_size, learning_rate, generator, progress):
    """The backprop baseline: hidden stack and linear head, cross-entropy, Adam.

    Returns the loss curve as a list of one list.
    """
    n = X.shape[0]
    optimizer = torch.optim.Adam(net.parameters(), lr=learning_rate)
    loss_curve = []
    with progress("backprop") as bar:
        for epoch in range(max_epochs):
            total = X.new_zeros(())
            for batch in _batches(n, batch_size, generator, X.device):
                loss = torch.nn.functional.cross_entropy(net.logits(X[batch]), y[batch])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                with torch.no_grad():
                    total += loss * batch.shape[0]
            mean = total.item() / n
            _check_finite(mean, epoch, learning_rate, "the network")
            loss_curve.append(mean)
            bar.update(1)
            bar.set_postfix(loss=f"{mean:.4f}")
    return [loss_curve]
