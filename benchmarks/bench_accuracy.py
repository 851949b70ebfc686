"""Time to accuracy on the bundled Beijing PM2.5 data: DeepRNNRegressor vs MLPRegressor.

Task (the deep-RNN textbook's): from 24 hourly steps of the 6 textbook
features (``pm25_textbook_features``: pm2.5 interpolated, DEWP, TEMP, PRES,
wind direction code, hourly wind speed), min-max scaled on the training years,
predict pm2.5 one hour after the window.

- train: windows whose target hour is in 2010-2013; test: the last 8,760
  target hours (2014). Windows whose target hour was *missing* in the raw data
  (it is only interpolated) are left out of both training and scoring.
- the scaler is fitted on the 2010-2013 rows only.
- scores: test R², RMSE and MAE in ug/m^3, fit seconds, epochs run.

Models: our DeepRNNRegressor (3D windows), scikit-learn's MLPRegressor on the
same windows flattened to 144 columns (its target standardised by a
TransformedTargetRegressor, as ours standardises internally) and the
last-value baseline (pm2.5 of the window's last hour).

Run ``python benchmarks/bench_accuracy.py [--quick]``; see benchmarks/README.md.
"""

import argparse
import os
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import LoadMonitor, machine_lines  # noqa: E402

WINDOW = 24
HORIZON = 1
TEST_HOURS = 8760


def load_task(quick=False):
    """Return ``X_train, y_train, X_test, y_test, last_test`` (raw-unit targets)."""
    from skdeeprnn import make_windows
    from skdeeprnn.datasets import load_pm25, pm25_textbook_features

    frame = load_pm25().frame
    feats = pm25_textbook_features(frame)
    values = feats.to_numpy(dtype=np.float64)
    n_rows = len(values)
    first_test_row = n_rows - TEST_HOURS  # 2014-01-01 00:00
    assert str(feats.index[first_test_row]) == "2014-01-01 00:00:00"

    lo = values[:first_test_row].min(axis=0)
    span = values[:first_test_row].max(axis=0) - lo
    scaled = (values - lo) / np.where(span > 0, span, 1.0)

    X, _ = make_windows(scaled, WINDOW, horizon=HORIZON, target=0)
    target_row = np.arange(len(X)) + WINDOW - 1 + HORIZON
    y = values[target_row, 0]  # interpolated pm2.5 in ug/m^3
    observed = frame["pm2.5"].notna().to_numpy()[target_row]
    last_value = values[target_row - HORIZON, 0]

    test = target_row >= first_test_row
    train = ~test & observed
    test &= observed
    X_train, y_train = X[train], y[train]
    if quick:
        X_train, y_train = X_train[-4000:], y_train[-4000:]
    return (np.ascontiguousarray(X_train), y_train, np.ascontiguousarray(X[test]), y[test],
            last_value[test])


def scores(y_true, y_pred):
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    return {
        "r2": r2_score(y_true, y_pred),
        "rmse": float(np.sqrt(mean_squared_error(y_true, y_pred))),
        "mae": mean_absolute_error(y_true, y_pred),
    }


