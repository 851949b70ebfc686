"""Bad input gets a ValueError/TypeError whose message names the problem."""

import numpy as np
import pytest

from skdeeprnn import DeepRNNClassifier, DeepRNNRegressor, SlidingWindowTransformer, make_windows

RNG = np.random.RandomState(0)
X = RNG.normal(size=(20, 5, 3))
Y = X.sum(axis=(1, 2))
LABELS = np.where(X[:, 0, 0] > 0, "a", "b")
ESTIMATORS = [
    (DeepRNNRegressor, Y),
    (DeepRNNClassifier, LABELS),
]


def _fitted(Estimator, y):
    return Estimator(hidden_size=3, max_iter=2, random_state=0).fit(X, y)


@pytest.fixture(autouse=True)
def _quiet_convergence():
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


@pytest.mark.parametrize("Estimator, y", ESTIMATORS)
@pytest.mark.parametrize("value, word", [(np.nan, "some but not all features NaN"),
                                         (np.inf, "infinity"), (-np.inf, "infinity")])
def test_non_finite_input(Estimator, y, value, word):
    bad = X.copy()
    bad[3, 2, 1] = value
    with pytest.raises(ValueError, match=word):
        Estimator().fit(bad, y)
    est = _fitted(Estimator, y)
    with pytest.raises(ValueError, match=word):
        est.predict(bad)


@pytest.mark.parametrize("Estimator, y", ESTIMATORS)
def test_wrong_ndim(Estimator, y):
    with pytest.raises(ValueError, match="Expected 2D array, got 1D"):
        Estimator().fit(X[:, 0, 0], y)
    with pytest.raises(ValueError, match="4 dimensions"):
        Estimator().fit(X[..., None], y)
    est = _fitted(Estimator, y)
    with pytest.raises(ValueError, match="4 dimensions"):
        est.predict(X[..., None])


@pytest.mark.parametrize("Estimator, y", ESTIMATORS)
def test_empty_input(Estimator, y):
    with pytest.raises(ValueError, match="0 sample"):
        Estimator().fit(X[:0], y[:0])
    with pytest.raises(ValueError, match="0 time steps"):
        Estimator().fit(X[:, :0], y)
    with pytest.raises(ValueError, match="0 features per time step"):
        Estimator().fit(X[:, :, :0], y)


@pytest.mark.parametrize("Estimator, y", ESTIMATORS)
def test_feature_count_changed_since_fit(Estimator, y):
    est = _fitted(Estimator, y)
    with pytest.raises(ValueError, match="2 features per time step, but .* fitted with 3"):
        est.predict(X[:, :, :2])
    with pytest.raises(ValueError, match="X has 4 features, but .* expecting 5 .* 5 time steps"):
        est.predict(X[:, :4])  # time steps are scikit-learn's features (n_features_in_)
    if hasattr(est, "partial_fit"):
        with pytest.raises(ValueError, match="2 features per time step"):
            est.partial_fit(X[:, :, :2], y)


@pytest.mark.parametrize("Estimator, y", ESTIMATORS)
def test_invalid_parameters(Estimator, y):
    with pytest.raises(ValueError, match=r"hidden_size has 2 entries \(8, 4\) but num_layers=3"):
        Estimator(num_layers=3, hidden_size=(8, 4)).fit(X, y)
    with pytest.raises(ValueError, match="'cell' parameter .* must be a str among"):
        Estimator(cell="transformer").fit(X, y)
    with pytest.raises(ValueError, match="'solver' parameter"):
        Estimator(solver="rmsprop").fit(X, y)
    with pytest.raises(ValueError, match="hidden_size entries must be positive integers"):
        Estimator(num_layers=2, hidden_size=(8, 0)).fit(X, y)


def test_regression_target_of_strings():
    with pytest.raises(ValueError, match="numeric target y; got dtype <U1"):
        DeepRNNRegressor().fit(X, LABELS)


def test_single_class():
    with pytest.raises(ValueError, match="only one class: 'a'"):
        DeepRNNClassifier().fit(X, np.full(20, "a"))


def test_continuous_labels_for_the_classifier():
    with pytest.raises(ValueError, match="Unknown label type"):
        DeepRNNClassifier().fit(X, Y)


@pytest.mark.parametrize("Estimator, y", ESTIMATORS)
def test_sample_weight_problems(Estimator, y):
    with pytest.raises(ValueError, match="sample_weight sums to 0|at least one non-zero"):
        Estimator().fit(X, y, sample_weight=np.zeros(20))
    with pytest.raises(ValueError, match="Negative values in data passed to `sample_weight`"):
        Estimator().fit(X, y, sample_weight=-np.ones(20))
    with pytest.raises(ValueError, match=r"sample_weight.shape == \(19,\), expected \(20,\)"):
        Estimator().fit(X, y, sample_weight=np.ones(19))


@pytest.mark.parametrize("Estimator, y", ESTIMATORS)
def test_mismatched_lengths(Estimator, y):
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        Estimator().fit(X, y[:-1])


def test_too_short_for_the_window():
    with pytest.raises(ValueError, match="need at least 25 rows"):
        make_windows(np.arange(20.0), window=24)
    # the transformer pads instead (one output row per input row); an empty table is an error
    with pytest.raises(ValueError, match="0 sample"):
        SlidingWindowTransformer(window=3).fit(np.zeros((0, 2)))


def test_failed_call_leaves_the_model_unchanged():
    est = _fitted(DeepRNNRegressor, Y)
    before = est._theta.copy()
    bad = X.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError):
        est.partial_fit(bad, Y)
    np.testing.assert_array_equal(est._theta, before)
    np.testing.assert_array_equal(est.predict(X), _fitted(DeepRNNRegressor, Y).predict(X))
