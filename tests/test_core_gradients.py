"""Finite-difference checks of the BPTT gradients, and the core's small pieces."""

import itertools

import numpy as np
import pytest

from skdeeprnn.core import (
    SGD,
    Adam,
    Architecture,
    ParamLayout,
    StackedRNN,
    build_layout,
    clip_by_global_norm,
    weighted_loss,
)

T, N, D, K = 3, 3, 2, 2
HIDDEN = (2, 3, 2)
LOSSES = ["squared_error", "softmax_cross_entropy", "sigmoid_log_loss"]
CELLS = [("rnn", "tanh"), ("rnn", "relu"), ("lstm", "tanh"), ("gru", "tanh")]


def _targets(loss, shape, rng):
    if loss == "squared_error":
        return rng.normal(size=shape)
    if loss == "softmax_cross_entropy":
        return np.eye(shape[-1])[rng.randint(0, shape[-1], size=shape[:-1])]
    return (rng.uniform(size=shape) > 0.5).astype(float)


def _problem(cell, nonlinearity, num_layers, bidirectional, bias, seq, loss, seed=0):
    rng = np.random.RandomState(seed)
    arch = Architecture(
        D, HIDDEN[:num_layers], K, cell=cell, nonlinearity=nonlinearity, bias=bias,
        bidirectional=bidirectional, return_sequences=seq,
    )
    net = StackedRNN(arch)
    # larger weights than the default init so that every gate is away from its linear regime
    theta = net.init_params(rng) * 2.0
    X = rng.normal(size=(T, N, D))
    Y = _targets(loss, (T, N, K) if seq else (N, K), rng)
    sw = rng.uniform(0.5, 2.0, size=N)
    return net, theta, X, Y, sw


def _relative_error(f, theta, eps=1e-6):
    value, grad = f(theta)
    numeric = np.empty_like(theta)
    for i in range(theta.size):
        step = np.zeros_like(theta)
        step[i] = eps
        numeric[i] = (f(theta + step)[0] - f(theta - step)[0]) / (2 * eps)
    return np.abs(numeric - grad).max() / np.abs(numeric).max()


ARCH_MATRIX = list(
    itertools.product(CELLS, [1, 2, 3], [False, True], [False, True], [False, True])
)


def _check(cell, nonlinearity, num_layers, bidirectional, bias, seq, loss):
    net, theta, X, Y, sw = _problem(cell, nonlinearity, num_layers, bidirectional, bias, seq, loss)

    def f(th):
        return net.loss_and_grad(th, X, Y, loss, sw, alpha=0.1, training=False)

    assert _relative_error(f, theta) <= 1e-6


@pytest.mark.parametrize(
    "cell, nonlinearity, num_layers, bidirectional, bias, seq, loss",
    # every cell x depth x direction x bias x head; the loss cycles along the matrix so each
    # loss meets every cell and head several times (all losses on every head: next test)
    [(c, nl, L, bi, b, s, LOSSES[i % 3]) for i, ((c, nl), L, bi, b, s) in enumerate(ARCH_MATRIX)],
)
def test_gradient_matches_finite_differences(cell, nonlinearity, num_layers, bidirectional, bias,
                                             seq, loss):
    """Every parameter's analytic gradient, with sample weights and an L2 penalty."""
    _check(cell, nonlinearity, num_layers, bidirectional, bias, seq, loss)


@pytest.mark.parametrize("cell, nonlinearity", CELLS)
@pytest.mark.parametrize("seq", [False, True])
@pytest.mark.parametrize("loss", LOSSES)
def test_gradient_of_every_loss_and_head(cell, nonlinearity, seq, loss):
    _check(cell, nonlinearity, 2, True, True, seq, loss)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
