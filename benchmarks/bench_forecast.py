"""Forecasting with the defaults: ours against the last value, Ridge and gradient boosting.

Every model forecasts the same series by the same protocol, in one run:

- ``ours rec.``: ``DeepRNNRegressor(random_state=seed)`` (defaults, seeds 0, 1, 2) as the
  estimator of skforecast's ``ForecasterRecursive``, behind ``LagsToSequences`` (the lag
  table as a sequence, oldest lag first; exogenous values at the target time as extra
  features of every step) and ``SequenceStandardScaler``; the MAE table says at how many
  seeds the regressor's linear fallback kept the autoregressive term alone, recursive and
  direct;
- ``ours dir.``: the package's own direct multi-horizon forecaster, no library involved:
  ``make_windows(series, window=lags, horizon=range(1, H + 1))`` and one
  ``DeepRNNRegressor`` fitted on the ``(n, H)`` targets, predicting hours 1..H at once
  (no exogenous input);
- ``last``: the last observed value; ``seasonal``: the value one season earlier;
- ``Ridge`` and ``HGB`` (``HistGradientBoostingRegressor``), defaults, through the same
  ``ForecasterRecursive`` on the same lags (exogenous columns too).

Protocol per series: the last ``test`` points are forecast ``H`` steps at a time from
origins ``H`` apart (skforecast's ``backtesting_forecaster`` with ``refit=False``), the
models trained once on all points before them. MAE per series, mean over the seeds for
ours. 80% intervals: skforecast's conformal intervals from out-of-sample residuals,
which come from a backtest of a model fitted on the training points but the last
``calib`` ones; coverage and mean width on the test points.

Series (``--series``): ``pm25``, ``temp``, ``dewp``: the bundled Beijing hourly pm2.5,
TEMP and DEWP, July-December 2013, 48 lags, 24 hours ahead, the last 28 days tested;
``pm25_exog``: pm2.5 with DEWP, TEMP, PRES and Iws at the target hour as exogenous
input; ``nile``: the Nile's yearly flow 1871-1970 (statsmodels), 10 lags, 5 years ahead,
the last 20 years tested; ``unemp``: the US quarterly unemployment rate 1959-2009
(statsmodels' ``macrodata``), 8 lags, 4 quarters ahead, the last 40 quarters tested.

Run::

    python benchmarks/bench_forecast.py                     # everything, seeds 0,1,2
    python benchmarks/bench_forecast.py --series nile,unemp --seeds 0 --params '{"pooling": "last"}'

Needs the ``forecast`` extra (skforecast, statsmodels).
"""

import argparse
import json
import os
import sys
import time
import warnings

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline

from skdeeprnn import DeepRNNRegressor, LagsToSequences, SequenceStandardScaler, make_windows

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import LoadMonitor, machine_lines  # noqa: E402

COVERAGE = 0.8  # nominal coverage of the intervals
SERIES = ("pm25", "temp", "dewp", "pm25_exog", "nile", "unemp")


def pm25_frame():
    from skdeeprnn.datasets import load_pm25

    frame = load_pm25(fill_missing="interpolate").frame
    frame = frame.loc["2013-07-01":"2013-12-31"].copy()
    frame.index = pd.RangeIndex(len(frame))  # skforecast wants a regular index
    return frame


def load_series(name):
    """Return a dict: y (Series), exog (DataFrame or None), lags, steps, test, calib, season."""
    if name in ("pm25", "temp", "dewp", "pm25_exog"):
        frame = pm25_frame()
        column = {"pm25": "pm2.5", "pm25_exog": "pm2.5", "temp": "TEMP", "dewp": "DEWP"}[name]
        exog = frame[["DEWP", "TEMP", "PRES", "Iws"]] if name == "pm25_exog" else None
        return dict(y=frame[column].rename("y"), exog=exog, lags=48, steps=24, test=24 * 28,
                    calib=24 * 28, season=24)
    import statsmodels.api as sm

    if name == "nile":
        y = sm.datasets.nile.load_pandas().data["volume"]
        return dict(y=pd.Series(y.to_numpy(float), name="y"), exog=None, lags=10, steps=5,
                    test=20, calib=15, season=None)
    if name == "unemp":
        y = sm.datasets.macrodata.load_pandas().data["unemp"]
        return dict(y=pd.Series(y.to_numpy(float), name="y"), exog=None, lags=8, steps=4,
                    test=40, calib=24, season=4)
    raise ValueError(f"unknown series {name!r}")


