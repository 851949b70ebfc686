import pickle

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import get_tags
from sklearn.utils._param_validation import InvalidParameterError

from skdeeprnn import DeepRNNClassifier, SequenceStandardScaler, SlidingWindowTransformer

RNG = np.random.RandomState(0)

# 12 sequences of 5 steps and 3 features in raw units far from zero mean and unit variance.
SEQUENCES = RNG.normal(loc=[100.0, -3.0, 0.5], scale=[20.0, 0.1, 4.0], size=(12, 5, 3))

# The same sequences with missing values: two right-padded sequences and scattered gaps.
PADDED = SEQUENCES.copy()
PADDED[0, 3:] = np.nan
PADDED[5, 1:] = np.nan
PADDED[[2, 7, 9], [1, 4, 0], [0, 2, 1]] = np.nan


def _reference(X):
    """StandardScaler on the values as rows of a table (it ignores NaN too)."""
    return StandardScaler().fit(X.reshape(-1, X.shape[-1]))


# --- statistics --------------------------------------------------------------------


def test_statistics_equal_standard_scaler_on_the_values_as_rows():
    scaler = SequenceStandardScaler().fit(SEQUENCES)
    reference = _reference(SEQUENCES)
    assert_allclose(scaler.mean_, reference.mean_, rtol=1e-12)
    assert_allclose(scaler.var_, reference.var_, rtol=1e-12)
    assert_allclose(scaler.scale_, reference.scale_, rtol=1e-12)
    assert_array_equal(scaler.n_samples_seen_, [60, 60, 60])
    expected = reference.transform(SEQUENCES.reshape(-1, 3)).reshape(SEQUENCES.shape)
    assert_allclose(scaler.transform(SEQUENCES), expected, rtol=1e-12, atol=1e-12)


def test_hand_worked_univariate_example():
    # Values 1, 3, 5, 7: mean 4, population variance (9 + 1 + 1 + 9) / 4 = 5.
    X = np.array([[1.0, 3.0], [5.0, 7.0]])
    scaler = SequenceStandardScaler().fit(X)
    assert_allclose(scaler.mean_, [4.0])
    assert_allclose(scaler.var_, [5.0])
    assert_allclose(scaler.transform(X), (X - 4.0) / np.sqrt(5.0))


def test_fitted_shapes_and_counts_for_3d_input():
    scaler = SequenceStandardScaler().fit(SEQUENCES)
    assert scaler.n_features_in_ == 5  # X.shape[1]: the time steps, as scikit-learn defines it
    assert scaler.n_features_per_step_ == 3
    assert scaler.mean_.shape == scaler.var_.shape == scaler.scale_.shape == (3,)


def test_2d_input_is_one_feature_over_all_values():
    X = SEQUENCES[:, :, 0]
    scaler = SequenceStandardScaler().fit(X)
    assert scaler.n_features_in_ == 5
    assert scaler.n_features_per_step_ == 1
    assert_allclose(scaler.mean_, [X.mean()])
    assert_allclose(scaler.var_, [X.var()])
    assert_array_equal(scaler.n_samples_seen_, [60])
    Xt = scaler.transform(X)
    assert Xt.shape == X.shape
    assert_allclose(Xt, (X - X.mean()) / X.std())
    # the same as the sequences given their feature axis
    assert_allclose(Xt, SequenceStandardScaler().fit_transform(X[:, :, np.newaxis])[:, :, 0])


def test_dataframe_of_univariate_sequences_records_its_columns():
    X = pd.DataFrame(SEQUENCES[:, :, 0], columns=[f"t{t}" for t in range(5)])
    scaler = SequenceStandardScaler().fit(X)
    assert_array_equal(scaler.feature_names_in_, X.columns)
    assert_allclose(scaler.transform(X), SequenceStandardScaler().fit_transform(X.to_numpy()))


