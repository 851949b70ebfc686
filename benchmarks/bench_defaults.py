"""Accuracy of DeepRNNClassifier / DeepRNNRegressor with their DEFAULT parameters.

Every estimator of ours is built with ``random_state`` only (plus the
``--params`` overrides, printed in the header, when comparing candidate
defaults) and sits behind a ``SequenceStandardScaler`` (per-feature mean and
standard deviation over the training samples and steps). Each row is the mean
± standard deviation over the seeds (default 0, 1, 2) of the test score, with
the mean epochs run (``n_iter_``), the ConvergenceWarnings our fits raised
(silenced, but counted: a user would see them) and the wall-clock seconds of
``fit`` of every model. Models are fitted one after the other, BLAS limited
to ``--threads`` (default 2).

Tasks (``--tasks`` names):

- classification, aeon's bundled UCR data with the official splits, test
  accuracy: ``unittest`` (UnitTest), ``arrowhead`` (ArrowHead), ``pickup``
  (PickupGestureWiimoteZ), ``osuleaf`` (OSULeaf); ``memory``: 30 steps of
  standard normal noise with 2 features, label = sign of step 0's first
  feature (800 train / 400 test windows, data seed 1234).
- regression: ``cardano`` (CardanoSentiment from aeon, test RMSE and R²);
  ``adding``: the adding problem (Hochreiter & Schmidhuber), T = 50, every step
  a value from U(0, 1) and a marker, one marked step in each half, target =
  the sum of the two marked values (3,000 train / 1,000 test, data seed 1234,
  test R²).
- ``pm25``: the textbook protocol of examples/plot_pm25_textbook.py: 24-hour
  windows of the 6 textbook features min-max scaled on 2010-2013, trained on
  the 2010-2013 targets (all 35,040, interpolated hours included, as the
  example does), one model per seed on the 1-hour target, recursive forecasts
  8/4/2/1 hours ahead on 2014, R² on the min-max scale. The inputs are already
  min-max scaled, so no scaler is added for this task.
- ``heldout``: tasks that are not targets, to see whether the defaults
  generalise: ``gunpoint`` (GunPoint), ``italy`` (ItalyPowerDemand),
  ``basicmotions`` (BasicMotions, 6 channels), ``japanesevowels``
  (JapaneseVowels, 12 channels), ``covid`` (Covid3Month regression).

Unequal lengths: aeon returns PickupGestureWiimoteZ (29 to 361 steps) and
JapaneseVowels (7 to 29 steps) as lists of unequal arrays; they are padded
at the front to the longest series of train and test together (361 and 29
steps), so the last step of every series is the window's last step. Ours
gets NaN there, which it reads as missing steps (``--unequal missing``, the
default), or zeros (``--unequal zeros``, what users had to do before 0.2:
the zeros count in the scaler's statistics and the network reads them as
data). The flat baselines always get zeros (they cannot take NaN).

Baselines from the same run, on the flattened standardised windows:
``KNeighborsClassifier(n_neighbors=1)`` (1-NN Euclidean) and
``MLPClassifier(random_state=seed)`` for classification; ``Ridge()``,
``HistGradientBoostingRegressor(random_state=seed)``,
``MLPRegressor(random_state=seed)`` and ``KNeighborsRegressor(n_neighbors=1)``
for regression. On PM2.5 the flattened models forecast recursively too, the
MLPRegressor's target is standardised by a TransformedTargetRegressor (as in
bench_accuracy.py: ours standardises its target internally and the min-max
pm2.5 is small), the last-value forecast is added and 1-NN left out. Published
figures are printed beside them: UCR archive (1-NN ED), Fawaz et al. 2019 (MLP,
FCN), Karim et al. 2018 (LSTM-FCN), and the textbook's 26- and 49-parameter
networks on PM2.5.

Run::

    python benchmarks/bench_defaults.py                      # everything, seeds 0,1,2
    python benchmarks/bench_defaults.py --tasks memory,adding --no-baselines \\
        --params '{"cell": "gru", "learning_rate_init": 0.01}' --json runs/gru.jsonl
    python benchmarks/bench_defaults.py --quick              # smoke test, about 20 seconds

How long a full run takes is an ESTIMATE, not a measurement (the lead engineer
measures it): 5 to 20 minutes on this project's 2-core machine with the defaults
at the time of writing (tanh RNN, 1 layer of 32, ``max_iter=200``). Our fits ran
0.3 s per epoch on PM2.5, 0.08 s on the adding problem, 0.04 s on OSULeaf and
less elsewhere: at most about 100 s per seed over all tasks if every fit ran
its 200 epochs. The baselines take 75 to 235 s per seed, most of it PM2.5's
HistGradientBoostingRegressor (about 20 s) and MLPRegressor (about 1 s per
epoch, up to 200 epochs). Candidate defaults whose every fit took its 60 s
limit would make a full run last about an hour.
"""

