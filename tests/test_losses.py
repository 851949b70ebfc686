"""The regression losses for forecasting: absolute error, Huber and pinball (quantile).

Gradients are checked against central differences through the whole network for
every cell, with sample weights, missing steps and ``return_sequences``. These
losses have kinks (absolute and pinball at a zero residual, Huber where ``|r|``
crosses ``delta``), and a finite difference across a kink measures neither
side's slope; so the targets are placed at least 0.3 from every kink and each
evaluation asserts that no score moved by 0.1 or more (it moves by about
``1e-5`` at ``eps=1e-6``): no residual crosses a kink within a step.

PyTorch is the oracle where installed: ``nn.L1Loss``, ``nn.HuberLoss`` and the
pinball loss written in torch (torch has none built in), on the loss function
and through the network and the estimator's objective.
"""

import io
import pickle
import warnings

import numpy as np
import pytest
from scipy.optimize import minimize_scalar
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import InvalidParameterError

from skdeeprnn import DeepRNNRegressor
from skdeeprnn._estimators._training import (
    constant_prediction_loss,
    huber_location,
    weighted_quantile,
)
from skdeeprnn._persistence import load_npz, save_npz
from skdeeprnn.core import LOSSES, Architecture, StackedRNN, loss_parts, weighted_loss

T, D, H, K = 6, 2, 3, 2
CELLS = {"rnn-tanh": ("rnn", "tanh"), "rnn-relu": ("rnn", "relu"),
         "lstm": ("lstm", "tanh"), "gru": ("gru", "tanh")}
# the losses as the regressor hands them to the core
SPECS = {
    "absolute_error": "absolute_error",
    "huber": "huber",
    "quantile-0.2": ("quantile", {"quantile": 0.2}),
    "quantile-0.9": ("quantile", {"quantile": 0.9}),
}
# observed steps of 4 sequences (rows) over T = 6 steps: leading, inside, trailing gaps
OBSERVED = np.array([[0, 1, 0, 1, 1, 0], [0, 0, 1, 0, 0, 0], [1, 1, 0, 1, 1, 1],
                     [1, 1, 1, 1, 1, 1]], dtype=bool).T  # (T, n)
N = OBSERVED.shape[1]


@pytest.fixture(autouse=True)
def _quiet_convergence():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


# ---------------------------------------------------------------- the loss functions
def test_losses_on_hand_worked_values():
    scores = np.array([[0.0, 1.0], [2.0, -1.0]])
    Y = np.array([[0.5, -2.0], [2.0, 0.0]])  # residuals y - p: [[0.5, -3], [0, 1]]
    losses, grad = LOSSES["absolute_error"](scores, Y)
    np.testing.assert_allclose(losses, [(0.5 + 3) / 2, (0 + 1) / 2])
    np.testing.assert_allclose(grad, [[-0.5, 0.5], [0.0, -0.5]])  # sign(p - y) / k; 0 at r=0
    losses, grad = LOSSES["huber"](scores, Y)
    np.testing.assert_allclose(losses, [(0.125 + 2.5) / 2, (0 + 0.5) / 2])
    np.testing.assert_allclose(grad, [[-0.25, 0.5], [0.0, -0.5]])  # clip(p - y, -1, 1) / k
    losses, grad = LOSSES["quantile"](scores, Y, quantile=0.9)
    np.testing.assert_allclose(losses, [(0.45 + 0.3) / 2, (0 + 0.9) / 2])
    np.testing.assert_allclose(grad, [[-0.45, 0.05], [-0.2, -0.45]])  # 1/2 - q at r = 0


