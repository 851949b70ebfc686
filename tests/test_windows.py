import pickle

import numpy as np
import pandas as pd
import pytest
from numpy.lib.array_utils import byte_bounds
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.metrics import mean_absolute_error
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit, cross_val_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import get_tags
from sklearn.utils.estimator_checks import check_estimator

from skdeeprnn import DeepRNNRegressor
from skdeeprnn.preprocessing import SequenceStandardScaler, SlidingWindowTransformer, make_windows

# Four time steps of two features; the second is ten times the first.
TABLE = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0], [4.0, 40.0]])

# Eight time steps of two features: column 0 is the step, column 1 is 100 + the step.
SERIES = np.column_stack([np.arange(8.0), 100.0 + np.arange(8.0)])


# --- SlidingWindowTransformer: worked examples ------------------------------------


def test_transform_edge_padding_worked_example():
    Xt = SlidingWindowTransformer(window=3).fit_transform(TABLE)
    expected = np.array(
        [
            [[1, 10], [1, 10], [1, 10]],
            [[1, 10], [1, 10], [2, 20]],
            [[1, 10], [2, 20], [3, 30]],
            [[2, 20], [3, 30], [4, 40]],
        ],
        dtype=float,
    )
    assert Xt.shape == (4, 3, 2)
    assert_array_equal(Xt, expected)


def test_transform_zero_padding_worked_example():
    Xt = SlidingWindowTransformer(window=3, padding="zero").fit_transform(TABLE)
    expected = np.array(
        [
            [[0, 0], [0, 0], [1, 10]],
            [[0, 0], [1, 10], [2, 20]],
            [[1, 10], [2, 20], [3, 30]],
            [[2, 20], [3, 30], [4, 40]],
        ],
        dtype=float,
    )
    assert_array_equal(Xt, expected)


def test_transform_mean_padding_uses_the_mean_seen_in_fit():
    transformer = SlidingWindowTransformer(window=3, padding="mean").fit(TABLE)
    assert_array_equal(transformer.mean_, [2.5, 25.0])
    # Transforming later rows pads with the fitted mean, not the batch's own values.
    Xt = transformer.transform(TABLE[2:])
    expected = np.array(
        [
            [[2.5, 25], [2.5, 25], [3, 30]],
            [[2.5, 25], [3, 30], [4, 40]],
        ]
    )
    assert_array_equal(Xt, expected)


def test_edge_padding_repeats_the_first_row_of_the_transformed_batch():
    transformer = SlidingWindowTransformer(window=3).fit(TABLE)
    Xt = transformer.transform(TABLE[2:])
    expected = np.array([[[3, 30], [3, 30], [3, 30]], [[3, 30], [3, 30], [4, 40]]], dtype=float)
    assert_array_equal(Xt, expected)


def test_window_longer_than_table_is_all_padding_before_the_start():
    Xt = SlidingWindowTransformer(window=5).fit_transform(TABLE[:2])
    expected = np.array(
        [
            [[1, 10], [1, 10], [1, 10], [1, 10], [1, 10]],
            [[1, 10], [1, 10], [1, 10], [1, 10], [2, 20]],
        ],
        dtype=float,
    )
    assert_array_equal(Xt, expected)


def test_window_of_one_adds_a_time_axis():
    Xt = SlidingWindowTransformer(window=1).fit_transform(TABLE)
    assert_array_equal(Xt, TABLE[:, None, :])


def test_full_windows_match_make_windows():
    Xt = SlidingWindowTransformer(window=3).fit_transform(SERIES)
    X, _ = make_windows(SERIES, window=3, horizon=1)
    # make_windows stops one row early: the last window has no next value.
    assert_array_equal(Xt[2:-1], X)


# --- SlidingWindowTransformer: input kinds and dtypes ------------------------------


def test_dataframe_input_records_feature_names():
    frame = pd.DataFrame(TABLE, columns=["pm25", "temp"])
    transformer = SlidingWindowTransformer(window=3)
    Xt = transformer.fit_transform(frame)
    assert_array_equal(transformer.feature_names_in_, ["pm25", "temp"])
    assert transformer.n_features_in_ == 2
    assert_array_equal(Xt, SlidingWindowTransformer(window=3).fit_transform(TABLE))
    with pytest.raises(ValueError, match="feature names should match"):
        transformer.transform(frame.rename(columns={"temp": "dewp"}))


def test_series_input_is_one_feature():
    series = pd.Series([1.0, 2.0, 3.0], name="pm25")
    transformer = SlidingWindowTransformer(window=2)
    Xt = transformer.fit_transform(series)
    assert transformer.n_features_in_ == 1
    assert_array_equal(transformer.feature_names_in_, ["pm25"])
    assert_array_equal(Xt[:, :, 0], [[1, 1], [1, 2], [2, 3]])


