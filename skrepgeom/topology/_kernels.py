"""Numba kernels of the topology area (tested against NumPy and brute force in
``tests/topology/test_kernels.py``)."""

import numpy as np
from numba import njit

# Error codes of :func:`zigzag_pairs`, turned into messages by ``_zigzag.py``.
OK = 0
INSERT_PRESENT = 1
INSERT_MISSING_FACE = 2
REMOVE_ABSENT = 3
REMOVE_WITH_COFACES = 4


@njit(cache=True, nogil=True)
def _intersect_sorted(a, a_start, a_stop, b, b_start, b_stop, out):
    """Write the common values of two sorted runs into ``out``; return their count."""
    i = a_start
    j = b_start
    n_out = 0
    while i < a_stop and j < b_stop:
        if a[i] < b[j]:
            i += 1
        elif a[i] > b[j]:
            j += 1
        else:
            out[n_out] = a[i]
            n_out += 1
            i += 1
            j += 1
    return n_out


@njit(cache=True, nogil=True)
def clique_enumeration(indptr, indices, max_dim, limit, offsets, out):
    """Count or list the cliques of a graph up to ``max_dim + 1`` vertices.

    The graph is given by its *forward* adjacency in CSR form: row ``v`` holds the
    sorted neighbours of ``v`` with a larger index. Cliques are visited depth first
    from their smallest vertex, adding vertices in increasing order, so the
    cliques of each dimension come out in lexicographic order.

    With an empty ``out`` the kernel counts: it returns ``counts`` of shape
    ``(n_vertices, max_dim + 1)`` (cliques of each dimension whose smallest vertex
    is ``v``) and the total, stopping early once the total exceeds ``limit``.
    Otherwise it writes clique ``c`` of dimension ``q`` whose smallest vertex is
    ``v`` at row ``offsets[v, q] + (rank among those)`` of ``out`` (columns
    ``0..q``; the rest are left untouched).
    """
    n = indptr.shape[0] - 1
    fill = out.shape[0] > 0
    counts = np.zeros((n, max_dim + 1), dtype=np.int64)
    max_degree = 0
    for v in range(n):
        max_degree = max(max_degree, indptr[v + 1] - indptr[v])
    candidates = np.empty((max_dim + 1, max_degree + 1), dtype=np.int64)
    n_candidates = np.zeros(max_dim + 1, dtype=np.int64)
    position = np.zeros(max_dim + 1, dtype=np.int64)
    prefix = np.empty(max_dim + 1, dtype=np.int64)
    total = 0
    for v in range(n):
        prefix[0] = v
        if fill:
            out[offsets[v, 0], 0] = v
        counts[v, 0] = 1
        total += 1
        if max_dim == 0:
            continue
        degree = indptr[v + 1] - indptr[v]
        for i in range(degree):
            candidates[1, i] = indices[indptr[v] + i]
        n_candidates[1] = degree
        position[1] = 0
        depth = 1
        while depth >= 1:
            if position[depth] >= n_candidates[depth]:
                depth -= 1
                continue
            u = candidates[depth, position[depth]]
            position[depth] += 1
            prefix[depth] = u
            if fill:
                row = offsets[v, depth] + counts[v, depth]
                for i in range(depth + 1):
                    out[row, i] = prefix[i]
            counts[v, depth] += 1
            total += 1
            if total > limit:
                return counts, total
            if depth < max_dim:
                # Common neighbours of the prefix that are larger than u: the rest
                # of this level's candidates, intersected with u's forward list.
                n_next = _intersect_sorted(
                    candidates[depth],
                    position[depth],
                    n_candidates[depth],
                    indices,
                    indptr[u],
                    indptr[u + 1],
                    candidates[depth + 1],
                )
                if n_next > 0:
                    depth += 1
                    n_candidates[depth] = n_next
                    position[depth] = 0
    return counts, total


@njit(cache=True, nogil=True)
def _row_compare(a, i, b, j, width):
    for c in range(width):
        if a[i, c] < b[j, c]:
            return -1
        if a[i, c] > b[j, c]:
            return 1
    return 0


