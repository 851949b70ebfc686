"""PyTorch as an exact oracle: forward scores, every parameter gradient and the losses.

The same weights are copied into ``torch.nn.RNN`` / ``LSTM`` / ``GRU`` + ``nn.Linear``
and into our flat vector; both must agree to 1e-10 in float64 and 1e-4 in float32.
The second half checks the export to / import from a PyTorch ``state_dict``
(:mod:`skdeeprnn._estimators._interop`). A bare recurrent module and a head
cannot hold the regressor's autoregressive term, which its default
``autoregressive='auto'`` adds: the regressors exported that way here are
fitted with ``autoregressive=0``, and the term's own tests are at the end.
"""

import itertools
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional

from sklearn.exceptions import ConvergenceWarning, NotFittedError  # noqa: E402

from skdeeprnn import DeepRNNClassifier, DeepRNNRegressor  # noqa: E402
from skdeeprnn._estimators._interop import (  # noqa: E402
    from_torch_state_dict,
    to_torch_state_dict,
    torch_modules_kwargs,
)
from skdeeprnn.core import Architecture, StackedRNN  # noqa: E402

T, N, D, H, K = 5, 3, 4, 3, 2
CELLS = {"rnn-tanh": ("rnn", "tanh"), "rnn-relu": ("rnn", "relu"),
         "lstm": ("lstm", "tanh"), "gru": ("gru", "tanh")}
DTYPES = {"float64": (np.float64, torch.float64, 1e-10),
          "float32": (np.float32, torch.float32, 1e-4)}
MODULES = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


# ----------------------------------------------------------------------------- helpers
def _native_lstm_float32(monkeypatch, cell, dtype):
    """Run float32 LSTM on ATen's native CPU kernels instead of oneDNN's.

    PyTorch hands float32 LSTMs to oneDNN, whose per-call setup costs 0.3-2 s
    for these tiny shapes: the matrix would take minutes. The native kernels
    compute the same formulas; ``test_lstm_float32_default_onednn_path`` checks
    the default path on one configuration.
    """
    if cell == "lstm" and dtype == "float32":
        monkeypatch.setattr(torch.backends.mkldnn, "enabled", False)


def _torch_rnn(arch, batch_first=False):
    kwargs = dict(bias=arch.bias, batch_first=batch_first, bidirectional=arch.bidirectional)
    if arch.cell == "rnn":
        kwargs["nonlinearity"] = arch.nonlinearity
    return MODULES[arch.cell](arch.input_size, arch.hidden_sizes[0], arch.num_layers, **kwargs)


def _torch_pair(net, theta, tdtype):
    """Torch recurrent module and head holding the weights of our flat vector ``theta``."""
    arch = net.arch
    rnn = _torch_rnn(arch).to(tdtype)
    head = nn.Linear(arch.feature_size, arch.output_size, bias=arch.bias).to(tdtype)
    P = net.layout.views(theta)
    rnn.load_state_dict({name: torch.from_numpy(P[name].copy())
                         for name in rnn.state_dict()}, strict=True)
    head.load_state_dict({name: torch.from_numpy(P["head." + name].copy())
                          for name in head.state_dict()}, strict=True)
    return rnn, head


def _torch_norm(net, theta, tdtype):
    """``nn.LayerNorm`` holding a one-layer network's layer norm, or None without one."""
    if not net.arch.layer_norm:
        return None
    assert net.arch.num_layers == 1  # between layers it has no torch module
    P = net.layout.views(theta)
    norm = nn.LayerNorm(net.arch.feature_size).to(tdtype)
    norm.load_state_dict({name: torch.from_numpy(P["layer_norm_l0." + name].copy())
                          for name in norm.state_dict()}, strict=True)
    return norm


def _torch_features(arch, output, state, time_dim, norm=None):
    """What our head reads, from the torch module's ``output`` and state (and layer norm)."""
    if norm is not None:
        output = norm(output)
    if arch.return_sequences:
        return output
    if arch.pooling == "mean":
        return output.mean(dim=time_dim)
    if arch.pooling == "max":
        return output.amax(dim=time_dim)
    if norm is not None:  # the normalised output at the forward (backward) direction's end
        last, first = output.select(time_dim, -1), output.select(time_dim, 0)
        if not arch.bidirectional:
            return last
        h = arch.hidden_sizes[-1]
        return torch.cat([last[:, :h], first[:, h:]], dim=1)
    h_n = state[0] if arch.cell == "lstm" else state
    if arch.bidirectional:
        return torch.cat([h_n[-2], h_n[-1]], dim=1)  # last layer, forward and backward
    return h_n[-1]


def _torch_scores(arch, rnn, head, x, norm=None):
    """What our network's head gives, computed from the torch module's outputs (time-major)."""
    output, state = rnn(x)
    return head(_torch_features(arch, output, state, time_dim=0, norm=norm))


def _torch_grads(net, rnn, head, norm=None):
    """Torch's parameter gradients under our names."""
    grads = {name: p.grad for name, p in rnn.named_parameters()}
    grads.update({"head." + name: p.grad for name, p in head.named_parameters()})
    if norm is not None:
        grads.update({"layer_norm_l0." + name: p.grad for name, p in norm.named_parameters()})
    assert sorted(grads) == sorted(net.layout.names)
    return grads


def _assert_close(ours, theirs, tol, what):
    theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else theirs
    assert ours.shape == theirs.shape, what
    np.testing.assert_allclose(ours, theirs, rtol=tol, atol=tol, err_msg=what)


