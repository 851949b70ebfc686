"""Training on data larger than memory: partial_fit over windows of a numpy.memmap.

The PM2.5 table (the textbook's 6 features, min-max scaled, float32) is written
``r`` times over into a file on disk, without ever holding the repeated table in
memory. A ``DeepRNNRegressor`` then trains by ``partial_fit`` on consecutive
chunks: each chunk is a ``numpy.memmap`` of the file at an offset (so its pages
are unmapped when the chunk is done), turned into 24-step windows by
``make_windows``. Each size runs in a fresh subprocess, which reports its peak
resident set (``VmHWM`` from ``/proc/self/status``, reset with ``clear_refs``
after the imports and the file writing, so it measures training only).

Run: ``python benchmarks/bench_partial_fit_memmap.py [--repeats 1 10 50] [--quick]``.
If the peak does not grow with ``r``, memory is bounded by the chunk, not the data.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

WINDOW = 24
CHUNK_ROWS = 8192  # rows of the table per partial_fit call


def _status_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _textbook_table():
    import numpy as np

    from skdeeprnn.datasets import load_pm25, pm25_textbook_features

    table = pm25_textbook_features(load_pm25().frame).to_numpy()
    low, high = table[:35064].min(axis=0), table[:35064].max(axis=0)  # 2010-2013
    return ((table - low) / (high - low)).astype(np.float32)


def child(repeats, path, epochs_per_chunk):
    import warnings

    import numpy as np

    from skdeeprnn import DeepRNNRegressor, make_windows

    table = _textbook_table()
    rows, cols = table.shape
    with open(path, "wb") as f:  # written block by block: the repeated table never exists
        for _ in range(repeats):
            table.tofile(f)
    del table
    total_rows = rows * repeats
    # pooling, layer_norm, forget_bias and clip_grad_norm as when the table was measured
    # (older defaults)
    reg = DeepRNNRegressor(num_layers=2, hidden_size=16, cell="gru", batch_size=128,
                           learning_rate_init=0.005, dtype="float32", random_state=0,
                           pooling="last", layer_norm=False, forget_bias=None,
                           clip_grad_norm=None, autoregressive=0, alpha=0.0001)
    itemsize = np.dtype(np.float32).itemsize
    with open("/proc/self/clear_refs", "w") as f:  # reset the peak: measure training only
        f.write("5")
    baseline = _status_kib("VmRSS")
    start = time.perf_counter()
    windows = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for first in range(0, total_rows - WINDOW, CHUNK_ROWS):
            n = min(CHUNK_ROWS + WINDOW, total_rows - first)
            chunk = np.memmap(path, dtype=np.float32, mode="r", offset=first * cols * itemsize,
                              shape=(n, cols))
            X, y = make_windows(chunk, window=WINDOW, horizon=1, target=0)
            for _ in range(epochs_per_chunk):
                reg.partial_fit(X, y)
            windows += len(y)
            del X, y, chunk
    seconds = time.perf_counter() - start
    peak = _status_kib("VmHWM")
    print(json.dumps({
        "repeats": repeats, "rows": total_rows, "file_mb": os.path.getsize(path) / 2**20,
        "windows": windows, "seconds": seconds, "baseline_mb": baseline / 1024,
        "peak_mb": peak / 1024, "peak_over_baseline_mb": (peak - baseline) / 1024,
    }))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, nargs="+", default=[1, 5, 10, 25, 50])
    parser.add_argument("--quick", action="store_true", help="sizes 1 and 3 only")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.path, epochs_per_chunk=1)
        return
    repeats = [1, 3] if args.quick else args.repeats
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for r in repeats:
            path = os.path.join(tmp, f"pm25_x{r}.f32")
            out = subprocess.run([sys.executable, __file__, "--child", str(r), "--path", path],
                                 check=True, capture_output=True, text=True).stdout
            results.append(json.loads(out.strip().splitlines()[-1]))
            os.remove(path)
            res = results[-1]
            print(f"x{r:<3d} rows {res['rows']:>9,d}  file {res['file_mb']:7.1f} MB  "
                  f"windows {res['windows']:>9,d}  {res['seconds']:7.1f} s  "
                  f"RSS before training {res['baseline_mb']:6.1f} MB  "
                  f"peak {res['peak_mb']:6.1f} MB  (+{res['peak_over_baseline_mb']:.1f} MB)",
                  flush=True)
    print()
    print("| repeats | rows | file (MB) | windows trained | seconds | RSS before (MB) | "
          "peak RSS (MB) | peak - before (MB) |")
    print("|---|---|---|---|---|---|---|---|")
    for res in results:
        print(f"| {res['repeats']} | {res['rows']:,} | {res['file_mb']:.1f} | "
              f"{res['windows']:,} | {res['seconds']:.1f} | {res['baseline_mb']:.1f} | "
              f"{res['peak_mb']:.1f} | {res['peak_over_baseline_mb']:.1f} |")


if __name__ == "__main__":
    main()