# depth 3 holds both kinds of skip (identity into layer 1, projection into layer 2); depth 1 none
@pytest.mark.parametrize("num_layers", [1, 3])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("seq", [False, True])
@pytest.mark.parametrize("residual, layer_norm", [(True, False), (False, True), (True, True)])
def test_gradient_with_residual_and_layer_norm(cell, num_layers, bidirectional, seq, residual,
                                               layer_norm):
    """Skip connections (identity and projection) and layer norm, with dropout between layers."""
    rng = np.random.RandomState(2)
    # (3, 3, 2): layer 1 has an identity skip unidirectionally, every other skip is a projection
    arch = Architecture(D, (3, 3, 2)[:num_layers], K, cell=cell, bidirectional=bidirectional,
                        return_sequences=seq, residual=residual, layer_norm=layer_norm,
                        dropout=0.3)
    net = StackedRNN(arch)
    theta = net.init_params(rng)
    theta += rng.normal(scale=0.3, size=theta.shape)  # gains and shifts away from 1 and 0
    X = rng.normal(size=(T, N, D))
    Y = rng.normal(size=(T, N, K) if seq else (N, K))

    def f(th):
        return net.loss_and_grad(th, X, Y, "squared_error", None, 0.1, training=True,
                                 random_state=np.random.RandomState(5))

    assert _relative_error(f, theta) <= 1e-6


@pytest.mark.parametrize("cell, nonlinearity", CELLS)
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("pooling", ["mean", "max"])
@pytest.mark.parametrize("extra", [{}, {"residual": True, "layer_norm": True, "dropout": 0.3}],
                         ids=["plain", "residual-norm-dropout"])
def test_gradient_of_pooled_heads(cell, nonlinearity, num_layers, bidirectional, pooling, extra):
    """The many-to-one head on the mean or the maximum of the top layer's output over steps."""
    rng = np.random.RandomState(4)
    arch = Architecture(D, (3, 2)[:num_layers], K, cell=cell, nonlinearity=nonlinearity,
                        bidirectional=bidirectional, pooling=pooling, **extra)
    net = StackedRNN(arch)
    theta = net.init_params(rng) * 2.0
    X = rng.normal(size=(4, N, D))
    Y = _targets("softmax_cross_entropy", (N, K), rng)

    def f(th):
        return net.loss_and_grad(th, X, Y, "softmax_cross_entropy", None, 0.1, training=True,
                                 random_state=np.random.RandomState(5))

    assert _relative_error(f, theta) <= 1e-6


AR_MATRIX = list(itertools.product(CELLS, ["last", "mean", "max"], ["plain", "stacked"]))
# K below, at and above T=4, with and without missing steps, cycling along the matrix
AR_STEPS = [(1, False), (6, True), (3, True), (4, False), (6, False), (1, True)]
AR_EXTRA = {"plain": {}, "stacked": {"num_layers": 2, "bidirectional": True, "residual": True,
                                     "layer_norm": True, "dropout": 0.3, "bias": False}}


@pytest.mark.parametrize(
    "cell, nonlinearity, pooling, steps, missing, extra",
    [(c, nl, p, *AR_STEPS[i % len(AR_STEPS)], e)
     for i, ((c, nl), p, e) in enumerate(AR_MATRIX)],
)
def test_gradient_with_the_autoregressive_term(cell, nonlinearity, pooling, steps, missing, extra):
    """The linear term of the last K inputs, with every cell, head and stacking option."""
    extra = dict(AR_EXTRA[extra])
    layers = extra.pop("num_layers", 1)
    rng = np.random.RandomState(6)
    arch = Architecture(D, (3, 2)[:layers], K, cell=cell, nonlinearity=nonlinearity,
                        pooling=pooling, autoregressive=steps, **extra)
    net = StackedRNN(arch)
    theta = net.init_params(rng) * 2.0
    P = net.layout.views(theta)
    assert not P["autoregressive.weight"].any()  # starts at zero, without drawing
    P["autoregressive.weight"][...] = rng.normal(size=P["autoregressive.weight"].shape)
    X = rng.normal(size=(4, N, D))
    observed = None
    if missing:
        observed = np.ones((4, N), dtype=bool)
        observed[3, 0] = observed[0, 1] = observed[2, 2] = False
        X[~observed] = np.nan
    Y = rng.normal(size=(N, K))
    sw = rng.uniform(0.5, 2.0, size=N)

    def f(th):
        return net.loss_and_grad(th, X, Y, "squared_error", sw, 0.1, observed=observed,
                                 training=True, random_state=np.random.RandomState(5))

    assert _relative_error(f, theta) <= 1e-6