def test_pinball_at_one_half_is_half_the_absolute_error_and_huber_is_squared_near_zero():
    rng = np.random.RandomState(0)
    scores, Y = rng.normal(size=(2, 5, 7, 3))
    Y[0, 0] = scores[0, 0]  # zero residuals: the gradients agree there too
    a, ga = LOSSES["absolute_error"](scores, Y)
    p, gp = LOSSES["quantile"](scores, Y, quantile=0.5)
    np.testing.assert_allclose(p, a / 2, rtol=1e-15)
    np.testing.assert_allclose(gp, ga / 2, rtol=1e-15)
    small = Y + rng.uniform(-0.99, 0.99, size=Y.shape)
    np.testing.assert_allclose(LOSSES["huber"](small, Y)[0],
                               LOSSES["squared_error"](small, Y)[0], rtol=1e-14)
    far = Y + 3.0
    np.testing.assert_allclose(LOSSES["huber"](far, Y)[0], 3.0 - 0.5, rtol=1e-14)


@pytest.mark.parametrize("spec", SPECS.values(), ids=list(SPECS))
def test_losses_keep_float32(spec):
    rng = np.random.RandomState(1)
    scores, Y = rng.normal(size=(2, T, N, K)).astype(np.float32)
    sw = rng.uniform(size=N)
    value, grad = weighted_loss(spec, scores, Y, sw, OBSERVED)
    assert grad.dtype == np.float32 and isinstance(value, float)
    v64, g64 = weighted_loss(spec, scores.astype(np.float64), Y.astype(np.float64), sw, OBSERVED)
    assert value == pytest.approx(v64, rel=1e-5)
    np.testing.assert_allclose(grad, g64, rtol=1e-5, atol=1e-7)


def test_loss_parts():
    assert loss_parts("huber") == ("huber", {})
    assert loss_parts(("quantile", {"quantile": 0.3})) == ("quantile", {"quantile": 0.3})


# --------------------------------------------------- gradients through the network
def _net(cell, head, seed=0):
    name, nonlinearity = CELLS[cell]
    seq = head == "many-to-many"
    arch = Architecture(D, (H, H), K, cell=name, nonlinearity=nonlinearity,
                        bidirectional=True, return_sequences=seq,
                        pooling="last" if seq else head)
    net = StackedRNN(arch)
    rng = np.random.RandomState(seed)
    theta = 2.0 * net.init_params(rng)  # gates away from their linear regime
    return net, theta, rng


def _targets_off_the_kinks(spec, scores, rng):
    """Targets whose residuals stand 0.3 or more from every kink of the loss."""
    size = rng.uniform(0.3, 1.5, size=scores.shape)
    if loss_parts(spec)[0] == "huber":  # half in the quadratic zone, half in the linear one
        size = np.where(rng.uniform(size=scores.shape) < 0.5, rng.uniform(0.3, 0.7, scores.shape),
                        rng.uniform(1.3, 2.0, scores.shape))
    return scores + np.where(rng.uniform(size=scores.shape) < 0.5, -size, size)


@pytest.mark.parametrize("spec", SPECS.values(), ids=list(SPECS))
@pytest.mark.parametrize("head", ["last", "many-to-many"])
@pytest.mark.parametrize("cell", CELLS)
def test_gradient_matches_finite_differences(cell, head, spec):
    """Two bidirectional layers, missing steps, sample weights (and step weights), L2 penalty."""
    net, theta, rng = _net(cell, head)
    X = rng.normal(size=(T, N, D))
    X[~OBSERVED] = np.nan
    scores0, _ = net.forward(theta, X, observed=OBSERVED)
    Y = _targets_off_the_kinks(spec, scores0, rng)
    sw = rng.uniform(0.5, 2.0, size=N)
    steps = None
    if head == "many-to-many":
        Y[~OBSERVED] = 0.0
        steps = OBSERVED * rng.uniform(0.5, 2.0, size=OBSERVED.shape)
    alpha = 0.1
    value, grad = net.loss_and_grad(theta, X, Y, spec, sw, alpha, observed=OBSERVED,
                                    step_weight=steps, training=False)

    def objective(th):  # loss_and_grad's value, from the scores it checks
        scores, _ = net.forward(th, X, observed=OBSERVED)
        moved = np.abs(scores - scores0)
        assert (moved[OBSERVED] if head == "many-to-many" else moved).max() < 0.1  # no kink
        w = th[: net.layout.n_weights]
        return weighted_loss(spec, scores, Y, sw, steps)[0] + 0.5 * alpha * np.dot(w, w)

    assert objective(theta) == pytest.approx(value, rel=1e-14)
    eps = 1e-6
    numeric = np.empty_like(theta)
    for i in range(theta.size):
        step = np.zeros_like(theta)
        step[i] = eps
        numeric[i] = (objective(theta + step) - objective(theta - step)) / (2 * eps)
    assert np.abs(numeric - grad).max() / np.abs(numeric).max() <= 1e-6


