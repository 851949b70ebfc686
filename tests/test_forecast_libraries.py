"""A recurrent network as the regressor of skforecast, sktime and MAPIE, in one line.

Each test imports its library with ``pytest.importorskip`` and skips without it (the
``forecast`` extra installs them all). The layout tests put a recorder between
:class:`LagsToSequences` and the network, and compare the sequences the network was
trained on with sequences built by hand from the series; the other tests run the
one-liner of the docstring and check the forecasts and intervals.
"""

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import TransformedTargetRegressor
from sklearn.pipeline import make_pipeline

from skdeeprnn import DeepRNNRegressor, LagsToSequences, SequenceStandardScaler

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# sktime 1.2 warns in every forecaster's __init__ that a config default will change.
SKTIME_REMEMBER_DATA = pytest.mark.filterwarnings(
    "ignore:The default of config ``remember_data``:FutureWarning"
)

N = 240  # length of the training series
N_LAGS = 4
HORIZON = 3


def _series():
    """A daily ARX series ``y`` of length N and its exogenous ``x``, ``z`` (N + 10 days)."""
    rng = np.random.default_rng(0)
    index = pd.date_range("2020-01-01", periods=N + 10, freq="D")
    exog = pd.DataFrame(rng.normal(size=(N + 10, 2)), index=index, columns=["x", "z"])
    y = np.full(N, 10.0)
    for t in range(2, N):
        y[t] = (
            10 + 0.6 * (y[t - 1] - 10) - 0.2 * (y[t - 2] - 10) + 2.0 * exog["x"].iloc[t]
        ) + 0.3 * rng.normal()
    return pd.Series(y, index=index[:N], name="y"), exog


Y, EXOG = _series()
EXOG_TRAIN, EXOG_FUTURE = EXOG.iloc[:N], EXOG.iloc[N:]
FUTURE_INDEX = pd.date_range(Y.index[-1] + pd.Timedelta(days=1), periods=HORIZON, freq="D")


def _network(**params):
    return DeepRNNRegressor(**{"hidden_size": 8, "max_iter": 4, "random_state": 0, **params})


def _one_liner(n_lags=N_LAGS, **params):
    """The pipeline of the docstring: lag table in, recurrent network out."""
    return make_pipeline(
        LagsToSequences(n_lags=n_lags, **params), SequenceStandardScaler(), _network()
    )


class _Record(TransformerMixin, BaseEstimator):
    """Pass sequences through unchanged, keeping those seen in ``fit``."""

    def fit(self, X, y=None):
        self.sequences_ = np.array(X)
        return self

    def transform(self, X):
        return X


def _recording(**params):
    return make_pipeline(
        LagsToSequences(**params), _Record(), SequenceStandardScaler(), _network(max_iter=1)
    )


def _recorded(pipeline):
    return pipeline.named_steps["_record"].sequences_


def _past(values, ends, n_lags):
    """``values[end - n_lags], ..., values[end - 1]`` for each end: ``(len(ends), n_lags)``."""
    values = np.asarray(values)
    return values[np.asarray(ends)[:, None] - n_lags + np.arange(n_lags)]


def _check_forecast(prediction, index=FUTURE_INDEX):
    assert prediction.index.equals(index)
    assert np.isfinite(np.asarray(prediction)).all()


# --- skforecast ------------------------------------------------------------------


def test_skforecast_recursive_sequences_hold_lags_window_features_and_exog():
    pytest.importorskip("skforecast")
    from skforecast.preprocessing import RollingFeatures
    from skforecast.recursive import ForecasterRecursive

    forecaster = ForecasterRecursive(
        _recording(n_lags=N_LAGS),
        lags=N_LAGS,
        window_features=RollingFeatures(stats=["mean"], window_sizes=6),
    )
    forecaster.fit(Y, exog=EXOG_TRAIN)
    sequences = _recorded(forecaster.estimator)

    targets = np.arange(6, N)  # the rolling window of 6 is the longest
    assert sequences.shape == (N - 6, N_LAGS, 1 + 1 + 2)
    assert_array_equal(sequences[:, :, 0], _past(Y, targets, N_LAGS))
    rolling_mean = _past(Y, targets, 6).mean(axis=1)
    assert_allclose(sequences[:, :, 1], np.repeat(rolling_mean[:, None], N_LAGS, axis=1))
    for step in range(N_LAGS):  # the exogenous values at the target time, at every step
        assert_array_equal(sequences[:, step, 2:], EXOG_TRAIN.to_numpy()[targets])