def _problem(cell, num_layers, bidirectional, bias, seq, dtype, seed=0, output_size=K,
             pooling="last", layer_norm=False):
    name, nonlinearity = CELLS[cell]
    arch = Architecture(D, (H,) * num_layers, output_size, cell=name, nonlinearity=nonlinearity,
                        bias=bias, bidirectional=bidirectional, return_sequences=seq,
                        pooling=pooling, layer_norm=layer_norm)
    net = StackedRNN(arch)
    rng = np.random.RandomState(seed)
    # twice PyTorch's init scale so that the gates leave their linear regime
    theta = 2.0 * net.init_params(rng, dtype=np.float64)
    for k in range(num_layers if layer_norm else 0):  # a gain and shift other than 1 and 0
        for part in ("weight", "bias"):
            view = net.layout.views(theta)[f"layer_norm_l{k}.{part}"]
            view += rng.normal(scale=0.5, size=view.shape)
    theta = theta.astype(dtype)
    X = rng.normal(size=(T, N, D)).astype(dtype)
    return net, theta, X, rng


# ------------------------------------------------------------- forward and gradients
MATRIX = list(itertools.product(CELLS, [1, 2, 3], [False, True], [False, True],
                                ["many-to-one", "many-to-many"], DTYPES))


@pytest.mark.parametrize("cell, num_layers, bidirectional, bias, head_kind, dtype", MATRIX)
def test_forward_and_gradients_match_torch(cell, num_layers, bidirectional, bias, head_kind,
                                           dtype, monkeypatch):
    """Scores and every parameter's gradient of a random linear functional of the scores."""
    _native_lstm_float32(monkeypatch, cell, dtype)
    _check_forward_and_gradients(cell, num_layers, bidirectional, bias, head_kind, dtype)


# the pooled many-to-one heads: every cell x depth x direction x dtype, with biases
POOLED = list(itertools.product(CELLS, [1, 2], [False, True], ["pooled-mean", "pooled-max"],
                                DTYPES))


@pytest.mark.parametrize("cell, num_layers, bidirectional, head_kind, dtype", POOLED)
def test_pooled_heads_match_torch(cell, num_layers, bidirectional, head_kind, dtype,
                                  monkeypatch):
    """``pooling='mean'`` / ``'max'`` equal the head on torch's output averaged / maximised."""
    _native_lstm_float32(monkeypatch, cell, dtype)
    _check_forward_and_gradients(cell, num_layers, bidirectional, True, head_kind, dtype)


# one layer with layer_norm (the estimators' default): an nn.LayerNorm on torch's output
LAYER_NORM = list(itertools.product(CELLS, [False, True], [False, True],
                                    ["many-to-one", "many-to-many", "pooled-mean", "pooled-max"],
                                    DTYPES))


@pytest.mark.parametrize("cell, bidirectional, bias, head_kind, dtype", LAYER_NORM)
def test_one_layer_with_layer_norm_matches_torch_layer_norm(cell, bidirectional, bias,
                                                             head_kind, dtype, monkeypatch):
    _native_lstm_float32(monkeypatch, cell, dtype)
    _check_forward_and_gradients(cell, 1, bidirectional, bias, head_kind, dtype,
                                 layer_norm=True)


def test_lstm_float32_default_onednn_path():
    """The matrix's float32 LSTMs avoid oneDNN (slow set-up); its default path agrees too."""
    if not (torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled):
        pytest.skip("this torch build does not use oneDNN")
    _check_forward_and_gradients("lstm", 2, True, True, "many-to-one", "float32")


def _check_forward_and_gradients(cell, num_layers, bidirectional, bias, head_kind, dtype,
                                 layer_norm=False):
    npdtype, tdtype, tol = DTYPES[dtype]
    seq = head_kind == "many-to-many"
    pooling = head_kind.removeprefix("pooled-") if head_kind.startswith("pooled-") else "last"
    net, theta, X, rng = _problem(cell, num_layers, bidirectional, bias, seq, npdtype,
                                  pooling=pooling, layer_norm=layer_norm)
    rnn, head = _torch_pair(net, theta, tdtype)
    norm = _torch_norm(net, theta, tdtype)

    scores, cache = net.forward(theta, X)
    t_scores = _torch_scores(net.arch, rnn, head, torch.from_numpy(X), norm)
    assert scores.dtype == npdtype
    _assert_close(scores, t_scores, tol, "scores")

    R = rng.normal(size=scores.shape).astype(npdtype)
    grad = net.backward(theta, cache, R.copy())
    assert grad.dtype == npdtype
    (t_scores * torch.from_numpy(R)).sum().backward()
    ours = net.layout.views(grad)
    for name, g in _torch_grads(net, rnn, head, norm).items():
        _assert_close(ours[name], g, tol, name)


# ------------------------------------------------------------------------------ losses
def _torch_per_step_loss(loss, s, Y):
    """Per-(step,) sample losses of torch's functional losses, shape s.shape[:-1]."""
    if loss == "squared_error":
        return 0.5 * ((s - Y) ** 2).mean(-1)
    if loss == "softmax_cross_entropy":
        k = s.shape[-1]
        labels = Y.argmax(-1)
        return F.cross_entropy(s.reshape(-1, k), labels.reshape(-1),
                               reduction="none").reshape(s.shape[:-1])
    return F.binary_cross_entropy_with_logits(s, Y, reduction="none").sum(-1)


def _targets(loss, shape, rng):
    if loss == "squared_error":
        return rng.normal(size=shape)
    if loss == "softmax_cross_entropy":
        return np.eye(shape[-1])[rng.randint(0, shape[-1], size=shape[:-1])]
    return (rng.uniform(size=shape) > 0.5).astype(float)


LOSS_MATRIX = list(itertools.product(
    ["squared_error", "softmax_cross_entropy", "sigmoid_log_loss"],
    ["many-to-one", "many-to-many"],
    [("lstm", 2, True, True), ("gru", 1, False, True), ("rnn-tanh", 2, False, False)],
    [0.0, 0.3],
    DTYPES,
))


