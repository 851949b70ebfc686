"""80% intervals on PM2.5, 1 to 24 hours ahead: do they cover 0.75-0.85 of 2014 at every horizon?

Every path a user has to an 80% interval, from the same run, on the same split of the bundled
Beijing hourly data (``load_pm25(fill_missing='interpolate')``):

- **train**: 2010-01-01 to 2012-12-31; **calibration**: all of 2013 (a whole year, so that
  its residuals cover every season of the test year); **test**: all of 2014. Coverage and
  width are counted on the hours whose pm2.5 was observed (the interpolated hours, 1% of
  2013 and 2014, are neither calibration nor test points).
- inputs of the direct models: the last 48 hours of pm2.5, DEWP, TEMP, PRES, Iws, Is, Ir and
  the wind direction cbwd one-hot (4 columns): windows of shape (48, 11), oldest hour first,
  from ``make_windows(table, window=48, horizon=range(1, 25), target='pm2.5')``; one
  forecast origin per hour of the calibration and test periods, so every observed 2014 hour
  is a test point at every horizon 1..24 (8,661 points per horizon).
- training windows: every ``--stride``-th (default 14) window of 2010-2012, 1,874 windows,
  so that one default fit stays under 60 s on the project's 2-core machine (a default fit
  runs its 200 epochs at 0.1-0.15 ms per window and epoch there, depending on the other
  load); consecutive windows overlap by 34 of 48 hours, and every training hour is a target
  of one or two windows. Fit seconds are printed as wall time and as this process' own CPU
  time (one BLAS thread: what the fit costs on an idle core).

Paths (rows of the tables):

1. ``ours q0.1/q0.9``: ``DeepRNNRegressor(loss='quantile', quantile=0.1)`` and ``0.9``,
   defaults otherwise, behind ``SequenceStandardScaler``, each one direct multi-horizon fit
   (``y`` of shape (n, 24)); the interval is [q0.1, q0.9] as predicted, no calibration.
2. ``ours split conf.``: our point model (defaults, squared error, multi-horizon), then
   MAPIE's ``SplitConformalRegressor(prefit=True, confidence_level=0.8)`` conformalized on
   2013, one per horizon; ``ours CQR``: MAPIE's ``ConformalizedQuantileRegressor(prefit=True)``
   with the quantile models 0.1, 0.9 and a third, 0.5, per horizon. MAPIE takes a 1-D ``y``
   and a 2-D ``X``: ``HorizonColumn`` below exposes one horizon of a fitted multi-output
   pipeline as a fitted regressor on flattened windows (MAPIE probes a prefit estimator
   with ``predict(np.zeros((1, n_features_in_)))``, which the wrapper reshapes like any row).
3. ``ours rec. conf.`` / ``ours rec. conf. binned``: skforecast's ``ForecasterRecursive(
   make_pipeline(LagsToSequences(n_lags=48), SequenceStandardScaler(), DeepRNNRegressor()),
   lags=48)`` on pm2.5 alone (skforecast's exogenous values are those at the target hour:
   future weather, which a forecaster does not have), trained on the last ``--rec-hours``
   (default 2,160 = 90 days) hours of 2012 (skforecast fits on every lag row: the same
   60 s budget); out-of-sample residuals from ``backtesting_forecaster`` over 2013
   (``TimeSeriesFold(steps=24, refit=False)``, the trained forecaster, no refit), then
   ``backtesting_forecaster`` over 2014 with ``interval=0.8, interval_method='conformal',
   use_in_sample_residuals=False`` and ``use_binned_residuals`` False, then True. Folds start
   at midnight (``--every-day`` > 1 keeps one fold every that many days, and the output
   says so): horizon h of this path is the h-th hour of each day, 365 points per horizon.
4. Baselines from the same run: ``HistGradientBoostingRegressor`` on the same training
   windows, flattened (528 columns), one model per horizon: ``HGB q0.1/q0.9``
   (``loss='quantile'``), ``HGB split conf.`` (squared error + MAPIE split conformal) and
   ``HGB CQR`` (quantiles 0.1, 0.9, 0.5 + MAPIE CQR).

Ours: seeds 0, 1, 2 (``--seeds``), ``random_state=seed``; coverage and width per horizon
are means over the seeds, and the summary also counts the seeds whose own coverage is
within 0.75-0.85 at all 24 horizons. Fit seconds of each of our fits are printed (BLAS
and OpenMP limited to ``--threads``, default 1).

Run::

    python benchmarks/bench_intervals.py                     # everything, seeds 0,1,2
    python benchmarks/bench_intervals.py --quick             # smoke run (a few epochs)
    python benchmarks/bench_intervals.py --seeds 0 --json runs/intervals.jsonl

Needs the ``forecast`` extra (skforecast) and MAPIE >= 1.0.
"""

