"""save_npz / load_npz: a portable .npz round trip that never unpickles."""

import io
import json
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import ConvergenceWarning, NotFittedError

import skdeeprnn
from skdeeprnn import DeepRNNClassifier, DeepRNNRegressor
from skdeeprnn._persistence import load_npz, save_npz

RNG = np.random.RandomState(0)
X = RNG.normal(size=(16, 4, 2))
Y = X[:, :, 0].sum(axis=1)
FAST = dict(hidden_size=3, max_iter=2, batch_size=5, random_state=0)


@pytest.fixture(autouse=True)
def _quiet_convergence():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _snapshot(obj):
    """Bit-exact plain structure of an object graph, for ==."""
    if isinstance(obj, np.ndarray):
        if obj.dtype == object:
            return ("object array", obj.shape, tuple(_snapshot(v) for v in obj.ravel().tolist()))
        return ("array", obj.dtype.str, obj.shape, obj.tobytes())
    if isinstance(obj, np.generic):
        return ("scalar", obj.dtype.str, obj.tobytes())
    if isinstance(obj, float):
        return ("float", obj.hex())
    if isinstance(obj, np.random.RandomState):
        return ("rng", _snapshot(obj.get_state()))
    if isinstance(obj, dict):
        return {key: _snapshot(value) for key, value in obj.items() if key != "_tmp"}
    if isinstance(obj, (list, tuple)):
        return (type(obj).__name__, tuple(_snapshot(v) for v in obj))
    if hasattr(obj, "__dict__") and not isinstance(obj, type):
        return (type(obj).__name__, _snapshot(vars(obj)))
    return obj


def _fitted_state(est):
    """Everything of a fitted estimator but plain-number types that JSON cannot keep apart."""
    state = dict(vars(est))
    # list entries are np.float64 in the original and float after loading: same values
    for key in ("loss_curve_", "validation_scores_"):
        if state.get(key) is not None:
            state[key] = [float(v) for v in state[key]]
    for key in ("best_loss_", "loss_", "best_validation_score_"):
        if state.get(key) is not None:
            state[key] = float(state[key])
    return _snapshot(state)


