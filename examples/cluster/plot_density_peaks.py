"""
=========================================================
Density peaks: adaptive neighbourhoods, hierarchy and halo
=========================================================

:class:`~skrepgeom.cluster.DensityPeakClusterer` gives every point a neighbourhood
size k* (the largest one over which the density looks constant) and a PAk
log-density with an error bar. Density peaks that do not rise significantly above
their saddle are merged. When k* is capped too low, densities are smoothed and peaks
merge: five blobs read as four. ``max_neighbors="auto"`` lifts the cap until at
most 1 % of the points reach it.
"""

# %%
# Five blobs, k* capped at 99 against ``"auto"``
# ----------------------------------------------
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from skrepgeom.cluster import DensityPeakClusterer, PeakDendrogramDisplay
from skrepgeom.exceptions import KstarSaturationWarning

X, y = make_blobs(n_samples=5000, centers=5, random_state=0)

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always", KstarSaturationWarning)
    capped = DensityPeakClusterer(max_neighbors=100).fit(X)
print(caught[0].message if caught else "no warning")
auto = DensityPeakClusterer().fit(X)

fig, axes = plt.subplots(1, 2, figsize=(10, 4.5), sharey=True)
for ax, model, name in [(axes[0], capped, "max_neighbors=100"), (axes[1], auto, '"auto"')]:
    ax.scatter(*X.T, c=model.labels_, s=3, cmap="tab10")
    ax.scatter(*model.cluster_centers_.T, c="k", marker="x", s=60)
    ax.set_title(
        f"{name}: {model.n_clusters_} clusters, ARI {adjusted_rand_score(y, model.labels_):.3f}\n"
        f"k* saturated for {model.kstar_saturated_fraction_:.1%} "
        f"(max_neighbors_={model.max_neighbors_})"
    )

# %%
# The neighbourhood size k* of each point
# ---------------------------------------
# k* is large where the density is flat (blob centres) and small where it changes.
fig, ax = plt.subplots(figsize=(5.5, 4.5))
points = ax.scatter(*X.T, c=auto.kstar_, s=3, cmap="viridis")
fig.colorbar(points, ax=ax, label="k*")
ax.set_title("adaptive neighbourhood size")

# %%
# Hierarchy of the peaks
# ----------------------
# Leaves stand at their peak's log-density, joins at the saddle through which two
# groups connect. The saddle matrix holds the same numbers.
print(np.round(auto.saddle_density_, 2))
display = PeakDendrogramDisplay.from_estimator(auto)
display.ax_.set_title("peaks and saddles")

# %%
# Halo: points below their cluster's highest saddle
# -------------------------------------------------
# With ``halo=True`` the points whose log-density is below the highest saddle of
# their cluster get the label -1: only the cores, which are unambiguous, keep a label.
# Starting from the bound "auto" reached above skips its growth steps.
halo = DensityPeakClusterer(halo=True, max_neighbors=auto.max_neighbors_).fit(X)
fig, ax = plt.subplots(figsize=(5.5, 4.5))
core = halo.labels_ >= 0
ax.scatter(*X[~core].T, c="lightgrey", s=3, label="halo")
ax.scatter(*X[core].T, c=halo.labels_[core], s=3, cmap="tab10")
ax.legend()
ax.set_title(f"halo: {np.mean(~core):.1%} of the points")
plt.show()
