"""Training / prediction speed and peak memory of DeepRNNRegressor against PyTorch CPU.

For each configuration (cell, layers, hidden size, sequence length, features,
batch size) and dtype, both sides train the same architecture on the same
random data for the same number of epochs with Adam (same learning rate,
shuffled minibatches, squared error on the last step's output):

- ours: ``DeepRNNRegressor(..., solver='adam', tol=0, n_iter_no_change=E+1,
  shuffle=True, alpha=0)``; the timed ``fit`` includes input validation, the
  target scaling and the time-major copy of the data;
- torch: ``nn.RNN/LSTM/GRU(batch_first=True)`` + ``nn.Linear`` on the last
  step, ``torch.optim.Adam``, a plain Python loop over ``torch.randperm``
  minibatches with ``zero_grad(); loss.backward(); step()``.

Each side runs in its own fresh subprocess per configuration and dtype (torch's
OpenMP threads and NumPy's OpenBLAS threads slow each other down by orders of
magnitude when both live in one process on a small machine; see the README).

A third side, onnxruntime, predicts with our fitted model exported by
``skdeeprnn.to_onnx`` (saved by our worker, loaded by its own subprocess; no
training), when onnx and onnxruntime are installed.

Printed: seconds per epoch (total / epochs, and the median of the epochs after
the first), prediction throughput (the whole training set in batches of 1024,
best of 3), the latency of predicting one sequence per call (mean of 100
calls, best of 3), peak training memory (growth of the peak RSS during a tiny
warm-up fit and the timed training over the RSS after imports and data),
and our achieved GFLOP/s against a large GEMM measured in the same run.

Run ``python benchmarks/bench_train.py --help``; see benchmarks/README.md.
"""

import argparse
import fnmatch
import gc
import importlib.util
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass, replace

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import (  # noqa: E402
    LoadMonitor,
    machine_lines,
    reset_peak_rss,
    rss_kib,
    wait_until_quiet,
)

GATES = {"rnn": 1, "lstm": 4, "gru": 3}
PRED_BATCH = 1024
LATENCY_CALLS = 100
LEARNING_RATE = 1e-3


@dataclass(frozen=True)
class Config:
    """One benchmark configuration."""

    name: str
    T: int
    d: int
    layers: int
    hidden: int
    cell: str
    batch: int
    n: int
    epochs: int
    bias: bool = True
    nonlinearity: str = "tanh"


CONFIGS = [
    Config("pm25-textbook", T=24, d=6, layers=2, hidden=2, cell="rnn", batch=64, n=16384,
           epochs=5, bias=False),
    Config("T24-d6-2x64-rnn", T=24, d=6, layers=2, hidden=64, cell="rnn", batch=64, n=4096,
           epochs=4),
    Config("T24-d6-2x64-lstm", T=24, d=6, layers=2, hidden=64, cell="lstm", batch=64, n=2048,
           epochs=4),
    Config("T24-d6-2x64-gru", T=24, d=6, layers=2, hidden=64, cell="gru", batch=64, n=2048,
           epochs=4),
    Config("T50-d32-2x128-lstm", T=50, d=32, layers=2, hidden=128, cell="lstm", batch=64,
           n=1024, epochs=3),
    Config("T50-d32-2x128-gru", T=50, d=32, layers=2, hidden=128, cell="gru", batch=64,
           n=1024, epochs=3),
    Config("T100-d8-3x256-gru", T=100, d=8, layers=3, hidden=256, cell="gru", batch=64,
           n=512, epochs=3),
]


def quick_config(cfg):
    """The same architecture on a tiny data set, two epochs."""
    return replace(cfg, n=2 * cfg.batch, epochs=2)


# ----------------------------------------------------------------------------- data & FLOPs
def make_data(cfg, dtype):
    """Random sequences and a target that depends on the last steps; same for both sides."""
    rng = np.random.RandomState(0)
    X = rng.standard_normal((cfg.n, cfg.T, cfg.d))
    y = X[:, -3:, 0].sum(axis=1) + 0.5 * X[:, :, (1 % cfg.d)].mean(axis=1)
    y += 0.1 * rng.standard_normal(cfg.n)
    return np.ascontiguousarray(X, dtype=dtype), y.astype(dtype)


