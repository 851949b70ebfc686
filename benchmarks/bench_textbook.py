"""The textbook's two PM2.5 networks, trained as the textbook trains them, over seeds.

The deep-RNN textbook's chapter trains a two-layer, two-unit tanh RNN without
biases (26 parameters) and a one-layer, four-unit tanh RNN with biases (49)
by plain SGD (learning rate 0.05, batches of 64, 100 epochs, shuffled) on the
min-max-scaled pm2.5, and publishes their R² on the 2014 test year for
recursive forecasts 1, 2, 4 and 8 hours ahead. This script trains both with
those settings, on the raw min-max-scaled target (``standardize_target=False``)
or on the standardised one (``--standardize-target``), for several seeds,
and prints each seed's R² beside the published figures with the mean over
the seeds and its difference from them.

Run ``python benchmarks/bench_textbook.py [--seeds 0,1,2] [--epochs 100]
[--dtype float32] [--standardize-target]``; see benchmarks/README.md.
"""

import argparse
import os
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import machine_lines  # noqa: E402
from bench_defaults import (  # noqa: E402
    PM25_HORIZONS,
    load_pm25_textbook,
    recursive_forecast,
    textbook_r2,
)

PUBLISHED_R2 = {
    "26": {8: 0.740684, 4: 0.855700, 2: 0.915486, 1: 0.946411},
    "49": {8: 0.737769, 4: 0.846447, 2: 0.907291, 1: 0.940090},
}
NETWORKS = {"26": dict(num_layers=2, hidden_size=2, bias=False),
            "49": dict(num_layers=1, hidden_size=4, bias=True)}


def textbook_network(name, seed, epochs, dtype, standardize_target):
    """The chapter's network and training settings, every other choice explicit."""
    from skdeeprnn import DeepRNNRegressor

    return DeepRNNRegressor(
        **NETWORKS[name], cell="rnn", nonlinearity="tanh", pooling="last", layer_norm=False,
        autoregressive=0,
        init="uniform",
        solver="sgd", momentum=0.0, learning_rate_init=0.05, learning_rate="constant",
        batch_size=64, max_iter=epochs, alpha=0.0, shuffle=True, tol=0.0,
        n_iter_no_change=epochs, clip_grad_norm=None, dtype=dtype,
        standardize_target=standardize_target, random_state=seed,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--standardize-target", action="store_true")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    for line in machine_lines(threads="BLAS default", with_torch=False):
        print(line)
    print(f"seeds {seeds}, {args.epochs} epochs, {args.dtype}, standardize_target="
          f"{args.standardize_target}\n")
    X_train, y_train, X_test, y_test, _ = load_pm25_textbook()
    # the chapter trains for a fixed number of epochs: the loss still moving is expected
    warnings.filterwarnings("ignore", message="Stochastic optimizer: maximum iterations")
    for name in NETWORKS:
        r2 = {k: [] for k in PM25_HORIZONS}
        for seed in seeds:
            model = textbook_network(name, seed, args.epochs, args.dtype,
                                     args.standardize_target)
            start = time.perf_counter()
            model.fit(X_train, y_train)
            seconds = time.perf_counter() - start
            for k in PM25_HORIZONS:
                r2[k].append(textbook_r2(y_test, recursive_forecast(model.predict, X_test, k)))
            print(f"{name}-parameter network, seed {seed}: fit {seconds:.1f} s, R² "
                  + " ".join(f"{k} h {r2[k][-1]:.4f}" for k in PM25_HORIZONS), flush=True)
        print(f"\n{name}-parameter network: horizon | published | mean of {len(seeds)} seeds "
              "(min .. max) | mean - published")
        for k in PM25_HORIZONS:
            values = np.array(r2[k])
            print(f"  {k} h | {PUBLISHED_R2[name][k]:.4f} | {values.mean():.4f} "
                  f"({values.min():.4f} .. {values.max():.4f}) | "
                  f"{values.mean() - PUBLISHED_R2[name][k]:+.4f}")
        print()


if __name__ == "__main__":
    main()
