"""Sliding windows over a time-ordered table, for recurrent networks.

Two entry points share the same window arithmetic:

- :class:`SlidingWindowTransformer` keeps one output row per input row (padding the
  first ``window - 1`` rows, or prepending the end of the fitted table with
  ``history=True``), so ``y`` stays aligned inside a scikit-learn ``Pipeline``;
- :func:`make_windows` returns complete windows only, with their targets, for work
  outside pipelines.

Both return read-only views built with :func:`numpy.lib.stride_tricks.sliding_window_view`.
NumPy puts the window axis last, so the views are transposed to the package's canonical
``(n_windows, window, n_features)`` layout.
"""

from numbers import Integral

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils import check_array
from sklearn.utils._param_validation import Interval, StrOptions, validate_params
from sklearn.utils.validation import check_is_fitted, validate_data

_FLOAT_DTYPES = (np.float64, np.float32)


def _check_time_order(data, name):
    """Raise if a pandas object's index is not strictly increasing."""
    if not isinstance(data, (pd.DataFrame, pd.Series)):
        return
    index = data.index
    if not index.is_unique:
        duplicated = ", ".join(str(label) for label in index[index.duplicated()].unique()[:3])
        raise ValueError(
            f"rows must be in time order, but the index of {name} has duplicate labels "
            f"({duplicated}). Aggregate or drop the duplicated rows first."
        )
    if index.is_monotonic_increasing:
        return
    detail = ""
    try:
        position = int(np.flatnonzero(np.asarray(index[1:] < index[:-1]))[0]) + 1
        detail = (
            f" (label {index[position]} at position {position} comes after {index[position - 1]})"
        )
    except (TypeError, ValueError, IndexError):
        pass  # labels that cannot be compared: the generic message is all we can say
    raise ValueError(
        f"rows must be in time order, but the index of {name} is not increasing{detail}. "
        f"Sort the rows first, e.g. with {name}.sort_index()."
    )


def _check_ndim(data, name, *, allow_1d):
    """Raise a ValueError naming the expected layout when ``data`` has the wrong ndim."""
    if sparse.issparse(data) or isinstance(data, (pd.DataFrame, pd.Series)):
        return  # sparse input is rejected by check_array; pandas objects are 1D or 2D
    if not hasattr(data, "ndim"):
        try:
            data = np.asarray(data)
        except ValueError:
            return  # ragged nested lists: check_array reports them
    ndim = data.ndim
    if ndim == 2 or (ndim == 1 and allow_1d):
        return
    shape = data.shape
    if ndim == 1:
        raise ValueError(
            f"Expected a 2D table (n_rows, n_features) for {name}, got a 1D array of "
            f"shape {shape}. Reshape your data with {name}.reshape(-1, 1) if it is a "
            f"single series or {name}.reshape(1, -1) if it is a single row, or pass a "
            "pandas Series."
        )
    expected = "a 1D series or a 2D table" if allow_1d else "a 2D table"
    hint = " Is it already windowed?" if ndim == 3 else ""
    raise ValueError(
        f"Expected {expected} (n_rows, n_features) for {name}, got an array with "
        f"{ndim} dimensions, shape {shape}.{hint}"
    )


def _as_table(X):
    """Return a pandas Series as a one-column DataFrame, anything else unchanged."""
    if isinstance(X, pd.Series):
        return X.to_frame()
    return X


def _window_view(values, window):
    """Read-only ``(n - window + 1, window, d)`` view of the rows of ``values``."""
    # sliding_window_view puts the window axis last: (n - window + 1, d, window).
    return sliding_window_view(values, window, axis=0, writeable=False).transpose(0, 2, 1)


