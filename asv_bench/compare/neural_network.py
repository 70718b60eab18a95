"""Side-by-side timing of ForwardForwardClassifier against the paper's training loop.

Anchors, re-implemented in this script and run in the same process and session:

* **Training**: the loop of the paper's code (NiccoloTosato/EmergentRepresentations),
  per layer: normalise -> Linear -> ReLU -> L2 norm -> softplus loss -> Adam step over
  shuffled minibatches of 1024, positives and negatives forwarded separately. Digits
  (train split, 1257 x 64, overwrite label embedding), 3 x 500, 20 epochs per layer.
  Target: ratio (anchor time / ours) >= 1.0.
* **Prediction**: 10k rows, 10 classes, 3 x 500: a loop over the classes with one
  forward pass per class (torch, no_grad), against ``predict``'s single batched pass.
  Target: ratio >= 1.5 at one torch thread (the deeper layers still run once per
  class; only the first layer's work is shared). The anchor's products are
  ``torch.nn.Linear``'s (torch's default BLAS, MKL in the PyPI wheels); ours go through
  torch's oneDNN kernels where they run, and leave out units silent on a whole chunk.

Two further sections measure choices of the estimator rather than anchors:

* **threads**: the ``n_jobs=None`` heuristic (one torch thread when every layer has at
  most 256 units) against torch's default thread count, fit and predict of a 2 x 64
  network on digits.
* **label_value**: test accuracy on standard-scaled digits of ``label_value="auto"``
  (the default), ``1.0`` and ``"max"``, three seeds, 2 x 200 units, 50 epochs.

Both anchors are also run *as the paper's code writes them* (``paper-code``):
training through ``DataLoader(TensorDataset(x_pos, x_neg), shuffle=True)`` with
``log(1 + exp(.))`` and two ``.item()`` calls per batch, prediction without
``no_grad`` (the paper's ``evaluate`` calls ``predict`` with autograd on). The targets
are judged against the lean anchors; the paper-code ratios are printed for context.

Every figure is the median of ``--repeats`` runs, ours and its anchor run in turn
within each repeat, and is printed with torch's intra-op
thread count; both ``n_jobs=1`` and ``n_jobs=2`` are measured (the anchor runs at the
same thread count). Usage, from the repository root::

    .venv/bin/python asv_bench/compare/neural_network.py --repeats 3
    .venv/bin/python asv_bench/compare/neural_network.py --sections threads label_value

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


PREDICT_TARGET = 1.5
FIT_TARGET = 1.0


def _split():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, random_state=0, stratify=y
    )
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def _data():
    X_train, _, y_train, _ = _split()
    return X_train.astype(np.float32), y_train


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


def _median_times(fns, repeats, cpu=None):
    """Median time of each function, the functions run in turn within each repeat.

    Interleaving puts a side and its anchor under the same load when other jobs
    share the machine, instead of one block of runs under one load and the next
    block under another. ``cpu``, a list, receives each function's median process
    CPU time: at one thread it equals the wall time on a quiet machine and is less
    inflated than the wall time when other jobs take turns on the cores.
    """
    times = [[] for _ in fns]
    cpu_times = [[] for _ in fns]
    for _ in range(repeats):
        for fn, record, cpu_record in zip(fns, times, cpu_times):
            start, start_cpu = time.perf_counter(), time.process_time()
            fn()
            record.append(time.perf_counter() - start)
            cpu_record.append(time.process_time() - start_cpu)
    if cpu is not None:
        cpu.extend(statistics.median(record) for record in cpu_times)
    return [statistics.median(record) for record in times]


def anchors_section(repeats, thread_counts=(1, 2)):
    """Fit against the paper's loop, predict against the per-class loop."""
    X, y = _data()
    rng = np.random.default_rng(0)
    X_big = X[rng.integers(0, X.shape[0], size=10_000)]
    n_layer_epochs = len(SIZES) * EPOCHS
    print(f"digits train {X.shape}, {SIZES}, {EPOCHS} epochs/layer, batch {BATCH}; "
          f"predict on {X_big.shape[0]} rows, 10 classes; medians of {repeats}")
    results = {}
    for n_jobs in thread_counts:
        with torch_threads(n_jobs):
            threads = torch.get_num_threads()

            def ours_fit():
                return ForwardForwardClassifier(
                    hidden_layer_sizes=SIZES, label_embedding="overwrite", label_value="max",
                    max_epochs=EPOCHS, batch_size=BATCH, n_jobs=n_jobs, random_state=0,
                ).fit(X, y)

            anchor_fit(X[:64], y[:64])  # warm-up
            ours_fit()
            t_anchor, t_paper, t_ours = _median_times(
                [lambda: anchor_fit(X, y), lambda: anchor_fit(X, y, paper_code=True), ours_fit],
                repeats,
            )
            print(f"[torch threads={threads}] fit  anchor {t_anchor:7.2f} s "
                  f"({t_anchor / n_layer_epochs:.4f} s/layer-epoch) | ours {t_ours:7.2f} s "
                  f"({t_ours / n_layer_epochs:.4f} s/layer-epoch) | ratio {t_anchor / t_ours:.2f}"
                  f" | paper-code {t_paper:7.2f} s, ratio {t_paper / t_ours:.2f}")
            clf = ours_fit()
            layers, value = anchor_fit(X, y)
            cpu = []
            t_anchor_p, t_paper_p, t_ours_p = _median_times(
                [
                    lambda: anchor_predict(layers, value, X_big),
                    lambda: anchor_predict(layers, value, X_big, paper_code=True),
                    lambda: clf.predict(X_big),
                ],
                repeats,
                cpu,
            )
            print(f"[torch threads={threads}] predict  per-class loop {t_anchor_p:6.3f} s | "
                  f"ours {t_ours_p:6.3f} s | ratio {t_anchor_p / t_ours_p:.2f} | paper-code "
                  f"{t_paper_p:6.3f} s, ratio {t_paper_p / t_ours_p:.2f} | CPU time: per-class "
                  f"loop {cpu[0]:6.3f} s, ours {cpu[2]:6.3f} s, ratio {cpu[0] / cpu[2]:.2f}")
            results[n_jobs] = (t_anchor / t_ours, t_anchor_p / t_ours_p)
    for n_jobs, (fit_ratio, predict_ratio) in results.items():
        verdict = "MET" if predict_ratio >= PREDICT_TARGET else "NOT MET"
        scope = "" if n_jobs == 1 else " (target is judged at 1 thread)"
        print(f"n_jobs={n_jobs}: epoch-time ratio {fit_ratio:.2f} (target >= {FIT_TARGET}: "
              f"{'MET' if fit_ratio >= FIT_TARGET else 'NOT MET'}); predict ratio "
              f"{predict_ratio:.2f} (target >= {PREDICT_TARGET}: {verdict}){scope}")