def ours(seed, params):
    return DeepRNNRegressor(random_state=seed, **params)


def rnn_pipeline(spec, seed, params):
    # the lag table as a sequence, oldest lag first, the exogenous columns at every step
    return make_pipeline(LagsToSequences(n_lags=spec["lags"]), SequenceStandardScaler(),
                         ours(seed, params))


def backtest(estimator, spec, with_intervals=True):
    """MAE, coverage, width, fit and backtest seconds of one estimator through skforecast."""
    from skforecast.model_selection import TimeSeriesFold, backtesting_forecaster
    from skforecast.recursive import ForecasterRecursive

    y, exog, steps, test, calib = spec["y"], spec["exog"], spec["steps"], spec["test"], \
        spec["calib"]
    n_train = len(y) - test
    forecaster = ForecasterRecursive(estimator=estimator, lags=spec["lags"])
    record = {}
    if with_intervals:
        # out-of-sample residuals: a model fitted without the last `calib` training points
        # forecasts them by the same protocol
        cv_cal = TimeSeriesFold(steps=steps, initial_train_size=n_train - calib, refit=False,
                                verbose=False)
        _, cal = backtesting_forecaster(
            forecaster, y.iloc[:n_train], cv=cv_cal, metric="mean_absolute_error",
            exog=None if exog is None else exog.iloc[:n_train], show_progress=False,
            suppress_warnings=True, n_jobs=1)
    started = time.perf_counter()
    forecaster.fit(y.iloc[:n_train], exog=None if exog is None else exog.iloc[:n_train],
                   store_in_sample_residuals=False)
    record["fit_s"] = time.perf_counter() - started
    final = forecaster.estimator
    record.update(fallback_record(final[-1] if hasattr(final, "steps") else final))
    if with_intervals:
        forecaster.set_out_sample_residuals(y_true=y.iloc[n_train - calib:n_train],
                                            y_pred=cal["pred"])
    cv = TimeSeriesFold(steps=steps, initial_train_size=n_train, refit=False, verbose=False)
    started = time.perf_counter()
    metric, pred = backtesting_forecaster(
        forecaster, y, cv=cv, metric="mean_absolute_error", exog=exog, show_progress=False,
        interval=COVERAGE if with_intervals else None,
        interval_method="conformal", use_in_sample_residuals=False,
        use_binned_residuals=False, suppress_warnings=True, n_jobs=1)
    record["backtest_s"] = time.perf_counter() - started
    record["mae"] = float(metric.iloc[0, -1])
    if with_intervals:
        truth = y.iloc[n_train:].to_numpy()
        lower, upper = pred["lower_bound"].to_numpy(), pred["upper_bound"].to_numpy()
        record["coverage"] = float(np.mean((truth >= lower) & (truth <= upper)))
        record["width"] = float(np.mean(upper - lower))
    return record


def direct(spec, seed, params):
    """The package alone: windows with horizons 1..H, one multi-output fit."""
    y = spec["y"].to_numpy()
    lags, steps, test = spec["lags"], spec["steps"], spec["test"]
    n_train = len(y) - test
    mean, std = y[:n_train].mean(), y[:n_train].std()
    scaled = (y - mean) / std
    X, Y = make_windows(scaled[:n_train], window=lags, horizon=list(range(1, steps + 1)))
    model = ours(seed, params)
    started = time.perf_counter()
    model.fit(X, Y * std + mean)
    fit_s = time.perf_counter() - started
    origins = np.arange(n_train, len(y), steps)  # forecast y[o], ..., y[o + steps - 1]
    windows = np.stack([scaled[o - lags:o] for o in origins])[:, :, None]
    started = time.perf_counter()
    forecasts = model.predict(windows)
    predict_s = time.perf_counter() - started
    pred = np.concatenate([f[: min(steps, len(y) - o)] for f, o in zip(forecasts, origins,
                                                                        strict=True)])
    return {"mae": float(np.mean(np.abs(pred - y[n_train:]))), "fit_s": fit_s,
            "backtest_s": predict_s, **fallback_record(model)}