# -------------------------------------------------------------- the best constant
def test_weighted_quantile_is_the_minimiser():
    rng = np.random.RandomState(0)
    values = rng.normal(size=51)
    weights = rng.uniform(0, 3, size=51)
    weights[:5] = 0.0
    for q in (0.05, 0.3, 0.5, 0.9):
        c = weighted_quantile(values, weights, q)

        def cost(c, q=q):
            r = values - c
            return np.dot(weights, np.maximum(q * r, (q - 1) * r))

        grid = np.linspace(values.min(), values.max(), 2001)
        assert cost(c) <= min(cost(g) for g in grid) + 1e-12
        assert weights[values < c].sum() <= q * weights.sum()
        assert weights[values > c].sum() <= (1 - q) * weights.sum()
    # integer weights are repeated values; a zero weight removes a value
    assert weighted_quantile(np.array([1.0, 2.0, 3.0, 100.0]), np.array([1, 3, 1, 0]), 0.5) == 2.0
    assert weighted_quantile(np.array([1.0, 2.0, 3.0]), np.ones(3), 0.9) == 3.0


@pytest.mark.parametrize("delta", [0.1, 1.0, 50.0])
def test_huber_location_is_the_minimiser(delta):
    rng = np.random.RandomState(1)
    values = np.r_[rng.normal(size=40), 30.0 + rng.normal(size=5)]  # a far cluster
    weights = rng.uniform(0.1, 2.0, size=45)

    def cost(c):
        size = np.abs(values - c)
        inner = np.minimum(size, delta)
        return np.dot(weights, 0.5 * inner**2 + delta * (size - inner))

    c = huber_location(values, weights, delta)
    best = minimize_scalar(cost, bounds=(values.min(), values.max()), method="bounded",
                           options={"xatol": 1e-12})
    assert cost(c) <= best.fun + 1e-10
    g = -np.dot(weights, np.clip(values - c, -delta, delta))
    assert abs(g) < 1e-10 * weights.sum()
    if delta == 50.0:  # every residual in the quadratic zone: the weighted mean
        assert c == pytest.approx(np.average(values, weights=weights), rel=1e-12)


def test_constant_prediction_loss_known_values():
    w = np.array([1.0, 1.0, 2.0, 0.0])
    y = np.array([[0.0], [2.0], [4.0], [100.0]])
    # weighted median 2 (half the weight at or below), |r| = 2, 0, 2
    assert constant_prediction_loss("absolute_error", y, w) == pytest.approx((2 + 0 + 4) / 4)
    # the weighted 0.9-quantile is 4: residuals -4, -2, 0 times (1 - q)
    q9 = ("quantile", {"quantile": 0.9})
    assert constant_prediction_loss(q9, y, w) == pytest.approx(0.1 * (4 + 2) / 4)
    # huber: c = 3 gives residuals -3, -1, 1 (0 gradient: -1 - 1 + 2 * 1); 2.5 + 0.5 + 2 * 0.5
    assert constant_prediction_loss("huber", y, w) == pytest.approx((2.5 + 0.5 + 1.0) / 4)
    # many-to-many: the same targets at 3 steps, the loss summed over the steps
    steps = np.repeat(y[:, None, :], 3, axis=1)
    assert constant_prediction_loss("absolute_error", steps, w) == pytest.approx(3 * 1.5)
    # per-step weights: a step of weight 0 does not count, the constant is the steps' median
    step_weight = np.array([[1.0, 0.0, 1.0]] * 4)
    staggered = steps + np.array([0.0, 1000.0, 0.0])[None, :, None]
    assert constant_prediction_loss("absolute_error", staggered, w, step_weight) == \
        pytest.approx(2 * 1.5)