def test_nan_is_ignored_in_the_statistics_and_kept_in_the_output():
    scaler = SequenceStandardScaler().fit(PADDED)
    reference = _reference(PADDED)
    assert_allclose(scaler.mean_, reference.mean_, rtol=1e-12)
    assert_allclose(scaler.var_, reference.var_, rtol=1e-12)
    observed = (~np.isnan(PADDED)).sum(axis=(0, 1))
    assert_array_equal(scaler.n_samples_seen_, observed)
    assert observed.min() < 60  # the padding really removed values
    Xt = scaler.transform(PADDED)
    assert_array_equal(np.isnan(Xt), np.isnan(PADDED))
    expected = reference.transform(PADDED.reshape(-1, 3)).reshape(PADDED.shape)
    assert_allclose(Xt, expected, rtol=1e-12, atol=1e-12)


def test_constant_feature_gets_scale_one_and_is_centred():
    X = SEQUENCES.copy()
    X[:, :, 1] = 0.1  # not exactly representable: the mean has rounding error
    scaler = SequenceStandardScaler().fit(X)
    assert scaler.scale_[1] == 1.0
    assert scaler.scale_[0] != 1.0
    assert_allclose(scaler.transform(X)[:, :, 1], 0.0, atol=1e-15)


@pytest.mark.parametrize("with_mean, with_std", [(False, True), (True, False), (False, False)])
def test_with_mean_and_with_std_choose_what_transform_applies(with_mean, with_std):
    scaler = SequenceStandardScaler(with_mean=with_mean, with_std=with_std).fit(SEQUENCES)
    assert_allclose(scaler.mean_, _reference(SEQUENCES).mean_)  # always computed
    expected = SEQUENCES.copy()
    if with_mean:
        expected -= scaler.mean_
    if with_std:
        expected /= scaler.scale_
    Xt = scaler.transform(SEQUENCES)
    assert_allclose(Xt, expected)
    assert_allclose(scaler.inverse_transform(Xt), SEQUENCES)


# --- sequence length ----------------------------------------------------------------


def test_3d_input_of_another_length_is_transformed():
    scaler = SequenceStandardScaler().fit(RNG.normal(5.0, 2.0, size=(10, 24, 2)))
    longer = RNG.normal(5.0, 2.0, size=(3, 30, 2))
    Xt = scaler.transform(longer)
    assert Xt.shape == (3, 30, 2)
    assert_allclose(Xt, (longer - scaler.mean_) / scaler.scale_)
    assert_allclose(scaler.inverse_transform(Xt), longer)


def test_2d_input_of_another_length_raises_and_names_the_way_out():
    scaler = SequenceStandardScaler().fit(SEQUENCES[:, :, 0])
    with pytest.raises(ValueError, match=r"X has 7 features, .* expecting 5 .*np\.newaxis"):
        scaler.transform(np.zeros((2, 7)))
    assert scaler.transform(np.zeros((2, 7))[:, :, np.newaxis]).shape == (2, 7, 1)


def test_partial_fit_takes_batches_of_different_lengths():
    first, second = PADDED[:6], RNG.normal(50.0, 10.0, size=(4, 8, 3))
    scaler = SequenceStandardScaler().partial_fit(first).partial_fit(second)
    values = np.concatenate([first.reshape(-1, 3), second.reshape(-1, 3)])
    reference = StandardScaler().fit(values)
    assert_allclose(scaler.mean_, reference.mean_, rtol=1e-12)
    assert_allclose(scaler.var_, reference.var_, rtol=1e-12)
    assert_array_equal(scaler.n_samples_seen_, (~np.isnan(values)).sum(axis=0))
    assert scaler.n_features_in_ == 5  # the length of the first batch


def test_partial_fit_accepts_a_batch_without_values_of_a_feature_seen_before():
    scaler = SequenceStandardScaler().partial_fit(SEQUENCES[:6])
    before = scaler.mean_.copy(), scaler.var_.copy()
    batch = SEQUENCES[6:].copy()
    batch[:, :, 2] = np.nan
    scaler.partial_fit(batch)
    reference = _reference(np.concatenate([SEQUENCES[:6], batch]))
    assert_allclose(scaler.mean_, reference.mean_, rtol=1e-12)
    assert_allclose(scaler.var_, reference.var_, rtol=1e-12)
    assert scaler.mean_[2] == before[0][2] and scaler.var_[2] == before[1][2]


