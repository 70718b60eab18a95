"""Side-by-side figures of skrepgeom.decomposition against SAELens, plus memory and hooks.

Cases, each in fresh worker processes at the same thread budget (default 2):

* **Training step** on the same activations (65,536 tokens of the residual stream
  after block 3 of a random ESM-2 8M, on motif proteins), 320 -> 10,240 latents,
  batch 4096: ours (ReLU + decoder-norm L1, and TopK k=32) against SAELens 6.54.12
  ``StandardTrainingSAE`` and ``TopKTrainingSAE`` driven as its trainer's
  ``_train_step`` does (training_forward_pass, firing statistics, backward, gradient
  clipping, Adam). Ours: ``(fit(max_steps=12) - fit(max_steps=2)) / 10`` seconds per
  step, which includes everything ``fit`` does. SAELens: median of 10 steps after 2
  warm-up steps. Targets (tokens/s, ours/anchor): ReLU >= 1.5, TopK >= 2.
* **Streaming memory**: ``partial_fit`` over a float32 memmap of 250k and 1M tokens
  x 320 in 65,536-token chunks; peak RSS (``ru_maxrss``) of a fresh process per size.
  Target: growth from 250k to 1M < 10 %, peak < 1.5 GB.
* **Hooks**: ``collect_activations(stop_at_layer=True)`` at layer 3 of 6 against a full
  ``output_hidden_states=True`` forward on the same batches, medians of 3 interleaved
  repeats. Target: >= 1.2x.

SAELens is installed into a throw-away venv (``torch==2.13.0`` from the CPU index
first, then ``sae-lens==6.54.12``); pass ``--anchor-venv DIR`` to keep it. Usage, from
the repository root::

    .venv/bin/python asv_bench/compare/decomposition.py [--threads 2] [--skip-anchor]
        [--activations [relu] [topk]] [--skip-memory] [--skip-hooks] [--memory-components N]
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness  # noqa: E402

N_TOKENS = 65_536
D_SAE = 10_240
BATCH = 4096
K = 32
L1 = 5.0
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"


# ------------------------------------------------------------------ workers
def make_activations(path, n_tokens, seed):
    """Residual stream after block 3 of a random ESM-2 8M on motif proteins -> ``path``."""
    import numpy as np

    from skrepgeom.datasets import esm_tokenize, make_motif_proteins, make_random_esm_model
    from skrepgeom.representations import collect_activations

    model = make_random_esm_model(random_state=seed)
    n_seq = n_tokens // 120 + 20
    seqs, _, _ = make_motif_proteins(n_seq, random_state=seed)
    X = collect_activations(model, esm_tokenize(seqs), "esm.encoder.layer.3", drop_token_ids=(0, 2))
    if X.shape[0] < n_tokens:
        X = np.concatenate([X] * (n_tokens // X.shape[0] + 1))
    np.save(path, np.ascontiguousarray(X[:n_tokens], dtype=np.float32))
    return {"n_tokens": n_tokens}


def ours_step(path, activation, threads):
    import numpy as np

    from skrepgeom.decomposition import SparseAutoencoder

    X = np.load(path)
    params = dict(n_components=D_SAE, activation=activation, k=K, l1_coef=L1, batch_size=BATCH,
                  learning_rate=3e-4, n_jobs=threads, random_state=0)
    SparseAutoencoder(max_steps=1, **params).fit(X[: 2 * BATCH])  # imports, allocator warm-up
    with _harness.Timer() as short:
        SparseAutoencoder(max_steps=2, **params).fit(X)
    with _harness.Timer() as long:
        SparseAutoencoder(max_steps=12, **params).fit(X)
    return {"seconds_per_step": (long.seconds - short.seconds) / 10}


def saelens_step(path, activation, threads):
    import numpy as np
    import torch
    from sae_lens import (
        StandardTrainingSAE,
        StandardTrainingSAEConfig,
        TopKTrainingSAE,
        TopKTrainingSAEConfig,
    )
    from sae_lens.saes.sae import TrainStepInput

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    X = torch.from_numpy(np.load(path))
    if activation == "relu":
        sae = StandardTrainingSAE(StandardTrainingSAEConfig(
            d_in=X.shape[1], d_sae=D_SAE, l1_coefficient=L1, dtype="float32", device="cpu"))
        coefficients = {"l1": L1}
    else:
        sae = TopKTrainingSAE(TopKTrainingSAEConfig(
            d_in=X.shape[1], d_sae=D_SAE, k=K, dtype="float32", device="cpu"))
        coefficients = {}
    optimizer = torch.optim.Adam(sae.parameters(), lr=3e-4)
    since_fired = torch.zeros(D_SAE)
    order = torch.randperm(X.shape[0])
    times = []
    for step in range(12):
        batch = X[order[(step * BATCH) % X.shape[0]:][:BATCH]]
        with _harness.Timer() as timer:
            sae.train()
            out = sae.training_forward_pass(TrainStepInput(
                sae_in=batch, coefficients=coefficients, dead_neuron_mask=since_fired > 1000,
                n_training_steps=step, is_logging_step=False))
            with torch.no_grad():
                firing = out.feature_acts.bool().float()
                did_fire = firing.sum(-2).bool()
                since_fired += 1
                since_fired[did_fire] = 0
            out.loss.backward()
            torch.nn.utils.clip_grad_norm_(sae.parameters(), 1.0)
            optimizer.step()
            optimizer.zero_grad()
        times.append(timer.seconds)
    times = sorted(times[2:])
    return {"seconds_per_step": times[len(times) // 2]}


def write_stream(path, n_tokens, chunk, seed):
    """A float32 ``(n_tokens, 320)`` ``.npy`` file, written chunk by chunk (own process)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n_tokens, 320))
    for start in range(0, n_tokens, chunk):
        out[start : start + chunk] = rng.standard_normal((min(chunk, n_tokens - start), 320))
    out.flush()
    return {"n_tokens": n_tokens}


