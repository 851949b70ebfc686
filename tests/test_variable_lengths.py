"""Unequal lengths and missing steps through the estimators.

A step whose features are all NaN is missing. NaN-padded arrays and lists of
sequences of unequal lengths are the same input; the training loop groups and
trims minibatches by length; many-to-many output is NaN at missing steps and
the loss and score ignore them; ``sample_weight`` may give one weight per step.
"""

import pickle
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import ConvergenceWarning

from skdeeprnn import DeepRNNClassifier, DeepRNNRegressor, SequenceStandardScaler
from skdeeprnn._sequences import batches, split_step_weights

SMALL = dict(hidden_size=4, max_iter=3, batch_size=4, random_state=0, dtype="float64")
RNG = np.random.RandomState(0)
N, T, D = 12, 7, 2
LENGTHS = RNG.randint(2, T + 1, size=N)
LENGTHS[0] = T
SEQUENCES = [RNG.normal(size=(L, D)) for L in LENGTHS]
Y = np.array([s[:, 0].sum() for s in SEQUENCES])
LABELS = np.where(Y > 0, "up", "down")


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _padded(sequences, T=T, front=False):
    out = np.full((len(sequences), T, sequences[0].shape[1]), np.nan)
    for i, s in enumerate(sequences):
        if front:
            out[i, T - len(s) :] = s
        else:
            out[i, : len(s)] = s
    return out


X_NAN = _padded(SEQUENCES)


@pytest.mark.parametrize("Estimator, y", [(DeepRNNRegressor, Y), (DeepRNNClassifier, LABELS)])
def test_list_and_nan_padded_array_give_identical_models(Estimator, y):
    a = Estimator(**SMALL).fit(SEQUENCES, y)
    b = Estimator(**SMALL).fit(X_NAN, y)
    assert np.array_equal(a._theta, b._theta)
    method = "predict" if Estimator is DeepRNNRegressor else "predict_proba"
    assert np.array_equal(getattr(a, method)(SEQUENCES), getattr(b, method)(X_NAN))
    assert a.score(SEQUENCES, y) == b.score(X_NAN, y)


def test_list_items_may_be_pandas_or_univariate():
    frames = [pd.DataFrame(s, columns=["u", "v"]) for s in SEQUENCES]
    a = DeepRNNRegressor(**SMALL).fit(frames, Y)
    b = DeepRNNRegressor(**SMALL).fit(SEQUENCES, Y)
    assert np.array_equal(a.predict(frames), b.predict(SEQUENCES))
    univariate = [s[:, 0] for s in SEQUENCES]
    series = [pd.Series(s) for s in univariate]
    c = DeepRNNRegressor(**SMALL).fit(univariate, Y)
    assert c.n_features_per_step_ == 1
    assert np.array_equal(c.predict(series), c.predict(X_NAN[:, :, 0]))


def test_predicting_a_list_of_shorter_sequences_pads_to_the_fitted_length():
    reg = DeepRNNRegressor(**SMALL).fit(SEQUENCES, Y)
    short = [s[:3] for s in SEQUENCES]
    assert np.array_equal(reg.predict(short), reg.predict(_padded(short)))
    with pytest.raises(ValueError, match="expecting 7 features .* X has 9"):
        reg.predict([np.ones((9, D))])


def test_missing_steps_anywhere_give_the_model_of_the_compacted_sequences():
    """Front padding, back padding and holes: the same sequences, the same predictions."""
    reg = DeepRNNRegressor(**SMALL).fit(X_NAN, Y)
    front = _padded(SEQUENCES, front=True)
    holes = np.full((N, 2 * T, D), np.nan)
    holes[:, ::2] = X_NAN  # a missing step after every step
    reg_holes = DeepRNNRegressor(**SMALL).fit(np.concatenate([X_NAN, X_NAN], axis=1), Y)
    np.testing.assert_allclose(reg.predict(front), reg.predict(X_NAN), rtol=1e-12)
    at_the_start = np.concatenate([X_NAN, np.full((N, T, D), np.nan)], axis=1)
    np.testing.assert_allclose(reg_holes.predict(holes), reg_holes.predict(at_the_start),
                               rtol=1e-12)


