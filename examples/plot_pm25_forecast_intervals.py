"""
=========================================================
PM2.5 24 hours ahead with weather, with 80% intervals
=========================================================

Forecast the hourly PM2.5 concentration in Beijing for each of the next 24
hours from the last 48 hours of PM2.5 and weather, with the package alone and
scikit-learn:

1. :func:`~skdeeprnn.preprocessing.make_windows` with ``horizon=range(1, 25)``
   cuts the table into windows and targets of 24 columns, and one
   :class:`~skdeeprnn.DeepRNNRegressor` with its default parameters predicts
   all 24 hours at once (direct multi-output forecasting);
2. its errors by horizon are set beside gradient boosting on the same windows
   and the "repeat the last value" forecast;
3. two quantile models (``loss='quantile'``, 0.1 and 0.9) give an 80%
   interval, which is then *conformalised* on a year that neither model was
   trained on, one correction per horizon (conformalized quantile regression),
   in a few lines of NumPy;
4. the last week of the test year is drawn with the forecasts and their band.

Training years 2010-2012, calibration year 2013, test year 2014. The
:ref:`forecasting` page of the user guide shows the same steps through
skforecast, sktime and MAPIE. Run it as
``python examples/plot_pm25_forecast_intervals.py`` (three network fits and 24
gradient-boosting fits: a few minutes on two cores) or with ``--quick`` (a few
epochs, for CI: the same tables with poorer numbers).
"""

# %%
# The data and the windows
# ------------------------
# The bundled table, with missing pm2.5 interpolated so that every window is
# complete. Each window holds 48 hours of pm2.5, dew point, temperature,
# pressure and cumulated wind speed, oldest hour first: past weather is a
# feature of every step, like past pm2.5. No future value enters the inputs,
# so the forecasts could be made at the time (the weather of the coming hours
# would be a forecast itself).
#
# ``make_windows(..., horizon=HORIZONS)`` gives, for window ``i`` (rows ``i``
# to ``i + 47``), the pm2.5 of the 24 hours that follow it: ``Y[i, h - 1]`` is
# the value ``h`` hours after the window's last hour. The first of these hours
# is the window's *origin*. Cutting a 0/1 column of "was pm2.5 observed" the
# same way marks the targets that were interpolated: they are neither
# calibration nor test points.
import argparse
import time
import warnings

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.multioutput import MultiOutputRegressor
from sklearn.pipeline import make_pipeline
from threadpoolctl import threadpool_limits

from skdeeprnn import DeepRNNRegressor, SequenceStandardScaler, make_windows
from skdeeprnn.datasets import load_pm25

parser = argparse.ArgumentParser(description="PM2.5 24 h ahead, intervals.")
parser.add_argument("--quick", action="store_true", help="few epochs, for CI")
args, _ = parser.parse_known_args()  # sphinx-gallery passes its own arguments
QUICK = args.quick
# A default fit may use all its epochs before its stopping rule ends it; the
# epochs of each fit are printed below instead of a warning.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

WINDOW = 48  # hours of history per window
HORIZONS = list(range(1, 25))  # hours ahead
COLUMNS = ["pm2.5", "DEWP", "TEMP", "PRES", "Iws"]
STRIDE = 19  # every 19th training window (19 is prime to 24: see below)

frame = load_pm25(fill_missing="interpolate").frame
was_observed = load_pm25().frame["pm2.5"].notna().to_numpy(dtype=float)

X, Y = make_windows(frame[COLUMNS], WINDOW, horizon=HORIZONS, target="pm2.5")
_, observed = make_windows(was_observed, WINDOW, horizon=HORIZONS)
observed = observed.astype(bool)  # (n_windows, 24): the target was measured
origin = frame.index[WINDOW : WINDOW + len(X)]  # first forecast hour of each
print(f"windows X {X.shape}, targets Y {Y.shape}")


def windows_forecasting(start, stop):
    """Windows whose 24 target hours all lie in [start, stop)."""
    last_target = origin + pd.Timedelta(hours=len(HORIZONS) - 1)
    return np.flatnonzero((origin >= start) & (last_target < stop))


train = windows_forecasting("2010-01-01", "2013-01-01")[::STRIDE]
calib = windows_forecasting("2013-01-01", "2014-01-01")
test = windows_forecasting("2014-01-01", "2015-01-01")
for name, rows in (("train", train), ("calibration", calib), ("test", test)):
    print(f"{name:>11}: {len(rows):5d} windows, origins "
          f"{origin[rows[0]]:%Y-%m-%d} .. {origin[rows[-1]]:%Y-%m-%d}")
print(f"interpolated test targets, not scored: {(~observed[test]).sum()} "
      f"of {observed[test].size}")

