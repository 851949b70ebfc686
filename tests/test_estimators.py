"""Behaviour of DeepRNNRegressor and DeepRNNClassifier beyond the conformance suite."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

import skdeeprnn
from skdeeprnn import DeepRNNClassifier, DeepRNNRegressor

RNG = np.random.RandomState(0)
X_SEQ = RNG.normal(size=(120, 8, 2))
Y_SUM = X_SEQ[:, :, 0].sum(axis=1)  # needs every step
Y_FIRST = np.where(X_SEQ[:, 0, 1] > 0, "up", "down")  # needs memory of the first step
FAST = dict(hidden_size=8, max_iter=15, random_state=0)


class _warnings_ignored:
    """Silence ConvergenceWarning where few epochs are intended."""

    def __enter__(self):
        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore", ConvergenceWarning)

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)


@pytest.mark.parametrize("Estimator", [DeepRNNRegressor, DeepRNNClassifier])
@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_partial_fit_only_for_stochastic_solvers(Estimator, solver):
    assert hasattr(Estimator(solver=solver), "partial_fit") == (solver != "lbfgs")


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_regressor_learns_a_sum_over_the_sequence(cell):
    # the head reads the last state: carrying the sum to it is the cells' work
    reg = DeepRNNRegressor(num_layers=2, hidden_size=8, cell=cell, pooling="last",
                           solver="lbfgs", max_iter=150, random_state=0)
    with _warnings_ignored():
        reg.fit(X_SEQ[:100], Y_SUM[:100])
    assert reg.score(X_SEQ[:100], Y_SUM[:100]) > 0.95
    assert reg.score(X_SEQ[100:], Y_SUM[100:]) > 0.8


def test_regressor_target_scaling_and_multi_output():
    """Targets in large raw units train as well as scaled ones; (n, k) targets give (n, k)."""
    Y = np.column_stack([1000 + 500 * Y_SUM, -3 * X_SEQ[:, -1, 1]])
    reg = DeepRNNRegressor(hidden_size=8, solver="lbfgs", max_iter=200, random_state=0)
    reg.fit(X_SEQ, Y)
    pred = reg.predict(X_SEQ)
    assert pred.shape == (120, 2)
    assert reg.score(X_SEQ, Y) > 0.9
    # predictions come back in the original units
    assert abs(pred[:, 0].mean() - Y[:, 0].mean()) < 0.05 * Y[:, 0].std()
    # an (n, 1) target is a column vector of a single output
    with pytest.warns(Warning, match="column-vector y"):
        single = clone(reg).set_params(max_iter=5).fit(X_SEQ, Y[:, :1])
    assert single.predict(X_SEQ).shape == (120,)


def test_two_d_input_is_univariate():
    X2 = X_SEQ[:, :, 0]
    a = DeepRNNRegressor(**FAST).fit(X2, Y_SUM)
    b = DeepRNNRegressor(**FAST).fit(X2[:, :, None], Y_SUM)
    np.testing.assert_array_equal(a.predict(X2), b.predict(X2[:, :, None]))
    assert a.n_features_in_ == 8 and a.n_features_per_step_ == 1


def test_classifier_string_labels_binary():
    clf = DeepRNNClassifier(hidden_size=8, cell="gru", learning_rate_init=0.02, max_iter=60,
                            random_state=0)
    clf.fit(X_SEQ, Y_FIRST)
    assert list(clf.classes_) == ["down", "up"]
    proba = clf.predict_proba(X_SEQ)
    assert proba.shape == (120, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.predict(X_SEQ), clf.classes_[proba.argmax(axis=1)])
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X_SEQ)), proba)
    assert clf.score(X_SEQ, Y_FIRST) > 0.9


def test_classifier_multiclass_and_multilabel():
    y3 = np.digitize(X_SEQ[:, 0, 0], [-0.5, 0.5])  # 3 classes from the first step
    clf = DeepRNNClassifier(hidden_size=8, cell="gru", solver="lbfgs", max_iter=100,
                            random_state=0)
    with _warnings_ignored():
        clf.fit(X_SEQ, y3)
    assert clf.predict_proba(X_SEQ).shape == (120, 3)
    np.testing.assert_allclose(clf.predict_proba(X_SEQ).sum(1), 1.0)
    assert clf.score(X_SEQ, y3) > 0.9
    Y_ml = np.column_stack([X_SEQ[:, 0, 0] > 0, X_SEQ[:, -1, 1] > 0]).astype(int)
    ml = DeepRNNClassifier(hidden_size=8, solver="lbfgs", max_iter=100, random_state=0)
    ml.fit(X_SEQ, Y_ml)
    assert ml.predict(X_SEQ).shape == (120, 2)
    assert ml.predict_proba(X_SEQ).shape == (120, 2)
    assert ml.score(X_SEQ, Y_ml) > 0.8


def test_early_stopping_validates_on_the_last_part_without_shuffle():
    reg = DeepRNNRegressor(hidden_size=8, learning_rate_init=0.01, max_iter=30, shuffle=False,
                           early_stopping=True, validation_fraction=0.25, n_iter_no_change=5,
                           random_state=0)
    with _warnings_ignored():
        reg.fit(X_SEQ, Y_SUM)
    assert len(reg.validation_scores_) == reg.n_iter_
    assert reg.best_validation_score_ == max(reg.validation_scores_)
    # the best weights are restored, and their score on the last 25% is the best validation score
    assert reg.score(X_SEQ[90:], Y_SUM[90:]) == pytest.approx(reg.best_validation_score_,
                                                              rel=1e-12)


def test_early_stopping_stops_and_restores_best():
    # noise targets: the validation score cannot improve for long
    y = np.random.RandomState(1).normal(size=120)
    reg = DeepRNNRegressor(hidden_size=8, learning_rate_init=0.05, max_iter=200,
                           early_stopping=True, n_iter_no_change=3, random_state=0)
    reg.fit(X_SEQ, y)
    assert reg.n_iter_ < 200
    assert reg.best_validation_score_ >= reg.validation_scores_[-1]


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_same_random_state_same_model_bit_for_bit(solver, cell):
    params = dict(cell=cell, solver=solver, hidden_size=4, max_iter=5, random_state=3)
    if solver != "lbfgs":
        params["dropout"] = 0.2
        params["num_layers"] = 2
    with _warnings_ignored():
        a = DeepRNNRegressor(**params).fit(X_SEQ, Y_SUM)
        b = DeepRNNRegressor(**params).fit(X_SEQ, Y_SUM)
        c = DeepRNNRegressor(**{**params, "random_state": 4}).fit(X_SEQ, Y_SUM)
    np.testing.assert_array_equal(a._theta, b._theta)
    np.testing.assert_array_equal(a.predict(X_SEQ), b.predict(X_SEQ))
    assert not np.array_equal(a._theta, c._theta)


def test_fit_twice_is_idempotent_and_warm_start_continues():
    reg = DeepRNNRegressor(hidden_size=4, max_iter=5, random_state=0)
    with _warnings_ignored():
        first = reg.fit(X_SEQ, Y_SUM).predict(X_SEQ)
        np.testing.assert_array_equal(reg.fit(X_SEQ, Y_SUM).predict(X_SEQ), first)
        reg.set_params(warm_start=True)
        curve = list(reg.loss_curve_)
        reg.fit(X_SEQ, Y_SUM)
    assert reg.n_iter_ == 10
    assert reg.loss_curve_[:5] == curve
    assert reg.loss_curve_[5] < curve[0]


def test_warm_start_with_changed_architecture_is_an_error():
    reg = DeepRNNRegressor(hidden_size=4, max_iter=2, warm_start=True, random_state=0)
    with _warnings_ignored():
        reg.fit(X_SEQ, Y_SUM)
    reg.set_params(hidden_size=5)
    with pytest.raises(ValueError, match="same architecture|architecture the model was fitted"):
        reg.fit(X_SEQ, Y_SUM)


def test_partial_fit_counts_epochs_and_keeps_learning():
    reg = DeepRNNRegressor(hidden_size=8, learning_rate_init=0.01, random_state=0)
    for _ in range(20):
        reg.partial_fit(X_SEQ, Y_SUM)
    assert reg.n_iter_ == 20 and reg.t_ == 20 * 120
    assert reg.loss_curve_[-1] < reg.loss_curve_[0]
    clf = DeepRNNClassifier(hidden_size=4, random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X_SEQ, Y_FIRST)
    clf.partial_fit(X_SEQ[:10], Y_FIRST[:10], classes=["down", "up", "flat"])
    assert list(clf.classes_) == ["down", "flat", "up"]
    clf.partial_fit(X_SEQ[10:], Y_FIRST[10:])
    with pytest.raises(ValueError, match=r"labels \['sideways'\] not seen"):
        clf.partial_fit(X_SEQ[:2], np.array(["up", "sideways"]))


def test_float32_trains_in_float32():
    reg = DeepRNNRegressor(dtype="float32", **FAST)
    reg64 = DeepRNNRegressor(dtype="float64", **FAST)
    with _warnings_ignored():
        reg.fit(X_SEQ, Y_SUM)
        reg64.fit(X_SEQ, Y_SUM)
    assert reg._theta.dtype == np.float32
    assert all(w.dtype == np.float32 for w in reg.weights_.values())
    assert reg.predict(X_SEQ).dtype == np.float64  # as every scikit-learn regressor
    np.testing.assert_allclose(reg.predict(X_SEQ), reg64.predict(X_SEQ), rtol=1e-2, atol=1e-2)


def test_weights_use_pytorch_names_and_shapes():
    reg = DeepRNNRegressor(num_layers=2, hidden_size=(5, 3), cell="lstm", bidirectional=True,
                           max_iter=1, random_state=0)
    with _warnings_ignored():
        reg.fit(X_SEQ, Y_SUM)
    w = reg.weights_
    assert w["weight_ih_l0"].shape == (20, 2)
    assert w["weight_hh_l1_reverse"].shape == (12, 3)
    assert w["weight_ih_l1"].shape == (12, 10)
    assert w["head.weight"].shape == (1, 6)


def test_divergence_restores_finite_weights_and_warns():
    y = 1e3 * Y_SUM
    reg = DeepRNNRegressor(cell="rnn", solver="sgd", momentum=0.0, learning_rate_init=1e6,
                           hidden_size=8, nonlinearity="relu", clip_grad_norm=None, max_iter=50,
                           random_state=0)
    with pytest.warns(ConvergenceWarning, match="diverged"):
        reg.fit(X_SEQ, y)
    assert np.all(np.isfinite(reg._theta))
    assert np.all(np.isfinite(reg.predict(X_SEQ)))
    assert reg.n_iter_ < 50


def test_classifier_divergence_is_caught_at_the_batch_and_restores_the_lowest_loss_epoch():
    clf = DeepRNNClassifier(cell="rnn", solver="sgd", momentum=0.0, learning_rate_init=1e8,
                            hidden_size=8, nonlinearity="relu", clip_grad_norm=None,
                            batch_size=10, max_iter=50, random_state=0)
    with pytest.warns(ConvergenceWarning, match=r"diverged in epoch \d+.*lowest training loss"):
        clf.fit(X_SEQ, Y_FIRST)
    assert clf.n_iter_ < 50
    assert len(clf.loss_curve_) == clf.n_iter_ and np.all(np.isfinite(clf.loss_curve_))
    assert np.all(np.isfinite(clf._theta))
    proba = clf.predict_proba(X_SEQ)
    assert np.all(np.isfinite(proba)) and np.allclose(proba.sum(axis=1), 1.0)


def test_exploding_gradient_without_clipping_stops_at_once_and_keeps_the_weights():
    """A recurrent matrix of 20 I over 120 relu steps: finite states, an infinite loss."""
    rng = np.random.RandomState(1)
    X_long = np.abs(rng.normal(size=(20, 120, 1)))
    y = X_long[:, -1, 0]
    reg = DeepRNNRegressor(cell="rnn", hidden_size=2, nonlinearity="relu", solver="sgd",
                           pooling="last", clip_grad_norm=None, layer_norm=False, max_iter=1,
                           random_state=0, dtype="float64")  # 20**120 overflows float32
    with _warnings_ignored():
        reg.fit(X_long, y)
    reg.weights_["weight_hh_l0"][...] = 20.0 * np.eye(2)
    reg.weights_["weight_ih_l0"][...] = 1.0
    before = reg._theta.copy()
    with np.errstate(over="ignore"):
        assert np.all(np.isfinite(reg.predict(X_long)))
    with pytest.warns(ConvergenceWarning, match="diverged in epoch 2"):
        reg.partial_fit(X_long, y)
    assert reg.n_iter_ == 1
    np.testing.assert_array_equal(reg._theta, before)


def test_lbfgs_that_meets_a_non_finite_loss_keeps_finite_weights():
    """L-BFGS cannot be stopped at a batch; it must not return weights that are not finite."""
    reg = DeepRNNRegressor(cell="rnn", hidden_size=4, nonlinearity="relu", solver="lbfgs",
                           max_iter=30, init="orthogonal", random_state=0,
                           dtype="float64")  # 1e80 is no float32
    X_big = np.abs(X_SEQ) * 1e80
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with np.errstate(over="ignore", invalid="ignore"):
            reg.fit(X_big, Y_SUM)
    assert np.all(np.isfinite(reg._theta))


def test_clip_grad_norm_bounds_each_step():
    reg = DeepRNNRegressor(solver="sgd", momentum=0.0, learning_rate_init=1.0, batch_size=120,
                           clip_grad_norm=1e-3, hidden_size=4, random_state=0, dtype="float64")
    reg.partial_fit(X_SEQ, 100 * Y_SUM)
    before = reg._theta.copy()
    reg.partial_fit(X_SEQ, 100 * Y_SUM)
    assert np.linalg.norm(reg._theta - before) == pytest.approx(1e-3, rel=1e-6)


def test_alpha_shrinks_the_weights():
    kw = dict(hidden_size=8, solver="lbfgs", max_iter=50, random_state=0)
    with _warnings_ignored():
        small = DeepRNNRegressor(alpha=0.0, **kw).fit(X_SEQ, Y_SUM)
        large = DeepRNNRegressor(alpha=1.0, **kw).fit(X_SEQ, Y_SUM)
    n = small.network_.layout.n_weights
    assert np.linalg.norm(large._theta[:n]) < 0.5 * np.linalg.norm(small._theta[:n])


def test_sample_weight_zero_equals_removal():
    sw = np.ones(120)
    sw[::3] = 0
    kw = dict(hidden_size=4, solver="lbfgs", max_iter=30, random_state=0, dtype="float64")
    with _warnings_ignored():
        weighted = DeepRNNRegressor(**kw).fit(X_SEQ, Y_SUM, sample_weight=sw)
        removed = DeepRNNRegressor(**kw).fit(X_SEQ[sw > 0], Y_SUM[sw > 0])
    np.testing.assert_allclose(weighted.predict(X_SEQ), removed.predict(X_SEQ), rtol=1e-7)


@pytest.mark.parametrize("Estimator", [DeepRNNClassifier, DeepRNNRegressor])
def test_float32_integer_weights_equal_repetition_to_float32_precision(Estimator):
    """tests/test_common.py checks this to 1e-7 in float64; float32 rounds at about 1e-7."""
    w = np.random.RandomState(3).randint(0, 3, size=120)
    y = Y_FIRST if Estimator is DeepRNNClassifier else Y_SUM
    kw = dict(hidden_size=4, max_iter=20, batch_size=1000, random_state=0, dtype="float32")
    with _warnings_ignored():
        weighted = Estimator(**kw).fit(X_SEQ, y, sample_weight=w)
        repeated = Estimator(**kw).fit(np.repeat(X_SEQ, w, axis=0), np.repeat(y, w))
    assert weighted._theta.dtype == np.float32
    out = "predict_proba" if Estimator is DeepRNNClassifier else "predict"
    np.testing.assert_allclose(getattr(weighted, out)(X_SEQ), getattr(repeated, out)(X_SEQ),
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("Estimator", [DeepRNNClassifier, DeepRNNRegressor])
def test_auto_dtype_is_float64_on_small_data_and_float32_above(Estimator):
    from skdeeprnn._estimators._dtypes import AUTO_FLOAT64_STEPS

    y = Y_FIRST if Estimator is DeepRNNClassifier else Y_SUM
    T = X_SEQ.shape[1]
    n_small = AUTO_FLOAT64_STEPS // T  # the largest data set still trained in float64
    with _warnings_ignored():
        small = Estimator(hidden_size=3, max_iter=1, random_state=0).fit(X_SEQ[:n_small],
                                                                         y[:n_small])
        large = Estimator(hidden_size=3, max_iter=1, random_state=0).fit(
            np.tile(X_SEQ, (2, 1, 1))[: n_small + 1], np.tile(y, 2)[: n_small + 1])
        pinned = Estimator(hidden_size=3, max_iter=1, dtype="float32").fit(X_SEQ[:10], y[:10])
    assert (small.dtype_, large.dtype_, pinned.dtype_) == (np.float64, np.float32, np.float32)
    assert small.get_params()["dtype"] == "auto"
    # the chosen dtype stays: later fits with warm_start and partial_fit keep the weights'
    small.set_params(warm_start=True, max_iter=1)
    with _warnings_ignored():
        small.fit(np.tile(X_SEQ, (3, 1, 1)), np.tile(y, 3))
    assert small.dtype_ == np.float64
    assert small.predict(X_SEQ).dtype == (np.float64 if Estimator is DeepRNNRegressor
                                          else y.dtype)


def test_dropout_needs_a_stochastic_solver():
    with pytest.raises(ValueError, match="dropout > 0 .* stochastic solver"):
        DeepRNNRegressor(dropout=0.5, solver="lbfgs", num_layers=2).fit(X_SEQ, Y_SUM)


def test_return_sequences_shapes():
    y_steps = np.cumsum(X_SEQ[:, :, 0], axis=1)  # running sum: a target at every step
    reg = DeepRNNRegressor(hidden_size=8, return_sequences=True, solver="lbfgs", max_iter=100,
                           random_state=0)
    with _warnings_ignored():
        reg.fit(X_SEQ, y_steps)
    assert reg.predict(X_SEQ).shape == (120, 8)
    assert reg.score(X_SEQ, y_steps) > 0.9
    labels = np.where(y_steps > 0, "pos", "neg")
    clf = DeepRNNClassifier(hidden_size=8, return_sequences=True, solver="lbfgs", max_iter=100,
                            random_state=0)
    with _warnings_ignored():
        clf.fit(X_SEQ, labels)
    assert clf.predict(X_SEQ).shape == (120, 8)
    assert clf.predict_proba(X_SEQ).shape == (120, 8, 2)
    assert clf.score(X_SEQ, labels) > 0.8
    with pytest.raises(ValueError, match="target for every time step"):
        reg.fit(X_SEQ, Y_SUM)


def test_pickle_stores_the_package_version_and_warns_on_another():
    reg = DeepRNNRegressor(hidden_size=2, max_iter=1, random_state=0)
    with _warnings_ignored():
        reg.fit(X_SEQ, Y_SUM)
    state = reg.__getstate__()
    assert state["_skdeeprnn_version"] == skdeeprnn.__version__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pickle.loads(pickle.dumps(reg))  # same version: silent
    twin = DeepRNNRegressor()
    with pytest.warns(UserWarning, match=r"saved with skdeeprnn 0\.0\.1 under skdeeprnn"):
        twin.__setstate__(dict(state, _skdeeprnn_version="0.0.1"))
    np.testing.assert_array_equal(twin.predict(X_SEQ), reg.predict(X_SEQ))


def test_pickle_round_trip_identical_and_continues():
    reg = DeepRNNRegressor(**FAST)
    with _warnings_ignored():
        reg.fit(X_SEQ, Y_SUM)
    copy = pickle.loads(pickle.dumps(reg))
    np.testing.assert_array_equal(copy.predict(X_SEQ), reg.predict(X_SEQ))
    # the restored model trains on exactly as the original does
    reg.partial_fit(X_SEQ, Y_SUM)
    copy.partial_fit(X_SEQ, Y_SUM)
    np.testing.assert_array_equal(copy._theta, reg._theta)
