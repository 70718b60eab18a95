"""The hierarchy of density peaks as a scipy linkage matrix."""

import numpy as np

__all__ = ["saddle_linkage"]


def saddle_linkage(saddle_density, top):
    """Single linkage on the saddle graph, heights measured down from ``top``.

    Clusters join along the maximum spanning forest of the saddle graph, the
    highest saddle first, at height ``top - saddle``. Components with no border
    between them join last, at ``1 +`` the largest height of the forest (1 when
    there is no saddle), in increasing order of their smallest cluster.

    Parameters
    ----------
    saddle_density : ndarray of shape (n_clusters, n_clusters)
        Symmetric saddle log-densities, ``-inf`` where two clusters share no border
        (the diagonal is ignored).
    top : float
        Reference log-density, at least every saddle (the largest log-density).

    Returns
    -------
    linkage : ndarray of shape (n_clusters - 1, 4)
        scipy linkage matrix; leaf ``c`` is cluster ``c``.
    """
    n_clusters = saddle_density.shape[0]
    first, second = np.triu_indices(n_clusters, k=1)
    values = saddle_density[first, second]
    finite = np.isfinite(values)
    first, second, values = first[finite], second[finite], values[finite]
    order = np.lexsort((second, first, -values))

    root = np.arange(n_clusters)
    node = np.arange(n_clusters)  # linkage id of each root's current subtree
    size = np.ones(n_clusters, dtype=np.int64)

    def find(c):
        while root[c] != c:
            root[c] = root[root[c]]
            c = root[c]
        return c

    rows = []
    for edge in order:
        a, b = find(first[edge]), find(second[edge])
        if a == b:
            continue
        a, b = min(a, b), max(a, b)
        height = top - values[edge]
        rows.append([min(node[a], node[b]), max(node[a], node[b]), height, size[a] + size[b]])
        root[b] = a
        size[a] += size[b]
        node[a] = n_clusters + len(rows) - 1
    join_height = 1.0 + (max(row[2] for row in rows) if rows else 0.0)
    components = sorted({find(c) for c in range(n_clusters)})
    for b in components[1:]:
        a = components[0]
        rows.append([min(node[a], node[b]), max(node[a], node[b]), join_height, size[a] + size[b]])
        size[a] += size[b]
        node[a] = n_clusters + len(rows) - 1
    return np.array(rows, dtype=np.float64).reshape(-1, 4)
