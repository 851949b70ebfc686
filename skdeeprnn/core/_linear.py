"""Weighted ridge regression with its penalty chosen by generalised cross-validation.

What fits the regressor's autoregressive term (see
:class:`skdeeprnn.core.Architecture`): one eigendecomposition of the
weighted Gram matrix serves every candidate penalty.
"""

import numpy as np
import scipy.linalg

# The candidate penalties, on the scale of the weighted mean squared error (the Gram
# matrix is divided by the total weight, so a standardised input has unit diagonal)
RIDGE_PENALTIES = tuple(10.0 ** np.arange(-6, 3))


def ridge_gcv(Z, Y, sample_weight, penalties=RIDGE_PENALTIES):
    """Fit ``Y ~ Z @ coef`` by weighted ridge regression, choosing the penalty by GCV.

    The objective for a penalty ``lam`` is ``sum_i w_i |Y_i - Z_i @ coef|^2 /
    sum_i w_i + lam * |coef|^2`` (no intercept). Among ``penalties`` the one
    of the smallest generalised cross-validation error ``RSS / (1 - df /
    N)^2`` is taken (the first of equal ones), with ``RSS`` the weighted mean
    squared residual, ``df = sum_j e_j / (e_j + lam)`` the effective number
    of parameters (``e`` the eigenvalues of the weighted Gram matrix) and
    ``N = sum_i w_i``. Unlike leave-one-out, GCV depends on the samples only
    through the weighted Gram matrix and ``N``: integer weights choose what
    repeating the samples chooses, and a zero weight what removing the
    sample does. Penalties with ``df >= N`` are never chosen.

    Parameters
    ----------
    Z : ndarray of shape (n, p)
    Y : ndarray of shape (n, k)
    sample_weight : ndarray of shape (n,)
        Non-negative, with a positive sum.
    penalties : sequence of float
        Positive candidate penalties.

    Returns
    -------
    coef : ndarray of shape (p, k), float64
    penalty : float
        The chosen penalty.
    gcv : ndarray of shape (len(penalties),)
        The GCV error of each penalty (infinite where ``df >= N``).
    """
    Z = np.asarray(Z, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    w = np.asarray(sample_weight, dtype=np.float64)
    total = w.sum()
    w = w / total
    Zw = Z * w[:, None]
    gram = Zw.T @ Z
    eigenvalues, Q = scipy.linalg.eigh(gram)
    eigenvalues = np.maximum(eigenvalues, 0.0)  # rounding can make the smallest negative
    ZwY = Q.T @ (Zw.T @ Y)  # (p, k), in the eigenbasis
    # weighted mean of |Y|^2; the residual sum follows from the eigenbasis alone
    yy = float(np.einsum("i,ik,ik->", w, Y, Y))
    gcv = np.empty(len(penalties))
    for j, lam in enumerate(penalties):
        shrink = 1.0 / (eigenvalues + lam)
        # RSS = |Y|^2 - 2 b' (G + lam)^-1 b + b' (G + lam)^-1 G (G + lam)^-1 b, b = Z'WY
        rss = yy - float(np.sum(ZwY**2 * (2 * shrink - eigenvalues * shrink**2)[:, None]))
        df = float(np.sum(eigenvalues * shrink))
        gcv[j] = max(rss, 0.0) / (1.0 - df / total) ** 2 if df < total else np.inf
    best = int(np.argmin(gcv))
    coef = Q @ (ZwY / (eigenvalues + penalties[best])[:, None])
    return coef, float(penalties[best]), gcv