def threads_section(repeats):
    """n_jobs=None (one thread for layers <= 256 units) against torch's default threads."""
    X, y = _data()
    default_threads = torch.get_num_threads()
    print(f"small network 2 x 64, digits train {X.shape}, 20 epochs/layer, batch 256; "
          f"torch default threads = {default_threads}; medians of {repeats}")

    def fit(n_jobs):
        return ForwardForwardClassifier(
            hidden_layer_sizes=(64, 64), max_epochs=20, batch_size=256, n_jobs=n_jobs,
            random_state=0,
        ).fit(X, y)

    fit(None)  # warm-up
    t_heuristic, t_default = _median_times(
        [lambda: fit(None), lambda: fit(default_threads)], repeats
    )
    heuristic, default = fit(None), fit(default_threads)
    t_heuristic_p, t_default_p = _median_times(
        [lambda: heuristic.predict(X), lambda: default.predict(X)], repeats
    )
    print(f"fit      n_jobs=None (1 thread) {t_heuristic:6.2f} s | torch default "
          f"({default_threads} threads) {t_default:6.2f} s | default / heuristic "
          f"{t_default / t_heuristic:.2f}")
    print(f"predict  n_jobs=None (1 thread) {t_heuristic_p:6.3f} s | torch default "
          f"({default_threads} threads) {t_default_p:6.3f} s | default / heuristic "
          f"{t_default_p / t_heuristic_p:.2f}")


def label_value_section(repeats, seeds=(0, 1, 2)):
    """Test accuracy of the label values on standard-scaled digits, several seeds.

    ``repeats`` is unused: accuracies of a seeded fit do not vary from run to run.
    """
    X_train, X_test, y_train, y_test = _split()
    print(f"standard-scaled digits: max |X_train| = {np.abs(X_train).max():.1f}, "
          f"RMS = {np.sqrt(np.mean(X_train**2)):.3f}; 2 x 200, 50 epochs, batch 256, "
          f"seeds {list(seeds)}")
    for embedding in ("concat", "overwrite"):
        for value in ("auto", 1.0, "max"):
            scores = [
                ForwardForwardClassifier(
                    hidden_layer_sizes=(200, 200), max_epochs=50, batch_size=256,
                    label_embedding=embedding, label_value=value, random_state=seed,
                ).fit(X_train, y_train).score(X_test, y_test)
                for seed in seeds
            ]
            print(f"label_embedding={embedding!r:12} label_value={value!r:7} accuracy "
                  f"{np.round(scores, 3).tolist()} mean {np.mean(scores):.3f}")


SECTIONS = {
    "anchors": anchors_section,
    "threads": threads_section,
    "label_value": label_value_section,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--sections", nargs="+", default=list(SECTIONS), choices=list(SECTIONS)
    )
    parser.add_argument(
        "--n-jobs", nargs="+", type=int, default=[1, 2], help="thread counts of 'anchors'"
    )
    args = parser.parse_args()
    for name in args.sections:
        print(f"== {name}")
        if name == "anchors":
            anchors_section(args.repeats, args.n_jobs)
        else:
            SECTIONS[name](args.repeats)


if __name__ == "__main__":
    main()
