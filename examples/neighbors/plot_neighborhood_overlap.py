"""
===============================================
Neighbourhood overlap along the layers of a MLP
===============================================

How do a network's hidden layers re-arrange the data? Train a small
:class:`~sklearn.neural_network.MLPClassifier` on the digits, compute its hidden
representations by hand, and follow with :func:`~skrepgeom.neighbors.overlap_profile`
how many nearest neighbours each layer shares with the input, with the next layer,
and with the points of the same class.
"""

# %%
# A small MLP and its hidden layers
# ---------------------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

from skrepgeom.neighbors import neighborhood_overlap, overlap_profile

X, y = load_digits(return_X_y=True)
X = StandardScaler().fit_transform(X)
mlp = MLPClassifier(hidden_layer_sizes=(64, 32, 16), max_iter=200, random_state=0).fit(X, y)

layers = [X]
for weights, bias in zip(mlp.coefs_[:-1], mlp.intercepts_[:-1]):
    layers.append(np.maximum(layers[-1] @ weights + bias, 0.0))  # ReLU hidden layers
layers.append(mlp.predict_proba(X))
names = ["input", "hidden 1", "hidden 2", "hidden 3", "output"]

# %%
# Overlap profile
# ---------------
# ``first``: neighbours shared with the input; ``previous``: with the layer before;
# ``labels``: neighbours of the same class (class-balanced).
profile = overlap_profile(layers, n_neighbors=10, labels=y)
fig, ax = plt.subplots(figsize=(6, 4))
ax.plot(names, profile.first, "o-", label="with the input")
ax.plot(names[1:], profile.previous, "s-", label="with the previous layer")
ax.plot(names, profile.labels, "^-", label="with the labels")
ax.set_ylim(0, 1.05)
ax.set_ylabel("neighbourhood overlap (k = 10)")
ax.legend()
for name, value in zip(names, profile.labels):
    print(f"{name:9s} label overlap {value:.3f}")

# %%
# Chance level
# ------------
# Unrelated representations share about k / (n - 1) of their neighbours.
rng = np.random.default_rng(0)
print(f"random features: {neighborhood_overlap(X, rng.normal(size=X.shape), 10):.4f} "
      f"(chance {10 / (len(X) - 1):.4f})")
plt.show()
