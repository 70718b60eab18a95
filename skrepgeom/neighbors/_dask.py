"""Exact k nearest neighbours of dask arrays: chains of block-pair tasks.

The brute-force kernels of the in-memory engine (``update_topk``,
``update_topk_columns``, ``exact_rerank``) run inside dask tasks, one task per pair
of row blocks; the scheduler (a ``distributed.Client`` or dask's local one) places
them. Each task finds the exact ``n_neighbors`` best of its pair, ``(block rows,
n_neighbors)`` numbers, and merges them into the lists of the previous task of the
same chain of pairs of each block; a last task per block merges its chains. dask is
imported only when a dask array or ``backend="dask"`` arrives.
"""

import contextlib
import mmap
import threading

import numpy as np

from skrepgeom.neighbors._kernels import exact_rerank, update_topk, update_topk_columns
from skrepgeom.utils._parallel import blas_threads
from skrepgeom.utils._validation import FLOAT_DTYPES, check_block

# Rows of a block, in sides of the square distance tile: tasks long enough to hide
# the scheduler's overhead (about a millisecond each), short enough to balance.
_BLOCK_TILES = 8
# Extra candidates re-ranked exactly, as in the in-memory brute backend.
_MIN_CANDIDATE_MARGIN = 4
# Chains of pair tasks per block: at least this many (see chains_per_block).
_MIN_CHAINS = 2


_blas_guard = threading.Lock()
_blas_tasks = [0, None]  # tasks running in this process, and their BLAS scope


@contextlib.contextmanager
def _one_blas_thread():
    """One BLAS thread while any pair task of this process runs.

    A dask worker runs one task per thread, so the tasks are the parallel workers
    of the package's ``n_jobs`` rule. The limit is process-wide: it is set by the
    first running task and restored by the last one, not by each.
    """
    with _blas_guard:
        if _blas_tasks[0] == 0:
            _blas_tasks[1] = blas_threads(1)
            _blas_tasks[1].__enter__()
        _blas_tasks[0] += 1
    try:
        yield
    finally:
        with _blas_guard:
            _blas_tasks[0] -= 1
            if _blas_tasks[0] == 0:
                _blas_tasks[1].__exit__(None, None, None)


def _tile_side(n_samples, itemsize, working_memory):
    from skrepgeom.neighbors._knn import _square_block

    return _square_block(n_samples, itemsize, working_memory, 1)


def block_rows(n_samples, itemsize, working_memory):
    """Rows per chunk when a NumPy array is wrapped: ``8`` tile sides, at most all."""
    return int(min(n_samples, _BLOCK_TILES * _tile_side(n_samples, itemsize, working_memory)))


class FileRows:
    """Rows of a C-ordered array stored in a file, read by the task that needs them.

    Tasks reading their blocks themselves keep no chunk of ``X`` in the workers'
    memory between tasks (a dask array's chunks stay there while any task needs
    them, which for an all-pairs search is nearly all of ``X``). The file must be
    readable at the same path on every worker and hold the current values (flush a
    writable map first).
    """

    def __init__(self, path, offset, dtype, shape):
        self.path, self.offset, self.dtype, self.shape = path, offset, np.dtype(dtype), shape

    def read(self, start, stop):
        """Rows ``start:stop`` as a new array (no mapping of the file stays open)."""
        n_features = self.shape[1]
        row_bytes = n_features * self.dtype.itemsize
        rows = np.fromfile(self.path, dtype=self.dtype, count=(stop - start) * n_features,
                           offset=self.offset + start * row_bytes)
        return rows.reshape(stop - start, n_features)

    @classmethod
    def of(cls, X):
        """The file behind a memory-mapped ``X``, or ``None``.

        ``X`` may be a view of a :class:`numpy.memmap` (``np.asarray`` of one, a
        block of rows); it must be 2-D, C-contiguous and of native float dtype.
        """
        memmap = X
        while memmap is not None and not isinstance(memmap, np.memmap):
            memmap = getattr(memmap, "base", None)
        if (
            memmap is None
            or getattr(memmap, "filename", None) is None
            or getattr(memmap, "_mmap", None) is None
            or X.ndim != 2
            or not X.flags.c_contiguous
            or not X.dtype.isnative
            or X.dtype not in FLOAT_DTYPES
        ):
            return None
        # np.memmap maps from the allocation boundary below its offset.
        mapped_from = memmap.offset - memmap.offset % mmap.ALLOCATIONGRANULARITY
        base = np.frombuffer(memmap._mmap, dtype=np.uint8).ctypes.data
        offset = mapped_from + X.__array_interface__["data"][0] - base
        return cls(memmap.filename, offset, X.dtype, X.shape)