def train_flops_per_sequence(cfg):
    """Multiply-add FLOPs (x2) of one training step on one sequence (GEMM work only).

    Per layer and step, with ``G`` gates, input width ``d_in`` and hidden ``h``:
    forward ``2 (d_in + h) G h``; backward ``2 (d_in + h) G h`` for ``dW_ih``,
    ``dW_hh``, plus ``2 G h h`` for the recurrent ``dh``, plus ``2 G h d_in``
    for the gradient to the layer below (not for the first layer). Head
    (h -> 1): ``2 h`` forward, ``4 h`` backward. Elementwise gate math is not
    counted.
    """
    G, h = GATES[cfg.cell], cfg.hidden
    flops = 0
    for k in range(cfg.layers):
        d_in = cfg.d if k == 0 else h
        fwd = 2 * (d_in + h) * G * h
        bwd = 2 * (d_in + h) * G * h + 2 * G * h * h + (2 * G * h * d_in if k > 0 else 0)
        flops += cfg.T * (fwd + bwd)
    return flops + 6 * h


def gemm_gflops(dtype, size=2048, repeats=3):
    """Best-of-``repeats`` GFLOP/s of a ``size`` x ``size`` matrix product in ``dtype``."""
    rng = np.random.RandomState(0)
    a = rng.standard_normal((size, size)).astype(dtype)
    b = rng.standard_normal((size, size)).astype(dtype)
    out = np.empty_like(a)
    np.matmul(a, b, out=out)
    best = math.inf
    for _ in range(repeats):
        t = time.perf_counter()
        np.matmul(a, b, out=out)
        best = min(best, time.perf_counter() - t)
    return 2 * size**3 / best / 1e9


# ----------------------------------------------------------------------------- ours
def make_ours(cfg, dtype_name, epochs):
    from skdeeprnn import DeepRNNRegressor

    return DeepRNNRegressor(
        num_layers=cfg.layers, hidden_size=cfg.hidden, cell=cfg.cell,
        nonlinearity=cfg.nonlinearity, bias=cfg.bias, solver="adam",
        learning_rate_init=LEARNING_RATE, alpha=0.0, batch_size=cfg.batch, max_iter=epochs,
        tol=0.0, n_iter_no_change=epochs + 1, shuffle=True, dtype=dtype_name, random_state=0,
        # what the torch side computes: the head on the last step, no layer norm, no linear
        # term beside the network, PyTorch's initialisation, a constant learning rate, no
        # clipping (none of these are our defaults)
        pooling="last", layer_norm=False, autoregressive=0, forget_bias=None,
        learning_rate="constant", clip_grad_norm=None,
    )


def fit_ours(cfg, dtype_name, X, y, epochs):
    """Fit; return (estimator, total seconds, per-epoch seconds or None)."""
    est = make_ours(cfg, dtype_name, epochs)
    epoch_times = None
    original = getattr(est, "_run_epoch", None)
    if original is not None:  # time each epoch by wrapping the (private) epoch method
        epoch_times = []

        def timed_epoch(*args, **kwargs):
            t = time.perf_counter()
            result = original(*args, **kwargs)
            epoch_times.append(time.perf_counter() - t)
            return result

        est._run_epoch = timed_epoch
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = time.perf_counter()
        est.fit(X, y)
        total = time.perf_counter() - t
    if original is not None:
        del est._run_epoch
        if len(epoch_times) != epochs:
            epoch_times = None
    return est, total, epoch_times


def predict_ours(est, X):
    for s in range(0, X.shape[0], PRED_BATCH):
        est.predict(X[s : s + PRED_BATCH])


def latency_ours(est, X):
    for i in range(LATENCY_CALLS):
        i %= X.shape[0]
        est.predict(X[i : i + 1])