@pytest.mark.parametrize("spec", SPECS.values(), ids=list(SPECS))
def test_constant_prediction_loss_is_the_smallest_of_any_constant(spec):
    rng = np.random.RandomState(2)
    Y = np.exp(rng.normal(size=(30, 4, 2)))  # skewed: mean, median and quantiles differ
    w = rng.uniform(0.2, 2.0, size=30)
    step_weight = rng.uniform(0.0, 2.0, size=(30, 4))
    best = constant_prediction_loss(spec, Y, w, step_weight)
    for c in np.linspace(0.0, 4.0, 81):
        scores = np.full((4, 30, 2), c)
        value, _ = weighted_loss(spec, scores, np.swapaxes(Y, 0, 1), w, step_weight.T)
        assert best <= value + 1e-12


# ------------------------------------------------------------------------ PyTorch
def _torch():
    return pytest.importorskip("torch")


def _torch_per_step(torch, name, params, s, Y):
    """Per-(step,) sample losses in torch, averaged over outputs: shape ``s.shape[:-1]``."""
    if name == "absolute_error":
        return torch.nn.L1Loss(reduction="none")(s, Y).mean(-1)
    if name == "huber":
        return torch.nn.HuberLoss(reduction="none", delta=1.0)(s, Y).mean(-1)
    q, r = params["quantile"], Y - s
    return torch.maximum(q * r, (q - 1) * r).mean(-1)


TORCH_DTYPES = {"float64": (np.float64, 1e-12), "float32": (np.float32, 1e-6)}


@pytest.mark.parametrize("dtype", TORCH_DTYPES)
@pytest.mark.parametrize("spec", SPECS.values(), ids=list(SPECS))
def test_loss_function_matches_torch(spec, dtype):
    """Value and gradient of the scores; the unweighted mean is torch's module with 'mean'."""
    torch = _torch()
    npdtype, tol = TORCH_DTYPES[dtype]
    name, params = loss_parts(spec)
    rng = np.random.RandomState(3)
    for shape in [(N, K), (T, N, K)]:
        scores = rng.normal(size=shape).astype(npdtype)
        Y = (scores + rng.normal(scale=1.5, size=shape)).astype(npdtype)  # both Huber zones
        sw = rng.uniform(0.2, 3.0, size=N)
        steps = (OBSERVED * rng.uniform(0.5, 2.0, size=(T, N))) if len(shape) == 3 else None
        value, grad = weighted_loss(spec, scores.copy(), Y, sw, steps)
        s = torch.from_numpy(scores).requires_grad_(True)
        per = _torch_per_step(torch, name, params, s, torch.from_numpy(Y))
        if steps is not None:
            per = (per * torch.from_numpy(steps.astype(npdtype))).sum(0)
        w = torch.from_numpy(sw.astype(npdtype))
        t_value = (per * w).sum() / w.sum()
        t_value.backward()
        np.testing.assert_allclose(value, t_value.item(), rtol=tol, atol=tol)
        np.testing.assert_allclose(grad, s.grad.numpy(), rtol=tol, atol=tol)
    # many-to-one without weights: exactly torch's nn.L1Loss() / nn.HuberLoss() ('mean')
    if name != "quantile":
        module = torch.nn.L1Loss() if name == "absolute_error" else torch.nn.HuberLoss()
        scores = rng.normal(size=(N, K)).astype(npdtype)
        Y = (scores + rng.normal(scale=1.5, size=(N, K))).astype(npdtype)
        s = torch.from_numpy(scores).requires_grad_(True)
        t_value = module(s, torch.from_numpy(Y))
        t_value.backward()
        value, grad = weighted_loss(spec, scores.copy(), Y)
        np.testing.assert_allclose(value, t_value.item(), rtol=tol, atol=tol)
        np.testing.assert_allclose(grad, s.grad.numpy(), rtol=tol, atol=tol)


LENGTHS = [6, 2, 4, 1]  # right padding: torch's packed sequences