def test_autoregressive_term_reads_the_last_steps_oldest_first():
    """Scores = network + W @ [x_{T-K}, ..., x_{T-1}], zeros before the first step."""
    rng = np.random.RandomState(7)
    T_, n, d = 3, 5, 2
    X = rng.normal(size=(T_, n, d))
    observed = np.ones((T_, n), dtype=bool)
    observed[1, 2] = False
    X[1, 2] = np.nan
    for steps in (2, 5):
        plain = StackedRNN(Architecture(d, (3,), 1, cell="gru"))
        net = StackedRNN(Architecture(d, (3,), 1, cell="gru", autoregressive=steps))
        theta = net.init_params(np.random.RandomState(0))
        rest = np.delete(theta, np.arange(theta.size)[net.layout.slices["autoregressive.weight"]])
        # the other parameters are those of the network without the term, drawn alike
        assert np.array_equal(rest, plain.init_params(np.random.RandomState(0)))
        W = rng.normal(size=(1, steps * d))
        net.layout.views(theta)["autoregressive.weight"][...] = W
        base = plain.forward(rest, X, observed=observed, keep_cache=False)[0]
        padded = np.zeros((max(steps, T_), n, d))
        padded[max(steps, T_) - T_:] = np.where(observed[..., None], X, 0.0)
        lagged = np.swapaxes(padded[-steps:], 0, 1).reshape(n, steps * d)
        expected = base + lagged @ W.T
        for scores in (net.forward(theta, X, observed=observed, keep_cache=False)[0],
                       net.predict_scores(theta, X, observed)):
            np.testing.assert_allclose(scores, expected, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="many-to-one"):
        Architecture(d, (3,), 1, autoregressive=2, return_sequences=True)
    with pytest.raises(ValueError, match=">= 0"):
        Architecture(d, (3,), 1, autoregressive=-1)


def test_max_pooling_reads_the_largest_output_of_each_unit():
    arch = Architecture(1, (3,), 1, cell="rnn", pooling="max")
    net = StackedRNN(arch)
    theta = net.init_params(np.random.RandomState(0))
    X = np.random.RandomState(1).normal(size=(5, 4, 1))
    P = net.layout.views(theta)
    H = np.zeros((6, 4, 3))
    for t in range(5):  # the tanh RNN by hand
        H[t + 1] = np.tanh(X[t] @ P["weight_ih_l0"].T + P["bias_ih_l0"]
                           + H[t] @ P["weight_hh_l0"].T + P["bias_hh_l0"])
    expected = H[1:].max(axis=0) @ P["head.weight"].T + P["head.bias"]
    np.testing.assert_allclose(net.forward(theta, X)[0], expected, rtol=1e-12)
    mean = StackedRNN(Architecture(1, (3,), 1, cell="rnn", pooling="mean"))
    np.testing.assert_allclose(mean.forward(theta, X)[0],
                               H[1:].mean(axis=0) @ P["head.weight"].T + P["head.bias"],
                               rtol=1e-12)