# %%
# Three point forecasts
# ---------------------
# Our model is the regressor with its default parameters behind
# :class:`~skdeeprnn.SequenceStandardScaler`, which standardises each of the
# five columns over all steps; ``Y`` has 24 columns, so one fit learns all
# horizons. Gradient boosting gets the same training windows flattened to
# ``48 * 5`` columns, one model per horizon
# (:class:`~sklearn.multioutput.MultiOutputRegressor`). The last value
# forecasts every horizon with the last pm2.5 of the window.
#
# The training windows are every 19th window of 2010-2012, to keep each
# network fit short; consecutive ones overlap by 29 of their 48 hours, and
# since 19 is prime to 24 they end at every hour of the day in turn.
#
# Gradient boosting runs on one OpenMP thread here: its threads wait for one
# another at every step, and when other processes keep the cores busy the
# waiting can make the 24 fits many times slower than one thread.


def network(**params):
    """Our regressor, defaults but ``params``, behind the sequence scaler."""
    if QUICK:
        params = {"max_iter": 3, **params}
    net = DeepRNNRegressor(random_state=0, **params)
    return make_pipeline(SequenceStandardScaler(), net)


def fit_timed(name, model, X_train, Y_train):
    """Fit ``model``; print its wall-clock seconds (and a network's epochs)."""
    start = time.perf_counter()
    model.fit(X_train, Y_train)
    net = model[-1] if hasattr(model, "steps") else model
    epochs = f", {net.n_iter_} epochs" if hasattr(net, "n_iter_") else ""
    print(f"{name}: fitted in {time.perf_counter() - start:.0f} s{epochs}")
    return model


def flat(windows):
    """Windows (n, 48, 5) as rows of 240 columns, for the tabular model."""
    return windows.reshape(len(windows), -1)


start_all = time.perf_counter()
ours = fit_timed("ours (defaults)", network(), X[train], Y[train])
boosting = HistGradientBoostingRegressor(max_iter=10 if QUICK else 100,
                                         random_state=0)
with threadpool_limits(1, user_api="openmp"):
    hgb = fit_timed("HGB, one per horizon", MultiOutputRegressor(boosting),
                    flat(X[train]), Y[train])
    hgb_test = hgb.predict(flat(X[test]))
forecasts = {
    "ours": ours.predict(X[test]),
    "HGB": hgb_test,
    "last value": np.repeat(X[test][:, -1, :1], len(HORIZONS), axis=1),
}

# %%
# Mean absolute error on 2014 by group of horizons, in µg/m³, over the
# measured targets:
GROUPS = {"1-6 h": slice(0, 6), "7-12 h": slice(6, 12),
          "13-24 h": slice(12, 24), "1-24 h": slice(0, 24)}
truth, measured = Y[test], observed[test]


def by_group(values):
    """Mean of ``values`` (n_test, 24) over each group's measured targets."""
    return {g: values[:, h][measured[:, h]].mean() for g, h in GROUPS.items()}


mae = pd.DataFrame({name: by_group(np.abs(p - truth))
                    for name, p in forecasts.items()}).T
print(mae.round(1).to_string(), end="\n\n")
for other in ("HGB", "last value"):
    below = [g for g in GROUPS if mae.loc["ours", g] < mae.loc[other, g]]
    print(f"ours below {other} in {len(below)} of {len(GROUPS)} groups"
          + (f" ({', '.join(below)})" if below else ""))

# %%
# 80% intervals from two quantile models
# --------------------------------------
# ``loss='quantile'`` with ``quantile=0.1`` fits the conditional 10th
# percentile of each horizon, ``quantile=0.9`` the 90th: between them should
# lie 80% of the values. The coverage is the share of measured 2014 targets
# inside the interval; the width is in µg/m³. A pair fitted on 2010-2012
# need not hold its nominal coverage in 2014, because the years differ.
low = fit_timed("ours, quantile 0.1",
                network(loss="quantile", quantile=0.1), X[train], Y[train])
high = fit_timed("ours, quantile 0.9",
                 network(loss="quantile", quantile=0.9), X[train], Y[train])
lo_test, hi_test = low.predict(X[test]), high.predict(X[test])


def interval_table(lo, hi):
    """Coverage and mean width of [lo, hi] on 2014, by group of horizons."""
    coverage = by_group(((truth >= lo) & (truth <= hi)).astype(float))
    width = by_group(hi - lo)
    return pd.DataFrame({
        "coverage": {g: f"{v:.3f}" for g, v in coverage.items()},
        "width (µg/m³)": {g: f"{v:.1f}" for g, v in width.items()},
    }).T


print(interval_table(lo_test, hi_test).to_string())
print(f"0.1 quantile above the 0.9 one: {np.mean(lo_test > hi_test):.2%} "
      "of the (window, horizon) pairs")