@pytest.mark.parametrize("loss, head_kind, net_config, alpha, dtype", LOSS_MATRIX)
def test_loss_and_grad_match_torch(loss, head_kind, net_config, alpha, dtype, monkeypatch):
    """Weighted mean loss (summed over steps for many-to-many) + L2 on weights, and its gradient."""
    npdtype, tdtype, tol = DTYPES[dtype]
    seq = head_kind == "many-to-many"
    cell, num_layers, bidirectional, bias = net_config
    _native_lstm_float32(monkeypatch, cell, dtype)
    net, theta, X, rng = _problem(cell, num_layers, bidirectional, bias, seq, npdtype, seed=1,
                                  output_size=3)
    Y = _targets(loss, (T, N, 3) if seq else (N, 3), rng).astype(npdtype)
    sw = rng.uniform(0.2, 3.0, size=N)
    sw[1] = 0.0  # a zero weight removes the sample

    value, grad = net.loss_and_grad(theta, X, Y, loss, sw, alpha, training=False)

    rnn, head = _torch_pair(net, theta, tdtype)
    s = _torch_scores(net.arch, rnn, head, torch.from_numpy(X))
    per_sample = _torch_per_step_loss(loss, s, torch.from_numpy(Y))
    if seq:
        per_sample = per_sample.sum(0)
    w = torch.from_numpy(sw).to(tdtype)
    t_value = (per_sample * w).sum() / w.sum()
    params = list(rnn.named_parameters()) + [("head." + n, p) for n, p in head.named_parameters()]
    t_value = t_value + 0.5 * alpha * sum((p ** 2).sum() for n, p in params if "weight" in n)
    t_value.backward()

    assert isinstance(value, float)
    np.testing.assert_allclose(value, t_value.item(), rtol=tol, atol=tol)
    ours = net.layout.views(grad)
    for name, g in _torch_grads(net, rnn, head).items():
        _assert_close(ours[name], g, tol, name)


# ============================================================== state_dict export / import
def _xy(seed=0, n=20, steps=6, d=3):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, steps, d))
    return rng, X


def _fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


def _modules(est, tdtype=torch.float64):
    """nn.ModuleDict(rnn=..., [norm=...,] head=...) built from the estimator's kwargs."""
    kwargs = torch_modules_kwargs(est)
    assert kwargs["batch_first"] is True
    modules = {"rnn": getattr(nn, kwargs.pop("mode"))(**kwargs)}
    arch = est.network_.arch
    if arch.layer_norm:
        modules["norm"] = nn.LayerNorm(arch.feature_size)
    modules["head"] = nn.Linear(arch.feature_size, arch.output_size,
                                bias="head.bias" in est.weights_)
    return nn.ModuleDict(modules).to(tdtype)


def _load(est, state_dict, tdtype=torch.float64):
    modules = _modules(est, tdtype)
    # same keys in the same order as torch's own state_dict
    assert list(state_dict) == list(modules.state_dict())
    modules.load_state_dict({k: torch.from_numpy(v) for k, v in state_dict.items()},
                            strict=True)
    return modules


def _run(modules, arch, X, tdtype=torch.float64):
    """Head scores of the torch modules on batch-first X (n, T, d)."""
    rnn, head = modules["rnn"], modules["head"]
    norm = modules["norm"] if "norm" in modules else None
    with torch.no_grad():
        output, state = rnn(torch.from_numpy(X).to(tdtype))
        return head(_torch_features(arch, output, state, time_dim=1, norm=norm)).numpy()


REG_CONFIGS = [
    dict(cell="rnn"),
    dict(cell="rnn", nonlinearity="relu", bidirectional=True),
    dict(cell="lstm"),
    dict(cell="lstm", bidirectional=True, num_layers=3),
    dict(cell="gru", bidirectional=True),
    dict(cell="gru", return_sequences=True),
    dict(cell="lstm", bidirectional=True, return_sequences=True),
    dict(cell="gru", pooling="mean"),
    dict(cell="lstm", bidirectional=True, pooling="max"),
]


@pytest.mark.parametrize("config", REG_CONFIGS, ids=lambda c: "-".join(map(str, c.values())))
@pytest.mark.parametrize("n_outputs", [1, 2])
def test_regressor_export_reproduces_predict(config, n_outputs):
    rng, X = _xy()
    params = dict(num_layers=2, hidden_size=4, max_iter=5, random_state=0, dtype="float64",
                  layer_norm=False, autoregressive=0) | config
    est = DeepRNNRegressor(**params)
    if est.return_sequences:
        y = rng.normal(size=(20, 6, n_outputs)) * 50 + 100
    else:
        y = rng.normal(size=(20, n_outputs)) * 50 + 100
    if n_outputs == 1:
        y = y[..., 0]
    _fit(est, X, y)

    sd = to_torch_state_dict(est)
    assert all(isinstance(v, np.ndarray) and v.dtype == np.float64 for v in sd.values())
    # a copy: changing the export leaves the model alone
    sd["head.weight"] += 0.0
    assert not np.shares_memory(sd["head.weight"], est._theta)

    modules = _load(est, sd)
    out = _run(modules, est.network_.arch, X)
    pred = est.predict(X)
    if n_outputs == 1:
        out = out[..., 0]
    np.testing.assert_allclose(out, pred, rtol=1e-10, atol=1e-10)
    # the folded target scaling is what makes this work: the raw scores are far from y
    assert np.abs(pred).mean() > 10