@njit(cache=True, nogil=True)
def lex_search(sorted_rows, queries):
    """Index of each query row in lexicographically sorted rows, or -1 if absent."""
    n_rows, width = sorted_rows.shape
    result = np.empty(queries.shape[0], dtype=np.int64)
    for q in range(queries.shape[0]):
        low = 0
        high = n_rows
        while low < high:
            middle = (low + high) >> 1
            if _row_compare(sorted_rows, middle, queries, q, width) < 0:
                low = middle + 1
            else:
                high = middle
        if low < n_rows and _row_compare(sorted_rows, low, queries, q, width) == 0:
            result[q] = low
        else:
            result[q] = -1
    return result


@njit(cache=True, nogil=True)
def lex_unique_sorted(rows):
    """Mask of the first of each run of equal rows in lexicographically sorted rows."""
    n, width = rows.shape
    keep = np.ones(n, dtype=np.bool_)
    for i in range(1, n):
        keep[i] = _row_compare(rows, i, rows, i - 1, width) != 0
    return keep


@njit(cache=True)
def _grow(buffer, needed):
    if needed <= buffer.shape[0]:
        return buffer
    size = buffer.shape[0]
    while size < needed:
        size *= 2
    bigger = np.empty(size, dtype=buffer.dtype)
    bigger[: buffer.shape[0]] = buffer
    return bigger


@njit(cache=True)
def _symmetric_difference(a, a_len, b, b_start, b_len, out):
    """Z/2 sum of the sorted column ``a[:a_len]`` and ``b[b_start:b_start + b_len]``."""
    i = 0
    j = b_start
    b_stop = b_start + b_len
    n_out = 0
    # Branch-free merge (the branches are unpredictable): an entry present in both
    # is written but not kept, since the output position does not advance.
    while i < a_len and j < b_stop:
        x = a[i]
        y = b[j]
        out[n_out] = min(x, y)
        n_out += x != y
        i += x <= y
        j += y <= x
    while i < a_len:
        out[n_out] = a[i]
        i += 1
        n_out += 1
    while j < b_stop:
        out[n_out] = b[j]
        j += 1
        n_out += 1
    return n_out


# Vertices one search for a short cycle may reach before giving up.
PATH_SEARCH_LIMIT = 1000


@njit(cache=True, nogil=True)
def bounded_path(u, v, limit, stamp, adj_start, adj_len, adj_node, adj_edge, seen,
                 parent_node, parent_edge, queue, max_visit, path):
    """Edges of a path from ``u`` to ``v`` through edges with id ``<= limit``.

    Bidirectional breadth-first search in the graph stored as adjacency runs
    ``adj_node``/``adj_edge[adj_start[x] : adj_start[x] + adj_len[x]]``; the side
    with the smaller frontier grows a whole level at a time, so a path with the
    fewest edges is usually (not always) found. ``seen`` (2, n) marks the vertices
    reached from each end with ``stamp``, which must differ from every earlier
    call's. Writes the edge ids to ``path`` and returns their count, or -1 when no
    path exists or the search reached ``max_visit`` vertices first.
    """
    seen[0, u] = stamp
    seen[1, v] = stamp
    parent_node[0, u] = -1
    parent_node[1, v] = -1
    queue[0, 0] = u
    queue[1, 0] = v
    head_a, tail_a, head_b, tail_b = 0, 1, 0, 1
    visited = 2
    while head_a < tail_a and head_b < tail_b and visited < max_visit:
        side = 0 if tail_a - head_a <= tail_b - head_b else 1
        other = 1 - side
        head = head_a if side == 0 else head_b
        tail = tail_a if side == 0 else tail_b
        level_end = tail
        while head < level_end:
            x = queue[side, head]
            head += 1
            for a in range(adj_start[x], adj_start[x] + adj_len[x]):
                edge = adj_edge[a]
                if edge > limit:
                    continue
                y = adj_node[a]
                if seen[other, y] == stamp:
                    path[0] = edge
                    n = 1
                    for s, z in ((side, x), (other, y)):
                        while parent_node[s, z] >= 0:
                            path[n] = parent_edge[s, z]
                            n += 1
                            z = parent_node[s, z]
                    return n
                if seen[side, y] != stamp:
                    seen[side, y] = stamp
                    parent_node[side, y] = x
                    parent_edge[side, y] = edge
                    queue[side, tail] = y
                    tail += 1
                    visited += 1
        if side == 0:
            head_a, tail_a = head, tail
        else:
            head_b, tail_b = head, tail
    return -1