def test_fit_forgets_earlier_partial_fits():
    scaler = SequenceStandardScaler().partial_fit(SEQUENCES + 1000.0).fit(SEQUENCES)
    assert_allclose(scaler.mean_, _reference(SEQUENCES).mean_)
    assert_array_equal(scaler.n_samples_seen_, [60, 60, 60])


# --- weights ------------------------------------------------------------------------


def test_integer_weights_equal_repeated_sequences():
    weights = np.array([0, 1, 2, 3, 1, 1, 0, 2, 1, 1, 4, 1])
    weighted = SequenceStandardScaler().fit(PADDED, sample_weight=weights)
    repeated = SequenceStandardScaler().fit(np.repeat(PADDED, weights, axis=0))
    assert_allclose(weighted.mean_, repeated.mean_, rtol=1e-12)
    assert_allclose(weighted.var_, repeated.var_, rtol=1e-12)
    assert_allclose(weighted.n_samples_seen_, repeated.n_samples_seen_)
    assert not np.allclose(weighted.mean_, SequenceStandardScaler().fit(PADDED).mean_)


def test_weighted_partial_fit_equals_weighted_fit():
    weights = RNG.uniform(0.5, 2.0, size=12)
    whole = SequenceStandardScaler().fit(PADDED, sample_weight=weights)
    parts = SequenceStandardScaler()
    parts.partial_fit(PADDED[:5], sample_weight=weights[:5])
    parts.partial_fit(PADDED[5:], sample_weight=weights[5:])
    assert_allclose(parts.mean_, whole.mean_, rtol=1e-12)
    assert_allclose(parts.var_, whole.var_, rtol=1e-12)
    assert_allclose(parts.n_samples_seen_, whole.n_samples_seen_, rtol=1e-12)


def test_negative_weight_raises():
    with pytest.raises(ValueError, match="Negative values in data passed to `sample_weight`"):
        SequenceStandardScaler().fit(SEQUENCES, sample_weight=np.r_[-1.0, np.ones(11)])


# --- round trip and dtypes -------------------------------------------------------------


@pytest.mark.parametrize("X", [PADDED, PADDED[:, :, 1]], ids=["3d", "2d"])
def test_inverse_transform_round_trip_keeps_nan(X):
    scaler = SequenceStandardScaler().fit(X)
    back = scaler.inverse_transform(scaler.transform(X))
    assert_array_equal(np.isnan(back), np.isnan(X))
    assert_allclose(back, X, rtol=1e-14)


def test_float32_stays_float32_and_matches_float64():
    X32 = PADDED.astype(np.float32)
    scaler = SequenceStandardScaler().fit(X32)
    Xt = scaler.transform(X32)
    assert Xt.dtype == np.float32
    assert scaler.inverse_transform(Xt).dtype == np.float32
    assert_allclose(scaler.inverse_transform(Xt), X32, rtol=1e-5)
    Xt64 = SequenceStandardScaler().fit_transform(X32.astype(np.float64))
    assert_allclose(Xt, Xt64, rtol=1e-5, atol=1e-5)


def test_integers_become_float64():
    X = np.arange(24).reshape(2, 4, 3)
    assert SequenceStandardScaler().fit_transform(X).dtype == np.float64


def test_copy_false_scales_a_float_array_in_place():
    X = SEQUENCES.copy()
    Xt = SequenceStandardScaler(copy=False).fit_transform(X)
    assert Xt is X
    kept = SEQUENCES.copy()
    SequenceStandardScaler().fit_transform(kept)
    assert_array_equal(kept, SEQUENCES)