import argparse
import json
import os
import sys
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from skdeeprnn import SequenceStandardScaler

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import LoadMonitor, machine_lines  # noqa: E402

DATA_SEED = 1234  # the synthetic tasks' data, independent of the model seeds
QUICK_TRAIN = 200  # --quick: at most this many training and test samples
DEFAULT_TIME_LIMIT = 60.0  # seconds per default fit
TIME_LIMITS = {"osuleaf": 120.0}

UCR_NAMES = {
    "unittest": "UnitTest",
    "arrowhead": "ArrowHead",
    "pickup": "PickupGestureWiimoteZ",
    "osuleaf": "OSULeaf",
    "gunpoint": "GunPoint",
    "italy": "ItalyPowerDemand",
    "basicmotions": "BasicMotions",
    "japanesevowels": "JapaneseVowels",
}
REGRESSION_NAMES = {"cardano": "CardanoSentiment", "covid": "Covid3Month"}
GROUPS = {
    "classification": ("unittest", "arrowhead", "pickup", "osuleaf", "memory"),
    "regression": ("cardano", "adding"),
    "pm25": ("pm25",),
    "heldout": ("gunpoint", "italy", "basicmotions", "japanesevowels", "covid"),
}
CLASSIFICATION = {"memory", *UCR_NAMES}
HELD_OUT = set(GROUPS["heldout"])

# UCR archive (1-NN ED), Fawaz et al. 2019 (MLP, FCN), Karim et al. 2018 (LSTM-FCN).
PUBLISHED_ACCURACY = {
    "arrowhead": {"1-NN ED": 0.800, "MLP": 0.778, "FCN": 0.843, "LSTM-FCN": 0.897},
    "osuleaf": {"1-NN ED": 0.521, "MLP": 0.557, "FCN": 0.977, "LSTM-FCN": 0.983},
}
PUBLISHED_METHODS = ("1-NN ED", "MLP", "FCN", "LSTM-FCN")

# PM2.5: the textbook's table (R² on 2014 of its 26- and 49-parameter networks).
PM25_WINDOW = 24
PM25_TEST_HOURS = 8_760
PM25_HORIZONS = (8, 4, 2, 1)
PUBLISHED_PM25_R2 = {
    "26-par.": {8: 0.740684, 4: 0.855700, 2: 0.915486, 1: 0.946411},
    "49-par.": {8: 0.737769, 4: 0.846447, 2: 0.907291, 1: 0.940090},
}


def log(message):
    """Progress on stderr, so that stdout holds the report only."""
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------- data


def pad_front(series, length):
    """Stack ``(d, T_i)`` series into ``(n, length, d)``, zeros in front of the shorter ones."""
    out = np.zeros((len(series), length, series[0].shape[0]))
    for i, s in enumerate(series):
        out[i, length - s.shape[1]:] = s.T
    return out


# task -> (train lengths, test lengths) of the data sets of unequal lengths
LENGTHS = {}


def front_missing(X, lengths):
    """Copy of front-padded ``X`` with NaN (missing steps) in place of the padding."""
    X = X.copy()
    T = X.shape[1]
    X[np.arange(T)[None, :] < (T - np.asarray(lengths))[:, None]] = np.nan
    return X