@njit(cache=True)
def _reduce(column_dim, column_ptr, column_idx, column_op, n_operations):
    n_columns = column_dim.shape[0]
    # Rows fit in int32 (checked by the caller): half the memory traffic of int64.
    heap = np.empty(max(2 * column_idx.shape[0], 16), dtype=np.int32)
    heap[: column_idx.shape[0]] = column_idx
    heap_end = column_idx.shape[0]
    start = column_ptr[:-1].copy()
    length = column_ptr[1:] - column_ptr[:-1]
    pivot_column = np.full(n_columns, -1, dtype=np.int64)
    cleared = np.zeros(n_columns, dtype=np.bool_)
    work = np.empty(64, dtype=np.int32)
    spare = np.empty(64, dtype=np.int32)
    max_dim = 0
    for j in range(n_columns):
        max_dim = max(max_dim, column_dim[j])
    n_pairs = 0
    birth = np.empty(n_columns // 2 + 1, dtype=np.int64)
    death = np.empty(n_columns // 2 + 1, dtype=np.int64)

    # The graph of the edge cells present just after the removal being coned,
    # swept backwards in time along the cone columns (see reduce_cone_filtration).
    short_cycles = n_operations >= 0
    n_cells = (n_columns - 1) // 2 if short_cycles else 0
    degree = np.zeros(n_cells + 1, dtype=np.int64)
    for c in range(1, n_cells + 1):
        if column_dim[c] == 1:
            degree[column_idx[column_ptr[c]]] += 1
            degree[column_idx[column_ptr[c] + 1]] += 1
    adj_start = np.zeros(n_cells + 2, dtype=np.int64)
    adj_start[1:] = np.cumsum(degree)
    adj_len = np.zeros(n_cells + 1, dtype=np.int64)
    adj_node = np.empty(adj_start[-1], dtype=np.int64)
    adj_edge = np.empty(adj_start[-1], dtype=np.int64)
    slot = np.full((n_cells + 1, 2), -1, dtype=np.int64)
    seen = np.zeros((2, n_cells + 1), dtype=np.int64)
    parent_node = np.empty((2, n_cells + 1), dtype=np.int64)
    parent_edge = np.empty((2, n_cells + 1), dtype=np.int64)
    queue = np.empty((2, n_cells + 1), dtype=np.int64)
    path = np.empty(n_cells + 1, dtype=np.int64)
    stamp = 0
    newest = n_cells
    n_searched = 0
    n_short_cycles = 0

    for dim in range(max_dim, 0, -1):
        for j in range(n_columns):
            if column_dim[j] != dim:
                continue
            if short_cycles and dim == 2 and j > n_cells:
                # Drop the edges inserted after this removal, then look for a path
                # between the ends of the removed edge through those left.
                removal = column_op[j]
                while newest >= 1 and column_op[newest] > removal:
                    c = newest
                    newest -= 1
                    if slot[c, 0] < 0:
                        continue
                    for side in range(2):
                        x = column_idx[column_ptr[c] + side]
                        last = adj_start[x] + adj_len[x] - 1
                        moved = adj_edge[last]
                        adj_node[slot[c, side]] = adj_node[last]
                        adj_edge[slot[c, side]] = moved
                        slot[moved, 0 if column_idx[column_ptr[moved]] == x else 1] = slot[c, side]
                        adj_len[x] -= 1
                    slot[c, 0] = -1
                    slot[c, 1] = -1
                e = column_idx[column_ptr[j]]
                u = column_idx[column_ptr[e]]
                v = column_idx[column_ptr[e] + 1]
                if not cleared[j] and removal < n_operations:
                    n_searched += 1
                    # Older edges first: then the cycle's pivot is the removed edge.
                    # Failing that, allow newer and newer edges.
                    n_path = -1
                    limit = e
                    gap = 64
                    while n_path < 0:
                        stamp += 1
                        n_path = bounded_path(
                            u, v, limit, stamp, adj_start, adj_len, adj_node, adj_edge, seen,
                            parent_node, parent_edge, queue, PATH_SEARCH_LIMIT, path,
                        )
                        if limit > n_cells:
                            break
                        limit = e + gap
                        gap *= 4
                    if n_path > 0:
                        path[n_path] = e
                        cycle = np.sort(path[: n_path + 1])
                        heap = _grow(heap, heap_end + n_path + 1)
                        heap[heap_end : heap_end + n_path + 1] = cycle
                        start[j] = heap_end
                        length[j] = n_path + 1
                        heap_end += n_path + 1
                        n_short_cycles += 1
                for side in range(2):
                    x = u if side == 0 else v
                    s = adj_start[x] + adj_len[x]
                    adj_node[s] = v if side == 0 else u
                    adj_edge[s] = e
                    adj_len[x] += 1
                    slot[e, side] = s
            if cleared[j] or length[j] == 0:
                continue
            low = heap[start[j] + length[j] - 1]
            if pivot_column[low] >= 0:
                work = _grow(work, length[j])
                work[: length[j]] = heap[start[j] : start[j] + length[j]]
                n_work = length[j]
                while n_work > 0 and pivot_column[low] >= 0:
                    other = pivot_column[low]
                    spare = _grow(spare, n_work + length[other])
                    work = _grow(work, n_work + length[other])
                    n_work = _symmetric_difference(
                        work, n_work, heap, start[other], length[other], spare
                    )
                    work, spare = spare, work
                    if n_work > 0:
                        low = work[n_work - 1]
                if n_work == 0:
                    length[j] = 0
                    continue
                heap = _grow(heap, heap_end + n_work)
                heap[heap_end : heap_end + n_work] = work[:n_work]
                start[j] = heap_end
                length[j] = n_work
                heap_end += n_work
            pivot_column[low] = j
            cleared[low] = True
            birth[n_pairs] = low
            death[n_pairs] = j
            n_pairs += 1
    return birth[:n_pairs], death[:n_pairs], n_searched, n_short_cycles


@njit(cache=True)
def reduce_boundary(column_dim, column_ptr, column_idx):
    """Pairs of a Z/2 boundary matrix, reduced with the twist (clearing) optimisation.

    Columns are filtration order; column ``j`` has dimension ``column_dim[j]`` and
    the sorted rows ``column_idx[column_ptr[j]:column_ptr[j + 1]]``. Dimensions are
    reduced from the highest down, and a column that is the pivot of a reduced
    column of the next dimension is cleared (it would reduce to zero). A reduced
    column is stored once, appended to a heap after its reduction.

    Returns
    -------
    birth, death : ndarray of int64
        Persistence pairs: ``death[i]`` is the column whose reduced pivot is
        ``birth[i]``.
    """
    birth, death, _, _ = _reduce(column_dim, column_ptr, column_idx, np.empty(0, dtype=np.int64),
                                 -1)
    return birth, death


@njit(cache=True)
def reduce_cone_filtration(column_dim, column_ptr, column_idx, column_op, n_operations):
    """Pairs of the coned filtration of :func:`cone_filtration`, with short cycles.

    The same pairs as :func:`reduce_boundary`, found with far fewer column
    additions. The cone over an edge ``e = uv`` removed at operation ``r`` has
    boundary ``e + cone(u) + cone(v)``. Every edge cell present just after ``r``
    is removed later, so its cone is an earlier column; adding the cones over the
    edges of a ``u``-``v`` path ``P`` of such edges gives ``e + P``, a cycle of
    cells. A column plus earlier columns of its dimension has the same reduced
    pivot, so that cycle replaces the cone's column (cleared columns are left
    alone). The plain column instead walks, addition by addition, through the
    cones over edges inserted up to the end of the zigzag. The path goes through
    edges older than ``e`` when it can (the cycle's pivot is then ``e``), else
    through edges at most 64, 256, ... cells newer, else any present edge; when a
    search (see :func:`bounded_path`) finds none the column is reduced as it is.
    Cones over the final emptying (removals numbered from ``n_operations``) are
    reduced as they are too: it removes the newest cell first, so their plain
    reduction is already short and a search would cost more than it saves.

    The present edges are kept as a graph on the vertex cells, swept backwards in
    time along the cone columns: the edge under a cone joins it after its search
    and leaves once the sweep passes the edge's insertion.

    Returns
    -------
    birth, death : ndarray of int64
        Persistence pairs, as :func:`reduce_boundary`.
    """
    birth, death, _, _ = _reduce(column_dim, column_ptr, column_idx, column_op, n_operations)
    return birth, death


@njit(cache=True)
def cone_filtration(op_simplex, op_insert, simplex_dim, facet_ptr, facet_idx):
    """The FastZigzag conversion of a simplex-wise zigzag to one coned filtration.

    ``op_simplex[o]`` is inserted (``op_insert[o]``) or removed at operation ``o``;
    simplex ``s`` has dimension ``simplex_dim[s]`` and facets
    ``facet_idx[facet_ptr[s]:facet_ptr[s + 1]]`` (-1 for a facet that is no
    simplex of the input). The zigzag is padded with removals (cofaces first)
    until it is empty. Column 0 is the apex; each insertion makes a new cell
    (columns 1..N) whose boundary is the current copies of its facets; then come
    the cones over the removed cells in reverse removal order (columns
    N+1..2N), the cone over ``c`` with boundary ``{c}`` and the cones over the
    facets of ``c`` (``{c, apex}`` for a vertex).

    Returns
    -------
    error : int
        0, or the code of the first invalid operation.
    error_op : int
        Index of that operation (-1 when valid).
    column_dim, column_ptr, column_idx : ndarray of int64
        The boundary matrix, columns in filtration order with sorted rows.
    column_op : ndarray of int64
        Operation that inserted each cell column, or the removal each cone
        column is built over (padding removals numbered from ``m``).
    """
    m = op_simplex.shape[0]
    n_simplices = simplex_dim.shape[0]
    empty = np.empty(0, dtype=np.int64)
    present = np.zeros(n_simplices, dtype=np.bool_)
    n_cofaces = np.zeros(n_simplices, dtype=np.int64)
    current_cell = np.full(n_simplices, -1, dtype=np.int64)
    n_cells = 0
    n_entries = 0
    for o in range(m):
        if op_insert[o]:
            n_cells += 1
            s = op_simplex[o]
            n_entries += facet_ptr[s + 1] - facet_ptr[s]
    # Cells are numbered 1..N after the apex (column 0).
    cell_dim = np.empty(n_cells + 1, dtype=np.int64)
    cell_op = np.empty(n_cells + 1, dtype=np.int64)
    cell_ptr = np.zeros(n_cells + 2, dtype=np.int64)
    cell_idx = np.empty(n_entries, dtype=np.int64)
    removed_cell = np.empty(n_cells, dtype=np.int64)
    removed_op = np.empty(n_cells, dtype=np.int64)
    cell = 0
    n_removed = 0
    for o in range(m):
        s = op_simplex[o]
        if op_insert[o]:
            if present[s]:
                return INSERT_PRESENT, o, empty, empty, empty, empty
            for f in range(facet_ptr[s], facet_ptr[s + 1]):
                face = facet_idx[f]
                if face < 0 or not present[face]:
                    return INSERT_MISSING_FACE, o, empty, empty, empty, empty
            cell += 1
            cell_dim[cell] = simplex_dim[s]
            cell_op[cell] = o
            begin = cell_ptr[cell]
            n_faces = facet_ptr[s + 1] - facet_ptr[s]
            for f in range(n_faces):
                face = facet_idx[facet_ptr[s] + f]
                n_cofaces[face] += 1
                # Insertion sort: a boundary has at most a handful of entries.
                value = current_cell[face]
                k = begin + f
                while k > begin and cell_idx[k - 1] > value:
                    cell_idx[k] = cell_idx[k - 1]
                    k -= 1
                cell_idx[k] = value
            cell_ptr[cell + 1] = begin + n_faces
            present[s] = True
            current_cell[s] = cell
        else:
            if not present[s]:
                return REMOVE_ABSENT, o, empty, empty, empty, empty
            if n_cofaces[s] > 0:
                return REMOVE_WITH_COFACES, o, empty, empty, empty, empty
            present[s] = False
            for f in range(facet_ptr[s], facet_ptr[s + 1]):
                n_cofaces[facet_idx[f]] -= 1
            removed_cell[n_removed] = current_cell[s]
            removed_op[n_removed] = o
            n_removed += 1
    # Pad with removals of what is left, the most recent cell first (so cofaces
    # before faces): the cones then nest like the cells, which keeps the reduction
    # short.
    remaining = np.flatnonzero(present)
    order = np.argsort(-current_cell[remaining], kind="mergesort")
    for k in range(order.shape[0]):
        s = remaining[order[k]]
        removed_cell[n_removed] = current_cell[s]
        removed_op[n_removed] = m + k
        n_removed += 1

    n_columns = 2 * n_cells + 1
    cone_column = np.empty(n_cells + 1, dtype=np.int64)
    column_op = np.empty(n_columns, dtype=np.int64)
    for r in range(n_cells):
        column = 2 * n_cells - r
        cone_column[removed_cell[r]] = column
        column_op[column] = removed_op[r]
    column_dim = np.empty(n_columns, dtype=np.int64)
    column_ptr = np.zeros(n_columns + 1, dtype=np.int64)
    column_dim[0] = 0
    column_op[0] = -1
    for c in range(1, n_cells + 1):
        column_dim[c] = cell_dim[c]
        column_op[c] = cell_op[c]
        column_ptr[c + 1] = column_ptr[c] + cell_ptr[c + 1] - cell_ptr[c]
    n_cell_entries = column_ptr[n_cells + 1]
    total_entries = 2 * n_cell_entries + n_cells
    for c in range(1, n_cells + 1):
        if cell_dim[c] == 0:
            total_entries += 1
    column_idx = np.empty(total_entries, dtype=np.int64)
    column_idx[:n_cell_entries] = cell_idx[:n_cell_entries]
    position = n_cell_entries
    for column in range(n_cells + 1, n_columns):
        # Cone over the cell removed (2N - column)-th: boundary {c} + cones of facets.
        c = removed_cell[2 * n_cells - column]
        column_dim[column] = cell_dim[c] + 1
        if cell_dim[c] == 0:
            column_idx[position] = 0
            position += 1
        column_idx[position] = c
        position += 1
        begin = position
        for f in range(cell_ptr[c], cell_ptr[c + 1]):
            value = cone_column[cell_idx[f]]
            k = position
            while k > begin and column_idx[k - 1] > value:
                column_idx[k] = column_idx[k - 1]
                k -= 1
            column_idx[k] = value
            position += 1
        column_ptr[column + 1] = position

    return OK, -1, column_dim, column_ptr, column_idx, column_op


@njit(cache=True, nogil=True)
def pairs_to_bars(birth, death, column_dim, column_op, n_operations):
    """Zigzag bars from the persistence pairs of :func:`cone_filtration`.

    With ``p = dim(birth)``, ``a`` the insertion of a cell column and ``r`` the
    removal under a cone column (Dey & Hou): cell-cell pairs give
    ``(p, a(b) + 1, a(d) + 1)``, cone-cone pairs ``(p - 1, r(d) + 1, r(b) + 1)``,
    and a cell killed by a cone ``(p, a(b) + 1, r(d) + 1)`` when
    ``a(b) < r(d)``, else ``(p - 1, r(d) + 1, a(b) + 1)``. Bars born in the
    padding are dropped and deaths in it become ``m + 1``.

    Returns
    -------
    bars : ndarray of shape (n_bars, 3), dtype=int64
        Rows ``(dim, birth, death)``: alive in ``K_birth .. K_{death-1}`` with
        ``K_t`` the complex after ``t`` operations. Unsorted.
    """
    m = n_operations
    n_cells = (column_dim.shape[0] - 1) // 2
    bars = np.empty((birth.shape[0], 3), dtype=np.int64)
    n_bars = 0
    for i in range(birth.shape[0]):
        b = birth[i]
        d = death[i]
        p = column_dim[b]
        if d <= n_cells:
            dim, start, stop = p, column_op[b] + 1, column_op[d] + 1
        elif b > n_cells:
            dim, start, stop = p - 1, column_op[d] + 1, column_op[b] + 1
        elif column_op[b] < column_op[d]:
            dim, start, stop = p, column_op[b] + 1, column_op[d] + 1
        else:
            dim, start, stop = p - 1, column_op[d] + 1, column_op[b] + 1
        if start > m:
            continue
        bars[n_bars, 0] = dim
        bars[n_bars, 1] = start
        bars[n_bars, 2] = min(stop, m + 1)
        n_bars += 1
    return bars[:n_bars]
