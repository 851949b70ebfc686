"""``to_torch()``: a PyTorch module for every model the estimators can fit.

The module must give ``predict`` / ``predict_proba`` (float32 to 1e-5, float64
to 1e-10), hold PyTorch's own parameters under standard ``state_dict`` keys,
load back into the estimator bit for bit, and go through ``torch.export``.
The regressor's autoregressive term has tests of its own; on these sequences
of 3 features the default ``autoregressive='auto'`` has none.
"""

import subprocess
import sys
import warnings

import numpy as np
import pytest
from _autoregressive_cases import AR_ARCHITECTURES, visible_term
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from skdeeprnn import DeepRNNClassifier, DeepRNNRegressor

torch = pytest.importorskip("torch")

RNG = np.random.RandomState(0)
X = RNG.normal(size=(12, 6, 3))
X_MISSING = X.copy()
X_MISSING[0, :2] = np.nan  # leading
X_MISSING[1, 3] = np.nan  # inside
X_MISSING[2, -2:] = np.nan  # trailing
X_MISSING[3, [0, 2, 5]] = np.nan  # all three at once

TOL = {"float32": dict(rtol=1e-5, atol=1e-5), "float64": dict(rtol=1e-10, atol=1e-10)}

# every cell with and without bias, unequal sizes, both directions, both kinds of
# residual, layer norm on and off, every pooling and return_sequences
CONFIGS = [
    dict(cell="rnn", num_layers=1, pooling="last", layer_norm=False),
    dict(cell="rnn", nonlinearity="relu", bias=False, pooling="mean"),
    dict(cell="rnn", bidirectional=True, pooling="max", residual=True),  # identity
    dict(cell="lstm", hidden_size=(3, 5), bidirectional=True, pooling="last",
         residual=True),  # projection (6 -> 10 features)
    dict(cell="lstm", bias=False, pooling="max", layer_norm=False),
    dict(cell="lstm", num_layers=1, bidirectional=True, pooling="mean"),
    dict(cell="gru", num_layers=3, hidden_size=(5, 3, 4), pooling="mean", residual=True),
    dict(cell="gru", bidirectional=True, pooling="last", bias=False, layer_norm=False),
    dict(cell="gru", num_layers=1, pooling="max"),
    dict(cell="gru", bidirectional=True, return_sequences=True, residual=True),
    dict(cell="lstm", hidden_size=(4, 3), return_sequences=True, bias=False),
    dict(cell="rnn", nonlinearity="relu", return_sequences=True, layer_norm=False),
]


def _id(params):
    return "-".join(f"{k}={v}" for k, v in params.items())