def test_model_training_on_front_and_back_padding_agree():
    # the network's; the autoregressive term reads positions, so 'auto' leaves it out of
    # back-padded sequences only (tests/test_autoregressive.py)
    a = DeepRNNRegressor(**SMALL, autoregressive=0).fit(X_NAN, Y)
    b = DeepRNNRegressor(**SMALL, autoregressive=0).fit(_padded(SEQUENCES, front=True), Y)
    np.testing.assert_allclose(a._theta, b._theta, rtol=1e-10, atol=1e-12)
    assert DeepRNNRegressor(**SMALL).fit(X_NAN, Y).network_.arch.autoregressive == 0


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_nan_padding_is_skipped_where_zero_padding_is_read_as_data(solver, cell):
    params = dict(SMALL, solver=solver, cell=cell, max_iter=5)
    reg = DeepRNNRegressor(**params).fit(X_NAN, Y)
    # each sequence alone, without any padding, is predicted as in the padded batch
    alone = np.concatenate([reg.predict([s]) for s in SEQUENCES])
    np.testing.assert_allclose(reg.predict(X_NAN), alone, rtol=1e-10, atol=1e-12)
    zero_padded = np.nan_to_num(X_NAN)
    assert not np.allclose(reg.predict(zero_padded), reg.predict(X_NAN))
    assert not np.array_equal(DeepRNNRegressor(**params).fit(zero_padded, Y)._theta, reg._theta)


def test_same_random_state_same_model_bit_for_bit_with_grouping():
    a = DeepRNNClassifier(**SMALL).fit(SEQUENCES, LABELS)
    b = DeepRNNClassifier(**SMALL).fit(SEQUENCES, LABELS)
    assert np.array_equal(a._theta, b._theta)
    c = DeepRNNClassifier(**dict(SMALL, random_state=1)).fit(SEQUENCES, LABELS)
    assert not np.array_equal(a._theta, c._theta)


def test_batches_group_similar_lengths_and_cover_every_sequence():
    lengths = np.random.RandomState(1).randint(10, 100, size=1000)
    rng = np.random.RandomState(0)
    runs = batches(1000, 32, rng, True, lengths, pool_batches=50)
    assert sorted(np.concatenate(runs).tolist()) == list(range(1000))
    spread = np.mean([np.ptp(lengths[r]) for r in runs])
    random = np.mean([np.ptp(lengths[r]) for r in batches(1000, 32, rng, True, None)])
    assert spread < random / 5
    # reproducible, and the batch order itself is shuffled
    again = batches(1000, 32, np.random.RandomState(0), True, lengths, pool_batches=50)
    assert all(np.array_equal(a, b) for a, b in zip(runs, again, strict=True))
    maxima = [lengths[r].max() for r in runs]
    assert maxima != sorted(maxima)
    # without shuffling: consecutive runs in the given order
    plain = batches(10, 4, rng, False, lengths[:10])
    assert [r.tolist() for r in plain] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_training_trims_each_minibatch_to_its_observed_steps(monkeypatch):
    """The core never sees a step that no sequence of the minibatch observes."""
    from skdeeprnn.core import StackedRNN

    seen = []
    original = StackedRNN.loss_and_grad

    def spy(self, flat, X, Y, *args, observed=None, **kwargs):
        seen.append((X.shape[0], None if observed is None else observed.any(axis=1).all()))
        return original(self, flat, X, Y, *args, observed=observed, **kwargs)

    monkeypatch.setattr(StackedRNN, "loss_and_grad", spy)
    X = _padded(SEQUENCES, T=20)  # 13 steps that no sequence observes
    DeepRNNRegressor(**SMALL).fit(X, Y)
    assert seen and all(steps <= T for steps, _ in seen)
    assert all(every is None or every for _, every in seen)