@pytest.mark.parametrize("with_exog", [False, True])
def test_skforecast_recursive_one_liner(with_exog):
    pytest.importorskip("skforecast")
    from skforecast.recursive import ForecasterRecursive

    forecaster = ForecasterRecursive(_one_liner(), lags=N_LAGS)
    forecaster.fit(Y, exog=EXOG_TRAIN if with_exog else None)
    prediction = forecaster.predict(steps=HORIZON, exog=EXOG_FUTURE if with_exog else None)
    _check_forecast(prediction)


def test_skforecast_direct_sequences_hold_the_exog_of_each_step_target_time():
    pytest.importorskip("skforecast")
    from skforecast.direct import ForecasterDirect

    forecaster = ForecasterDirect(_recording(n_lags=N_LAGS), lags=N_LAGS, steps=HORIZON, n_jobs=1)
    forecaster.fit(Y, exog=EXOG_TRAIN)
    # Every step's model sees the same lags; its exogenous values are those of its target.
    origins = np.arange(N_LAGS, N - HORIZON + 1)  # the time right after the newest lag
    for step, pipeline in forecaster.estimators_.items():
        sequences = _recorded(pipeline)
        assert sequences.shape == (origins.size, N_LAGS, 1 + 2)
        assert_array_equal(sequences[:, :, 0], _past(Y, origins, N_LAGS))
        target_exog = EXOG_TRAIN.to_numpy()[origins + step - 1]
        assert_array_equal(sequences[:, -1, 1:], target_exog)
        assert_array_equal(sequences[:, 0, 1:], target_exog)


@pytest.mark.parametrize("with_exog", [False, True])
def test_skforecast_direct_one_liner(with_exog):
    pytest.importorskip("skforecast")
    from skforecast.direct import ForecasterDirect

    forecaster = ForecasterDirect(_one_liner(), lags=N_LAGS, steps=HORIZON, n_jobs=1)
    forecaster.fit(Y, exog=EXOG_TRAIN if with_exog else None)
    prediction = forecaster.predict(exog=EXOG_FUTURE if with_exog else None)
    _check_forecast(prediction)


def _check_interval(interval, index=FUTURE_INDEX):
    assert interval.index.equals(index)
    assert list(interval.columns) == ["pred", "lower_bound", "upper_bound"]
    assert np.isfinite(interval.to_numpy()).all()
    assert (interval["lower_bound"] <= interval["pred"]).all()
    assert (interval["pred"] <= interval["upper_bound"]).all()
    assert (interval["lower_bound"] < interval["upper_bound"]).all()


# 80 residuals make fewer than the 10 per bin skforecast asks for; the interval below
# does not use bins.
@pytest.mark.filterwarnings("ignore:Only 80 out-of-sample residuals are available")
def test_skforecast_conformal_interval_from_out_of_sample_residuals():
    pytest.importorskip("skforecast")
    from skforecast.model_selection import TimeSeriesFold, backtesting_forecaster
    from skforecast.recursive import ForecasterRecursive

    n_train = 160
    forecaster = ForecasterRecursive(_one_liner(), lags=N_LAGS)
    # Residuals of forecasts 1 to 5 steps ahead over the last 80 days, without refitting.
    folds = TimeSeriesFold(steps=5, initial_train_size=n_train, refit=False)
    _, backtest = backtesting_forecaster(
        forecaster,
        y=Y,
        exog=EXOG_TRAIN,
        cv=folds,
        metric="mean_absolute_error",
        show_progress=False,
    )
    forecaster.fit(Y, exog=EXOG_TRAIN)
    forecaster.set_out_sample_residuals(y_true=Y.loc[backtest.index], y_pred=backtest["pred"])
    interval = forecaster.predict_interval(
        steps=HORIZON,
        exog=EXOG_FUTURE,
        method="conformal",
        interval=[0.05, 0.95],
        use_in_sample_residuals=False,
        use_binned_residuals=False,
    )
    _check_interval(interval)
    assert_allclose(interval["pred"], forecaster.predict(steps=HORIZON, exog=EXOG_FUTURE))


def test_skforecast_direct_conformal_interval_from_in_sample_residuals():
    pytest.importorskip("skforecast")
    from skforecast.direct import ForecasterDirect

    forecaster = ForecasterDirect(_one_liner(), lags=N_LAGS, steps=HORIZON, n_jobs=1)
    forecaster.fit(Y, exog=EXOG_TRAIN, store_in_sample_residuals=True)
    interval = forecaster.predict_interval(exog=EXOG_FUTURE, method="conformal")
    _check_interval(interval)