def _read_checked(source, start, stop, name):
    return check_block(source.read(start, stop), start, name)


def as_dask_points(X, name, working_memory):
    """A dask array of ``X`` (already validated in memory) and its file source.

    A memory-mapped ``X`` becomes chunks read from its file by the tasks; any other
    array is cut into chunks of :func:`block_rows` rows held by the scheduler.
    """
    import dask
    import dask.array as da

    rows = block_rows(X.shape[0], X.dtype.itemsize, working_memory)
    source = FileRows.of(X)
    if source is None:
        return da.from_array(X, chunks=(rows, -1)), None
    read = dask.delayed(_read_checked, pure=True)
    blocks = [
        da.from_delayed(read(source, start, min(start + rows, X.shape[0]), name),
                        shape=(min(rows, X.shape[0] - start), X.shape[1]), dtype=X.dtype)
        for start in range(0, X.shape[0], rows)
    ]
    return da.concatenate(blocks), source


def _centered_norms(block, center, side):
    """Squared norms of the rows of ``block - center``, centred ``side`` rows at a time."""
    norms = np.empty(block.shape[0], dtype=block.dtype)
    for start in range(0, block.shape[0], side):
        centered = block[start:start + side] - center
        norms[start:start + side] = np.einsum("ij,ij->i", centered, centered)
    return norms


def _candidate_lists(rows, columns, center, n_rows_candidates, n_columns_candidates, kind, side):
    """Top candidates by ``||x||^2 - 2 q.x`` of a block pair, scanned in square tiles.

    ``kind`` is ``"diagonal"`` (a block against itself, own row excluded, each tile
    pair once as in the in-memory symmetric scan), ``"symmetric"`` (two different
    blocks of a self-query: the rows' lists and the columns' lists from the same
    tiles) or ``"query"`` (the rows' lists only). Indices are local to the block.
    """
    # Tiles are centred as they are used, not whole blocks: the same values (an
    # elementwise difference), two block copies less in memory, for side * n_features
    # subtractions per side**2 * n_features products.
    row_norms = _centered_norms(rows, center, side)
    column_norms = row_norms if kind == "diagonal" else _centered_norms(columns, center, side)
    n_rows, n_columns = rows.shape[0], columns.shape[0]
    row_key = np.full((n_rows, n_rows_candidates), np.inf, dtype=rows.dtype)
    row_index = np.full((n_rows, n_rows_candidates), -1, dtype=np.int64)
    column_key = np.full((n_columns, n_columns_candidates), np.inf, dtype=rows.dtype)
    column_index = np.full((n_columns, n_columns_candidates), -1, dtype=np.int64)
    tile = np.empty((side, side), dtype=rows.dtype)
    for r0 in range(0, n_rows, side):
        r1 = min(r0 + side, n_rows)
        scaled_rows = -2 * (rows[r0:r1] - center)
        for c0 in range(r0 if kind == "diagonal" else 0, n_columns, side):
            c1 = min(c0 + side, n_columns)
            products = tile[: r1 - r0, : c1 - c0]
            np.matmul(scaled_rows, (columns[c0:c1] - center).T, out=products)
            if n_rows_candidates:
                update_topk(products, column_norms[c0:c1], c0, r0,
                            kind == "diagonal" and c0 == r0, row_key[r0:r1], row_index[r0:r1])
            if kind == "diagonal" and c0 != r0:
                update_topk_columns(products, row_norms[r0:r1], r0, c0, row_key, row_index)
            elif kind == "symmetric" and n_columns_candidates:
                update_topk_columns(products, row_norms[r0:r1], r0, c0, column_key, column_index)
    return row_index, column_index


def _exact_best(query, data, candidates, n_neighbors, data_start, index_dtype):
    """Exact float64 distances of the candidates, best ``n_neighbors`` (padded)."""
    distances = np.full((query.shape[0], n_neighbors), np.inf)
    indices = np.full((query.shape[0], n_neighbors), -1, dtype=index_dtype)
    kept = min(n_neighbors, candidates.shape[1])
    if kept:
        best_distances = np.empty((query.shape[0], kept))
        best_indices = np.empty((query.shape[0], kept), dtype=np.int64)
        exact_rerank(query, data, candidates, kept, best_distances, best_indices)
        distances[:, :kept] = best_distances
        indices[:, :kept] = best_indices + data_start
    return distances, indices