def stream_memory(path, chunk, n_components):
    """Peak RSS of ``partial_fit`` over a memmap, one 65,536-token chunk at a time.

    Each chunk is read through its own memory map, closed afterwards: pages of a
    mapping kept open stay resident and would count in RSS whatever the estimator does.
    The peak therefore counts the current chunk's file pages (``partial_fit`` trains on
    the mapping without copying it), which are the only copy of that chunk in memory;
    ``rss_file_mb`` / ``rss_anon_mb`` split the resident set at the end (Linux).
    """
    import numpy as np

    from skrepgeom.decomposition import SparseAutoencoder

    n_tokens = np.load(path, mmap_mode="r").shape[0]
    sae = SparseAutoencoder(n_components=n_components, activation="topk", k=K, batch_size=BATCH,
                            random_state=0)
    ready = _harness.peak_rss_mb()
    for start in range(0, n_tokens, chunk):
        X = np.load(path, mmap_mode="r")
        block = X[start : start + chunk]
        sae.partial_fit(block)
        del X, block
    split = {}
    if Path("/proc/self/status").exists():
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(("RssFile:", "RssAnon:")):
                split[f"rss_{line[3:7].lower()}_mb"] = round(int(line.split()[1]) / 1024, 1)
    return {"peak_rss_mb": _harness.peak_rss_mb(), "ready_peak_rss_mb": ready,
            "n_tokens_seen": int(sae.n_tokens_seen_), **split}


def hook_speed(n_sequences, threads, seed):
    import torch

    from skrepgeom.datasets import esm_tokenize, make_motif_proteins, make_random_esm_model
    from skrepgeom.representations import collect_activations

    torch.set_num_threads(threads)
    model = make_random_esm_model(random_state=seed)
    seqs, _, _ = make_motif_proteins(n_sequences, random_state=seed)
    tokens = esm_tokenize(seqs)
    batches = [tokens[i : i + 32] for i in range(0, len(tokens), 32)]

    def full():
        with torch.inference_mode():
            for batch in batches:
                width = max(t.size for t in batch)
                ids = torch.ones(len(batch), width, dtype=torch.long)
                mask = torch.zeros(len(batch), width, dtype=torch.long)
                for row, t in enumerate(batch):
                    ids[row, : t.size] = torch.as_tensor(t)
                    mask[row, : t.size] = 1
                model(input_ids=ids, attention_mask=mask, output_hidden_states=True)

    def hooked():
        collect_activations(model, tokens, "esm.encoder.layer.3", batch_size=32)

    # interleaved repeats: on a shared machine the load drifts, and timing all of one
    # side before the other turns that drift into a bias of the ratio
    full()
    hooked()
    times = {"full": [], "hooked": []}
    for _ in range(3):
        for key, fn in (("full", full), ("hooked", hooked)):
            with _harness.Timer() as timer:
                fn()
            times[key].append(timer.seconds)
    t_full, t_hook = (sorted(times[key])[1] for key in ("full", "hooked"))
    return {"full_s": t_full, "hooked_s": t_hook,
            "n_tokens": int(sum(t.size for t in tokens))}


