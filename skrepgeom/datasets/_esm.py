"""ESM-2 8M architecture with random weights, and its tokenizer (nothing is downloaded)."""

import numpy as np

__all__ = ["esm2_8m_config", "esm_tokenize", "make_random_esm_model"]

#: The ESM-2 alphabet: token id = position in this tuple.
ESM_ALPHABET = (
    "<cls>", "<pad>", "<eos>", "<unk>",
    "L", "A", "G", "V", "S", "E", "R", "T", "I", "D", "P", "K", "Q", "N", "F", "Y",
    "M", "H", "W", "C", "X", "B", "U", "Z", "O", ".", "-", "<null_1>", "<mask>",
)  # fmt: skip
_RESIDUE_IDS = {token: i for i, token in enumerate(ESM_ALPHABET) if len(token) == 1}
CLS_ID, PAD_ID, EOS_ID, MASK_ID = 0, 1, 2, 32


def _import_transformers():
    try:
        import transformers
    except ImportError as exc:
        raise ImportError(
            "This function needs the 'transformers' package: install skrepgeom's optional "
            "extra 'hf' (pip install 'skrepgeom[hf]')."
        ) from exc
    return transformers


def esm2_8m_config():
    """Configuration of ESM-2 8M (``facebook/esm2_t6_8M_UR50D``), built locally.

    Returns
    -------
    config : transformers.EsmConfig
        320 hidden units, 6 layers, 20 heads, feed-forward 1280, vocabulary 33,
        rotary positions, token dropout, ``<mask>`` = 32, ``<pad>`` = 1, no embedding
        LayerNorm before the encoder.

    Examples
    --------
    >>> from skrepgeom.datasets import esm2_8m_config
    >>> config = esm2_8m_config()
    >>> config.hidden_size, config.num_hidden_layers, config.vocab_size
    (320, 6, 33)
    """
    transformers = _import_transformers()
    return transformers.EsmConfig(
        vocab_size=33,
        hidden_size=320,
        num_hidden_layers=6,
        num_attention_heads=20,
        intermediate_size=1280,
        hidden_act="gelu",
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        max_position_embeddings=1026,
        layer_norm_eps=1e-5,
        position_embedding_type="rotary",
        token_dropout=True,
        mask_token_id=MASK_ID,
        pad_token_id=PAD_ID,
        emb_layer_norm_before=False,
    )


def make_random_esm_model(config=None, *, random_state=None):
    """A randomly initialised ``EsmForMaskedLM`` in eval mode.

    The weights are drawn inside ``torch.random.fork_rng()`` seeded from
    ``random_state``, so torch's global random stream is left as it was.

    Parameters
    ----------
    config : transformers.EsmConfig, default=None
        Architecture; ``None`` uses :func:`esm2_8m_config`.
    random_state : int, RandomState instance or None, default=None
        Seed of the initial weights.

    Returns
    -------
    model : transformers.EsmForMaskedLM
        The model, in eval mode, on the CPU.

    Examples
    --------
    >>> from skrepgeom.datasets import esm2_8m_config, make_random_esm_model
    >>> config = esm2_8m_config()
    >>> config.num_hidden_layers = 1
    >>> model = make_random_esm_model(config, random_state=0)
    >>> model.training
    False
    """
    import torch

    from skrepgeom.utils._torch import seed_from_random_state

    transformers = _import_transformers()
    if config is None:
        config = esm2_8m_config()
    seed = seed_from_random_state(random_state)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = transformers.EsmForMaskedLM(config)
    return model.eval()


def esm_tokenize(seqs):
    """Token ids of protein sequences in the ESM-2 alphabet, as ``<cls> residues <eos>``.

    Parameters
    ----------
    seqs : str or list of str
        Sequences of one-letter residue codes (case-insensitive).

    Returns
    -------
    input_ids : list of ndarray of shape (L_i + 2,), dtype=int64
        One array per sequence; residue ``i`` is token ``i + 1``.

    Examples
    --------
    >>> from skrepgeom.datasets import esm_tokenize
    >>> esm_tokenize(["MKV"])[0].tolist()
    [0, 20, 15, 7, 2]
    """
    if isinstance(seqs, str):
        seqs = [seqs]
    out = []
    for index, seq in enumerate(seqs):
        if not isinstance(seq, str):
            raise TypeError(f"sequence {index} must be a str, got {type(seq).__name__}.")
        try:
            ids = [_RESIDUE_IDS[c] for c in seq.upper()]
        except KeyError as exc:
            raise ValueError(
                f"sequence {index} contains {exc.args[0]!r}, which is not in the ESM-2 alphabet."
            ) from None
        out.append(np.array([CLS_ID, *ids, EOS_ID], dtype=np.int64))
    return out
