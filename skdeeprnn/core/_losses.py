"""Losses on raw output scores, each returning per-sample losses and their gradient.

Every function takes ``scores`` and ``Y`` of shape ``(..., n, k)`` (a leading
time axis for many-to-many output) and returns ``(losses, dscores)`` where
``losses`` has shape ``(..., n)`` and ``dscores[..., i, :]`` is the gradient of
``losses[..., i]`` with respect to ``scores[..., i, :]``. The network combines
them with the sample weights (:func:`weighted_loss`). A loss is named by its key
in :data:`LOSSES`, or by a pair ``(name, params)`` whose dict ``params`` holds
the function's keyword arguments, e.g. ``("quantile", {"quantile": 0.9})``.

- ``squared_error``: half the mean over outputs of the squared error, as
  scikit-learn's MLP (``((y - p) ** 2).mean() / 2``).
- ``absolute_error``: the mean over outputs of ``|y - p|`` (PyTorch's
  ``nn.L1Loss``); its gradient at ``y == p`` is 0, as torch's.
- ``huber``: the mean over outputs of ``r ** 2 / 2`` where ``|r| <= delta``
  and ``delta * (|r| - delta / 2)`` beyond, ``r = y - p`` (PyTorch's
  ``nn.HuberLoss(delta=1.0)``): the squared error's half square near the
  target, the absolute error's slope (times ``delta``) far from it.
- ``quantile``: the pinball loss of the ``quantile`` q in (0, 1), the mean over
  outputs of ``max(q * r, (q - 1) * r)``, ``r = y - p``; minimised by the
  q-quantile of ``y``. At q = 0.5 it is half the absolute error. Its gradient
  at ``r == 0`` is the middle of the subgradient interval, ``1/2 - q``.
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


def absolute_error(scores, Y):
    """Mean absolute error over outputs; returns ``(losses, dscores)``."""
    diff = scores - Y
    k = scores.shape[-1]
    losses = np.abs(diff).sum(axis=-1) / k
    np.sign(diff, out=diff)
    diff /= k
    return losses, diff


def huber(scores, Y, delta=1.0):
    """Huber loss with threshold ``delta``, averaged over outputs; returns ``(losses, dscores)``."""
    diff = scores - Y
    k = scores.shape[-1]
    size = np.abs(diff)
    inner = np.minimum(size, delta)
    # r**2 / 2 up to delta, then delta * (|r| - delta / 2): the two agree in value and slope
    losses = (0.5 * inner * inner + delta * (size - inner)).sum(axis=-1) / k
    np.clip(diff, -delta, delta, out=diff)
    diff /= k
    return losses, diff


def pinball(scores, Y, quantile=0.5):
    """Pinball loss of the ``quantile``, averaged over outputs; returns ``(losses, dscores)``."""
    diff = Y - scores
    k = scores.shape[-1]
    losses = np.maximum(quantile * diff, (quantile - 1) * diff).sum(axis=-1) / k
    # d/dscores: -q where y > p, 1 - q where y < p, 1/2 - q at y == p
    dscores = np.heaviside(-diff, 0.5, out=diff)
    dscores -= quantile
    dscores /= k
    return losses, dscores


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
    "absolute_error": absolute_error,
    "huber": huber,
    "quantile": pinball,
    "softmax_cross_entropy": softmax_cross_entropy,
    "sigmoid_log_loss": sigmoid_log_loss,
}


def loss_parts(loss):
    """Return ``(name, params)`` of ``loss``: a name in :data:`LOSSES`, or such a pair."""
    if isinstance(loss, str):
        return loss, {}
    name, params = loss
    return name, dict(params)


def weighted_loss(loss, scores, Y, sample_weight=None, step_weight=None):
    """Weighted mean of the per-sample losses and its gradient with respect to ``scores``.

    ``loss`` is a name in :data:`LOSSES` or a ``(name, params)`` pair
    (:func:`loss_parts`).
    The per-sample loss is summed over time steps for many-to-many output,
    each step's loss multiplied by ``step_weight`` (T, n) if given (0 at a
    missing step). ``loss = sum_i w_i l_i / sum_i w_i``: integer weights are
    equivalent to repeating samples, zero weights to removing them.
    """
    name, params = loss_parts(loss)
    losses, dscores = LOSSES[name](scores, Y, **params)
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
