"""Losses on raw output scores, each returning per-sample losses and their gradient.

Every function takes ``scores`` and ``Y`` of shape ``(..., n, k)`` (a leading
time axis for many-to-many output) and returns ``(losses, dscores)`` where
``losses`` has shape ``(..., n)`` and ``dscores[..., i, :]`` is the gradient of
``losses[..., i]`` with respect to ``scores[..., i, :]``. The network combines
them with the sample weights (:func:`weighted_loss`).

- ``squared_error``: half the mean over outputs of the squared error, as
  scikit-learn's MLP (``((y - p) ** 2).mean() / 2``).
- ``softmax_cross_entropy``: ``-log softmax(s)[y]`` with ``Y`` one-hot.
- ``sigmoid_log_loss``: binary log-loss summed over the outputs (binary and
  multilabel), computed from the scores in a numerically stable form.
"""

import numpy as np
from scipy.special import expit, log_softmax, softmax


def squared_error(scores, Y):
    """Half mean squared error over outputs; returns ``(losses, dscores)``."""
    diff = scores - Y
    k = scores.shape[-1]
    losses = 0.5 * np.einsum("...k,...k->...", diff, diff) / k
    diff /= k
    return losses, diff


def softmax_cross_entropy(scores, Y):
    """Cross-entropy of the softmax of ``scores`` against one-hot ``Y``."""
    logp = log_softmax(scores, axis=-1)
    losses = -np.einsum("...k,...k->...", Y, logp)
    return losses, softmax(scores, axis=-1) - Y


def sigmoid_log_loss(scores, Y):
    """Binary log-loss of ``sigmoid(scores)`` against ``Y`` in {0, 1}, summed over outputs."""
    # log(1 + exp(s)) - y * s, stable for large |s|
    losses = (np.logaddexp(0.0, scores) - Y * scores).sum(axis=-1)
    return losses, expit(scores) - Y


LOSSES = {
    "squared_error": squared_error,
    "softmax_cross_entropy": softmax_cross_entropy,
    "sigmoid_log_loss": sigmoid_log_loss,
}


def weighted_loss(name, scores, Y, sample_weight=None, step_weight=None):
    """Weighted mean of the per-sample losses and its gradient with respect to ``scores``.

    The per-sample loss is summed over time steps for many-to-many output,
    each step's loss multiplied by ``step_weight`` (T, n) if given (0 at a
    missing step). ``loss = sum_i w_i l_i / sum_i w_i``: integer weights are
    equivalent to repeating samples, zero weights to removing them.
    """
    losses, dscores = LOSSES[name](scores, Y)
    if step_weight is not None:
        step_weight = np.asarray(step_weight, dtype=scores.dtype)
        losses *= step_weight
        dscores *= step_weight[..., None]
    n = scores.shape[-2]
    if sample_weight is None:
        w = np.full(n, 1.0 / n, dtype=scores.dtype)
    else:
        total = sample_weight.sum()
        if not total > 0:
            raise ValueError("the sum of the sample weights must be positive")
        w = (sample_weight / total).astype(scores.dtype, copy=False)
    # losses: (..., n); sum over leading (time) axes, weighted mean over samples
    loss = float((losses * w).sum())
    dscores *= w[:, None]
    return loss, dscores
