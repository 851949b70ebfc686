"""The exporters' description of a fitted network, checked by evaluating it in NumPy.

The reference below follows the description's docstring step by step, in float64,
and must give the estimators' predictions: so the description says all that
``predict`` does, and the PyTorch and ONNX builders can be written from it alone.
"""

import itertools
import warnings

import numpy as np
import pytest
from _autoregressive_cases import visible_term
from sklearn.exceptions import ConvergenceWarning

from skdeeprnn import DeepRNNClassifier, DeepRNNRegressor
from skdeeprnn._export import describe


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _cell_step(layer, direction, xp_t, h, c):
    """One step of the cell: ``xp_t`` = W_ih x + b_ih (n, G*h); returns (h, c)."""
    H = layer.hidden_size
    hp = h @ direction.weight_hh.T.astype(np.float64)
    if direction.bias_hh is not None:
        hp = hp + direction.bias_hh
    if layer.cell == "rnn":
        pre = xp_t + hp
        return (np.tanh(pre) if layer.nonlinearity == "tanh" else np.maximum(pre, 0.0)), c
    if layer.cell == "lstm":
        g = xp_t + hp
        i, f, gg, o = (g[:, j * H:(j + 1) * H] for j in range(4))
        c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(gg)
        return _sigmoid(o) * np.tanh(c), c
    r = _sigmoid(xp_t[:, :H] + hp[:, :H])
    z = _sigmoid(xp_t[:, H:2 * H] + hp[:, H:2 * H])
    n_ = np.tanh(xp_t[:, 2 * H:] + r * hp[:, 2 * H:])
    return (1 - z) * n_ + z * h, c


def reference_output(desc, X):
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 2:
        X = X[:, :, None]
    n, T, _ = X.shape
    observed = ~np.isnan(X).all(axis=2)
    inp = first_input = np.where(observed[:, :, None], X, 0.0)
    for layer in desc.layers:
        outs = []
        for d in layer.directions:
            xp = inp @ d.weight_ih.T.astype(np.float64)
            if d.bias_ih is not None:
                xp = xp + d.bias_ih
            h = np.zeros((n, layer.hidden_size))
            c = np.zeros_like(h)
            out = np.empty((n, T, layer.hidden_size))
            for t in (range(T - 1, -1, -1) if d.reverse else range(T)):
                h_new, c_new = _cell_step(layer, d, xp[:, t], h, c)
                keep = observed[:, t][:, None]
                h, c = np.where(keep, h_new, h), np.where(keep, c_new, c)
                out[:, t] = h
            outs.append(out)
        out = np.concatenate(outs, axis=2)
        if layer.residual == "identity":
            out = out + inp
        elif layer.residual == "projection":
            out = out + inp @ layer.residual_weight.T.astype(np.float64)
        if layer.norm_weight is not None:
            mean = out.mean(axis=2, keepdims=True)
            var = ((out - mean) ** 2).mean(axis=2, keepdims=True)
            out = (out - mean) / np.sqrt(var + layer.norm_eps) * layer.norm_weight + layer.norm_bias
        inp = out
    top = inp
    if desc.return_sequences:
        feats = top
    elif desc.pooling == "mean":
        feats = (top * observed[:, :, None]).sum(axis=1) / observed.sum(axis=1)[:, None]
    elif desc.pooling == "max":
        feats = np.where(observed[:, :, None], top, -np.inf).max(axis=1)
    else:
        last = T - 1 - observed[:, ::-1].argmax(axis=1)
        first = observed.argmax(axis=1)
        rows = np.arange(n)
        feats = top[rows, last]
        if desc.layers[-1].bidirectional:
            h = desc.layers[-1].hidden_size
            feats = np.concatenate([top[rows, last, :h], top[rows, first, h:]], axis=1)
    scores = feats @ desc.head_weight.T.astype(np.float64)
    if desc.head_bias is not None:
        scores = scores + desc.head_bias
    if desc.autoregressive:
        # the last K positions, oldest first, zeros before the first step when K > T
        K = desc.autoregressive
        padded = np.concatenate([np.zeros((n, max(K - T, 0), X.shape[2])), first_input], axis=1)
        lagged = padded[:, -K:].reshape(n, K * X.shape[2])
        scores = scores + lagged @ desc.autoregressive_weight.T.astype(np.float64)
    o = desc.output
    if o.kind == "regression":
        y = scores * o.y_scale + o.y_mean
        if o.squeeze:
            y = y[..., 0]
    elif o.kind == "multiclass":
        e = np.exp(scores - scores.max(axis=-1, keepdims=True))
        y = e / e.sum(axis=-1, keepdims=True)
    elif o.kind == "binary":
        p = _sigmoid(scores)
        y = np.concatenate([1 - p, p], axis=-1)
    else:
        y = _sigmoid(scores)
    if desc.return_sequences:
        y = np.where(observed.reshape(observed.shape + (1,) * (y.ndim - 2)), y, np.nan)
    return y


RNG = np.random.RandomState(0)
X = RNG.normal(size=(12, 6, 3))
X_MISSING = X.copy()
X_MISSING[0, :2] = np.nan  # leading
X_MISSING[1, 3] = np.nan  # inside
X_MISSING[2, -2:] = np.nan  # trailing