def test_copy_false_copies_a_read_only_view():
    windows = SlidingWindowTransformer(window=3).fit_transform(SEQUENCES[0])
    assert not windows.flags.writeable
    Xt = SequenceStandardScaler(copy=False).fit_transform(windows)
    assert Xt.flags.writeable
    assert_allclose(Xt.mean(axis=(0, 1)), 0.0, atol=1e-12)


# --- errors --------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["fit", "transform"])
def test_infinite_values_raise(method):
    X = SEQUENCES.copy()
    X[3, 2, 1] = np.inf
    scaler = SequenceStandardScaler().fit(SEQUENCES)
    with pytest.raises(ValueError, match="Input X contains infinity"):
        getattr(scaler, method)(X)


def test_feature_without_any_value_raises_and_is_named():
    X = SEQUENCES.copy()
    X[:, :, 2] = np.nan
    scaler = SequenceStandardScaler()
    with pytest.raises(ValueError, match=r"Feature\(s\) \[2\] of X .* no observed value"):
        scaler.fit(X)
    # the failed fit leaves nothing that looks fitted
    with pytest.raises(NotFittedError):
        scaler.transform(SEQUENCES)


def test_feature_observed_only_in_zero_weight_sequences_raises():
    X = SEQUENCES.copy()
    X[1:, :, 0] = np.nan
    with pytest.raises(ValueError, match=r"Feature\(s\) \[0\] .* sequences of weight 0"):
        SequenceStandardScaler().fit(X, sample_weight=np.r_[0.0, np.ones(11)])


def test_other_number_of_features_per_step_raises():
    scaler = SequenceStandardScaler().fit(SEQUENCES)
    with pytest.raises(ValueError, match="X has 2 features per time step, .* fitted with 3"):
        scaler.transform(SEQUENCES[:, :, :2])
    with pytest.raises(ValueError, match="X has 1 features per time step, .* fitted with 3"):
        scaler.inverse_transform(SEQUENCES[:, :, 0])
    with pytest.raises(ValueError, match="X has 2 features per time step, .* fitted with 3"):
        scaler.partial_fit(SEQUENCES[:, :, :2])
    # 2D input of another length: the features per step are the first thing wrong
    with pytest.raises(ValueError, match="X has 1 features per time step, .* fitted with 3"):
        scaler.transform(np.zeros((2, 7)))


@pytest.mark.parametrize("method", ["fit", "transform"])
def test_4d_input_raises(method):
    scaler = SequenceStandardScaler().fit(SEQUENCES)
    with pytest.raises(
        ValueError, match=r"got an array with 4 dimensions and shape \(12, 5, 3, 1\)"
    ):
        getattr(scaler, method)(SEQUENCES[..., np.newaxis])


def test_1d_input_raises():
    with pytest.raises(ValueError, match="Expected 2D array, got 1D array"):
        SequenceStandardScaler().fit(np.arange(5.0))
    scaler = SequenceStandardScaler().fit(SEQUENCES[:, :, 0])
    with pytest.raises(ValueError, match=r"got a 1D array of shape \(5,\)"):
        scaler.transform(np.arange(5.0))


def test_empty_time_axis_raises():
    with pytest.raises(ValueError, match=r"X has shape \(4, 0, 3\); at least 1 time step"):
        SequenceStandardScaler().fit(np.zeros((4, 0, 3)))


@pytest.mark.parametrize("method", ["transform", "inverse_transform"])
def test_unfitted_scaler_raises(method):
    with pytest.raises(NotFittedError, match="SequenceStandardScaler instance is not fitted"):
        getattr(SequenceStandardScaler(), method)(SEQUENCES)


def test_invalid_parameter_raises():
    with pytest.raises(InvalidParameterError, match="'with_mean' parameter"):
        SequenceStandardScaler(with_mean="yes").fit(SEQUENCES)


# --- scikit-learn integration -----------------------------------------------------------


def test_tags_accept_3d_input_with_nan():
    tags = get_tags(SequenceStandardScaler())
    assert tags.input_tags.three_d_array
    assert tags.input_tags.two_d_array
    assert tags.input_tags.allow_nan
    assert tags.transformer_tags.preserves_dtype == ["float64", "float32"]