# ------------------------------------------------------------------------- many-to-many
def _seq_targets():
    y = np.cumsum(np.nan_to_num(X_NAN[:, :, 0]), axis=1)
    y[np.isnan(X_NAN[:, :, 0])] = np.nan
    return y


def test_many_to_many_predicts_nan_at_missing_steps_and_scores_observed_steps():
    y = _seq_targets()
    reg = DeepRNNRegressor(**SMALL, return_sequences=True).fit(X_NAN, y)
    pred = reg.predict(X_NAN)
    missing = np.isnan(X_NAN[:, :, 0])
    assert np.all(np.isnan(pred[missing])) and np.all(np.isfinite(pred[~missing]))
    from sklearn.metrics import r2_score

    assert reg.score(X_NAN, y) == pytest.approx(r2_score(y[~missing], pred[~missing]))
    # a list of targets of each sequence's length is the same
    y_list = [row[:L] for row, L in zip(y, LENGTHS, strict=True)]
    reg_list = DeepRNNRegressor(**SMALL, return_sequences=True).fit(SEQUENCES, y_list)
    assert np.array_equal(reg_list._theta, reg._theta)
    assert reg_list.score(SEQUENCES, y_list) == reg.score(X_NAN, y)


def test_many_to_many_targets_at_missing_steps_are_not_read():
    y = _seq_targets()
    missing = np.isnan(y)
    a = DeepRNNRegressor(**SMALL, return_sequences=True).fit(X_NAN, y)
    y2 = y.copy()
    y2[missing] = 1e6
    b = DeepRNNRegressor(**SMALL, return_sequences=True).fit(X_NAN, y2)
    assert np.array_equal(a._theta, b._theta)
    y3 = y.copy()
    y3[0, 0] = np.nan  # an observed step
    with pytest.raises(ValueError, match="NaN"):
        DeepRNNRegressor(**SMALL, return_sequences=True).fit(X_NAN, y3)


def test_many_to_many_classifier_with_missing_steps():
    labels = np.where(np.nan_to_num(X_NAN[:, :, 0]) > 0, "pos", "neg").astype(object)
    missing = np.isnan(X_NAN[:, :, 0])
    labels[missing] = None  # whatever stands there is not read
    clf = DeepRNNClassifier(**SMALL, return_sequences=True).fit(X_NAN, labels)
    assert list(clf.classes_) == ["neg", "pos"]
    proba = clf.predict_proba(X_NAN)
    assert np.all(np.isnan(proba[missing])) and np.all(np.isfinite(proba[~missing]))
    pred = clf.predict(X_NAN)
    assert all(p is None or (isinstance(p, float) and np.isnan(p)) for p in pred[missing])
    assert set(pred[~missing]) <= {"neg", "pos"}
    expected = np.mean(pred[~missing] == labels[~missing])
    assert clf.score(X_NAN, labels) == pytest.approx(expected)


def test_per_step_weights_constant_along_sequences_equal_sequence_weights():
    y = _seq_targets()
    w = RNG.uniform(0.5, 2.0, size=N)
    a = DeepRNNRegressor(**SMALL, return_sequences=True).fit(X_NAN, y, sample_weight=w)
    b = DeepRNNRegressor(**SMALL, return_sequences=True).fit(
        X_NAN, y, sample_weight=np.repeat(w[:, None], T, axis=1))
    np.testing.assert_allclose(a._theta, b._theta, rtol=1e-12, atol=1e-14)