CONFIGS = [
    dict(cell=cell, bidirectional=bi, pooling=pooling, layer_norm=norm)
    for cell, bi, pooling, norm in itertools.product(
        ["rnn", "lstm", "gru"], [False, True], ["last", "mean", "max"], [False, True])
] + [
    dict(num_layers=3, hidden_size=(4, 5, 5), residual=True, bidirectional=True),
    dict(num_layers=2, hidden_size=3, residual=True, layer_norm=False, pooling="last"),
    dict(num_layers=2, hidden_size=(3, 2), cell="lstm", bias=False, pooling="mean"),
    dict(num_layers=2, cell="rnn", nonlinearity="relu", return_sequences=True),
    dict(cell="lstm", bidirectional=True, return_sequences=True, residual=True, num_layers=2),
]


def _fit(Estimator, params, y, **extra):
    params = dict(dict(num_layers=2, hidden_size=4, max_iter=2, random_state=0), **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return Estimator(**params, **extra).fit(X_MISSING, y)


def _targets(params, kind):
    seq = params.get("return_sequences", False)
    base = X[:, :, 0].cumsum(axis=1) if seq else X[:, :, 0].sum(axis=1)
    if kind == "regression":
        return base
    if kind == "regression2":
        return np.stack([base, -2 * base + 5], axis=-1)
    if kind == "binary":
        return np.where(base > 0, "up", "down")
    if kind == "multiclass":
        return np.digitize(base, [-1.0, 1.0])
    return np.stack([base > 0, X[:, 0, 1] > 0], axis=1).astype(int)  # multilabel


def _id(params):
    return "-".join(f"{k}={v}" for k, v in params.items())


@pytest.mark.parametrize("params", CONFIGS, ids=_id)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_description_reproduces_predict(params, dtype):
    reg = _fit(DeepRNNRegressor, params, _targets(params, "regression"), dtype=dtype)
    desc = describe(reg)
    assert desc.dtype == np.dtype(dtype)
    rtol = 1e-4 if dtype == "float32" else 1e-10
    np.testing.assert_allclose(reference_output(desc, X_MISSING), reg.predict(X_MISSING),
                               rtol=rtol, atol=rtol)


@pytest.mark.parametrize("kind", ["regression2", "binary", "multiclass", "multilabel"])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_the_description_reproduces_every_output(kind, return_sequences):
    if kind == "multilabel" and return_sequences:
        pytest.skip("many-to-many labels are one label per step, not a multilabel indicator")
    params = dict(return_sequences=return_sequences, dtype="float64")
    Estimator = DeepRNNRegressor if kind.startswith("regression") else DeepRNNClassifier
    est = _fit(Estimator, params, _targets(params, kind))
    method = est.predict if kind.startswith("regression") else est.predict_proba
    desc = describe(est)
    np.testing.assert_allclose(reference_output(desc, X_MISSING), method(X_MISSING),
                               rtol=1e-10, atol=1e-10)
    if kind == "binary":
        assert desc.output.classes.tolist() == ["down", "up"] and desc.n_outputs == 1


# the autoregressive term: none, K < T and K = T (T = 6), with every stacking option
AR_CONFIGS = [
    dict(autoregressive=0),
    dict(autoregressive=2),
    dict(autoregressive=6, cell="lstm", bidirectional=True, pooling="last"),
    dict(autoregressive=3, num_layers=3, hidden_size=(4, 5, 5), residual=True,
         bidirectional=True, layer_norm=True, pooling="mean"),
    dict(autoregressive=1, cell="rnn", bias=False, layer_norm=False, pooling="last"),
    dict(autoregressive="auto", cell="gru", num_layers=1, pooling="max"),
]


@pytest.mark.parametrize("params", AR_CONFIGS, ids=_id)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind", ["regression", "regression2"])
def test_the_description_carries_the_autoregressive_term(params, dtype, kind):
    reg = visible_term(_fit(DeepRNNRegressor, params, _targets(params, kind), dtype=dtype))
    desc = describe(reg)
    K = reg.network_.arch.autoregressive
    # X_MISSING has a sequence that ends early, for which 'auto' leaves the term out
    assert desc.autoregressive == K == (0 if params["autoregressive"] == "auto"
                                        else params["autoregressive"])
    if K == 0:
        assert desc.autoregressive_weight is None
    else:
        assert desc.autoregressive_weight.shape == (desc.n_outputs, K * 3)
        assert desc.autoregressive_weight.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(desc.autoregressive_weight,
                                      reg.weights_["autoregressive.weight"])
    rtol = 1e-4 if dtype == "float32" else 1e-10
    for X_in in (X, X_MISSING):  # without and with missing steps (front, inside, end)
        np.testing.assert_allclose(reference_output(desc, X_in), reg.predict(X_in),
                                   rtol=rtol, atol=rtol)


def test_the_description_is_a_copy():
    reg = _fit(DeepRNNRegressor, {"autoregressive": 6}, _targets({}, "regression"))
    desc = describe(reg)
    before = reg.predict(X)
    desc.layers[0].directions[0].weight_ih[...] = 0.0
    desc.head_weight[...] = 0.0
    desc.autoregressive_weight[...] = 0.0
    np.testing.assert_array_equal(reg.predict(X), before)


def test_describe_refuses_what_is_not_a_fitted_estimator():
    from sklearn.exceptions import NotFittedError
    from sklearn.linear_model import Ridge

    with pytest.raises(TypeError, match="DeepRNNRegressor or DeepRNNClassifier"):
        describe(Ridge())
    with pytest.raises(NotFittedError):
        describe(DeepRNNRegressor())