# ------------------------------------------------------------------- driver
def _anchor(path):
    python = _harness._venv_python(path)
    if not _harness.has_modules(python, ["torch"]):
        _harness.pip_install(python, ["--index-url", TORCH_CPU_INDEX, "torch==2.13.0"])
    return _harness.anchor_python(path, ["sae-lens==6.54.12"], ["sae_lens"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip-anchor", action="store_true")
    parser.add_argument("--anchor-venv", default=None)
    parser.add_argument("--memory-components", type=int, default=D_SAE)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--skip-hooks", action="store_true")
    parser.add_argument("--activations", nargs="*", default=["relu", "topk"],
                        choices=["relu", "topk"], help="training-step cases (none: skip them)")
    args = parser.parse_args()
    print(_harness.header("decomposition", threads=args.threads))
    threads = args.threads
    data = Path(_harness.temporary_directory("sae-data-")) / "acts.npy"
    if args.activations:
        made = _harness.run_worker(sys.executable, __file__, "make_activations",
                                   {"path": str(data), "n_tokens": N_TOKENS, "seed": 0},
                                   threads=threads)
        if "error" in made:
            print(f"activations: {made['error']}")
            return
    anchor = None
    if not args.skip_anchor and args.activations:
        anchor = _anchor(args.anchor_venv or _harness.temporary_directory("sae-anchor-"))
    targets = {"relu": 1.5, "topk": 2.0}
    for activation in args.activations:
        kwargs = {"path": str(data), "activation": activation, "threads": threads}
        ours = _harness.run_worker(sys.executable, __file__, "ours_step", kwargs, threads=threads)
        theirs = (_harness.run_worker(str(anchor), __file__, "saelens_step", kwargs, threads=threads)
                  if anchor is not None else {"error": "anchor not installed"})
        ours_tps = BATCH / ours["seconds_per_step"] if "error" not in ours else None
        theirs_tps = BATCH / theirs["seconds_per_step"] if "error" not in theirs else None
        print(f"{activation}: ours {ours.get('seconds_per_step', ours.get('error'))} s/step "
              f"({ours_tps and round(ours_tps)} tokens/s); SAELens "
              f"{theirs.get('seconds_per_step', theirs.get('error'))} s/step "
              f"({theirs_tps and round(theirs_tps)} tokens/s)")
        print(_harness.verdict(f"{activation} training tokens/s, ours / SAELens",
                               _harness.ratio(ours_tps, theirs_tps), targets[activation]))
        print(_harness.load_line())
    if not args.skip_memory:
        peaks = {}
        for n in (250_000, 1_000_000):
            stream = Path(_harness.temporary_directory("sae-stream-")) / "x.npy"
            _harness.run_worker(sys.executable, __file__, "write_stream",
                                {"path": str(stream), "n_tokens": n, "chunk": 65_536, "seed": 0},
                                threads=threads)
            result = _harness.run_worker(sys.executable, __file__, "stream_memory",
                                         {"path": str(stream), "chunk": 65_536,
                                          "n_components": args.memory_components}, threads=threads)
            peaks[n] = result.get("peak_rss_mb")
            print(f"partial_fit stream {n} tokens x 320 -> {args.memory_components}: {result}")
        growth = _harness.ratio(peaks[1_000_000], peaks[250_000])
        print(_harness.verdict("peak RSS 1M / 250k", growth, 1.10, higher_is_better=False))
        print(_harness.verdict("peak RSS at 1M tokens (MB)", peaks[1_000_000], 1500,
                               higher_is_better=False, unit=" MB"))
    if args.skip_hooks:
        return
    hooks = _harness.run_worker(sys.executable, __file__, "hook_speed",
                                {"n_sequences": 200, "threads": threads, "seed": 0}, threads=threads)
    print(f"hooks: {hooks}")
    print(_harness.verdict("collect_activations(stop_at_layer) speed-up over full forward",
                           _harness.ratio(hooks.get("full_s"), hooks.get("hooked_s")), 1.2))
    print(_harness.load_line())


if __name__ == "__main__":
    main()
