"""Synthetic data with a known answer: planted sparse dictionaries and motif proteins."""

import numpy as np
from sklearn.utils import check_random_state

__all__ = ["make_motif_proteins", "make_sparse_dictionary_data"]

# The 20 standard amino acids.
_AMINO_ACIDS = "ACDEFGHIKLMNPQRSTVWY"
# Default motifs built from six residues that the background never uses, so that each
# motif is visible to any model (trained or not) through its token embeddings.
_DEFAULT_MOTIFS = {"his_tag": "HHHHHH", "cys_knot": "CWCFC", "tyr_box": "YMYWY"}


def _check_pair(value, name, *, minimum, kind=float):
    pair = tuple(value)
    if len(pair) != 2 or pair[0] > pair[1] or pair[0] < minimum:
        raise ValueError(f"{name} must be a pair (low, high) with {minimum} <= low <= high, got {value!r}.")
    return kind(pair[0]), kind(pair[1])


def make_sparse_dictionary_data(
    n_samples,
    n_features,
    n_atoms,
    n_active,
    magnitude=(0.5, 1.5),
    noise=0.01,
    frequency_power=0.0,
    *,
    random_state=None,
):
    """Rows that are sparse non-negative combinations of random unit atoms, plus noise.

    Each row picks ``n_active`` distinct atoms (atom ``j`` with weight
    ``(j + 1) ** -frequency_power``, so 0 gives equally frequent atoms) with
    magnitudes uniform in ``magnitude``: the ground truth a sparse autoencoder should
    recover.

    Parameters
    ----------
    n_samples, n_features, n_atoms, n_active : int
        Rows, dimension, dictionary size and atoms per row (``n_active <= n_atoms``).
    magnitude : tuple of float, default=(0.5, 1.5)
        Range of the non-zero codes (``0 <= low <= high``).
    noise : float, default=0.01
        Standard deviation of the Gaussian noise added to every entry.
    frequency_power : float, default=0.0
        Power-law exponent of the atom frequencies.
    random_state : int, RandomState instance or None, default=None
        Seed.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        ``codes @ atoms + noise``.
    codes : ndarray of shape (n_samples, n_atoms)
        Planted codes, ``n_active`` non-zeros per row.
    atoms : ndarray of shape (n_atoms, n_features)
        Unit-norm atoms.

    Examples
    --------
    >>> from skrepgeom.datasets import make_sparse_dictionary_data
    >>> X, codes, atoms = make_sparse_dictionary_data(100, 8, 16, 3, random_state=0)
    >>> X.shape, codes.shape, atoms.shape
    ((100, 8), (100, 16), (16, 8))
    >>> int((codes > 0).sum(axis=1).max())
    3
    """
    for name, value in (("n_samples", n_samples), ("n_features", n_features),
                        ("n_atoms", n_atoms), ("n_active", n_active)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {name}={value!r}.")
    if n_active > n_atoms:
        raise ValueError(f"n_active={n_active} must be at most n_atoms={n_atoms}.")
    low, high = _check_pair(magnitude, "magnitude", minimum=0.0)
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got noise={noise!r}.")
    rng = check_random_state(random_state)
    atoms = rng.standard_normal((n_atoms, n_features))
    atoms /= np.linalg.norm(atoms, axis=1, keepdims=True)
    log_weights = -float(frequency_power) * np.log(np.arange(1, n_atoms + 1))
    # Gumbel top-k: n_active draws without replacement, proportional to the weights.
    keys = log_weights - np.log(-np.log(rng.uniform(size=(n_samples, n_atoms))))
    chosen = np.argpartition(-keys, n_active - 1, axis=1)[:, :n_active]
    codes = np.zeros((n_samples, n_atoms))
    np.put_along_axis(codes, chosen, rng.uniform(low, high, size=(n_samples, n_active)), axis=1)
    X = codes @ atoms + noise * rng.standard_normal((n_samples, n_features))
    return X, codes, atoms


def make_motif_proteins(
    n_sequences=200,
    length_range=(50, 200),
    motifs=None,
    motifs_per_sequence=(1, 3),
    *,
    random_state=None,
):
    """Random protein sequences with planted motifs and per-residue motif labels.

    The background residues are drawn uniformly from the standard amino acids that
    appear in no motif, so a motif's residues carry its signal even through a
    randomly initialised model.

    Parameters
    ----------
    n_sequences : int, default=200
        Number of sequences.
    length_range : tuple of int, default=(50, 200)
        Inclusive range of sequence lengths.
    motifs : dict of str to str, default=None
        ``{name: residues}``; ``None`` uses ``his_tag`` (``HHHHHH``), ``cys_knot``
        (``CWCFC``) and ``tyr_box`` (``YMYWY``).
    motifs_per_sequence : tuple of int, default=(1, 3)
        Inclusive range of motif occurrences per sequence (motifs drawn uniformly,
        placed without overlap).
    random_state : int, RandomState instance or None, default=None
        Seed.

    Returns
    -------
    sequences : list of str
        The sequences.
    residue_labels : list of ndarray of shape (L_i, n_motifs), dtype=bool
        ``True`` where residue ``i`` belongs to an occurrence of the motif.
    motif_names : list of str
        Column names of ``residue_labels``.

    Examples
    --------
    >>> from skrepgeom.datasets import make_motif_proteins
    >>> seqs, labels, names = make_motif_proteins(3, random_state=0)
    >>> names
    ['his_tag', 'cys_knot', 'tyr_box']
    >>> labels[0].shape == (len(seqs[0]), 3)
    True
    """
    motifs = dict(_DEFAULT_MOTIFS if motifs is None else motifs)
    if not motifs:
        raise ValueError("motifs must contain at least one motif.")
    for name, residues in motifs.items():
        bad = sorted(set(residues) - set(_AMINO_ACIDS))
        if not residues or bad:
            raise ValueError(f"motif {name!r} must be a non-empty string of amino acids, got {residues!r}.")
    lo_len, hi_len = _check_pair(length_range, "length_range", minimum=1, kind=int)
    lo_m, hi_m = _check_pair(motifs_per_sequence, "motifs_per_sequence", minimum=0, kind=int)
    longest = max(len(r) for r in motifs.values())
    if hi_m * longest > lo_len:
        raise ValueError(
            f"length_range={length_range} is too short for {hi_m} motif(s) of up to {longest} "
            "residues in every sequence."
        )
    used = set("".join(motifs.values()))
    background = np.array([a for a in _AMINO_ACIDS if a not in used])
    if background.size == 0:
        raise ValueError("the motifs use every amino acid: no residue is left for the background.")
    rng = check_random_state(random_state)
    names = list(motifs)
    sequences, labels = [], []
    for _ in range(n_sequences):
        length = int(rng.randint(lo_len, hi_len + 1))
        residues = background[rng.randint(0, background.size, size=length)]
        label = np.zeros((length, len(names)), dtype=bool)
        chosen = rng.randint(0, len(names), size=int(rng.randint(lo_m, hi_m + 1)))
        # Non-overlapping placement: split the free residues into gaps around the motifs.
        sizes = [len(motifs[names[c]]) for c in chosen]
        free = length - sum(sizes)
        cuts = np.sort(rng.randint(0, free + 1, size=len(sizes)))
        position, previous = 0, 0
        for c, size, cut in zip(chosen, sizes, cuts):
            position += cut - previous
            previous = cut
            residues[position : position + size] = list(motifs[names[c]])
            label[position : position + size, c] = True
            position += size
        sequences.append("".join(residues))
        labels.append(label)
    return sequences, labels, names