def test_per_step_weights_zero_removes_the_steps():
    y = _seq_targets()
    X = np.nan_to_num(X_NAN)  # every step observed
    y_full = np.nan_to_num(y)
    W = (~np.isnan(X_NAN[:, :, 0])).astype(float)
    a = DeepRNNRegressor(**SMALL, return_sequences=True, shuffle=False).fit(
        X, y_full, sample_weight=W)
    y2 = y_full.copy()
    y2[W == 0] = 100.0  # targets of zero-weight steps do not matter
    b = DeepRNNRegressor(**SMALL, return_sequences=True, shuffle=False,
                         standardize_target=True).fit(X, y2, sample_weight=W)
    np.testing.assert_allclose(a.predict(X), b.predict(X), rtol=1e-10)


def test_split_step_weights():
    W = np.array([[1.0, 3.0, 0.0], [2.0, 2.0, 2.0]])
    observed = np.array([[True, True, False], [True, True, True]])
    w, s = split_step_weights(W, observed)
    np.testing.assert_allclose(w, [2.0, 2.0])
    np.testing.assert_allclose(s, [[0.5, 1.5, 0.0], [1.0, 1.0, 1.0]])
    w1, s1 = split_step_weights(np.array([2.0, 0.0]), observed)
    np.testing.assert_array_equal(w1, [2.0, 0.0])
    np.testing.assert_array_equal(s1, [[1.0, 1.0, 0.0], [0.0, 0.0, 0.0]])


@pytest.mark.parametrize("weights, match", [
    (np.ones((N, T + 1)), r"shape \(n_samples, n_timesteps\) = \(12, 7\)"),
    (-np.ones((N, T)), "Negative"),
    (np.full((N, T), np.nan), "NaN or infinity"),
    (np.zeros((N, T)), "sums to 0"),
])
def test_per_step_weights_are_validated(weights, match):
    y = np.nan_to_num(_seq_targets())
    with pytest.raises(ValueError, match=match):
        DeepRNNRegressor(**SMALL, return_sequences=True).fit(np.nan_to_num(X_NAN), y,
                                                             sample_weight=weights)
    with pytest.raises(ValueError, match="needs return_sequences=True"):
        DeepRNNRegressor(**SMALL).fit(X_NAN, Y, sample_weight=np.ones((N, T)))


# ------------------------------------------------------------------------------ training
def test_partial_fit_warm_start_and_early_stopping_with_missing_steps():
    reg = DeepRNNRegressor(**SMALL)
    for _ in range(3):
        reg.partial_fit(SEQUENCES, Y)
    assert reg.t_ == 3 * N and np.all(np.isfinite(reg.predict(SEQUENCES)))
    es = DeepRNNClassifier(**dict(SMALL, max_iter=4), early_stopping=True).fit(SEQUENCES, LABELS)
    assert len(es.validation_scores_) == es.n_iter_
    warm = DeepRNNRegressor(**SMALL, warm_start=True).fit(SEQUENCES, Y)
    before = warm._theta.copy()
    warm.fit(SEQUENCES, Y)
    assert not np.array_equal(before, warm._theta)


