"""
==========================================================
Pruning ROCKET features with Sequential Feature Detachment
==========================================================

:class:`~skrepgeom.time_series.DetachRocketClassifier` transforms each series with
random ROCKET kernels (2 features each; 2,000 kernels here to stay fast, 10,000 by
default), then detaches the least important
features step by step and keeps the size with the best trade-off between validation
accuracy and model size. The curve below shows the relative validation accuracy of
each step on GunPoint against the number of features kept (log scale, the full model
on the right); the chosen model keeps a handful of features.

:class:`~skrepgeom.time_series.DetachEnsembleClassifier` fits several MiniRocket
members on the multivariate BasicMotions data (6 channels: accelerometer and
gyroscope, x/y/z) and ranks the channels by the share of the final ridges'
coefficients that their kernels carry.
"""

# %%
# GunPoint: the SFD curve
# -----------------------
import warnings

import matplotlib.pyplot as plt
from sktime.datasets import load_basic_motions, load_gunpoint

from skrepgeom.time_series import (
    ChannelRelevanceDisplay,
    DetachEnsembleClassifier,
    DetachRocketClassifier,
    SFDCurveDisplay,
)

warnings.filterwarnings("ignore", category=FutureWarning)

X_train, y_train = load_gunpoint(split="train", return_type="numpy3D")
X_test, y_test = load_gunpoint(split="test", return_type="numpy3D")

# store_training_features=True keeps the scaled training features so that
# ``reselect`` can refit the final ridge on another step later.
clf = DetachRocketClassifier(
    transformer="rocket", n_kernels=2_000, random_state=0, store_training_features=True
)
clf.fit(X_train, y_train)
print(
    f"kept {clf.n_features_selected_} of {clf.sfd_.n_features_in_} features "
    f"({clf.n_kernels_used_} kernels at predict time)"
)
print(f"test accuracy: pruned {clf.score(X_test, y_test):.3f}, "
      f"all features {clf.score_full(X_test, y_test):.3f}")

display = SFDCurveDisplay.from_estimator(clf)
display.ax_.set_title("GunPoint: Sequential Feature Detachment")

# %%
# A larger trade-off favours smaller models; ``reselect`` only refits the final ridge.
clf.reselect(fixed_fraction=0.01)
print(f"1 % of the features: test accuracy {clf.score(X_test, y_test):.3f}")

# %%
# BasicMotions: channel relevance of a Detach-ROCKET ensemble
# ------------------------------------------------------------
X_train, y_train = load_basic_motions(split="train", return_type="numpy3D")
X_test, y_test = load_basic_motions(split="test", return_type="numpy3D")
ensemble = DetachEnsembleClassifier(n_estimators=3, n_kernels=2_000, random_state=0, n_jobs=1)
ensemble.fit(X_train, y_train)
print(f"ensemble test accuracy: {ensemble.score(X_test, y_test):.3f}")

relevance = ChannelRelevanceDisplay.from_estimator(
    ensemble, channel_names=["acc x", "acc y", "acc z", "gyr x", "gyr y", "gyr z"]
)
relevance.ax_.set_title("BasicMotions: channel relevance")
plt.show()
