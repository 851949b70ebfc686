import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import check_estimator

import skdeeprnn
from skdeeprnn import DeepRNNRegressor
from skdeeprnn.preprocessing import LagsToSequences

# skforecast's table for lags=3 with a rolling mean and two exogenous columns:
# lag_1, lag_2, lag_3, roll_mean, a, b (the newest lag first).
SKFORECAST_TABLE = np.array(
    [
        [3.0, 2.0, 1.0, 1.5, 100.0, 200.0],
        [4.0, 3.0, 2.0, 2.5, 101.0, 201.0],
    ]
)

# sktime's table for window_length=3 with two exogenous variables: the blocks
# y(t-3) y(t-2) y(t-1) | a(t-3) a(t-2) a(t-1) | b(t-3) b(t-2) b(t-1), oldest first.
SKTIME_TABLE = np.array(
    [
        [0.0, 1.0, 2.0, 100.0, 101.0, 102.0, 200.0, 201.0, 202.0],
        [1.0, 2.0, 3.0, 101.0, 102.0, 103.0, 201.0, 202.0, 203.0],
    ]
)


# --- worked examples -------------------------------------------------------------


def test_skforecast_layout_reverses_the_lags_and_repeats_the_extra_columns():
    transformer = LagsToSequences(n_lags=3)
    Xt = transformer.fit_transform(SKFORECAST_TABLE)
    expected = np.array(
        [
            [[1, 1.5, 100, 200], [2, 1.5, 100, 200], [3, 1.5, 100, 200]],
            [[2, 2.5, 101, 201], [3, 2.5, 101, 201], [4, 2.5, 101, 201]],
        ],
        dtype=float,
    )
    assert Xt.shape == (2, 3, 4)
    assert_array_equal(Xt, expected)
    assert_array_equal(transformer.lag_columns_, [[2], [1], [0]])
    assert_array_equal(transformer.extra_columns_, [3, 4, 5])


def test_skforecast_layout_with_one_block_per_series():
    # ForecasterDirectMultiVariate: s1_lag_1, s1_lag_2, s2_lag_1, s2_lag_2, exog.
    table = np.array([[2.0, 1.0, 20.0, 10.0, 7.0]])
    transformer = LagsToSequences(n_lags=2, n_variables=2).fit(table)
    assert_array_equal(transformer.lag_columns_, [[1, 3], [0, 2]])
    assert_array_equal(transformer.transform(table), [[[1, 10, 7], [2, 20, 7]]])


def test_sktime_layout_keeps_the_order_of_each_block():
    transformer = LagsToSequences(n_lags=3, layout="sktime")
    Xt = transformer.fit_transform(SKTIME_TABLE)
    expected = np.array(
        [
            [[0, 100, 200], [1, 101, 201], [2, 102, 202]],
            [[1, 101, 201], [2, 102, 202], [3, 103, 203]],
        ],
        dtype=float,
    )
    assert_array_equal(Xt, expected)
    assert_array_equal(transformer.lag_columns_, [[0, 3, 6], [1, 4, 7], [2, 5, 8]])
    assert transformer.extra_columns_.shape == (0,)


def test_sktime_layout_with_n_variables_has_extra_columns():
    table = np.array([[0.0, 1.0, 2.0, 9.0]])
    Xt = LagsToSequences(n_lags=3, layout="sktime", n_variables=1).fit_transform(table)
    assert_array_equal(Xt, [[[0, 9], [1, 9], [2, 9]]])


@pytest.mark.parametrize("layout", ["skforecast", "sktime"])
def test_n_lags_none_makes_every_column_a_lag(layout):
    table = np.array([[3.0, 2.0, 1.0]])
    Xt = LagsToSequences(layout=layout).fit_transform(table)
    expected = [1, 2, 3] if layout == "skforecast" else [3, 2, 1]
    assert_array_equal(Xt[0, :, 0], expected)
    assert Xt.shape == (1, 3, 1)


def test_n_lags_none_with_n_variables_splits_the_table_into_blocks():
    table = np.array([[2.0, 1.0, 20.0, 10.0]])
    Xt = LagsToSequences(n_variables=2).fit_transform(table)
    assert_array_equal(Xt, [[[1, 10], [2, 20]]])


def test_rows_are_transformed_independently():
    transformer = LagsToSequences(n_lags=3).fit(SKFORECAST_TABLE)
    assert_array_equal(
        transformer.transform(SKFORECAST_TABLE[1:]), transformer.transform(SKFORECAST_TABLE)[1:]
    )


# --- inputs ----------------------------------------------------------------------


