"""Ridge numerics of Sequential Feature Detachment.

Leave-one-out penalty search (with the near-tie rule), the full model from one
float64 Gram matrix, and the refits of the detachment path by Gram down-dating.
Every ridge here has an unpenalised intercept and takes the +-1 targets of
``RidgeClassifier``.
"""

import warnings

import numpy as np
from scipy import linalg
from sklearn.linear_model import RidgeClassifier
from sklearn.preprocessing import LabelBinarizer

from skrepgeom.time_series._kernels import centered_coef

__all__ = ["NEAR_TIE_ATOL", "NEAR_TIE_RTOL", "choose_alpha", "fit_full_ridge", "loo_alpha"]

_CHUNK = 2048

#: Leave-one-out scores this close to the best count as tied (see :func:`choose_alpha`).
NEAR_TIE_RTOL = 1e-6
NEAR_TIE_ATOL = 1e-12


def choose_alpha(alphas, scores):
    """The largest alpha whose leave-one-out score is within a near-tie of the best.

    ``scores`` are leave-one-out scores (higher is better). A score counts as tied
    with the best when it is within ``max(NEAR_TIE_RTOL * |best|, NEAR_TIE_ATOL)`` of
    it; among tied penalties the largest wins. On flat curves (many penalties
    interpolate the training rows) the scores differ by rounding only, so the first
    maximum (``RidgeClassifierCV``'s rule) would change with the BLAS build and thread
    count; the largest tied penalty does not, and is the best conditioned.

    Returns ``(alpha, index)``, ``index`` into ``alphas``.
    """
    alphas = np.asarray(alphas, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    best = scores.max()
    tied = scores >= best - max(NEAR_TIE_RTOL * abs(best), NEAR_TIE_ATOL)
    index = int(np.flatnonzero(tied)[np.argmax(alphas[tied])])
    return float(alphas[index]), index


def _binarized(y):
    binarizer = LabelBinarizer(pos_label=1, neg_label=-1)
    Y = binarizer.fit_transform(y).astype(np.float64)
    return binarizer, Y


def _column_mean(F, rows=None):
    """Float64 column means of ``F[:rows]`` (all rows when ``None``), block by block."""
    mean = np.empty(F.shape[1])
    for start in range(0, F.shape[1], _CHUNK):
        mean[start : start + _CHUNK] = F[:rows, start : start + _CHUNK].mean(
            axis=0, dtype=np.float64
        )
    return mean


def _centered_gram(F, mean):
    """``(F - mean) (F - mean)^T`` in float64, column block by column block."""
    G = np.zeros((F.shape[0], F.shape[0]))
    for start in range(0, F.shape[1], _CHUNK):
        A = F[:, start : start + _CHUNK].astype(np.float64)
        A -= mean[start : start + _CHUNK]
        G += A @ A.T
    return G


class _DualLOO:
    """Leave-one-out of ridge with intercept from a centred Gram matrix ``G`` (``G 1 = 0``).

    LOO residuals are ``c_i / d_i`` with ``c = (G + alpha I)^-1 Yc`` and ``d`` the
    diagonal of that inverse without the unpenalised all-ones (intercept)
    direction. The eigendecomposition is of ``G + 1 1^T``: the all-ones direction
    gets the eigenvalue ``n`` instead of a rounding-level one, so neither ``c`` nor
    ``d`` loses digits at tiny penalties; its share of the diagonal,
    ``1 / (n (n + alpha))``, is then removed exactly.
    """

    def __init__(self, G, Yc):
        self.n = G.shape[0]
        self.eigvals, self.Q = np.linalg.eigh(G + 1.0)
        self.QT_y = self.Q.T @ Yc
        self.Q2 = self.Q**2

    def score(self, alpha):
        """``(score, c)``: minus the mean squared LOO residual, and the dual coefficients."""
        D = 1.0 / (self.eigvals + alpha)
        c = self.Q @ (D[:, None] * self.QT_y)
        d = self.Q2 @ D - 1.0 / (self.n * (self.n + alpha))
        return float(np.mean(-((c / d[:, None]) ** 2))), c


def _primal_loo_scores(X, Yc, alphas):
    """LOO scores of ridge with intercept for more rows than columns, from the SVD of X.

    Hat matrix ``U diag(s^2 / (s^2 + alpha)) U^T + 1 1^T / n`` of the centred ``X``.
    """
    n = X.shape[0]
    Xc = X - X.mean(axis=0)
    U, s, _ = np.linalg.svd(Xc, full_matrices=False)
    UT_y = U.T @ Yc
    U2 = U**2
    scores = []
    for alpha in alphas:
        shrink = s**2 / (s**2 + alpha)
        residual = Yc - U @ (shrink[:, None] * UT_y)
        leverage = U2 @ shrink + 1.0 / n
        scores.append(float(np.mean(-((residual / (1.0 - leverage)[:, None]) ** 2))))
    return np.array(scores)


def loo_alpha(X, y, alphas):
    """Penalty of a ridge classifier on ``X`` chosen by leave-one-out (:func:`choose_alpha`).

    The same leave-one-out criterion as ``RidgeClassifierCV`` (squared errors of the
    +-1 targets), computed in float64: from the Gram matrix when ``X`` has at least
    as many columns as rows, else from the SVD of ``X``.

    Returns ``(alpha, scores)``.
    """
    alphas = np.asarray(alphas, dtype=np.float64)
    _, Y = _binarized(y)
    Yc = Y - Y.mean(axis=0)
    if X.shape[1] < X.shape[0]:
        scores = _primal_loo_scores(np.asarray(X, dtype=np.float64), Yc, alphas)
    else:
        loo = _DualLOO(_centered_gram(X, _column_mean(X)), Yc)
        scores = np.array([loo.score(alpha)[0] for alpha in alphas])
    return choose_alpha(alphas, scores)[0], scores


def fit_full_ridge(F, y, alphas):
    """The full model: ridge classifier on all of ``F``, penalty by leave-one-out.

    Same criterion as ``RidgeClassifierCV`` with ties decided by
    :func:`choose_alpha`, without float64 copies of ``F``: one float64 Gram matrix,
    built column block by column block. Returns ``(ridge, G, x_mean)``: a fitted
    ``RidgeClassifier`` (with ``alpha_`` and ``best_score_``), the centred Gram
    matrix and the column means.
    """
    binarizer, Y = _binarized(y)
    x_mean = _column_mean(F)
    G = _centered_gram(F, x_mean)
    n = F.shape[0]
    y_mean = Y.mean(axis=0)
    Yc = Y - y_mean
    if F.shape[1] < n:
        # Fewer features than rows: G has a null space; the SVD of the (small)
        # feature matrix gives accurate scores.
        alpha, scores = loo_alpha(F, y, alphas)
        ridge = RidgeClassifier(alpha=alpha).fit(F, y)
        ridge.alpha_, ridge.best_score_ = alpha, float(scores.max())
        return ridge, G, x_mean
    best = None
    if len(alphas) == 1:
        best = _single_alpha_loo(G, Yc, float(alphas[0]))
    if best is None:
        loo = _DualLOO(G, Yc)
        results = [loo.score(float(alpha)) for alpha in alphas]
        alpha, index = choose_alpha(alphas, [score for score, _ in results])
        best = (results[index][0], alpha, results[index][1])
    score, alpha, c = best
    coef, _ = centered_coef(F, n, x_mean, c, np.arange(F.shape[1]))
    ridge = RidgeClassifier(alpha=alpha)
    ridge._label_binarizer = binarizer
    ridge.classes_ = binarizer.classes_
    ridge.n_features_in_ = F.shape[1]
    # Stored in the features' precision: 20,000 float64 coefficients per class would
    # dominate the size of a fitted model for nothing the float32 features can use.
    ridge.coef_ = (coef[0] if coef.shape[0] == 1 else coef).astype(F.dtype)
    ridge.intercept_ = y_mean - x_mean @ np.atleast_2d(coef).T
    ridge.alpha_ = alpha
    ridge.best_score_ = score
    return ridge, G, x_mean


def _single_alpha_loo(G, Yc, alpha):
    """``(score, alpha, c)`` of one penalty by a Cholesky inverse, ``None`` if it fails.

    Several times cheaper than the eigendecomposition; the same all-ones shift as
    :class:`_DualLOO` keeps ``G + 1 1^T + alpha I`` positive definite at tiny alphas.
    """
    n = G.shape[0]
    M = np.asfortranarray((G + 1.0).T)  # symmetric; Fortran order: LAPACK works in place
    M.flat[:: n + 1] += alpha
    factor, info = linalg.lapack.dpotrf(M, lower=0, overwrite_a=1)
    if info != 0:
        return None
    inverse, info = linalg.lapack.dpotri(factor, lower=0, overwrite_c=1)
    if info != 0:
        return None
    inverse = np.triu(inverse) + np.triu(inverse, 1).T
    c = inverse @ Yc
    d = np.diag(inverse) - 1.0 / (n * (n + alpha))
    return float(np.mean(-((c / d[:, None]) ** 2))), alpha, c


def _solve_centred_ridge(K, alpha, rhs, max_refinements=10):
    """``(K + alpha I)^-1 rhs`` for a centred Gram matrix ``K`` (``K 1 = 0``), ``rhs`` ⟂ 1.

    The system solved is ``(K + 1 1^T + alpha I) x = rhs``: the same solution (the
    all-ones direction of ``rhs`` is 0), but without the eigenvalue ``alpha`` along
    all-ones that makes the plain system as ill-conditioned as ``||K|| / alpha``.

    Mixed precision, LAPACK's dsposv recipe (SciPy does not wrap it): a float32
    Cholesky factor, twice as fast to compute as a float64 one, then float64
    iterative refinement until the residual is at float64 rounding level
    (``sqrt(n) eps ||A||_F ||x||``, max norms for the vectors). When float32 cannot
    represent the system (factorisation fails, refinement stalls) it is solved by a
    float64 Cholesky factorisation.
    """
    n = K.shape[0]
    shifted = np.array(K.T, dtype=np.float32, order="F")  # K.T: the Fortran view of symmetric K
    shifted += np.float32(1.0)
    shifted.flat[:: n + 1] += np.float32(alpha)
    factor, info = linalg.lapack.spotrf(shifted, lower=0, clean=0, overwrite_a=1)
    if info == 0:
        x = linalg.lapack.spotrs(factor, rhs.astype(np.float32))[0].astype(np.float64)
        frobenius = np.sqrt(np.dot(K.ravel(), K.ravel()))
        tolerance = np.sqrt(n) * np.finfo(np.float64).eps * (frobenius + n + alpha)
        previous = np.inf
        for _ in range(max_refinements):
            residual = rhs - K @ x - alpha * x - x.sum(axis=0)
            relative = np.max(
                np.abs(residual).max(axis=0) / np.maximum(np.abs(x).max(axis=0), 1e-300)
            )
            if relative <= tolerance:
                return x
            if not relative < 0.5 * previous:  # stalled (or NaN): not converging
                break
            previous = relative
            x += linalg.lapack.spotrs(factor, residual.astype(np.float32))[0]
    shifted = K + 1.0
    shifted.flat[:: n + 1] += alpha
    with warnings.catch_warnings():
        # tiny alphas on interpolating Gram matrices are expected here
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        return linalg.solve(shifted, rhs, assume_a="pos", overwrite_a=True)


class _GramRidgePath:
    """Ridge refits on a shrinking column set, by Gram down-dating.

    Rows ``[0, n_train)`` of ``F`` are the fitting split, rows ``[n_train, n)`` the
    validation split. ``K = Fc_S Fc_S^T`` (train x train) is kept in float64 over the
    centred columns of the active set ``S``; dropping columns ``D`` subtracts their
    outer products. A dual solve ``(K + alpha I) c = Yc`` gives the training
    decisions ``K c`` (plus the target means), the weights ``w = Fc_S^T c`` and the
    validation decisions ``Gc_S w`` (one pass over the active columns); below
    ``n_train`` active columns the primal normal equations are solved instead.
    """

    def __init__(self, F, n_train, Y, alpha):
        self.F = F
        self.n_train = n_train
        self.alpha = float(alpha)
        self.y_mean = Y.mean(axis=0)
        self.Yc = Y - self.y_mean
        self.mu = _column_mean(F, n_train)
        self.K = None
        self.gram_size = 0
        # Primal regime: centred active columns, their normal matrix and A_tr^T Yc,
        # for the columns in ``primal_columns``; later steps take sub-blocks.
        self.primal_columns = None

    def _accumulate(self, columns, update):
        """``update(K, A A^T)`` over the centred training rows of ``columns``."""
        for start in range(0, columns.shape[0], _CHUNK):
            cols = columns[start : start + _CHUNK]
            A = self.F[: self.n_train, cols].astype(np.float64)
            A -= self.mu[cols]
            update(self.K, A @ A.T, out=self.K)

    def from_full_gram(self, G, n_active):
        """K of all columns from the Gram matrix centred by the all-row means."""
        n_tr = self.n_train
        r = G[:n_tr, :n_tr].mean(axis=1)
        self.K = G[:n_tr, :n_tr] - r[:, None] - r[None, :] + r.mean()
        self.gram_size = n_active

    def recompute(self, active_columns):
        self.K = np.zeros((self.n_train, self.n_train))
        self._accumulate(active_columns, np.add)
        self.gram_size = active_columns.shape[0]

    def drop(self, dropped_columns, active_columns):
        if self.K is None:
            return
        if active_columns.shape[0] < self.n_train:
            self.K = None  # primal from now on
        elif 10 * active_columns.shape[0] <= self.gram_size:
            self.recompute(active_columns)
        else:
            self._accumulate(dropped_columns, np.subtract)

    def fit(self, active_columns):
        """Return (coef (n_targets, |S|), train decisions, validation decisions)."""
        if self.K is not None:
            c = _solve_centred_ridge(self.K, self.alpha, self.Yc)
            dec_tr = self.K @ c + self.y_mean
            coef, dec_va = centered_coef(self.F, self.n_train, self.mu, c, active_columns)
            return coef, dec_tr, dec_va + self.y_mean
        if self.primal_columns is None:
            A = self.F[:, active_columns].astype(np.float64)
            A -= self.mu[active_columns]
            A_tr = A[: self.n_train]
            self.primal_columns = active_columns
            self.A, self.H, self.AtY = A, A_tr.T @ A_tr, A_tr.T @ self.Yc
        else:
            # The active set only shrinks: the normal matrix of the survivors is a
            # sub-block of the previous one, nothing is recomputed.
            # both sorted (the path keeps active columns sorted), the new a subset
            keep = np.searchsorted(self.primal_columns, active_columns)
            self.primal_columns = active_columns
            self.A = self.A[:, keep]
            self.H = self.H[np.ix_(keep, keep)]
            self.AtY = self.AtY[keep]
        H = self.H.copy()
        H.flat[:: H.shape[0] + 1] += self.alpha
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", linalg.LinAlgWarning)
            w = linalg.solve(H, self.AtY, assume_a="pos", overwrite_a=True)
        decisions = self.A @ w + self.y_mean
        return w.T, decisions[: self.n_train], decisions[self.n_train :]


