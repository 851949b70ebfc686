"""Pieces of the training loop that are not the network.

The stopping rule and learning-rate schedule, the loss of a constant
prediction, the minibatch size rule, Ctrl-C handling, progress lines and
warnings addressed to the caller.
"""

import os
import signal
import sys
import threading
import warnings

import numpy as np

from ..core import loss_parts, weighted_loss

# An epoch whose training loss is above this share of the loss of the best constant
# prediction is still on the plateau where recurrent networks start: it counts neither
# towards stopping nor towards a learning-rate reduction.
PLATEAU_SHARE = 0.9

# The 'plateau' schedule stops training at the first plateau after which the learning
# rate would fall below this share of learning_rate_init.
MIN_LEARNING_RATE_SHARE = 1e-2


# Below this many training sequences, batch_size='auto' trains on all of them at once.
FULL_BATCH_BELOW = 32


def auto_batch_size(n):
    """Return the minibatch size of ``batch_size='auto'`` for ``n`` training sequences.

    All of them below :data:`FULL_BATCH_BELOW` sequences: the gradient is then
    the full objective's, so weighting a sequence by an integer and repeating it
    train the same model (scikit-learn's sample-weight check), and on five UCR
    sets cut to 20-30 sequences the test accuracy matched that of batches of 8
    (0.876 against 0.881, 3 seeds; ``docs/user_guide/defaults.rst``). From 32
    sequences an eighth of the data between 8 and 32 sequences, so that small
    data sets get several updates per epoch; above 3,200 sequences the batch
    grows to keep about 100 updates per epoch (up to 1,024), so that epochs of
    large data sets stay short.
    """
    if n < FULL_BATCH_BELOW:
        return int(n)
    return int(max(min(32, max(8, n // 8)), min(1024, n // 100)))


def constant_prediction_loss(loss, Y, sample_weight, step_weight=None):
    """Weighted loss of the best constant prediction of the encoded targets ``Y``.

    ``loss`` is the core's (a name or a ``(name, params)`` pair). ``Y`` is
    ``(n, k)`` or ``(n, T, k)``; the constant, the same for every sample and
    step, is per output the minimiser of the loss over the targets of every
    sample and step: the weighted mean (squared error), the weighted median
    (absolute error), the weighted ``quantile`` (pinball loss), the weighted
    Huber location (:func:`huber_location`), or the logit of the weighted class
    frequencies (cross-entropies). ``step_weight`` (n, T): relative weights of
    the steps (0 at missing ones).
    """
    name, params = loss_parts(loss)
    if name in ("absolute_error", "quantile", "huber"):
        values, weights = _flat_targets(Y, sample_weight, step_weight)
        if name == "huber":
            constant = [huber_location(v, weights, **params) for v in values.T]
        else:
            q = params.get("quantile", 0.5)
            constant = [weighted_quantile(v, weights, q) for v in values.T]
    else:
        if step_weight is not None:
            weights = (sample_weight[:, None] * step_weight).ravel()
            mean = np.average(Y.reshape(-1, Y.shape[-1]), axis=0, weights=weights)
        else:
            per_sample = Y.mean(axis=1) if Y.ndim == 3 else Y
            mean = np.average(per_sample, axis=0, weights=sample_weight)
        if name == "squared_error":
            constant = mean
        else:
            p = np.clip(mean, 1e-12, 1 - 1e-12)
            constant = np.log(p) if name == "softmax_cross_entropy" else np.log(p / (1 - p))
    Yt = np.swapaxes(Y, 0, 1) if Y.ndim == 3 else Y  # the losses take (..., n, k)
    scores = np.empty_like(Yt)
    scores[...] = constant
    value, _ = weighted_loss(loss, scores, Yt, sample_weight.astype(Y.dtype),
                             None if step_weight is None else step_weight.T)
    return value


def _flat_targets(Y, sample_weight, step_weight):
    """Return the targets of every sample and step ``(m, k)`` and their weights ``(m,)``."""
    sample_weight = np.asarray(sample_weight, dtype=np.float64)
    if Y.ndim == 3:
        T = Y.shape[1]
        weights = (np.repeat(sample_weight, T) if step_weight is None
                   else (sample_weight[:, None] * step_weight).ravel())
    else:
        weights = sample_weight
    return Y.reshape(-1, Y.shape[-1]).astype(np.float64), weights


def weighted_quantile(values, weights, quantile):
    """Return a minimiser of ``sum_j weights_j * pinball_quantile(values_j - c)`` over ``c``.

    The smallest value whose cumulative weight (in increasing order of the
    values) reaches ``quantile`` of the total: at most that share of the
    weight lies below it and at most ``1 - quantile`` above it. With
    ``quantile=0.5`` a weighted median. Values of zero weight never count.
    """
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(weights[order])
    index = np.searchsorted(cumulative, quantile * cumulative[-1], side="left")
    return float(values[order[min(index, len(order) - 1)]])


def huber_location(values, weights, delta=1.0, max_iter=100):
    """Return the minimiser of ``sum_j weights_j * huber_delta(values_j - c)`` over ``c``.

    The root of the derivative ``g(c) = -sum_j weights_j * clip(values_j - c,
    -delta, delta)``, which never decreases with ``c`` and is linear between
    the points ``values_j -+ delta``: Newton steps from the weighted median,
    exact once the set of values within ``delta`` of ``c`` stops changing,
    kept inside a bracket of the root (a bisection step when one would leave
    it), usually in a few steps.
    """
    low, high = float(values.min()), float(values.max())
    c = weighted_quantile(values, weights, 0.5)
    for _ in range(max_iter):
        residual = values - c
        g = -float(np.dot(weights, np.clip(residual, -delta, delta)))
        if g == 0.0:
            break
        if g > 0.0:
            high = c
        else:
            low = c
        slope = float(weights[np.abs(residual) < delta].sum())
        step = c - g / slope if slope > 0 else np.nan
        following = step if low < step < high else 0.5 * (low + high)
        if abs(following - c) <= 4 * np.finfo(np.float64).eps * max(1.0, abs(c)):
            c = following
            break
        c = following
    return c


class PlateauMonitor:
    """Count epochs without improvement, reduce the learning rate, decide to stop.

    Parameters
    ----------
    schedule : {'constant', 'plateau'}
        ``'constant'`` stops at the first plateau; ``'plateau'`` multiplies the
        optimizer's learning rate by ``factor`` at each plateau and stops at
        the plateau that would take it below ``MIN_LEARNING_RATE_SHARE`` of
        ``learning_rate_init``.
    patience : int
        Epochs without improvement that make a plateau.
    factor : float
        Multiplier of the learning rate at each plateau.
    learning_rate_init : float
        The initial learning rate.
    """

    def __init__(self, schedule, patience, factor, learning_rate_init):
        self.schedule = schedule
        self.patience = patience
        self.factor = factor
        self.learning_rate_init = learning_rate_init

    def update(self, estimator, improved, on_initial_plateau):
        """Update ``estimator._no_improvement_count``; return 'stop', 'reduce' or None."""
        if improved or on_initial_plateau:
            estimator._no_improvement_count = 0
            return None
        estimator._no_improvement_count += 1
        if estimator._no_improvement_count < self.patience:
            return None
        estimator._no_improvement_count = 0
        if self.schedule == "constant":
            return "stop"
        optimizer = estimator._optimizer
        reduced = optimizer.learning_rate * self.factor
        if reduced < MIN_LEARNING_RATE_SHARE * self.learning_rate_init * (1 - 1e-9):
            return "stop"
        optimizer.learning_rate = reduced
        return "reduce"


class Interrupt:
    """Turn Ctrl-C during training into a request to stop after the current minibatch.

    In the main thread a SIGINT handler sets :attr:`requested`; the training
    loop checks it after every minibatch. Elsewhere (signals reach only the
    main thread) nothing is installed. The previous handler is restored on
    exit; a second Ctrl-C while a stop is pending raises ``KeyboardInterrupt``
    at once.
    """

    def __init__(self):
        self.requested = False
        self._previous = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            try:
                self._previous = signal.signal(signal.SIGINT, self._handle)
            except ValueError:  # e.g. an embedded interpreter without signals
                self._previous = None
        return self

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        return False


_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _internal(filename):
    """Whether a frame's file belongs to this package or to scikit-learn's wrappers."""
    filename = os.path.abspath(filename)
    return filename.startswith(_PACKAGE_DIR + os.sep) or (
        f"{os.sep}sklearn{os.sep}" in filename
    )


def warn_caller(message, category):
    """Warn with the stack level of the first frame outside skdeeprnn and scikit-learn.

    So a ``ConvergenceWarning`` points at the user's ``fit`` (or the line
    that called a scikit-learn meta-estimator), not into the package.
    """
    frame = sys._getframe(1)
    level = 2  # warnings.warn's count: 1 is this function, 2 its caller
    while frame is not None and _internal(frame.f_code.co_filename):
        frame = frame.f_back
        level += 1
    if frame is None:  # called from internal code only (e.g. a joblib worker)
        level = 2
    warnings.warn(message, category, stacklevel=level)


def format_duration(seconds):
    """``'42.0 s'``, ``'3 min 05 s'`` or ``'1 h 02 min'``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def progress_line(epoch, max_epochs, loss, score, learning_rate, elapsed):
    """One verbose line: epoch k/max, loss, validation score, learning rate, time, time left."""
    parts = [f"epoch {epoch}/{max_epochs}", f"loss={loss:.6g}"]
    if score is not None:
        parts.append(f"validation score={score:.6g}")
    if learning_rate is not None:
        parts.append(f"lr={learning_rate:.3g}")
    left = elapsed / epoch * (max_epochs - epoch)
    parts.append(f"elapsed {format_duration(elapsed)}, at most {format_duration(left)} left")
    return ", ".join(parts)
