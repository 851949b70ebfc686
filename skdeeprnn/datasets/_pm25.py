"""Beijing PM2.5 hourly air-quality data (UCI), bundled with the package."""

from importlib import resources

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

__all__ = ["load_pm25", "pm25_textbook_features"]

_PM25_FILE = "PRSA_data_2010.1.1-2014.12.31.csv.gz"
_N_ROWS = 43_824
_FIRST_TIME = pd.Timestamp("2010-01-01 00:00")
_LAST_TIME = pd.Timestamp("2014-12-31 23:00")

_TARGET = "pm2.5"
# Columns of the returned frame, in file order (No, year, month, day, hour go to the index).
_FRAME_COLUMNS = ["pm2.5", "DEWP", "TEMP", "PRES", "cbwd", "Iws", "Is", "Ir"]
# The numeric ones: the columns of ``data`` when ``as_frame=False``.
_NUMERIC_COLUMNS = ["pm2.5", "DEWP", "TEMP", "PRES", "Iws", "Is", "Ir"]
_TIME_PARTS = ["year", "month", "day", "hour"]
_FILL_OPTIONS = ("none", "interpolate", "drop")

# Inputs of the textbook model, in order, and its integer code for the wind direction.
_TEXTBOOK_COLUMNS = ["pm2.5", "DEWP", "TEMP", "PRES", "cbwd", "Iws"]
_CBWD_CODES = {"NW": 9.0, "NE": 3.0, "SE": 6.0, "SW": 12.0, "cv": 0.0}

DESCR = """\
Beijing PM2.5 hourly data
-------------------------

Hourly PM2.5 concentration measured at the US Embassy in Beijing together with
meteorological readings from Beijing Capital International Airport, from
2010-01-01 00:00 to 2014-12-31 23:00 (local time): 43,824 consecutive hours,
no hour missing or repeated.

**Index**: ``time`` (``DatetimeIndex``, hourly), built from the file's
``year``, ``month``, ``day`` and ``hour`` columns.

**Columns** (all float64 except ``cbwd``):

==========  ==============================================================
pm2.5       PM2.5 concentration (ug/m^3); the target
DEWP        dew point (degrees C)
TEMP        temperature (degrees C)
PRES        pressure (hPa)
cbwd        combined wind direction, a string: NE, NW, SE or cv
            (calm / variable)
Iws         cumulated wind speed (m/s): accumulates hour after hour while
            the direction stays the same and restarts when it changes
Is          cumulated hours of snow
Ir          cumulated hours of rain
==========  ==============================================================

**Missing values**: 2,067 of the 43,824 pm2.5 values are missing, among them
the first 24 hours; the longest gap is 155 hours. The other columns are
complete. ``load_pm25(fill_missing=...)`` keeps them as NaN (``"none"``),
interpolates them linearly in time (``"interpolate"``, leading missing values
take the first observed value) or drops their rows (``"drop"``).

**Target**: ``target`` is the pm2.5 of the same hour and is also a column of
``data``. To forecast ``h`` hours ahead, shift it yourself
(``y = target.shift(-h)``) and drop the last ``h`` rows.

**License**: Creative Commons Attribution 4.0 International (CC BY 4.0),
https://creativecommons.org/licenses/by/4.0/. The bundled file is the
original UCI file, unchanged, gzipped.

**Citation**:

- Chen, S. (2015). Beijing PM2.5 [Dataset]. UCI Machine Learning Repository.
  https://doi.org/10.24432/C5JS49
- Liang, X., Zou, T., Guo, B., Li, S., Zhang, H., Zhang, S., Huang, H.,
  Chen, S. X. (2015). Assessing Beijing's PM2.5 pollution: severity, weather
  impact, APEC and winter heating. Proc. R. Soc. A 471: 20150257.
"""


