"""Unequal lengths and missing steps: input conversion, checks, step weights and batching.

A time step is *missing* when all its features are NaN; the network leaves its
state unchanged there (:mod:`skdeeprnn.core._cells`). Lists of sequences of
unequal lengths become NaN-padded arrays here, so everything after this module
sees one ``(n, T, d)`` array. A fit validates its data once into a
:class:`Sequences`, which carries the sequences with their observed steps,
weights and spans down to the training loops. The estimators and
:mod:`skdeeprnn.preprocessing` both use this module; it imports neither.
"""

from functools import cached_property

import numpy as np


def _is_sequence_list(X):
    """Whether ``X`` is a list (or tuple) whose items are sequences rather than numbers."""
    if not isinstance(X, (list, tuple)) or len(X) == 0:
        return False
    ndims = [np.ndim(item) for item in X]
    if 0 in ndims and any(ndims):
        i, j = ndims.index(0), next(k for k, nd in enumerate(ndims) if nd)
        raise ValueError(
            f"item {i} of the list is a single number but item {j} is a sequence (shape "
            f"{np.shape(X[j])}): a list of sequences needs one array per sequence."
        )
    return all(ndims)


def pad_sequences(X, dtype, n_timesteps=None, name="X", at_front=False):
    """NaN-padded ``(n, T, d)`` (or ``(n, T)``) array of a list of ``(T_i, d)`` / ``(T_i,)`` items.

    Anything that is not such a list is returned unchanged. ``T`` is the
    longest item's length, or ``n_timesteps`` when that is larger (the length
    the model was fitted on). The padding goes at the end of each sequence,
    or with ``at_front`` before it, so that every sequence ends at the last
    step (what a model with an autoregressive term, which reads the last
    positions, needs).
    """
    if not _is_sequence_list(X):
        return X
    items = []
    for i, item in enumerate(X):
        try:
            a = np.asarray(item, dtype=dtype)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name}[{i}] cannot be read as numbers: {exc}") from exc
        if a.ndim not in (1, 2):
            raise ValueError(
                f"{name}[{i}] has shape {a.shape}; each sequence must be (n_timesteps,) or "
                "(n_timesteps, n_features)."
            )
        items.append(a)
    univariate = items[0].ndim == 1
    widths = [1 if a.ndim == 1 else a.shape[1] for a in items]
    for i, (a, width) in enumerate(zip(items, widths, strict=True)):
        if (a.ndim == 1) != univariate or width != widths[0]:
            raise ValueError(
                f"{name}[{i}] has {width} feature(s) per step (shape {a.shape}) but {name}[0] "
                f"has {widths[0]} (shape {items[0].shape}): every sequence needs the same "
                "features."
            )
    T = max(len(a) for a in items)
    if n_timesteps is not None:
        T = max(T, n_timesteps)
    out = np.full((len(items), T) + (() if univariate else (widths[0],)), np.nan, dtype=dtype)
    for i, a in enumerate(items):
        if at_front:
            out[i, T - len(a) :] = a
        else:
            out[i, : len(a)] = a
    return out


def observed_steps(X):
    """Check the missing steps of validated ``X`` (n, T, d); return the observed mask or None.

    Returns ``(n, T)`` bool (True where a step has its features) when some step
    is missing, else None. Raises a ``ValueError`` naming the sample and the
    step for infinity, for a step with some but not all features NaN, and for
    a sequence without any observed step.
    """
    finite = np.isfinite(X)
    if finite.all():
        return None
    inf = np.isinf(X)
    if inf.any():
        i, t, j = np.argwhere(inf)[0]
        raise ValueError(
            f"X contains infinity: sample {i}, step {t}, feature {j} (and "
            f"{int(inf.sum()) - 1} more value(s)). Only NaN, for a whole missing step, is "
            "accepted."
        )
    nan = ~finite
    missing = nan.all(axis=2)
    partial = nan.any(axis=2) & ~missing
    if partial.any():
        i, t = np.argwhere(partial)[0]
        features = np.flatnonzero(nan[i, t]).tolist()
        raise ValueError(
            f"X has a step with some but not all features NaN: sample {i}, step {t} (NaN "
            f"in feature(s) {features} of {X.shape[2]}). A step is missing only when all its "
            "features are NaN; impute the others, or mark the whole step missing."
        )
    empty = missing.all(axis=1)
    if empty.any():
        i = int(np.flatnonzero(empty)[0])
        raise ValueError(
            f"X has a sequence without any observed step: sample {i} is NaN at all its "
            f"{X.shape[1]} steps ({int(empty.sum())} such sequence(s))."
        )
    return ~missing


def observed_of(X):
    """Return the observed mask of checked ``X`` (n, T, d) or of its time-major view, or None."""
    missing = np.isnan(X[..., 0])
    return ~missing if missing.any() else None


def spans(observed):
    """Count the steps from each sequence's first to its last observed step, inclusive."""
    T = observed.shape[1]
    first = observed.argmax(axis=1)
    last = T - 1 - observed[:, ::-1].argmax(axis=1)
    return last - first + 1


def step_range(observed):
    """``slice`` of the steps between the first and the last step observed by any sequence.

    ``observed`` is time-major (T, n).
    """
    any_observed = np.flatnonzero(observed.any(axis=1))
    return slice(int(any_observed[0]), int(any_observed[-1]) + 1)