class SlidingWindowTransformer(TransformerMixin, BaseEstimator, auto_wrap_output_keys=None):
    """Turn a time-ordered table into one window of past rows per row.

    Maps a table of shape ``(n_samples, n_features)`` whose rows are in time order to
    an array of shape ``(n_samples, window, n_features)``: output row ``t`` holds input
    rows ``t - window + 1, ..., t``, oldest first. There is one output row per input
    row, so a target ``y`` stays aligned and the transformer can sit in a
    :class:`~sklearn.pipeline.Pipeline` in front of a recurrent network. To forecast
    ``h`` steps ahead, build ``y`` by shifting the target, e.g. ``y = target.shift(-h)``
    with the last ``h`` rows dropped from both ``X`` and ``y``.

    The first ``window - 1`` rows do not have a full history. With ``history=True``,
    :meth:`transform` takes the missing rows from the end of the table seen in
    :meth:`fit`, as they are when the transformed table continues the fitted one (a test
    period after its training period); otherwise, and always in :meth:`fit_transform`,
    they are filled according to ``padding``.

    Parameters
    ----------
    window : int, default=24
        Number of consecutive rows (time steps) in each window, current row included.

    padding : {'edge', 'zero', 'mean', 'missing'}, default='edge'
        How the rows before the start of the table are filled for the first
        ``window - 1`` outputs:

        - ``'edge'``: repeat the first row of the table being transformed (of
          :attr:`history_` when ``history=True`` puts it first);
        - ``'zero'``: zeros, the neutral value after standardisation;
        - ``'mean'``: the per-feature mean of the data seen in :meth:`fit`
          (:attr:`mean_`), a neutral value without a scaler that does not depend on
          the batch being transformed;
        - ``'missing'``: NaN in every feature, i.e. *missing* time steps (the output
          is float in any case: integer tables become float64). The recurrent
          estimators leave their state unchanged at a missing step, so the network
          starts at the first real row of each window rather than at invented
          values; see :ref:`variable_lengths`. With ``history=True`` the rows of
          :attr:`history_` come first and only the rows the fitted table could not
          provide are NaN. The table itself must still be finite. A
          :class:`~skdeeprnn.preprocessing.SequenceStandardScaler` after the
          transformer keeps the missing rows NaN.

    history : bool, default=False
        Whether :meth:`transform` treats `X` as the rows that directly follow the table
        seen in :meth:`fit`: its first windows then start with the last
        ``window - 1`` rows of that table (:attr:`history_`) instead of padding, and
        are the windows a transform of the two tables joined together would give.
        Set it when the tables transformed after fitting are later periods of the
        same series: in a :class:`~sklearn.pipeline.Pipeline` fitted on a training
        period, ``predict`` on the period right after it, or the validation folds of
        :class:`~sklearn.model_selection.TimeSeriesSplit`, which follow their
        training folds in time. :meth:`fit_transform` pads in any case: the table it
        fits has no earlier rows. Padding still fills the rows that the fitted table
        was too short to provide. See :ref:`windows_history`.

    Attributes
    ----------
    n_features_in_ : int
        Number of features (columns) seen during :meth:`fit`.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :meth:`fit`. Defined only when `X` has feature
        names that are all strings.

    mean_ : ndarray of shape (`n_features_in_`,)
        Per-feature mean of the data seen during :meth:`fit`, used by
        ``padding='mean'``.

    history_ : ndarray of shape (n_history, `n_features_in_`)
        The last ``n_history = min(window - 1, n_samples)`` rows of the data seen
        during :meth:`fit`, oldest first, in its dtype; used by ``history=True``.

    See Also
    --------
    make_windows : Complete windows and their targets, outside pipelines.

    Notes
    -----
    With ``history=True``, ``fit(X).transform(X)`` is not ``fit_transform(X)``: the
    first treats `X` as the continuation of itself. Window the fitted table with
    :meth:`fit_transform`, or with ``history=False``; in particular, ``predict`` of a
    pipeline on its own training rows gives their first ``window - 1`` rows the end
    of those rows as history. With a gap between the two tables (as with
    ``TimeSeriesSplit(gap=...)``), the first windows skip the rows of the gap.

    The output of :meth:`transform` is a read-only view made with
    :func:`numpy.lib.stride_tricks.sliding_window_view` over the padded table: it
    costs ``(n_samples + window - 1) * n_features`` values of memory rather than
    ``n_samples * window * n_features``. Only building the padded table copies data;
    with ``window=1`` nothing is padded and the output is a view of the input itself.
    Copy the output (``Xt.copy()``) before modifying it in place.

    Because each output row depends on its neighbours, the rows of `X` must be in time
    order; pandas input with a non-increasing or duplicated index is rejected. For
    the same reason, transforming a subset or a permutation of the rows is not the
    same as subsetting or permuting the transformed rows.

    The output is 3D, so :meth:`set_output` and ``get_feature_names_out`` are not
    available.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeeprnn.preprocessing import SlidingWindowTransformer
    >>> x = np.arange(5.0).reshape(-1, 1)
    >>> Xt = SlidingWindowTransformer(window=3).fit_transform(x)
    >>> Xt.shape
    (5, 3, 1)
    >>> Xt[:, :, 0]
    array([[0., 0., 0.],
           [0., 0., 1.],
           [0., 1., 2.],
           [1., 2., 3.],
           [2., 3., 4.]])
    >>> X = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0]])
    >>> SlidingWindowTransformer(window=2, padding="zero").fit_transform(X)
    array([[[ 0.,  0.],
            [ 1., 10.]],
    <BLANKLINE>
           [[ 1., 10.],
            [ 2., 20.]],
    <BLANKLINE>
           [[ 2., 20.],
            [ 3., 30.]]])

    With ``padding="missing"`` the rows before the start are missing steps (NaN), which
    the recurrent estimators skip, so each window starts at the first real row:

    >>> SlidingWindowTransformer(window=3, padding="missing").fit_transform(x)[:, :, 0]
    array([[nan, nan,  0.],
           [nan,  0.,  1.],
           [ 0.,  1.,  2.],
           [ 1.,  2.,  3.],
           [ 2.,  3.,  4.]])

    With ``history=True``, a later table starts where the fitted one ended:

    >>> train, test = x[:3], x[3:]
    >>> windows = SlidingWindowTransformer(window=3, history=True).fit(train)
    >>> windows.history_[:, 0]
    array([1., 2.])
    >>> windows.transform(test)[:, :, 0]
    array([[1., 2., 3.],
           [2., 3., 4.]])
    """

    _parameter_constraints: dict = {
        "window": [Interval(Integral, 1, None, closed="left")],
        "padding": [StrOptions({"edge", "zero", "mean", "missing"})],
        "history": ["boolean"],
    }

    def __init__(self, window=24, padding="edge", history=False):
        self.window = window
        self.padding = padding
        self.history = history

    def _validate_table(self, X, *, reset):
        _check_ndim(X, "X", allow_1d=False)
        _check_time_order(X, "X")
        return validate_data(self, _as_table(X), reset=reset, dtype=_FLOAT_DTYPES)

    def _fit(self, X):
        """Validate the table, record what :meth:`transform` needs and return it."""
        X = self._validate_table(X, reset=True)
        self.mean_ = X.mean(axis=0, dtype=np.float64)
        n_history = min(self.window - 1, X.shape[0])
        # A copy: a view would keep the whole training table alive (and in the pickle).
        self.history_ = X[X.shape[0] - n_history :].copy()
        return X

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check the table and record its features, mean and last rows.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features) or Series
            Table whose rows are in time order. A pandas Series is one feature.

        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted transformer.
        """
        self._fit(X)
        return self

    def transform(self, X):
        """Return the window of past rows ending at each row of `X`.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features) or Series
            Table whose rows are in time order, with the features seen in :meth:`fit`.
            With ``history=True``, the rows that directly follow the fitted table.

        Returns
        -------
        Xt : ndarray of shape (n_samples, window, n_features)
            Read-only view; ``Xt[t]`` holds rows ``t - window + 1, ..., t`` of `X`,
            oldest first. The rows before the start of `X` are the last rows of the
            fitted table when ``history=True``, and are filled by ``padding``
            otherwise. float32 input stays float32, anything else becomes float64.
        """
        check_is_fitted(self)
        X = self._validate_table(X, reset=False)
        return self._windows(X, self.history_ if self.history else None)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None):
        """Fit to `X` and return its windows, the first ``window - 1`` padded.

        The fitted table has no rows before it, so its first windows are filled by
        ``padding`` whatever ``history`` says; only later tables passed to
        :meth:`transform` start with the fitted table's last rows.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features) or Series
            Table whose rows are in time order. A pandas Series is one feature.

        y : None
            Ignored.

        Returns
        -------
        Xt : ndarray of shape (n_samples, window, n_features)
            Read-only view; ``Xt[t]`` holds rows ``t - window + 1, ..., t`` of `X`,
            oldest first, with the rows before the start filled by ``padding``.
        """
        return self._windows(self._fit(X), None)

    def _windows(self, X, history):
        """Windows over `X` preceded by the rows of `history` (or none) and padding."""
        n_before = self.window - 1
        if n_before == 0:
            return _window_view(X, 1)
        before = X[:0] if history is None else history.astype(X.dtype, copy=False)
        n_pad = n_before - before.shape[0]
        if n_pad == 0:
            head = before
        else:
            if self.padding == "edge":
                first = before[:1] if before.shape[0] else X[:1]
                pad = np.repeat(first, n_pad, axis=0)
            elif self.padding == "zero":
                pad = np.zeros((n_pad, X.shape[1]), dtype=X.dtype)
            elif self.padding == "missing":
                # X is float32 or float64 here (validate_data casts integers to float64).
                pad = np.full((n_pad, X.shape[1]), np.nan, dtype=X.dtype)
            else:  # "mean"
                pad = np.broadcast_to(self.mean_.astype(X.dtype), (n_pad, X.shape[1]))
            head = np.concatenate([pad, before])
        return _window_view(np.concatenate([head, X]), self.window)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


def _series_values(series):
    """Validate ``series``; return its values as ``(n, d)`` floats and its column names."""
    _check_ndim(series, "series", allow_1d=True)
    _check_time_order(series, "series")
    table = _as_table(series)
    columns = None
    if isinstance(table, pd.DataFrame):
        columns = list(table.columns)
        if not table.columns.is_unique:
            duplicated = list(table.columns[table.columns.duplicated()].unique())
            raise ValueError(f"series has duplicate column names {duplicated!r}; rename them.")
    values = check_array(table, ensure_2d=False, dtype=_FLOAT_DTYPES, input_name="series")
    if values.ndim == 1:
        values = values.reshape(-1, 1)
    return values, columns


def _horizons(horizon):
    """Return ``horizon`` as a 1D int array and whether it was a sequence."""
    if isinstance(horizon, Integral):
        return np.array([horizon]), False
    horizons = np.asarray(horizon)
    if (
        horizons.ndim != 1
        or horizons.size == 0
        or not np.issubdtype(horizons.dtype, np.integer)
        or horizons.min() < 1
    ):
        raise ValueError(
            "horizon must be a positive int or a non-empty sequence of positive ints, "
            f"got {horizon!r}."
        )
    return horizons, True


def _target_column(label, columns, n_columns):
    """Position of one target column given by position (int) or by name."""
    if isinstance(label, Integral) and not isinstance(label, bool):
        if not -n_columns <= label < n_columns:
            raise ValueError(
                f"target column {label} is out of range for a series with {n_columns} column(s)."
            )
        return int(label) % n_columns
    if columns is None:
        raise ValueError(
            f"target={label!r} is a column name, but series has no column names; "
            "pass a DataFrame or give the column position as an int."
        )
    if label not in columns:
        raise ValueError(f"target column {label!r} not found; columns are {columns!r}.")
    return columns.index(label)


def _target_columns(target, columns, n_columns):
    """Return the target column positions and whether ``y`` has one column axis."""
    if target is None:
        return list(range(n_columns)), n_columns > 1
    if isinstance(target, list):
        if not target:
            raise ValueError("target must not be an empty list.")
        return [_target_column(label, columns, n_columns) for label in target], True
    return [_target_column(target, columns, n_columns)], False


@validate_params(
    {
        "series": ["array-like"],
        "window": [Interval(Integral, 1, None, closed="left")],
        "horizon": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "stride": [Interval(Integral, 1, None, closed="left")],
        "target": "no_validation",
    },
    prefer_skip_nested_validation=True,
)
def make_windows(series, window, horizon=1, stride=1, target=None):
    """Cut a time-ordered table into complete windows and the values that follow them.

    Window ``i`` covers rows ``s, ..., s + window - 1`` with ``s = i * stride``, and its
    target is the value of the target column(s) at row ``s + window - 1 + horizon``:
    ``horizon=1`` is the step right after the window ends. Only windows whose target
    lies inside the table are returned, so no padding is involved. Inside a
    scikit-learn ``Pipeline`` use :class:`SlidingWindowTransformer` instead.

    Parameters
    ----------
    series : {array-like, DataFrame} of shape (n_samples, n_features) or (n_samples,)
        Table whose rows are in time order. A 1D array or a pandas Series is one
        feature. pandas input must have an increasing index without duplicates.

    window : int
        Number of consecutive rows (time steps) in each window.

    horizon : int or sequence of int, default=1
        How many steps after the end of the window the target is taken. A sequence
        gives one target per horizon (direct multi-horizon forecasting) and needs a
        single target column.

    stride : int, default=1
        Step between the first rows of consecutive windows.

    target : int, str, list of int or str, or None, default=None
        Which column(s) make up ``y``. ``None`` means every column. An int is a column
        position (negative counts from the end) and a str a column name of a
        DataFrame (or the name of a Series). A list selects several columns.

    Returns
    -------
    X : ndarray of shape (n_windows, window, n_features)
        The windows, oldest row first. A read-only view of the values of `series`
        (no copy when they are already float64 or float32).

    y : ndarray of shape (n_windows,), (n_windows, n_targets) or (n_windows, n_horizons)
        The targets: 1D for a single target column and an int `horizon`; one
        column per target when `target` is a list, or is ``None`` with several
        features; one column per horizon when `horizon` is a sequence.

    See Also
    --------
    SlidingWindowTransformer : One padded window per row, for pipelines.

    Notes
    -----
    The number of windows is the number of starts ``s = i * stride`` with
    ``s + window - 1 + max(horizon) < n_samples``, which needs
    ``n_samples >= window + max(horizon)``.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeeprnn.preprocessing import make_windows
    >>> X, y = make_windows(np.arange(6.0), window=3)
    >>> X[:, :, 0]
    array([[0., 1., 2.],
           [1., 2., 3.],
           [2., 3., 4.]])
    >>> y
    array([3., 4., 5.])
    >>> X, y = make_windows(np.arange(8.0), window=3, horizon=[1, 2], stride=2)
    >>> X[:, :, 0]
    array([[0., 1., 2.],
           [2., 3., 4.]])
    >>> y
    array([[3., 4.],
           [5., 6.]])
    """
    values, columns = _series_values(series)
    horizons, several_horizons = _horizons(horizon)
    n_samples, n_columns = values.shape
    needed = window + int(horizons.max())
    if n_samples < needed:
        raise ValueError(
            f"need at least {needed} rows (window={window} + horizon={horizons.max()}), "
            f"got {n_samples}."
        )
    target_columns, column_axis = _target_columns(target, columns, n_columns)
    if several_horizons and len(target_columns) > 1:
        raise ValueError(
            "a sequence of horizons needs a single target column, got "
            f"{len(target_columns)} target columns; pass target=<one column>."
        )

    n_starts = n_samples - needed + 1  # starts 0 .. n_samples - needed
    X = _window_view(values[: n_starts - 1 + window], window)[::stride]
    window_ends = np.arange(0, n_starts, stride) + window - 1  # (n_windows,)
    if several_horizons:
        y = values[window_ends[:, None] + horizons, target_columns[0]]
    else:
        y = values[window_ends + horizons[0]][:, target_columns]
        if not column_axis:
            y = y[:, 0]
    return X, y
