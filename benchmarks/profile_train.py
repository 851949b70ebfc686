"""Where DeepRNNRegressor's training time goes, for one bench_train configuration.

Runs ``fit`` under cProfile and splits the time into: set-up (validation,
target scaling), the network's forward pass (input
projection GEMMs vs the cells' time loops), the backward pass (cells' time
loops vs the weight-gradient GEMMs), the loss, the optimizer and the rest of
the minibatch loop (gathering batches, the divergence guard). The cells'
loops are pure NumPy calls, so their time is the per-step GEMMs plus the
elementwise gate math plus Python's per-call overhead; ``--lines`` adds a
line-by-line profile of the cell (needs ``line_profiler``), and
``--steps`` times one time step's operations in isolation.

Example::

    python benchmarks/profile_train.py T24-d6-2x64-lstm --dtype float32 --lines
"""

import argparse
import cProfile
import os
import pstats
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_train import CONFIGS, fit_ours, make_data, train_flops_per_sequence  # noqa: E402


def cum(stats, path_part, func):
    """(cumulative s, tottime s, calls) of the functions named ``func`` in files matching."""
    ct = tt = nc = 0
    for (filename, _, name), (_, ncalls, tottime, cumtime, _) in stats.stats.items():
        if name == func and path_part in filename.replace(os.sep, "/"):
            ct += cumtime
            tt += tottime
            nc += ncalls
    return ct, tt, nc


def breakdown(cfg, dtype, epochs):
    X, y = make_data(cfg, np.dtype(dtype))
    fit_ours(cfg, dtype, X[: 2 * cfg.batch], y[: 2 * cfg.batch], 1)  # warm-up
    prof = cProfile.Profile()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = time.perf_counter()
        prof.enable()
        fit_ours(cfg, dtype, X, y, epochs)
        prof.disable()
        wall = time.perf_counter() - t
    st = pstats.Stats(prof)
    total = cum(st, "_estimators/_base.py", "fit")[0]
    val = cum(st, "_estimators/_base.py", "_validate_fit_data")[0]
    enc = cum(st, "_estimators/_", "_encode_targets")[0]
    epoch = cum(st, "_estimators/_base.py", "_run_epoch")[0]
    lag = cum(st, "core/_network.py", "loss_and_grad")
    fwd = cum(st, "core/_network.py", "forward")[0]
    bwd = cum(st, "core/_network.py", "backward")[0]
    cf = cum(st, "core/_cells.py", "forward")[0]
    cb = cum(st, "core/_cells.py", "backward")[0]
    loss = cum(st, "core/_losses.py", "weighted_loss")[0]
    opt = cum(st, "core/_optimizers.py", "update")[0]
    clip = cum(st, "core/_optimizers.py", "clip_by_global_norm")[0]
    batches = lag[2]
    rows = [
        ("fit (profiled)", total),
        ("  set-up: validate_data", val),
        ("  set-up: target scaling", enc),
        ("  epochs (_run_epoch)", epoch),
        ("    loss_and_grad", lag[0]),
        ("      forward", fwd),
        ("        cells' time loops", cf),
        ("        input projections + head", fwd - cf),
        ("      loss", loss),
        ("      backward", bwd),
        ("        cells' time loops", cb),
        ("        weight-gradient / dX GEMMs + head", bwd - cb),
        ("      L2 penalty etc.", lag[0] - fwd - bwd - loss),
        ("    optimizer update", opt),
        ("    clip_by_global_norm (norm only)", clip),
        ("    rest of the batch loop (gather, copyto, isfinite)",
         epoch - lag[0] - opt - clip),
    ]
    flops = train_flops_per_sequence(cfg) * cfg.n * epochs
    print(f"\n### {cfg.name} {dtype}: n={cfg.n}, batch {cfg.batch}, {epochs} epochs, "
          f"{batches} minibatches; wall {wall:.2f} s (with profiler), "
          f"{flops / wall / 1e9:.2f} GFLOP/s\n")
    print("| part | seconds | % of fit | ms per minibatch |")
    print("|---|---|---|---|")
    for name, sec in rows:
        print(f"| {name} | {sec:.3f} | {100 * sec / total:.1f} | "
              f"{1e3 * sec / max(batches, 1):.2f} |")
    return st