def load_ucr(name):
    """Official train/test split of a bundled UCR/UEA data set as ``(n, T, d)`` arrays."""
    from aeon.datasets import load_classification

    X_train, y_train = load_classification(name, split="train")
    X_test, y_test = load_classification(name, split="test")
    # aeon gives (n, d, T) arrays, or lists of (d, T_i) arrays for unequal lengths.
    lengths = [s.shape[-1] for s in [*X_train, *X_test]]
    length = max(lengths)
    note = ""
    if min(lengths) < length:
        note = f"unequal lengths {min(lengths)}..{length}, padded in front to {length}"
        LENGTHS[name] = (lengths[: len(X_train)], lengths[len(X_train) :])
    return pad_front(X_train, length), y_train, pad_front(X_test, length), y_test, note


def load_aeon_regression(name):
    """Official train/test split of a bundled regression data set as ``(n, T, d)`` arrays."""
    from aeon.datasets import load_regression

    X_train, y_train = load_regression(name, split="train")
    X_test, y_test = load_regression(name, split="test")
    return (X_train.transpose(0, 2, 1), y_train.astype(np.float64),
            X_test.transpose(0, 2, 1), y_test.astype(np.float64), "")


def make_memory(n_train=800, n_test=400, length=30):
    """Noise sequences labelled by the sign of the first feature at step 0."""
    rng = np.random.default_rng(DATA_SEED)
    X = rng.standard_normal((n_train + n_test, length, 2))
    y = np.where(X[:, 0, 0] > 0, 1, 0)
    return X[:n_train], y[:n_train], X[n_train:], y[n_train:], f"data seed {DATA_SEED}"