def test_dataframe_input_records_the_column_names():
    columns = ["lag_1", "lag_2", "lag_3", "roll_mean_4", "a", "b"]
    frame = pd.DataFrame(SKFORECAST_TABLE, columns=columns)
    transformer = LagsToSequences(n_lags=3).fit(frame)
    assert_array_equal(transformer.feature_names_in_, columns)
    assert_array_equal(
        transformer.transform(frame), LagsToSequences(n_lags=3).fit_transform(SKFORECAST_TABLE)
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float_dtypes_are_kept(dtype):
    Xt = LagsToSequences(n_lags=3).fit_transform(SKFORECAST_TABLE.astype(dtype))
    assert Xt.dtype == dtype


def test_integer_tables_become_float64():
    Xt = LagsToSequences(n_lags=2).fit_transform(np.array([[2, 1, 5]]))
    assert Xt.dtype == np.float64
    assert_array_equal(Xt, [[[1, 5], [2, 5]]])


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_nan_passes_through_and_a_nan_lag_is_a_missing_step():
    table = np.array([[3.0, np.nan, 1.0], [4.0, 3.0, 2.0]])
    Xt = LagsToSequences().fit_transform(table)
    assert_array_equal(Xt[0, :, 0], [1.0, np.nan, 3.0])
    # The recurrent estimators skip the missing step.
    DeepRNNRegressor(hidden_size=2, max_iter=2, random_state=0).fit(Xt, [4.0, 5.0])


def test_infinity_is_rejected():
    with pytest.raises(ValueError, match="infinity"):
        LagsToSequences().fit(np.array([[1.0, np.inf]]))


# --- errors ----------------------------------------------------------------------


def test_table_narrower_than_the_lags():
    with pytest.raises(ValueError, match=r"X has 6 columns, fewer than the n_lags \* n_variables"):
        LagsToSequences(n_lags=4, n_variables=2).fit(SKFORECAST_TABLE)
    with pytest.raises(ValueError, match="fewer than the n_lags"):
        LagsToSequences(n_lags=7).fit(SKFORECAST_TABLE)


def test_sktime_table_that_is_not_a_multiple_of_n_lags():
    with pytest.raises(ValueError, match=r"X has 9 columns, which is not a multiple of n_lags=2"):
        LagsToSequences(n_lags=2, layout="sktime").fit(SKTIME_TABLE)


def test_n_lags_none_with_a_width_that_is_not_a_multiple_of_n_variables():
    with pytest.raises(ValueError, match="not a multiple of n_variables=4"):
        LagsToSequences(n_variables=4).fit(SKFORECAST_TABLE)


def test_transform_with_another_width():
    transformer = LagsToSequences(n_lags=3).fit(SKFORECAST_TABLE)
    with pytest.raises(ValueError, match="X has 5 features, but LagsToSequences is expecting 6"):
        transformer.transform(SKFORECAST_TABLE[:, :5])


def test_sequences_are_rejected():
    with pytest.raises(ValueError, match="Is it already windowed"):
        LagsToSequences().fit(np.zeros((2, 3, 1)))


@pytest.mark.parametrize(
    "params, match",
    [
        ({"layout": "darts"}, "'layout' parameter"),
        ({"n_lags": 0}, "'n_lags' parameter"),
        ({"n_variables": 0}, "'n_variables' parameter"),
    ],
)
def test_invalid_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        LagsToSequences(**params).fit(SKFORECAST_TABLE)


# --- scikit-learn conformance and pipelines --------------------------------------


@pytest.mark.parametrize(
    "transformer",
    [
        LagsToSequences(),
        LagsToSequences(n_lags=1),
        LagsToSequences(layout="sktime"),
        LagsToSequences(n_lags=1, layout="sktime"),
    ],
    ids=repr,
)
def test_check_estimator(transformer):
    # The checks use tables of many widths, so only settings that fit any width:
    # every check passes, none is expected to fail.
    check_estimator(transformer)


def test_exported_at_the_top_level():
    assert skdeeprnn.LagsToSequences is LagsToSequences
    assert "LagsToSequences" in skdeeprnn.__all__


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_pipeline_equals_the_regressor_on_hand_built_sequences():
    rng = np.random.default_rng(0)
    series = np.cumsum(rng.normal(size=80))
    exog = rng.normal(size=80)
    p = 4
    # skforecast's layout: lag_1 .. lag_p (newest first), then the exogenous column.
    lags = np.column_stack([series[p - k : -k] for k in range(1, p + 1)])
    table = np.column_stack([lags, exog[p:]])
    target = series[p:]
    sequences = np.concatenate(
        [lags[:, ::-1, None], np.repeat(exog[p:, None, None], p, axis=1)], axis=2
    )
    regressor = DeepRNNRegressor(hidden_size=4, max_iter=3, random_state=0)
    pipeline = make_pipeline(LagsToSequences(n_lags=p), clone(regressor)).fit(table, target)
    direct = clone(regressor).fit(sequences, target)
    assert_allclose(pipeline.predict(table), direct.predict(sequences))