def test_skforecast_multivariate_direct_has_one_variable_per_series():
    pytest.importorskip("skforecast")
    from skforecast.direct import ForecasterDirectMultiVariate

    series = pd.DataFrame({"y": Y, "w": 2.0 * Y + EXOG_TRAIN["z"]})
    forecaster = ForecasterDirectMultiVariate(
        _recording(n_lags=N_LAGS, n_variables=2),
        level="y",
        lags=N_LAGS,
        steps=HORIZON,
        transformer_series=None,
        n_jobs=1,
    )
    forecaster.fit(series)
    sequences = _recorded(forecaster.estimators_[1])
    origins = np.arange(N_LAGS, N - HORIZON + 1)
    assert sequences.shape == (origins.size, N_LAGS, 2)
    assert_array_equal(sequences[:, :, 0], _past(series["y"], origins, N_LAGS))
    assert_array_equal(sequences[:, :, 1], _past(series["w"], origins, N_LAGS))

    forecaster = ForecasterDirectMultiVariate(
        _one_liner(n_variables=2), level="y", lags=N_LAGS, steps=HORIZON, n_jobs=1
    )
    forecaster.fit(series)
    prediction = forecaster.predict()
    assert prediction.shape == (HORIZON, 2)  # columns 'level' and 'pred'
    _check_forecast(prediction["pred"])


def test_skforecast_multiseries_one_liner():
    pytest.importorskip("skforecast")
    from skforecast.recursive import ForecasterRecursiveMultiSeries

    series = {"a": Y, "b": 2.0 * Y + 1.0}
    forecaster = ForecasterRecursiveMultiSeries(_one_liner(), lags=N_LAGS, encoding="ordinal")
    forecaster.fit(series)
    prediction = forecaster.predict(steps=HORIZON)
    assert prediction.shape == (2 * HORIZON, 2)  # long format: columns 'level' and 'pred'
    assert set(prediction["level"]) == {"a", "b"}
    assert np.isfinite(prediction["pred"]).all()


# --- sktime ----------------------------------------------------------------------


def _fitted_pipelines(forecaster):
    """The regressor(s) a tabular reduction forecaster fitted: one, or one per horizon."""
    if hasattr(forecaster, "estimators_"):
        return list(forecaster.estimators_)
    return [forecaster.estimator_]


@SKTIME_REMEMBER_DATA
@pytest.mark.parametrize("strategy", ["recursive", "direct"])
@pytest.mark.parametrize("with_exog", [False, True])
def test_sktime_make_reduction_sequences_hold_target_and_exog_in_blocks(strategy, with_exog):
    pytest.importorskip("sktime")
    from sktime.forecasting.compose import make_reduction

    window = N_LAGS
    X = EXOG_TRAIN if with_exog else None
    forecaster = make_reduction(
        _recording(n_lags=window, layout="sktime"), strategy=strategy, window_length=window
    )
    forecaster.fit(Y, X=X, fh=np.arange(1, HORIZON + 1))
    # Recursive: one model, fitted on every window; direct: one model per horizon, all
    # fitted on the windows that leave room for the longest horizon.
    n_windows = N - window if strategy == "recursive" else N - window - HORIZON + 1
    ends = np.arange(window, window + n_windows)
    pipelines = _fitted_pipelines(forecaster)
    assert len(pipelines) == (1 if strategy == "recursive" else HORIZON)
    for pipeline in pipelines:
        sequences = _recorded(pipeline)
        assert sequences.shape == (n_windows, window, 3 if with_exog else 1)
        assert_array_equal(sequences[:, :, 0], _past(Y, ends, window))
        if with_exog:  # the exogenous values of the lags' own days, oldest first
            assert_array_equal(sequences[:, :, 1], _past(X["x"], ends, window))
            assert_array_equal(sequences[:, :, 2], _past(X["z"], ends, window))


@SKTIME_REMEMBER_DATA
@pytest.mark.parametrize("strategy", ["recursive", "direct"])
@pytest.mark.parametrize("with_exog", [False, True])
def test_sktime_make_reduction_one_liner(strategy, with_exog):
    pytest.importorskip("sktime")
    from sktime.forecasting.compose import make_reduction

    forecaster = make_reduction(
        _one_liner(layout="sktime"), strategy=strategy, window_length=N_LAGS
    )
    fh = np.arange(1, HORIZON + 1)
    forecaster.fit(Y, X=EXOG_TRAIN if with_exog else None, fh=fh)
    prediction = forecaster.predict(fh=fh, X=EXOG_FUTURE if with_exog else None)
    _check_forecast(prediction)
    assert prediction.name == "y"