def test_datetime_index_in_order_is_accepted():
    index = pd.date_range("2021-01-01", periods=4, freq="h")
    frame = pd.DataFrame(TABLE, columns=["a", "b"], index=index)
    assert SlidingWindowTransformer(window=2).fit_transform(frame).shape == (4, 2, 2)


@pytest.mark.parametrize("padding", ["edge", "zero", "mean", "missing"])
def test_float32_is_preserved(padding):
    transformer = SlidingWindowTransformer(window=3, padding=padding)
    assert transformer.fit_transform(TABLE.astype(np.float32)).dtype == np.float32
    # Fitted on float64, transforming float32 still gives float32 (and vice versa).
    assert transformer.transform(TABLE.astype(np.float32)).dtype == np.float32
    assert transformer.fit(TABLE.astype(np.float32)).transform(TABLE).dtype == np.float64


def test_integers_become_float64():
    Xt = SlidingWindowTransformer(window=2).fit_transform(TABLE.astype(int))
    assert Xt.dtype == np.float64


def test_dtype_tag_lists_both_floats():
    tags = get_tags(SlidingWindowTransformer())
    assert tags.transformer_tags.preserves_dtype == ["float64", "float32"]
    assert tags.input_tags.two_d_array


# --- SlidingWindowTransformer: memory -----------------------------------------------


def test_window_of_one_is_a_view_of_the_input():
    Xt = SlidingWindowTransformer(window=1).fit_transform(TABLE)
    assert np.shares_memory(Xt, TABLE)
    assert not Xt.flags.writeable


@pytest.mark.parametrize("padding", ["edge", "zero", "mean", "missing"])
def test_output_is_a_read_only_view_of_the_padded_table(padding):
    n_samples, window = 50, 10
    X = np.random.default_rng(0).normal(size=(n_samples, 3))
    Xt = SlidingWindowTransformer(window=window, padding=padding).fit_transform(X)
    assert not Xt.flags.writeable
    # Memory spanned is one padded table, not n_samples * window rows.
    low, high = byte_bounds(Xt)
    assert high - low == (n_samples + window - 1) * 3 * Xt.itemsize
    # Consecutive windows overlap in memory.
    assert np.shares_memory(Xt[window], Xt[window + 1])


# --- SlidingWindowTransformer: pipelines and output API -----------------------------


def test_in_a_pipeline_behind_a_scaler():
    pipeline = make_pipeline(StandardScaler(), SlidingWindowTransformer(window=3, padding="zero"))
    Xt = pipeline.fit_transform(SERIES)
    assert Xt.shape == (8, 3, 2)
    scaled = StandardScaler().fit_transform(SERIES)
    assert_array_equal(Xt[:, -1, :], scaled)
    assert_array_equal(Xt[0, :2], np.zeros((2, 2)))


def test_no_set_output_or_feature_names_out_for_3d_output():
    transformer = SlidingWindowTransformer()
    assert not hasattr(transformer, "set_output")
    assert not hasattr(transformer, "get_feature_names_out")


# --- SlidingWindowTransformer: history from fit ----------------------------------------


def test_history_worked_example():
    transformer = SlidingWindowTransformer(window=3, history=True).fit(TABLE[:2])
    assert_array_equal(transformer.history_, [[1, 10], [2, 20]])
    # The rows before the later table are the fitted table's last two rows, not padding.
    Xt = transformer.transform(TABLE[2:])
    assert_array_equal(Xt, [[[1, 10], [2, 20], [3, 30]], [[2, 20], [3, 30], [4, 40]]])


@pytest.mark.parametrize("padding", ["edge", "zero", "mean", "missing"])
@pytest.mark.parametrize("n_fit", [1, 2, 4, 5])
def test_history_gives_the_windows_of_the_joined_tables(padding, n_fit):
    # Whatever the fitted table's length (shorter than window - 1 included, where padding
    # fills the rest), a later table gets exactly the windows of the two tables joined.
    X = np.column_stack([np.arange(9.0), 100.0 + np.arange(9.0)])
    transformer = SlidingWindowTransformer(window=4, padding=padding, history=True)
    transformer.fit(X[:n_fit])
    # The joined table windowed without history, padded as fitted (mean: of X[:n_fit]).
    joined = SlidingWindowTransformer(window=4, padding=padding).fit(X[:n_fit]).transform(X)
    expected = joined[n_fit:]
    assert_array_equal(transformer.transform(X[n_fit:]), expected)


