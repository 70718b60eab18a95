"""Quickstart: one short run of each area of skrepgeom.

Run with ``make demo`` (about a minute on 2 cores once the Numba kernels are compiled).
Uses only data generated in code or bundled with scikit-learn and sktime:

1. intrinsic dimension of a swiss roll and of the digits (TwoNN, GRIDE profile);
2. Detach-ROCKET on GunPoint: test accuracy and the features it keeps;
3. a small Forward-Forward network on the digits: test accuracy and the Hoyer
   sparsity of its last hidden layer.

``python examples/quickstart.py --show-versions`` also prints the versions of every
dependency and of the BLAS in use, for bug reports.
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits, make_swiss_roll
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skrepgeom import show_versions
from skrepgeom.dimension import GrideDimension, TwoNNDimension

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument(
    "--show-versions", action="store_true", help="print dependency and BLAS versions"
)
args = parser.parse_args()

# 1. Intrinsic dimension ---------------------------------------------------------------
X_roll, _ = make_swiss_roll(5000, noise=0.0, random_state=0)
twonn = TwoNNDimension(random_state=0).fit(X_roll)
print(f"swiss roll (3-D ambient): TwoNN dimension {twonn.dimension_:.3f} +/- {twonn.dimension_err_:.3f}")

X_digits, y_digits = load_digits(return_X_y=True)
twonn_digits = TwoNNDimension(duplicates="remove", random_state=0).fit(X_digits)
print(
    f"digits (64-D ambient, {twonn_digits.n_duplicates_} duplicate rows removed): "
    f"TwoNN dimension {twonn_digits.dimension_:.2f} +/- {twonn_digits.dimension_err_:.2f}"
)

gride = GrideDimension(range_max=64).fit(X_roll)
print("\nGRIDE profile of the swiss roll (dimension against length scale):")
print(f"{'n1':>4} {'n2':>4} {'scale':>8} {'dimension':>10} {'error':>7}")
for n1, n2, scale, dim, err in zip(
    gride.n1_, gride.n2_, gride.scales_, gride.dimensions_, gride.dimensions_err_
):
    print(f"{n1:>4} {n2:>4} {scale:>8.4f} {dim:>10.3f} {err:>7.3f}")
print()

# 2. Detach-ROCKET on GunPoint (sktime's bundled copy) -----------------------------------
from sktime.datasets import load_gunpoint  # noqa: E402

from skrepgeom.time_series import DetachRocketClassifier  # noqa: E402

with warnings.catch_warnings():
    # sktime's loaders warn about pandas and deprecations unrelated to this demo.
    warnings.simplefilter("ignore")
    X_train, y_train = load_gunpoint(split="train", return_type="numpy3D")
    X_test, y_test = load_gunpoint(split="test", return_type="numpy3D")
start = time.perf_counter()
detach = DetachRocketClassifier(random_state=0).fit(X_train, y_train)
accuracy = detach.score(X_test, y_test)
print(
    f"Detach-ROCKET on GunPoint: test accuracy {accuracy:.3f}, "
    f"{detach.sfd_.n_features_selected_} of {detach.sfd_.n_features_in_} ROCKET features kept "
    f"({time.perf_counter() - start:.1f} s)"
)

# 3. Forward-Forward network on the digits ----------------------------------------------
from skrepgeom.neural_network import ForwardForwardClassifier, hoyer_sparsity  # noqa: E402

X_tr, X_te, y_tr, y_te = train_test_split(
    X_digits, y_digits, test_size=0.3, random_state=0, stratify=y_digits
)
scaler = StandardScaler().fit(X_tr)
X_tr, X_te = scaler.transform(X_tr), scaler.transform(X_te)
start = time.perf_counter()
ff = ForwardForwardClassifier(
    hidden_layer_sizes=(100, 100), max_epochs=30, batch_size=64, random_state=0
)
ff.fit(X_tr, y_tr)
sparsity = np.nanmean(hoyer_sparsity(ff.transform(X_te)))
print(
    f"Forward-Forward 2 x 100 on digits: test accuracy {ff.score(X_te, y_te):.3f}, "
    f"Hoyer sparsity of the last layer {sparsity:.2f} ({time.perf_counter() - start:.1f} s)"
)

if args.show_versions:
    print()
    show_versions()