import argparse
import json
import logging
import os
import sys
import time
import warnings

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline

from skdeeprnn import DeepRNNRegressor, LagsToSequences, SequenceStandardScaler, make_windows

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import LoadMonitor, machine_lines  # noqa: E402

LEVEL = 0.8  # nominal coverage
BAND = (0.75, 0.85)  # the target: coverage within this band at every horizon
WINDOW = 48
H = 24
WEATHER = ["DEWP", "TEMP", "PRES", "Iws", "Is", "Ir"]
PATHS = ["ours q0.1/q0.9", "ours split conf.", "ours CQR", "ours rec. conf.",
         "ours rec. conf. binned", "HGB q0.1/q0.9", "HGB split conf.", "HGB CQR"]


# ---------------------------------------------------------------------------------- data

def load_data(args):
    """Feature table, target, observed mask and the period boundaries (row positions)."""
    from skdeeprnn.datasets import load_pm25

    frame = load_pm25(fill_missing="interpolate").frame
    observed = load_pm25(fill_missing="none").frame["pm2.5"].notna().to_numpy()
    table = pd.concat([frame[["pm2.5"] + WEATHER],
                       pd.get_dummies(frame["cbwd"], prefix="cbwd", dtype=float)], axis=1)
    index = frame.index
    return dict(
        table=table.to_numpy(dtype=float), columns=list(table.columns),
        y=frame["pm2.5"].to_numpy(dtype=float), observed=observed,
        train=index.get_loc(pd.Timestamp(args.train_start)),
        calib=index.get_loc(pd.Timestamp(args.calib_start)),
        test=index.get_loc(pd.Timestamp(args.test_start)), end=len(frame))


def origin_windows(data, start, stop):
    """Windows for every origin whose horizons 1..H reach into rows [start, stop).

    Origin ``o`` is the first forecast hour: its window is rows ``o - WINDOW .. o - 1`` and
    its horizon ``h`` (1-based) forecasts row ``o + h - 1``. Returns the windows
    ``(n, WINDOW, d)``, the origins, and per horizon the rows of usable pairs (target in
    ``[start, stop)`` and observed) with their targets.
    """
    origins = np.arange(start - H + 1, stop)
    view = np.lib.stride_tricks.sliding_window_view(data["table"], WINDOW, axis=0)
    X = np.ascontiguousarray(view[origins - WINDOW].transpose(0, 2, 1))
    rows, targets = [], []
    for h in range(1, H + 1):
        t = origins + h - 1
        keep = (t >= start) & (t < stop)
        keep[keep] &= data["observed"][t[keep]]
        rows.append(np.flatnonzero(keep))
        targets.append(data["y"][t[keep]])
    return X, rows, targets


# ------------------------------------------------------------------- the MAPIE wrapper

class HorizonColumn(RegressorMixin, BaseEstimator):
    """One horizon of a fitted multi-horizon model as a fitted 1-output regressor.

    MAPIE wants a 2-D ``X`` and a 1-D ``y``: ``predict`` takes flattened windows
    ``(n, window * d)``, reshapes them to ``(n, window, d)`` and returns column ``horizon``
    of ``model.predict``. ``fit`` only records the number of columns (the model is
    already fitted), so the wrapper is a fitted estimator for MAPIE's checks.
    """

    def __init__(self, model=None, horizon=0, window=WINDOW):
        self.model = model
        self.horizon = horizon
        self.window = window

    def fit(self, X, y=None):
        self.n_features_in_ = np.shape(X)[1]
        return self

    def predict(self, X):
        X = np.asarray(X, dtype=float)
        return self.model.predict(X.reshape(len(X), self.window, -1))[:, self.horizon]


