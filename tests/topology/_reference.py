"""Slow, independent references for the zigzag engine (pure Python + dense Z/2 algebra)."""

import itertools

import numpy as np


def random_zigzag(rng, *, n_vertices=8, max_dim=3, n_operations=150, drain=False):
    """A valid simplex-wise zigzag from the empty complex, as (simplices, insertions)."""
    universe = [
        s
        for q in range(max_dim + 1)
        for s in itertools.combinations(range(n_vertices), q + 1)
    ]
    facets = {s: list(itertools.combinations(s, len(s) - 1)) * (len(s) > 1) for s in universe}
    cofaces = {s: [] for s in universe}
    for s in universe:
        for f in facets[s]:
            cofaces[f].append(s)
    present = set()
    simplices, insertions = [], []
    # A slowly drifting insertion bias makes complexes grow, shrink and regrow.
    bias = rng.uniform(0.55, 0.8)
    while len(simplices) < n_operations:
        insertable = [
            s for s in universe if s not in present and all(f in present for f in facets[s])
        ]
        removable = sorted(
            s for s in present if not any(c in present for c in cofaces[s])
        )
        insert = removable == [] or (insertable and rng.random() < bias)
        pool = insertable if insert else removable
        s = pool[rng.integers(len(pool))]
        (present.add if insert else present.discard)(s)
        simplices.append(list(s))
        insertions.append(bool(insert))
        bias = min(0.9, max(0.3, bias + rng.normal(0, 0.05)))
    if drain:
        for s in sorted(present, key=len, reverse=True):
            simplices.append(list(s))
            insertions.append(False)
    return simplices, insertions


def complexes(simplices, insertions):
    """The complexes K_0 = {} ... K_m as frozensets of sorted tuples."""
    current = set()
    result = [frozenset()]
    for s, insert in zip(simplices, insertions):
        s = tuple(sorted(s))
        (current.add if insert else current.discard)(s)
        result.append(frozenset(current))
    return result


# Z/2 vectors are Python ints (bit i = coordinate i): fast for these tiny spaces.


def rank(vectors):
    """Rank over Z/2 of a list of bit vectors."""
    basis = {}
    for v in vectors:
        while v:
            top = v.bit_length() - 1
            if top not in basis:
                basis[top] = v
                break
            v ^= basis[top]
    return len(basis)


def nullspace(rows, n_columns):
    """Basis of {x : <row, x> = 0 for every row} over Z/2."""
    pivots = {}  # pivot column -> row reduced against every other pivot column
    for r in rows:
        for c, pivot_row in pivots.items():
            if r >> c & 1:
                r ^= pivot_row
        if r:
            c = (r & -r).bit_length() - 1
            for k in pivots:
                if pivots[k] >> c & 1:
                    pivots[k] ^= r
            pivots[c] = r
    basis = []
    for f in range(n_columns):
        if f in pivots:
            continue
        x = 1 << f
        for c, pivot_row in pivots.items():
            if pivot_row >> f & 1:
                x |= 1 << c
        basis.append(x)
    return basis


class _Echelon:
    """Independent vectors with, for each reduced one, the mask of inputs it sums."""

    def __init__(self):
        self.rows = {}  # leading bit -> (vector, mask)
        self.size = 0

    def reduce(self, v):
        mask = 0
        while v:
            top = v.bit_length() - 1
            if top not in self.rows:
                break
            row, row_mask = self.rows[top]
            v ^= row
            mask ^= row_mask
        return v, mask

    def add(self, v):
        """Add input number ``size``; return the mask of a dependency if it has one."""
        v, mask = self.reduce(v)
        mask ^= 1 << self.size
        self.size += 1
        if v:
            self.rows[v.bit_length() - 1] = (v, mask)
            return None
        return mask


def _boundary(s, index):
    v = 0
    for f in itertools.combinations(s, len(s) - 1):
        v |= 1 << index[len(s) - 2][f]
    return v