def test_history_is_off_by_default():
    transformer = SlidingWindowTransformer(window=3).fit(TABLE[:2])
    assert transformer.history is False
    assert_array_equal(transformer.transform(TABLE[2:])[0], [[3, 30], [3, 30], [3, 30]])


def test_fit_transform_pads_even_with_history():
    # The fitted table has no earlier rows: its own windows must not start with its end.
    Xt = SlidingWindowTransformer(window=3, history=True).fit_transform(TABLE)
    assert_array_equal(Xt, SlidingWindowTransformer(window=3).fit_transform(TABLE))
    assert_array_equal(Xt[0], [[1, 10], [1, 10], [1, 10]])


def test_history_can_be_switched_on_after_fit():
    transformer = SlidingWindowTransformer(window=3).fit(TABLE[:2])
    transformer.set_params(history=True)
    assert_array_equal(transformer.transform(TABLE[2:])[0], [[1, 10], [2, 20], [3, 30]])


def test_history_is_a_copy_of_the_last_rows_only():
    X = np.random.default_rng(0).normal(size=(100, 2))
    transformer = SlidingWindowTransformer(window=5, history=True).fit(X)
    assert transformer.history_.shape == (4, 2)
    assert_array_equal(transformer.history_, X[-4:])
    assert not np.shares_memory(transformer.history_, X)
    assert SlidingWindowTransformer(window=1).fit(X).history_.shape == (0, 2)


def test_history_dtypes():
    transformer = SlidingWindowTransformer(window=3, history=True).fit(TABLE)
    assert transformer.history_.dtype == np.float64
    # float64 history before float32 rows: the output follows the transformed rows.
    assert transformer.transform(TABLE.astype(np.float32)).dtype == np.float32
    transformer.fit(TABLE.astype(np.float32))
    assert transformer.history_.dtype == np.float32
    assert transformer.transform(TABLE).dtype == np.float64


def test_history_with_dataframes():
    frame = pd.DataFrame(
        TABLE, columns=["pm25", "temp"], index=pd.date_range("2021-01-01", periods=4, freq="h")
    )
    transformer = SlidingWindowTransformer(window=3, history=True).fit(frame.iloc[:2])
    assert_array_equal(transformer.transform(frame.iloc[2:])[0], [[1, 10], [2, 20], [3, 30]])


def test_history_survives_pickling():
    transformer = SlidingWindowTransformer(window=3, history=True).fit(TABLE[:2])
    restored = pickle.loads(pickle.dumps(transformer))
    assert restored.history is True
    assert_array_equal(restored.history_, transformer.history_)
    assert_array_equal(restored.transform(TABLE[2:]), transformer.transform(TABLE[2:]))


def test_pipeline_predict_gives_test_windows_their_history():
    # Pipeline.fit windows the training rows with fit_transform (padded); transform of the
    # test rows then starts from the *scaled* training tail, as in the joined table.
    pipeline = make_pipeline(StandardScaler(), SlidingWindowTransformer(window=3, history=True))
    pipeline.fit(SERIES[:5])
    scaled = pipeline[0].transform(SERIES)
    expected = SlidingWindowTransformer(window=3).fit_transform(scaled)[5:]
    assert_allclose(pipeline.transform(SERIES[5:]), expected)


class _OldestStepRegressor(RegressorMixin, BaseEstimator):
    """Predict the first (oldest) step of each window: exact only with a full history."""

    def fit(self, X, y):
        self.n_features_in_ = X.shape[2]
        return self

    def predict(self, X):
        return X[:, 0, 0]


@pytest.mark.parametrize("history, exact", [(True, True), (False, False)])
def test_time_series_split_validation_folds_get_their_history(history, exact):
    # y_t = x_{t - window + 1}: predicting it needs the rows before each validation fold,
    # which in TimeSeriesSplit are the end of the training fold.
    window = 6
    X = np.arange(60.0).reshape(-1, 1)
    y = X[:, 0] - window + 1
    pipeline = make_pipeline(
        SlidingWindowTransformer(window=window, history=history), _OldestStepRegressor()
    )
    errors = -cross_val_score(
        pipeline,
        X[window:],
        y[window:],
        cv=TimeSeriesSplit(n_splits=3),
        scoring="neg_mean_absolute_error",
    )
    assert (errors == 0).all() if exact else (errors > 0).all()