def _load(block, start, name):
    if isinstance(block, tuple):
        source, start, stop = block
        block = _read_checked(source, start, stop, name)
    return np.ascontiguousarray(block)


def pair_task(rows, columns, center, n_neighbors, kind, row_start, column_start, side,
              index_dtype=np.int64, row_list=None, column_list=None):
    """Exact ``n_neighbors`` best of one block pair: the task of the dask graph.

    ``rows`` and ``columns`` are blocks of ``X`` (or ``(FileRows, start, stop)`` to
    read), whose first rows have global indices ``row_start`` and ``column_start``.
    Returns ``(distances, indices)`` of the rows among the columns, and for
    ``kind="symmetric"`` also those of the columns among the rows; indices are
    global (of ``index_dtype``), unfilled entries are ``(inf, -1)``. ``row_list`` and
    ``column_list``, the best lists found so far for the rows and the columns, are
    merged into the results (:func:`merge_task`).
    """
    rows = _load(rows, row_start, "query" if kind == "query" else "X")
    columns = rows if kind == "diagonal" else _load(columns, column_start, "X")
    margin = max(_MIN_CANDIDATE_MARGIN, n_neighbors // 2)
    available = columns.shape[0] - int(kind == "diagonal")
    n_rows_candidates = min(available, n_neighbors + margin)
    n_columns_candidates = min(rows.shape[0], n_neighbors + margin) if kind == "symmetric" else 0
    with _one_blas_thread():
        row_index, column_index = _candidate_lists(
            rows, columns, center, n_rows_candidates, n_columns_candidates, kind, side
        )
    result = _merged(row_list, _exact_best(rows, columns, row_index, n_neighbors,
                                           column_start, index_dtype))
    if kind != "symmetric":
        return result
    return result, _merged(column_list, _exact_best(columns, rows, column_index,
                                                    n_neighbors, row_start, index_dtype))


def _merged(running, new):
    return new if running is None else merge_task([running, new])


def merge_task(parts):
    """The ``n_neighbors`` best of several candidate lists, ties by smaller index."""
    n_neighbors = parts[0][0].shape[1]
    distances = np.concatenate([part[0] for part in parts], axis=1)
    indices = np.concatenate([part[1] for part in parts], axis=1)
    order = np.lexsort((indices, distances), axis=1)[:, :n_neighbors]
    return (np.take_along_axis(distances, order, axis=1),
            np.take_along_axis(indices, order, axis=1))


def _finished(merged):
    """A block's merged ``(distances, indices)``, indices as ``intp``."""
    return merged[0], merged[1].astype(np.intp)


def _scheduler_threads():
    """Threads of the current dask scheduler: the default client's, or the local pool's."""
    import os

    import dask

    try:
        from distributed import default_client

        threads = default_client().nthreads()
    except (ImportError, ValueError):
        threads = None
    # An asynchronous client answers with an awaitable, which cannot be waited for here.
    if isinstance(threads, dict):
        return sum(threads.values())
    return dask.config.get("num_workers", None) or os.cpu_count() or 1


def chains_per_block(n_row_blocks, n_column_blocks, self_query, threads):
    """Chains of pair tasks per row block, for ``threads`` tasks running at once.

    The pairs of a block are dealt to its chains in turn, so a chain holds about
    ``n_column_blocks / c`` pairs and the longest path of the graph about twice that
    (a self-query's pair (i, j) waits for a pair of block i and one of block j).
    ``c`` keeps that path under a quarter of each thread's share of the pairs, at
    least ``_MIN_CHAINS``, at most one chain per pair.
    """
    n_pairs = (n_row_blocks * (n_row_blocks + 1) // 2 if self_query
               else n_row_blocks * n_column_blocks)
    wanted = -(-8 * threads * n_column_blocks // n_pairs)
    return int(min(n_column_blocks, max(_MIN_CHAINS, wanted)))


def _block_inputs(X, source):
    """Per row block: what a task receives (a chunk, or where to read it) and its rows."""
    starts = np.r_[0, np.cumsum(X.chunks[0])]
    spans = list(zip(starts[:-1].tolist(), starts[1:].tolist()))
    if source is not None:
        return [(source, a, b) for a, b in spans], spans
    return list(X.to_delayed().ravel()), spans


def dask_kneighbors(X, n_neighbors, *, query=None, working_memory=None, compute=False,
                    x_source=None, query_source=None):
    """Exact neighbours of validated dask arrays ``X`` and ``query`` (see ``kneighbors``).

    ``x_source``/``query_source``: the :class:`FileRows` the chunks come from, when
    the tasks should read their blocks themselves.
    """
    import dask
    import dask.array as da
    from dask.base import tokenize

    self_query = query is None
    side = _tile_side(X.shape[0], X.dtype.itemsize, working_memory)
    # Centre on X's mean rounded to X's dtype, as the in-memory scan does.
    center = X.mean(axis=0, dtype=np.float64).astype(X.dtype).to_delayed().ravel()[0]
    columns, column_spans = _block_inputs(X, x_source)
    if self_query:
        rows, row_spans = columns, column_spans
    else:
        rows, row_spans = _block_inputs(query, query_source)
    # Lists in flight hold 4-byte indices when every global index fits: 12 bytes a
    # neighbour instead of 16 (the results are widened to intp at the end).
    index_dtype = np.int32 if X.shape[0] < 2**31 else np.int64
    n_columns = len(columns)
    # Every pair task merges its lists into the best lists found so far for its rows
    # and for its columns, received from the previous pair task of the same chain:
    # the pairs of a block form chains, and the cluster holds one running list per
    # chain whatever order the scheduler picks. (Merge tasks folding finished lists
    # keep every list made before the one they wait for; priorities could make them
    # run in time, but a lazy result loses them: array graphs are fused into a plain
    # dict before they reach the scheduler, and dask's own order let the lists pile
    # up.) Pair (i, j) is in chain j % c of block i and chain i % c of block j; the c
    # chains of a block are merged at the end. More chains mean shorter paths through
    # the graph and c running lists per block; c is sized for the threads of the
    # scheduler current when the graph is built.
    n_chains = chains_per_block(len(rows), n_columns, self_query, _scheduler_threads())
    # The chains shape what a pair task returns, so they are part of every key: a graph
    # built for another scheduler must not reuse the results of this one.
    token = tokenize(X, query, n_neighbors, side, index_dtype, n_chains)
    running = [[None] * n_chains for _ in rows]
    order = 0
    for i, (row_block, (row_start, _)) in enumerate(zip(rows, row_spans)):
        for j in range(i, n_columns) if self_query else range(n_columns):
            kind = "query" if not self_query else "diagonal" if j == i else "symmetric"
            # Pairs run row block by row block where the scheduler keeps priorities.
            order -= 1
            with dask.annotate(priority=order):
                result = dask.delayed(pair_task, nout=2 if kind == "symmetric" else None)(
                    row_block, None if kind == "diagonal" else columns[j], center,
                    n_neighbors, kind, row_start, column_spans[j][0], side, index_dtype,
                    running[i][j % n_chains],
                    running[j][i % n_chains] if kind == "symmetric" else None,
                    dask_key_name=f"kneighbors-pair-{token}-{i}-{j}",
                )
            if kind == "symmetric":
                running[i][j % n_chains], running[j][i % n_chains] = result
            else:
                running[i][j % n_chains] = result
    merge = dask.delayed(merge_task)
    merged = [
        merge([chain for chain in chains if chain is not None],
              dask_key_name=f"kneighbors-merge-{token}-{i}")
        for i, chains in enumerate(running)
    ]
    finish = dask.delayed(_finished, nout=2)
    results = [finish(block, dask_key_name=f"kneighbors-block-{token}-{i}")
               for i, block in enumerate(merged)]
    if compute:
        # The blocks come back one by one and are joined here: computing dask arrays
        # joins their chunks in a task on a worker first (dask's finalize), which then
        # holds all N lists twice.
        blocks = dask.compute(*results)
        return (np.concatenate([block[0] for block in blocks]),
                np.concatenate([block[1] for block in blocks]))
    distances, indices = [], []
    for (block_distances, block_indices), (start, stop) in zip(results, row_spans):
        shape = (stop - start, n_neighbors)
        distances.append(da.from_delayed(block_distances, shape=shape, dtype=np.float64))
        indices.append(da.from_delayed(block_indices, shape=shape, dtype=np.intp))
    return da.concatenate(distances), da.concatenate(indices)
