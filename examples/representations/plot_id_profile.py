"""
===========================================================
Intrinsic-dimension profile of a trained classifier's layers
===========================================================

A network trained to classify maps its inputs through representations of
changing intrinsic dimension (ID): the ID rises in the first layers, then falls
towards the output, the "hunchback" of Ansuini et al. (NeurIPS 2019). The layer
where the fall stops holds the most abstract representation: the one to probe.
:class:`~skrepgeom.representations.IntrinsicDimensionProfile` measures the ID of
every layer on the same points, the neighbourhood overlaps between layers and
with the labels, and chooses that layer.
"""

# %%
# A small classifier on the digits
# --------------------------------
# An MLP 64 -> 4 x 256 (ReLU) -> 10, trained with Adam on the standardised 8 x 8
# digits for 30 epochs. A network this small trains fastest on one thread.
import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler

from skrepgeom.representations import IntrinsicDimensionProfile, IntrinsicDimensionProfileDisplay

X, y = load_digits(return_X_y=True)
X = StandardScaler().fit_transform(X).astype(np.float32)

torch.set_num_threads(1)
torch.manual_seed(0)
blocks = []
for n_in in (64, 256, 256, 256):
    blocks += [torch.nn.Linear(n_in, 256), torch.nn.ReLU()]
model = torch.nn.Sequential(*blocks, torch.nn.Linear(256, 10))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
X_t, y_t = torch.from_numpy(X), torch.from_numpy(y)
for epoch in range(30):
    order = torch.randperm(len(X_t))
    for start in range(0, len(X_t), 64):
        batch = order[start : start + 64]
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(X_t[batch]), y_t[batch]).backward()
        optimizer.step()

# %%
# The representation of every layer
# ---------------------------------
# The input, the output of each ReLU and the logits, as a dict name -> array:
# the format :meth:`LayerActivations.transform_layers` returns for any model.
layers = {"input": X}
with torch.no_grad():
    hidden = X_t
    for module in model:
        hidden = module(hidden)
        if isinstance(module, torch.nn.ReLU):
            layers[f"h{len(layers)}"] = hidden.numpy()
layers["logits"] = hidden.numpy()
print({name: layer.shape for name, layer in layers.items()})

# %%
# ID profile, overlaps and the chosen layer
# -----------------------------------------
# ``subsample_factor=1, n_repeats=1`` fits TwoNN on all 1,797 digits in every
# layer. The default protocol (``subsample_factor=32, n_repeats=4``) measures it
# on disjoint random subsets, the same in every layer, at a larger length scale:
# meant for tens of thousands of samples.
profile = IntrinsicDimensionProfile(subsample_factor=1, n_repeats=1, random_state=0)
profile.fit(layers, y)
for name, dimension, label_overlap in zip(
    profile.layer_names_, profile.dimensions_, profile.overlap_labels_
):
    print(f"{name:>6}: ID {dimension:5.2f}   label overlap {label_overlap:.3f}")
print(f"peak at {profile.layer_names_[profile.peak_layer_]!r}, "
      f"selected layer {profile.selected_layer_name_!r}")

# %%
# The ID peaks in the first layers and falls by a third towards the logits,
# while the fraction of each digit's 10 nearest neighbours with the same label
# rises to 1 and the neighbourhoods drift away from those of the input.
display = IntrinsicDimensionProfileDisplay.from_estimator(profile)
display.ax_.set_title("digits MLP: intrinsic dimension across layers")
plt.show()

# %%
# The chosen layer is the transform's output, ready for a probe in a pipeline.
print(profile.transform(layers).shape, profile.get_feature_names_out()[:3])