@pytest.mark.parametrize("config", [
    dict(cell="rnn"), dict(cell="lstm", bidirectional=True), dict(cell="gru"),
    dict(cell="gru", bias=False), dict(cell="lstm", return_sequences=True),
], ids=lambda c: "-".join(map(str, c.values())))
@pytest.mark.parametrize("classes", [["ant", "bee", "cat"], ["no", "yes"]])
def test_classifier_export_reproduces_predict_proba(config, classes):
    rng, X = _xy(1)
    params = dict(num_layers=2, hidden_size=4, max_iter=5, random_state=0, dtype="float64",
                  layer_norm=False) | config
    est = DeepRNNClassifier(**params)
    shape = (20, 6) if est.return_sequences else (20,)
    y = np.asarray(classes)[rng.randint(0, len(classes), size=shape)]
    _fit(est, X, y)

    modules = _load(est, to_torch_state_dict(est))
    scores = _run(modules, est.network_.arch, X)
    proba = est.predict_proba(X)
    if len(classes) == 2:
        # binary: one logit, P(classes_[1]) = sigmoid
        assert scores.shape[-1] == 1
        expected = np.concatenate([1 / (1 + np.exp(scores)), 1 / (1 + np.exp(-scores))], -1)
        np.testing.assert_allclose(proba, expected, rtol=1e-10, atol=1e-10)
    else:
        # multiclass: log predict_proba equals the scores up to a per-row constant
        diff = np.log(proba) - scores
        np.testing.assert_allclose(diff - diff[..., :1], 0.0, atol=1e-10)
        t_proba = torch.softmax(torch.from_numpy(scores), -1).numpy()
        np.testing.assert_allclose(proba, t_proba, rtol=1e-10, atol=1e-10)
    if len(classes) > 2:
        expected_labels = est.classes_[scores.argmax(-1)]
    else:
        expected_labels = est.classes_[(scores[..., 0] > 0).astype(int)]
    np.testing.assert_array_equal(est.predict(X), expected_labels)


def test_export_float32():
    rng, X = _xy(2)
    est = _fit(DeepRNNRegressor(layer_norm=False, num_layers=2, hidden_size=4, cell="gru",
                                bidirectional=True, autoregressive=0,
                                max_iter=5, random_state=0, dtype="float32"),
               X, rng.normal(size=20) * 3 - 7)
    sd = to_torch_state_dict(est)
    assert all(v.dtype == np.float32 for v in sd.values())
    out = _run(_load(est, sd, torch.float32), est.network_.arch, X, torch.float32)
    np.testing.assert_allclose(out[:, 0], est.predict(X), rtol=1e-4, atol=1e-4)


def test_torch_modules_kwargs():
    rng, X = _xy()
    est = _fit(DeepRNNRegressor(layer_norm=False, num_layers=3, hidden_size=(5, 5, 5), cell="rnn",
                                nonlinearity="relu", bidirectional=True, dropout=0.25,
                                max_iter=2, random_state=0, dtype="float64"),
               X, rng.normal(size=20))
    assert torch_modules_kwargs(est) == dict(
        mode="RNN", input_size=3, hidden_size=5, num_layers=3, bias=True, batch_first=True,
        bidirectional=True, nonlinearity="relu", dropout=0.25)
    est = _fit(DeepRNNRegressor(layer_norm=False, cell="lstm", hidden_size=2, bias=False,
                                max_iter=2,
                                random_state=0, dtype="float64"), X, rng.normal(size=20))
    assert torch_modules_kwargs(est) == dict(
        mode="LSTM", input_size=3, hidden_size=2, num_layers=1, bias=False, batch_first=True,
        bidirectional=False, dropout=0.0)
    # an unfitted estimator is enough: the input size is then required
    kw = torch_modules_kwargs(DeepRNNClassifier(layer_norm=False, cell="gru", hidden_size=7),
                              input_size=4)
    assert kw["mode"] == "GRU" and kw["input_size"] == 4 and kw["hidden_size"] == 7
    with pytest.raises(ValueError, match="input_size"):
        torch_modules_kwargs(DeepRNNClassifier())


def test_export_errors():
    rng, X = _xy()
    with pytest.raises(NotFittedError):
        to_torch_state_dict(DeepRNNRegressor())
    est = _fit(DeepRNNRegressor(layer_norm=False, num_layers=2, hidden_size=(4, 3), max_iter=2,
                                random_state=0,
                                dtype="float64"),
               X, rng.normal(size=20))
    with pytest.raises(ValueError, match="same hidden size"):
        to_torch_state_dict(est)
    with pytest.raises(ValueError, match="same hidden size"):
        torch_modules_kwargs(est)
    # no head bias, but the target mean must go somewhere
    est = _fit(DeepRNNRegressor(layer_norm=False, bias=False, hidden_size=3, max_iter=2,
                                random_state=0, autoregressive=0,
                                dtype="float64"),
               X, rng.normal(size=20) + 5)
    with pytest.raises(ValueError, match="bias=False"):
        to_torch_state_dict(est)


def test_export_without_bias_with_centred_target():
    rng, X = _xy()
    z = rng.normal(size=10)
    y = np.concatenate([z, -z]) * 4.0  # mean 0 (up to rounding), scale 4 fits in the weights
    est = _fit(DeepRNNRegressor(layer_norm=False, bias=False, hidden_size=3, cell="gru", max_iter=3,
                                random_state=0, dtype="float64", autoregressive=0), X, y)
    sd = to_torch_state_dict(est)
    assert "head.bias" not in sd
    out = _run(_load(est, sd), est.network_.arch, X)
    np.testing.assert_allclose(out[:, 0], est.predict(X), rtol=1e-10, atol=1e-10)


# ------------------------------------------------------------------------------ import
def _torch_model(kind, input_size, hidden, num_layers, out, bias=True, bidirectional=False,
                 seed=0, nonlinearity="tanh"):
    torch.manual_seed(seed)
    kwargs = dict(bias=bias, batch_first=True, bidirectional=bidirectional)
    if kind == "RNN":
        kwargs["nonlinearity"] = nonlinearity
    rnn = getattr(nn, kind)(input_size, hidden, num_layers, **kwargs)
    head = nn.Linear(hidden * (2 if bidirectional else 1), out, bias=bias)
    return nn.ModuleDict({"rnn": rnn, "head": head}).double()


IMPORT_CONFIGS = [
    ("RNN", dict(cell="rnn", nonlinearity="relu"), False, True),
    ("LSTM", dict(cell="lstm", bidirectional=True), True, True),
    ("GRU", dict(cell="gru"), False, False),
    ("GRU", dict(cell="gru", bidirectional=True, return_sequences=True), True, True),
]


