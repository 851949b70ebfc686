"""Missing steps in the core: PyTorch's packed sequences as the oracle, and finite differences.

A step that a sequence does not observe leaves every layer's state unchanged. With the
missing steps at the end (right padding) that is exactly what
``torch.nn.utils.rnn.pack_padded_sequence`` computes: the outputs at the observed
steps, every layer's final state ``h_n`` (and ``c_n``) and every parameter gradient
must agree to 1e-10 in float64 and 1e-4 in float32. Missing steps anywhere else
(leading, inside) have no torch counterpart; there a sequence must give what the same
sequence with those steps removed gives, and the gradients must agree with finite
differences.
"""

import itertools

import numpy as np
import pytest

from skdeeprnn.core import Architecture, StackedRNN

T, D, H, K = 6, 3, 3, 2
LENGTHS = [6, 2, 4, 1]  # unsorted: enforce_sorted=False
CELLS = {"rnn-tanh": ("rnn", "tanh"), "rnn-relu": ("rnn", "relu"),
         "lstm": ("lstm", "tanh"), "gru": ("gru", "tanh")}


def _net(cell, num_layers, bidirectional, bias=True, seq=False, pooling="last",
         residual=False, layer_norm=False, dtype=np.float64, seed=0):
    name, nonlinearity = CELLS[cell]
    arch = Architecture(D, (H,) * num_layers, K, cell=name, nonlinearity=nonlinearity,
                        bias=bias, bidirectional=bidirectional, return_sequences=seq,
                        pooling=pooling, residual=residual, layer_norm=layer_norm)
    net = StackedRNN(arch)
    rng = np.random.RandomState(seed)
    # twice PyTorch's init scale so that the gates leave their linear regime
    theta = (2.0 * net.init_params(rng, dtype=np.float64)).astype(dtype)
    return net, theta, rng


def _right_padded(rng, lengths, dtype):
    """Time-major X (T, n, D) with NaN after each sequence's length, and its mask."""
    n = len(lengths)
    X = rng.normal(size=(T, n, D)).astype(dtype)
    observed = np.arange(T)[:, None] < np.array(lengths)[None, :]
    X[~observed] = np.nan
    return X, observed


# ------------------------------------------------------------------ torch: packed sequences
torch = None


def _torch():
    global torch
    torch = pytest.importorskip("torch")
    return torch


DTYPES = {"float64": (np.float64, "float64", 1e-10), "float32": (np.float32, "float32", 1e-4)}
MATRIX = list(itertools.product(CELLS, [1, 2, 3], [False, True], [False, True],
                                ["many-to-one", "many-to-many"], DTYPES))


@pytest.mark.parametrize("cell, num_layers, bidirectional, bias, head_kind, dtype", MATRIX)
def test_packed_sequences_match_torch(cell, num_layers, bidirectional, bias, head_kind, dtype,
                                      monkeypatch):
    """Outputs, h_n (and c_n) of every layer and every gradient equal PyTorch's packed run."""
    torch = _torch()
    if cell == "lstm" and dtype == "float32":  # oneDNN's set-up is slow; same formulas
        monkeypatch.setattr(torch.backends.mkldnn, "enabled", False)
    npdtype, tname, tol = DTYPES[dtype]
    tdtype = getattr(torch, tname)
    seq = head_kind == "many-to-many"
    net, theta, rng = _net(cell, num_layers, bidirectional, bias, seq, dtype=npdtype)
    X, observed = _right_padded(rng, LENGTHS, npdtype)
    rnn, head = _torch_modules(net, theta, tdtype)

    scores, cache = net.forward(theta, X, observed=observed)
    assert np.all(np.isfinite(scores))
    packed = torch.nn.utils.rnn.pack_padded_sequence(
        torch.from_numpy(np.nan_to_num(X)), LENGTHS, enforce_sorted=False)
    t_out, t_state = rnn(packed)
    t_out, _ = torch.nn.utils.rnn.pad_packed_sequence(t_out, total_length=T)
    h_n = t_state[0] if net.arch.cell == "lstm" else t_state
    if seq:
        t_scores = head(t_out)
        mask = torch.from_numpy(observed)[..., None]
        _close(scores * observed[..., None], t_scores * mask, tol, "scores")
    else:
        feats = torch.cat([h_n[-2], h_n[-1]], dim=1) if bidirectional else h_n[-1]
        t_scores = head(feats)
        _close(scores, t_scores, tol, "scores")

    # the final state of every layer and direction (torch's h_n, c_n)
    for k in range(num_layers):
        for j in range(len(net.arch.directions)):
            H_kj, cell_cache = cache[1][k][2][j]
            final = H_kj[0] if j == 1 else H_kj[-1]  # reverse ends at slot 0
            _close(final.T, h_n[k * len(net.arch.directions) + j], tol, f"h_n {k},{j}")
            if net.arch.cell == "lstm":
                C = cell_cache[1]
                _close((C[0] if j == 1 else C[-1]).T,
                       t_state[1][k * len(net.arch.directions) + j], tol, f"c_n {k},{j}")

    R = rng.normal(size=scores.shape).astype(npdtype)
    if seq:
        R *= observed[..., None]  # the missing steps' scores do not enter the loss
    grad = net.backward(theta, cache, R.copy())
    (t_scores * torch.from_numpy(R)).sum().backward()
    ours = net.layout.views(grad)
    grads = {name: p.grad for name, p in rnn.named_parameters()}
    grads.update({"head." + name: p.grad for name, p in head.named_parameters()})
    assert sorted(grads) == sorted(net.layout.names)
    for name, g in grads.items():
        _close(ours[name], g, tol, name)