# ----------------------------------------------------------------------------- torch
def make_torch(cfg, dtype_name, seed=0):
    import torch
    from torch import nn

    torch.manual_seed(seed)
    kwargs = dict(input_size=cfg.d, hidden_size=cfg.hidden, num_layers=cfg.layers,
                  bias=cfg.bias, batch_first=True)
    if cfg.cell == "rnn":
        rnn = nn.RNN(nonlinearity=cfg.nonlinearity, **kwargs)
    elif cfg.cell == "lstm":
        rnn = nn.LSTM(**kwargs)
    else:
        rnn = nn.GRU(**kwargs)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = rnn
            self.head = nn.Linear(cfg.hidden, 1, bias=cfg.bias)

        def forward(self, x):
            out, _ = self.rnn(x)
            return self.head(out[:, -1]).squeeze(-1)

    dtype = torch.float64 if dtype_name == "float64" else torch.float32
    return Net().to(dtype)


def torch_tensors(X, y):
    """Inputs as a shared-memory tensor, target standardised as ours does internally."""
    import torch

    Y = (y - y.mean()) / y.std()
    return torch.from_numpy(X), torch.from_numpy(np.ascontiguousarray(Y, dtype=X.dtype))


def train_torch(model, Xt, Yt, batch, epochs, seed=0):
    """Adam on shuffled minibatches; return (per-epoch seconds, last epoch's mean loss)."""
    import torch

    opt = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    loss_fn = torch.nn.MSELoss()
    gen = torch.Generator().manual_seed(seed)
    n = Xt.shape[0]
    times, last = [], math.nan
    for _ in range(epochs):
        t = time.perf_counter()
        perm = torch.randperm(n, generator=gen)
        total = 0.0
        for s in range(0, n, batch):
            idx = perm[s : s + batch]
            xb, yb = Xt[idx], Yt[idx]
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        times.append(time.perf_counter() - t)
        last = total / n
    return times, last


def predict_torch(model, Xt):
    import torch

    with torch.no_grad():
        for s in range(0, Xt.shape[0], PRED_BATCH):
            model(Xt[s : s + PRED_BATCH])


def latency_torch(model, Xt):
    import torch

    with torch.no_grad():
        for i in range(LATENCY_CALLS):
            i %= Xt.shape[0]
            model(Xt[i : i + 1])


# ----------------------------------------------------------------------------- onnxruntime
def onnx_path(onnx_dir, cfg, dtype_name):
    return os.path.join(onnx_dir, f"{cfg.name}-{cfg.n}-{dtype_name}.onnx")


def save_onnx(est, path):
    """Export our fitted model for the onnxruntime side; False when onnx is missing."""
    try:
        from skdeeprnn import to_onnx

        model = to_onnx(est)
    except ImportError:
        return False
    with open(path, "wb") as f:
        f.write(model.SerializeToString())
    return True


def onnx_session(path, threads):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def predict_onnx(session, X):
    for s in range(0, X.shape[0], PRED_BATCH):
        session.run(None, {"X": X[s : s + PRED_BATCH]})


def latency_onnx(session, X):
    for i in range(LATENCY_CALLS):
        i %= X.shape[0]
        session.run(None, {"X": X[i : i + 1]})


def measure_onnx(cfg, dtype_name, pred_repeats, threads, onnx_dir):
    """Prediction only, with the model our worker exported; None if it did not."""
    path = onnx_path(onnx_dir, cfg, dtype_name)
    if not os.path.exists(path):
        return None
    X, _ = make_data(cfg, np.dtype(dtype_name))
    session = onnx_session(path, threads)
    return {
        "pred_seq_s": cfg.n / best_time(lambda: predict_onnx(session, X), pred_repeats),
        "latency_ms": 1e3 * best_time(lambda: latency_onnx(session, X), pred_repeats)
        / LATENCY_CALLS,
    }