@pytest.mark.parametrize("kind, config, bidirectional, bias", IMPORT_CONFIGS)
def test_regressor_import_predicts_as_torch_and_trains_on(kind, config, bidirectional, bias):
    rng, X = _xy(3)
    model = _torch_model(kind, 3, 4, 2, 1, bias=bias, bidirectional=bidirectional,
                         nonlinearity=config.get("nonlinearity", "tanh"))
    sd = {k: v.detach().clone() for k, v in model.state_dict().items()}  # torch tensors
    est = DeepRNNRegressor(layer_norm=False, num_layers=2, hidden_size=4, bias=bias, solver="adam",
                           alpha=0.0, autoregressive=0,
                           warm_start=True, max_iter=1, shuffle=False, batch_size=1000,
                           random_state=0, **config, dtype="float64")
    assert from_torch_state_dict(est, sd, n_features_per_step=3, n_timesteps=6) is est

    arch = est.network_.arch
    expected = _run(model, arch, X)[..., 0]
    pred = est.predict(X)
    np.testing.assert_allclose(pred, expected, rtol=1e-10, atol=1e-10)
    assert est.n_features_in_ == 6 and est.n_features_per_step_ == 3
    # the round trip gives back the same dict
    back = to_torch_state_dict(est)
    assert list(back) == list(sd)
    for k in sd:
        np.testing.assert_array_equal(back[k], sd[k].numpy())

    # warm-started fit continues from the imported weights: one full batch, so the first
    # epoch's loss is the imported model's loss, computed here by torch
    y = rng.normal(size=pred.shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    assert est.n_iter_ == 1
    steps = y.size / 20  # many-to-many: the per-sample loss sums over the steps
    torch_loss = 0.5 * np.mean((expected - y) ** 2) * steps
    np.testing.assert_allclose(est.loss_curve_[0], torch_loss, rtol=1e-10)
    assert not np.allclose(est.predict(X), pred)
    # and partial_fit too
    est.partial_fit(X, y)
    assert est.n_iter_ == 2


@pytest.mark.parametrize("classes, kind", [(["ant", "bee", "cat"], "LSTM"), ([3, 7], "GRU")])
def test_classifier_import(classes, kind):
    rng, X = _xy(4)
    k = len(classes) if len(classes) > 2 else 1
    model = _torch_model(kind, 3, 5, 1, k)
    est = DeepRNNClassifier(layer_norm=False, hidden_size=5, cell=kind.lower(), random_state=0,
                            dtype="float64")
    from_torch_state_dict(est, model.state_dict(), 3, 6, classes=classes)
    np.testing.assert_array_equal(est.classes_, classes)
    scores = _run(model, est.network_.arch, X)
    if k == 1:
        p1 = 1 / (1 + np.exp(-scores[:, 0]))
        np.testing.assert_allclose(est.predict_proba(X)[:, 1], p1, rtol=1e-10, atol=1e-10)
    else:
        t_proba = torch.softmax(torch.from_numpy(scores), -1).numpy()
        np.testing.assert_allclose(est.predict_proba(X), t_proba, rtol=1e-10, atol=1e-10)
    y = np.asarray(classes)[rng.randint(0, len(classes), size=20)]
    before = est._theta.copy()
    est.partial_fit(X, y)
    assert est.n_iter_ == 1 and not np.array_equal(est._theta, before)
    assert set(est.predict(X)) <= set(classes)


def test_multilabel_import():
    rng, X = _xy(5)
    model = _torch_model("GRU", 3, 4, 1, 3)
    est = DeepRNNClassifier(layer_norm=False, hidden_size=4, cell="gru", dtype="float64")
    from_torch_state_dict(est, model.state_dict(), 3, 6, multilabel=True)
    np.testing.assert_array_equal(est.classes_, [0, 1, 2])
    p = 1 / (1 + np.exp(-_run(model, est.network_.arch, X)))
    np.testing.assert_allclose(est.predict_proba(X), p, rtol=1e-10, atol=1e-10)
    assert est.predict(X).shape == (20, 3)
    est.partial_fit(X, (rng.uniform(size=(20, 3)) > 0.5).astype(int))


def test_import_errors():
    model = _torch_model("LSTM", 3, 4, 2, 1)
    sd = model.state_dict()
    reg = DeepRNNRegressor(layer_norm=False, num_layers=2, hidden_size=4, cell="lstm",
                           dtype="float64", autoregressive=0)
    with pytest.raises(ValueError, match="missing.*rnn.weight_hh_l1"):
        from_torch_state_dict(reg, {k: v for k, v in sd.items() if k != "rnn.weight_hh_l1"},
                              3, 6)
    with pytest.raises(ValueError, match="unexpected.*rnn.weight_ih_l2"):
        from_torch_state_dict(reg, {**sd, "rnn.weight_ih_l2": sd["rnn.weight_ih_l1"]}, 3, 6)
    with pytest.raises(ValueError, match="shape"):
        from_torch_state_dict(DeepRNNRegressor(layer_norm=False, num_layers=2, hidden_size=5,
                                               cell="lstm", autoregressive=0),
                              sd, 3, 6)
    with pytest.raises(ValueError, match="shape"):  # a GRU dict into an LSTM estimator
        from_torch_state_dict(reg, _torch_model("GRU", 3, 4, 2, 1).state_dict(), 3, 6)
    with pytest.raises(ValueError, match="n_features_per_step"):
        from_torch_state_dict(reg, sd, 2, 6)
    with pytest.raises(ValueError, match="same hidden size"):
        from_torch_state_dict(DeepRNNRegressor(layer_norm=False, num_layers=2, hidden_size=(4, 3),
                                               cell="lstm", autoregressive=0),
                              sd, 3, 6)
    with pytest.raises(ValueError, match="classes"):
        from_torch_state_dict(DeepRNNClassifier(layer_norm=False, num_layers=2, hidden_size=4,
                                                cell="lstm"),
                              sd, 3, 6)
    with pytest.raises(ValueError, match="3 classes.*1 output"):
        from_torch_state_dict(DeepRNNClassifier(layer_norm=False, num_layers=2, hidden_size=4,
                                                cell="lstm"),
                              sd, 3, 6, classes=["a", "b", "c"])
    with pytest.raises(ValueError, match="must be a DeepRNNRegressor or DeepRNNClassifier"):
        from_torch_state_dict(object(), sd, 3, 6)
    # a failed import leaves an unfitted estimator unfitted
    assert not hasattr(reg, "network_")


@pytest.mark.parametrize("classes, n_out", [(["yes", "no"], 2), (["yes", "no"], 1),
                                            (["cat", "ant", "bee"], 3)])
def test_classifier_import_maps_unsorted_classes(classes, n_out):
    """Output j of the head is the score of classes[j]; classes_ comes out sorted."""
    rng, X = _xy(6)
    model = _torch_model("GRU", 3, 4, 1, n_out, seed=2)
    est = from_torch_state_dict(DeepRNNClassifier(layer_norm=False, hidden_size=4, cell="gru",
                                                  dtype="float64"),
                                model.state_dict(), 3, 6, classes=classes)
    np.testing.assert_array_equal(est.classes_, sorted(classes))
    scores = torch.from_numpy(_run(model, est.network_.arch, X))
    if n_out == 1:  # one logit, of classes[1]
        scores = torch.cat([torch.zeros_like(scores), scores], dim=1)
    proba = dict(zip(classes, torch.softmax(scores, -1).numpy().T, strict=True))
    expected = np.stack([proba[c] for c in est.classes_], axis=1)
    np.testing.assert_allclose(est.predict_proba(X), expected, rtol=1e-10, atol=1e-10)
    assert est.network_.arch.output_size == (1 if len(classes) == 2 else 3)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("Estimator", [DeepRNNRegressor, DeepRNNClassifier])
def test_round_trip_through_torch_state_dict(Estimator, dtype):
    """fit -> export -> import into a fresh estimator: the same predictions."""
    rng, X = _xy(7)
    params = dict(num_layers=2, hidden_size=3, cell="lstm", bidirectional=True, max_iter=5,
                  random_state=0, dtype=dtype, layer_norm=False)
    tol = DTYPES[dtype][2]
    if Estimator is DeepRNNRegressor:
        y, kwargs = rng.normal(size=(20, 2)) * 10 + 3, {}
        params["autoregressive"] = 0
    else:
        y = np.array(["a", "b", "c", "d"])[rng.randint(0, 4, size=20)]
        kwargs = {}
    est = _fit(Estimator(**params), X, y)
    if Estimator is DeepRNNClassifier:
        kwargs = dict(classes=est.classes_)
    new = from_torch_state_dict(Estimator(**params), to_torch_state_dict(est), 3, 6, **kwargs)
    if Estimator is DeepRNNRegressor:
        np.testing.assert_allclose(new.predict(X), est.predict(X), rtol=tol, atol=tol)
        assert new.predict(X).shape == (20, 2)
    else:
        np.testing.assert_allclose(new.predict_proba(X), est.predict_proba(X), rtol=tol,
                                   atol=tol)
        np.testing.assert_array_equal(new.predict(X), est.predict(X))
    with pytest.raises(ValueError, match="6 features"):
        new.predict(X[:, :5])  # n_timesteps is enforced as after fit


@pytest.mark.parametrize("option", [{"residual": True, "layer_norm": False},
                                    {"layer_norm": True}])
def test_export_refuses_what_torch_modules_cannot_hold(option):
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(20, 4, 2)), rng.normal(size=20)
    reg = DeepRNNRegressor(num_layers=2, hidden_size=3, max_iter=2, random_state=0, **option)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X, y)
    with pytest.raises(ValueError, match="no residual connections or layer normalisation"):
        reg.to_torch_state_dict()
    with pytest.raises(ValueError, match="no residual connections or layer normalisation"):
        reg.torch_kwargs()