POOLED = list(itertools.product(CELLS, [1, 2], [False, True], ["mean", "max"], DTYPES))


@pytest.mark.parametrize("cell, num_layers, bidirectional, pooling, dtype", POOLED)
def test_pooled_heads_over_observed_steps_match_torch(cell, num_layers, bidirectional, pooling,
                                                      dtype, monkeypatch):
    """Mean and max pooling read the observed steps of torch's packed output only."""
    torch = _torch()
    if cell == "lstm" and dtype == "float32":
        monkeypatch.setattr(torch.backends.mkldnn, "enabled", False)
    npdtype, tname, tol = DTYPES[dtype]
    net, theta, rng = _net(cell, num_layers, bidirectional, pooling=pooling, dtype=npdtype)
    X, observed = _right_padded(rng, LENGTHS, npdtype)
    rnn, head = _torch_modules(net, theta, getattr(torch, tname))
    scores, cache = net.forward(theta, X, observed=observed)
    packed = torch.nn.utils.rnn.pack_padded_sequence(
        torch.from_numpy(np.nan_to_num(X)), LENGTHS, enforce_sorted=False)
    t_out, _ = torch.nn.utils.rnn.pad_packed_sequence(rnn(packed)[0], total_length=T)
    mask = torch.from_numpy(observed)[..., None]
    if pooling == "mean":
        feats = (t_out * mask).sum(dim=0) / mask.sum(dim=0)
    else:
        feats = t_out.masked_fill(~mask, -torch.inf).amax(dim=0)
    t_scores = head(feats)
    _close(scores, t_scores, tol, "scores")
    R = rng.normal(size=scores.shape).astype(npdtype)
    grad = net.backward(theta, cache, R.copy())
    (t_scores * torch.from_numpy(R)).sum().backward()
    ours = net.layout.views(grad)
    for name, p in itertools.chain(rnn.named_parameters(),
                                   (("head." + n, p) for n, p in head.named_parameters())):
        _close(ours[name], p.grad, tol, name)


def test_loss_and_grad_ignore_missing_steps_as_torch_does():
    """The many-to-many loss sums the observed steps: torch's loss on the packed output."""
    torch = _torch()
    net, theta, rng = _net("gru", 2, True, seq=True)
    X, observed = _right_padded(rng, LENGTHS, np.float64)
    Y = rng.normal(size=(T, len(LENGTHS), K))
    Y[~observed] = 0.0
    w = np.array([1.0, 2.0, 0.5, 3.0])
    value, grad = net.loss_and_grad(theta, X, Y, "squared_error", w, observed=observed)
    rnn, head = _torch_modules(net, theta, torch.float64)
    packed = torch.nn.utils.rnn.pack_padded_sequence(
        torch.from_numpy(np.nan_to_num(X)), LENGTHS, enforce_sorted=False)
    out, _ = torch.nn.utils.rnn.pad_packed_sequence(rnn(packed)[0], total_length=T)
    per_step = 0.5 * ((head(out) - torch.from_numpy(Y)) ** 2).mean(dim=-1)
    per_sample = (per_step * torch.from_numpy(observed)).sum(dim=0)
    t_value = (per_sample * torch.from_numpy(w)).sum() / w.sum()
    t_value.backward()
    assert abs(value - t_value.item()) < 1e-12
    ours = net.layout.views(grad)
    for name, p in rnn.named_parameters():
        _close(ours[name], p.grad, 1e-10, name)