def naive(spec, season):
    y = spec["y"].to_numpy()
    steps, test = spec["steps"], spec["test"]
    n_train = len(y) - test
    errors = []
    for o in range(n_train, len(y), steps):
        h = np.arange(min(steps, len(y) - o))
        if season is None:
            pred = np.full(len(h), y[o - 1])
        else:  # the value one season before, repeated season after season
            pred = y[o - season + h % season]
        errors.append(np.abs(pred - y[o + h]))
    return {"mae": float(np.mean(np.concatenate(errors)))}


def run_series(name, args, params):
    spec = load_series(name)
    rows = {}
    rows["last"] = naive(spec, None)
    if spec["season"]:
        rows["seasonal"] = naive(spec, spec["season"])
    if not args.no_baselines:
        rows["Ridge"] = backtest(Ridge(), spec)
        rows["HGB"] = backtest(HistGradientBoostingRegressor(random_state=0), spec)
    for seed in args.seeds:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            rec = backtest(rnn_pipeline(spec, seed, params), spec)
            rows[f"ours rec. {seed}"] = rec
            if spec["exog"] is None:
                rows[f"ours dir. {seed}"] = direct(spec, seed, params)
        line = f"  {name} seed {seed}: rec. MAE {rec['mae']:.4g}, fit {rec['fit_s']:.1f} s"
        line += fallback_text(rec)
        if f"ours dir. {seed}" in rows:
            dirr = rows[f"ours dir. {seed}"]
            line += f"; dir. MAE {dirr['mae']:.4g}, fit {dirr['fit_s']:.1f} s" + fallback_text(dirr)
        print(line, flush=True)
    return rows


def run_series_limited(name, args, params):
    """:func:`run_series` with BLAS limited to ``args.threads`` (in whichever process runs it)."""
    from threadpoolctl import threadpool_limits

    if not args.threads:
        return run_series(name, args, params)
    with threadpool_limits(limits=args.threads, user_api="blas"):
        return run_series(name, args, params)


def write_rows(out, name, rows, params):
    if out is None:
        return
    for model, rec in rows.items():
        out.write(json.dumps(dict(series=name, model=model, params=params, **rec)) + "\n")
    out.flush()


def mean_of(rows, prefix, key):
    values = [rec[key] for model, rec in rows.items() if model.startswith(prefix) and key in rec]
    return (float(np.mean(values)), float(np.std(values))) if values else (None, None)


def term_alone(rows, prefix):
    """Seeds whose linear fallback kept the autoregressive term alone, as "k of n"."""
    kept = [rec["term_alone"] for model, rec in rows.items()
            if model.startswith(prefix) and "term_alone" in rec]
    return f"{sum(kept)} of {len(kept)}" if kept else "-"


def fallback_record(model):
    """Whether the regressor's linear fallback kept the term alone, and its test's z."""
    if not hasattr(model, "linear_fallback_"):
        return {}
    return {"term_alone": bool(model.linear_fallback_), "fallback_z": model.linear_fallback_z_}


def fallback_text(record):
    z = record.get("fallback_z")
    if z is None:
        return ""
    return f", fallback z {z:.2f}: " + ("term alone" if record["term_alone"] else "network kept")