def mapie_split(estimators, Xc, rows_c, yc, Xt, rows_t):
    """Per horizon, SplitConformalRegressor(prefit) on the calibration rows; (lo, hi) lists."""
    from mapie.regression import SplitConformalRegressor

    lo, hi = [], []
    for h in range(H):
        scr = SplitConformalRegressor(estimators[h], confidence_level=LEVEL, prefit=True)
        scr.conformalize(Xc[rows_c[h]], yc[h])
        _, bounds = scr.predict_interval(Xt[rows_t[h]])
        lo.append(bounds[:, 0, 0])
        hi.append(bounds[:, 1, 0])
    return lo, hi


def mapie_cqr(estimators, Xc, rows_c, yc, Xt, rows_t):
    """Per horizon, ConformalizedQuantileRegressor(prefit) with [q_lo, q_hi, q_0.5]."""
    from mapie.regression import ConformalizedQuantileRegressor

    lo, hi = [], []
    for h in range(H):
        cqr = ConformalizedQuantileRegressor(list(estimators[h]), confidence_level=LEVEL,
                                             prefit=True)
        cqr.conformalize(Xc[rows_c[h]], yc[h])
        _, bounds = cqr.predict_interval(Xt[rows_t[h]])
        lo.append(bounds[:, 0, 0])
        hi.append(bounds[:, 1, 0])
    return lo, hi


class IllSorted(logging.Filter):
    """Count (and drop) MAPIE's 'The predictions are ill-sorted.' (CQR, crossed quantiles)."""

    count = 0

    def filter(self, record):
        if "ill-sorted" in record.getMessage():
            IllSorted.count += 1
            return False
        return True


def raw_pair_coverage(predict, Xtr, Ytr, cal):
    """Coverage of [q0.1, q0.9] on the training windows and on 2013, mean over horizons.

    ``predict(name, X)`` returns the (n, H) predictions of model ``name``. Tells apart a
    pair that is too narrow where it was fitted from one that does not carry over in time.
    """
    Xc, rows_c, yc = cal
    lo, hi = predict("q0.1", Xtr), predict("q0.9", Xtr)
    lo_c, hi_c = predict("q0.1", Xc), predict("q0.9", Xc)
    return {"coverage_train": float(np.mean((Ytr >= lo) & (Ytr <= hi))),
            "coverage_2013": float(np.mean([np.mean((y >= lo_c[r, h]) & (y <= hi_c[r, h]))
                                            for h, (r, y) in enumerate(zip(rows_c, yc,
                                                                           strict=True))]))}


def score(lo, hi, truth, point=None):
    """Coverage, mean width (and MAE of the point forecast) per horizon."""
    triples = list(zip(lo, hi, truth, strict=True))
    rec = {"coverage": [float(np.mean((y >= a) & (y <= b))) for a, b, y in triples],
           "width": [float(np.mean(b - a)) for a, b, _ in triples],
           "crossed": [float(np.mean(b < a)) for a, b, _ in triples],
           "n": [len(y) for y in truth]}
    if point is not None:
        rec["mae"] = [float(np.mean(np.abs(p - y))) for p, y in zip(point, truth, strict=True)]
    return rec


# -------------------------------------------------------------------- our direct paths

def fit_timed(model, X, Y, log, name):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        started, cpu = time.perf_counter(), time.process_time()
        model.fit(X, Y)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    net = model[-1] if hasattr(model, "steps") else model
    n_warn = sum(issubclass(w.category, ConvergenceWarning) for w in caught)
    log(f"    {name}: fit {seconds:.1f} s (CPU {cpu:.1f} s), "
        f"{getattr(net, 'n_iter_', '-')} epochs{', ConvergenceWarning' if n_warn else ''}")
    return {"fit_s": seconds, "fit_cpu_s": cpu, "n_iter": getattr(net, "n_iter_", None),
            "convergence_warning": bool(n_warn)}


