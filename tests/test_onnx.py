"""ONNX export: every model the estimators fit runs in onnxruntime and gives ``predict``.

float32 models must match ``predict`` / ``predict_proba`` within 1e-5 of the
largest value of the output (the whole matrix), float64 models within 1e-12;
labels must be equal wherever the two most probable classes differ by more
than 1e-4. Skipped without onnx or onnxruntime (the skl2onnx tests also
without skl2onnx). The regressor's autoregressive term has tests of its own
(``AR_ARCHITECTURES``); the default ``autoregressive='auto'`` gives it to
sequences of one feature only, so the default regressors here have none.
"""

import itertools
import subprocess
import sys
import warnings
from dataclasses import replace

import numpy as np
import pytest
from _autoregressive_cases import AR_ARCHITECTURES, visible_term
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler

from skdeeprnn import (
    DeepRNNClassifier,
    DeepRNNRegressor,
    SequenceStandardScaler,
    SlidingWindowTransformer,
    to_onnx,
)
from skdeeprnn._export import describe
from skdeeprnn._export._onnx_network import label_constants

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

TOL = {"float32": 1e-5, "float64": 1e-12}

RNG = np.random.RandomState(0)
X = RNG.normal(size=(12, 6, 3))
X_MISSING = X.copy()
X_MISSING[0, :2] = np.nan  # leading
X_MISSING[1, 3] = np.nan  # inside
X_MISSING[2, -2:] = np.nan  # trailing
X_MISSING[3, 1:5] = np.nan  # only the first and the last step observed
TABLE = RNG.normal(size=(40, 3)) * [1.0, 5.0, 0.1] + [0.0, 20.0, -3.0]