def test_residual_identity_and_projection_parameters():
    arch = Architecture(4, (3, 3, 5), 1, residual=True, layer_norm=True)
    layout = build_layout(arch)
    assert "residual_l1.weight" not in layout.names  # 3 -> 3: identity
    assert layout.shapes["residual_l2.weight"] == (5, 3)
    assert layout.shapes["layer_norm_l0.weight"] == (3,)
    # layer-norm gains and shifts are not L2-penalised; the projection is
    assert layout.slices["layer_norm_l2.weight"].start >= layout.n_weights
    assert layout.slices["residual_l2.weight"].stop <= layout.n_weights
    theta = StackedRNN(arch).init_params(np.random.RandomState(0))
    P = layout.views(theta)
    np.testing.assert_array_equal(P["layer_norm_l1.weight"], 1.0)
    np.testing.assert_array_equal(P["layer_norm_l1.bias"], 0.0)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_forget_bias_initialisation(cell):
    """The second gate block (LSTM forget gate, GRU update gate) starts at the given bias."""
    net = StackedRNN(Architecture(2, (4, 4), 1, cell=cell, bidirectional=True))
    P = net.layout.views(net.init_params(np.random.RandomState(0), forget_bias=1.0))
    for name in ["l0", "l1_reverse"]:
        np.testing.assert_array_equal(P[f"bias_ih_{name}"][4:8], 1.0)
        np.testing.assert_array_equal(P[f"bias_hh_{name}"][4:8], 0.0)
        assert not np.any(P[f"bias_ih_{name}"][:4] == 1.0)  # the other gates stay random
    with pytest.raises(ValueError, match="forget_bias needs cell='lstm' or 'gru'"):
        StackedRNN(Architecture(2, (4,), 1, cell="rnn")).init_params(
            np.random.RandomState(0), forget_bias=1.0)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_gradient_with_dropout_matches_finite_differences(cell):
    """With a fixed dropout mask (same seed every call), the gradient is exact too."""
    rng = np.random.RandomState(1)
    arch = Architecture(D, (3, 3, 2), K, cell=cell, dropout=0.4, bidirectional=True)
    net = StackedRNN(arch)
    theta = net.init_params(rng)
    X = rng.normal(size=(T, N, D))
    Y = rng.normal(size=(N, K))

    def f(th):
        return net.loss_and_grad(th, X, Y, "squared_error", None, 0.0, training=True,
                                 random_state=np.random.RandomState(7))

    assert _relative_error(f, theta) <= 1e-6
    # and dropout really is active in training, and off otherwise
    train_a = f(theta)[0]
    train_b = net.loss_and_grad(theta, X, Y, "squared_error", training=True,
                                random_state=np.random.RandomState(8))[0]
    eval_a = net.loss_and_grad(theta, X, Y, "squared_error", training=False)[0]
    assert train_a != train_b
    assert eval_a == net.loss_and_grad(theta, X, Y, "squared_error", training=False)[0]


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("seq", [False, True])
def test_float32_agrees_with_float64(cell, seq):
    net, theta, X, Y, sw = _problem(cell, "tanh", 2, True, True, seq, "squared_error")
    v64, g64 = net.loss_and_grad(theta, X, Y, "squared_error", sw, training=False)
    v32, g32 = net.loss_and_grad(theta.astype(np.float32), X.astype(np.float32),
                                 Y.astype(np.float32), "squared_error", sw, training=False)
    assert g32.dtype == np.float32
    np.testing.assert_allclose(v32, v64, rtol=1e-5)
    np.testing.assert_allclose(g32, g64, rtol=1e-4, atol=1e-5)


def test_hand_worked_single_step():
    """One tanh unit, one step, no bias: score = v * tanh(u * x)."""
    arch = Architecture(1, (1,), 1, bias=False)
    net = StackedRNN(arch)
    P = {"weight_ih_l0": [[0.5]], "weight_hh_l0": [[0.3]], "head.weight": [[2.0]]}
    theta = net.layout.pack(P, np.float64)
    X = np.array([[[1.0]]])  # T=1, n=1, d=1
    scores, _ = net.forward(theta, X)
    np.testing.assert_allclose(scores, [[2.0 * np.tanh(0.5)]])
    # two steps: h1 = tanh(0.5 x1), h2 = tanh(0.5 x2 + 0.3 h1)
    X2 = np.array([[[1.0]], [[-2.0]]])
    h1 = np.tanh(0.5)
    expected = 2.0 * np.tanh(-1.0 + 0.3 * h1)
    np.testing.assert_allclose(net.forward(theta, X2)[0], [[expected]], rtol=1e-15)