def _read_pm25_frame():
    """Read the bundled CSV into the raw frame indexed by time."""
    dtype = {col: "float64" for col in _NUMERIC_COLUMNS}
    dtype.update({"cbwd": str, "No": "int64"})
    dtype.update({col: "int64" for col in _TIME_PARTS})
    source = resources.files(__package__).joinpath("data", _PM25_FILE)
    with source.open("rb") as fh:
        raw = pd.read_csv(
            fh,
            compression="gzip",
            dtype=dtype,
            na_values=["NA"],
            keep_default_na=False,
        )
    time = pd.DatetimeIndex(pd.to_datetime(raw[_TIME_PARTS]), name="time")
    # n unique increasing stamps from the first to the last hour: exactly hourly.
    if not (
        len(time) == _N_ROWS
        and time.is_monotonic_increasing
        and time.is_unique
        and time[0] == _FIRST_TIME
        and time[-1] == _LAST_TIME
    ):
        raise RuntimeError(
            f"The bundled file {_PM25_FILE} does not hold {_N_ROWS} consecutive hours "
            f"from {_FIRST_TIME} to {_LAST_TIME}; the installation looks damaged."
        )
    time = pd.DatetimeIndex(time, freq="h")
    return raw[_FRAME_COLUMNS].set_axis(time, axis=0)


def _interpolate(series):
    """Fill NaN linearly in time; values before the first (after the last) valid one copy it."""
    method = "time" if isinstance(series.index, pd.DatetimeIndex) else "linear"
    return series.interpolate(method=method, limit_direction="both")


def load_pm25(*, as_frame=True, return_X_y=False, fill_missing="none"):
    """Load the Beijing PM2.5 hourly air-quality data set (regression, time series).

    43,824 consecutive hours, 2010-01-01 00:00 to 2014-12-31 23:00, of the PM2.5
    concentration at the US Embassy in Beijing and weather readings. The data is
    bundled with the package (no download).

    =================   ==============================================
    rows (hours)        43,824
    columns             8 (7 numeric, ``cbwd`` a string)
    missing pm2.5       2,067 (the first 24 hours among them)
    target              pm2.5 concentration (ug/m^3), same hour
    =================   ==============================================

    Read more in ``DESCR`` of the returned object.

    Parameters
    ----------
    as_frame : bool, default=True
        If True, ``data`` is a DataFrame of all 8 columns ``pm2.5, DEWP, TEMP,
        PRES, cbwd, Iws, Is, Ir`` (float64, except ``cbwd`` which holds the
        strings ``"NE"``, ``"NW"``, ``"SE"``, ``"cv"``), ``target`` is the
        pm2.5 Series, both indexed by a ``DatetimeIndex`` named ``"time"``,
        and ``frame`` is the full DataFrame. If False, ``data`` is a float64
        array of the 7 numeric columns ``pm2.5, DEWP, TEMP, PRES, Iws, Is,
        Ir`` (``cbwd`` is left out), ``target`` a float64 array and
        ``frame`` is None.

    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.

    fill_missing : {"none", "interpolate", "drop"}, default="none"
        What to do with the 2,067 missing pm2.5 values:

        - ``"none"``: keep them as NaN.
        - ``"interpolate"``: linear interpolation in time between the
          neighbouring observed values; the 24 leading missing values (the
          first day) take the first observed value (a backfill).
        - ``"drop"``: drop the rows where pm2.5 is missing (41,757 rows
          remain; the index is then no longer regular and its ``freq`` is
          None).

        The other columns have no missing values.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        data : DataFrame of shape (n_hours, 8) or ndarray of shape (n_hours, 7)
            The inputs. pm2.5 is one of them: for forecasting, past pm2.5 is
            an input and future pm2.5 the target.
        target : Series or ndarray of shape (n_hours,)
            pm2.5 of the same hour (ug/m^3). Shift it to make a forecasting
            target, e.g. ``target.shift(-h)`` for ``h`` hours ahead.
        frame : DataFrame of shape (n_hours, 8) or None
            The whole table when ``as_frame=True``, with a ``DatetimeIndex``
            named ``"time"`` (``freq="h"`` unless ``fill_missing="drop"``).
        feature_names : list of str
            The columns of ``data``.
        target_names : list of str
            ``["pm2.5"]``.
        DESCR : str
            Description of the data set: columns, units, missing values,
            license and citation.

    (data, target) : tuple if ``return_X_y`` is True
        ``data`` and ``target`` as described above.

    See Also
    --------
    pm25_textbook_features : The 6 numeric inputs used in the deep-RNN textbook.

    Notes
    -----
    ``Iws``, ``Is`` and ``Ir`` are *cumulated* in the original data: ``Iws``
    adds up the hourly wind speed for as long as the wind direction ``cbwd``
    stays the same, ``Is`` and ``Ir`` count consecutive hours of snow and
    rain. :func:`pm25_textbook_features` turns ``Iws`` back into an hourly
    value.

    The data is licensed under Creative Commons Attribution 4.0 International
    (CC BY 4.0); cite the references below when you use it.

    References
    ----------
    .. [1] Chen, S. (2015). Beijing PM2.5 [Dataset]. UCI Machine Learning
       Repository. https://doi.org/10.24432/C5JS49
    .. [2] Liang, X., Zou, T., Guo, B., Li, S., Zhang, H., Zhang, S., Huang, H.,
       Chen, S. X. (2015). Assessing Beijing's PM2.5 pollution: severity,
       weather impact, APEC and winter heating. Proc. R. Soc. A 471: 20150257.

    Examples
    --------
    >>> from skdeeprnn.datasets import load_pm25
    >>> pm25 = load_pm25()
    >>> pm25.frame.shape
    (43824, 8)
    >>> pm25.frame.index[0], pm25.frame.index[-1]
    (Timestamp('2010-01-01 00:00:00'), Timestamp('2014-12-31 23:00:00'))
    >>> pm25.feature_names
    ['pm2.5', 'DEWP', 'TEMP', 'PRES', 'cbwd', 'Iws', 'Is', 'Ir']
    >>> int(pm25.target.isna().sum())
    2067

    Interpolated, as arrays of the numeric columns:

    >>> X, y = load_pm25(as_frame=False, return_X_y=True, fill_missing="interpolate")
    >>> X.shape, y.shape, X.dtype
    ((43824, 7), (43824,), dtype('float64'))
    >>> float(y[:25].min()), float(y[24])
    (129.0, 129.0)

    Without the hours where pm2.5 is missing:

    >>> load_pm25(fill_missing="drop").frame.shape
    (41757, 8)
    """
    if not isinstance(fill_missing, str) or fill_missing not in _FILL_OPTIONS:
        raise ValueError(
            f"fill_missing must be one of {', '.join(map(repr, _FILL_OPTIONS))}; "
            f"got {fill_missing!r}."
        )
    for name, value in (("as_frame", as_frame), ("return_X_y", return_X_y)):
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{name} must be True or False; got {value!r}.")

    frame = _read_pm25_frame()
    if fill_missing == "interpolate":
        frame = frame.assign(**{_TARGET: _interpolate(frame[_TARGET])})
    elif fill_missing == "drop":
        frame = frame.loc[frame[_TARGET].notna()]

    if as_frame:
        feature_names = list(_FRAME_COLUMNS)
        data = frame[feature_names]
        target = frame[_TARGET]
    else:
        feature_names = list(_NUMERIC_COLUMNS)
        data = frame[feature_names].to_numpy(dtype=np.float64, copy=True)
        target = frame[_TARGET].to_numpy(dtype=np.float64, copy=True)
        frame = None

    if return_X_y:
        return data, target
    return Bunch(
        data=data,
        target=target,
        frame=frame,
        feature_names=feature_names,
        target_names=[_TARGET],
        DESCR=DESCR,
    )


