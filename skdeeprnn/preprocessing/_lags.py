"""Lag tables of forecasting libraries turned into sequences for recurrent networks.

skforecast and sktime reduce forecasting to regression: they own recursion, direct
strategies, backtesting and exogenous bookkeeping, and hand any scikit-learn regressor a
2D table with one column per lag of each variable. :class:`LagsToSequences` reads that
table back into the package's ``(n_samples, n_lags, n_features_per_step)`` sequences,
oldest step first, so ``make_pipeline(LagsToSequences(...), DeepRNNRegressor())`` is the
regressor such a library asks for.

The column positions are worked out once in :meth:`LagsToSequences.fit`
(``lag_columns_``, ``extra_columns_``); :meth:`LagsToSequences.transform` gathers them
with one fancy index per part.
"""

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ._windows import _check_ndim

_FLOAT_DTYPES = (np.float64, np.float32)


class LagsToSequences(TransformerMixin, BaseEstimator, auto_wrap_output_keys=None):
    """Turn the lag table of a forecasting library into sequences, oldest step first.

    Forecasting libraries hand a scikit-learn regressor a 2D table: per row, the
    ``n_lags`` previous values of each of ``n_variables`` series, laid out in blocks,
    sometimes followed by *extra* columns known for the time being forecast
    (exogenous variables, window features such as rolling means, calendar features, a
    series identifier). This transformer maps such a table of shape
    ``(n_samples, n_features)`` to sequences of shape
    ``(n_samples, n_lags, n_variables + n_extra)`` for
    :class:`~skdeeprnn.DeepRNNRegressor`: step ``t`` holds the variables ``n_lags - t``
    steps before the target time, so the sequence runs from the oldest lag to the newest,
    and the ``n_extra`` extra columns follow the variables **at every step**, constant
    along the sequence. Each row is transformed on its own.

    Extra values repeated at every step are the simplest input that keeps them
    available to the whole network: the input stays a plain ``(n, T, d)`` array
    without filler values or a step of another kind, the last step (which the
    many-to-one head reads) has the newest lag and the exogenous values side by
    side, and bidirectional layers see them from both ends. On an ARX series whose
    target depends strongly on the exogenous value at the target time, this trained
    as well as putting the extra values at the last step only (zeros elsewhere) or in
    one extra final step.

    Parameters
    ----------
    n_lags : int, default=None
        Number of lags of each variable, i.e. the length of the output sequences.
        ``None``: every column is a lag (no extra columns), ``n_lags =
        n_features_in_ / n_variables``.

    layout : {'skforecast', 'sktime'}, default='skforecast'
        How the lags are laid out in the table:

        - ``'skforecast'``: ``n_variables`` blocks of ``n_lags`` columns, the
          **newest** lag first in each block (``lag_1, lag_2, ..., lag_p``), then the
          extra columns. This is the table of skforecast's forecasters (window
          features, exogenous variables and calendar features are the extra columns,
          in that order) and of sktime's ``DirectReductionForecaster``
          (``lag_0__y, lag_1__y, ...``, then the exogenous variables at the target
          time).
        - ``'sktime'``: ``n_variables`` blocks of ``n_lags`` columns, the **oldest**
          lag first in each block, then the extra columns, if any. This is the table
          of sktime's ``make_reduction`` with a scikit-learn regressor: the target's
          block, then one block per exogenous variable, and no extra columns.

    n_variables : int, default=None
        Number of variables with ``n_lags`` lags each: the first ``n_variables``
        features of each step. ``None``: 1 with ``layout='skforecast'`` (the
        series being forecast) and every column with ``layout='sktime'``
        (``n_features_in_ / n_lags``: the target and each exogenous variable). Columns
        after the ``n_variables * n_lags`` lag columns are extra columns.

    Attributes
    ----------
    n_features_in_ : int
        Number of columns of the table seen during :meth:`fit`.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the columns seen during :meth:`fit`. Defined only when `X` has
        column names that are all strings.

    lag_columns_ : ndarray of shape (n_lags, n_variables)
        ``lag_columns_[t, v]`` is the column of the table that becomes variable ``v``
        at step ``t`` (step 0 is the oldest lag).

    extra_columns_ : ndarray of shape (n_extra,)
        The extra columns, repeated at every step after the variables.

    See Also
    --------
    SlidingWindowTransformer : Windows over a time-ordered table, without a
        forecasting library.
    SequenceStandardScaler : Standardise the sequences per feature.

    Notes
    -----
    **skforecast** (0.26). ``ForecasterRecursive`` and ``ForecasterDirect`` fit their
    estimator on a NumPy table ``lag_1, ..., lag_p``, then the window features, the
    exogenous columns and the calendar features; with ``lags=p``::

        forecaster = ForecasterRecursive(
            make_pipeline(LagsToSequences(n_lags=p), SequenceStandardScaler(),
                          DeepRNNRegressor()),
            lags=p,
        )

    and likewise ``ForecasterDirect(..., lags=p, steps=h)``. With ``lags`` a list
    (``[1, 2, 24]``), pass its length as `n_lags`: the steps then hold the listed lags,
    unevenly spaced. ``ForecasterDirectMultiVariate`` has one block of lags per series
    (``s1_lag_1, ..., s2_lag_1, ...``): add ``n_variables=<number of series>`` (the
    same number of lags for every series). ``ForecasterRecursiveMultiSeries`` gives
    ``lag_1, ..., lag_p``, the window features, the series encoding
    (``_level_skforecast``, or one column per series) and the exogenous columns, which
    ``n_lags=p`` reads as well (as a DataFrame in ``fit``, as NumPy arrays in
    ``predict``). Intervals (``predict_interval``, e.g. ``method='conformal'``) come
    from the forecaster's residuals and need nothing more.

    **sktime** (1.2). ``make_reduction(regressor, strategy='recursive' or 'direct',
    window_length=w)`` fits ``regressor`` on a NumPy table ``y(t-w), ..., y(t-1)``,
    then, with exogenous ``X``, ``X1(t-w), ..., X1(t-1)``, ``X2(t-w), ...``: the
    exogenous values of the *same* past steps as the lags, and never at the target
    time. Every column is a lag, so::

        forecaster = make_reduction(
            make_pipeline(LagsToSequences(n_lags=w, layout="sktime"),
                          SequenceStandardScaler(), DeepRNNRegressor()),
            strategy="recursive", window_length=w,
        )

    gives each step the target and every exogenous variable as features. sktime's
    ``DirectReductionForecaster(regressor, window_length=w)`` does pass the exogenous
    values at the target time, after the lags ``y(t), y(t-1), ...``: its table has
    ``layout='skforecast'`` with ``n_lags=w``.

    **MAPIE** (1.6) takes the lag table as `X`:
    ``SplitConformalRegressor(make_pipeline(LagsToSequences(n_lags=p), ...),
    prefit=False)``. Its ``ConformalizedQuantileRegressor`` fits only the regressors it
    knows itself, so fit three pipelines with ``DeepRNNRegressor(loss='quantile',
    quantile=q)`` (lower, upper, then 0.5) and pass them as a list with
    ``prefit=True``. MAPIE checks a fitted pipeline by calling its last step on
    ``np.zeros((1, n_features_in_))``, which for the network is a sequence with one
    feature per step; with more features per step (extra columns, several variables)
    wrap the pipeline in :class:`~sklearn.compose.TransformedTargetRegressor`, which
    MAPIE calls as a whole.

    NaN passes through: in a table without extra columns, a NaN lag (a gap in the
    series) becomes a missing step, which the recurrent estimators skip. Infinite
    values are rejected.

    The output is 3D, so :meth:`set_output` and ``get_feature_names_out`` are not
    available; ``lag_columns_`` and ``extra_columns_`` say where each input column
    goes.

    Examples
    --------
    Two rows of a skforecast table with ``lags=3`` and one exogenous column ``x``
    (``lag_1, lag_2, lag_3, x``):

    >>> import numpy as np
    >>> from skdeeprnn.preprocessing import LagsToSequences
    >>> table = np.array([[3.0, 2.0, 1.0, 40.0],
    ...                   [4.0, 3.0, 2.0, 50.0]])
    >>> Xt = LagsToSequences(n_lags=3).fit_transform(table)
    >>> Xt.shape
    (2, 3, 2)
    >>> Xt[0]
    array([[ 1., 40.],
           [ 2., 40.],
           [ 3., 40.]])

    An sktime table with ``window_length=3`` and one exogenous variable (blocks
    ``y(t-3), y(t-2), y(t-1)`` and ``x(t-3), x(t-2), x(t-1)``):

    >>> table = np.array([[1.0, 2.0, 3.0, 10.0, 20.0, 30.0]])
    >>> LagsToSequences(n_lags=3, layout="sktime").fit_transform(table)[0]
    array([[ 1., 10.],
           [ 2., 20.],
           [ 3., 30.]])

    In a pipeline, the table goes in and a recurrent network forecasts from the
    sequences:

    >>> from sklearn.pipeline import make_pipeline
    >>> from skdeeprnn import DeepRNNRegressor
    >>> series = np.sin(np.arange(60) / 4)
    >>> lags = np.column_stack([series[3 - k:-k] for k in (1, 2, 3)])  # lag_1..lag_3
    >>> model = make_pipeline(LagsToSequences(n_lags=3),
    ...                       DeepRNNRegressor(max_iter=5, random_state=0))
    >>> model.fit(lags, series[3:]).predict(lags[-2:]).shape
    (2,)
    """

    _parameter_constraints: dict = {
        "n_lags": [Interval(Integral, 1, None, closed="left"), None],
        "layout": [StrOptions({"skforecast", "sktime"})],
        "n_variables": [Interval(Integral, 1, None, closed="left"), None],
    }

    def __init__(self, n_lags=None, layout="skforecast", n_variables=None):
        self.n_lags = n_lags
        self.layout = layout
        self.n_variables = n_variables

    def _validate_table(self, X, *, reset):
        _check_ndim(X, "X", allow_1d=False)
        return validate_data(
            self, X, reset=reset, dtype=_FLOAT_DTYPES, ensure_all_finite="allow-nan"
        )

    def _block_shape(self, n_features):
        """Return ``(n_lags, n_variables)`` for a table of ``n_features`` columns."""
        n_lags, n_variables = self.n_lags, self.n_variables
        if n_variables is None and self.layout == "skforecast" and n_lags is not None:
            n_variables = 1
        if n_lags is None:
            n_variables = 1 if n_variables is None else n_variables
            if n_features % n_variables:
                raise ValueError(
                    f"X has {n_features} columns, which is not a multiple of "
                    f"n_variables={n_variables}: with n_lags=None every column is a lag, "
                    "in one block per variable. Set n_lags to treat the columns after "
                    "the blocks as extra columns."
                )
            return n_features // n_variables, n_variables
        if n_variables is None:  # layout='sktime': every column is in a block
            if n_features % n_lags:
                raise ValueError(
                    f"X has {n_features} columns, which is not a multiple of "
                    f"n_lags={n_lags}: with layout='sktime' every column belongs to a "
                    "block of n_lags lags of one variable (the target, then each "
                    "exogenous variable). Check n_lags against the window_length of "
                    "the reduction, or set n_variables to treat the columns after the "
                    "blocks as extra columns."
                )
            return n_lags, n_features // n_lags
        if n_lags * n_variables > n_features:
            raise ValueError(
                f"X has {n_features} columns, fewer than the n_lags * n_variables = "
                f"{n_lags} * {n_variables} = {n_lags * n_variables} lag columns that "
                f"layout={self.layout!r} expects. Check n_lags against the lags of the "
                "forecaster."
            )
        return n_lags, n_variables

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check the table and work out which column goes to which step.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Lag table, laid out as `layout` says.

        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted transformer.
        """
        X = self._validate_table(X, reset=True)
        n_lags, n_variables = self._block_shape(X.shape[1])
        # blocks[v, k]: column of the k-th lag column of variable v, in table order.
        blocks = np.arange(n_lags * n_variables).reshape(n_variables, n_lags)
        if self.layout == "skforecast":
            blocks = blocks[:, ::-1]  # newest lag first in the table, oldest step first out
        self.lag_columns_ = np.ascontiguousarray(blocks.T)  # (n_lags, n_variables)
        self.extra_columns_ = np.arange(n_lags * n_variables, X.shape[1])
        return self

    def transform(self, X):
        """Return the sequences of the rows of the lag table.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Lag table with the columns seen in :meth:`fit`.

        Returns
        -------
        Xt : ndarray of shape (n_samples, n_lags, n_variables + n_extra)
            ``Xt[i, t, v]`` is variable ``v`` at lag ``n_lags - t`` (step 0 is the
            oldest), ``Xt[i, t, n_variables:]`` the extra columns of row ``i`` at every
            step. float32 input stays float32, anything else becomes float64.
        """
        check_is_fitted(self)
        X = self._validate_table(X, reset=False)
        n_lags, n_variables = self.lag_columns_.shape
        n_extra = self.extra_columns_.shape[0]
        Xt = np.empty((X.shape[0], n_lags, n_variables + n_extra), dtype=X.dtype)
        Xt[:, :, :n_variables] = X[:, self.lag_columns_]
        Xt[:, :, n_variables:] = X[:, None, self.extra_columns_]
        return Xt

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = True
        tags.input_tags.allow_nan = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