def _torch_modules(torch, net, theta, tdtype):
    arch = net.arch
    kwargs = dict(bias=arch.bias, bidirectional=arch.bidirectional)
    if arch.cell == "rnn":
        kwargs["nonlinearity"] = arch.nonlinearity
    module = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[arch.cell]
    rnn = module(arch.input_size, arch.hidden_sizes[0], arch.num_layers, **kwargs).to(tdtype)
    head = torch.nn.Linear(arch.feature_size, arch.output_size, bias=arch.bias).to(tdtype)
    P = net.layout.views(theta)
    rnn.load_state_dict({k: torch.from_numpy(P[k].copy()) for k in rnn.state_dict()})
    head.load_state_dict({k: torch.from_numpy(P["head." + k].copy()) for k in head.state_dict()})
    return rnn, head


NET_DTYPES = {"float64": (np.float64, 1e-10), "float32": (np.float32, 1e-4)}


@pytest.mark.parametrize("dtype", NET_DTYPES)
@pytest.mark.parametrize("head", ["many-to-one", "many-to-many"])
@pytest.mark.parametrize("spec", SPECS.values(), ids=list(SPECS))
def test_network_loss_and_gradient_match_torch_on_packed_sequences(spec, head, dtype):
    """Weighted loss over the observed steps + L2 penalty, and every parameter's gradient."""
    torch = _torch()
    npdtype, tol = NET_DTYPES[dtype]
    tdtype = getattr(torch, dtype)
    name, params = loss_parts(spec)
    seq = head == "many-to-many"
    arch = Architecture(D, (H, H), K, cell="lstm", bidirectional=True, return_sequences=seq,
                        pooling="last")
    net = StackedRNN(arch)
    rng = np.random.RandomState(4)
    theta = (2.0 * net.init_params(rng)).astype(npdtype)
    observed = np.arange(T)[:, None] < np.array(LENGTHS)[None, :]
    X = rng.normal(size=(T, N, D)).astype(npdtype)
    X[~observed] = np.nan
    scores, _ = net.forward(theta, X, observed=observed)
    Y = (scores + rng.normal(scale=1.5, size=scores.shape)).astype(npdtype)
    if seq:
        Y[~observed] = 0.0
    sw = rng.uniform(0.2, 3.0, size=N)
    alpha = 0.3
    value, grad = net.loss_and_grad(theta, X, Y, spec, sw, alpha, observed=observed,
                                    training=False)

    rnn, lin = _torch_modules(torch, net, theta, tdtype)
    packed = torch.nn.utils.rnn.pack_padded_sequence(
        torch.from_numpy(np.nan_to_num(X)), LENGTHS, enforce_sorted=False)
    out, h_n = rnn(packed)
    if seq:
        out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, total_length=T)
        per = _torch_per_step(torch, name, params, lin(out), torch.from_numpy(Y))
        per = (per * torch.from_numpy(observed.astype(npdtype))).sum(0)
    else:
        h_n = h_n[0]  # LSTM: (h_n, c_n)
        feats = torch.cat([h_n[-2], h_n[-1]], dim=1)  # the top layer's two directions
        per = _torch_per_step(torch, name, params, lin(feats), torch.from_numpy(Y))
    w = torch.from_numpy(sw.astype(npdtype))
    t_value = (per * w).sum() / w.sum()
    named = list(rnn.named_parameters()) + [("head." + n, p) for n, p in lin.named_parameters()]
    t_value = t_value + 0.5 * alpha * sum((p**2).sum() for n, p in named if "weight" in n)
    t_value.backward()
    np.testing.assert_allclose(value, t_value.item(), rtol=tol, atol=tol)
    ours = net.layout.views(grad)
    for n, p in named:
        np.testing.assert_allclose(ours[n], p.grad.numpy(), rtol=tol, atol=tol, err_msg=n)