LAYER_NORM_EXPORTS = [
    dict(),  # the defaults: GRU, max over the steps
    dict(cell="lstm", bidirectional=True, pooling="last"),
    dict(cell="rnn", pooling="mean", residual=True),  # one layer: residual adds nothing
    dict(bidirectional=True, return_sequences=True),
    dict(pooling="last", bias=False),
]


@pytest.mark.parametrize("config", LAYER_NORM_EXPORTS, ids=lambda c: "-".join(map(str, c.items())))
@pytest.mark.parametrize("Estimator", [DeepRNNRegressor, DeepRNNClassifier])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_one_layer_with_layer_norm_exports_and_imports_with_an_nn_layer_norm(config, Estimator,
                                                                            dtype):
    """rnn -> norm (nn.LayerNorm) -> head reproduces predict; the import gives it back."""
    npdtype, tdtype, tol = DTYPES[dtype]
    rng, X = _xy(3)
    if Estimator is DeepRNNRegressor:
        config = dict(config, autoregressive=0)  # the default's term: not in these modules
    est = Estimator(hidden_size=4, max_iter=5, random_state=0, dtype=dtype, **config)
    assert est.layer_norm and est.num_layers == 1  # the defaults
    seq = est.return_sequences
    if Estimator is DeepRNNRegressor:
        y = rng.normal(size=(20, 6) if seq else 20) * 10
        y = y - y.mean() if config.get("bias") is False else y + 3  # no head bias: no mean
    else:
        y = np.array(["a", "b", "c"])[rng.randint(0, 3, size=(20, 6) if seq else 20)]
    _fit(est, X, y)
    sd = to_torch_state_dict(est)
    assert [k for k in sd if not k.startswith("rnn.")][:2] == ["norm.weight", "norm.bias"]
    modules = _load(est, sd, tdtype)
    out = _run(modules, est.network_.arch, X.astype(npdtype), tdtype)
    if Estimator is DeepRNNRegressor:
        np.testing.assert_allclose(out[..., 0], est.predict(X), rtol=tol, atol=tol)
    else:
        proba = torch.softmax(torch.from_numpy(out), dim=-1).numpy()
        np.testing.assert_allclose(proba, est.predict_proba(X), rtol=tol, atol=tol)
    # and back: a fresh estimator loads the torch modules' state_dict
    kwargs = dict(classes=est.classes_) if Estimator is DeepRNNClassifier else {}
    twin = Estimator(hidden_size=4, dtype=dtype, **config).from_torch_state_dict(
        modules.state_dict(), 3, 6, **kwargs)
    if Estimator is DeepRNNRegressor:
        np.testing.assert_allclose(twin.predict(X), est.predict(X), rtol=tol, atol=tol)
    else:
        np.testing.assert_allclose(twin.predict_proba(X), est.predict_proba(X), rtol=tol,
                                   atol=tol)