def _torch_modules(net, theta, tdtype):
    arch = net.arch
    kwargs = dict(bias=arch.bias, bidirectional=arch.bidirectional)
    if arch.cell == "rnn":
        kwargs["nonlinearity"] = arch.nonlinearity
    module = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[arch.cell]
    rnn = module(arch.input_size, arch.hidden_sizes[0], arch.num_layers, **kwargs).to(tdtype)
    head = torch.nn.Linear(arch.feature_size, arch.output_size, bias=arch.bias).to(tdtype)
    P = net.layout.views(theta)
    rnn.load_state_dict({name: torch.from_numpy(P[name].copy()) for name in rnn.state_dict()})
    head.load_state_dict({name: torch.from_numpy(P["head." + name].copy())
                          for name in head.state_dict()})
    return rnn, head


def _close(ours, theirs, tol, what):
    if not isinstance(theirs, np.ndarray):
        theirs = theirs.detach().numpy()
    if not isinstance(ours, np.ndarray):
        ours = ours.detach().numpy()
    assert ours.shape == theirs.shape, what
    np.testing.assert_allclose(ours, theirs, rtol=tol, atol=tol, err_msg=what)


# --------------------------------------------------- missing steps anywhere, without torch
PATTERNS = {
    # observed (True) steps of 4 sequences over T = 6 steps
    "leading": [[0, 0, 1, 1, 1, 1], [0, 1, 1, 1, 1, 1], [1] * 6, [0, 0, 0, 0, 0, 1]],
    "inside": [[1, 0, 1, 0, 0, 1], [1, 1, 0, 1, 1, 1], [1] * 6, [1, 0, 0, 0, 0, 1]],
    "trailing": [[1, 1, 1, 1, 0, 0], [1, 0, 0, 0, 0, 0], [1] * 6, [1, 1, 1, 1, 1, 0]],
    "mixed": [[0, 1, 0, 1, 1, 0], [0, 0, 1, 0, 0, 0], [1, 1, 0, 1, 1, 1], [0, 1, 1, 1, 1, 1]],
}
HEADS = ["last", "mean", "max", "many-to-many"]


def _masked_problem(cell, num_layers, bidirectional, head, pattern, residual=False,
                    layer_norm=False):
    seq = head == "many-to-many"
    pooling = "last" if seq else head
    net, theta, rng = _net(cell, num_layers, bidirectional, seq=seq, pooling=pooling,
                           residual=residual, layer_norm=layer_norm)
    observed = np.array(PATTERNS[pattern], dtype=bool).T  # (T, n)
    X = rng.normal(size=(T, observed.shape[1], D))
    X[~observed] = np.nan
    return net, theta, X, observed, rng


def _compacted(X, observed):
    """Each sequence's observed steps moved to the front (right padding), and the new mask."""
    X2 = np.full_like(X, np.nan)
    observed2 = np.zeros_like(observed)
    for i in range(X.shape[1]):
        steps = np.flatnonzero(observed[:, i])
        X2[: len(steps), i] = X[steps, i]
        observed2[: len(steps), i] = True
    return X2, observed2