def _fit(Estimator, params, y, X_fit=X_MISSING):
    params = dict(dict(num_layers=2, hidden_size=4, max_iter=2, random_state=0), **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return Estimator(**params).fit(X_fit, y)


def _fit_pipeline(pipe, X_fit, y):
    with warnings.catch_warnings():  # tiny fits; unscaled inputs on purpose
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", UserWarning)
        return pipe.fit(X_fit, y)


def _targets(kind, return_sequences=False):
    base = X[:, :, 0].cumsum(axis=1) if return_sequences else X[:, :, 0].sum(axis=1)
    if kind == "regression":
        return base
    if kind == "regression2":
        return np.stack([base, -2 * base + 5], axis=-1)
    if kind == "binary":
        return np.where(base > 0, "up", "down")
    if kind == "multiclass":
        return np.digitize(base, [-1.0, 1.0])
    if kind == "multiclass-str":
        return np.array(["low", "mid", "high"])[np.digitize(base, [-1.0, 1.0])]
    return np.stack([base > 0, X[:, 0, 1] > 0], axis=1).astype(int)  # multilabel


def _session(model):
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def _run(model, X_in, session=None):
    session = session or _session(model)
    return session.run(None, {session.get_inputs()[0].name: X_in})


def _relative_error(got, expected):
    got, expected = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    assert got.shape == expected.shape
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    return np.nanmax(np.abs(got - expected)) / np.nanmax(np.abs(expected))


def assert_matches(got, expected, dtype):
    error = _relative_error(got, expected)
    assert error <= TOL[str(dtype)], f"relative error {error:.3g} > {TOL[str(dtype)]}"


def assert_labels_match(labels, expected, proba):
    """Equal labels where the top two probabilities differ by more than 1e-4; missing steps too."""
    labels, expected, proba = np.asarray(labels), np.asarray(expected), np.asarray(proba)
    assert labels.shape == expected.shape
    if proba.shape == labels.shape:  # multilabel: each label against 0.5
        clear = np.abs(proba - 0.5) > 1e-4
    else:
        top = np.sort(np.nan_to_num(proba, nan=0.0), axis=-1)
        clear = top[..., -1] - top[..., -2] > 1e-4
    missing = np.isnan(proba).any(axis=-1) if proba.ndim == 3 else np.zeros(labels.shape, bool)
    assert clear[~missing].mean() > 0.5  # the comparison means something
    np.testing.assert_array_equal(labels[clear & ~missing], expected[clear & ~missing])
    if missing.any():  # NaN (numeric labels) or "" (strings), where predict gives NaN
        at_missing = labels[missing]
        if at_missing.dtype.kind == "f":
            assert np.isnan(at_missing).all()
        else:
            assert (at_missing == "").all()


def _check(model):
    onnx.checker.check_model(model, full_check=True)
    return model


# ----------------------------------------------------------------------------- the matrix
ARCHITECTURES = [
    dict(cell=cell, bidirectional=bi, pooling=pooling, layer_norm=norm)
    for cell, bi, pooling, norm in itertools.product(
        ["rnn", "lstm", "gru"], [False, True], ["last", "mean", "max"], [False, True])
] + [
    dict(cell="rnn", nonlinearity="relu", pooling="last"),
    dict(cell="rnn", nonlinearity="relu", bias=False, bidirectional=True, pooling="max"),
    dict(cell="lstm", bias=False, pooling="mean"),
    dict(cell="gru", bias=False, bidirectional=True, pooling="last"),
    dict(num_layers=3, hidden_size=(4, 5, 5), residual=True, bidirectional=True),
    dict(num_layers=3, hidden_size=(3, 5, 2), cell="lstm", residual=True, layer_norm=False),
    dict(num_layers=2, hidden_size=(5, 3), cell="gru", pooling="mean"),
    dict(num_layers=1, cell="gru", return_sequences=True),
    dict(num_layers=2, cell="rnn", nonlinearity="relu", return_sequences=True),
    dict(cell="lstm", bidirectional=True, return_sequences=True, residual=True, num_layers=2),
    dict(cell="gru", bidirectional=True, return_sequences=True, layer_norm=False, bias=False),
]


def _name(params):
    return "-".join(f"{k}={v}" for k, v in params.items())


@pytest.mark.parametrize("params", ARCHITECTURES, ids=_name)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_every_architecture_exports(params, dtype):
    y = _targets("regression", params.get("return_sequences", False))
    reg = _fit(DeepRNNRegressor, dict(params, dtype=dtype), y)
    session = _session(_check(to_onnx(reg)))
    # float32 runs onnxruntime's fused kernels on a batch without missing steps (the RNN's and
    # the GRU's for a few sequences only), a Scan otherwise
    for X_in in (X_MISSING, X, X[4:7]):
        (y_onnx,) = _run(None, X_in.astype(dtype), session)
        assert y_onnx.dtype == np.dtype(dtype)
        assert_matches(y_onnx, reg.predict(X_in), dtype)


@pytest.mark.parametrize("kind", ["regression", "regression2"])
@pytest.mark.parametrize("params", AR_ARCHITECTURES, ids=_name)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_autoregressive_term_exports(params, dtype, kind):
    reg = visible_term(_fit(DeepRNNRegressor, dict(params, dtype=dtype), _targets(kind)))
    K = reg.network_.arch.autoregressive
    model = _check(to_onnx(reg))
    weights = {t.name: t for t in model.graph.initializer}
    if K:
        (weight,) = [onnx.numpy_helper.to_array(t) for name, t in weights.items()
                     if name.startswith("autoregressive_weight_T")]
        np.testing.assert_array_equal(weight, reg.weights_["autoregressive.weight"].T)
    else:
        assert not any(name.startswith("autoregressive") for name in weights)
    session = _session(model)
    # missing steps at the front, inside and at the end, then none: float32 runs the fused
    # kernels there (the RNN's and the GRU's for a few sequences only, X[4:7])
    for X_in in (X_MISSING, X, X[4:7]):
        (y_onnx,) = _run(None, X_in.astype(dtype), session)
        assert y_onnx.dtype == np.dtype(dtype)
        assert_matches(y_onnx, reg.predict(X_in), dtype)


OUTPUT_KINDS = ["regression", "regression2", "binary", "multiclass", "multiclass-str",
                "multilabel"]


@pytest.mark.parametrize("kind", OUTPUT_KINDS)
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_every_output_exports(kind, return_sequences, dtype):
    if kind == "multilabel" and return_sequences:
        pytest.skip("many-to-many labels are one label per step, not a multilabel indicator")
    params = dict(return_sequences=return_sequences, dtype=dtype, bidirectional=True)
    regression = kind.startswith("regression")
    est = _fit(DeepRNNRegressor if regression else DeepRNNClassifier, params,
               _targets(kind, return_sequences))
    model = _check(to_onnx(est))
    outputs = _run(model, X_MISSING.astype(dtype))
    if regression:
        assert [o.name for o in model.graph.output] == ["variable"]
        assert_matches(outputs[0], est.predict(X_MISSING), dtype)
        return
    assert [o.name for o in model.graph.output] == ["output_label", "output_probability"]
    labels, proba = outputs
    expected_proba = est.predict_proba(X_MISSING)
    assert_matches(proba, expected_proba, dtype)
    assert_labels_match(labels, est.predict(X_MISSING), expected_proba)


@pytest.mark.parametrize("kind", ["binary", "multiclass", "multiclass-str"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_zipmap_gives_one_dict_per_sample(kind, dtype):
    clf = _fit(DeepRNNClassifier, dict(dtype=dtype), _targets(kind))
    labels, dicts = _run(_check(to_onnx(clf, zipmap=True)), X_MISSING.astype(dtype))
    expected = clf.predict_proba(X_MISSING)
    assert len(dicts) == len(X_MISSING) and sorted(dicts[0]) == sorted(clf.classes_.tolist())
    proba = np.array([[row[c] for c in clf.classes_.tolist()] for row in dicts])
    np.testing.assert_allclose(proba, expected, rtol=1e-5, atol=1e-6)  # float32 in any case
    assert_labels_match(labels, clf.predict(X_MISSING), expected)


# ----------------------------------------------------------------------------- the graph
@pytest.mark.parametrize("params", [
    dict(cell="lstm", bidirectional=True, pooling="last"),
    dict(cell="gru", pooling="mean", residual=True),
    dict(cell="gru", pooling="max", autoregressive=0),
    dict(cell="rnn", bidirectional=True, return_sequences=True),
], ids=_name)
def test_batch_size_and_number_of_steps_are_dynamic(params):
    seq = params.get("return_sequences", False)
    reg = _fit(DeepRNNRegressor, dict(params, dtype="float32"), _targets("regression", seq))
    session = _session(to_onnx(reg))
    X32 = X_MISSING.astype(np.float32)
    expected = reg.predict(X32)
    for rows in (slice(0, 1), slice(3, 10)):  # one sequence, then seven
        assert_matches(_run(None, X32[rows], session)[0], expected[rows], "float32")
    # fewer steps: without the autoregressive term the estimator reads them NaN-padded at
    # the end (the same sequences); the term reads the window's last steps, and zeros
    # before its first: the estimator reads that NaN-padded in front
    short = X32[:, :4]
    got = _run(None, short, session)[0]
    if not reg.network_.arch.autoregressive:
        padded = np.concatenate([short, np.full((12, 2, 3), np.nan, np.float32)], axis=1)
        want = reg.predict(padded)
        assert_matches(got, want[:, :4] if seq else want, "float32")
    if not seq:
        padded = np.concatenate([np.full((12, 2, 3), np.nan, np.float32), short], axis=1)
        assert_matches(got, reg.predict(padded), "float32")
    # more steps: leading missing steps leave the state at zero
    longer = np.concatenate([np.full((12, 3, 3), np.nan, np.float32), X32], axis=1)
    got = _run(None, longer, session)[0]
    assert_matches(got[:, 3:] if seq else got, expected, "float32")
    if seq:
        assert np.isnan(got[:, :3]).all()


def test_checker_and_save_load_round_trip(tmp_path):
    clf = _fit(DeepRNNClassifier, dict(cell="lstm", bidirectional=True, residual=True,
                                       num_layers=3, hidden_size=(3, 4, 4), dtype="float32"),
               _targets("multiclass-str"))
    model = _check(to_onnx(clf))
    path = tmp_path / "clf.onnx"
    onnx.save_model(model, str(path))
    loaded = onnx.load_model(str(path))
    onnx.checker.check_model(str(path), full_check=True)
    before = _run(model, X_MISSING.astype(np.float32))
    after = _run(loaded, X_MISSING.astype(np.float32))
    np.testing.assert_array_equal(before[0], after[0])
    np.testing.assert_array_equal(before[1], after[1])
    assert loaded.graph.input[0].name == "X"
    assert [d.dim_param or d.dim_value for d in
            loaded.graph.input[0].type.tensor_type.shape.dim] == ["N", "T", 3]
    assert {o.domain: o.version for o in loaded.opset_import}[""] >= 18


def test_univariate_2d_input_and_a_float64_input_to_a_float32_model():
    X2 = X[:, :, 0].copy()
    X2[0, :2] = np.nan
    reg = _fit(DeepRNNRegressor, dict(dtype="float32"), _targets("regression"), X_fit=X2)
    model = _check(to_onnx(reg, X2[:1]))  # float64 2D example: (N, T) float64 input
    assert model.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    assert_matches(_run(model, X2)[0], reg.predict(X2), "float32")


def test_importing_the_package_does_not_import_onnx():
    code = ("import sys, skdeeprnn\n"
            "assert not {'onnx', 'onnxruntime', 'skl2onnx'} & set(sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True)


# ----------------------------------------------------------------------------- pipelines
def _table_target():
    return TABLE[:, 0] + 0.1 * TABLE[:, 1]


TABLE_PIPELINES = {
    "standard-window": lambda: [StandardScaler(), SlidingWindowTransformer(window=5)],
    "minmax-clip-window-zero": lambda: [MinMaxScaler(clip=True),
                                        SlidingWindowTransformer(window=5, padding="zero")],
    "robust-window-mean": lambda: [RobustScaler(), SlidingWindowTransformer(window=4,
                                                                            padding="mean")],
    "window-missing-history": lambda: [SlidingWindowTransformer(window=6, padding="missing",
                                                                history=True)],
    "window-edge-history-short": lambda: [SlidingWindowTransformer(window=12, history=True)],
    "window-1": lambda: [StandardScaler(with_mean=False), SlidingWindowTransformer(window=1)],
    "window-sequence-scaler": lambda: [SlidingWindowTransformer(window=5),
                                       SequenceStandardScaler()],
}


@pytest.mark.parametrize("name", TABLE_PIPELINES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_pipelines_of_table_steps_export(name, dtype):
    steps = TABLE_PIPELINES[name]()
    n_fit = 8 if name == "window-edge-history-short" else 30  # history shorter than the window
    reg = DeepRNNRegressor(hidden_size=4, max_iter=2, random_state=0, dtype=dtype)
    pipe = _fit_pipeline(make_pipeline(*steps, reg), TABLE[:n_fit], _table_target()[:n_fit])
    model = _check(to_onnx(pipe))
    later = TABLE[n_fit:]
    assert_matches(_run(model, later.astype(dtype))[0], pipe.predict(later), dtype)
    if dtype == "float32":  # float64 tables in, cast where the estimator starts
        model = _check(to_onnx(pipe, TABLE[:1]))
        assert_matches(_run(model, later)[0], pipe.predict(later), dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_pipelines_of_sequence_steps_export(dtype):
    X_scaled = X_MISSING * [1.0, 10.0, 0.1] + [0.0, 50.0, 2.0]
    clf = make_pipeline(SequenceStandardScaler(), Pipeline([("inner", "passthrough")]),
                        DeepRNNClassifier(hidden_size=4, max_iter=2, random_state=0, dtype=dtype))
    _fit_pipeline(clf, X_scaled, _targets("binary"))
    labels, proba = _run(_check(to_onnx(clf)), X_scaled.astype(dtype))
    expected = clf.predict_proba(X_scaled)
    assert_matches(proba, expected, dtype)
    assert_labels_match(labels, clf.predict(X_scaled), expected)
    # univariate sequences (N, T) behind a scikit-learn scaler (one column per step)
    X2 = X[:, :, 1] * 3 + 1
    reg = make_pipeline(StandardScaler(), DeepRNNRegressor(hidden_size=4, max_iter=2,
                                                           random_state=0, dtype=dtype))
    _fit_pipeline(reg, X2, _targets("regression"))
    assert_matches(_run(_check(to_onnx(reg)), X2.astype(dtype))[0], reg.predict(X2), dtype)


# ----------------------------------------------------------------------------- refusals
def test_what_cannot_be_exported_is_refused_with_the_reason():
    reg = _fit(DeepRNNRegressor, {}, _targets("regression"))
    with pytest.raises(NotFittedError):
        to_onnx(DeepRNNRegressor())
    with pytest.raises(NotFittedError):
        to_onnx(make_pipeline(StandardScaler(), DeepRNNClassifier()))
    with pytest.raises(TypeError, match="DeepRNNRegressor or DeepRNNClassifier.*got Ridge"):
        to_onnx(Ridge().fit(TABLE, TABLE[:, 0]))
    with pytest.raises(TypeError, match="Pipeline that ends in StandardScaler"):
        to_onnx(make_pipeline(StandardScaler()).fit(TABLE))
    pipe = make_pipeline(PCA(2), SlidingWindowTransformer(window=3), DeepRNNRegressor(
        hidden_size=3, max_iter=1))
    _fit_pipeline(pipe, TABLE, _table_target())
    with pytest.raises(TypeError, match="cannot export the pipeline step PCA.*skl2onnx"):
        to_onnx(pipe)
    with pytest.raises(ValueError, match="target_opset must be 18 or later"):
        to_onnx(reg, target_opset=17)
    with pytest.raises(ValueError, match="X is 2D, but the first step"):
        to_onnx(reg, X[:1, :, 0])
    with pytest.raises(ValueError, match="X has 5 features"):
        to_onnx(reg, np.zeros((1, 6, 5)))
    multilabel = _fit(DeepRNNClassifier, {}, _targets("multilabel"))
    with pytest.raises(ValueError, match="zipmap=True .* not for this DeepRNNClassifier"):
        to_onnx(multilabel, zipmap=True)
    # scikit-learn's classifiers refuse such labels already; the exporter would too
    desc = describe(multilabel)
    fractional = replace(desc, output=replace(desc.output, kind="binary",
                                              classes=np.array([0.5, 1.5])))
    with pytest.raises(ValueError, match=r"labels \[0.5, 1.5\].*integers or strings"):
        label_constants(fractional)


# ----------------------------------------------------------------------------- skl2onnx
@pytest.fixture(scope="module")
def skl2onnx():
    skl2onnx = pytest.importorskip("skl2onnx")
    from skdeeprnn import register_skl2onnx_converters

    register_skl2onnx_converters()
    return skl2onnx


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_skl2onnx_converts_pipelines_that_mix_our_steps_with_its_own(skl2onnx, dtype):
    pipe = make_pipeline(StandardScaler(), PCA(3), SlidingWindowTransformer(window=5,
                                                                           padding="missing"),
                         SequenceStandardScaler(),
                         DeepRNNRegressor(hidden_size=4, max_iter=2, random_state=0,
                                          dtype=dtype, cell="gru", bidirectional=True))
    _fit_pipeline(pipe, TABLE[:30], _table_target()[:30])
    table = TABLE[30:].astype(dtype)
    model = _check(skl2onnx.to_onnx(pipe, table[:1]))
    assert_matches(_run(model, table)[0], pipe.predict(table), dtype)


@pytest.mark.parametrize("zipmap", [True, False, "columns"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_skl2onnx_classifier_honours_zipmap(skl2onnx, zipmap, dtype):
    clf = make_pipeline(SequenceStandardScaler(), DeepRNNClassifier(
        hidden_size=4, max_iter=2, random_state=0, dtype=dtype, cell="lstm"))
    _fit_pipeline(clf, X_MISSING, _targets("multiclass-str"))
    model = _check(skl2onnx.to_onnx(clf, X_MISSING[:1].astype(dtype),
                                    options={id(clf[-1]): {"zipmap": zipmap}}))
    X_in = (X if zipmap == "columns" else X_MISSING).astype(dtype)  # the fused path too
    outputs = _run(model, X_in)
    expected = clf.predict_proba(X_in)
    classes = clf.classes_.tolist()
    if zipmap is True:
        proba = np.array([[row[c] for c in classes] for row in outputs[1]])
        np.testing.assert_allclose(proba, expected, rtol=1e-5, atol=1e-6)
    elif zipmap == "columns":
        proba = np.stack(outputs[1:], axis=1)
        assert len(model.graph.output) == 1 + len(classes)  # one output per class
        assert_matches(proba, expected, dtype)
    else:
        proba = outputs[1]
        assert_matches(proba, expected, dtype)
    assert_labels_match(outputs[0], clf.predict(X_in), expected)


def test_skl2onnx_many_to_many_classifier_and_nocl(skl2onnx):
    seq = _fit(DeepRNNClassifier, dict(return_sequences=True, dtype="float64"),
               _targets("binary", True))
    with pytest.warns(UserWarning, match="zipmap is ignored"):
        model = skl2onnx.to_onnx(seq, X_MISSING[:1])
    labels, proba = _run(_check(model), X_MISSING)
    expected = seq.predict_proba(X_MISSING)
    assert_matches(proba, expected, "float64")
    assert_labels_match(labels, seq.predict(X_MISSING), expected)
    clf = _fit(DeepRNNClassifier, dict(dtype="float64"), _targets("multiclass-str"))
    model = skl2onnx.to_onnx(clf, X_MISSING[:1], options={"zipmap": False, "nocl": True})
    labels, proba = _run(_check(model), X_MISSING)
    assert labels.dtype == np.int64
    assert_labels_match(labels, np.searchsorted(clf.classes_, clf.predict(X_MISSING)),
                        clf.predict_proba(X_MISSING))


def test_skl2onnx_needs_opset_18(skl2onnx):
    reg = _fit(DeepRNNRegressor, {}, _targets("regression"))
    with pytest.raises(RuntimeError, match="needs ONNX opset 18 or later"):
        skl2onnx.to_onnx(reg, X[:1], target_opset=17)
