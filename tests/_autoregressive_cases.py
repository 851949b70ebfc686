"""What the tests of the regressor's autoregressive term share: architectures and data."""

import numpy as np


def ar2_windows(n, T, coefficients=(1.3, -0.5), seed=0):
    """Windows ``(n, T, 1)`` of T steps of a noisy AR(2) series and the value after each."""
    rng = np.random.RandomState(seed)
    series = np.zeros(n + T + 50)
    noise = rng.normal(size=series.size)
    a, b = coefficients
    for t in range(2, series.size):
        series[t] = a * series[t - 1] + b * series[t - 2] + noise[t]
    series = series[50:]
    X = np.stack([series[i : i + T] for i in range(n)])[:, :, None]
    return X, series[T : T + n]

# the term: none, K < T, K = T (T = 6), with stacking, directions, residual, layer norm and
# every pooling ('auto' gives these windows of several features none)
AR_ARCHITECTURES = [
    dict(autoregressive=0, cell="gru", pooling="max"),
    dict(autoregressive=2, cell="rnn", num_layers=1, pooling="last"),
    dict(autoregressive=6, cell="lstm", bidirectional=True, pooling="last", residual=True,
         hidden_size=(3, 5)),
    dict(autoregressive=3, cell="gru", num_layers=3, hidden_size=(5, 3, 4), pooling="mean",
         residual=True, bias=False),
    dict(autoregressive=1, cell="lstm", bidirectional=True, pooling="max", layer_norm=False),
    dict(autoregressive=5, cell="gru", bidirectional=True, pooling="mean"),
]


def visible_term(reg, seed=1):
    """Draw the autoregressive weights anew, of size 0.5, so that the term counts in the output.

    The fit may leave them near 0 on these targets; the exporters must carry any values.
    """
    if reg.network_.arch.autoregressive:
        weight = reg.weights_["autoregressive.weight"]  # a view: this changes the model
        weight[...] = np.random.RandomState(seed).normal(scale=0.5, size=weight.shape)
    return reg
