"""Side-by-side timing of ForwardForwardClassifier against the paper's training loop.

Anchors, re-implemented in this script and run in the same process and session:

* **Training**: the loop of the paper's code (NiccoloTosato/EmergentRepresentations),
  per layer: normalise -> Linear -> ReLU -> L2 norm -> softplus loss -> Adam step over
  shuffled minibatches of 1024, positives and negatives forwarded separately. Digits
  (train split, 1257 x 64, overwrite label embedding), 3 x 500, 20 epochs per layer.
  Target: ratio (anchor time / ours) >= 1.0.
* **Prediction**: 10k rows, 10 classes, 3 x 500: a loop over the classes with one
  forward pass per class (torch, no_grad), against ``predict``'s single batched pass.
  Target: ratio >= 3.

Both anchors are also run *as the paper's code writes them* (``paper-code``):
training through ``DataLoader(TensorDataset(x_pos, x_neg), shuffle=True)`` with
``log(1 + exp(.))`` and two ``.item()`` calls per batch, prediction without
``no_grad`` (the paper's ``evaluate`` calls ``predict`` with autograd on). The targets
are judged against the lean anchors; the paper-code ratios are printed for context.

Every figure is the median of ``--repeats`` runs and is printed with torch's intra-op
thread count; both ``n_jobs=1`` and ``n_jobs=2`` are measured (the anchor runs at the
same thread count). Usage, from the repository root::

    .venv/bin/python asv_bench/compare/neural_network.py --repeats 3

Timings depend on the machine and on whatever else runs on it: report both.
"""

import argparse
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skrepgeom.neural_network import ForwardForwardClassifier
from skrepgeom.utils._torch import torch_threads

SIZES = (500, 500, 500)
EPOCHS = 20
BATCH = 1024
THETA = 3.0


def _data():
    X, y = load_digits(return_X_y=True)
    X_train, _, y_train, _ = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    return StandardScaler().fit_transform(X_train).astype(np.float32), y_train


def _overlay(X, labels, value):
    Z = X.clone()
    Z[:, :10] = 0
    Z[torch.arange(X.shape[0]), labels] = value
    return Z


def _lean_epoch(forward, optimizer, h_pos, h_neg):
    permutation = torch.randperm(h_pos.shape[0])
    for start in range(0, h_pos.shape[0], BATCH):
        rows = permutation[start : start + BATCH]
        g_pos = forward(h_pos[rows]).norm(p=2, dim=1)
        g_neg = forward(h_neg[rows]).norm(p=2, dim=1)
        loss = F.softplus(torch.cat([THETA - g_pos, g_neg - THETA])).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def _paper_code_epoch(forward, optimizer, loader):
    """As ``ForwardLayer.train_layer``: DataLoader batches, log(1 + exp), .item() per batch."""
    avg_pos = avg_neg = 0.0
    for x_pos, x_neg in loader:
        g_pos = forward(x_pos).norm(p=2, dim=1)
        g_neg = forward(x_neg).norm(p=2, dim=1)
        avg_pos += g_pos.mean().item()
        avg_neg += g_neg.mean().item()
        loss = torch.log(1 + torch.exp(torch.cat([THETA - g_pos, g_neg - THETA]))).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def anchor_fit(X, y, seed=0, paper_code=False):
    """The paper's greedy loop: separate positive and negative forwards per batch.

    ``paper_code=True`` runs the batches as the paper's code writes them (see
    ``_paper_code_epoch``); the default is a lean version of the same arithmetic.
    """
    torch.manual_seed(seed)
    X = torch.from_numpy(X)
    y = torch.from_numpy(y)
    value = X.max()
    y_neg = (y + torch.randint(1, 10, y.shape)) % 10
    h_pos, h_neg = _overlay(X, y, value), _overlay(X, y_neg, value)
    layers = []
    d = X.shape[1]
    for width in SIZES:
        layer = torch.nn.Linear(d, width)
        optimizer = torch.optim.Adam(layer.parameters(), lr=0.01)

        def forward(x, layer=layer):
            x = x / (x.norm(p=2, dim=1, keepdim=True) + 1e-4)
            return torch.relu(layer(x))

        loader = torch.utils.data.DataLoader(
            torch.utils.data.TensorDataset(h_pos, h_neg), batch_size=BATCH, shuffle=True
        )
        for _ in range(EPOCHS):
            if paper_code:
                _paper_code_epoch(forward, optimizer, loader)
            else:
                _lean_epoch(forward, optimizer, h_pos, h_neg)
        with torch.no_grad():
            h_pos, h_neg = forward(h_pos), forward(h_neg)
        layers.append(forward)
        d = width
    return layers, value