class _Homology:
    """H_p(K) over Z/2 with cycle representatives in global chain coordinates."""

    def __init__(self, complex_, p, index):
        cells = sorted(s for s in complex_ if len(s) == p + 1)
        cofaces = sorted(s for s in complex_ if len(s) == p + 2)
        if p > 0:
            # Cycles: dependencies among the boundaries of the p-cells.
            echelon = _Echelon()
            cycles = []
            for s in cells:
                mask = echelon.add(_boundary(s, index))
                if mask is not None:
                    cycles.append(
                        sum(1 << index[p][cells[j]] for j in range(len(cells)) if mask >> j & 1)
                    )
        else:
            cycles = [1 << index[0][s] for s in cells]
        boundaries = [_boundary(s, index) for s in cofaces]
        span = _Echelon()
        for b in boundaries:
            span.add(b)
        self.basis = []
        for z in cycles:
            if span.add(z) is None:
                self.basis.append(z)
        # Basis of Z = classes first, then boundaries: coordinates are unique.
        self._coordinates = _Echelon()
        for v in self.basis + boundaries:
            self._coordinates.add(v)

    @property
    def dim(self):
        return len(self.basis)

    def coordinates(self, cycle):
        rest, mask = self._coordinates.reduce(cycle)
        assert rest == 0, "not a cycle of this complex"
        return mask & ((1 << self.dim) - 1)


def _map(source, target):
    """Columns (bit vectors over target's basis) of the map induced by inclusion."""
    return [target.coordinates(z) for z in source.basis]


def brute_force_barcode(simplices, insertions):
    """Zigzag barcode from ranks of lim -> colim over every segment (rows dim, birth, death)."""
    ks = complexes(simplices, insertions)
    m = len(simplices)
    max_q = max((len(s) for s in simplices), default=1)
    index = {
        q: {
            s: i
            for i, s in enumerate(
                sorted({tuple(sorted(x)) for x in simplices if len(x) == q + 1})
            )
        }
        for q in range(max_q + 1)
    }
    bars = []
    for p in range(max_q):
        spaces = [_Homology(k, p, index) for k in ks]
        arrows = []  # (forward?, columns) between t and t + 1
        for t in range(m):
            if insertions[t]:
                arrows.append((True, _map(spaces[t], spaces[t + 1])))
            else:
                arrows.append((False, _map(spaces[t + 1], spaces[t])))
        rk = np.zeros((m + 2, m + 2), dtype=np.int64)
        for b in range(1, m + 1):
            for d in range(b, m + 1):
                rk[b, d] = _segment_rank(spaces, arrows, b, d)
        for b in range(1, m + 1):
            for d in range(b, m + 1):
                mult = rk[b, d] - rk[b - 1, d] - rk[b, d + 1] + rk[b - 1, d + 1]
                assert mult >= 0
                bars.extend([(p, b, d + 1)] * int(mult))
    return np.array(sorted(bars), dtype=np.int64).reshape(-1, 3)


def _segment_rank(spaces, arrows, b, d):
    dims = [spaces[t].dim for t in range(b, d + 1)]
    offsets = np.concatenate([[0], np.cumsum(dims)]).tolist()
    total = offsets[-1]
    if total == 0:
        return 0
    constraints, relations = [], []
    for t in range(b, d):
        forward, columns = arrows[t]
        i, j = t - b, t + 1 - b
        src, dst = (i, j) if forward else (j, i)
        # Limit: x_dst = M x_src.  Colimit: relations e_src(k) + e_dst(M e_k).
        for row in range(dims[dst]):
            v = 1 << (offsets[dst] + row)
            for k, column in enumerate(columns):
                if column >> row & 1:
                    v ^= 1 << (offsets[src] + k)
            constraints.append(v)
        for k, column in enumerate(columns):
            relations.append((1 << (offsets[src] + k)) ^ (column << offsets[dst]))
    limit = nullspace(constraints, total)
    # Image in the colimit of the first component of each compatible tuple.
    first_block = (1 << offsets[1]) - 1
    first = [x & first_block for x in limit]
    return rank(relations + first) - rank(relations)