def test_time_series_split_with_a_gap_skips_the_gap_rows():
    # The documented limit: the history is the training fold's end, gap rows are not seen.
    X = np.arange(20.0).reshape(-1, 1)
    cv = TimeSeriesSplit(n_splits=2, gap=2)
    train, test = next(cv.split(X))
    transformer = SlidingWindowTransformer(window=3, history=True).fit(X[train])
    first = transformer.transform(X[test])[0, :, 0]
    assert_array_equal(first, [train[-2], train[-1], test[0]])
    assert test[0] - train[-1] == 3


SINE_PERIOD = 24  # an hourly series with a daily cycle


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_history_lowers_the_error_of_the_first_test_windows_on_a_sine():
    rng = np.random.RandomState(0)
    t = np.arange(1200)
    series = np.sin(2 * np.pi * t / SINE_PERIOD) + 0.05 * rng.normal(size=t.size)
    X, y = series[:-1, None], series[1:]  # forecast the next hour
    n_train, window = 1000, 24
    pipeline = make_pipeline(
        StandardScaler(),
        SlidingWindowTransformer(window=window),
        DeepRNNRegressor(
            hidden_size=8, max_iter=20, learning_rate_init=0.01, batch_size=32, random_state=0
        ),
    ).fit(X[:n_train], y[:n_train])
    X_test, y_test = X[n_train:], y[n_train:]
    padded = pipeline.predict(X_test)
    # history changes only transform, so the fitted network is the same: switch it on.
    pipeline.set_params(slidingwindowtransformer__history=True)
    with_history = pipeline.predict(X_test)

    first = slice(0, window - 1)
    mae_padded = mean_absolute_error(y_test[first], padded[first])
    mae_history = mean_absolute_error(y_test[first], with_history[first])
    mae_rest = mean_absolute_error(y_test[window - 1 :], with_history[window - 1 :])
    # Measured: 0.165 padded, 0.042 with history, 0.045 on the later, complete windows.
    assert mae_padded > 2.5 * mae_history
    assert mae_history < 1.5 * mae_rest
    assert_array_equal(padded[window - 1 :], with_history[window - 1 :])


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_grid_search_over_time_series_split_prefers_history():
    rng = np.random.RandomState(0)
    t = np.arange(700)
    series = np.sin(2 * np.pi * t / SINE_PERIOD) + 0.05 * rng.normal(size=t.size)
    X, y = series[:-1, None], series[1:]
    pipeline = Pipeline(
        [
            ("scale", StandardScaler()),
            ("window", SlidingWindowTransformer(window=24)),
            (
                "rnn",
                DeepRNNRegressor(
                    hidden_size=8,
                    max_iter=20,
                    learning_rate_init=0.01,
                    batch_size=32,
                    random_state=0,
                ),
            ),
        ]
    )
    # Validation folds of two days: 23 of their 48 windows reach back before the fold.
    search = GridSearchCV(
        pipeline,
        {"window__history": [False, True]},
        cv=TimeSeriesSplit(n_splits=3, test_size=48),
        scoring="neg_mean_absolute_error",
    ).fit(X, y)
    assert search.best_params_ == {"window__history": True}
    # The same networks are fitted either way (fit_transform pads in both), so the history
    # alone makes the difference. Measured MAE per fold: 0.08-0.11 padded, 0.05 with history.
    scores = [search.cv_results_[f"split{k}_test_score"] for k in range(3)]
    assert all(-padded > 1.3 * -with_history for padded, with_history in scores)


# --- SlidingWindowTransformer: padding='missing' ---------------------------------------


def test_missing_padding_worked_example():
    Xt = SlidingWindowTransformer(window=3, padding="missing").fit_transform(TABLE)
    nan = np.nan
    expected = np.array(
        [
            [[nan, nan], [nan, nan], [1, 10]],
            [[nan, nan], [1, 10], [2, 20]],
            [[1, 10], [2, 20], [3, 30]],
            [[2, 20], [3, 30], [4, 40]],
        ]
    )
    assert_array_equal(Xt, expected)  # NaN compares equal to NaN at the same place


@pytest.mark.parametrize("window", [1, 2, 5, 9])
def test_missing_padding_is_nan_exactly_before_the_start(window):
    # Output row t, step k holds input row t - window + 1 + k: NaN in every feature
    # exactly when that row is before the table, the input row itself otherwise.
    X = np.random.default_rng(0).normal(size=(7, 3))
    Xt = SlidingWindowTransformer(window=window, padding="missing").fit_transform(X)
    assert Xt.shape == (7, window, 3)
    rows = np.arange(7)[:, None] - window + 1 + np.arange(window)  # (n_samples, window)
    before = rows < 0
    assert_array_equal(np.isnan(Xt).all(axis=2), before)
    assert not np.isnan(Xt[~before]).any()  # no feature of a real row is NaN
    assert_array_equal(Xt[~before], X[rows[~before]])