def test_no_set_output_or_feature_names_out_for_3d_output():
    scaler = SequenceStandardScaler().fit(SEQUENCES)
    assert not hasattr(scaler, "set_output")
    assert not hasattr(scaler, "get_feature_names_out")


def test_pickle_round_trip_transforms_the_same():
    scaler = SequenceStandardScaler().fit(PADDED)
    loaded = pickle.loads(pickle.dumps(scaler))
    assert_array_equal(loaded.mean_, scaler.mean_)
    assert_array_equal(loaded.scale_, scaler.scale_)
    assert_array_equal(loaded.transform(PADDED), scaler.transform(PADDED))


def _labelled_sequences(n=48, n_steps=6):
    """Raw-unit sequences whose class is whether feature 0 ends above its level."""
    rng = np.random.RandomState(1)
    X = rng.normal(loc=[500.0, -40.0], scale=[50.0, 5.0], size=(n, n_steps, 2))
    y = (X[:, -1, 0] > 500.0).astype(int)
    return X, y


def _small_classifier(**params):
    # Every parameter that matters is explicit, so the test does not follow the defaults.
    settings = dict(
        num_layers=1,
        hidden_size=4,
        cell="rnn",
        pooling="last",  # the label is set by the last step
        solver="lbfgs",
        alpha=1e-4,
        max_iter=30,
        tol=1e-4,
        random_state=0,
    )
    return DeepRNNClassifier(**{**settings, **params})


# A few lbfgs iterations are enough for these checks; the fit need not converge.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_pipeline_feeds_the_network_scaled_sequences():
    X, y = _labelled_sequences()
    pipe = Pipeline([("scale", SequenceStandardScaler()), ("rnn", _small_classifier())])
    pipe.fit(X, y)
    by_hand = _small_classifier().fit(SequenceStandardScaler().fit_transform(X), y)
    assert_allclose(pipe.predict_proba(X), by_hand.predict_proba(pipe[0].transform(X)))
    assert pipe.score(X, y) > 0.8


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_grid_search_over_a_scaled_pipeline():
    X, y = _labelled_sequences()
    pipe = Pipeline([("scale", SequenceStandardScaler()), ("rnn", _small_classifier())])
    search = GridSearchCV(
        pipe,
        {"scale__with_std": [True, False], "rnn__hidden_size": [2, 4]},
        cv=StratifiedKFold(n_splits=2, shuffle=True, random_state=0),
    )
    search.fit(X, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert len(search.cv_results_["params"]) == 4
    assert search.best_estimator_[0].n_features_per_step_ == 2
    best = search.best_estimator_
    assert best[0].with_std is search.best_params_["scale__with_std"]
    assert best[1].hidden_size == search.best_params_["rnn__hidden_size"]
    assert search.best_score_ > 0.8


def test_lists_of_unequal_lengths_are_nan_padded_as_the_estimators_do():
    rng = np.random.RandomState(3)
    sequences = [rng.normal(10.0, 5.0, size=(L, 2)) for L in (3, 7, 5, 1)]
    padded = np.full((4, 7, 2), np.nan)
    for i, s in enumerate(sequences):
        padded[i, : len(s)] = s
    from_list = SequenceStandardScaler().fit(sequences)
    from_array = SequenceStandardScaler().fit(padded)
    np.testing.assert_array_equal(from_list.mean_, from_array.mean_)
    np.testing.assert_array_equal(from_list.scale_, from_array.scale_)
    np.testing.assert_array_equal(from_list.transform(sequences), from_array.transform(padded))
    # univariate items; at transform time padded to the fitted length at least
    univariate = [s[:, 0] for s in sequences]
    scaler = SequenceStandardScaler().fit(univariate)
    assert scaler.transform(univariate[:1]).shape == (1, 7)
    with pytest.raises(ValueError, match="same features"):
        SequenceStandardScaler().fit([np.ones((3, 2)), np.ones((4, 3))])