# %%
# Conformalising on 2013
# ----------------------
# Conformalized quantile regression corrects the pair on data it was not
# trained on, one horizon at a time. On each calibration window the score
# ``max(lo - y, y - hi)`` is how far the target lies outside the interval
# (negative inside it). With ``n`` scores and ``alpha = 0.2``, their empirical
# quantile of level ``(1 - alpha) (1 + 1/n)`` is a margin ``m`` such that
# ``[lo - m, hi + m]`` covers at least 80% of new targets, as long as they
# behave like the calibration ones. ``m`` is negative when the pair is too
# wide. A whole year of calibration covers every season of the test year.
ALPHA = 0.2
lo_cal, hi_cal = low.predict(X[calib]), high.predict(X[calib])
scores = np.maximum(lo_cal - Y[calib], Y[calib] - hi_cal)  # (n, 24)
margin = np.empty(len(HORIZONS))
for h in range(len(HORIZONS)):
    s = scores[observed[calib][:, h], h]
    level = min(1.0, (1 - ALPHA) * (1 + 1 / len(s)))
    margin[h] = np.quantile(s, level, method="higher")
print("margin m by horizon, hours 1-12 and 13-24 (µg/m³):")
print(np.array2string(margin.reshape(2, 12), precision=1,
                      floatmode="fixed"))

lo_cqr, hi_cqr = lo_test - margin, hi_test + margin
print("\nconformalised on 2013:")
print(interval_table(lo_cqr, hi_cqr).to_string())
print(f"\n3 network fits, 24 HGB fits and the predictions: "
      f"{time.perf_counter() - start_all:.0f} s")

# %%
# Figures
# -------
# Drawn when matplotlib is installed. First, the error and the coverage at
# every horizon: the conformalised interval should stay near 0.8 from the
# first hour to the 24th (the grey band is 0.75-0.85).
try:
    import matplotlib.pyplot as plt
except ImportError:
    plt = None


def per_horizon(values):
    """Mean of ``values`` (n_test, 24) over each horizon's measured targets."""
    return [values[:, h][measured[:, h]].mean() for h in range(len(HORIZONS))]


if plt is not None:
    fig, (ax_mae, ax_cov) = plt.subplots(1, 2, figsize=(10, 4))
    for name, p in forecasts.items():
        ax_mae.plot(HORIZONS, per_horizon(np.abs(p - truth)), marker=".",
                    label=name)
    ax_mae.set_xlabel("hours ahead")
    ax_mae.set_ylabel("MAE on 2014 (µg/m³)")
    ax_mae.legend()
    for name, (lo, hi) in {"quantile pair": (lo_test, hi_test),
                           "conformalised": (lo_cqr, hi_cqr)}.items():
        inside = ((truth >= lo) & (truth <= hi)).astype(float)
        ax_cov.plot(HORIZONS, per_horizon(inside), marker=".", label=name)
    ax_cov.axhspan(0.75, 0.85, color="0.9")
    ax_cov.axhline(1 - ALPHA, color="0.5", linestyle=":")
    ax_cov.set_xlabel("hours ahead")
    ax_cov.set_ylabel("coverage of the 80% interval")
    ax_cov.legend()
    fig.tight_layout()

# %%
# The last week of 2014: the measured pm2.5 (gaps where it was missing), and
# each day at midnight the forecast of the next 24 hours with its
# conformalised 80% band. Each day's forecast is made from the 48 hours
# before its midnight only. pm2.5 is never negative, so the band is drawn
# from 0 where its lower bound is below (the tables above are unclipped).
if plt is not None:
    fig, ax = plt.subplots(figsize=(10, 4))
    first_hour = pd.Timestamp("2014-12-25")
    week = frame.index >= first_hour
    measured_pm25 = frame["pm2.5"].where(was_observed.astype(bool))
    ax.plot(frame.index[week], measured_pm25[week], color="black", lw=1,
            label="measured")
    steps = pd.to_timedelta(np.arange(len(HORIZONS)), unit="h")
    for k, i in enumerate(np.flatnonzero((origin[test] >= first_hour)
                                         & (origin[test].hour == 0))):
        hours = origin[test[i]] + steps
        ax.fill_between(hours, np.maximum(lo_cqr[i], 0), hi_cqr[i], lw=0,
                        color="C0", alpha=0.25,
                        label="80% interval (conformalised)" if k == 0 else None)
        ax.plot(hours, forecasts["ours"][i], color="C0",
                label="ours, from midnight" if k == 0 else None)
    ax.set_ylabel("pm2.5 (µg/m³)")
    ax.legend(loc="upper left")
    fig.autofmt_xdate()
    fig.tight_layout()

# %%
# Going further
# -------------
# The windows, horizons and targets are plain arrays, so any scikit-learn
# tool applies; :ref:`windows` explains the alignment. The same forecasts
# can be made recursively or with one model per horizon by skforecast or
# sktime, and the intervals conformalised by MAPIE or skforecast:
# :ref:`forecasting` shows those paths and when each covers as it should.