def print_tables(results):
    def cell(value, digits=4):
        return "-" if value is None else f"{value:.{digits}g}"

    print("\n## MAE (ours: mean ± std over seeds)\n")
    header = ["series", "ours rec.", "ours dir.", "last", "seasonal", "Ridge", "HGB",
              "ours rec. <= last", "ours rec. <= min(Ridge, HGB)", "term alone rec. / dir."]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    wins = 0
    for name, rows in results.items():
        rec, rec_sd = mean_of(rows, "ours rec.", "mae")
        dirm, dir_sd = mean_of(rows, "ours dir.", "mae")
        best = min((rows[m]["mae"] for m in ("Ridge", "HGB") if m in rows), default=None)
        beat_last = rec <= rows["last"]["mae"]
        beat_best = best is not None and rec <= best
        wins += beat_best
        print("| " + " | ".join([
            name, f"{cell(rec)} ± {cell(rec_sd, 2)}",
            "-" if dirm is None else f"{cell(dirm)} ± {cell(dir_sd, 2)}",
            cell(rows["last"]["mae"]), cell(rows.get("seasonal", {}).get("mae")),
            cell(rows.get("Ridge", {}).get("mae")), cell(rows.get("HGB", {}).get("mae")),
            "yes" if beat_last else "NO", "yes" if beat_best else "no",
            f"{term_alone(rows, 'ours rec.')} / {term_alone(rows, 'ours dir.')}"]) + " |")
    print(f"\nours (recursive) at or below the better of Ridge and HGB on {wins} of "
          f"{len(results)} series")
    print(f"\n## {COVERAGE:.0%} conformal intervals (skforecast, out-of-sample residuals)\n")
    print("| series | ours coverage | ours width | Ridge coverage | Ridge width | HGB coverage "
          "| HGB width |")
    print("|---|---|---|---|---|---|---|")
    for name, rows in results.items():
        cells = [name]
        for prefix in ("ours rec.", "Ridge", "HGB"):
            cells += [cell(mean_of(rows, prefix, "coverage")[0], 3),
                      cell(mean_of(rows, prefix, "width")[0], 4)]
        print("| " + " | ".join(cells) + " |")
    print("\n## seconds (ours: mean over seeds)\n")
    print("| series | ours rec. fit | ours rec. backtest | ours dir. fit | ours dir. predict "
          "| Ridge fit | HGB fit | HGB backtest |")
    print("|---|---|---|---|---|---|---|---|")
    for name, rows in results.items():
        print("| " + " | ".join([
            name, cell(mean_of(rows, "ours rec.", "fit_s")[0], 3),
            cell(mean_of(rows, "ours rec.", "backtest_s")[0], 3),
            cell(mean_of(rows, "ours dir.", "fit_s")[0], 3),
            cell(mean_of(rows, "ours dir.", "backtest_s")[0], 3),
            cell(rows.get("Ridge", {}).get("fit_s"), 3), cell(rows.get("HGB", {}).get("fit_s"), 3),
            cell(rows.get("HGB", {}).get("backtest_s"), 3)]) + " |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--series", default=",".join(SERIES))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--params", default="{}", help="JSON dict of DeepRNNRegressor params")
    parser.add_argument("--threads", type=int, default=None, help="BLAS threads (default: all)")
    parser.add_argument("--no-baselines", action="store_true")
    parser.add_argument("--json", default=None, help="append one JSON line per model and series")
    parser.add_argument("--jobs", type=int, default=1,
                        help="series run at once, in separate processes (default 1)")
    args = parser.parse_args(argv)
    args.seeds = [int(s) for s in args.seeds.split(",")]
    params = json.loads(args.params)
    names = args.series.split(",")
    print("# bench_forecast\n")
    print("\n".join(machine_lines(args.threads or os.cpu_count(), with_torch=False)))
    print(f"- our parameters: defaults{' + ' + json.dumps(params) if params else ''}")
    out = open(args.json, "a") if args.json else None
    monitor = LoadMonitor()
    results = {}
    if args.jobs > 1:
        from joblib import Parallel, delayed

        print(f"- series run {args.jobs} at a time, each in its own process")
        done = Parallel(n_jobs=args.jobs, backend="loky")(
            delayed(run_series_limited)(name, args, params) for name in names)
        for name, rows in zip(names, done, strict=True):
            results[name] = rows
            write_rows(out, name, rows, params)
    else:
        for name in names:
            results[name] = run_series_limited(name, args, params)
            write_rows(out, name, results[name], params)
    load = monitor.report()
    print_tables(results)
    print(f"\nwall {load['wall_s']:.0f} s; CPU used by other processes meanwhile: "
          f"{load['other_cpu_s'] or 0:.0f} s")
    if out is not None:
        out.close()


if __name__ == "__main__":
    main()
