"""End-to-end: pipelines, grid search over architecture and window, memory tasks, persistence."""

import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skdeeprnn import DeepRNNClassifier, DeepRNNRegressor, SlidingWindowTransformer, make_windows


def _seasonal_table(n=600, seed=0):
    """A daily-seasonal series with a slow trend and a noisy exogenous column, hourly rows."""
    rng = np.random.RandomState(seed)
    t = np.arange(n)
    level = 10 + 3 * np.sin(2 * np.pi * t / 24) + 0.005 * t
    target = level + 0.3 * rng.normal(size=n)
    exog = np.cos(2 * np.pi * t / 24) + 0.3 * rng.normal(size=n)
    index = pd.date_range("2020-01-01", periods=n, freq="h")
    return pd.DataFrame({"target": target, "exog": exog}, index=index)


def test_pipeline_grid_search_beats_last_value():
    """The issue's example: scaler -> windows -> RNN, searched over depth, size and window."""
    table = _seasonal_table()
    h = 3  # forecast 3 hours ahead
    X, y = table.iloc[:-h], table["target"].to_numpy()[h:]
    split = 450
    pipe = Pipeline([
        ("scale", StandardScaler()),
        ("window", SlidingWindowTransformer(window=24)),
        # the default training length: cut to 40 epochs, the two-layer networks with layer
        # norm won the cross-validation and then missed the later, higher level (R² 0.45)
        ("rnn", DeepRNNRegressor(num_layers=2, hidden_size=16, cell="gru", random_state=0)),
    ])
    grid = [
        {"rnn__num_layers": [1, 2], "rnn__hidden_size": [8], "window__window": [12, 24]},
        {"rnn__num_layers": [2], "rnn__hidden_size": [(16, 8)], "window__window": [24]},
    ]
    search = GridSearchCV(pipe, grid, cv=TimeSeriesSplit(n_splits=3, gap=h - 1), n_jobs=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X.iloc[:split], y[:split])
    assert len(search.cv_results_["params"]) == 5
    assert set(search.best_params_) == {"rnn__num_layers", "rnn__hidden_size", "window__window"}
    pred = search.predict(X.iloc[split:])
    truth = y[split:]
    last_value = X["target"].to_numpy()[split:]  # the newest observation when forecasting
    model_r2 = r2_score(truth, pred)
    naive_r2 = r2_score(truth, last_value)
    assert model_r2 > naive_r2 + 0.1, (model_r2, naive_r2)


def test_classifier_remembers_the_first_step():
    """The label is the sign of the first step of a 30-step noisy sequence."""
    rng = np.random.RandomState(0)
    n, T = 1000, 30
    X = rng.normal(size=(n, T, 1))
    y = np.where(X[:, 0, 0] > 0, "pos", "neg")
    # (seeds 0-3 all reach >= 0.99 with these settings; 400 training sequences are too few)
    clf = DeepRNNClassifier(cell="gru", hidden_size=16, learning_rate_init=0.03, max_iter=40,
                            batch_size=32, n_iter_no_change=40, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X[:800], y[:800])
    assert clf.score(X[800:], y[800:]) >= 0.95


@pytest.mark.parametrize("Estimator", [DeepRNNRegressor, DeepRNNClassifier])
def test_joblib_round_trip_gives_identical_predictions(Estimator, tmp_path):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(50, 6, 3))
    y = X[:, 0, 0] > 0 if Estimator is DeepRNNClassifier else X.sum(axis=(1, 2))
    est = Estimator(num_layers=2, hidden_size=4, cell="lstm", bidirectional=True, max_iter=3,
                    random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    path = tmp_path / "model.joblib"
    joblib.dump(est, path)
    loaded = joblib.load(path)
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
    if Estimator is DeepRNNClassifier:
        np.testing.assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))


def test_make_windows_feeds_the_regressor():
    table = _seasonal_table(300)
    X, y = make_windows(table, window=24, horizon=1, target="target")
    assert X.shape == (276, 24, 2) and y.shape == (276,)
    reg = DeepRNNRegressor(hidden_size=8, solver="lbfgs", max_iter=60, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X[:200], y[:200])
    assert reg.score(X[200:], y[200:]) > 0.8