def test_reverse_direction_reads_the_sequence_backwards():
    """The backward direction of a bidirectional layer equals a forward layer on X[::-1]."""
    rng = np.random.RandomState(0)
    bi = StackedRNN(Architecture(2, (3,), 1, cell="gru", bidirectional=True,
                                 return_sequences=True))
    uni = StackedRNN(Architecture(2, (3,), 1, cell="gru", return_sequences=True))
    theta = bi.init_params(rng)
    P = bi.layout.views(theta)
    Pu = {name: P[name + "_reverse"] for name in uni.layout.names if not name.startswith("head")}
    X = rng.normal(size=(5, 4, 2))
    _, cache = bi.forward(theta, X)
    H_reverse = cache[1][0][2][1][0][:-1]  # states of the reverse direction, in time order
    Pu["head.weight"] = np.zeros((1, 3))
    Pu["head.bias"] = np.zeros(1)
    _, cache_u = uni.forward(uni.layout.pack(Pu, np.float64), X[::-1].copy())
    H_forward_on_reversed = cache_u[1][0][2][0][0][1:]
    np.testing.assert_allclose(H_reverse, H_forward_on_reversed[::-1], rtol=1e-14)


def test_layout_names_shapes_and_weights_first():
    arch = Architecture(6, (4, 5), 2, cell="lstm", bidirectional=True)
    layout = build_layout(arch)
    assert layout.shapes["weight_ih_l0"] == (16, 6)
    assert layout.shapes["weight_hh_l0_reverse"] == (16, 4)
    assert layout.shapes["weight_ih_l1"] == (20, 8)  # input is both directions of layer 0
    assert layout.shapes["bias_hh_l1_reverse"] == (20,)
    assert layout.shapes["head.weight"] == (2, 10)
    # all weight matrices precede all biases, so the L2 penalty is one slice
    for name in layout.names:
        is_weight = layout.slices[name].stop <= layout.n_weights
        assert is_weight == name.startswith(("weight", "head.weight"))
    flat = np.arange(layout.size, dtype=float)
    views = layout.views(flat)
    views["head.bias"][...] = -1
    assert flat[-1] == -1  # views write through
    np.testing.assert_array_equal(layout.pack(views, np.float64), flat)


def test_layout_rejects_wrong_shapes():
    layout = ParamLayout([("w", (2, 3))], [("b", (2,))])
    with pytest.raises(ValueError, match="expected a flat vector of 8"):
        layout.views(np.zeros(7))
    with pytest.raises(ValueError, match="parameter 'w' has shape"):
        layout.pack({"w": np.zeros((3, 2)), "b": np.zeros(2)}, np.float64)


def test_architecture_validation():
    with pytest.raises(ValueError, match="cell must be one of"):
        Architecture(2, (3,), 1, cell="transformer")
    with pytest.raises(ValueError, match="nonlinearity must be"):
        Architecture(2, (3,), 1, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="hidden_sizes must be positive"):
        Architecture(2, (3, 0), 1)
    with pytest.raises(ValueError, match="dropout"):
        Architecture(2, (3,), 1, dropout=1.0)


def test_parameter_count_of_the_textbook_network():
    """Two layers of 2 tanh units without biases on 6 features: 26 parameters."""
    assert build_layout(Architecture(6, (2, 2), 1, bias=False)).size == 26
    # the textbook's one-layer 4-unit net with biases has 49; PyTorch's layout (ours) keeps two
    # bias vectors per layer, b_ih and b_hh, whose sum is the textbook's single bias: 53
    assert build_layout(Architecture(6, (4,), 1, bias=True)).size == 49 + 4


