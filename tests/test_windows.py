import numpy as np
import pandas as pd
import pytest
from numpy.lib.array_utils import byte_bounds
from numpy.testing import assert_array_equal
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import get_tags
from sklearn.utils.estimator_checks import check_estimator

from skdeeprnn.preprocessing import SlidingWindowTransformer, make_windows

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


@pytest.mark.parametrize("padding", ["edge", "zero", "mean"])
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


@pytest.mark.parametrize("padding", ["edge", "zero", "mean"])
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
        ({"padding": "nan"}, r"'padding' parameter .* must be a str among"),
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
def test_check_estimator():
    check_estimator(
        SlidingWindowTransformer(window=3),
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