@pytest.mark.parametrize("loss, quantile", [("absolute_error", 0.5), ("huber", 0.5),
                                            ("quantile", 0.8)])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_estimator_objective_and_step_match_torch(loss, quantile, return_sequences):
    """One full-batch SGD epoch of the estimator is torch's step on the standardised target.

    The estimator's loss of that epoch is torch's loss (standardised targets,
    sample weights, L2 penalty, missing steps), and the weights after it are
    torch's after one ``torch.optim.SGD`` step.
    """
    torch = _torch()
    rng = np.random.RandomState(5)
    n, d = 12, 2
    X = rng.normal(size=(n, T, d))
    lengths = rng.randint(2, T + 1, size=n) if return_sequences else np.full(n, T)
    observed = np.arange(T)[None, :] < lengths[:, None]  # (n, T)
    X[~observed] = np.nan
    if return_sequences:
        y = 20.0 + 5.0 * np.nancumsum(X[:, :, 0], axis=1) + rng.normal(size=(n, T))
        y[~observed] = np.nan
    else:
        y = 20.0 + 5.0 * X[:, :, 0].sum(axis=1) + rng.normal(size=n)
    sw = rng.uniform(0.5, 2.0, size=n)
    params = dict(loss=loss, quantile=quantile, cell="gru", num_layers=2, hidden_size=3,
                  layer_norm=False, pooling="last", return_sequences=return_sequences,
                  solver="sgd", momentum=0.0, nesterovs_momentum=False, learning_rate_init=0.1,
                  alpha=0.01, clip_grad_norm=None, batch_size=n, shuffle=False, max_iter=1,
                  random_state=0, dtype="float64", warm_start=True, autoregressive=0)
    est = DeepRNNRegressor(**params).fit(X, y, sample_weight=sw)  # the target scaling, weights
    rnn = torch.nn.GRU(d, 3, 2, batch_first=True).double()
    lin = torch.nn.Linear(3, 1).double()
    weights = est.weights_
    rnn.load_state_dict({k: torch.from_numpy(weights[k].copy()) for k in rnn.state_dict()})
    lin.load_state_dict({k: torch.from_numpy(weights["head." + k].copy())
                         for k in lin.state_dict()})
    est.fit(X, y, sample_weight=sw)  # warm start: one step from those weights

    target = (np.nan_to_num(y) - est._y_mean[0]) / est._y_scale[0]
    packed = torch.nn.utils.rnn.pack_padded_sequence(
        torch.from_numpy(np.nan_to_num(X)), lengths, batch_first=True, enforce_sorted=False)
    out, h_n = rnn(packed)
    spec = est._loss_name()
    name, loss_params = loss_parts(spec)
    if return_sequences:
        out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=T)
        per = _torch_per_step(torch, name, loss_params, lin(out),
                              torch.from_numpy(target[:, :, None]))
        per = (per * torch.from_numpy(observed.astype(float))).sum(1)
    else:
        per = _torch_per_step(torch, name, loss_params, lin(h_n[-1]),
                              torch.from_numpy(target[:, None]))
    w = torch.from_numpy(sw)
    named = list(rnn.named_parameters()) + [("head." + k, p) for k, p in lin.named_parameters()]
    objective = (per * w).sum() / w.sum() + 0.5 * 0.01 * sum(
        (p**2).sum() for k, p in named if "weight" in k)
    optimizer = torch.optim.SGD([p for _, p in named], lr=0.1)
    optimizer.zero_grad()
    objective.backward()
    optimizer.step()
    np.testing.assert_allclose(est.loss_curve_[-1], objective.item(), rtol=1e-10)
    after = est.weights_
    for k, p in named:
        np.testing.assert_allclose(after[k], p.detach().numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=k)


# --------------------------------------------------------------------- the estimator
@pytest.mark.parametrize("params", [dict(loss="mean_error"), dict(loss="quantile", quantile=0.0),
                                    dict(quantile=1.0), dict(quantile=-0.1),
                                    dict(quantile="high")])
def test_invalid_loss_and_quantile_are_rejected(params):
    X = np.zeros((4, 3, 1))
    with pytest.raises(InvalidParameterError, match="loss|quantile"):
        DeepRNNRegressor(**params).fit(X, np.arange(4.0))