@pytest.mark.parametrize("pattern", PATTERNS)
@pytest.mark.parametrize("head", HEADS)
@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_missing_steps_anywhere_equal_the_sequence_without_them(cell, head, pattern,
                                                                bidirectional):
    """Scores and gradients do not depend on where the missing steps stand."""
    net, theta, X, observed, rng = _masked_problem(cell, 2, bidirectional, head, pattern)
    X2, observed2 = _compacted(X, observed)
    s1, c1 = net.forward(theta, X, observed=observed)
    s2, c2 = net.forward(theta, X2, observed=observed2)
    if head == "many-to-many":
        # the score of the j-th observed step is the same in both layouts
        R = rng.normal(size=s1.shape)
        R2 = np.zeros_like(R)
        for i in range(X.shape[1]):
            steps = np.flatnonzero(observed[:, i])
            np.testing.assert_allclose(s1[steps, i], s2[: len(steps), i], rtol=1e-12, atol=1e-12)
            R[~observed[:, i], i] = 0.0
            R2[: len(steps), i] = R[steps, i]
    else:
        np.testing.assert_allclose(s1, s2, rtol=1e-12, atol=1e-12)
        R = R2 = rng.normal(size=s1.shape)
    g1 = net.backward(theta, c1, R.copy())
    g2 = net.backward(theta, c2, R2.copy())
    np.testing.assert_allclose(g1, g2, rtol=1e-10, atol=1e-12)


def test_all_observed_mask_equals_no_mask():
    net, theta, X, _, rng = _masked_problem("lstm", 2, True, "many-to-many", "mixed")
    X = rng.normal(size=X.shape)
    s1, c1 = net.forward(theta, X)
    s2, c2 = net.forward(theta, X, observed=np.ones(X.shape[:2], dtype=bool))
    assert np.array_equal(s1, s2)
    R = rng.normal(size=s1.shape)
    assert np.array_equal(net.backward(theta, c1, R.copy()), net.backward(theta, c2, R.copy()))


def test_missing_step_values_are_never_read():
    """Whatever stands at a missing step (NaN, huge numbers) changes nothing."""
    net, theta, X, observed, rng = _masked_problem("gru", 2, True, "many-to-many", "mixed")
    Y = rng.normal(size=(T, X.shape[1], K))
    a = net.loss_and_grad(theta, X, Y, "squared_error", observed=observed)
    X2 = X.copy()
    X2[~observed] = 1e300
    Y2 = Y.copy()
    Y2[~observed] = 1e3
    b = net.loss_and_grad(theta, X2, Y2, "squared_error", observed=observed)
    assert a[0] == b[0]
    assert np.array_equal(a[1], b[1])


def _relative_error(net, theta, X, observed, rng, eps=1e-6):
    scores, _ = net.forward(theta, X, observed=observed)
    Y = rng.normal(size=scores.shape)
    if net.arch.return_sequences:
        Y[~observed] = 0.0

    def f(th):
        return net.loss_and_grad(th, X, Y, "squared_error", observed=observed)

    _, grad = f(theta)
    numeric = np.empty_like(theta)
    for i in range(theta.size):
        e = np.zeros_like(theta)
        e[i] = eps
        numeric[i] = (f(theta + e)[0] - f(theta - e)[0]) / (2 * eps)
    return np.abs(grad - numeric).max() / max(np.abs(numeric).max(), 1e-12)


@pytest.mark.parametrize("pattern", PATTERNS)
@pytest.mark.parametrize("head", HEADS)
@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("num_layers, bidirectional", [(1, False), (2, True)])
def test_gradient_with_missing_steps_matches_finite_differences(cell, head, pattern, num_layers,
                                                                bidirectional):
    net, theta, X, observed, rng = _masked_problem(cell, num_layers, bidirectional, head,
                                                   pattern)
    assert _relative_error(net, theta, X, observed, rng) < 1e-6


@pytest.mark.parametrize("pattern", ["inside", "mixed"])
@pytest.mark.parametrize("head", HEADS)
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_gradient_with_missing_steps_residual_and_layer_norm(cell, head, pattern):
    net, theta, X, observed, rng = _masked_problem(cell, 2, True, head, pattern,
                                                   residual=True, layer_norm=True)
    assert _relative_error(net, theta, X, observed, rng) < 1e-6


