"""Exact k nearest neighbours of dask arrays: block-pair tasks and a merge tree.

The brute-force kernels of the in-memory engine (``update_topk``,
``update_topk_columns``, ``exact_rerank``) run inside dask tasks, one task per pair
of row blocks; the scheduler (a ``distributed.Client`` or dask's local one) places
them. Each task returns the exact ``n_neighbors`` best of its pair, ``(block rows,
n_neighbors)`` numbers, and a left-deep tree of merge tasks reduces the lists of
every query block as they arrive. dask is imported only when a dask array or
``backend="dask"`` arrives.
"""

import contextlib
import mmap
import operator
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
              index_dtype=np.int64):
    """Exact ``n_neighbors`` best of one block pair: the task of the dask graph.

    ``rows`` and ``columns`` are blocks of ``X`` (or ``(FileRows, start, stop)`` to
    read), whose first rows have global indices ``row_start`` and ``column_start``.
    Returns ``(distances, indices)`` of the rows among the columns, and for
    ``kind="symmetric"`` also those of the columns among the rows; indices are
    global (of ``index_dtype``), unfilled entries are ``(inf, -1)``.
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
    result = _exact_best(rows, columns, row_index, n_neighbors, column_start, index_dtype)
    if kind != "symmetric":
        return result
    return result, _exact_best(columns, rows, column_index, n_neighbors, row_start,
                                index_dtype)


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


def _merge_in_arrival_order(parts):
    """Reduce a block's lists with a left-deep tree (a fold), in the order they are made.

    ``parts`` come in the order the scheduler produces them (row block by row
    block), so each merge can run as soon as its newest list exists: a block waits
    on at most one list besides its running one. A balanced tree of fan-in ``f``
    would hold up to ``f - 1`` finished lists per block until their siblings exist,
    ``(f - 1) N k`` numbers over all blocks, more than a worker's share of ``X`` at
    small ``n_features``.
    """
    import dask

    merge = dask.delayed(merge_task, pure=True)
    merged = parts[0]
    # Merges run before any further pair: they free the lists they consume.
    with dask.annotate(priority=1):
        for part in parts[1:]:
            merged = merge([merged, part])
    return merged


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
    pair = dask.delayed(pair_task, pure=True)
    pair2 = dask.delayed(pair_task, pure=True, nout=2)
    parts = [[] for _ in rows]
    # Pairs are prioritised row block by row block (a distributed scheduler honours
    # it): the order in which the merges below consume their lists.
    order = 0
    for i, (row_block, (row_start, _)) in enumerate(zip(rows, row_spans)):
        if not self_query:
            for column_block, (column_start, _) in zip(columns, column_spans):
                order -= 1
                with dask.annotate(priority=order):
                    parts[i].append(pair(row_block, column_block, center, n_neighbors,
                                         "query", row_start, column_start, side,
                                         index_dtype))
            continue
        order -= 1
        with dask.annotate(priority=order):
            parts[i].append(pair(row_block, None, center, n_neighbors, "diagonal",
                                 row_start, row_start, side, index_dtype))
        for j in range(i + 1, len(columns)):
            column_start = column_spans[j][0]
            order -= 1
            with dask.annotate(priority=order):
                for_rows, for_columns = pair2(row_block, columns[j], center, n_neighbors,
                                              "symmetric", row_start, column_start, side,
                                              index_dtype)
            parts[i].append(for_rows)
            parts[j].append(for_columns)
    finish = dask.delayed(_finished, pure=True, nout=2)
    results = [finish(_merge_in_arrival_order(block_parts)) for block_parts in parts]
    if compute:
        # The blocks come back one by one and are joined here: computing the dask
        # arrays would join them in a task on a worker first, which would then hold
        # all N lists twice, and their conversion to an array graph drops the
        # priorities set above.
        blocks = dask.compute(*results)
        return (np.concatenate([block[0] for block in blocks]),
                np.concatenate([block[1] for block in blocks]))
    distances, indices = [], []
    for (block_distances, block_indices), (start, stop) in zip(results, row_spans):
        shape = (stop - start, n_neighbors)
        distances.append(da.from_delayed(block_distances, shape=shape, dtype=np.float64))
        indices.append(da.from_delayed(block_indices, shape=shape, dtype=np.intp))
    return da.concatenate(distances), da.concatenate(indices)
