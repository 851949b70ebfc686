"""Training cost of unequal lengths: does fit time follow the real lengths, not the padding?

For each configuration, both sides train the same architecture for the same
epochs (Adam, shuffled minibatches, squared error on the head over the state
after each sequence's last observed step) on ``n`` sequences of ``T`` steps:

- ``full``: every sequence has all ``T`` steps;
- ``right``: lengths drawn uniformly from ``[T/4, T]``, NaN after the end
  (padded to ``T``); ours reads them as missing steps, torch gets
  ``pack_padded_sequence`` with the lengths;
- ``left``: the same lengths with the NaN in front (ours only: torch's packed
  sequences cannot start late).

Ours is ``DeepRNNRegressor`` with bench_train.py's settings (``pooling='last'``,
constant rate, no clipping); the timed ``fit`` includes validation, the mask
checks, the grouping of similar lengths and the trimming of each minibatch.
Each side runs in its own subprocess per configuration. Printed: fit seconds
per epoch and the ratio of each variable-length row to the full-length row of
the same side (the target is at most 0.7 for ours); the mean length is 0.625 T,
the floor of any method that computes no padding.

Run ``python benchmarks/bench_lengths.py --help``; see benchmarks/README.md.
"""

import argparse
import json
import os
import subprocess
import sys
import time
import warnings
from dataclasses import asdict, replace

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import machine_lines  # noqa: E402
from bench_train import LEARNING_RATE, Config, make_ours, make_torch, torch_tensors  # noqa: E402

CONFIGS = [
    Config("T100-d8-2x64-gru", T=100, d=8, layers=2, hidden=64, cell="gru", batch=64, n=1024,
           epochs=3),
    Config("T100-d8-2x64-lstm", T=100, d=8, layers=2, hidden=64, cell="lstm", batch=64, n=1024,
           epochs=3),
    Config("T50-d32-2x128-gru", T=50, d=32, layers=2, hidden=128, cell="gru", batch=64, n=1024,
           epochs=3),
    Config("T200-d4-1x32-rnn", T=200, d=4, layers=1, hidden=32, cell="rnn", batch=32, n=1024,
           epochs=3),
]
LAYOUTS = ("full", "right", "left")


def make_data(cfg, layout, dtype):
    """Sequences, their lengths and a target read from each sequence's last observed steps."""
    rng = np.random.RandomState(0)
    X = rng.standard_normal((cfg.n, cfg.T, cfg.d))
    if layout == "full":
        lengths = np.full(cfg.n, cfg.T)
    else:
        lengths = rng.randint(cfg.T // 4, cfg.T + 1, size=cfg.n)
    steps = np.arange(cfg.T)[None, :]
    observed = steps < lengths[:, None]
    if layout == "left":
        observed = observed[:, ::-1]
    X[~observed] = np.nan
    last = np.where(observed, steps, -1).max(axis=1)
    y = X[np.arange(cfg.n), last, 0] + 0.1 * rng.standard_normal(cfg.n)
    return np.ascontiguousarray(X, dtype=dtype), y.astype(dtype), lengths


def run_ours(cfg, layout, dtype_name):
    X, y, _ = make_data(cfg, layout, dtype_name)
    est = make_ours(cfg, dtype_name, cfg.epochs)
    small = replace(cfg, n=2 * cfg.batch, epochs=1)
    Xs, ys, _ = make_data(small, layout, dtype_name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        make_ours(small, dtype_name, 1).fit(Xs, ys)  # warm-up: imports, BLAS threads
        t = time.perf_counter()
        est.fit(X, y)
        seconds = time.perf_counter() - t
    return {"seconds": seconds, "epochs": est.n_iter_, "loss": est.loss_}


def run_torch(cfg, layout, dtype_name):
    import torch
    from torch.nn.utils.rnn import pack_padded_sequence

    X, y, lengths = make_data(cfg, layout, dtype_name)
    model = make_torch(cfg, dtype_name)
    Xt, Yt = torch_tensors(np.nan_to_num(X), y)
    lengths_t = torch.from_numpy(lengths)
    opt = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    loss_fn = torch.nn.MSELoss()
    gen = torch.Generator().manual_seed(0)

    def scores(xb, lb):
        if layout == "full":
            return model(xb)
        packed = pack_padded_sequence(xb, lb, batch_first=True, enforce_sorted=False)
        _, state = model.rnn(packed)
        h_n = state[0] if cfg.cell == "lstm" else state
        return model.head(h_n[-1]).squeeze(-1)

    def epoch():
        perm = torch.randperm(cfg.n, generator=gen)
        for s in range(0, cfg.n, cfg.batch):
            idx = perm[s : s + cfg.batch]
            opt.zero_grad()
            loss = loss_fn(scores(Xt[idx], lengths_t[idx]), Yt[idx])
            loss.backward()
            opt.step()
        return loss.item()

    epoch()  # warm-up epoch, not timed
    t = time.perf_counter()
    for _ in range(cfg.epochs):
        loss = epoch()
    return {"seconds": time.perf_counter() - t, "epochs": cfg.epochs, "loss": loss}


def worker(side, job):
    cfg = Config(**job["cfg"])
    run = run_ours if side == "ours" else run_torch
    print(json.dumps(run(cfg, job["layout"], job["dtype"])))


def measure(side, cfg, layout, dtype, threads):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads))
    job = json.dumps({"cfg": asdict(cfg), "layout": layout, "dtype": dtype})
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--_worker", side,
                          "--_job", job], env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="small data, one epoch (a smoke test)")
    p.add_argument("--configs", default=",".join(c.name for c in CONFIGS),
                   help="comma-separated configuration names")
    p.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    p.add_argument("--threads", type=int, default=2, help="BLAS / torch threads per side")
    p.add_argument("--no-torch", action="store_true", help="skip PyTorch even if installed")
    p.add_argument("--json", default=None, help="also write the raw results to this file")
    p.add_argument("--_worker", choices=["ours", "torch"], help=argparse.SUPPRESS)
    p.add_argument("--_job", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args._worker:
        return worker(args._worker, json.loads(args._job))
    names = args.configs.split(",")
    configs = [c for c in CONFIGS if c.name in names]
    if args.quick:
        configs = [replace(c, n=4 * c.batch, epochs=1) for c in configs]
    use_torch = not args.no_torch
    if use_torch:
        try:
            import torch  # noqa: F401
        except ImportError:
            use_torch = False
    print("\n".join(line for line in machine_lines(args.threads, with_torch=False)
                    if "not used here" not in line))
    if use_torch:
        from importlib import metadata

        print(f"- torch {metadata.version('torch')}: the torch side, in its own subprocess")
    print(f"- {args.dtype}, {args.threads} thread(s) per side\n")
    print("| config | layout | ours s/epoch | ours ratio to full | torch s/epoch "
          "| torch ratio to full |")
    print("|---|---|---|---|---|---|")
    results = []
    for cfg in configs:
        full = {}
        for layout in LAYOUTS:
            row = {"config": cfg.name, "layout": layout}
            sides = ["ours"] + (["torch"] if use_torch and layout != "left" else [])
            for side in sides:
                r = measure(side, cfg, layout, args.dtype, args.threads)
                row[side] = r["seconds"] / r["epochs"]
                if layout == "full":
                    full[side] = row[side]
            cells = []
            for side in ("ours", "torch"):
                if side in row:
                    cells += [f"{row[side]:.3f}", f"{row[side] / full[side]:.2f}"]
                else:
                    cells += ["-", "-"]
            print(f"| {cfg.name} | {layout} | " + " | ".join(cells) + " |", flush=True)
            results.append(row)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
