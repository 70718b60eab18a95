"""
===========================================================
Which token carries the class? Attention knockout, patching
===========================================================

A two-layer GPT-2 is trained on sequences of eight tokens where the token at
position 2 is the class (one of four) and every other token is noise; the class is
read at the last position. :class:`~skrepgeom.representations.TokenAblation` stops
the later positions from attending to one position, in one layer or both;
:class:`~skrepgeom.representations.ActivationPatching` copies the token embedding of
one position from a sequence of another class.
"""

# %%
# A tiny model that copies the class token
# ----------------------------------------
import matplotlib.pyplot as plt
import numpy as np
import torch
from transformers import GPT2Config, GPT2LMHeadModel

from skrepgeom.representations import ActivationPatching, TokenAblation

SEQ_LEN, CLASS_POS, N_CLASSES = 8, 2, 4


def make_data(n, rng):
    X = rng.integers(4, 20, size=(n, SEQ_LEN))
    y = rng.integers(0, N_CLASSES, size=n)
    X[:, CLASS_POS] = y
    return X, y


def readout(output):
    """Scores of the four class tokens at the last position."""
    return output.logits[:, -1, :N_CLASSES]


torch.manual_seed(0)
torch.set_num_threads(1)  # a tiny model: one thread is the fastest
config = GPT2Config(n_layer=2, n_embd=64, n_head=2, vocab_size=24, n_positions=16,
                    resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, bos_token_id=0, eos_token_id=0)
model = GPT2LMHeadModel(config)
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
rng = np.random.default_rng(1)
for step in range(200):
    X, y = make_data(64, rng)
    loss = torch.nn.functional.cross_entropy(readout(model(torch.as_tensor(X))), torch.as_tensor(y))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
model.eval()

X_test, y_test = make_data(500, np.random.default_rng(2))
clean = TokenAblation(model, [], [], readout=readout).score(X_test, y_test)
print(f"clean accuracy: {clean:.3f}")

# %%
# Knock out the attention to each position
# ----------------------------------------
# Every position after ``p`` stops reading position ``p``: the attention weights are
# zeroed after the softmax and the rows are not renormalised. Only position 2
# matters; cutting it in the first layer alone is enough, since the second layer
# can no longer find the class anywhere.
settings = {"layer 0": [0], "layer 1": [1], "both layers": None}
accuracy = np.empty((len(settings), SEQ_LEN - 1))
for row, layers in enumerate(settings.values()):
    for p in range(SEQ_LEN - 1):
        ablation = TokenAblation(model, list(range(p + 1, SEQ_LEN)), [p], layers=layers, readout=readout)
        accuracy[row, p] = ablation.score(X_test, y_test)

fig, ax = plt.subplots(figsize=(6, 2.8))
image = ax.imshow(accuracy, vmin=0, vmax=1, cmap="viridis")
ax.set_xticks(range(SEQ_LEN - 1))
ax.set_yticks(range(len(settings)), list(settings))
ax.set_xlabel("knocked-out key position (read by all later positions)")
fig.colorbar(image, ax=ax, label="accuracy")
ax.set_title(f"chance = {1 / N_CLASSES:.2f}, clean = {clean:.2f}")
fig.tight_layout()

# %%
# Knockout and the -inf mask are different interventions
# ------------------------------------------------------
# ``"knockout_renormalized"`` masks the scores before the softmax, so the other keys
# share the removed mass; knockout leaves it removed. Both hide the class here, but
# the logits differ.
later = list(range(CLASS_POS + 1, SEQ_LEN))
knockout = TokenAblation(model, later, [CLASS_POS, 1], readout=readout)
masked = TokenAblation(model, later, [CLASS_POS, 1], mode="knockout_renormalized", readout=readout)
difference = np.abs(knockout.predict_scores(X_test) - masked.predict_scores(X_test)).max()
print(f"largest logit difference, knockout vs mask: {difference:.3f}")

# %%
# Patching the token embedding from another class
# ------------------------------------------------
# Row ``i`` gets the embedding of row ``i - 1`` at one position. At the class
# position the prediction follows the source; at a noise position it does not move.
X_source, y_source = np.roll(X_test, 1, axis=0), np.roll(y_test, 1)
flips = [
    ActivationPatching(model, "transformer.wte", p, readout=readout).flip_rate(X_test, X_source, y_source, y_test)
    for p in range(SEQ_LEN)
]
fig, ax = plt.subplots(figsize=(6, 2.5))
ax.bar(range(SEQ_LEN), flips)
ax.set_xlabel("patched position")
ax.set_ylabel("flip rate")
ax.set_ylim(0, 1)
fig.tight_layout()
plt.show()