@pytest.mark.parametrize("bidirectional", [False, True])
def test_last_pooling_reads_the_ends_through_residual_and_layer_norm(bidirectional):
    """With a skip and layer norm the head reads the last / first observed step's output."""
    net, theta, X, observed, rng = _masked_problem("gru", 2, bidirectional, "last", "mixed",
                                                   residual=True, layer_norm=True)
    s1, _ = net.forward(theta, X, observed=observed)
    X2, observed2 = _compacted(X, observed)
    # the same sequences cut at their last observed step, nothing after it
    lengths = observed2.sum(axis=0)
    for i in range(X.shape[1]):
        Xi = X2[: lengths[i], i : i + 1]
        si, _ = net.forward(theta, Xi)
        np.testing.assert_allclose(s1[i], si[0], rtol=1e-12, atol=1e-12)


# ------------------------------------------------ the PyTorch page's recipe, on an estimator
@pytest.mark.parametrize("pooling", ["last", "max", "mean"])
@pytest.mark.parametrize("cell, bidirectional, num_layers, layer_norm", [
    ("gru", True, 1, True), ("lstm", False, 1, True), ("gru", True, 2, False),
    ("lstm", False, 1, False)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_exported_model_fed_packed_sequences_predicts_as_predict(pooling, cell, bidirectional,
                                                                 num_layers, layer_norm, dtype):
    """docs/user_guide/pytorch.rst, section pytorch_packed: the recipe gives predict_proba."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    from skdeeprnn import DeepRNNClassifier

    torch = _torch()
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    rng = np.random.RandomState(0)
    X = [rng.normal(size=(L, 2)) for L in rng.randint(2, 9, size=30)]
    y = np.arange(30) % 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = DeepRNNClassifier(hidden_size=4, num_layers=num_layers, cell=cell,
                                  bidirectional=bidirectional, pooling=pooling,
                                  layer_norm=layer_norm, max_iter=3, random_state=0,
                                  dtype=dtype).fit(X, y)
    X_padded = np.full((30, 8, 2), np.nan)
    for i, x in enumerate(X):
        X_padded[i, : len(x)] = x

    kw = model.torch_kwargs()
    rnn = getattr(torch.nn, kw.pop("mode"))(**kw)
    state = model.to_torch_state_dict()
    n_outputs, n_inputs = state["head.weight"].shape
    modules = {"rnn": rnn, "head": torch.nn.Linear(n_inputs, n_outputs)}
    if "norm.weight" in state:
        modules["norm"] = torch.nn.LayerNorm(n_inputs)
    assert ("norm" in modules) == layer_norm
    to_dtype = {"float32": lambda a: a.float(), "float64": lambda a: a.double()}[dtype]
    net = to_dtype(torch.nn.ModuleDict(modules)).eval()
    net.load_state_dict({k: torch.from_numpy(a) for k, a in state.items()})
    lengths = torch.from_numpy((~np.isnan(X_padded[:, :, 0])).sum(axis=1))
    packed = pack_padded_sequence(to_dtype(torch.from_numpy(X_padded)), lengths,
                                  batch_first=True, enforce_sorted=False)
    with torch.no_grad():
        out, h_n = net["rnn"](packed)
        out = pad_packed_sequence(out, batch_first=True)[0]
        if "norm" in net:
            out = net["norm"](out)
        steps = torch.arange(out.shape[1])[None, :, None]
        after_end = steps >= lengths[:, None, None]
        if pooling == "max":
            top = out.masked_fill(after_end, -torch.inf).amax(dim=1)
        elif pooling == "mean":
            top = out.masked_fill(after_end, 0).sum(dim=1) / lengths[:, None]
        else:
            h = kw["hidden_size"]
            last = out[torch.arange(30), lengths - 1]
            top = torch.cat([last[:, :h], out[:, 0, h:]], dim=1) if bidirectional else last
            if not layer_norm:  # the page's other way: the top layer of h_n
                h_n = h_n[0] if isinstance(h_n, tuple) else h_n
                directions = 2 if kw["bidirectional"] else 1
                torch.testing.assert_close(torch.cat(list(h_n[-directions:]), dim=1), top)
        proba = torch.softmax(net["head"](top), dim=-1).numpy()
    tol = {"float32": 1e-5, "float64": 1e-10}[dtype]
    np.testing.assert_allclose(proba, model.predict_proba(X_padded), rtol=tol, atol=tol)
    np.testing.assert_allclose(proba, model.predict_proba(X), rtol=tol, atol=tol)