def test_loss_reaches_the_core_and_quantile_only_with_quantile():
    assert DeepRNNRegressor()._loss_name() == "squared_error"
    assert DeepRNNRegressor(loss="huber", quantile=0.1)._loss_name() == "huber"
    assert DeepRNNRegressor(loss="quantile", quantile=0.25)._loss_name() == \
        ("quantile", {"quantile": 0.25})
    assert DeepRNNRegressor(loss="absolute_error").get_params()["quantile"] == 0.5


def _noisy(n, seed):
    """``y`` = the sum of a sequence plus noise whose spread grows with the last step."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 5, 1))
    y = 0.5 * X[:, :, 0].sum(axis=1) + rng.normal(size=n) * (1.0 + 0.5 * np.abs(X[:, -1, 0]))
    return X, y


def test_quantile_model_covers_its_quantile():
    X, y = _noisy(300, 0)
    common = dict(hidden_size=8, max_iter=100, random_state=0)
    upper = DeepRNNRegressor(loss="quantile", quantile=0.9, **common).fit(X, y)
    median = DeepRNNRegressor(loss="absolute_error", **common).fit(X, y)
    high, middle = upper.predict(X), median.predict(X)
    assert 0.8 <= np.mean(y <= high) <= 0.97
    assert 0.4 <= np.mean(y <= middle) <= 0.6
    assert np.mean(high > middle) > 0.9
    # score stays R² of the predictions, whatever the loss
    from sklearn.metrics import r2_score
    assert upper.score(X, y) == r2_score(y, high)


def test_absolute_error_is_robust_to_outliers():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(240, 5, 1))
    clean = X[:, :, 0].sum(axis=1)  # standard deviation 2.2
    y = clean + 0.1 * rng.normal(size=240)
    y[rng.choice(240, 12, replace=False)] += 100.0  # 5% of outliers 45 standard deviations off
    common = dict(hidden_size=8, max_iter=100, random_state=0)
    X_test = rng.normal(size=(200, 5, 1))
    truth = X_test[:, :, 0].sum(axis=1)
    errors = {}
    for loss in ("squared_error", "absolute_error", "huber"):
        pred = DeepRNNRegressor(loss=loss, **common).fit(X, y).predict(X_test)
        errors[loss] = np.median(np.abs(pred - truth))
    assert errors["absolute_error"] < 0.3 < 0.1 * errors["squared_error"]
    assert errors["huber"] < errors["squared_error"]


def test_integer_sample_weights_are_repeated_sequences():
    X, y = _noisy(20, 1)  # under 32 sequences: one full batch per epoch
    w = np.arange(20) % 3
    params = dict(loss="quantile", quantile=0.7, hidden_size=4, max_iter=5, random_state=0,
                  dtype="float64", shuffle=False)
    weighted = DeepRNNRegressor(**params).fit(X, y, sample_weight=w)
    repeated = DeepRNNRegressor(**params).fit(np.repeat(X, w, axis=0), np.repeat(y, w))
    np.testing.assert_allclose(weighted.loss_curve_, repeated.loss_curve_, rtol=1e-9)
    np.testing.assert_allclose(weighted.predict(X), repeated.predict(X), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("loss, quantile", [("quantile", 0.8), ("huber", 0.5)])
def test_npz_and_pickle_keep_loss_and_quantile(loss, quantile):
    X, y = _noisy(16, 2)
    est = DeepRNNRegressor(loss=loss, quantile=quantile, hidden_size=3, max_iter=2,
                           random_state=0).fit(X, y)
    buffer = io.BytesIO()
    save_npz(est, buffer)
    buffer.seek(0)
    for twin in (load_npz(buffer), pickle.loads(pickle.dumps(est))):
        assert (twin.loss, twin.quantile) == (loss, quantile)
        assert twin._loss_name() == est._loss_name()
        np.testing.assert_array_equal(twin.predict(X), est.predict(X))
        twin.partial_fit(X, y)  # and trains on with the same loss
    est.partial_fit(X, y)
    np.testing.assert_array_equal(twin._theta, est._theta)