def test_import_into_layer_norm_needs_the_norm_tensors():
    rng, X = _xy(4)
    plain = _fit(DeepRNNRegressor(hidden_size=3, layer_norm=False, max_iter=2, random_state=0,
                                  autoregressive=0), X, rng.normal(size=20))
    with pytest.raises(ValueError, match=r"layer_norm=True\): missing keys \['norm.weight', "
                                         r"'norm.bias'\]"):
        DeepRNNRegressor(hidden_size=3, autoregressive=0).from_torch_state_dict(
            to_torch_state_dict(plain), 3, 6)


def test_estimator_methods_round_trip_through_torch_modules():
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(25, 6, 3)), 50 + 10 * rng.normal(size=25)
    reg = DeepRNNRegressor(layer_norm=False, num_layers=2, hidden_size=4, cell="lstm",
                           bidirectional=True, autoregressive=0,
                           pooling="last", max_iter=3, random_state=0,
                           dtype="float64")  # the head reads h_n
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X, y)
    kwargs = reg.torch_kwargs()
    rnn = getattr(torch.nn, kwargs.pop("mode"))(**kwargs).double()
    head = torch.nn.Linear(8, 1).double()
    modules = torch.nn.ModuleDict({"rnn": rnn, "head": head})
    modules.load_state_dict({k: torch.from_numpy(v) for k, v in
                             reg.to_torch_state_dict().items()}, strict=True)
    with torch.no_grad():
        _, (h_n, _) = rnn(torch.from_numpy(X))
        out = head(torch.cat([h_n[-2], h_n[-1]], dim=1)).numpy()[:, 0]
    np.testing.assert_allclose(out, reg.predict(X), rtol=1e-10, atol=1e-10)
    twin = DeepRNNRegressor(layer_norm=False, num_layers=2, hidden_size=4, cell="lstm",
                            bidirectional=True, autoregressive=0,
                            pooling="last", dtype="float64")
    twin.from_torch_state_dict(modules.state_dict(), n_features_per_step=3, n_timesteps=6)
    np.testing.assert_allclose(twin.predict(X), reg.predict(X), rtol=1e-10)


def test_the_pytorch_page_forecaster_predicts_as_the_default_regressor():
    """docs/user_guide/pytorch.rst: the Forecaster module loads a model's state_dict.

    The regressor with the classifier's defaults (max pooling, no autoregressive term,
    which this layout cannot hold), as the page says.
    """

    class Forecaster(nn.Module):
        def __init__(self, n_features, hidden_size, n_outputs):
            super().__init__()
            self.rnn = nn.GRU(n_features, hidden_size, batch_first=True)
            self.norm = nn.LayerNorm(hidden_size)
            self.head = nn.Linear(hidden_size, n_outputs)

        def forward(self, x):
            out, _ = self.rnn(x)
            out = self.norm(out)
            return self.head(out.amax(dim=1))

    rng = np.random.RandomState(0)
    X_windows = rng.normal(size=(40, 10, 6))
    model = _fit(DeepRNNRegressor(max_iter=3, random_state=0, autoregressive=0, pooling="max"),
                 X_windows,
                 100 + 10 * X_windows[:, :, 0].sum(axis=1))
    net = Forecaster(n_features=6, hidden_size=32, n_outputs=1).eval()
    net.load_state_dict({k: torch.from_numpy(a) for k, a in model.to_torch_state_dict().items()})
    with torch.no_grad():
        y_torch = net(torch.from_numpy(X_windows).float())[:, 0].numpy()
    np.testing.assert_allclose(y_torch, model.predict(X_windows), rtol=1e-5)


# ====================================================== the regressor's autoregressive term
def _ar_modules(K, n_outputs=1, seed=0, bias=True):
    """nn.ModuleDict(rnn=GRU, head=Linear, autoregressive=Linear(K * 3, k, bias=False))."""
    torch.manual_seed(seed)
    return nn.ModuleDict({
        "rnn": nn.GRU(3, 4, 1, bias=bias, batch_first=True),
        "head": nn.Linear(4, n_outputs, bias=bias),
        "autoregressive": nn.Linear(K * 3, n_outputs, bias=False),
    }).double()


def _ar_run(modules, X, K):
    """head(h_n) + autoregressive(last K steps, flattened step by step, oldest first)."""
    with torch.no_grad():
        x = torch.from_numpy(X)
        _, h_n = modules["rnn"](x)
        return (modules["head"](h_n[-1])
                + modules["autoregressive"](x[:, -K:].flatten(1))).numpy()