def test_missing_padding_with_a_window_longer_than_the_table():
    Xt = SlidingWindowTransformer(window=5, padding="missing").fit_transform(TABLE[:2])
    assert np.isnan(Xt[0, :4]).all() and np.isnan(Xt[1, :3]).all()
    assert_array_equal(Xt[0, 4], TABLE[0])
    assert_array_equal(Xt[1, 3:], TABLE[:2])


def test_missing_padding_with_history_fills_only_the_rows_history_lacks():
    # window - 1 = 4 rows before the later table; the fitted table has only 1 of them.
    transformer = SlidingWindowTransformer(window=5, padding="missing", history=True)
    transformer.fit(TABLE[:1])
    assert_array_equal(transformer.history_, TABLE[:1])
    Xt = transformer.transform(TABLE[1:])
    nan = [np.nan, np.nan]
    assert_array_equal(
        Xt,
        [
            [nan, nan, nan, [1, 10], [2, 20]],
            [nan, nan, [1, 10], [2, 20], [3, 30]],
            [nan, [1, 10], [2, 20], [3, 30], [4, 40]],
        ],
    )
    # A fitted table as long as the history needs: no NaN at all.
    transformer.fit(SERIES[:4])
    assert not np.isnan(transformer.transform(SERIES[4:])).any()


def test_missing_padding_fit_transform_pads_even_with_history():
    Xt = SlidingWindowTransformer(window=3, padding="missing", history=True).fit_transform(TABLE)
    assert_array_equal(
        Xt, SlidingWindowTransformer(window=3, padding="missing").fit_transform(TABLE)
    )
    assert np.isnan(Xt[0, :2]).all()


def test_missing_padding_fit_transform_equals_fit_then_transform():
    transformer = SlidingWindowTransformer(window=3, padding="missing")
    assert_array_equal(transformer.fit_transform(SERIES), transformer.fit(SERIES).transform(SERIES))


@pytest.mark.parametrize(
    "dtype, expected",
    [
        (np.float64, np.float64),
        (np.float32, np.float32),
        (np.int64, np.float64),
        (bool, np.float64),
    ],
)
def test_missing_padding_output_dtype(dtype, expected):
    # NaN needs a float: float tables keep their precision, integer (and bool) tables
    # become float64, as with the other paddings.
    Xt = SlidingWindowTransformer(window=3, padding="missing").fit_transform(TABLE.astype(dtype))
    assert Xt.dtype == expected
    assert np.isnan(Xt[0, :2]).all()
    assert_array_equal(Xt[:, -1], TABLE.astype(dtype).astype(expected))


def test_missing_padding_of_a_float32_table_after_float64_history():
    transformer = SlidingWindowTransformer(window=4, padding="missing", history=True)
    transformer.fit(TABLE[:1])  # float64 history, shorter than window - 1
    Xt = transformer.transform(TABLE[1:].astype(np.float32))
    assert Xt.dtype == np.float32
    assert np.isnan(Xt[0, :2]).all()
    assert_array_equal(Xt[0, 2:], TABLE[:2])


def test_missing_padding_with_a_dataframe():
    frame = pd.DataFrame(
        TABLE, columns=["pm25", "temp"], index=pd.date_range("2021-01-01", periods=4, freq="h")
    )
    Xt = SlidingWindowTransformer(window=2, padding="missing").fit_transform(frame)
    assert np.isnan(Xt[0, 0]).all()
    assert_array_equal(Xt[1:, 0], TABLE[:-1])


def test_missing_padding_still_rejects_nan_in_the_table():
    # Only the padding is missing: NaN inside the table is rejected as with the other options.
    X = TABLE.copy()
    X[2] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        SlidingWindowTransformer(window=2, padding="missing").fit(X)


def test_missing_padding_mean_is_unaffected():
    # mean_ is the mean of the fitted table: the padding is added after fit.
    transformer = SlidingWindowTransformer(window=3, padding="missing").fit(TABLE)
    assert_array_equal(transformer.mean_, [2.5, 25.0])


def test_sequence_scaler_keeps_the_missing_rows_nan():
    X = np.random.default_rng(0).normal(loc=5.0, scale=3.0, size=(40, 2))
    windows = SlidingWindowTransformer(window=5, padding="missing").fit_transform(X)
    scaled = SequenceStandardScaler().fit_transform(windows)
    missing = np.isnan(windows).all(axis=2)
    assert missing.sum() == 4 * 5 / 2  # rows 0-3 miss 4, 3, 2, 1 steps
    assert_array_equal(np.isnan(scaled).all(axis=2), missing)
    assert not np.isnan(scaled[~missing]).any()
    # The statistics ignore the NaN steps: real steps are standardised.
    assert_allclose(scaled[~missing].mean(axis=0), 0.0, atol=1e-12)
    assert_allclose(scaled[~missing].std(axis=0), 1.0)


