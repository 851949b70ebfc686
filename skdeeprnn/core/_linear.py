"""Weighted ridge regression with its penalty chosen by leave-one-out error.

What fits the regressor's autoregressive term (see
:class:`skdeeprnn.core.Architecture`): one eigendecomposition of the
weighted Gram matrix serves every candidate penalty, and the leave-one-out
residuals come from the diagonal of the hat matrix, as scikit-learn's
``RidgeCV`` computes them, without refitting.
"""

import numpy as np
import scipy.linalg

# The candidate penalties, on the scale of the weighted mean squared error (the Gram
# matrix is divided by the total weight, so a standardised input has unit diagonal)
RIDGE_PENALTIES = tuple(10.0 ** np.arange(-6, 3))


def ridge_loo(Z, Y, sample_weight, penalties=RIDGE_PENALTIES):
    """Fit ``Y ~ Z @ coef`` by weighted ridge regression, choosing the penalty by leave-one-out.

    The objective for a penalty ``lam`` is ``sum_i w_i |Y_i - Z_i @ coef|^2 /
    sum_i w_i + lam * |coef|^2`` (no intercept). Among ``penalties`` the one
    of the smallest weighted sum of squared leave-one-out residuals
    ``sum_i w_i |Y_i - Z_i @ coef_(-i)|^2`` is taken (the first of equal
    ones), where ``coef_(-i)`` minimises the same objective without sample
    ``i``'s term (the other weights and the penalty as they are), computed
    exactly as ``(Y_i - Z_i @ coef) / (1 - h_i)`` from the hat matrix's
    diagonal ``h``. Samples of zero weight neither count nor are counted.

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
    loo_errors : ndarray of shape (len(penalties),)
        The weighted sums of squared leave-one-out residuals, divided by the
        total weight.
    """
    Z = np.asarray(Z, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    w = np.asarray(sample_weight, dtype=np.float64)
    w = w / w.sum()
    Zw = Z * w[:, None]
    gram = Zw.T @ Z
    eigenvalues, Q = scipy.linalg.eigh(gram)
    eigenvalues = np.maximum(eigenvalues, 0.0)  # rounding can make the smallest negative
    P = Z @ Q  # (n, p): the inputs in the eigenbasis
    PwY = Q.T @ (Zw.T @ Y)  # (p, k)
    P2 = P * P
    errors = np.empty(len(penalties))
    for j, lam in enumerate(penalties):
        inverse = 1.0 / (eigenvalues + lam)
        fitted = P @ (inverse[:, None] * PwY)
        leverage = w * (P2 @ inverse)
        with np.errstate(divide="ignore", invalid="ignore"):
            loo = (Y - fitted) / (1.0 - leverage)[:, None]
        # a sample of zero weight, or one that alone determines its fit (leverage 1), adds 0
        loo[(w == 0) | ~np.isfinite(loo).all(axis=1)] = 0.0
        errors[j] = float(np.einsum("i,ik,ik->", w, loo, loo))
    best = int(np.argmin(errors))
    coef = Q @ (PwY / (eigenvalues + penalties[best])[:, None])
    return coef, float(penalties[best]), errors
