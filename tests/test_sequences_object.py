"""A fit validates its data once into a Sequences object that training shares."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

import skdeeprnn._sequences as sequences
from skdeeprnn import DeepRNNClassifier, DeepRNNRegressor
from skdeeprnn._sequences import Sequences, spans, split_step_weights


def _missing(seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(40, 6, 2))
    X[:5, :2] = np.nan  # late starts
    X[5:9, -1] = np.nan  # early ends
    return X


def test_the_derived_arrays():
    X = _missing()
    observed = ~np.isnan(X[:, :, 0])
    w = np.arange(1.0, 41.0)
    many = Sequences(X, np.zeros((40, 6)), w, observed, many_to_many=True)
    weights, steps = split_step_weights(w, observed)
    np.testing.assert_array_equal(many.weights, weights)
    np.testing.assert_array_equal(many.step_weight, steps)
    np.testing.assert_array_equal(many.target_weight, weights[:, None] * steps)
    np.testing.assert_array_equal(many.lengths, spans(observed))
    assert many.lengths is many.lengths  # computed once
    one = Sequences(X, np.zeros(40), w, observed, many_to_many=False)
    assert one.weights is w and one.step_weight is None and one.target_weight is w
    # a minibatch's mask, time-major; None when its sequences observe every step
    np.testing.assert_array_equal(one.observed_of_rows(np.array([0, 20])),
                                  observed[[0, 20]].T)
    assert one.observed_of_rows(np.array([20, 30])) is None
    assert Sequences(X[20:], np.zeros(20), w[20:], None, False).observed_of_rows([0]) is None
    heavier = one.reweighted(2 * w)
    assert heavier.X is X and heavier.observed is observed
    np.testing.assert_array_equal(heavier.weights, 2 * w)


@pytest.mark.parametrize("Estimator, params, y", [
    (DeepRNNRegressor, {}, np.arange(40.0)),
    (DeepRNNRegressor, {"early_stopping": True}, np.arange(40.0)),
    (DeepRNNRegressor, {"solver": "lbfgs"}, np.arange(40.0)),
    (DeepRNNRegressor, {"return_sequences": True}, np.ones((40, 6))),
    (DeepRNNClassifier, {"class_weight": "balanced"}, np.arange(40) % 2),
])
def test_fit_checks_the_missing_steps_once(monkeypatch, Estimator, params, y):
    """Validation finds the missing steps; nothing after it scans X for them again."""
    counts = {"observed_steps": 0, "observed_of": 0}
    for name in counts:
        real = getattr(sequences, name)

        def counted(*args, _real=real, _name=name):
            counts[_name] += 1
            return _real(*args)

        for module in ("skdeeprnn._estimators._base", "skdeeprnn._estimators._loop"):
            monkeypatch.setattr(f"{module}.{name}", counted, raising=False)
    est = Estimator(hidden_size=3, max_iter=3, random_state=0, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(_missing(), y)
    assert counts["observed_steps"] == 1
    # early stopping scores the validation sequences: that is a prediction, once per epoch
    assert counts["observed_of"] == (est.n_iter_ if params.get("early_stopping") else 0)