# ----------------------------------------------------------------------------- measuring
def best_time(fn, repeats):
    fn()  # warm-up
    best = math.inf
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def warm_up_ours(cfg, dtype_name, X, y):
    m = min(X.shape[0], 2 * cfg.batch)
    fit_ours(cfg, dtype_name, X[:m], y[:m], 1)


def warm_up_torch(cfg, dtype_name, X, y):
    m = min(X.shape[0], 2 * cfg.batch)
    Xt, Yt = torch_tensors(X[:m], y[:m])
    train_torch(make_torch(cfg, dtype_name, seed=1), Xt, Yt, cfg.batch, 1)


def measure_side(side, cfg, dtype_name, pred_repeats, onnx_dir=None):
    """Train and predict with one side; return a dict of timings and the training peak memory.

    Memory: after imports and data creation (for torch: the tensors, sharing
    the NumPy data, and the model) the kernel's peak-RSS mark is reset to the
    current RSS (``/proc/self/clear_refs``); the peak is read again right after
    the timed training, and its growth over that RSS is reported. The tiny
    warm-up fit (same batch size) runs inside that window: measuring from
    after it would credit whichever side keeps the warm-up's memory in its
    allocator with using none. Without clear_refs, ``ru_maxrss`` minus the RSS
    before is used.
    """
    X, y = make_data(cfg, np.dtype(dtype_name))
    if side == "torch":
        Xt, Yt = torch_tensors(X, y)
        model = make_torch(cfg, dtype_name)
    gc.collect()
    rss0, _ = rss_kib()
    reset = reset_peak_rss()
    (warm_up_ours if side == "ours" else warm_up_torch)(cfg, dtype_name, X, y)
    res = {}
    if side == "ours":
        est, total, epoch_times = fit_ours(cfg, dtype_name, X, y, cfg.epochs)
        res["loss"] = float(est.loss_)  # half the MSE on the standardised target
    else:
        t = time.perf_counter()
        epoch_times, last = train_torch(model, Xt, Yt, cfg.batch, cfg.epochs)
        total = time.perf_counter() - t
        res["loss"] = 0.5 * last  # same scale as ours
    _, hwm = rss_kib()
    if reset and hwm is not None and rss0 is not None:
        res["peak_mb"], res["memory_method"] = (hwm - rss0) / 1024, "VmHWM after clear_refs"
    elif rss0 is not None:
        maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        res["peak_mb"], res["memory_method"] = (maxrss - rss0) / 1024, "ru_maxrss"
    res["s_epoch"] = total / cfg.epochs
    res["median_s_epoch"] = (statistics.median(epoch_times[1:] or epoch_times)
                             if epoch_times else None)
    if side == "ours":
        res["pred_seq_s"] = cfg.n / best_time(lambda: predict_ours(est, X), pred_repeats)
        latency = best_time(lambda: latency_ours(est, X), pred_repeats)
        if onnx_dir:
            save_onnx(est, onnx_path(onnx_dir, cfg, dtype_name))
    else:
        model.eval()
        res["pred_seq_s"] = cfg.n / best_time(lambda: predict_torch(model, Xt), pred_repeats)
        latency = best_time(lambda: latency_torch(model, Xt), pred_repeats)
    res["latency_ms"] = 1e3 * latency / LATENCY_CALLS
    return res