def timed_breakdown(cfg, dtype, epochs):
    """The breakdown of :func:`breakdown` timed with ``perf_counter``, without a profiler.

    cProfile charges each Python-level call, and the core makes one per
    time step and product, so its figures overstate the parts with many small
    calls. Here only the network's and the cell's forward and backward are
    wrapped (a few calls per minibatch), so the parts are what ``fit`` spends.
    """
    from skdeeprnn.core import _cells, _network

    cell = {"rnn": _cells.RNNCell, "lstm": _cells.LSTMCell, "gru": _cells.GRUCell}[cfg.cell]
    targets = [(_network.StackedRNN, "loss_and_grad"), (_network.StackedRNN, "forward"),
               (_network.StackedRNN, "backward"), (cell, "forward"), (cell, "backward")]
    spent = {}

    def timed(key, fn):
        def wrapper(*args, **kwargs):
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                total, calls = spent.get(key, (0.0, 0))
                spent[key] = (total + time.perf_counter() - t, calls + 1)
        return wrapper

    X, y = make_data(cfg, np.dtype(dtype))
    fit_ours(cfg, dtype, X[: 2 * cfg.batch], y[: 2 * cfg.batch], 1)  # warm-up
    originals = [(owner, name, getattr(owner, name)) for owner, name in targets]
    try:
        for owner, name, fn in originals:
            setattr(owner, name, timed((owner.__name__, name), fn))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t = time.perf_counter()
            fit_ours(cfg, dtype, X, y, epochs)
            wall = time.perf_counter() - t
    finally:
        for owner, name, fn in originals:
            setattr(owner, name, fn)
    lag, batches = spent[("StackedRNN", "loss_and_grad")]
    fwd = spent[("StackedRNN", "forward")][0]
    bwd = spent[("StackedRNN", "backward")][0]
    cf = spent[(cell.__name__, "forward")][0]
    cb = spent[(cell.__name__, "backward")][0]
    rows = [
        ("fit", wall),
        ("  loss_and_grad", lag),
        ("    forward: cells' time loops", cf),
        ("    forward: input projections + head", fwd - cf),
        ("    backward: cells' time loops", cb),
        ("    backward: weight / input gradients + head", bwd - cb),
        ("    loss, L2 penalty", lag - fwd - bwd),
        ("  rest of fit (optimizer, clipping, batches, set-up)", wall - lag),
    ]
    print(f"\n### {cfg.name} {dtype}, timed without a profiler: n={cfg.n}, batch {cfg.batch}, "
          f"{epochs} epochs, {batches} minibatches\n")
    print("| part | seconds | % of fit | ms per minibatch |")
    print("|---|---|---|---|")
    for name, sec in rows:
        print(f"| {name} | {sec:.3f} | {100 * sec / wall:.1f} | "
              f"{1e3 * sec / max(batches, 1):.2f} |")


def step_costs(cfg, dtype, repeats=2000):
    """Microseconds of one step's operations for the first layer's shapes (batch x hidden)."""
    from scipy.special import expit

    rng = np.random.RandomState(0)
    n, h = cfg.batch, cfg.hidden
    G = {"rnn": 1, "lstm": 4, "gru": 3}[cfg.cell]
    W = rng.standard_normal((G * h, h)).astype(dtype) * 0.1
    hprev = rng.standard_normal((n, h)).astype(dtype)
    out = np.empty((n, G * h), dtype=dtype)
    a = rng.standard_normal((n, G * h)).astype(dtype)
    small = np.empty((n, h), dtype=dtype)
    ops = {
        "matmul h_prev @ W_hh.T (out=)": lambda: np.matmul(hprev, W.T, out=out),
        "add (n, G*h) in place": lambda: np.add(a, out, out=a),
        "expit on (n, G*h) contiguous": lambda: expit(out, out=out),
        "expit on (n, 2h) strided slice": lambda: expit(out[:, : 2 * h], out=out[:, : 2 * h]),
        "tanh on (n, h) slice": lambda: np.tanh(out[:, :h], out=out[:, :h]),
        "multiply (n, h)": lambda: np.multiply(hprev, hprev, out=small),
        "subtract 1 - x (n, h)": lambda: np.subtract(1.0, hprev, out=small),
        "Python: slice a[:, :h] (view creation)": lambda: a[:, :h],
    }
    print(f"\n#### one step's operations, {cfg.name} {dtype} (n={n}, h={h}, G={G}), "
          f"median of {repeats} calls\n")
    print("| operation | µs |")
    print("|---|---|")
    for name, fn in ops.items():
        fn()
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        print(f"| {name} | {1e6 * float(np.median(times)):.2f} |")


def line_profile(cfg, dtype, epochs):
    try:
        from line_profiler import LineProfiler
    except ImportError:
        print("line_profiler is not installed; skipping --lines")
        return
    from skdeeprnn.core import _cells, _network

    cell = {"rnn": _cells.RNNCell, "lstm": _cells.LSTMCell, "gru": _cells.GRUCell}[cfg.cell]
    X, y = make_data(cfg, np.dtype(dtype))
    lp = LineProfiler()
    for fn in (cell.forward, cell.backward, _network.StackedRNN.forward,
               _network.StackedRNN.backward):
        lp.add_function(fn)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lp.runcall(fit_ours, cfg, dtype, X, y, epochs)
    lp.print_stats(output_unit=1e-3, stripzeros=True)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("configs", nargs="+", help="config names from bench_train.py")
    p.add_argument("--dtype", default="float64")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--n", type=int, default=None, help="override the number of sequences")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--lines", action="store_true", help="line_profiler on the cell and network")
    p.add_argument("--steps", action="store_true", help="time one step's operations")
    p.add_argument("--top", type=int, default=0, help="also print cProfile's top N by tottime")
    p.add_argument("--timers", action="store_true",
                   help="time the parts with perf_counter instead of cProfile")
    args = p.parse_args(argv)

    from threadpoolctl import threadpool_limits

    import skdeeprnn  # noqa: F401

    limiter = threadpool_limits(limits=args.threads)  # noqa: F841
    by_name = {c.name: c for c in CONFIGS}
    for name in args.configs:
        cfg = by_name[name]
        if args.n:
            cfg = cfg.__class__(**{**cfg.__dict__, "n": args.n})
        if args.timers:
            timed_breakdown(cfg, args.dtype, args.epochs)
            continue
        st = breakdown(cfg, args.dtype, args.epochs)
        if args.top:
            st.sort_stats("tottime").print_stats(args.top)
        if args.steps:
            step_costs(cfg, args.dtype)
        if args.lines:
            line_profile(cfg, args.dtype, args.epochs)


if __name__ == "__main__":
    main()
