"""
=====================================================
Evaluating a purification defence with adaptive attacks
=====================================================

:class:`~skrepgeom.robustness.CARSOClassifier` puts a conditional VAE in front of an
adversarially trained classifier f: it redraws the input from f's internal activations
and classifies several reconstructions. This example trains both on digits with a very
small budget (so that it runs in seconds), compares their robustness curves under PGD
with every surrogate and loss, and shows what the purifier draws for attacked digits.

The numbers here come from a tiny budget; the user guide gives the figures of the full
protocol (PGD-50, EOT-8, CE and DLR, transfer from f).
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import train_test_split

from skrepgeom.robustness import (
    AdversarialTrainingClassifier,
    CARSOClassifier,
    ReconstructionDisplay,
    RobustnessCurveDisplay,
    pgd,
    robust_accuracy,
)
from skrepgeom.utils._torch import torch_threads

X, y = load_digits(return_X_y=True)
X = (X / 16.0).astype(np.float32)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.3, stratify=y, random_state=0
)
X_eval, y_eval = X_test[:90], y_test[:90]

# %%
# The classifier f and the defence built on it
# ---------------------------------------------
# f is trained on PGD adversarial examples; the purifier learns to redraw clean digits
# from f's activations of attacked ones (attacks crafted through the whole defence).
with torch_threads(1):
    at = AdversarialTrainingClassifier(
        hidden_layer_sizes=(128, 128), eps=0.2, attack_steps=5, max_epochs=12,
        learning_rate=3e-3, random_state=0,
    ).fit(X_train, y_train)
    carso = CARSOClassifier(
        classifier=FrozenEstimator(at), purifier_hidden=128, max_epochs=6,
        purifier_pgd_steps=3, n_reconstructions=4, random_state=0,
    ).fit(X_train, y_train)

    # %%
    # Robustness curves under adaptive attack
    # ---------------------------------------
    # Every surrogate of the defence ("peel" and the non-saturating "mean_logit") and
    # both losses are tried; an example counts only if the defence survives all of them.
    eps_values = [0.0, 0.1, 0.2]
    fig, ax = plt.subplots()
    for model, name in [(at, "AT"), (carso, "CARSO")]:
        RobustnessCurveDisplay.from_estimator(
            model, X_eval, y_eval, eps_values, name=name, ax=ax, steps=10, eot_samples=2,
            random_state=0,
        )

    # %%
    # The peel rule masks gradients
    # -----------------------------
    # Attacking only the defence's own peel scores with cross-entropy overestimates its
    # robustness; the worst case over surrogates and losses is the honest number.
    peel_ce = robust_accuracy(carso, X_eval, y_eval, eps=0.2, steps=10, eot_samples=2,
                              surrogates=["peel"], losses=("ce",), random_state=0)
    worst = robust_accuracy(carso, X_eval, y_eval, eps=0.2, steps=10, eot_samples=2,
                            random_state=0)
    print(f"CARSO, PGD on peel with CE only: {peel_ce:.2f}; worst case: {worst:.2f}")

    # %%
    # What the purifier draws for attacked digits
    # -------------------------------------------
    X_adv = pgd(carso, X_eval[:4], y_eval[:4], eps=0.2, steps=10, eot_samples=2,
                surrogate="mean_logit", random_state=0)
    ReconstructionDisplay.from_estimator(carso, X_adv, n_reconstructions=4)
plt.show()