def split_step_weights(weights, observed):
    """Per-sequence weights and relative per-step weights of many-to-many training.

    ``weights`` is (n,) or (n, T), ``observed`` (n, T) or None. The objective
    weighs sequence ``i`` by ``w_i``, the mean of its step weights over its
    observed steps, and each of its steps by ``s_it = W_it / w_i`` (0 at
    missing steps). So weights that are constant along a sequence are the
    same as one weight per sequence. Returns ``(w, s)``; ``s`` is None when
    every step of every sequence has relative weight 1 (the plain loss).
    """
    if weights.ndim == 1 and observed is None:
        return weights, None
    W = np.broadcast_to(weights[:, None], observed.shape) if weights.ndim == 1 else weights
    if observed is not None:
        W = W * observed
        counts = observed.sum(axis=1)
    else:
        counts = np.full(W.shape[0], W.shape[1])
    w = W.sum(axis=1) / counts
    if weights.ndim == 1:
        w = weights.astype(np.float64, copy=True)  # exactly the given weights
    s = np.divide(W, w[:, None], out=np.zeros(W.shape), where=w[:, None] > 0)
    return w, s


def batches(n, batch_size, rng, shuffle, lengths=None, pool_batches=50):
    """Minibatches (index arrays into ``range(n)``) of one epoch.

    Without ``lengths``, or without shuffling, consecutive runs of a permuted
    (or the given) order, as before unequal lengths existed. With ``lengths``
    and shuffling, sequences of similar length are grouped so that a
    minibatch trimmed to its longest member computes little padding: the
    permuted order is cut into pools of ``pool_batches`` minibatches, each
    pool is sorted by length (ties keep their random order), cut into
    minibatches, and the minibatches are visited in random order. Every draw
    comes from ``rng``, so the grouping is reproducible.
    """
    if not shuffle:
        order = np.arange(n)
    else:
        order = rng.permutation(n)
    if lengths is not None and shuffle:
        pool = batch_size * pool_batches
        for start in range(0, n, pool):
            part = order[start : start + pool]
            order[start : start + pool] = part[np.argsort(lengths[part], kind="stable")]
        runs = [order[s : s + batch_size] for s in range(0, n, batch_size)]
        return [runs[k] for k in rng.permutation(len(runs))]
    return [order[s : s + batch_size] for s in range(0, n, batch_size)]


def pad_targets(y, n_timesteps):
    """Many-to-many targets as an array: a list of per-sequence targets padded to ``n_timesteps``.

    Numeric targets are padded with NaN, labels of other types with None; the
    padded steps must be missing steps of ``X`` (their targets are not read).
    """
    if not _is_sequence_list(y):
        return np.asarray(y)
    items = [np.asarray(item) for item in y]
    if all(len(a) == n_timesteps for a in items):
        return np.asarray(y)
    for i, a in enumerate(items):
        if len(a) > n_timesteps or a.shape[1:] != items[0].shape[1:]:
            raise ValueError(
                f"y[{i}] has shape {a.shape}; with return_sequences=True each sequence's "
                f"targets have at most {n_timesteps} steps (the length of X) and the shape "
                f"{('n_timesteps',) + items[0].shape[1:]}."
            )
    numeric = all(a.dtype.kind in "biuf" for a in items)
    out = np.full((len(items), n_timesteps) + items[0].shape[1:],
                  np.nan if numeric else None, dtype=np.float64 if numeric else object)
    for i, a in enumerate(items):
        out[i, : len(a)] = a
    return out


class Sequences:
    """Validated training data and what training derives from it, each computed once.

    Parameters
    ----------
    X : ndarray of shape (n, T, d)
        The validated sequences; a missing step is NaN in all its features.
    y : ndarray
        The validated targets, as the estimator's validation returns them.
    sample_weight : ndarray of shape (n,) or (n, T)
        The checked weights as the caller gave them (times the class
        weights): what a validation score weighs by.
    observed : ndarray of shape (n, T) of bool, or None
        True where a step has its features; None when every step does.
    many_to_many : bool
        Whether the targets are per step (``return_sequences``): then the
        loss weights split into ``weights`` and ``step_weight``
        (:func:`split_step_weights`).

    Attributes
    ----------
    weights : ndarray of shape (n,)
        Each sequence's weight in the loss.
    step_weight : ndarray of shape (n, T) or None
        The relative weights of the steps (many-to-many); None: all 1.
    lengths : ndarray of shape (n,) or None
        :func:`spans` of ``observed``, on first use; None when every step is observed.
    """

    def __init__(self, X, y, sample_weight, observed, many_to_many):
        self.X, self.y, self.sample_weight, self.observed = X, y, sample_weight, observed
        self.many_to_many = many_to_many
        if many_to_many:
            self.weights, self.step_weight = split_step_weights(sample_weight, observed)
        else:
            self.weights, self.step_weight = sample_weight, None

    def reweighted(self, sample_weight):
        """Return the same sequences and targets with other weights (the class weights)."""
        return Sequences(self.X, self.y, sample_weight, self.observed, self.many_to_many)

    @property
    def target_weight(self):
        """The weight of each target: ``(n,)``, or ``(n, T)`` per step (many-to-many)."""
        if self.step_weight is None:
            return self.sample_weight
        return self.weights[:, None] * self.step_weight

    @cached_property
    def lengths(self):
        return None if self.observed is None else spans(self.observed)

    def observed_of_rows(self, rows):
        """Return the observed mask of sequences ``rows``, time-major ``(T, len(rows))``, or None.

        None also when those sequences observe every step, as the core wants.
        """
        if self.observed is None:
            return None
        mask = self.observed[rows].T
        return None if mask.all() else mask