def test_weighted_loss_weights_equal_repetition():
    rng = np.random.RandomState(0)
    scores, Y = rng.normal(size=(4, 2)), rng.normal(size=(4, 2))
    w = np.array([2.0, 0.0, 1.0, 3.0])
    value, grad = weighted_loss("squared_error", scores.copy(), Y, w)
    rep = np.repeat(np.arange(4), w.astype(int))
    value_rep, grad_rep = weighted_loss("squared_error", scores[rep].copy(), Y[rep])
    assert value == pytest.approx(value_rep, rel=1e-14)
    # gradient of a repeated sample is spread over its copies
    np.testing.assert_allclose(grad, np.array([grad_rep[rep == i].sum(0) for i in range(4)]))
    with pytest.raises(ValueError, match="sum of the sample weights must be positive"):
        weighted_loss("squared_error", scores.copy(), Y, np.zeros(4))


def test_losses_known_values():
    s = np.array([[0.0, np.log(3.0)]])
    value, _ = weighted_loss("softmax_cross_entropy", s.copy(), np.array([[0.0, 1.0]]))
    assert value == pytest.approx(-np.log(0.75))
    value, _ = weighted_loss("sigmoid_log_loss", np.array([[0.0, 1000.0]]),
                             np.array([[1.0, 1.0]]))
    assert value == pytest.approx(np.log(2.0))  # the large score does not overflow
    value, _ = weighted_loss("squared_error", np.array([[1.0, 3.0]]), np.array([[0.0, 0.0]]))
    assert value == pytest.approx(0.5 * (1 + 9) / 2)


def test_sgd_and_adam_steps():
    p = np.array([1.0, -2.0])
    g = np.array([0.5, 0.25])
    sgd = SGD(p, 0.1)
    sgd.update(p, g)
    np.testing.assert_allclose(p, [0.95, -2.025])

    p = np.zeros(2)
    mom = SGD(p, 0.1, momentum=0.9, nesterov=False)
    mom.update(p, g)
    mom.update(p, g)
    # v1 = -0.1 g, v2 = 0.9 v1 - 0.1 g = -0.19 g; p = v1 + v2
    np.testing.assert_allclose(p, -0.29 * g)

    p = np.zeros(2)
    nes = SGD(p, 0.1, momentum=0.9, nesterov=True)
    nes.update(p, g)
    np.testing.assert_allclose(p, 0.9 * (-0.1 * g) - 0.1 * g)

    p = np.zeros(2)
    adam = Adam(p, 0.01)
    adam.update(p, g)
    # first step: m = 0.1 g, v = 0.001 g^2, bias-corrected step size 0.01 * sqrt(0.001) / 0.1
    expected = -0.01 * np.sqrt(0.001) / 0.1 * (0.1 * g) / (np.sqrt(0.001) * np.abs(g) + 1e-8)
    np.testing.assert_allclose(p, expected, rtol=1e-12)
    # which is about the learning rate in every coordinate
    np.testing.assert_allclose(p, -0.01 * np.sign(g), rtol=1e-5)


def test_clip_by_global_norm():
    g = np.array([3.0, 4.0])
    assert clip_by_global_norm(g, 1.0) == 5.0
    np.testing.assert_allclose(g, [0.6, 0.8])
    g = np.array([0.3, 0.4])
    clip_by_global_norm(g, 1.0)
    np.testing.assert_allclose(g, [0.3, 0.4])


def test_orthogonal_init():
    net = StackedRNN(Architecture(3, (4,), 1, cell="gru"))
    theta = net.init_params(np.random.RandomState(0), init="orthogonal")
    W = net.layout.views(theta)["weight_hh_l0"]
    for g in range(3):
        block = W[g * 4 : (g + 1) * 4]
        np.testing.assert_allclose(block @ block.T, np.eye(4), atol=1e-12)


# ------------------------------------------------------ workspace and chunked backward
WORKSPACE_CONFIGS = [
    dict(cell="rnn"), dict(cell="rnn", nonlinearity="relu", bidirectional=True),
    dict(cell="lstm", bidirectional=True, return_sequences=True),
    dict(cell="gru", residual=True, layer_norm=True), dict(cell="lstm", dropout=0.5),
    dict(cell="gru", bidirectional=True, bias=False),
]