def _round_trip(est):
    buffer = io.BytesIO()
    save_npz(est, buffer)
    buffer.seek(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # same version: silent
        return load_npz(buffer)


def _arrays(est):
    buffer = io.BytesIO()
    save_npz(est, buffer)
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def _file(arrays):
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # allow_pickle=True: object arrays get pickled
    buffer.seek(0)
    return buffer


REGRESSORS = {
    "rnn-1-output": (dict(cell="rnn"), Y),
    "lstm-2-outputs-bidirectional": (dict(cell="lstm", bidirectional=True), np.c_[Y, -Y]),
    "gru-return-sequences": (dict(cell="gru", return_sequences=True), X[:, :, 1].cumsum(axis=1)),
    "rnn-return-sequences-2-outputs": (dict(cell="rnn", return_sequences=True, nonlinearity="relu"),
                                       np.stack([X[:, :, 0], X[:, :, 1]], axis=2)),
    "residual-layer-norm-unequal": (dict(num_layers=2, hidden_size=(3, 2), residual=True,
                                         layer_norm=True, cell="gru"), Y),
    "float32-lstm-forget-bias": (dict(dtype="float32", cell="lstm", forget_bias=1.0), Y),
    "no-bias-orthogonal": (dict(bias=False, init="orthogonal"), Y),
    "sgd-dropout": (dict(solver="sgd", num_layers=2, dropout=0.3), Y),
    "lbfgs": (dict(solver="lbfgs"), Y),
    "early-stopping": (dict(early_stopping=True, validation_fraction=0.25), Y),
    "quantile-loss": (dict(loss="quantile", quantile=0.8), Y),
    "huber-return-sequences": (dict(loss="huber", return_sequences=True),
                               X[:, :, 1].cumsum(axis=1)),
    # the default 'auto' term reads all 4 steps; these set it
    "autoregressive-2-float32-2-outputs": (dict(autoregressive=2, dtype="float32"),
                                           np.c_[Y, -Y]),
    "autoregressive-4-stacked-bidirectional": (dict(autoregressive=4, num_layers=2,
                                                    bidirectional=True, residual=True), Y),
    "autoregressive-0": (dict(autoregressive=0), Y),
    # the linear fallback's test on 16 sequences: its z-score and decision are kept
    "linear-fallback-tested": (dict(autoregressive=4, linear_fallback=True), Y),
}


@pytest.mark.parametrize("name", list(REGRESSORS))
def test_regressor_round_trip_predicts_identically(name):
    params, y = REGRESSORS[name]
    reg = DeepRNNRegressor(**{**FAST, **params}).fit(X, y)
    twin = _round_trip(reg)
    assert type(twin) is DeepRNNRegressor
    assert twin.get_params() == reg.get_params()
    prediction = reg.predict(X)
    assert twin.predict(X).dtype == prediction.dtype
    np.testing.assert_array_equal(twin.predict(X), prediction)
    assert _fitted_state(twin) == _fitted_state(reg)


CLASSIFIERS = {
    "string-binary": (dict(cell="rnn"), np.where(X[:, 0, 0] > 0, "up", "down")),
    "int-multiclass-lstm": (dict(cell="lstm"), np.arange(16) % 3),
    "int-binary-gru-bidirectional": (dict(cell="gru", bidirectional=True),
                                     np.where(X[:, 0, 1] > 0, 7, -2)),
    "float-labels": (dict(), np.where(X[:, 0, 0] > 0, 1.0, -3.0)),
    "bool-labels": (dict(cell="lstm"), X[:, 0, 0] > 0),
    "object-string-labels": (dict(), pd.Series(np.where(X[:, 1, 0] > 0, "a", "bb"),
                                               dtype=object)),
    "string-multiclass-residual-layer-norm": (
        dict(num_layers=2, residual=True, layer_norm=True),
        np.array(["red", "green", "blue", "green"] * 4)),
    "multilabel": (dict(cell="gru"), (X[:, :3, 0] > 0).astype(int)),
    "return-sequences": (dict(return_sequences=True), np.where(X[:, :, 0] > 0, "hi", "lo")),
    "float32-sgd": (dict(dtype="float32", solver="sgd"), np.arange(16) % 2),
}


@pytest.mark.parametrize("name", list(CLASSIFIERS))
def test_classifier_round_trip_predicts_identically(name):
    params, y = CLASSIFIERS[name]
    clf = DeepRNNClassifier(**{**FAST, **params}).fit(X, y)
    twin = _round_trip(clf)
    assert type(twin) is DeepRNNClassifier
    assert twin.classes_.dtype == clf.classes_.dtype
    np.testing.assert_array_equal(twin.classes_, clf.classes_)
    prediction = clf.predict(X)
    assert twin.predict(X).dtype == prediction.dtype
    np.testing.assert_array_equal(twin.predict(X), prediction)
    np.testing.assert_array_equal(twin.predict_proba(X), clf.predict_proba(X))
    assert _fitted_state(twin) == _fitted_state(clf)


def test_object_labels_of_ints_come_back_as_object_labels():
    clf = DeepRNNClassifier(**FAST).fit(X, np.arange(16) % 2)
    clf.classes_ = clf._label_binarizer.classes_ = np.array([0, 1], dtype=object)
    twin = _round_trip(clf)
    assert twin.classes_.dtype == object
    assert twin.classes_.tolist() == [0, 1]


def test_labels_of_mixed_types_cannot_be_saved():
    clf = DeepRNNClassifier(**FAST).fit(X, np.arange(16) % 2)
    clf.classes_ = clf._label_binarizer.classes_ = np.array([0, "b"], dtype=object)
    with pytest.raises(TypeError, match="mix types .* without pickling"):
        save_npz(clf, io.BytesIO())


def test_feature_names_and_tuple_hidden_size_survive():
    frame = pd.DataFrame(X[:, :, 0], columns=[f"t{i}" for i in range(4)])
    reg = DeepRNNRegressor(**{**FAST, "num_layers": 2, "hidden_size": (3, 2)}).fit(frame, Y)
    twin = _round_trip(reg)
    assert twin.hidden_size == (3, 2)
    assert twin.feature_names_in_.dtype == object
    np.testing.assert_array_equal(twin.feature_names_in_, reg.feature_names_in_)
    np.testing.assert_array_equal(twin.predict(frame), reg.predict(frame))
    with pytest.raises(ValueError, match="feature names should match"):
        twin.predict(frame.rename(columns={"t0": "x"}))


def test_random_state_instance_is_saved_as_none():
    reg = DeepRNNRegressor(**{**FAST, "random_state": np.random.RandomState(3)}).fit(X, Y)
    twin = _round_trip(reg)
    assert twin.random_state is None
    np.testing.assert_array_equal(twin.predict(X), reg.predict(X))


@pytest.mark.parametrize("Estimator, y, params", [
    (DeepRNNRegressor, Y, dict(solver="adam", num_layers=2, dropout=0.25)),
    (DeepRNNRegressor, Y, dict(solver="sgd", cell="lstm")),
    (DeepRNNClassifier, np.arange(16) % 3, dict(solver="adam", cell="gru")),
])
def test_loaded_model_continues_training_exactly_as_the_original(Estimator, y, params):
    est = Estimator(**{**FAST, **params}).fit(X, y)
    twin = _round_trip(est)
    for _ in range(2):
        est.partial_fit(X, y)
        twin.partial_fit(X, y)
    np.testing.assert_array_equal(twin._theta, est._theta)
    assert twin.n_iter_ == est.n_iter_ == 4
    assert twin.loss_curve_ == est.loss_curve_


def test_loaded_lbfgs_model_warm_starts():
    reg = DeepRNNRegressor(**{**FAST, "solver": "lbfgs", "warm_start": True}).fit(X, Y)
    twin = _round_trip(reg)
    assert twin._optimizer is None
    np.testing.assert_array_equal(twin.fit(X, Y)._theta, reg.fit(X, Y)._theta)


def test_file_keys_and_path_written_exactly(tmp_path):
    reg = DeepRNNRegressor(**{**FAST, "cell": "lstm"}).fit(X, Y)
    path = tmp_path / "model.bin"
    save_npz(reg, path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.bin"]  # no ".npz" appended
    with np.load(path, allow_pickle=False) as data:
        keys = set(data.files)
        assert str(data["estimator"]) == "DeepRNNRegressor"
        assert json.loads(str(data["params"]))["cell"] == "lstm"
        for name, value in reg.weights_.items():
            np.testing.assert_array_equal(data[f"weights/{name}"], value)
    assert {"format", "skdeeprnn_version", "params", "n_features_in_", "n_features_per_step_",
            "loss_curve_", "n_iter_", "t_", "best_loss_", "y_mean", "y_scale", "y_ndim",
            "optimizer/m", "optimizer/v", "optimizer/t", "rng/keys"} <= keys
    np.testing.assert_array_equal(load_npz(str(path)).predict(X), reg.predict(X))


def test_load_uses_allow_pickle_false(monkeypatch):
    reg = DeepRNNRegressor(**FAST).fit(X, Y)
    buffer = io.BytesIO()
    save_npz(reg, buffer)
    buffer.seek(0)
    calls = []
    real_load = np.load

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(np, "load", spy)
    load_npz(buffer)
    assert calls == [{"allow_pickle": False}]


def _tampered(change):
    clf = DeepRNNClassifier(**{**FAST, "cell": "gru"}).fit(X, np.arange(16) % 3)
    arrays = _arrays(clf)
    change(arrays)
    return _file(arrays)


def _set(key, value):
    def change(arrays):
        arrays[key] = value
    return change


def _drop(key):
    def change(arrays):
        del arrays[key]
    return change


def _head(n_outputs):
    def change(arrays):
        arrays["weights/head.weight"] = arrays["weights/head.weight"][:n_outputs]
        arrays["weights/head.bias"] = arrays["weights/head.bias"][:n_outputs]
    return change


def _params(**updates):
    def change(arrays):
        params = json.loads(str(arrays["params"]))
        params.update(updates)
        arrays["params"] = np.asarray(json.dumps(params))
    return change


TAMPERED = {
    "weight-wrong-shape": (_set("weights/weight_hh_l0", np.zeros((9, 4))),
                           r"'weights/weight_hh_l0' has shape \(9, 4\); expected \(9, 3\)"),
    "head-wrong-shape": (_set("weights/head.weight", np.zeros((3, 4))),
                         r"'weights/head.weight' has shape \(3, 4\); expected \(3, 3\)"),
    "head-for-other-classes": (_head(2), r"3 classes \(multiclass\) do not match the head's 2"),
    "unknown-class-name": (_set("estimator", np.asarray("os.system")),
                           r"'estimator' is 'os.system'; expected one of"),
    "pickled-object-array": (_set("classes_", np.array([0, 1, 2], dtype=object)),
                             r"'classes_' holds pickled Python objects"),
    "pickled-params": (_set("params", np.array([{"cell": "gru"}], dtype=object)),
                       r"'params' holds pickled Python objects"),
    "unknown-parameter": (_params(evil=1), r"unknown parameter\(s\) \['evil'\]"),
    "invalid-parameter": (_params(cell="transformer"), r"invalid parameters: .*'cell'"),
    "params-not-json": (_set("params", np.asarray("{cell: gru")), "not valid JSON"),
    "missing-weight": (_drop("weights/bias_hh_l0"), r"missing \['bias_hh_l0'\]"),
    "extra-weight": (_set("weights/extra", np.zeros(2)), r"unexpected \['extra'\]"),
    "extra-array": (_set("payload", np.zeros(2)), r"unexpected array\(s\) \['payload'\]"),
    "missing-classes": (_drop("classes_"), "'classes_' is missing"),
    "nan-weight": (_set("weights/head.bias", np.array([0.0, np.nan, 0.0])), "NaN or infinity"),
    "string-weights": (_set("weights/head.bias", np.array(["a", "b", "c"])), "has dtype <U1"),
    "wrong-format": (_set("format", np.asarray(2)), "file format 2 is not supported"),
    "optimizer-of-another-solver": (_drop("optimizer/m"), "not that of solver='adam'"),
    "bad-label-dtype": (_set("classes_dtype", np.asarray("<M8[s]")), "not a label dtype"),
    "bad-y-type": (_set("label_binarizer/y_type_", np.asarray("continuous")),
                   "'label_binarizer/y_type_' is 'continuous'"),
    "duplicate-classes": (_set("classes_", np.array([0, 1, 1])), "duplicate labels"),
    "negative-count": (_set("n_iter_", np.asarray(-1)), "'n_iter_' is -1"),
    "rng-wrong-size": (_set("rng/keys", np.zeros(3, dtype=np.uint32)), r"'rng/keys' has shape"),
}


def test_the_autoregressive_term_is_saved_and_loaded():
    X_missing = X[:, :, :1].copy()  # one feature: 'auto' gives the term all 4 steps
    X_missing[0, -2] = X_missing[1, 0] = np.nan
    reg = DeepRNNRegressor(**FAST).fit(X_missing, Y)
    arrays = _arrays(reg)
    assert int(arrays["fitted_with_missing_ends"]) == 0
    assert arrays["weights/autoregressive.weight"].shape == (1, 4)
    np.testing.assert_array_equal(arrays["weights/autoregressive.weight"],
                                  reg.weights_["autoregressive.weight"])
    assert json.loads(str(arrays["params"]))["autoregressive"] == "auto"
    twin = _round_trip(reg)
    assert twin.autoregressive == "auto" and twin.network_.arch == reg.network_.arch
    np.testing.assert_array_equal(twin.predict(X_missing), reg.predict(X_missing))
    # a sequence that ends early: 'auto' has no term, and the file says why
    X_missing[0, -1] = np.nan
    short = DeepRNNRegressor(**FAST).fit(X_missing, Y)
    assert int(_arrays(short)["fitted_with_missing_ends"]) == 1
    twin = _round_trip(short)
    assert twin.network_.arch.autoregressive == 0 and twin._fitted_with_missing_ends
    np.testing.assert_array_equal(twin.predict(X_missing), short.predict(X_missing))


def test_a_file_from_before_the_autoregressive_term_loads_without_it():
    """Its params have no 'autoregressive', nor its weights the term: not today's default."""
    X1 = X[:, :, :1]  # one feature, where 'auto' has the term
    reg = DeepRNNRegressor(**FAST, autoregressive=0).fit(X1, Y)
    arrays = _arrays(reg)
    params = json.loads(str(arrays["params"]))
    del params["autoregressive"]
    del arrays["fitted_with_missing_ends"]  # nor this, which came with the term
    arrays["params"] = np.asarray(json.dumps(params, sort_keys=True))
    arrays["skdeeprnn_version"] = np.asarray("0.2.0")
    with pytest.warns(UserWarning, match="saved with skdeeprnn 0.2.0"):
        twin = load_npz(_file(arrays))
    assert twin.autoregressive == 0 and twin.network_.arch.autoregressive == 0
    np.testing.assert_array_equal(twin.predict(X1), reg.predict(X1))
    np.testing.assert_array_equal(twin._theta, reg._theta)
    # with the default written out and the flag saying the sequences were whole, the same
    # weights are one short
    params["autoregressive"] = "auto"
    arrays["params"] = np.asarray(json.dumps(params, sort_keys=True))
    arrays["fitted_with_missing_ends"] = np.asarray(0, dtype=np.int64)
    with pytest.raises(ValueError, match=r"missing \['autoregressive.weight'\]"):
        load_npz(_file(arrays))


def test_a_term_longer_than_the_sequences_is_rejected():
    arrays = _arrays(DeepRNNRegressor(**FAST, autoregressive=3).fit(X, Y))
    arrays["params"] = np.asarray(json.dumps(dict(json.loads(str(arrays["params"])),
                                                  autoregressive=5)))
    with pytest.raises(ValueError, match="invalid parameters: autoregressive=5 is more steps"):
        load_npz(_file(arrays))


@pytest.mark.parametrize("name", list(TAMPERED))
def test_tampered_file_is_rejected(name):
    change, message = TAMPERED[name]
    with pytest.raises(ValueError, match=message):
        load_npz(_tampered(change))


def test_not_an_npz_is_rejected():
    import pickle

    with pytest.raises(ValueError, match="not a .npz file written by save_npz.*never unpickles"):
        load_npz(io.BytesIO(pickle.dumps({"weights": [1.0]})))
    single = io.BytesIO()
    np.save(single, np.zeros(3))
    single.seek(0)
    with pytest.raises(ValueError, match="single array, not a .npz archive"):
        load_npz(single)


def test_regressor_target_scaling_is_checked():
    reg = DeepRNNRegressor(**FAST).fit(X, np.c_[Y, -Y])
    arrays = _arrays(reg)
    arrays["y_mean"] = np.zeros(3)
    with pytest.raises(ValueError, match=r"'y_mean' has shape \(3,\); expected \(2,\)"):
        load_npz(_file(arrays))
    arrays = _arrays(reg)
    arrays["y_ndim"] = np.asarray(1)
    with pytest.raises(ValueError, match="'y_ndim' is 1, which does not fit 2 output"):
        load_npz(_file(arrays))


def test_another_package_version_warns_with_both_versions():
    reg = DeepRNNRegressor(**FAST).fit(X, Y)
    arrays = _arrays(reg)
    arrays["skdeeprnn_version"] = np.asarray("0.0.1")
    with pytest.warns(UserWarning, match=rf"saved with skdeeprnn 0\.0\.1 under skdeeprnn "
                                         rf"{skdeeprnn.__version__}"):
        twin = load_npz(_file(arrays))
    np.testing.assert_array_equal(twin.predict(X), reg.predict(X))


def test_save_needs_a_fitted_estimator_of_this_package():
    with pytest.raises(NotFittedError):
        save_npz(DeepRNNRegressor(), io.BytesIO())
    from sklearn.neural_network import MLPRegressor

    with pytest.raises(TypeError, match="DeepRNNRegressor or DeepRNNClassifier, got MLPRegressor"):
        save_npz(MLPRegressor(), io.BytesIO())


# ------------------------------------------------------- pickle and joblib, every config
def _pickle_round_trip(est, how, tmp_path):
    import pickle

    import joblib

    if how == "pickle":
        return pickle.loads(pickle.dumps(est))
    path = tmp_path / "model.joblib"
    joblib.dump(est, path)
    return joblib.load(path)


@pytest.mark.parametrize("how", ["pickle", "joblib"])
@pytest.mark.parametrize("Estimator, name, params, y", [
    *[(DeepRNNRegressor, name, params, y) for name, (params, y) in REGRESSORS.items()],
    *[(DeepRNNClassifier, name, params, y) for name, (params, y) in CLASSIFIERS.items()],
], ids=lambda v: v if isinstance(v, str) else None)
def test_pickle_and_joblib_round_trips_are_exact_for_every_configuration(
        Estimator, name, params, y, how, tmp_path):
    est = Estimator(**{**FAST, **params}).fit(X, y)
    twin = _pickle_round_trip(est, how, tmp_path)
    assert _snapshot(vars(twin)) == _snapshot(vars(est))
    np.testing.assert_array_equal(twin.predict(X), est.predict(X))
    if hasattr(est, "predict_proba"):
        np.testing.assert_array_equal(twin.predict_proba(X), est.predict_proba(X))
    if hasattr(est, "partial_fit"):  # and it trains on exactly as the original does
        kwargs = {"classes": est.classes_} if Estimator is DeepRNNClassifier else {}
        est.partial_fit(X, y, **kwargs)
        twin.partial_fit(X, y, **kwargs)
        np.testing.assert_array_equal(twin._theta, est._theta)


def test_a_model_that_kept_the_term_alone_round_trips(monkeypatch):
    monkeypatch.setattr("skdeeprnn._estimators._regressor.network_gain_z",
                        lambda estimator, data: 3.0)
    reg = DeepRNNRegressor(**{**FAST, "autoregressive": 4, "linear_fallback": True}).fit(X, Y)
    assert reg.linear_fallback_ is True and reg.linear_fallback_z_ == 3.0
    arrays = _arrays(reg)
    assert int(arrays["linear_fallback_"]) == 1 and float(arrays["linear_fallback_z_"]) == 3.0
    twin = _round_trip(reg)
    assert twin.linear_fallback_ is True and twin.linear_fallback_z_ == 3.0
    np.testing.assert_array_equal(twin.predict(X), reg.predict(X))
    assert _fitted_state(twin) == _fitted_state(reg)
    # a file from before the fallback: no such arrays, the attributes' defaults
    older = {k: v for k, v in arrays.items() if not k.startswith("linear_fallback")}
    loaded = load_npz(_file(older))
    assert loaded.linear_fallback_ is False and loaded.linear_fallback_z_ is None