def test_missing_padding_in_a_pipeline_with_the_sequence_scaler():
    pipeline = make_pipeline(
        SlidingWindowTransformer(window=3, padding="missing"), SequenceStandardScaler()
    )
    Xt = pipeline.fit_transform(SERIES)
    assert Xt.shape == (8, 3, 2)
    assert np.isnan(Xt[0, :2]).all() and np.isnan(Xt[1, :1]).all()
    assert not np.isnan(Xt[2:]).any()


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_missing_padding_pipeline_predicts_every_row():
    # The estimators skip missing steps, so the first window - 1 rows, whose windows start
    # with NaN, still get a finite prediction.
    rng = np.random.RandomState(0)
    X = rng.normal(size=(40, 2))
    y = X[:, 0] + 0.5 * X[:, 1]
    pipeline = make_pipeline(
        SlidingWindowTransformer(window=5, padding="missing"),
        DeepRNNRegressor(hidden_size=4, max_iter=3, random_state=0, dtype="float64"),
    )
    predictions = pipeline.fit(X, y).predict(X)
    assert predictions.shape == (40,)
    assert np.isfinite(predictions).all()
    # the first row's window is one real row: the network starts there, as on that row alone
    network = pipeline[-1]
    # a list: padded to the fitted 5 steps, at the front as the model has the autoregressive
    # term (the network alone gives the same at either end)
    alone = network.predict([X[:1]])
    np.testing.assert_allclose(predictions[0], alone[0], rtol=1e-12)


# --- SlidingWindowTransformer: errors -----------------------------------------------


def test_transform_before_fit_raises():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        SlidingWindowTransformer().transform(TABLE)


def test_transform_with_other_feature_count_raises():
    transformer = SlidingWindowTransformer(window=2).fit(TABLE)
    with pytest.raises(ValueError, match="X has 1 features, but SlidingWindowTransformer is"):
        transformer.transform(TABLE[:, :1])


@pytest.mark.parametrize(
    "params, match",
    [
        ({"window": 0}, r"'window' parameter .* must be an int in the range \[1, inf\)"),
        ({"window": 2.5}, r"'window' parameter .* must be an int"),
        ({"padding": "nan"}, r"'padding' parameter .* must be a str among .*'missing'"),
        ({"padding": "Missing"}, r"'padding' parameter .* must be a str among"),
        ({"padding": None}, r"'padding' parameter .* must be a str among"),
        ({"history": "yes"}, r"'history' parameter .* must be an instance of 'bool'"),
    ],
)
def test_invalid_parameters_raise(params, match):
    with pytest.raises(ValueError, match=match):
        SlidingWindowTransformer(**params).fit(TABLE)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_input_raises(bad):
    X = TABLE.copy()
    X[2, 1] = bad
    with pytest.raises(ValueError, match="Input X contains (NaN|infinity)"):
        SlidingWindowTransformer(window=2).fit(X)
    transformer = SlidingWindowTransformer(window=2).fit(TABLE)
    with pytest.raises(ValueError, match="Input X contains (NaN|infinity)"):
        transformer.transform(X)


def test_empty_input_raises():
    with pytest.raises(ValueError, match=r"0 sample\(s\)"):
        SlidingWindowTransformer(window=2).fit(np.empty((0, 2)))
    with pytest.raises(ValueError, match=r"0 feature\(s\)"):
        SlidingWindowTransformer(window=2).fit(np.empty((3, 0)))


def test_3d_input_raises():
    with pytest.raises(ValueError, match=r"got an array with 3 dimensions.*already windowed"):
        SlidingWindowTransformer(window=2).fit(np.zeros((4, 2, 2)))


def test_1d_array_raises_but_series_is_accepted():
    with pytest.raises(ValueError, match=r"got a 1D array of shape \(4,\).*Reshape your data"):
        SlidingWindowTransformer(window=2).fit(TABLE[:, 0])
    SlidingWindowTransformer(window=2).fit(pd.Series(TABLE[:, 0]))