def _fit(Estimator, params, y, X_fit=X_MISSING):
    params = dict(dict(num_layers=2, hidden_size=4, max_iter=2, random_state=0), **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return Estimator(**params).fit(X_fit, y)


def _targets(kind, return_sequences=False):
    base = X[:, :, 0].cumsum(axis=1) if return_sequences else X[:, :, 0].sum(axis=1)
    if kind == "regression":
        return 10 * base + 50  # a target far from standardised
    if kind == "regression2":
        return np.stack([base, -2 * base + 5], axis=-1)
    if kind == "binary":
        return np.where(base > 0, "up", "down")
    if kind == "binary-int":
        return (base > 0).astype(int) * 7 - 2  # labels -2 and 5
    if kind == "multiclass":
        return np.digitize(base, [-1.0, 1.0])
    if kind == "multiclass-str":
        return np.array(["low", "mid", "high"])[np.digitize(base, [-1.0, 1.0])]
    return np.stack([base > 0, X[:, 0, 1] > 0, X[:, -1, 2] > 0], axis=1).astype(int)


def _run(module, x, method=None):
    with torch.no_grad():
        out = (module if method is None else getattr(module, method))(torch.from_numpy(x))
    return out.numpy()


def _reload(est, module, **params):
    """A fresh estimator loaded from the module's state_dict."""
    kwargs = {}
    if isinstance(est, DeepRNNClassifier):
        multilabel = est._label_binarizer.y_type_ == "multilabel-indicator"
        kwargs = dict(multilabel=True) if multilabel else dict(classes=module.classes_)
    twin = type(est)(**est.get_params())
    return twin.from_torch_state_dict(module.state_dict(), X.shape[2], X.shape[1], **kwargs)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("params", CONFIGS, ids=_id)
def test_the_module_reproduces_predict_and_loads_back(params, dtype):
    seq = params.get("return_sequences", False)
    reg = _fit(DeepRNNRegressor, dict(params, dtype=dtype), _targets("regression", seq))
    module = reg.to_torch()
    assert module.head.weight.dtype == getattr(torch, dtype)
    expected = reg.predict(X_MISSING)
    out = _run(module, X_MISSING)  # float64 input, cast to the module's dtype
    assert out.dtype == np.dtype(dtype) and out.shape == expected.shape
    np.testing.assert_array_equal(np.isnan(out), np.isnan(expected))
    np.testing.assert_allclose(out, expected, **TOL[dtype])
    # the state_dict goes back into the estimator exactly
    twin = _reload(reg, module)
    np.testing.assert_array_equal(twin.predict(X_MISSING), expected)
    np.testing.assert_array_equal(twin._theta, reg._theta)


KINDS = ["regression2", "binary", "binary-int", "multiclass", "multiclass-str", "multilabel"]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("kind", KINDS)
def test_every_output_and_the_logits(kind, return_sequences, dtype):
    if kind == "multilabel" and return_sequences:
        pytest.skip("many-to-many targets are one label per step, not a label indicator")
    Estimator = DeepRNNRegressor if kind.startswith("regression") else DeepRNNClassifier
    params = dict(cell="lstm", bidirectional=True, pooling="last",
                  return_sequences=return_sequences, dtype=dtype)
    est = _fit(Estimator, params, _targets(kind, return_sequences))
    module = est.to_torch()
    tol = TOL[dtype]
    if Estimator is DeepRNNRegressor:
        expected = est.predict(X_MISSING)
    else:
        expected = est.predict_proba(X_MISSING)
        np.testing.assert_array_equal(module.classes_, est.classes_)
        logits = _run(module, X_MISSING, "logits")
        np.testing.assert_allclose(logits, est._predict_scores(X_MISSING), **tol)
    out = _run(module, X_MISSING)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, **tol)
    twin = _reload(est, module)
    method = "predict" if Estimator is DeepRNNRegressor else "predict_proba"
    np.testing.assert_array_equal(getattr(twin, method)(X_MISSING), expected)
    if Estimator is DeepRNNClassifier:
        # as str: labels with NaN at missing steps are an object array, where NaN != NaN
        np.testing.assert_array_equal(twin.predict(X_MISSING).astype(str),
                                      est.predict(X_MISSING).astype(str))