def ours_direct(seed, params, Xtr, Ytr, cal, test, log):
    """The quantile pair, split conformal and CQR with our direct multi-horizon models."""
    Xc, rows_c, yc = cal
    Xt, rows_t, yt = test
    flat_c, flat_t = Xc.reshape(len(Xc), -1), Xt.reshape(len(Xt), -1)
    models, times = {}, {}
    for name, kw in [("q0.1", dict(loss="quantile", quantile=0.1)),
                     ("q0.9", dict(loss="quantile", quantile=0.9)),
                     ("q0.5", dict(loss="quantile", quantile=0.5)),
                     ("point", {})]:
        model = make_pipeline(SequenceStandardScaler(),
                              DeepRNNRegressor(random_state=seed, **{**params, **kw}))
        times[name] = fit_timed(model, Xtr, Ytr, log, f"seed {seed} ours {name}")
        models[name] = model
    pred = {name: m.predict(Xt) for name, m in models.items()}
    out = {}
    out["ours q0.1/q0.9"] = score([pred["q0.1"][r, h] for h, r in enumerate(rows_t)],
                                  [pred["q0.9"][r, h] for h, r in enumerate(rows_t)], yt,
                                  [pred["q0.5"][r, h] for h, r in enumerate(rows_t)])
    out["ours q0.1/q0.9"].update(raw_pair_coverage(
        lambda name, X: models[name].predict(X), Xtr, Ytr, cal))
    cols = {name: [HorizonColumn(m, h).fit(flat_c[:1]) for h in range(H)]
            for name, m in models.items()}
    started = time.perf_counter()
    lo, hi = mapie_split(cols["point"], flat_c, rows_c, yc, flat_t, rows_t)
    out["ours split conf."] = score(lo, hi, yt, [pred["point"][r, h]
                                                  for h, r in enumerate(rows_t)])
    out["ours split conf."]["mapie_s"] = time.perf_counter() - started
    started = time.perf_counter()
    triples = list(zip(cols["q0.1"], cols["q0.9"], cols["q0.5"], strict=True))
    lo, hi = mapie_cqr(triples, flat_c, rows_c, yc, flat_t, rows_t)
    out["ours CQR"] = score(lo, hi, yt, [pred["q0.5"][r, h] for h, r in enumerate(rows_t)])
    out["ours CQR"]["mapie_s"] = time.perf_counter() - started
    return out, times


# -------------------------------------------------------------------- skforecast path