def test_unordered_index_raises():
    frame = pd.DataFrame(
        TABLE, index=pd.to_datetime(["2021-01-01", "2021-01-03", "2021-01-02", "2021-01-04"])
    )
    with pytest.raises(ValueError, match=r"rows must be in time order.*not increasing.*position 2"):
        SlidingWindowTransformer(window=2).fit(frame)
    transformer = SlidingWindowTransformer(window=2).fit(frame.sort_index())
    with pytest.raises(ValueError, match="rows must be in time order"):
        transformer.transform(frame)
    shuffled = pd.DataFrame(TABLE).sample(frac=1.0, random_state=1)
    with pytest.raises(ValueError, match="rows must be in time order"):
        SlidingWindowTransformer(window=2).fit(shuffled)


def test_duplicated_index_raises():
    series = pd.Series([1.0, 2.0, 3.0], index=[0, 1, 1])
    with pytest.raises(ValueError, match=r"rows must be in time order.*duplicate labels \(1\)"):
        SlidingWindowTransformer(window=2).fit(series)


# --- SlidingWindowTransformer: scikit-learn conformance ------------------------------


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")  # array API not set up
@pytest.mark.parametrize("padding", ["edge", "missing"])
def test_check_estimator(padding):
    check_estimator(
        SlidingWindowTransformer(window=3, padding=padding),
        expected_failed_checks={
            "check_methods_sample_order_invariance": (
                "each output row holds the rows before it, so permuting the input rows "
                "changes the windows, not just their order"
            ),
            "check_methods_subset_invariance": (
                "each output row holds the rows before it, so a subset transformed alone "
                "loses its history and is padded instead"
            ),
        },
    )


# fit_transform pads the fitted table, transform gives a later table the fitted table's end:
# with history=True, fit(X).transform(X) differs from fit_transform(X) on purpose.
HISTORY_NOT_FIT_TRANSFORM = (
    "with history=True, transform treats X as the continuation of the fitted table, "
    "fit_transform pads it: their first window - 1 rows differ by design"
)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")  # array API not set up
def test_check_estimator_with_history():
    check_estimator(
        SlidingWindowTransformer(window=3, history=True),
        expected_failed_checks={
            "check_transformer_general": HISTORY_NOT_FIT_TRANSFORM,
            "check_transformer_data_not_an_array": HISTORY_NOT_FIT_TRANSFORM,
            "check_methods_sample_order_invariance": "permuted rows give other windows",
            "check_methods_subset_invariance": "a subset has other rows before it",
        },
    )


# --- make_windows: worked examples ---------------------------------------------------


def test_make_windows_horizon_one():
    X, y = make_windows(SERIES[:, 0], window=3)
    assert_array_equal(X[:, :, 0], [[0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5], [4, 5, 6]])
    assert_array_equal(y, [3, 4, 5, 6, 7])
    assert X.shape == (5, 3, 1)
    assert y.shape == (5,)


def test_make_windows_horizon_three():
    X, y = make_windows(SERIES[:, 0], window=3, horizon=3)
    assert_array_equal(X[:, :, 0], [[0, 1, 2], [1, 2, 3], [2, 3, 4]])
    assert_array_equal(y, [5, 6, 7])


def test_make_windows_stride_two():
    X, y = make_windows(SERIES[:, 0], window=3, stride=2)
    assert_array_equal(X[:, :, 0], [[0, 1, 2], [2, 3, 4], [4, 5, 6]])
    assert_array_equal(y, [3, 5, 7])
    # A stride that does not land on the last start stops before it.
    X, y = make_windows(SERIES[:, 0], window=2, stride=4)
    assert_array_equal(X[:, :, 0], [[0, 1], [4, 5]])
    assert_array_equal(y, [2, 6])


def test_make_windows_all_columns_are_targets_by_default():
    X, y = make_windows(SERIES, window=3, horizon=2)
    assert X.shape == (4, 3, 2)
    assert_array_equal(X[0], [[0, 100], [1, 101], [2, 102]])
    assert_array_equal(y, [[4, 104], [5, 105], [6, 106], [7, 107]])


@pytest.mark.parametrize(
    "target, expected",
    [
        (1, [103, 104, 105, 106, 107]),
        (-2, [3, 4, 5, 6, 7]),
        ([1, 0], [[103, 3], [104, 4], [105, 5], [106, 6], [107, 7]]),
        ([0], [[3], [4], [5], [6], [7]]),
    ],
)
def test_make_windows_target_positions(target, expected):
    X, y = make_windows(SERIES, window=3, target=target)
    assert X.shape == (5, 3, 2)
    assert_array_equal(y, expected)


def test_make_windows_target_names_of_a_dataframe():
    frame = pd.DataFrame(SERIES, columns=["step", "load"])
    _, y = make_windows(frame, window=3, target="load")
    assert_array_equal(y, [103, 104, 105, 106, 107])
    _, y = make_windows(frame, window=3, target=["load", 0])
    assert_array_equal(y[:, 0], [103, 104, 105, 106, 107])
    assert_array_equal(y[:, 1], [3, 4, 5, 6, 7])