def test_the_default_regressor_is_refused_with_the_way_out():
    rng, X = _xy(8)
    X = X[:, :, :1]  # one feature: the default regressor has the term
    y = rng.normal(size=20)
    reg = _fit(DeepRNNRegressor(hidden_size=3, max_iter=2, random_state=0), X, y)
    assert reg.network_.arch.autoregressive == 6  # 'auto': every step of the window
    with pytest.raises(ValueError, match=r"autoregressive term \(autoregressive.weight of shape "
                                         r"\(1, 6\).*Use the estimator's to_torch\(\) instead.*"
                                         r"autoregressive=0"):
        to_torch_state_dict(reg)
    # to_torch() holds it, and 'auto' loads it back as fit sized it
    twin = DeepRNNRegressor(hidden_size=3).from_torch_state_dict(reg.to_torch().state_dict(),
                                                                 1, 6)
    assert twin.network_.arch == reg.network_.arch
    np.testing.assert_array_equal(twin.predict(X), reg.predict(X))
    # the recurrent module's arguments do not depend on the term
    plain = _fit(DeepRNNRegressor(hidden_size=3, max_iter=2, random_state=0, autoregressive=0),
                 X, y)
    assert torch_modules_kwargs(reg) == torch_modules_kwargs(plain) == reg.torch_kwargs()


@pytest.mark.parametrize(
    "autoregressive, return_sequences",
    # an int K needs many-to-one output (a ValueError otherwise, tested in test_autoregressive)
    [("auto", False), (0, False), (1, False), (5, False), ("auto", True), (0, True)],
)
def test_torch_kwargs_of_an_unfitted_regressor(autoregressive, return_sequences):
    """Unfitted, the length that sizes the term is unknown, and the kwargs need none."""
    est = DeepRNNRegressor(hidden_size=(5, 5), num_layers=2, cell="lstm", layer_norm=False,
                           autoregressive=autoregressive, return_sequences=return_sequences)
    assert est.torch_kwargs(input_size=3) == dict(
        mode="LSTM", input_size=3, hidden_size=5, num_layers=2, bias=True, batch_first=True,
        bidirectional=False, dropout=0.0)
    assert not hasattr(est, "n_features_in_") and not hasattr(est, "n_features_per_step_")


@pytest.mark.parametrize("n_outputs", [1, 2])
@pytest.mark.parametrize("K", [2, 6])
def test_import_of_an_rnn_layout_with_the_autoregressive_term(K, n_outputs):
    """rnn.*, head.* and autoregressive.weight: predict equals the modules, and round trips."""
    rng, X = _xy(9)
    X[0, -1] = np.nan  # a missing last step: 0 in the term, the state kept
    modules = _ar_modules(K, n_outputs)
    sd = modules.state_dict()
    params = dict(hidden_size=4, cell="gru", layer_norm=False, pooling="last", dtype="float64")
    est = DeepRNNRegressor(**params, autoregressive=K)
    from_torch_state_dict(est, sd, 3, 6)
    np.testing.assert_array_equal(est.weights_["autoregressive.weight"],
                                  sd["autoregressive.weight"].numpy())
    expected = _ar_run(modules, np.nan_to_num(X[1:]), K)
    pred = est.predict(X)
    np.testing.assert_allclose(pred[1:], expected if n_outputs > 1 else expected[:, 0],
                               rtol=1e-10, atol=1e-10)
    # the missing last step: the state of step 4, and zeros in the term's last position
    with torch.no_grad():
        _, h_n = modules["rnn"](torch.from_numpy(X[:1, :5]))
        lagged = torch.from_numpy(np.nan_to_num(X[:1, -K:])).flatten(1)
        first = (modules["head"](h_n[-1]) + modules["autoregressive"](lagged)).numpy()
    np.testing.assert_allclose(pred[:1], first if n_outputs > 1 else first[:, 0],
                               rtol=1e-10, atol=1e-10)
    # 'auto' gives sequences of 3 features no term, as fit does, and says what loads it
    with pytest.raises(ValueError, match=rf"unexpected keys.*with autoregressive={K}\."):
        from_torch_state_dict(DeepRNNRegressor(**params), sd, 3, 6)
    # the older export cannot hold it; to_torch() can, and loads back bit for bit
    with pytest.raises(ValueError, match=r"Use the estimator's to_torch\(\) instead"):
        to_torch_state_dict(est)
    module_state = est.to_torch().state_dict()
    twin = DeepRNNRegressor(**params, autoregressive=K).from_torch_state_dict(module_state, 3, 6)
    np.testing.assert_array_equal(twin._theta, est._theta)
    np.testing.assert_array_equal(twin.predict(X), pred)


def test_an_rnn_layout_import_requires_exactly_the_term_the_estimator_has():
    sd = _ar_modules(3).state_dict()
    params = dict(hidden_size=4, cell="gru", layer_norm=False, pooling="last")
    without = {k: v for k, v in sd.items() if k != "autoregressive.weight"}
    cases = [
        (DeepRNNRegressor(**params, autoregressive=3), without,
         r"missing keys \['autoregressive.weight'\].*set autoregressive=0"),
        (DeepRNNRegressor(**params, autoregressive=0), sd,
         r"unexpected keys \['autoregressive.weight'\].*with autoregressive=3"),
        (DeepRNNRegressor(**params, autoregressive=2), sd,
         r"autoregressive.weight has shape \(1, 9\).*needs \(1, 6\)"),
    ]
    for est, state, match in cases:
        with pytest.raises(ValueError, match=match):
            from_torch_state_dict(est, state, 3, 6)
        assert not hasattr(est, "network_") and not hasattr(est, "n_features_in_")
    with pytest.raises(ValueError, match=r"unexpected keys \['autoregressive.weight'\]"):
        from_torch_state_dict(DeepRNNClassifier(**params), sd, 3, 6, classes=[0, 1])
    # 'auto' follows the dictionary: a model fitted on sequences that end early has no term
    plain = from_torch_state_dict(DeepRNNRegressor(**params), without, 3, 6)
    assert plain.network_.arch.autoregressive == 0 and plain._fitted_with_missing_ends