def ours_recursive(seed, params, data, args, log):
    from skforecast.model_selection import TimeSeriesFold, backtesting_forecaster
    from skforecast.recursive import ForecasterRecursive

    y = pd.Series(data["y"], index=pd.RangeIndex(len(data["y"])), name="y")
    observed = data["observed"]
    t_cal, t_test = data["calib"], data["test"]
    forecaster = ForecasterRecursive(
        make_pipeline(LagsToSequences(n_lags=WINDOW), SequenceStandardScaler(),
                      DeepRNNRegressor(random_state=seed, **params)), lags=WINDOW)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        started, cpu = time.perf_counter(), time.process_time()
        forecaster.fit(y.iloc[t_cal - args.rec_hours:t_cal], store_in_sample_residuals=True)
        fit_s, cpu = time.perf_counter() - started, time.process_time() - cpu
    final = forecaster.estimator[-1]
    n_iter = final.n_iter_
    warned = any(issubclass(w.category, ConvergenceWarning) for w in caught)
    z = final.linear_fallback_z_  # the linear fallback's test (pm2.5's own lags: with a term)
    fallback = "" if z is None else (
        f", fallback z {z:.2f}: " + ("term alone" if final.linear_fallback_ else "network kept"))
    log(f"    seed {seed} ours rec.: fit {fit_s:.1f} s (CPU {cpu:.1f} s), {n_iter} epochs"
        f"{', ConvergenceWarning' if warned else ''}{fallback}")
    times = {"fit_s": fit_s, "fit_cpu_s": cpu, "n_iter": n_iter,
             "convergence_warning": warned, "term_alone": bool(final.linear_fallback_),
             "fallback_z": z}
    cv = TimeSeriesFold(steps=H, initial_train_size=None, refit=False,
                        fold_stride=H * args.every_day, verbose=False)
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, cal = backtesting_forecaster(forecaster, y.iloc[t_cal - WINDOW:t_test], cv=cv,
                                        metric="mean_absolute_error", show_progress=False,
                                        n_jobs=1)
    times["calib_backtest_s"] = time.perf_counter() - started
    keep = observed[cal.index.to_numpy()]
    forecaster.set_out_sample_residuals(y_true=y.loc[cal.index[keep]].to_numpy(),
                                        y_pred=cal["pred"].to_numpy()[keep])
    out = {}
    for binned in (False, True):
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _, pred = backtesting_forecaster(
                forecaster, y.iloc[t_test - WINDOW:], cv=cv, metric="mean_absolute_error",
                interval=LEVEL, interval_method="conformal", use_in_sample_residuals=False,
                use_binned_residuals=binned, show_progress=False, n_jobs=1)
        seconds = time.perf_counter() - started
        where = pred.index.to_numpy()
        step = (where - t_test) % H  # folds start at midnight, H apart or a multiple of it
        ok = observed[where]
        lo, hi, truth, point = [], [], [], []
        for h in range(H):
            m = ok & (step == h)
            lo.append(pred["lower_bound"].to_numpy()[m])
            hi.append(pred["upper_bound"].to_numpy()[m])
            point.append(pred["pred"].to_numpy()[m])
            truth.append(data["y"][where[m]])
        name = "ours rec. conf. binned" if binned else "ours rec. conf."
        out[name] = score(lo, hi, truth, point)
        out[name]["backtest_s"] = seconds
        out[name]["n_folds"] = int(len(pred) // H)
        log(f"    seed {seed} {name}: 2014 backtest {seconds:.1f} s "
            f"({out[name]['n_folds']} folds of {H} recursive steps)")
    log(f"    seed {seed} ours rec.: 2013 calibration backtest "
        f"{times['calib_backtest_s']:.1f} s")
    return out, times


# ------------------------------------------------------------------------- baselines

def hgb_paths(Xtr, Ytr, cal, test, log):
    Xc, rows_c, yc = cal
    Xt, rows_t, yt = test
    flat_tr = Xtr.reshape(len(Xtr), -1)
    flat_c, flat_t = Xc.reshape(len(Xc), -1), Xt.reshape(len(Xt), -1)
    started = time.perf_counter()
    models = {name: [HistGradientBoostingRegressor(random_state=0, **kw).fit(flat_tr, Ytr[:, h])
                     for h in range(H)]
              for name, kw in [("q0.1", dict(loss="quantile", quantile=0.1)),
                               ("q0.9", dict(loss="quantile", quantile=0.9)),
                               ("q0.5", dict(loss="quantile", quantile=0.5)),
                               ("point", {})]}
    fit_s = time.perf_counter() - started
    log(f"    HGB: {4 * H} fits in {fit_s:.1f} s")
    pred = {name: [ms[h].predict(flat_t[rows_t[h]]) for h in range(H)]
            for name, ms in models.items()}
    out = {"HGB q0.1/q0.9": score(pred["q0.1"], pred["q0.9"], yt, pred["q0.5"])}
    out["HGB q0.1/q0.9"].update(raw_pair_coverage(
        lambda name, X: np.column_stack([m.predict(X.reshape(len(X), -1))
                                         for m in models[name]]), Xtr, Ytr, cal))
    lo, hi = mapie_split(models["point"], flat_c, rows_c, yc, flat_t, rows_t)
    out["HGB split conf."] = score(lo, hi, yt, pred["point"])
    triples = list(zip(models["q0.1"], models["q0.9"], models["q0.5"], strict=True))
    lo, hi = mapie_cqr(triples, flat_c, rows_c, yc, flat_t, rows_t)
    out["HGB CQR"] = score(lo, hi, yt, pred["q0.5"])
    return out, {"fit_s_all": fit_s}


# -------------------------------------------------------------------------- output

def in_band(values):
    return all(BAND[0] <= v <= BAND[1] for v in values)


def print_tables(results, seeds, args):
    """results[path] = list of score dicts (one per seed; one for the baselines)."""
    paths = [p for p in PATHS if p in results]
    mean = {p: {k: np.mean([r[k] for r in results[p]], axis=0)
                for k in ("coverage", "width", "crossed", "mae")} for p in paths}
    print(f"\n## Summary: {LEVEL:.0%} intervals on 2014, horizons 1..{H} h "
          f"(ours: mean over seeds {', '.join(map(str, seeds))})\n")
    print("| path | coverage min | coverage max | coverage mean | mean width (µg/m³) | "
          f"horizons in {BAND[0]}-{BAND[1]} | seeds in band at all {H} | "
          f"in band at every horizon | MAE of the point |")
    print("|---|---|---|---|---|---|---|---|---|")
    for p in paths:
        cov = mean[p]["coverage"]
        n_in = int(sum(BAND[0] <= c <= BAND[1] for c in cov))
        seeds_ok = sum(in_band(r["coverage"]) for r in results[p])
        print(f"| {p} | {cov.min():.3f} | {cov.max():.3f} | {cov.mean():.3f} | "
              f"{mean[p]['width'].mean():.1f} | {n_in} of {H} | "
              f"{seeds_ok} of {len(results[p])} | {'yes' if in_band(cov) else 'NO'} | "
              f"{mean[p]['mae'].mean():.1f} |")
    crossed = {p: mean[p]["crossed"].max() for p in paths if mean[p]["crossed"].max() > 0}
    if crossed:
        print("\nlower bound above the upper bound (crossed quantiles), worst horizon: "
              + "; ".join(f"{p} {v:.1%}" for p, v in crossed.items()))
    def n_range(path):
        n = results[path][0]["n"]
        return f"{min(n)}" if min(n) == max(n) else f"{min(n)}-{max(n)}"

    raw = [p for p in paths if "coverage_train" in results[p][0]]
    if raw:
        print("\nuncalibrated quantile pairs, coverage (mean over horizons) where they were "
              "fitted and a year later: "
              + "; ".join(f"{p}: training windows "
                          f"{np.mean([r['coverage_train'] for r in results[p]]):.3f}, 2013 "
                          f"{np.mean([r['coverage_2013'] for r in results[p]]):.3f}, 2014 "
                          f"{mean[p]['coverage'].mean():.3f}" for p in raw))
    print(f"\ntest points per horizon: {n_range(paths[0])} for the direct paths (every "
          "observed 2014 hour at every horizon)", end="")
    if "ours rec. conf." in results:
        every = "day" if args.every_day == 1 else f"{args.every_day} days (subsampled)"
        print(f"; {n_range('ours rec. conf.')} for skforecast's (one 24-hour fold per "
              f"{every}, horizon h = hour h - 1 of the day)", end="")
    print()
    for key, title, fmt in [("coverage", "Coverage per horizon", "{:.3f}"),
                            ("width", "Mean width per horizon (µg/m³)", "{:.1f}")]:
        print(f"\n## {title}\n")
        print("| h | " + " | ".join(paths) + " |")
        print("|---|" + "---|" * len(paths))
        for h in range(H):
            cells = []
            for p in paths:
                v = mean[p][key][h]
                mark = "" if key != "coverage" or BAND[0] <= v <= BAND[1] else " ✗"
                cells.append(fmt.format(v) + mark)
            print(f"| {h + 1} | " + " | ".join(cells) + " |")


def print_times(times, hgb_times, results):
    def stat(values):
        values = [v for v in values if v is not None]
        return f"{np.mean(values):.1f} (max {np.max(values):.1f})" if values else "-"

    print("\n## Seconds (ours: mean over seeds, max in brackets)\n")
    print("| fit or step | wall seconds | own CPU seconds | epochs | ConvergenceWarning |")
    print("|---|---|---|---|---|")
    for name in ("q0.1", "q0.9", "q0.5", "point", "rec"):
        recs = [t[name] for t in times if name in t]
        if not recs:
            continue
        label = "ours rec. (skforecast fit)" if name == "rec" else f"ours direct {name}"
        print(f"| {label} | {stat([r['fit_s'] for r in recs])} | "
              f"{stat([r['fit_cpu_s'] for r in recs])} | {stat([r['n_iter'] for r in recs])} | "
              f"{sum(r['convergence_warning'] for r in recs)} of {len(recs)} |")
    recs = [t["rec"] for t in times if "rec" in t]
    if recs:
        print(f"| ours rec.: 2013 calibration backtest | "
              f"{stat([r['calib_backtest_s'] for r in recs])} | | | |")
    for p in ("ours rec. conf.", "ours rec. conf. binned"):
        if p in results:
            print(f"| {p}: 2014 backtest | "
                  f"{stat([r['backtest_s'] for r in results[p]])} | | | |")
    for p in ("ours split conf.", "ours CQR"):
        if p in results:
            print(f"| {p}: MAPIE conformalize + predict, {H} horizons | "
                  f"{stat([r['mapie_s'] for r in results[p]])} | | | |")
    if hgb_times:
        print(f"| HGB: all {4 * H} fits (q0.1, q0.9, q0.5, squared error × {H} horizons) | "
              f"{hgb_times['fit_s_all']:.1f} | | | |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--params", default="{}", help="JSON dict of DeepRNNRegressor params")
    parser.add_argument("--threads", type=int, default=1, help="BLAS and OpenMP threads")
    parser.add_argument("--train-start", default="2010-01-01")
    parser.add_argument("--calib-start", default="2013-01-01")
    parser.add_argument("--test-start", default="2014-01-01")
    parser.add_argument("--stride", type=int, default=14,
                        help="every stride-th training window for the direct models")
    parser.add_argument("--rec-hours", type=int, default=2160,
                        help="training hours of the recursive forecaster (before calib)")
    parser.add_argument("--every-day", type=int, default=1,
                        help="skforecast backtests: one 24-hour fold every that many days")
    parser.add_argument("--no-baselines", action="store_true")
    parser.add_argument("--no-recursive", action="store_true")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: seed 0, 3 epochs, few windows (numbers mean nothing)")
    parser.add_argument("--json", default=None, help="append one JSON line per path and seed")
    args = parser.parse_args(argv)
    params = json.loads(args.params)
    if args.quick:
        args.seeds, args.stride, args.rec_hours, args.every_day = "0", 96, 300, 30
        params = {**params, "max_iter": 3}
    seeds = [int(s) for s in args.seeds.split(",")]
    from threadpoolctl import threadpool_limits

    print("# bench_intervals\n")
    print("\n".join(machine_lines(args.threads, with_torch=False)))
    from importlib.metadata import version

    print(f"- skforecast {version('skforecast')}, MAPIE {version('mapie')}, "
          f"pandas {version('pandas')}")
    print(f"- our parameters: defaults{' + ' + json.dumps(params) if params else ''}"
          f"{' (--quick: a smoke run, the numbers mean nothing)' if args.quick else ''}")
    data = load_data(args)
    train = data["table"][data["train"]:data["calib"]]
    Xtr, Ytr = make_windows(train, window=WINDOW, horizon=list(range(1, H + 1)), target=0,
                            stride=args.stride)
    Xtr, Ytr = np.ascontiguousarray(Xtr), np.ascontiguousarray(Ytr)
    cal = origin_windows(data, data["calib"], data["test"])
    test = origin_windows(data, data["test"], data["end"])
    print(f"- train {args.train_start} .. {args.calib_start} (exclusive): {len(Xtr)} windows "
          f"of shape {Xtr.shape[1:]} (every {args.stride}th), targets hours 1..{H}; "
          f"recursive forecaster: the last {args.rec_hours} hours; calibration "
          f"{args.calib_start} .. {args.test_start}; test {args.test_start} .. end of 2014")
    print(f"- window columns: {', '.join(data['columns'])}")
    sys.stdout.flush()
    out = open(args.json, "a") if args.json else None
    log = lambda s: print(s, flush=True)  # noqa: E731
    logging.getLogger().addFilter(IllSorted())
    monitor = LoadMonitor()
    results, times, hgb_times = {}, [], None
    with threadpool_limits(limits=args.threads):
        if not args.no_baselines:
            res, hgb_times = hgb_paths(Xtr, Ytr, cal, test, log)
            for p, r in res.items():
                results.setdefault(p, []).append(r)
        for seed in seeds:
            res, t = ours_direct(seed, params, Xtr, Ytr, cal, test, log)
            if not args.no_recursive:
                res_rec, t["rec"] = ours_recursive(seed, params, data, args, log)
                res.update(res_rec)
            times.append(t)
            for p, r in res.items():
                results.setdefault(p, []).append(r)
                if out is not None:
                    out.write(json.dumps(dict(path=p, seed=seed, params=params, **r)) + "\n")
            log(f"  seed {seed} done; " + "; ".join(
                f"{p} coverage {min(r['coverage']):.3f}-{max(r['coverage']):.3f}"
                for p, r in res.items()))
    if out is not None:
        for p in ("HGB q0.1/q0.9", "HGB split conf.", "HGB CQR"):
            if p in results:
                out.write(json.dumps(dict(path=p, seed=None, **results[p][0])) + "\n")
        out.close()
    load = monitor.report()
    print_tables(results, seeds, args)
    print_times(times, hgb_times, results)
    if IllSorted.count:
        print(f"\nMAPIE's CQR logged 'The predictions are ill-sorted.' {IllSorted.count} times "
              "over the run (its check in predict_interval, before and after the correction: "
              "on some samples the lower quantile lies above the upper one or the median "
              "outside them)")
    print(f"\nwall {load['wall_s']:.0f} s; CPU used by other processes meanwhile: "
          f"{load['other_cpu_s'] or 0:.0f} s of {load['wall_s'] * load['ncpu']:.0f}")


if __name__ == "__main__":
    main()
