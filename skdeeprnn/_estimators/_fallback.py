"""The regressor's linear fallback: the autoregressive term alone where the network hurts.

The autoregressive term is a ridge regression fitted before training; the
network then learns what it leaves. On a short or nearly linear series the
trained network can add more noise than signal. Fitting on one part of the
sequences and predicting the rest measures that before the real fit: models
of the same parameters, each fitted on one half of the sequences in their
given order, predict the other half with and without their network, and a
one-sided paired test on the per-sequence losses says whether the network is
worse than the term alone.

The halves are contiguous, not drawn at random: the windows of a series
overlap their neighbours, so a model fitted on a random half has seen
nearly every held-out window's inputs and targets shifted by a step, and
cannot show that its network learnt the training stretch by heart. On the
direct 24-output PM2.5 fit of ``bench_forecast.py`` (seed 0) random halves
kept the network (forecast MAE 68.8) where the first half's model on the
second found it clearly worse (z 3.1, and 13.6 and 4.0 at seeds 1 and 2;
the term alone forecast 61.6).
"""

import warnings

import numpy as np
from scipy.stats import norm
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state

from ..core import LOSSES, loss_parts
from ._training import FULL_BATCH_BELOW

# linear_fallback='auto' tests from this many training sequences: each half then trains in
# minibatches as the whole would (batch_size='auto' takes all of fewer than 32 at once),
# and below it the halves are too small for the test to say much
AUTO_FALLBACK_MIN_SEQUENCES = 2 * FULL_BATCH_BELOW
# up to this many sequences both halves are held out in turn (two fits on halves, about one
# more fit); above it only the first half's model predicts the second: half the cost, and
# the held-out half is large enough for the test (on the direct 24-output pm2.5 fit, 3,673
# windows, z 3.1 to 13.6 over three seeds)
CROSS_FIT_MAX_SEQUENCES = 1_000

# the term alone is kept when the network's cross-fitted loss is larger with this z-score:
# a one-sided test at the 5% level, so that the network stays unless it is clearly worse
FALLBACK_Z = float(norm.ppf(0.95))


def _splits(n):
    """Return the ``(train, held)`` masks: the first half and the second, in the given order.

    Up to :data:`CROSS_FIT_MAX_SEQUENCES` each half is held out in turn;
    above it only the second half is, predicted by the first half's model.
    """
    first = np.arange(n) < (n + 1) // 2
    if n <= CROSS_FIT_MAX_SEQUENCES:
        return [(~first, first), (first, ~first)]
    return [(first, ~first)]


def _seed(random_state):
    """Return the half models' seed: the estimator's own int, else one drawn from it.

    With an int the final fit draws from a fresh generator what it would
    without the test.
    """
    if isinstance(random_state, (int, np.integer)):
        return random_state
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def _losses(estimator, model, X, y):
    """Per-sequence losses of half model ``model`` on ``(X, y)``, with its network and without it.

    With the estimator's loss, in the estimator's standardised target units
    (those of all its training data): one unit for both halves, whose
    models standardise by their own halves.
    """
    Y = estimator._encode_targets(y, None, first=False)
    name, params = loss_parts(model._loss_name())

    def scores():  # the half model's scores, in the estimator's units
        own = model._scores(X).astype(np.float64)
        return (own * model._y_scale + model._y_mean - estimator._y_mean) / estimator._y_scale

    full = LOSSES[name](scores(), Y, **params)[0]
    views = model.network_.layout.views(model._theta)
    views["head.weight"][...] = 0.0
    if "head.bias" in views:
        views["head.bias"][...] = 0.0
    term = LOSSES[name](scores(), Y, **params)[0]
    return full, term


def network_gain_z(estimator, data):
    """z-score of the network's held-out loss against the term alone's; None if untestable.

    ``data``: the fit's :class:`~skdeeprnn._sequences.Sequences`, validated
    in the dtype of the fit (many-to-one, so its ``weights`` are one per
    sequence). Positive: the network made the held-out
    predictions worse. None when a half has no weight or the weights leave
    fewer than two sequences' worth (:func:`paired_z`). The half models take
    the estimator's parameters (and its resolved dtype), without the
    fallback, quiet.
    """
    X, y, sample_weight = data.X, data.y, data.weights
    n = X.shape[0]
    params = dict(linear_fallback=False, verbose=False, warm_start=False,
                  random_state=_seed(estimator.random_state), dtype=np.dtype(X.dtype).name)
    difference = np.zeros(n)
    tested = np.zeros(n, dtype=bool)
    for train, held in _splits(n):
        if not (sample_weight[train].sum() > 0 and sample_weight[held].sum() > 0):
            return None
        model = clone(estimator).set_params(**params)
        with warnings.catch_warnings():
            # the final fit warns about its own training; the halves' would repeat it
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X[train], y[train], sample_weight=sample_weight[train])
        full, term = _losses(estimator, model, X[held], y[held])
        difference[held] = full - term
        tested |= held
    return paired_z(difference[tested], sample_weight[tested])


def paired_z(difference, sample_weight):
    """Weighted mean of ``difference`` over its standard error; None below two samples' worth.

    With equal weights, the one-sample t statistic of the differences. The
    number of samples is Kish's effective ``(sum w)**2 / sum w**2``, so that
    scaling the weights changes nothing.
    """
    w = sample_weight / sample_weight.sum()
    effective_n = 1.0 / float(w @ w)  # n for equal weights
    if effective_n < 2.0:
        return None
    mean = float(w @ difference)
    variance = float(w @ (difference - mean) ** 2) * effective_n / (effective_n - 1.0)
    if variance == 0.0:
        return 0.0 if mean == 0.0 else float(np.copysign(np.inf, mean))
    return mean / float(np.sqrt(variance / effective_n))