def worker(side, jobs, threads, pred_repeats, onnx_dir):
    """Body of a measuring subprocess: run ``jobs`` [(cfg, dtype)] for one side, print JSON."""
    from threadpoolctl import threadpool_limits

    info = None
    if side == "onnx":  # its own thread pool, intra_op_num_threads=threads
        import onnx
        import onnxruntime

        info = (f"onnxruntime {onnxruntime.__version__} (CPUExecutionProvider, "
                f"intra_op_num_threads={threads}), onnx {onnx.__version__}")
        results = [measure_onnx(cfg, d, pred_repeats, threads, onnx_dir) for cfg, d in jobs]
        print(json.dumps({"info": info, "results": results}))
        return
    if side == "torch":
        import torch

        torch.set_num_threads(threads)
        info = (f"torch {torch.__version__} (MKL: {torch.backends.mkl.is_available()}, "
                f"oneDNN: {torch.backends.mkldnn.is_available()}, "
                f"get_num_threads()={torch.get_num_threads()}, "
                f"parallel backend: {torch.__config__.parallel_info().splitlines()[-1].strip()})")
    else:
        import skdeeprnn  # noqa: F401  (load its libraries before limiting the pools)
    limiter = threadpool_limits(limits=threads)  # noqa: F841 (kept alive)
    out = []
    for cfg, dtype_name in jobs:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out.append(measure_side(side, cfg, dtype_name, pred_repeats, onnx_dir))
        gc.collect()
    print(json.dumps({"info": info, "results": out}))


