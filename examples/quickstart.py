"""Quickstart: intrinsic dimension of a swiss roll and of the digits data set.

Run with ``make demo``. Uses only data generated in code or bundled with scikit-learn.
"""

from sklearn.datasets import load_digits, make_swiss_roll

from skrepgeom import show_versions
from skrepgeom.dimension import GrideDimension, TwoNNDimension

X_roll, _ = make_swiss_roll(5000, noise=0.0, random_state=0)
twonn = TwoNNDimension(random_state=0).fit(X_roll)
print(f"swiss roll (3-D ambient): TwoNN dimension {twonn.dimension_:.3f} +/- {twonn.dimension_err_:.3f}")

X_digits = load_digits().data
twonn_digits = TwoNNDimension(random_state=0).fit(X_digits)
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

show_versions()