def models(quick):
    """(name, description, estimator, wants_3d) for every model."""
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.neural_network import MLPRegressor
    from sklearn.preprocessing import StandardScaler

    from skdeeprnn import DeepRNNRegressor

    max_iter = 3 if quick else 100
    common = dict(solver="adam", learning_rate_init=1e-3, batch_size=64, max_iter=max_iter,
                  early_stopping=True, validation_fraction=0.1, n_iter_no_change=5,
                  random_state=0)
    # the settings this table was measured with, from before the defaults changed
    rnn_settings = dict(pooling="last", layer_norm=False, forget_bias=None,
                        learning_rate="constant", clip_grad_norm=None, autoregressive=0,
                        alpha=0.0001)
    out = [
        ("ours gru 1x32, chronological val",
         "DeepRNNRegressor(1 layer GRU 32, adam lr 1e-3, batch 64, early_stopping, "
         "shuffle=False: validation = last 10% in time, batches in time order)",
         DeepRNNRegressor(num_layers=1, hidden_size=32, cell="gru", shuffle=False, **common,
                          dtype="float64", **rnn_settings),
         True),
        ("ours gru 1x32, shuffled",
         "same, shuffle=True: shuffled batches, random 10% validation",
         DeepRNNRegressor(num_layers=1, hidden_size=32, cell="gru", shuffle=True, **common,
                          dtype="float64", **rnn_settings),
         True),
        ("ours tanh 2x16, shuffled",
         "DeepRNNRegressor(2 layers tanh RNN 16, adam lr 1e-3, batch 64, early_stopping, "
         "shuffle=True)",
         DeepRNNRegressor(num_layers=2, hidden_size=16, cell="rnn", shuffle=True, **common,
                          dtype="float64", **rnn_settings),
         True),
        ("ours gru 1x32 float32, shuffled",
         "as 'ours gru 1x32, shuffled' with dtype='float32'",
         DeepRNNRegressor(num_layers=1, hidden_size=32, cell="gru", shuffle=True,
                          dtype="float32", **common, **rnn_settings),
         True),
        ("MLPRegressor (64,)",
         "MLPRegressor(hidden_layer_sizes=(64,), adam lr 1e-3, batch 64, early_stopping "
         "(random 10% validation), n_iter_no_change=5) on the 144 flattened inputs, target "
         "standardised (TransformedTargetRegressor)",
         TransformedTargetRegressor(
             regressor=MLPRegressor(hidden_layer_sizes=(64,), **common),
             transformer=StandardScaler()),
         False),
    ]
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="last 4,000 training windows and at most 3 epochs (smoke test)")
    p.add_argument("--threads", type=int, default=2, help="BLAS threads (default 2)")
    p.add_argument("--only", default=None,
                   help="run only the models whose name contains this text")
    args = p.parse_args(argv)

    from threadpoolctl import threadpool_limits

    import skdeeprnn  # noqa: F401  (load its libraries before limiting the pools)

    limiter = threadpool_limits(limits=args.threads)  # noqa: F841 (kept alive)
    print("# PM2.5 time to accuracy\n")
    print("\n".join(machine_lines(args.threads, with_torch=False)))
    print(f"- command: {' '.join([os.path.basename(sys.executable)] + sys.argv)}")
    monitor = LoadMonitor()
    X_train, y_train, X_test, y_test, last_test = load_task(args.quick)
    print(f"- data: {X_train.shape[0]} training windows (target hour 2010-2013), "
          f"{X_test.shape[0]} test windows (2014), window {WINDOW} x {X_train.shape[2]} "
          f"features, horizon {HORIZON} h; targets missing in the raw data left out")

    rows = [("last-value baseline", "pm2.5 of the window's last hour", 0.0, None,
             scores(y_test, last_test))]
    descriptions = []
    for name, desc, est, wants_3d in models(args.quick):
        if args.only and args.only not in name:
            continue
        Xtr = X_train if wants_3d else X_train.reshape(len(X_train), -1)
        Xte = X_test if wants_3d else X_test.reshape(len(X_test), -1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t = time.perf_counter()
            est.fit(Xtr, y_train)
            seconds = time.perf_counter() - t
        fitted = getattr(est, "regressor_", est)
        rows.append((name, desc, seconds, fitted.n_iter_, scores(y_test, est.predict(Xte))))
        print(f"  [{name}: {seconds:.1f} s, {fitted.n_iter_} epochs, "
              f"R² {rows[-1][-1]['r2']:.4f}]", file=sys.stderr, flush=True)
        descriptions.append(f"- **{name}**: {desc}")

    print(f"- machine load over the run: {monitor.describe()}\n")
    print("| model | fit s | epochs | s/epoch | test R² | RMSE ug/m³ | MAE ug/m³ |")
    print("|---|---|---|---|---|---|---|")
    for name, _, seconds, epochs, sc in rows:
        per = f"{seconds / epochs:.2f}" if epochs else "-"
        print(f"| {name} | {seconds:.1f} | {epochs if epochs is not None else '-'} | {per} | "
              f"{sc['r2']:.4f} | {sc['rmse']:.2f} | {sc['mae']:.2f} |")
    print()
    print("\n".join(descriptions))


if __name__ == "__main__":
    main()