@pytest.mark.parametrize("pooling", ["last", "mean", "max"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_every_head_trains_on_missing_steps(pooling, bidirectional):
    clf = DeepRNNClassifier(**dict(SMALL, max_iter=2), pooling=pooling,
                            bidirectional=bidirectional, num_layers=2, residual=True,
                            layer_norm=True).fit(SEQUENCES, LABELS)
    proba = clf.predict_proba(SEQUENCES)
    assert np.all(np.isfinite(proba)) and np.allclose(proba.sum(axis=1), 1.0)


def test_scaler_then_estimator_in_a_pipeline_on_lists():
    from sklearn.pipeline import make_pipeline

    pipe = make_pipeline(SequenceStandardScaler(), DeepRNNRegressor(**SMALL))
    pipe.fit(X_NAN * 100.0, Y)
    assert np.all(np.isfinite(pipe.predict(X_NAN * 100.0)))


def test_unscaled_warning_looks_at_observed_steps_only():
    big = X_NAN * 1000.0
    with pytest.warns(UserWarning, match="feature 0"):
        DeepRNNRegressor(**SMALL).fit(big, Y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        DeepRNNRegressor(**SMALL).fit(X_NAN, Y)


def test_round_trips_keep_predictions_on_missing_steps(tmp_path):
    from skdeeprnn import load_npz, save_npz

    reg = DeepRNNRegressor(**SMALL, return_sequences=True).fit(X_NAN, _seq_targets())
    expected = reg.predict(X_NAN)
    for loaded in (pickle.loads(pickle.dumps(reg)),):
        np.testing.assert_array_equal(loaded.predict(X_NAN), expected)
    joblib.dump(reg, tmp_path / "m.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "m.joblib").predict(X_NAN), expected)
    save_npz(reg, tmp_path / "m.npz")
    np.testing.assert_array_equal(load_npz(tmp_path / "m.npz").predict(X_NAN), expected)


def test_failed_call_with_bad_missing_steps_leaves_the_model_unchanged():
    reg = DeepRNNRegressor(**SMALL).fit(SEQUENCES, Y)
    state = pickle.dumps(reg)
    bad = X_NAN.copy()
    bad[2, 0, 1] = np.nan  # a partly missing step
    with pytest.raises(ValueError, match="sample 2, step 0"):
        reg.partial_fit(bad, Y)
    assert pickle.dumps(reg) == state


# ------------------------------------------------------------------------ huge targets
@pytest.mark.parametrize("scale", [1e155, 1e200, 1e290])
def test_huge_regression_targets_give_finite_predictions_or_a_clear_error(scale):
    X = RNG.normal(size=(30, 4, 2))
    y = X[:, :, 0].sum(axis=1)
    reg = DeepRNNRegressor(**SMALL).fit(X, y * scale)
    pred = reg.predict(X)
    assert np.all(np.isfinite(pred))
    ref = DeepRNNRegressor(**SMALL).fit(X, y).predict(X)
    np.testing.assert_allclose(pred / scale, ref, rtol=1e-6, atol=1e-9)
    with pytest.raises(ValueError, match="overflow"):
        DeepRNNRegressor(**SMALL, standardize_target=False).fit(X, y * scale)


def test_targets_near_the_largest_float_are_refused():
    X = RNG.normal(size=(30, 4, 2))
    with pytest.raises(ValueError, match="magnitude up to .* overflow"):
        DeepRNNRegressor(**SMALL).fit(X, np.full(30, 1e307) * np.sign(X[:, 0, 0]))


def test_a_list_mixing_numbers_and_sequences_is_an_error():
    with pytest.raises(ValueError, match="item 1 of the list is a single number"):
        DeepRNNRegressor(**SMALL).fit([np.ones(3), 5.0], [1.0, 2.0])


@pytest.mark.parametrize("return_sequences", [False, True])
def test_prediction_in_grouped_trimmed_chunks_equals_one_sequence_at_a_time(return_sequences):
    """Inference sorts sequences by span into chunks trimmed to their steps: no effect."""
    rng = np.random.RandomState(5)
    n, T = 300, 12
    lengths = rng.randint(1, T + 1, size=n)
    X = np.full((n, T, 2), np.nan)
    for i, L in enumerate(lengths):
        start = rng.randint(0, T - L + 1)
        X[i, start : start + L] = rng.normal(size=(L, 2))
    y = np.nan_to_num(X[:, :, 0]) if return_sequences else np.nanmean(X[:, :, 0], axis=1)
    reg = DeepRNNRegressor(hidden_size=64, bidirectional=True, max_iter=1, batch_size=100,
                           return_sequences=return_sequences, random_state=0,
                           dtype="float64").fit(X, y)
    assert reg.network_.inference_rows(T, np.float64) < n  # several chunks
    together = reg.predict(X)
    alone = np.concatenate([reg.predict(X[i : i + 1]) for i in range(n)])
    np.testing.assert_allclose(together, alone, rtol=1e-10, atol=1e-12)
    if return_sequences:
        assert np.array_equal(np.isnan(together), np.isnan(X[:, :, 0]))