@pytest.mark.parametrize("config", WORKSPACE_CONFIGS, ids=lambda c: "-".join(map(str, c.values())))
def test_workspace_reuse_gives_the_results_of_fresh_arrays(config):
    """A workspace's arrays are overwritten by each call: nothing stale may leak into the next."""
    from skdeeprnn.core import Workspace

    arch = Architecture(D, (3, 4, 4), K, **config)
    net = StackedRNN(arch)
    rng = np.random.RandomState(0)
    theta = net.init_params(rng) * 2.0
    workspace = Workspace()
    # same shape twice (buffers reused), then a smaller batch (buffers replaced), then back
    for n in (5, 5, 2, 5):
        X = rng.normal(size=(T, n, D))
        Y = rng.normal(size=(T, n, K) if arch.return_sequences else (n, K))
        expected = net.loss_and_grad(theta, X, Y, "squared_error", training=True,
                                     random_state=np.random.RandomState(n))
        got = net.loss_and_grad(theta, X, Y, "squared_error", training=True,
                                random_state=np.random.RandomState(n), workspace=workspace)
        assert got[0] == expected[0]
        np.testing.assert_array_equal(got[1], expected[1])


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_backward_in_chunks_of_steps_is_exact(cell, bidirectional, monkeypatch):
    """Chunks of one step, of a few steps and of the whole sequence give the same gradient."""
    from skdeeprnn.core import _cells

    arch = Architecture(D, (3, 2), K, cell=cell, bidirectional=bidirectional,
                        return_sequences=True)
    net = StackedRNN(arch)
    rng = np.random.RandomState(1)
    theta = net.init_params(rng) * 2.0
    X = rng.normal(size=(7, 4, D))
    Y = rng.normal(size=(7, 4, K))
    step_bytes = _cells.make_cell(cell).n_gates * 3 * 4 * 8  # first layer: h=3, n=4, float64
    grads = []
    for chunk_bytes in (1, int(2.5 * step_bytes), 1 << 30):  # 1 step, 2 steps, all 7 steps
        monkeypatch.setattr(_cells, "CHUNK_BYTES", chunk_bytes)
        grads.append(net.loss_and_grad(theta, X, Y, "squared_error")[1])
    np.testing.assert_array_equal(grads[0], grads[2])
    np.testing.assert_array_equal(grads[1], grads[2])
    # and the chunked gradient is the right one
    def f(th):
        return net.loss_and_grad(th, X, Y, "squared_error")
    monkeypatch.setattr(_cells, "CHUNK_BYTES", 1)
    assert _relative_error(f, theta) <= 1e-6


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_workspace_arrays_start_on_distinct_cache_lines(dtype):
    from skdeeprnn.core._workspace import FRESH, Workspace, staggered_empty

    ws = Workspace()
    arrays = [ws.empty(("a", k), (5, 64, 64), dtype) for k in range(8)]
    arrays += [FRESH.empty("b", (5, 64, 64), dtype) for _ in range(4)]
    for a in arrays:
        assert a.shape == (5, 64, 64) and a.dtype == dtype and a.flags.c_contiguous
        assert a.ctypes.data % 64 == 0
        a[...] = 1.0  # the whole array is writable memory of its own
    workspace_offsets = {a.ctypes.data % 4096 for a in arrays[:8]}
    assert len(workspace_offsets) == 8
    assert len({a.ctypes.data % 4096 for a in arrays[8:]}) == 4
    assert ws.empty(("a", 3), (5, 64, 64), dtype) is arrays[3]
    np.testing.assert_array_equal(np.concatenate(arrays), 1.0)
    small = staggered_empty((3, 4), dtype, 5)
    assert small.shape == (3, 4) and small.flags.c_contiguous
    assert FRESH.zeros("c", (64, 64), dtype).sum() == 0
