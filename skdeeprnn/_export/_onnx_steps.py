"""The ONNX graphs of the preprocessing steps a pipeline may hold before the estimator.

Each step's graph computes what its ``transform`` computes (``Pipeline.predict``
calls ``transform``, never ``fit_transform``), in the dtype of its input:

- :class:`~skdeeprnn.SequenceStandardScaler`: ``(X - mean_) / scale_`` per
  feature, on ``(N, T, d)`` or ``(N, T)``;
- :class:`~skdeeprnn.SlidingWindowTransformer`: ``(N, d)`` to ``(N, window, d)``,
  the first rows preceded by ``history_`` (``history=True``) and the padding;
- scikit-learn's ``StandardScaler``, ``MinMaxScaler`` and ``RobustScaler`` on a
  2D table, as their ``transform`` (``clip`` included).

NaN passes through all of them, as in NumPy.
"""

import numpy as np
from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler

from ..preprocessing import SequenceStandardScaler, SlidingWindowTransformer

TABLE_SCALERS = (StandardScaler, MinMaxScaler, RobustScaler)
STEPS = (SequenceStandardScaler, SlidingWindowTransformer) + TABLE_SCALERS


def step_input(step):
    """``(ranks, width)``: the input ranks the step accepts and its last dimension.

    ``width`` is the number of columns of a 2D table, the features per step of
    sequences (None when any is accepted).
    """
    if isinstance(step, SequenceStandardScaler):
        return (2, 3), step.n_features_per_step_
    return (2,), step.n_features_in_


def step_output_shape(step, shape):
    """Return the shape of the step's output for an input of ``shape`` (dims may be names)."""
    if isinstance(step, SlidingWindowTransformer):
        return [shape[0], step.window, shape[1]]
    return list(shape)


def add_step(g, step, x, dtype):
    """Add the nodes of one fitted step reading ``x``; return the output's name."""
    dtype = np.dtype(dtype)

    def const(value, hint):
        return g.const(np.asarray(value, dtype=dtype), hint)

    if isinstance(step, SlidingWindowTransformer):
        return _windows(g, step, x, dtype)
    if isinstance(step, (SequenceStandardScaler, StandardScaler)):
        center = step.mean_ if step.with_mean else None
        scale = step.scale_ if step.with_std else None
    elif isinstance(step, RobustScaler):
        center = step.center_ if step.with_centering else None
        scale = step.scale_ if step.with_scaling else None
    else:  # MinMaxScaler: X * scale_ + min_, then the optional clip
        out = g.op("Add", g.op("Mul", x, const(step.scale_, "minmax_scale")),
                   const(step.min_, "minmax_min"))
        if step.clip:
            low, high = step.feature_range
            out = g.op("Clip", out, const(low, "clip_low"), const(high, "clip_high"))
        return out
    if center is not None:
        x = g.op("Sub", x, const(center, "center"))
    if scale is not None:
        x = g.op("Div", x, const(scale, "scale"))
    return x


def _windows(g, step, x, dtype):
    """``Gather`` the rows ``t - window + 1 … t`` of the table preceded by the padding."""
    window = step.window
    n_before = window - 1
    axes1 = g.const(np.array([1], dtype=np.int64), "axes")
    if n_before == 0:
        return g.op("Unsqueeze", x, axes1)
    history = step.history_[:0] if not step.history else step.history_
    history = np.asarray(history, dtype=dtype)
    n_pad = n_before - history.shape[0]
    d = step.n_features_in_
    head = []
    if n_pad:
        if step.padding == "edge" and history.shape[0] == 0:  # the first row of X, repeated
            first = g.op("Slice", x, g.const(np.array([0], dtype=np.int64), "start"),
                         g.const(np.array([1], dtype=np.int64), "end"))
            head.append(g.op("Tile", first, g.const(np.array([n_pad, 1], dtype=np.int64),
                                                    "repeats")))
        else:
            if step.padding == "edge":
                row = history[:1]
            elif step.padding == "zero":
                row = np.zeros((1, d))
            elif step.padding == "missing":
                row = np.full((1, d), np.nan)
            else:  # "mean"
                row = step.mean_[None, :]
            head.append(g.const(np.repeat(np.asarray(row, dtype=dtype), n_pad, axis=0),
                                "padding"))
    if history.shape[0]:
        head.append(g.const(history, "history"))
    table = g.op("Concat", *head, x, axis=0)  # (n_before + N, d)
    n_rows = g.op("Squeeze", g.op("Shape", x, start=0, end=1),
                  g.const(np.array([0], dtype=np.int64), "axes"))
    ends = g.op("Range", g.const(np.array(0, dtype=np.int64), "zero_i"), n_rows,
                g.const(np.array(1, dtype=np.int64), "one_i"))  # (N,)
    index = g.op("Add", g.op("Unsqueeze", ends, axes1),
                 g.const(np.arange(window, dtype=np.int64)[None, :], "window_steps"))
    return g.op("Gather", table, index, axis=0)  # (N, window, d)
