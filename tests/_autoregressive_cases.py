"""What the export tests share about the regressor's autoregressive term."""

import numpy as np

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