def run_worker(side, jobs, args):
    """Run :func:`worker` in a fresh interpreter; return its parsed JSON (or None)."""
    cmd = [sys.executable, os.path.abspath(__file__), "--_worker", side,
           "--_jobs-json", json.dumps([[asdict(c), d] for c, d in jobs]),
           "--threads", str(args.threads), "--pred-repeats", str(args.pred_repeats)]
    if args._onnx_dir:
        cmd += ["--_onnx-dir", args._onnx_dir]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        names = ", ".join(f"{c.name} {d}" for c, d in jobs)
        print(f"{side} worker failed ({names}):\n{proc.stderr[-3000:]}", file=sys.stderr)
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------- output
def fmt(x, spec=".3g"):
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    return format(x, spec)


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def print_tables(results, use_torch):
    print("\n## Training and prediction, ours vs PyTorch CPU\n")
    print("s/epoch = total training seconds / epochs (ours: the whole `fit`, including input "
          "validation and target scaling). ratio = ours / torch (lower is better for "
          "time); pred ratio = ours / torch throughput (higher is better). onnx = our fitted "
          "model exported by skdeeprnn.to_onnx, run by onnxruntime (n/a: not installed).\n")
    head = ["config", "dtype", "ours s/epoch", "torch s/epoch", "ratio", "ours pred seq/s",
            "torch pred seq/s", "onnx pred seq/s", "pred ratio", "ours peak MB", "torch peak MB",
            "ours GFLOP/s", "% of GEMM peak"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in results:
        row = [
            r["config"], r["dtype"], fmt(r["ours_s_epoch"]), fmt(r.get("torch_s_epoch")),
            fmt(ratio(r["ours_s_epoch"], r.get("torch_s_epoch")), ".2f"),
            fmt(r["ours_pred_seq_s"], ",.0f"), fmt(r.get("torch_pred_seq_s"), ",.0f"),
            fmt(r.get("onnx_pred_seq_s"), ",.0f"),
            fmt(ratio(r["ours_pred_seq_s"], r.get("torch_pred_seq_s")), ".2f"),
            fmt(r.get("ours_peak_mb"), ".1f"), fmt(r.get("torch_peak_mb"), ".1f"),
            fmt(r["ours_gflops"], ".2f"), fmt(r["ours_pct_gemm"], ".1f"),
        ]
        print("| " + " | ".join(row) + " |")

    print("\n## Details\n")
    print("median s/epoch = median of the epochs after the first (ours: the epoch loop only, "
          "without fit's set-up). loss = last epoch's mean of 0.5 * squared error on the "
          "standardised target (a sanity check that both sides learn alike). other load % = CPU "
          "used by other processes while this row was measured, as a share of all CPUs "
          "(anything but ~0 makes the row's timings unreliable).\n")
    head = ["config", "dtype", "n", "epochs", "ours median s/epoch", "torch median s/epoch",
            "median ratio", "ours loss", "torch loss", "torch GFLOP/s", "GEMM GFLOP/s",
            "other load %"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in results:
        row = [
            r["config"], r["dtype"], str(r["n"]), str(r["epochs"]),
            fmt(r.get("ours_median_s_epoch")), fmt(r.get("torch_median_s_epoch")),
            fmt(ratio(r.get("ours_median_s_epoch"), r.get("torch_median_s_epoch")), ".2f"),
            fmt(r.get("ours_loss"), ".4f"), fmt(r.get("torch_loss"), ".4f"),
            fmt(r.get("torch_gflops"), ".2f"), fmt(r["gemm_gflops"], ".1f"),
            fmt(r.get("other_load_pct"), ".0f"),
        ]
        print("| " + " | ".join(row) + " |")

    by_cfg = {}
    for r in results:
        by_cfg.setdefault(r["config"], {})[r["dtype"]] = r
    pairs = {k: v for k, v in by_cfg.items() if {"float32", "float64"} <= set(v)}
    if pairs:
        print("\n## float32 / float64 time of ours\n")
        print("| config | float32 / float64 s/epoch | float32 / float64 pred seq/s |")
        print("|---|---|---|")
        for name, v in pairs.items():
            t_q = ratio(v["float32"]["ours_s_epoch"], v["float64"]["ours_s_epoch"])
            p_q = ratio(v["float32"]["ours_pred_seq_s"], v["float64"]["ours_pred_seq_s"])
            print(f"| {name} | {fmt(t_q, '.2f')} | {fmt(p_q, '.2f')} |")
    if use_torch:
        print_targets(results, pairs)


def print_onnx_table(results):
    """Serving: onnxruntime against predict (and torch), in batches of 1024 and one at a time."""
    print("\n## Serving with onnxruntime\n")
    print("pred seq/s: sequences per second in batches of 1024 (as above); 1-seq ms: "
          "milliseconds per call predicting one sequence (mean of "
          f"{LATENCY_CALLS} calls, best of the passes). onnx / ours > 1: onnxruntime serves "
          "faster.\n")
    head = ["config", "dtype", "ours pred seq/s", "onnx pred seq/s", "onnx / ours",
            "ours 1-seq ms", "torch 1-seq ms", "onnx 1-seq ms", "onnx / ours 1-seq"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in results:
        row = [
            r["config"], r["dtype"], fmt(r["ours_pred_seq_s"], ",.0f"),
            fmt(r.get("onnx_pred_seq_s"), ",.0f"),
            fmt(ratio(r.get("onnx_pred_seq_s"), r["ours_pred_seq_s"]), ".2f"),
            fmt(r.get("ours_latency_ms"), ".3f"), fmt(r.get("torch_latency_ms"), ".3f"),
            fmt(r.get("onnx_latency_ms"), ".3f"),
            fmt(ratio(r.get("ours_latency_ms"), r.get("onnx_latency_ms")), ".2f"),
        ]
        print("| " + " | ".join(row) + " |")


def print_targets(results, pairs):
    """Compare with the targets of the performance issue."""
    print("\n## Against the targets\n")
    lines = []
    for r in results:
        h = {c.name: c.hidden for c in CONFIGS}.get(r["config"])
        if h is None:
            continue
        t_ratio = ratio(r["ours_s_epoch"], r.get("torch_s_epoch"))
        if h <= 8:
            target = 0.35
        elif h <= 64:
            target = 0.6 if r["dtype"] == "float32" else 0.8
        else:
            target = 1.0
        if t_ratio is not None:
            lines.append((r["config"], r["dtype"], f"time ratio <= {target}",
                          f"{t_ratio:.2f}", t_ratio <= target))
        p_ratio = ratio(r["ours_pred_seq_s"], r.get("torch_pred_seq_s"))
        if h <= 64 and p_ratio is not None:
            lines.append((r["config"], r["dtype"], "pred throughput >= 2x torch",
                          f"{p_ratio:.2f}x", p_ratio >= 2))
        if r.get("ours_peak_mb") is not None and r.get("torch_peak_mb") is not None:
            lines.append((r["config"], r["dtype"], "peak memory <= torch",
                          f"{r['ours_peak_mb']:.1f} vs {r['torch_peak_mb']:.1f} MB",
                          r["ours_peak_mb"] <= r["torch_peak_mb"]))
    for name, v in pairs.items():
        h = {c.name: c.hidden for c in CONFIGS}.get(name)
        if h is not None and h >= 64:
            q = ratio(v["float32"]["ours_s_epoch"], v["float64"]["ours_s_epoch"])
            lines.append((name, "32/64", "float32 <= 0.6x float64", f"{q:.2f}", q <= 0.6))
    print("| config | dtype | target | measured | met |")
    print("|---|---|---|---|---|")
    for c, d, t, m, ok in lines:
        print(f"| {c} | {d} | {t} | {m} | {'yes' if ok else 'NO'} |")
    met = sum(ok for *_, ok in lines)
    print(f"\n{met} of {len(lines)} targets met.")


# ----------------------------------------------------------------------------- main
def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="tiny data and 2 epochs per config, one subprocess per side "
                        "(smoke test, about a minute)")
    p.add_argument("--configs", default="*",
                   help="comma-separated config names or shell patterns (default: all); "
                        "'list' prints them")
    p.add_argument("--dtype", default="float64,float32",
                   help="comma-separated dtypes among float64, float32 (default: both)")
    p.add_argument("--epochs", type=int, default=None,
                   help="epochs per config (default: per config, 3-5)")
    p.add_argument("--n", type=int, default=None, help="sequences per config (default: per config)")
    p.add_argument("--threads", type=int, default=2,
                   help="BLAS threads (threadpoolctl) and torch.set_num_threads (default 2)")
    p.add_argument("--no-torch", action="store_true", help="skip PyTorch even if installed")
    p.add_argument("--no-onnx", action="store_true",
                   help="skip onnxruntime even if onnx and onnxruntime are installed")
    p.add_argument("--pred-repeats", type=int, default=3,
                   help="prediction timing: best of this many passes (default 3)")
    p.add_argument("--wait-quiet", type=float, default=0.0, metavar="SECONDS",
                   help="before each config, wait up to this long until other processes use "
                        "less than --quiet-threshold of the CPUs (default 0: do not wait)")
    p.add_argument("--quiet-threshold", type=float, default=0.1,
                   help="share of the CPUs other processes may use (default 0.1)")
    p.add_argument("--json", default=None, help="also write the raw results to this file")
    p.add_argument("--_worker", choices=["ours", "torch", "onnx"], help=argparse.SUPPRESS)
    p.add_argument("--_onnx-dir", default=None, help=argparse.SUPPRESS)
    p.add_argument("--_jobs-json", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def select_configs(spec):
    patterns = [s.strip() for s in spec.split(",") if s.strip()]
    chosen = [c for c in CONFIGS if any(fnmatch.fnmatch(c.name, p) for p in patterns)]
    if not chosen:
        raise SystemExit(f"no config matches {spec!r}; choose from "
                         f"{', '.join(c.name for c in CONFIGS)}")
    return chosen


def main(argv=None):
    args = parse_args(argv)
    if args._worker:
        jobs = [(Config(**c), d) for c, d in json.loads(args._jobs_json)]
        worker(args._worker, jobs, args.threads, args.pred_repeats, args._onnx_dir)
        return
    if args.configs == "list":
        for c in CONFIGS:
            print(c)
        return
    dtypes = [d.strip() for d in args.dtype.split(",") if d.strip()]
    for d in dtypes:
        if d not in ("float64", "float32"):
            raise SystemExit(f"unknown dtype {d!r}")
    configs = select_configs(args.configs)
    if args.quick:
        configs = [quick_config(c) for c in configs]
    if args.epochs is not None:
        configs = [replace(c, epochs=args.epochs) for c in configs]
    if args.n is not None:
        configs = [replace(c, n=args.n) for c in configs]
    use_torch = not args.no_torch and importlib.util.find_spec("torch") is not None
    use_onnx = not args.no_onnx and all(importlib.util.find_spec(m) is not None
                                        for m in ("onnx", "onnxruntime"))

    # This process never imports torch: see the README on mixing libgomp and OpenBLAS threads.
    from threadpoolctl import threadpool_limits

    import skdeeprnn  # noqa: F401  (load its libraries before limiting the pools)

    limiter = threadpool_limits(limits=args.threads)  # noqa: F841 (kept alive)
    print("# skdeeprnn training benchmark\n")
    print("\n".join(machine_lines(args.threads, with_torch=False)))
    print(f"- command: {' '.join([os.path.basename(sys.executable)] + sys.argv)}")
    print("- each side runs in its own fresh subprocess per config and dtype"
          + (" (--quick: one subprocess per side for everything)" if args.quick else ""))
    monitor = LoadMonitor()
    gemm = {d: gemm_gflops(np.dtype(d)) for d in dtypes}
    print("- 2048x2048 GEMM in NumPy (best of 3): "
          + ", ".join(f"{d} {g:.1f} GFLOP/s" for d, g in gemm.items()))
    sys.stdout.flush()

    sides = ["ours"] + (["torch"] if use_torch else []) + (["onnx"] if use_onnx else [])
    jobs = [(c, d) for c in configs for d in dtypes]
    batches = [jobs] if args.quick else [[job] for job in jobs]
    results, torch_info, onnx_info, methods = [], None, None, set()
    # our worker saves its fitted models here (to_onnx) for the onnxruntime worker
    onnx_dir = tempfile.TemporaryDirectory(prefix="bench_train_onnx_")
    args._onnx_dir = onnx_dir.name if use_onnx else None
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    for batch in batches:
        if args.wait_quiet > 0:
            wait_until_quiet(args.quiet_threshold, args.wait_quiet, log=log)
        row_monitor = LoadMonitor()
        outs = {}
        for side in sides:
            out = run_worker(side, batch, args)
            outs[side] = out["results"] if out else [None] * len(batch)
            if side == "torch" and out:
                torch_info = out["info"]
            if side == "onnx" and out:
                onnx_info = out["info"]
        rep = row_monitor.report()
        for k, (cfg, d) in enumerate(batch):
            r = {"config": cfg.name, "dtype": d, "n": cfg.n, "epochs": cfg.epochs,
                 "hidden": cfg.hidden, "gemm_gflops": gemm[d]}
            if rep["other_cpu_s"] is not None:
                r["other_load_pct"] = 100 * rep["other_cpu_s"] / (rep["wall_s"] * rep["ncpu"])
            flops_epoch = train_flops_per_sequence(cfg) * cfg.n
            for side in sides:
                o = outs[side][k]
                if o is None:
                    continue
                for key, value in o.items():
                    if key == "memory_method":
                        methods.add(value)
                    else:
                        r[f"{side}_{key}"] = value
                if "s_epoch" in o:  # not onnxruntime's: it only predicts
                    r[f"{side}_gflops"] = flops_epoch / o["s_epoch"] / 1e9
            if "ours_gflops" in r:
                r["ours_pct_gemm"] = 100 * r["ours_gflops"] / gemm[d]
                results.append(r)
                log(f"  [{cfg.name} {d}: ours {r['ours_s_epoch']:.3g} s/epoch, torch "
                    f"{fmt(r.get('torch_s_epoch'))} s/epoch]")

    onnx_dir.cleanup()
    if use_torch:
        print(f"- {torch_info or 'torch: worker failed'}")
    if use_onnx:
        print(f"- {onnx_info or 'onnxruntime: worker failed'}; the model is our fitted one, "
              "exported by skdeeprnn.to_onnx")
    print(f"- peak memory method: {', '.join(sorted(methods)) or 'n/a'}")
    print(f"- machine load over the run: {monitor.describe()}")
    print_tables(results, use_torch)
    if use_onnx:
        print_onnx_table(results)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine_lines(args.threads, with_torch=False),
                       "torch": torch_info, "onnx": onnx_info, "results": results}, f,
                      indent=1)


if __name__ == "__main__":
    main()