def test_make_windows_series_with_its_name_as_target():
    series = pd.Series(SERIES[:, 0], name="step")
    X, y = make_windows(series, window=3, target="step")
    assert X.shape == (5, 3, 1)
    assert_array_equal(y, [3, 4, 5, 6, 7])


def test_make_windows_several_horizons():
    X, y = make_windows(SERIES, window=3, horizon=[1, 3], target=1)
    assert_array_equal(X[:, :, 1], [[100, 101, 102], [101, 102, 103], [102, 103, 104]])
    assert_array_equal(y, [[103, 105], [104, 106], [105, 107]])
    _, y = make_windows(SERIES[:, 0], window=3, horizon=(2,))
    assert y.shape == (4, 1)


# --- make_windows: memory and dtypes --------------------------------------------------


def test_make_windows_is_a_read_only_view_of_the_input():
    X, _ = make_windows(SERIES, window=3, stride=2)
    assert np.shares_memory(X, SERIES)
    assert not X.flags.writeable


def test_make_windows_dtypes():
    X, y = make_windows(SERIES.astype(np.float32), window=3)
    assert X.dtype == y.dtype == np.float32
    X, y = make_windows(SERIES.astype(int), window=3)
    assert X.dtype == y.dtype == np.float64


# --- make_windows: errors -------------------------------------------------------------


@pytest.mark.parametrize(
    "params, match",
    [
        ({"window": 0}, r"'window' parameter of make_windows must be an int in the range \[1"),
        ({"horizon": 0}, r"'horizon' parameter of make_windows must be an int in the range \[1"),
        ({"stride": 0}, r"'stride' parameter of make_windows must be an int in the range \[1"),
        ({"horizon": [1, 0]}, r"horizon must be a positive int or .*got \[1, 0\]"),
        ({"horizon": []}, r"non-empty sequence of positive ints, got \[\]"),
        ({"horizon": [1.5]}, r"sequence of positive ints, got \[1.5\]"),
    ],
)
def test_make_windows_invalid_parameters(params, match):
    kwargs = {"window": 3, **params}
    with pytest.raises(ValueError, match=match):
        make_windows(SERIES, **kwargs)


@pytest.mark.parametrize(
    "window, horizon, match",
    [
        (8, 1, r"need at least 9 rows \(window=8 \+ horizon=1\), got 8"),
        (3, [1, 6], r"need at least 9 rows \(window=3 \+ horizon=6\), got 8"),
    ],
)
def test_make_windows_too_short(window, horizon, match):
    with pytest.raises(ValueError, match=match):
        make_windows(SERIES, window=window, horizon=horizon, target=0)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_make_windows_non_finite(bad):
    series = SERIES.copy()
    series[3, 0] = bad
    with pytest.raises(ValueError, match="Input series contains (NaN|infinity)"):
        make_windows(series, window=3)


def test_make_windows_empty_and_3d():
    with pytest.raises(ValueError, match=r"0 sample\(s\)"):
        make_windows(np.empty((0, 2)), window=1)
    with pytest.raises(ValueError, match="got an array with 3 dimensions"):
        make_windows(np.zeros((5, 2, 1)), window=1)


@pytest.mark.parametrize(
    "series, target, match",
    [
        (
            pd.DataFrame(SERIES, columns=["a", "b"]),
            "c",
            r"target column 'c' not found; columns are \['a', 'b'\]",
        ),
        (
            pd.DataFrame(SERIES, columns=["a", "a"]),
            "a",
            r"series has duplicate column names \['a'\]; rename them",
        ),
        (SERIES, "a", r"target='a' is a column name, but series has no column names"),
        (SERIES, 2, r"target column 2 is out of range for a series with 2 column"),
        (SERIES, -3, r"target column -3 is out of range"),
        (SERIES, [], r"target must not be an empty list"),
    ],
)
def test_make_windows_unknown_target(series, target, match):
    with pytest.raises(ValueError, match=match):
        make_windows(series, window=3, target=target)


def test_make_windows_several_horizons_need_one_target():
    with pytest.raises(
        ValueError, match="a sequence of horizons needs a single target column, got 2"
    ):
        make_windows(SERIES, window=3, horizon=[1, 2])


def test_make_windows_unordered_index():
    series = pd.Series(SERIES[:, 0], index=[0, 1, 2, 3, 5, 4, 6, 7])
    with pytest.raises(
        ValueError, match=r"index of series is not increasing \(label 4 at position 5"
    ):
        make_windows(series, window=3)