def make_adding(n_train=3000, n_test=1000, length=50):
    """The adding problem: sum of the two marked values, one mark in each half."""
    rng = np.random.default_rng(DATA_SEED)
    n = n_train + n_test
    X = np.zeros((n, length, 2))
    X[:, :, 0] = rng.uniform(0.0, 1.0, (n, length))
    rows = np.arange(n)
    first = rng.integers(0, length // 2, n)
    second = rng.integers(length // 2, length, n)
    X[rows, first, 1] = 1.0
    X[rows, second, 1] = 1.0
    y = X[rows, first, 0] + X[rows, second, 0]
    return X[:n_train], y[:n_train], X[n_train:], y[n_train:], f"data seed {DATA_SEED}"


def load_pm25_textbook():
    """Windows of examples/plot_pm25_textbook.py: 2010-2013 targets to train, 2014 to test."""
    from skdeeprnn import make_windows
    from skdeeprnn.datasets import load_pm25, pm25_textbook_features

    features = pm25_textbook_features(load_pm25().frame)  # (43824, 6), hourly 2010-2014
    train_rows = features.iloc[:-PM25_TEST_HOURS]
    low, high = train_rows.min(), train_rows.max()
    scaled = (features - low) / (high - low)
    X, y = make_windows(scaled, PM25_WINDOW, target="pm2.5")  # (43800, 24, 6), (43800,)
    return (X[:-PM25_TEST_HOURS], y[:-PM25_TEST_HOURS], X[-PM25_TEST_HOURS:],
            y[-PM25_TEST_HOURS:], "min-max scaled on 2010-2013, no other scaler")


def load_task(task, quick):
    """Return ``X_train, y_train, X_test, y_test, note`` of a task."""
    if task in UCR_NAMES:
        data = load_ucr(UCR_NAMES[task])
    elif task in REGRESSION_NAMES:
        data = load_aeon_regression(REGRESSION_NAMES[task])
    elif task == "memory":
        data = make_memory()
    elif task == "adding":
        data = make_adding()
    else:
        data = load_pm25_textbook()
    X_train, y_train, X_test, y_test, note = data
    if quick and task == "pm25":
        # The last training windows and the first 20 days of 2014 (a multiple of every horizon).
        X_train, y_train = X_train[-2000:], y_train[-2000:]
        X_test, y_test = X_test[:480], y_test[:480]
    elif quick:
        X_train, y_train = X_train[:QUICK_TRAIN], y_train[:QUICK_TRAIN]
        X_test, y_test = X_test[:QUICK_TRAIN], y_test[:QUICK_TRAIN]
    return (np.ascontiguousarray(X_train), y_train, np.ascontiguousarray(X_test), y_test,
            note)


# ---------------------------------------------------------------------------- models


def flatten(X):
    """``(n, T, d)`` windows as ``(n, T * d)`` rows for the flat baselines."""
    return X.reshape(len(X), -1)


def our_model(task, seed, overrides):
    """The estimator of ours with default parameters, behind the scaler (but on PM2.5)."""
    from sklearn.pipeline import make_pipeline

    from skdeeprnn import DeepRNNClassifier, DeepRNNRegressor

    cls = DeepRNNClassifier if task in CLASSIFICATION else DeepRNNRegressor
    estimator = cls(random_state=seed, **overrides)
    if task == "pm25":
        return make_pipeline(estimator)
    return make_pipeline(SequenceStandardScaler(), estimator)


def baselines(task, seed, quick):
    """``[(name, pipeline)]`` of the same-run baselines on flattened windows."""
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.linear_model import Ridge
    from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    tiny = {"max_iter": 5} if quick else {}

    def flat(model):
        steps = [] if task == "pm25" else [SequenceStandardScaler()]
        return make_pipeline(*steps, FunctionTransformer(flatten), model)

    if task in CLASSIFICATION:
        return [("1-NN", flat(KNeighborsClassifier(n_neighbors=1))),
                ("MLP", flat(MLPClassifier(random_state=seed, **tiny)))]
    hgb = HistGradientBoostingRegressor(random_state=seed, **({"max_iter": 10} if quick else {}))
    mlp = MLPRegressor(random_state=seed, **tiny)
    if task == "pm25":
        mlp = TransformedTargetRegressor(regressor=mlp, transformer=StandardScaler())
        return [("Ridge", flat(Ridge())), ("HGB", flat(hgb)), ("MLP", flat(mlp))]
    return [("Ridge", flat(Ridge())), ("HGB", flat(hgb)), ("MLP", flat(mlp)),
            ("1-NN", flat(KNeighborsRegressor(n_neighbors=1)))]


def timed_fit(model, X, y):
    """Fit; return the wall seconds of ``fit`` and the ConvergenceWarnings it raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        start = time.perf_counter()
        model.fit(X, y)
        seconds = time.perf_counter() - start
    n_convergence = 0
    for w in caught:
        if issubclass(w.category, ConvergenceWarning):
            n_convergence += 1
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    return seconds, n_convergence


def n_iter(model):
    """Epochs (iterations) the model's final step ran, or None."""
    final = model[-1]
    final = getattr(final, "regressor_", final)
    return getattr(final, "n_iter_", None)


# ---------------------------------------------------------------------------- scores


def recursive_forecast(predict, X, k, column=0):
    """Forecast blocks of ``k`` consecutive windows, feeding predictions back.

    As examples/plot_pm25_textbook.py: window ``j`` of a block (from 0) has the
    block's ``j`` earlier predictions in place of the observed ``column``.
    """
    n = len(X)
    y_pred = np.empty(n)
    for j in range(k):  # position inside the block: all blocks at once
        rows = np.arange(j, n, k)
        windows = X[rows]  # a copy: the observed windows are left intact
        for lag in range(1, j + 1):
            windows[:, -lag, column] = y_pred[rows - lag]
        y_pred[rows] = predict(windows)
    return y_pred


def textbook_r2(y_true, y_pred):
    """The textbook's "accuracy": 1 - MSE / Var(y)."""
    return 1.0 - np.mean((y_true - y_pred) ** 2) / np.var(y_true)


def score(task, predict, X_test, y_test):
    """``(primary metric name, {metric: value})`` of a fitted model's predictions."""
    from sklearn.metrics import accuracy_score, mean_squared_error, r2_score

    if task in CLASSIFICATION:
        return "accuracy", {"accuracy": accuracy_score(y_test, predict(X_test))}
    if task == "pm25":
        return "r2_1h", {f"r2_{k}h": textbook_r2(y_test, recursive_forecast(predict, X_test, k))
                         for k in PM25_HORIZONS}
    y_pred = predict(X_test)
    scores = {"rmse": float(np.sqrt(mean_squared_error(y_test, y_pred))),
              "r2": r2_score(y_test, y_pred)}
    return ("r2" if task == "adding" else "rmse"), scores


def last_value(X):
    """The naive forecast: the next hour's pm2.5 equals the window's last one."""
    return X[:, -1, 0]


# ---------------------------------------------------------------------------- running


def run_task(task, data, args, overrides, json_file):
    """Fit every model for every seed; return the per-seed records."""
    X_train, y_train, X_test, y_test, _ = data
    X_ours_train, X_ours_test = X_train, X_test
    if task in UCR_NAMES and UCR_NAMES[task] in LENGTHS and args.unequal == "missing":
        train_lengths, test_lengths = LENGTHS[UCR_NAMES[task]]
        X_ours_train = front_missing(X_train, train_lengths[: len(X_train)])
        X_ours_test = front_missing(X_test, test_lengths[: len(X_test)])
    records = []
    if task == "pm25":
        metric, scores = score(task, last_value, X_test, y_test)
        records.append({"model": "last value", "seed": None, "metric": metric,
                        "scores": scores, "fit_s": 0.0, "n_iter": None, "conv_warnings": 0})
    for seed in args.seeds:
        models = [("ours", our_model(task, seed, overrides))]
        if not args.no_baselines:
            models += baselines(task, seed, args.quick)
        for name, model in models:
            Xa, Xb = (X_ours_train, X_ours_test) if name == "ours" else (X_train, X_test)
            seconds, n_convergence = timed_fit(model, Xa, y_train)
            metric, scores = score(task, model.predict, Xb, y_test)
            records.append({"model": name, "seed": seed, "metric": metric, "scores": scores,
                            "fit_s": seconds, "n_iter": n_iter(model),
                            "conv_warnings": n_convergence})
            log(f"  [{task} seed {seed} {name}: {seconds:.2f} s, {records[-1]['n_iter']} "
                f"iterations, {metric} {scores[metric]:.4f}]")
    if json_file is not None:
        for r in records:
            line = {"task": task, **r, "score": r["scores"][r["metric"]],
                    "params": overrides, "quick": args.quick}
            json_file.write(json.dumps(line) + "\n")
        json_file.flush()
    return records


def summary(records, model, key):
    """``(mean, std)`` of a score (or of ``fit_s``, ``n_iter``...) over a model's seeds."""
    values = [r[key] if key in r else r["scores"][key] for r in records if r["model"] == model]
    values = [v for v in values if v is not None]
    if not values:
        return None
    return float(np.mean(values)), float(np.std(values))


def fmt(stat, digits=3, with_std=True):
    """``mean±std`` (or the mean only), ``-`` when there is nothing."""
    if stat is None:
        return "-"
    if with_std:
        return f"{stat[0]:.{digits}f}±{stat[1]:.{digits}f}"
    return f"{stat[0]:.{digits}f}"


def print_table(title, header, rows):
    """A plain-text table: first column left-aligned, the others right-aligned."""
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]

    def line(cells):
        rest = [f"{c:>{w}}" for c, w in zip(cells[1:], widths[1:], strict=True)]
        return " | ".join([f"{cells[0]:<{widths[0]}}", *rest])

    print(f"\n## {title}\n")
    print(line(header))
    print("-+-".join("-" * w for w in widths))
    for row in rows:
        print(line(row))


def time_check(task, records):
    """``(limit, slowest fit of ours, met)``."""
    limit = TIME_LIMITS.get(task, DEFAULT_TIME_LIMIT)
    slowest = max(r["fit_s"] for r in records if r["model"] == "ours")
    return limit, slowest, slowest <= limit


def score_check(task, records):
    """``(description, met)`` of a task's score target; met is None when it cannot be checked."""
    if task in ("memory", "arrowhead", "adding"):
        metric, name, threshold = ("r2", "R²", 0.95) if task == "adding" else (
            "accuracy", "acc", 0.70 if task == "arrowhead" else 0.95)
        ours = summary(records, "ours", metric)[0]
        return f"{name} {ours:.3f} >= {threshold:.2f}", ours >= threshold
    if task in ("unittest", "pickup", "osuleaf"):
        ours = summary(records, "ours", "accuracy")[0]
        same_run = [summary(records, m, "accuracy") for m in ("1-NN", "MLP")]
        if None in same_run:
            return "acc >= max(1-NN, MLP): no baselines run", None
        best = max(s[0] for s in same_run)
        return f"acc {ours:.3f} >= max(1-NN, MLP) {best:.3f}", ours >= best
    if task == "cardano":
        rmse = summary(records, "ours", "rmse")[0]
        ridge = summary(records, "Ridge", "rmse")
        if ridge is None:
            return "RMSE <= Ridge's: no baselines run", None
        return f"RMSE {rmse:.4f} <= Ridge {ridge[0]:.4f}", rmse <= ridge[0]
    return None, None


def verdict(met):
    """``yes`` / ``NO`` / ``n/a``."""
    return "n/a" if met is None else ("yes" if met else "NO")


def conv_cell(records):
    """ConvergenceWarnings raised by our fits, over all seeds."""
    return str(sum(r["conv_warnings"] for r in records if r["model"] == "ours"))


def fit_cells(records, models):
    """Mean fit seconds of each model."""
    return [fmt(summary(records, m, "fit_s"), 1, with_std=False) for m in models]


def shape_cell(data):
    """``n×T×d / n_test`` of a task's data."""
    X_train, _, X_test, _, _ = data
    n, length, d = X_train.shape
    return f"{n}×{length}×{d} / {len(X_test)}"


def print_classification(title, tasks, results, datas, baseline_names, targets):
    """One row per classification task; published columns when one of the tasks has them."""
    methods = PUBLISHED_METHODS if any(t in PUBLISHED_ACCURACY for t in tasks) else ()
    header = ["task", "train n×T×d / test n", "ours acc", "epochs", "conv. warn.",
              *baseline_names, *(f"pub. {m}" for m in methods)]
    if targets:
        header += ["score target", "met", "fit <= s", "met"]
    header += [f"fit s {m}" for m in ("ours", *baseline_names)]
    rows = []
    for task in tasks:
        records = results[task]
        published = PUBLISHED_ACCURACY.get(task, {})
        row = [task, shape_cell(datas[task]), fmt(summary(records, "ours", "accuracy")),
               fmt(summary(records, "ours", "n_iter"), 0, with_std=False), conv_cell(records),
               *(fmt(summary(records, m, "accuracy")) for m in baseline_names),
               *(f"{published[m]:.3f}" if m in published else "-" for m in methods)]
        if targets:
            description, met = score_check(task, records)
            limit, slowest, time_met = time_check(task, records)
            row += [description, verdict(met), f"{slowest:.1f} <= {limit:.0f}", verdict(time_met)]
        rows.append(row + fit_cells(records, ("ours", *baseline_names)))
    print_table(title, header, rows)


def print_regression(title, tasks, results, datas, baseline_names, targets):
    """One row per regression task: RMSE (R²) of every model."""

    def cell(records, model):
        rmse, r2 = summary(records, model, "rmse"), summary(records, model, "r2")
        return "-" if rmse is None else f"{fmt(rmse, 4)} (R² {r2[0]:.3f})"

    header = ["task", "train n×T×d / test n", "ours RMSE (mean R²)", "epochs", "conv. warn.",
              *(f"{m} RMSE (mean R²)" for m in baseline_names)]
    if targets:
        header += ["score target", "met", "fit <= s", "met"]
    header += [f"fit s {m}" for m in ("ours", *baseline_names)]
    rows = []
    for task in tasks:
        records = results[task]
        row = [task, shape_cell(datas[task]), cell(records, "ours"),
               fmt(summary(records, "ours", "n_iter"), 0, with_std=False), conv_cell(records),
               *(cell(records, m) for m in baseline_names)]
        if targets:
            description, met = score_check(task, records)
            limit, slowest, time_met = time_check(task, records)
            row += [description, verdict(met), f"{slowest:.1f} <= {limit:.0f}", verdict(time_met)]
        rows.append(row + fit_cells(records, ("ours", *baseline_names)))
    print_table(title, header, rows)


def print_pm25(records, data, baseline_names):
    """One row per horizon; the fits (one per seed, 1-hour target) on the line below."""
    models = ["ours", *baseline_names, "last value"]
    header = ["horizon", *(f"{m} R²" for m in models), *(f"pub. {p}" for p in PUBLISHED_PM25_R2)]
    rows = []
    for k in PM25_HORIZONS:
        rows.append([f"{k} h", *(fmt(summary(records, m, f"r2_{k}h"), 4) for m in models),
                     *(f"{pub[k]:.4f}" for pub in PUBLISHED_PM25_R2.values())])
    print_table(f"PM2.5 textbook protocol ({shape_cell(data)}), recursive forecast, R² on the "
                "min-max scale", header, rows)
    limit, slowest, met = time_check("pm25", records)
    fit_s = fit_cells(records, models[:-1])
    epochs = fmt(summary(records, "ours", "n_iter"), 0, with_std=False)
    others = "".join(f", {m} {s} s" for m, s in zip(models[1:-1], fit_s[1:], strict=True))
    print(f"\nmean fit s (one fit per seed, on the 1-hour target): ours {fit_s[0]} s ({epochs} "
          f"epochs, {conv_cell(records)} ConvergenceWarnings){others}; slowest fit of ours "
          f"{slowest:.1f} s <= {limit:.0f} s: {verdict(met)}")


def print_targets(results):
    """Every target of the run and whether it is met."""
    print("\n## Targets\n")
    n_met = n_checked = 0
    for task, records in results.items():
        if task in HELD_OUT:
            continue
        checks = [score_check(task, records)]
        limit, slowest, time_met = time_check(task, records)
        checks.append((f"slowest default fit {slowest:.1f} s <= {limit:.0f} s", time_met))
        for description, met in checks:
            if description is None:
                continue
            print(f"- {task}: {description}: {verdict(met)}")
            n_checked += met is not None
            n_met += bool(met)
    print(f"\n{n_met} of {n_checked} checked targets met")


def parse_tasks(text):
    """Task names from a comma list of task and group names (``all`` = every group)."""
    everything = [t for group in GROUPS.values() for t in group]
    tasks = []
    for name in text.split(","):
        name = name.strip().lower()
        if name == "all":
            tasks += everything
        elif name in GROUPS:
            tasks += GROUPS[name]
        elif name in everything:
            tasks.append(name)
        else:
            raise SystemExit(f"unknown task {name!r}; expected one of {everything}, a group "
                             f"({', '.join(GROUPS)}) or 'all'")
    return [t for t in everything if t in tasks]  # in table order, once each


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--params", default="{}",
                   help="JSON object of parameter overrides for both estimators, e.g. "
                        "'{\"cell\": \"gru\", \"learning_rate_init\": 0.01}' (default: none)")
    p.add_argument("--tasks", default="all",
                   help="comma list of tasks or groups: unittest, arrowhead, pickup, osuleaf, "
                        "memory, cardano, adding, pm25, gunpoint, italy, basicmotions, "
                        "japanesevowels, covid; classification, regression, pm25, heldout, all "
                        "(default)")
    p.add_argument("--seeds", default="0,1,2", help="comma list of model seeds (default 0,1,2)")
    p.add_argument("--unequal", default="missing", choices=["missing", "zeros"],
                   help="how ours gets the padding of unequal lengths: NaN missing steps "
                        "(default) or zeros")
    p.add_argument("--no-baselines", action="store_true",
                   help="skip the baselines (fast tuning runs; baseline targets become n/a)")
    p.add_argument("--quick", action="store_true",
                   help="smoke test: max_iter=2 for ours (5 for MLPs, 10 for HGB), the first "
                        f"seed only, at most {QUICK_TRAIN} train/test samples")
    p.add_argument("--json", default=None, metavar="PATH",
                   help="also write every per-seed result as JSON lines to PATH")
    p.add_argument("--threads", type=int, default=2, help="BLAS threads (default 2)")
    args = p.parse_args(argv)

    params = json.loads(args.params)
    if not isinstance(params, dict):
        raise SystemExit(f"--params must be a JSON object, got {args.params!r}")
    overrides = {**params, "max_iter": 2} if args.quick else params
    args.seeds = [int(s) for s in args.seeds.split(",")][: 1 if args.quick else None]
    tasks = parse_tasks(args.tasks)

    from threadpoolctl import threadpool_limits

    from skdeeprnn import DeepRNNClassifier, DeepRNNRegressor

    for cls in (DeepRNNClassifier, DeepRNNRegressor):  # fail now on a misspelt override
        cls().set_params(**overrides)
    limiter = threadpool_limits(limits=args.threads)  # noqa: F841 (kept alive)

    print("# Accuracy with default parameters\n")
    print("\n".join(machine_lines(args.threads, with_torch=False)))
    print(f"- command: {' '.join([os.path.basename(sys.executable)] + sys.argv)}")
    print("- ours: DeepRNNClassifier / DeepRNNRegressor(random_state=seed"
          + "".join(f", {k}={v!r}" for k, v in overrides.items()) + ")"
          + ("" if overrides else ": pure defaults"))
    print("- inputs: SequenceStandardScaler() in front of every model, fitted on the training "
          "split (none on PM2.5: already min-max scaled)")
    print(f"- unequal lengths: ours gets the front padding as "
          f"{'NaN missing steps' if args.unequal == 'missing' else 'zeros'}, "
          "the flat baselines as zeros")
    print(f"- seeds: {', '.join(map(str, args.seeds))}; baselines: "
          f"{'skipped' if args.no_baselines else 'run'}"
          + ("; QUICK smoke test: subsampled data, few epochs" if args.quick else ""))
    monitor = LoadMonitor()

    json_file = open(args.json, "w") if args.json else None
    datas, results = {}, {}
    try:
        for task in tasks:
            log(f"{task}: loading")
            datas[task] = load_task(task, args.quick)
            results[task] = run_task(task, datas[task], args, overrides, json_file)
    finally:
        if json_file is not None:
            json_file.close()

    for task, data in datas.items():
        X_train, _, X_test, _, note = data
        print(f"- data {task}: train {'×'.join(map(str, X_train.shape))}, test "
              f"{'×'.join(map(str, X_test.shape))}" + (f"; {note}" if note else ""))
    print(f"- machine load over the run: {monitor.describe()}")

    def baseline_names(task):
        return [] if args.no_baselines else [m for m, _ in baselines(task, 0, args.quick)]

    held_out = GROUPS["heldout"]
    sections = (  # (title, tasks, printer, with targets)
        ("Classification: test accuracy", GROUPS["classification"], print_classification, True),
        ("Regression: test RMSE (R²)", GROUPS["regression"], print_regression, True),
        ("Held-out check, classification (not targets)",
         [t for t in held_out if t in CLASSIFICATION], print_classification, False),
        ("Held-out check, regression (not targets)",
         [t for t in held_out if t not in CLASSIFICATION], print_regression, False),
    )
    for title, group, printer, with_targets in sections:
        chosen = [t for t in group if t in results]
        if chosen:
            printer(title, chosen, results, datas, baseline_names(chosen[0]), with_targets)
    if "pm25" in results:
        print_pm25(results["pm25"], datas["pm25"], baseline_names("pm25"))
    print_targets(results)


if __name__ == "__main__":
    main()