def anchor_predict(layers, value, X, n_classes=10, paper_code=False):
    """One forward pass per class, goodness collected, softmax-sum over layers.

    ``paper_code=True``: as ``NetFF.predict``, with autograd left on.
    """
    X = torch.from_numpy(X)
    with torch.no_grad() if not paper_code else torch.enable_grad():
        G = torch.empty(X.shape[0], n_classes, len(layers))
        for c in range(n_classes):
            h = _overlay(X, torch.full((X.shape[0],), c), value)
            for index, forward in enumerate(layers):
                h = forward(h)
                G[:, c, index] = h.norm(p=2, dim=1)
        return torch.softmax(G, dim=1).sum(dim=2).argmax(dim=1).detach().numpy()


def _median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    X, y = _data()
    rng = np.random.default_rng(0)
    X_big = X[rng.integers(0, X.shape[0], size=10_000)]
    n_layer_epochs = len(SIZES) * EPOCHS
    print(f"digits train {X.shape}, {SIZES}, {EPOCHS} epochs/layer, batch {BATCH}; "
          f"predict on {X_big.shape[0]} rows, 10 classes; medians of {args.repeats}")
    results = {}
    for n_jobs in (1, 2):
        with torch_threads(n_jobs):
            threads = torch.get_num_threads()

            def ours_fit():
                return ForwardForwardClassifier(
                    hidden_layer_sizes=SIZES, label_embedding="overwrite", max_epochs=EPOCHS,
                    batch_size=BATCH, n_jobs=n_jobs, random_state=0,
                ).fit(X, y)

            anchor_fit(X[:64], y[:64])  # warm-up
            ours_fit()
            t_anchor = _median_time(lambda: anchor_fit(X, y), args.repeats)
            t_paper = _median_time(lambda: anchor_fit(X, y, paper_code=True), args.repeats)
            t_ours = _median_time(ours_fit, args.repeats)
            print(f"[torch threads={threads}] fit  anchor {t_anchor:7.2f} s "
                  f"({t_anchor / n_layer_epochs:.4f} s/layer-epoch) | ours {t_ours:7.2f} s "
                  f"({t_ours / n_layer_epochs:.4f} s/layer-epoch) | ratio {t_anchor / t_ours:.2f}"
                  f" | paper-code {t_paper:7.2f} s, ratio {t_paper / t_ours:.2f}")
            clf = ours_fit()
            layers, value = anchor_fit(X, y)
            t_anchor_p = _median_time(lambda: anchor_predict(layers, value, X_big), args.repeats)
            t_paper_p = _median_time(
                lambda: anchor_predict(layers, value, X_big, paper_code=True), args.repeats
            )
            t_ours_p = _median_time(lambda: clf.predict(X_big), args.repeats)
            print(f"[torch threads={threads}] predict  per-class loop {t_anchor_p:6.3f} s | "
                  f"ours {t_ours_p:6.3f} s | ratio {t_anchor_p / t_ours_p:.2f} | paper-code "
                  f"{t_paper_p:6.3f} s, ratio {t_paper_p / t_ours_p:.2f}")
            results[n_jobs] = (t_anchor / t_ours, t_anchor_p / t_ours_p)
    for n_jobs, (fit_ratio, predict_ratio) in results.items():
        print(f"n_jobs={n_jobs}: epoch-time ratio {fit_ratio:.2f} (target >= 1.0: "
              f"{'MET' if fit_ratio >= 1.0 else 'NOT MET'}); predict ratio {predict_ratio:.2f} "
              f"(target >= 3: {'MET' if predict_ratio >= 3.0 else 'NOT MET'})")


if __name__ == "__main__":
    main()
