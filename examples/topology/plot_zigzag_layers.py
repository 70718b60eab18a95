"""
=====================================================
Cycles that persist across layers: a pinched circle
=====================================================

Six "layers" represent the same 200 points. In the first three the points lie on
a circle; from layer 3 on, the circle is pinched at its middle into two loops.
:class:`~skrepgeom.topology.ZigzagPersistenceSimilarity` builds the kNN clique
complex of every layer, joins consecutive layers through their intersections and
follows every cycle with zigzag persistence. The persistence similarity
``PS_1[i, j]`` counts the 1-cycles alive on all layers from ``i`` to ``j``, and
layers that share most of their cycles with the others are proposed for pruning.
"""

# %%
# The data: one circle, then two loops
# ------------------------------------
import matplotlib.pyplot as plt
import numpy as np

from skrepgeom.topology import (
    PersistenceSimilarityDisplay,
    ZigzagBarcodeDisplay,
    ZigzagPersistenceSimilarity,
)

rng = np.random.default_rng(0)
n, n_layers = 200, 6
theta = 2 * np.pi * (np.arange(n) + rng.uniform(-0.3, 0.3, n)) / n
noise = 0.01 * rng.standard_normal((n, 2))
c = np.cos(theta)
layers = []
for layer in range(n_layers):
    s = layer / (n_layers - 1)
    x = c * (1 + 0.3 * s) + 0.35 * s * np.tanh(c / 0.05)
    y = np.sin(theta) * (1 - min(1.0, 1.6 * s) * np.exp(-((c / 0.3) ** 2)))
    layers.append(np.c_[x, y] + noise + 0.003 * rng.standard_normal((n, 2)))
X = np.stack(layers, axis=1)  # (n_samples, n_layers, n_features)

fig, axes = plt.subplots(1, n_layers, figsize=(12, 2.2), sharex=True, sharey=True)
for layer, ax in enumerate(axes):
    ax.scatter(*X[:, layer].T, s=3, c=theta, cmap="twilight")
    ax.set_title(f"layer {layer}")
    ax.set_aspect("equal")
    ax.set_axis_off()

# %%
# Zigzag persistence
# ------------------
# The circle's cycle lives on every layer; the second loop is born at layer 3.
zigzag = ZigzagPersistenceSimilarity(n_neighbors=5).fit(X)
print("Betti numbers per layer:\n", zigzag.betti_)
print("layer bars (dim, first layer, end layer):\n", zigzag.layer_barcode_)

display = ZigzagBarcodeDisplay.from_estimator(zigzag, dim=1)
display.figure_.subplots_adjust(bottom=0.3)

# %%
# Persistence similarity and the pruning cut
# ------------------------------------------
# Layers 3 to 5 share both loops, so their pruning score
# ``r(i) = (1/L) sum_j PS_1[i, j] / beta_1(j)`` is maximal; the last layer is
# never cut, which leaves layers 3 and 4.
print("PS_1:\n", zigzag.similarity_[1])
print("pruning score:", zigzag.pruning_score_.round(3))
print("pruned layers:", zigzag.pruned_layers_)
print("inter-layer persistence (alpha=2):", zigzag.ilp_profile(alpha=2.0).round(3))
PersistenceSimilarityDisplay.from_estimator(zigzag, dim=1)

# %%
# :meth:`~skrepgeom.topology.ZigzagPersistenceSimilarity.transform` drops the
# pruned layers and keeps the input form.
print("kept representation:", zigzag.transform(X).shape)
plt.show()