def pm25_textbook_features(frame):
    """Turn the raw PM2.5 frame into the 6 numeric inputs of the deep-RNN textbook.

    Builds, in this order, the columns ``pm2.5, DEWP, TEMP, PRES, cbwd, Iws``
    (the names are kept, the meaning of the last two changes):

    - ``pm2.5``: missing values filled by linear interpolation in time
      (by position when the index is not a ``DatetimeIndex``); missing values
      before the first observed one take its value (backfill), missing values
      after the last observed one take its value (forward fill). This is
      ``load_pm25(fill_missing="interpolate")``'s rule.
    - ``DEWP``, ``TEMP``, ``PRES``: unchanged.
    - ``cbwd``: the wind direction as a number, ``NW`` = 9, ``NE`` = 3,
      ``SE`` = 6, ``SW`` = 12, ``cv`` (calm / variable) = 0.
    - ``Iws``: the hourly wind speed instead of the cumulated one. When the
      direction is the same as in the previous row, it is the difference
      ``Iws[t] - Iws[t-1]``; when the direction changed (and in the first
      row), it is ``Iws[t]`` itself, since the cumulation restarted there.

    Rows are taken as consecutive hours, so pass a frame that still has every
    hour, i.e. from ``load_pm25(fill_missing="none")`` or
    ``fill_missing="interpolate"``, not ``"drop"``. Other columns of
    ``frame`` (``Is``, ``Ir``, ...) are ignored, and missing values in columns
    other than ``pm2.5`` are passed through as NaN.

    Parameters
    ----------
    frame : DataFrame
        A table with at least the columns ``pm2.5, DEWP, TEMP, PRES, cbwd,
        Iws`` as in ``load_pm25().frame``, rows in time order. It is not
        modified.

    Returns
    -------
    features : DataFrame of shape (n_rows, 6)
        float64 columns ``pm2.5, DEWP, TEMP, PRES, cbwd, Iws`` with the index
        of ``frame``.

    Raises
    ------
    TypeError
        If ``frame`` is not a DataFrame.
    ValueError
        If a column is missing, if ``cbwd`` holds a value other than
        ``NW, NE, SE, SW, cv``, or if ``pm2.5`` has no observed value at all.

    See Also
    --------
    load_pm25 : Load the raw data.

    Notes
    -----
    On the bundled data the within-direction differences of ``Iws`` are all
    positive (0.45 to 20.12 m/s), so the hourly ``Iws`` is never negative.
    The differences are computed in floating point and may carry rounding
    noise of order 1e-14 (e.g. ``6.71 - 4.92``).

    Examples
    --------
    >>> from skdeeprnn.datasets import load_pm25, pm25_textbook_features
    >>> features = pm25_textbook_features(load_pm25().frame)
    >>> features.shape
    (43824, 6)
    >>> list(features.columns)
    ['pm2.5', 'DEWP', 'TEMP', 'PRES', 'cbwd', 'Iws']
    >>> int(features.isna().sum().sum())
    0

    A hand-made example:

    >>> import pandas as pd
    >>> raw = pd.DataFrame(
    ...     {
    ...         "pm2.5": [None, 10.0, None, 30.0],
    ...         "DEWP": [-5.0, -5.0, -4.0, -4.0],
    ...         "TEMP": [1.0, 2.0, 3.0, 4.0],
    ...         "PRES": [1020.0, 1020.0, 1019.0, 1019.0],
    ...         "cbwd": ["NW", "NW", "cv", "cv"],
    ...         "Iws": [1.5, 4.5, 0.5, 1.5],
    ...     },
    ...     index=pd.date_range("2010-01-01", periods=4, freq="h", name="time"),
    ... )
    >>> features = pm25_textbook_features(raw)
    >>> features["pm2.5"].tolist()
    [10.0, 10.0, 20.0, 30.0]
    >>> features["cbwd"].tolist()
    [9.0, 9.0, 0.0, 0.0]
    >>> features["Iws"].tolist()
    [1.5, 3.0, 0.5, 1.0]
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame must be a pandas DataFrame; got {type(frame).__name__}.")
    missing = [col for col in _TEXTBOOK_COLUMNS if col not in frame.columns]
    if missing:
        raise ValueError(
            f"frame lacks the column(s) {missing}; it needs {_TEXTBOOK_COLUMNS} "
            "as in load_pm25().frame."
        )

    pm = frame[_TARGET].astype(np.float64)
    if len(pm) and pm.isna().all():
        raise ValueError("pm2.5 has no observed value, so it cannot be interpolated.")
    pm = _interpolate(pm)

    direction = frame["cbwd"]
    unknown = sorted(map(str, set(direction.unique()) - set(_CBWD_CODES)))
    if unknown:
        raise ValueError(
            f"cbwd holds unknown wind direction(s) {unknown}; expected values in "
            f"{sorted(_CBWD_CODES)}."
        )
    cbwd = direction.map(_CBWD_CODES).astype(np.float64)

    iws = frame["Iws"].astype(np.float64)
    same_direction = direction.eq(direction.shift()).to_numpy()
    iws_hourly = iws.to_numpy(copy=True)
    iws_hourly[1:] -= np.where(same_direction[1:], iws.to_numpy()[:-1], 0.0)

    return pd.DataFrame(
        {
            "pm2.5": pm.to_numpy(dtype=np.float64),
            "DEWP": frame["DEWP"].to_numpy(dtype=np.float64),
            "TEMP": frame["TEMP"].to_numpy(dtype=np.float64),
            "PRES": frame["PRES"].to_numpy(dtype=np.float64),
            "cbwd": cbwd.to_numpy(),
            "Iws": iws_hourly,
        },
        index=frame.index.copy(),
    )