@SKTIME_REMEMBER_DATA
@pytest.mark.filterwarnings("ignore:A column-vector y was passed:UserWarning")
def test_sktime_direct_reduction_forecaster_passes_exog_at_the_target_time():
    pytest.importorskip("sktime")
    from sktime.forecasting.compose import DirectReductionForecaster

    # Its fit leaves a "default" filter for FutureWarning behind (sktime's
    # _SuppressWarningPattern), so pytest reports the remember_data warning it then raises.
    forecaster = DirectReductionForecaster(_recording(n_lags=N_LAGS), window_length=N_LAGS)
    forecaster.fit(Y, X=EXOG_TRAIN, fh=[1])
    sequences = _recorded(forecaster.estimators_[0])
    # Table lag_0__y .. lag_3__y (newest first), x, z at the target time; the first
    # N_LAGS - 1 rows hold back-filled lags, so only complete rows are compared.
    complete = slice(N_LAGS - 1, None)
    targets = np.arange(1, N)[complete]
    assert sequences.shape == (N - 1, N_LAGS, 3)
    assert_array_equal(sequences[complete, :, 0], _past(Y, targets, N_LAGS))
    assert_array_equal(sequences[complete, -1, 1:], EXOG_TRAIN.to_numpy()[targets])

    forecaster = DirectReductionForecaster(_one_liner(), window_length=N_LAGS)
    forecaster.fit(Y, X=EXOG_TRAIN, fh=np.arange(1, HORIZON + 1))
    _check_forecast(forecaster.predict(X=EXOG_FUTURE))


# --- MAPIE -----------------------------------------------------------------------


def _lag_table(with_exog):
    """skforecast's layout built by hand: lag_1 .. lag_p, then x at the target time."""
    table = np.column_stack([Y.to_numpy()[N_LAGS - k : N - k] for k in range(1, N_LAGS + 1)])
    if with_exog:
        table = np.column_stack([table, EXOG_TRAIN["x"].to_numpy()[N_LAGS:]])
    return table, Y.to_numpy()[N_LAGS:]


def _for_mapie(pipeline, with_exog):
    """The pipeline as MAPIE 1.6 takes it.

    Before using a fitted pipeline MAPIE calls its last step on ``np.zeros((1,
    n_features_in_))``; for the network that is a sequence of one feature per step, so
    with more features per step the pipeline goes in a meta-estimator, which MAPIE
    calls as a whole.
    """
    return TransformedTargetRegressor(pipeline) if with_exog else pipeline


# Training, conformalisation and test periods, in time order.
TRAIN, CONFORMALIZE, TEST = slice(0, 140), slice(140, 196), slice(196, None)


def _check_mapie_interval(points, intervals, n):
    assert points.shape == (n,)
    assert intervals.shape == (n, 2, 1)
    assert np.isfinite(intervals).all()
    assert (intervals[:, 0, 0] <= intervals[:, 1, 0]).all()


@pytest.mark.parametrize("with_exog", [False, True])
def test_mapie_split_conformal_regressor(with_exog):
    pytest.importorskip("mapie")
    from mapie.regression import SplitConformalRegressor

    X, y = _lag_table(with_exog)
    conformal = SplitConformalRegressor(
        _for_mapie(_one_liner(), with_exog), confidence_level=0.9, prefit=False
    )
    conformal.fit(X[TRAIN], y[TRAIN]).conformalize(X[CONFORMALIZE], y[CONFORMALIZE])
    points, intervals = conformal.predict_interval(X[TEST])
    _check_mapie_interval(points, intervals, y[TEST].size)
    # Absolute residuals give intervals centred on the point forecasts.
    assert_allclose(intervals[:, :, 0].mean(axis=1), points)


@pytest.mark.parametrize("with_exog", [False, True])
def test_mapie_conformalized_quantile_regressor(with_exog):
    pytest.importorskip("mapie")
    from mapie.regression import ConformalizedQuantileRegressor

    X, y = _lag_table(with_exog)
    quantiles = (0.05, 0.95, 0.5)  # lower, upper, median: the order MAPIE expects
    regressors = [
        _for_mapie(
            make_pipeline(
                LagsToSequences(n_lags=N_LAGS),
                SequenceStandardScaler(),
                _network(loss="quantile", quantile=q),
            ),
            with_exog,
        ).fit(X[TRAIN], y[TRAIN])
        for q in quantiles
    ]
    conformal = ConformalizedQuantileRegressor(regressors, confidence_level=0.9, prefit=True)
    conformal.conformalize(X[CONFORMALIZE], y[CONFORMALIZE])
    points, intervals = conformal.predict_interval(X[TEST])
    _check_mapie_interval(points, intervals, y[TEST].size)
    assert_allclose(points, regressors[2].predict(X[TEST]))
