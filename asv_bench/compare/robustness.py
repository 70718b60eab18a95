"""CARSO and adversarial training against a plain-torch re-implementation, side by side.

Prints medians and ratios for the targets of the robustness area, on digits (scaled to
[0, 1], stratified 70/30 split, ``random_state=0``) with 2 torch threads:

* default ``CARSOClassifier.fit`` against a faithful re-implementation of the reference
  recipe written below in plain torch (MLP f trained with PGD-10 on every batch, then the
  cVAE purifier trained on FGSM/PGD attacks against f, same epochs), with the seconds of
  the purifier's training attacks printed apart (the default crafts them through the
  whole defence, which costs more per step than attacking f alone);
* ``predict`` of 360 samples with K=8: ours, the re-implementation, AT alone;
* ``robust_accuracy`` (PGD-50, EOT-8, one surrogate and loss, 540 samples) against a
  plain PGD-EOT loop;
* the robustness gate at the full default budget: worst case of PGD-50, EOT-8, every
  surrogate x {CE, DLR} and the transfer attack from f, for CARSO and AT.

``--quick`` runs everything at the short budget of the test suite (AT 30 epochs,
purifier 40 epochs, PGD-10 training attacks) on the first 180 test samples.

Run: ``python asv_bench/compare/robustness.py [--quick]``.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness  # noqa: E402

THREADS = 2
EPS = 0.2


def _data():
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    return train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)


# ------------------------------------------------ reference recipe in plain torch
def _reference_fit(X, y, *, at_epochs, purifier_epochs, pgd_steps, seed=0, clock=None):
    """The reference recipe, written from the paper's description, in plain torch.

    ``clock`` (a dict), when given, receives the seconds of the purifier phase
    (``"purifier"``) and of its training attacks (``"attacks"``).
    """
    import math
    import time

    import torch

    nn = torch.nn
    torch.manual_seed(seed)
    X = torch.as_tensor(X)
    y = torch.as_tensor(y, dtype=torch.long)
    f = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                      nn.Linear(256, 10))

    def attack(model, x, t, eps, steps, random_start):
        alpha = eps if steps == 1 else 2.5 * eps / steps
        xa = x + (torch.rand_like(x) * 2 - 1) * eps if random_start else x.clone()
        xa = xa.clamp(0, 1)
        for _ in range(steps):
            xa.requires_grad_(True)
            (g,) = torch.autograd.grad(nn.functional.cross_entropy(model(xa), t, reduction="sum"),
                                       xa)
            xa = (x + (xa.detach() + alpha * g.sign() - x).clamp(-eps, eps)).clamp(0, 1)
        return xa.detach()

    opt = torch.optim.Adam(f.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, at_epochs)
    for _ in range(at_epochs):
        for rows in torch.randperm(len(X)).split(128):
            f.eval()
            xa = attack(f, X[rows], y[rows], EPS, 10, True)
            f.train()
            loss = nn.functional.cross_entropy(f(xa), y[rows])
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
    f.eval()
    for p in f.parameters():
        p.requires_grad_(False)

    def block(i, o):
        return nn.Sequential(nn.Linear(i, o, bias=False), nn.BatchNorm1d(o), nn.LeakyReLU(0.2))

    class Purifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1, self.c2 = block(256, 128), block(256, 128)
            self.cond = nn.Sequential(nn.Linear(256, 64), nn.BatchNorm1d(64), nn.LeakyReLU(0.2))
            self.enc = nn.Sequential(nn.Linear(128, 256), nn.LeakyReLU(0.2), nn.Linear(256, 256),
                                     nn.LeakyReLU(0.2), nn.Linear(256, 32))
            self.dec = nn.Sequential(nn.Linear(80, 256), nn.LeakyReLU(0.2), nn.Linear(256, 256),
                                     nn.LeakyReLU(0.2), nn.Linear(256, 64))

        def condition(self, x):
            a1 = f[0](x)
            a2 = f[2](torch.relu(a1))
            return self.cond(torch.cat([self.c1(a1), self.c2(a2)], 1))

    clock = {} if clock is None else clock
    clock["attacks"] = 0.0
    start = time.perf_counter()
    pur = Purifier()
    opt = torch.optim.Adam(pur.parameters(), lr=2e-3)
    lag, warm = math.ceil(0.125 * purifier_epochs), math.ceil(0.0417 * purifier_epochs)
    for epoch in range(purifier_epochs):
        beta = 0.0 if epoch < lag else min(1.0, (epoch - lag + 1) / warm)
        for rows in torch.randperm(len(X)).split(128):
            x, t = X[rows], y[rows]
            x_in = x.clone()
            n_adv = len(rows) // 2
            parts = torch.arange(n_adv).tensor_split(4)
            tick = time.perf_counter()
            for (steps, e), part in zip([(1, EPS / 2), (1, EPS), (pgd_steps, EPS / 2),
                                         (pgd_steps, EPS)], parts):
                if len(part):
                    x_in[part] = attack(f, x[part], t[part], e, steps, steps > 1)
            clock["attacks"] += time.perf_counter() - tick
            pur.train()
            c = pur.condition(x_in)
            mu, logvar = pur.enc(torch.cat([x_in, c], 1)).chunk(2, dim=1)
            z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
            bce = nn.functional.binary_cross_entropy_with_logits(
                pur.dec(torch.cat([z, c], 1)), x, reduction="sum") / len(rows)
            kl = 0.5 * (mu ** 2 + logvar.exp() - logvar - 1).sum() / len(rows)
            opt.zero_grad()
            (bce + beta * kl).backward()
            opt.step()
    pur.eval()
    clock["purifier"] = time.perf_counter() - start
    return f, pur


def _reference_predict(f, pur, X, k=8):
    import torch

    with torch.no_grad():
        x = torch.as_tensor(X)
        c = pur.condition(x)
        z = torch.randn(k, len(x), 16)
        rec = torch.sigmoid(pur.dec(torch.cat([z.reshape(-1, 16), c.repeat(k, 1)], 1)))
        logits = f(rec).reshape(k, len(x), -1).double()
        s = torch.logsumexp(logits, 0)
        d = torch.exp(s.amax(1, keepdim=True)) * torch.expm1(s - s.amax(1, keepdim=True))
        return d.argmax(1).numpy()


def _plain_pgd_eot(module, X, y, steps=50, eot=8):
    import torch

    x = torch.as_tensor(X)
    t = torch.as_tensor(y)
    alpha = 2.5 * EPS / steps
    xa = (x + (torch.rand_like(x) * 2 - 1) * EPS).clamp(0, 1)
    for _ in range(steps):
        g = torch.zeros_like(x)
        for _ in range(eot):
            xv = xa.clone().requires_grad_(True)
            g += torch.autograd.grad(
                torch.nn.functional.cross_entropy(module(xv), t, reduction="sum"), xv)[0]
        xa = (x + (xa + alpha * g.sign() - x).clamp(-EPS, EPS)).clamp(0, 1)
    return xa.numpy()


# ------------------------------------------------------------------ workers
def timings(quick):
    """Fit/predict/evaluation times, ours and the re-implementation, in one process."""
    import numpy as np
    from sklearn.frozen import FrozenEstimator

    from skrepgeom.robustness import (
        AdversarialTrainingClassifier,
        CARSOClassifier,
        robust_accuracy,
    )

    X_train, X_test, y_train, y_test = _data()
    at_epochs, pur_epochs, steps = (30, 40, 10) if quick else (60, 150, 40)
    out = {}
    # Seconds spent crafting each epoch's purifier inputs (the training attacks), per
    # recipe, to separate their cost from the rest of the purifier training.
    attack_seconds = {}
    craft = CARSOClassifier._purifier_inputs

    def timed_craft(self, *args, **kwargs):
        with _harness.Timer() as timer:
            x_in = craft(self, *args, **kwargs)
        key = self.purifier_attack
        attack_seconds[key] = attack_seconds.get(key, 0.0) + timer.seconds
        return x_in

    CARSOClassifier._purifier_inputs = timed_craft
    try:
        with _harness.Timer() as t:
            at = AdversarialTrainingClassifier(eps=EPS, max_epochs=at_epochs, n_jobs=THREADS,
                                               random_state=0).fit(X_train, y_train)
        out["at_fit"] = t.seconds
        with _harness.Timer() as t:
            carso = CARSOClassifier(classifier=FrozenEstimator(at), max_epochs=pur_epochs,
                                    purifier_pgd_steps=steps, n_jobs=THREADS,
                                    random_state=0).fit(X_train, y_train)
        out["carso_purifier_fit"] = t.seconds
        with _harness.Timer() as t:
            faithful = CARSOClassifier(classifier=FrozenEstimator(at), max_epochs=pur_epochs,
                                       purifier_pgd_steps=steps, purifier_attack="classifier",
                                       classification_weight=0.0, n_jobs=THREADS,
                                       random_state=0).fit(X_train, y_train)
        out["faithful_purifier_fit"] = t.seconds
    finally:
        # later CARSO fits in this process must not add to these counts
        CARSOClassifier._purifier_inputs = craft
    import torch

    torch.set_num_threads(THREADS)
    clock = {}
    with _harness.Timer() as t:
        f, pur = _reference_fit(X_train, y_train, at_epochs=at_epochs,
                                purifier_epochs=pur_epochs, pgd_steps=steps, clock=clock)
    out["reference_fit"] = t.seconds
    out["carso_attacks"] = attack_seconds["pipeline"]
    out["faithful_attacks"] = attack_seconds["classifier"]
    out["reference_purifier"] = clock["purifier"]
    out["reference_attacks"] = clock["attacks"]
    X360 = X_test[:360]
    out["predict_carso"] = _harness.median_time(lambda: carso.predict(X360), 5)
    out["predict_reference"] = _harness.median_time(lambda: _reference_predict(f, pur, X360), 5)
    out["predict_at"] = _harness.median_time(lambda: at.predict(X360), 5)
    out["reference_accuracy"] = float(np.mean(_reference_predict(f, pur, X_test) == y_test))
    n_eval = 180 if quick else 540
    Xe, ye = X_test[:n_eval], y_test[:n_eval]
    with _harness.Timer() as t:
        robust_accuracy(carso, Xe, ye, eps=EPS, steps=50, eot_samples=8,
                        surrogates=["mean_logit"], losses=("ce",), random_state=0)
    out["robust_accuracy"] = t.seconds
    module = carso.attack_module("mean_logit", random_state=0)
    with _harness.Timer() as t:
        X_adv = _plain_pgd_eot(module, Xe, ye)
        carso.predict(Xe)
        carso.predict(X_adv)
    out["plain_loop"] = t.seconds
    out["clean"] = {"at": at.score(X_test, y_test), "carso": carso.score(X_test, y_test),
                    "faithful": faithful.score(X_test, y_test)}
    return out


def gate(quick):
    """Worst-case robust accuracy of CARSO and AT under the same protocol."""
    import numpy as np
    from sklearn.frozen import FrozenEstimator

    from skrepgeom.robustness import (
        AdversarialTrainingClassifier,
        CARSOClassifier,
        robust_accuracy,
    )

    X_train, X_test, y_train, y_test = _data()
    if quick:
        X_test, y_test = X_test[:180], y_test[:180]
    at_kw = dict(max_epochs=30) if quick else {}
    carso_kw = dict(max_epochs=40, purifier_pgd_steps=10) if quick else {}
    at = AdversarialTrainingClassifier(eps=EPS, n_jobs=THREADS, random_state=0, **at_kw)
    at.fit(X_train, y_train)
    result = {}
    for name, model in [
        ("at", at),
        ("carso", CARSOClassifier(classifier=FrozenEstimator(at), n_jobs=THREADS,
                                  random_state=0, **carso_kw).fit(X_train, y_train)),
        ("faithful", CARSOClassifier(classifier=FrozenEstimator(at), n_jobs=THREADS,
                                     purifier_attack="classifier", classification_weight=0.0,
                                     random_state=0, **carso_kw).fit(X_train, y_train)),
    ]:
        _, white = robust_accuracy(model, X_test, y_test, eps=EPS, steps=50, eot_samples=8,
                                   return_details=True, random_state=0)
        mask = white["robust_mask"]
        if name != "at":
            _, transfer = robust_accuracy(model, X_test, y_test, eps=EPS, attack="transfer",
                                          steps=50, return_details=True, random_state=0)
            mask = mask & transfer["robust_mask"]
        result[name] = {"clean": float(white["clean_accuracy"]), "worst": float(np.mean(mask))}
    return result


def main():
    quick = "--quick" in sys.argv
    print(_harness.header("robustness", threads=THREADS, quick=quick))
    t = _harness.run_worker(sys.executable, __file__, "timings", {"quick": quick},
                            threads=THREADS)
    if "error" in t:
        print("timings failed:", t["error"])
    else:
        ours_fit = t["at_fit"] + t["carso_purifier_fit"]
        faithful_fit = t["at_fit"] + t["faithful_purifier_fit"]
        print(f"fit: AT {t['at_fit']:.1f} s, default CARSO purifier {t['carso_purifier_fit']:.1f} s, "
              f"faithful-option purifier {t['faithful_purifier_fit']:.1f} s, "
              f"re-implementation (AT + purifier) {t['reference_fit']:.1f} s")
        print(_harness.verdict("default CARSO fit (AT + purifier)", ours_fit, 180,
                               higher_is_better=False, unit=" s"))
        print(_harness.verdict("default CARSO fit / re-implementation",
                               ours_fit / t["reference_fit"], 1.3, higher_is_better=False))
        print(_harness.verdict("faithful-option fit / re-implementation",
                               faithful_fit / t["reference_fit"], 1.3, higher_is_better=False))
        print("purifier training, of which its training attacks: default CARSO "
              f"{t['carso_purifier_fit']:.1f} s ({t['carso_attacks']:.1f} s through the whole "
              f"defence), faithful option {t['faithful_purifier_fit']:.1f} s "
              f"({t['faithful_attacks']:.1f} s on f), re-implementation "
              f"{t['reference_purifier']:.1f} s ({t['reference_attacks']:.1f} s on f)")
        print("  without the training attacks: default fit / re-implementation "
              f"{(ours_fit - t['carso_attacks']) / (t['reference_fit'] - t['reference_attacks']):.2f}"
              ", training attacks alone: default / re-implementation "
              f"{t['carso_attacks'] / t['reference_attacks']:.2f}")
        print(f"predict 360, K=8: CARSO {1e3 * t['predict_carso']:.1f} ms, re-implementation "
              f"{1e3 * t['predict_reference']:.1f} ms, AT alone {1e3 * t['predict_at']:.2f} ms "
              f"(overhead over AT {t['predict_carso'] / t['predict_at']:.0f}x)")
        print(_harness.verdict("CARSO predict", t["predict_carso"], 2, higher_is_better=False,
                               unit=" s"))
        print(_harness.verdict("CARSO predict / re-implementation",
                               t["predict_carso"] / t["predict_reference"], 1.5,
                               higher_is_better=False))
        print(f"robust_accuracy {t['robust_accuracy']:.1f} s, plain loop {t['plain_loop']:.1f} s")
        print(_harness.verdict("robust_accuracy / plain loop",
                               t["robust_accuracy"] / t["plain_loop"], 1.3,
                               higher_is_better=False))
        print("clean accuracy:", {k: round(v, 3) for k, v in t["clean"].items()},
              "re-implementation", round(t["reference_accuracy"], 3))
    print(_harness.load_line())
    g = _harness.run_worker(sys.executable, __file__, "gate", {"quick": quick}, threads=THREADS)
    if "error" in g:
        print("gate failed:", g["error"])
    else:
        for name in ("at", "carso", "faithful"):
            print(f"gate {name}: clean {g[name]['clean']:.3f}, worst case {g[name]['worst']:.3f}")
        print(_harness.verdict("CARSO worst case - AT worst case",
                               g["carso"]["worst"] - g["at"]["worst"], 0.0, unit=""))
        print(_harness.verdict("CARSO clean - (AT clean - 0.02)",
                               g["carso"]["clean"] - g["at"]["clean"] + 0.02, 0.0, unit=""))
    print(_harness.load_line())


if __name__ == "__main__":
    main()