def test_binary_logits_are_one_column_for_bce_with_logits():
    clf = _fit(DeepRNNClassifier, dict(dtype="float64"), _targets("binary"))
    module = clf.to_torch()
    x = torch.from_numpy(X_MISSING)
    with torch.no_grad():
        logits, proba = module.logits(x), module(x)
    assert logits.shape == (12, 1) and module.kind == "binary"
    torch.testing.assert_close(proba[:, 1:], torch.sigmoid(logits), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(proba.sum(dim=1), torch.ones(12, dtype=torch.float64))


def test_state_dict_keys_are_pytorch_modules_keys():
    reg = _fit(DeepRNNRegressor, dict(cell="lstm", num_layers=3, hidden_size=(3, 5, 5),
                                      bidirectional=True, residual=True, dtype="float64",
                                      autoregressive=6),
               _targets("regression"), X_fit=X)
    sd = reg.to_torch().state_dict()
    recurrent = [f"{w}_l0{sfx}" for sfx in ("", "_reverse")
                 for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    expected = ["target_mean", "target_scale"]
    for k in range(3):
        expected += [f"layers.{k}.rnn.{name}" for name in recurrent]
        if k == 1:  # 6 -> 10 features: projected; layer 2 is 10 -> 10: identity
            expected.append("layers.1.residual.weight")
        expected += [f"layers.{k}.norm.weight", f"layers.{k}.norm.bias"]
    expected += ["head.weight", "head.bias", "autoregressive.weight"]  # 6 steps of 3
    assert list(sd) == expected
    assert sd["autoregressive.weight"].shape == (1, 18)
    np.testing.assert_array_equal(sd["autoregressive.weight"].numpy(),
                                  reg.weights_["autoregressive.weight"])
    assert sd["target_mean"].dtype == torch.float64
    np.testing.assert_array_equal(sd["target_scale"].numpy(), reg._y_scale)
    np.testing.assert_array_equal(sd["layers.2.rnn.weight_hh_l0_reverse"].numpy(),
                                  reg.weights_["weight_hh_l2_reverse"])
    np.testing.assert_array_equal(sd["layers.1.residual.weight"].numpy(),
                                  reg.weights_["residual_l1.weight"])


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_the_step_loop_runs_torch_s_own_recurrent_modules(cell, bidirectional):
    """Without missing steps each layer's loop equals its nn.RNN/LSTM/GRU's own forward."""
    reg = _fit(DeepRNNRegressor, dict(cell=cell, bidirectional=bidirectional,
                                      hidden_size=(3, 5), dtype="float64"),
               _targets("regression"))
    module = reg.to_torch()
    expected_type = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]
    x = torch.from_numpy(X)
    observed = torch.ones(X.shape[:2], dtype=torch.bool)
    with torch.no_grad():
        for layer in module.layers:
            assert type(layer.rnn) is expected_type and layer.rnn.num_layers == 1
            assert layer.rnn.bidirectional == bidirectional and layer.rnn.batch_first
            plain, _ = layer.rnn(x)
            torch.testing.assert_close(layer.recurrent(x, observed), plain, rtol=1e-12,
                                       atol=1e-12)
            x = layer(x, observed)
        # fused: every layer calls its module directly; the same without missing steps
        stepped = module(torch.from_numpy(X))
        module.fused = True
        torch.testing.assert_close(module(torch.from_numpy(X)), stepped, rtol=1e-12,
                                   atol=1e-12)


def test_fused_gives_nan_not_a_wrong_value_for_missing_steps():
    reg = _fit(DeepRNNRegressor, dict(dtype="float64", pooling="mean"),
               _targets("regression"))
    module = reg.to_torch()
    module.fused = True
    out = _run(module, X_MISSING)
    # sequences 0, 1 and 3 have a missing step before an observed one; 2 only trailing ones
    assert np.isnan(out[[0, 1, 3]]).all()
    np.testing.assert_allclose(out[[2, 4, 5]], reg.predict(X_MISSING)[[2, 4, 5]], rtol=1e-10,
                               atol=1e-10)


def test_univariate_sequences_as_2d_input():
    X2 = X_MISSING[:, :, 0]
    reg = _fit(DeepRNNRegressor, dict(dtype="float64"), _targets("regression"), X_fit=X2)
    np.testing.assert_allclose(_run(reg.to_torch(), X2), reg.predict(X2), rtol=1e-10,
                               atol=1e-10)


def test_torch_export_with_a_static_and_a_dynamic_batch():
    reg = _fit(DeepRNNRegressor, dict(cell="gru", hidden_size=3, bidirectional=True,
                                      residual=True, pooling="last", dtype="float32"),
               _targets("regression"))
    module = reg.to_torch()
    x = torch.from_numpy(X_MISSING.astype(np.float32))
    exported = torch.export.export(module, (x,))
    with torch.no_grad():
        out = exported.module()(x).numpy()
    np.testing.assert_allclose(out, reg.predict(X_MISSING), **TOL["float32"])
    batch = torch.export.Dim("batch")
    exported = torch.export.export(module, (x,), dynamic_shapes={"x": {0: batch}})
    with torch.no_grad():
        out = exported.module()(x[3:8]).numpy()
    np.testing.assert_allclose(out, reg.predict(X_MISSING[3:8]), **TOL["float32"])


# the ONNX exporter of torch warns about its own internals
@pytest.mark.filterwarnings("ignore::FutureWarning", "ignore::DeprecationWarning")
def test_torch_onnx_export(tmp_path):
    pytest.importorskip("onnxscript")
    ort = pytest.importorskip("onnxruntime")
    clf = _fit(DeepRNNClassifier, dict(num_layers=1, hidden_size=3, dtype="float32"),
               _targets("multiclass"))
    x = torch.from_numpy(X_MISSING.astype(np.float32))
    program = torch.onnx.export(clf.to_torch(), (x,), dynamo=True,
                                dynamic_shapes={"x": {0: torch.export.Dim("batch")}})
    program.save(tmp_path / "model.onnx")
    session = ort.InferenceSession(tmp_path / "model.onnx")
    (proba,) = session.run(None, {session.get_inputs()[0].name: X_MISSING[:5].astype(np.float32)})
    np.testing.assert_allclose(proba, clf.predict_proba(X_MISSING[:5]), **TOL["float32"])


def test_loading_refuses_a_state_that_does_not_fit_and_changes_nothing():
    params = dict(num_layers=2, hidden_size=(4, 3), residual=True, dtype="float64")
    reg = _fit(DeepRNNRegressor, params, _targets("regression"))
    sd = reg.to_torch().state_dict()
    fitted = _fit(DeepRNNRegressor, params, _targets("regression2"))
    before = fitted.predict(X)
    fresh = DeepRNNRegressor(**reg.get_params())

    def refused(estimator, state, match):
        with pytest.raises(ValueError, match=match):
            estimator.from_torch_state_dict(state, 3, 6)

    no_norm = {k: v for k, v in sd.items() if k != "layers.1.norm.bias"}
    for estimator in (fresh, fitted):
        refused(estimator, no_norm, r"missing keys \['layers.1.norm.bias'\]")
        refused(estimator, {k: v for k, v in sd.items() if not k.startswith("target_")},
                r"missing keys \['target_mean', 'target_scale'\]")
        refused(estimator, {**sd, "target_scale": -sd["target_scale"]}, "must be positive")
        refused(estimator, {**sd, "target_mean": torch.zeros(2, dtype=torch.float64)},
                "target_mean must hold 1 finite value")
        refused(estimator, {**sd, "layers.1.rnn.weight_ih_l0": torch.zeros(9, 3)},
                r"layers.1.rnn.weight_ih_l0 has shape \(9, 3\)")
    assert not hasattr(fresh, "network_")
    np.testing.assert_array_equal(fitted.predict(X), before)
    # another architecture: the estimator's parameters describe what is loaded
    with pytest.raises(ValueError, match="layers.0.rnn.weight_ih_l0 has shape"):
        DeepRNNRegressor(num_layers=2, hidden_size=(5, 3), residual=True).from_torch_state_dict(
            sd, 3, 6)
    with pytest.raises(ValueError, match=r"unexpected keys \['target_mean', 'target_scale'\]"):
        DeepRNNClassifier(num_layers=2, hidden_size=(4, 3), residual=True).from_torch_state_dict(
            sd, 3, 6, classes=[0, 1])


@pytest.mark.parametrize("params", [dict(num_layers=2, layer_norm=True),
                                    dict(num_layers=2, residual=True, layer_norm=False),
                                    dict(num_layers=2, hidden_size=(4, 3), layer_norm=False)],
                         ids=_id)
def test_the_older_state_dict_refusals_point_to_to_torch(params):
    reg = _fit(DeepRNNRegressor, params, _targets("regression"))
    with pytest.raises(ValueError, match=r"Use the estimator's to_torch\(\) instead"):
        reg.to_torch_state_dict()
    old_style = {"rnn.weight_ih_l0": np.zeros((12, 3)), "head.weight": np.zeros((1, 4))}
    with pytest.raises(ValueError, match=r"state_dict of the module .*to_torch\(\) builds"):
        DeepRNNRegressor(**reg.get_params()).from_torch_state_dict(old_style, 3, 6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind", ["regression", "regression2"])
@pytest.mark.parametrize("params", AR_ARCHITECTURES, ids=_id)
def test_the_autoregressive_term_reproduces_predict_and_loads_back(params, kind, dtype):
    reg = visible_term(_fit(DeepRNNRegressor, dict(params, dtype=dtype), _targets(kind)))
    K = reg.network_.arch.autoregressive
    module = reg.to_torch()
    assert module.autoregressive_steps == K
    if K:
        k = 2 if kind == "regression2" else 1
        linear = module.autoregressive
        assert isinstance(linear, torch.nn.Linear) and linear.bias is None
        assert linear.weight.shape == (k, 3 * K) and linear.weight.dtype == getattr(torch, dtype)
        np.testing.assert_array_equal(linear.weight.detach().numpy(),
                                      reg.weights_["autoregressive.weight"])
    else:
        assert module.autoregressive is None
        assert not any(key.startswith("autoregressive") for key in module.state_dict())
    # without and with missing steps (front, inside, end, several)
    for X_in in (X, X_MISSING):
        out, expected = _run(module, X_in), reg.predict(X_in)
        assert out.dtype == np.dtype(dtype) and out.shape == expected.shape
        np.testing.assert_allclose(out, expected, **TOL[dtype])
    twin = _reload(reg, module)
    np.testing.assert_array_equal(twin._theta, reg._theta)
    np.testing.assert_array_equal(twin.predict(X_MISSING), reg.predict(X_MISSING))
    # fused: the same without missing steps
    module.fused = True
    np.testing.assert_allclose(_run(module, X), reg.predict(X), **TOL[dtype])


def test_the_autoregressive_term_reads_the_last_steps_and_zeros_before_the_first():
    """Fewer steps than K: as the estimator's window with leading missing steps."""
    reg = visible_term(_fit(DeepRNNRegressor, dict(dtype="float64", bidirectional=True,
                                                    pooling="last", autoregressive=5),
                             _targets("regression")))
    module = reg.to_torch()
    short = X_MISSING[:, -3:]  # 3 steps: the term reads 2 zero positions, then these
    front = np.concatenate([np.full((12, 3, 3), np.nan), short], axis=1)
    np.testing.assert_allclose(_run(module, short), reg.predict(front), **TOL["float64"])
    # the term alone: the last 5 steps' inputs flattened oldest first, missing steps as 0
    lagged = np.nan_to_num(X_MISSING[:, -5:]).reshape(12, 15)
    with torch.no_grad():
        term = module.autoregressive(torch.from_numpy(lagged)).numpy()
    np.testing.assert_allclose(term, lagged @ reg.weights_["autoregressive.weight"].T,
                               rtol=1e-12, atol=1e-12)


def test_torch_export_of_the_autoregressive_term_with_a_dynamic_batch():
    reg = visible_term(_fit(DeepRNNRegressor, dict(cell="lstm", hidden_size=3, autoregressive=4,
                                                    dtype="float64"), _targets("regression2")))
    module = reg.to_torch()
    x = torch.from_numpy(X_MISSING)
    batch = torch.export.Dim("batch")
    exported = torch.export.export(module, (x,), dynamic_shapes={"x": {0: batch}})
    with torch.no_grad():
        for rows in (slice(0, 12), slice(2, 9)):
            out = exported.module()(x[rows]).numpy()
            np.testing.assert_allclose(out, reg.predict(X_MISSING[rows]), **TOL["float64"])


def test_loading_the_autoregressive_term_checks_it_and_changes_nothing():
    reg = _fit(DeepRNNRegressor, dict(autoregressive=4, dtype="float64"), _targets("regression"))
    sd = reg.to_torch().state_dict()
    params = reg.get_params()

    def refused(state, match, **changes):
        fresh = DeepRNNRegressor(**{**params, **changes})
        with pytest.raises(ValueError, match=match):
            fresh.from_torch_state_dict(state, 3, 6)
        assert not hasattr(fresh, "network_") and not hasattr(fresh, "n_features_in_")

    without = {k: v for k, v in sd.items() if k != "autoregressive.weight"}
    # 'auto' follows the dictionary: without the weight, a model without the term (as one
    # fitted on sequences that end early)
    assert DeepRNNRegressor(**{**params, "autoregressive": "auto"}).from_torch_state_dict(
        without, 3, 6).network_.arch.autoregressive == 0
    refused(sd, r"unexpected keys \['autoregressive.weight'\].*with autoregressive=4",
            autoregressive=0)
    # 'auto' gives sequences of 3 features no term, as fit does
    refused(sd, r"unexpected keys \['autoregressive.weight'\].*with autoregressive=4",
            autoregressive="auto")
    refused(sd, r"autoregressive.weight has shape \(1, 12\).*needs \(1, 18\)",
            autoregressive=6)
    refused(sd, "autoregressive=7 is more steps than the sequences have", autoregressive=7)
    # a fitted estimator is left as it was, its fitted length included
    fitted = _fit(DeepRNNRegressor, dict(params, autoregressive=2), _targets("regression"))
    before = fitted.predict(X)
    with pytest.raises(ValueError, match=r"autoregressive.weight has shape \(1, 12\)"):
        fitted.from_torch_state_dict(sd, 3, 5)
    assert fitted.n_features_in_ == 6 and fitted.n_features_per_step_ == 3
    np.testing.assert_array_equal(fitted.predict(X), before)
    # and without the term, autoregressive=0 loads what a model without it exported
    plain = _fit(DeepRNNRegressor, dict(params, autoregressive=0), _targets("regression"))
    twin = DeepRNNRegressor(**dict(params, autoregressive=0)).from_torch_state_dict(
        plain.to_torch().state_dict(), 3, 6)
    np.testing.assert_array_equal(twin.predict(X_MISSING), plain.predict(X_MISSING))


def test_an_unfitted_estimator_has_no_module():
    with pytest.raises(NotFittedError):
        DeepRNNRegressor().to_torch()


def test_without_torch_the_package_works_and_to_torch_says_what_is_missing():
    code = (
        "import sys\n"
        "class NoTorch:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'torch':\n"
        "            raise ModuleNotFoundError(f'no module named {name!r} (blocked)')\n"
        "sys.meta_path.insert(0, NoTorch())\n"
        "import numpy as np, warnings\n"
        "from skdeeprnn import DeepRNNRegressor\n"
        "X = np.random.RandomState(0).normal(size=(8, 4, 2))\n"
        "warnings.simplefilter('ignore')\n"
        "reg = DeepRNNRegressor(hidden_size=2, max_iter=1).fit(X, X[:, 0, 0])\n"
        "reg.predict(X)\n"
        "try:\n"
        "    reg.to_torch()\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert "needs torch: pip install torch" in result.stdout
