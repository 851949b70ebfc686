"""BLAS threads for the recurrent time loop.

The per-step product ``h_{t-1} @ W_hh.T`` is a small GEMM repeated T times.
Measured on a 2-core machine with OpenBLAS, splitting such a GEMM over two
threads saves little when the cores are free, and when they are busy (another
process, a parallel grid search) each call waits for a descheduled thread:
a (64, 64) @ (64, 256) product took 15.6 ms instead of 49 us. So the time loop
runs single-threaded when its GEMM is small; the large batched GEMMs (input
projection, weight gradients) keep the caller's thread settings. The limit is
only ever lowered, and restored on exit.
"""

import os
import threading
from contextlib import contextmanager, nullcontext

# multiply-adds of one step's GEMM (n * h * G * h) below which one thread is used
SMALL_GEMM = 1 << 22

# The BLAS thread count is process-wide. Threads predicting at once share one limit: the
# first to enter lowers it, the last to leave restores it (a per-thread save/restore would
# let a thread "restore" the lowered value and leave the process single-threaded).
_lock = threading.Lock()
_depth = 0
_limiter = None
_controller = None


def _get_controller():
    global _controller
    if _controller is None:
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController()
    return _controller


def blas_threads():
    """Threads BLAS may use now (threadpoolctl's current limit), at most the CPU count."""
    counts = [lib.num_threads for lib in _get_controller().select(user_api="blas").lib_controllers]
    return max(1, min(max(counts, default=1), os.cpu_count() or 1))


@contextmanager
def single_threaded_blas():
    """Context in which BLAS runs on one thread (shared by threads that enter it at once)."""
    global _depth, _limiter
    with _lock:
        if _depth == 0:
            _limiter = _get_controller().limit(limits=1, user_api="blas")
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                _limiter.restore_original_limits()
                _limiter = None


def loop_is_single_threaded(n, h, n_gates):
    """Whether :func:`recurrent_loop_threads` runs the loop's BLAS on one thread."""
    return n * h * h * n_gates <= SMALL_GEMM


def recurrent_loop_threads(n, h, n_gates):
    """Context in which to run a time loop over ``(n, h) @ (h, n_gates * h)`` products."""
    if loop_is_single_threaded(n, h, n_gates):
        return single_threaded_blas()
    return nullcontext()
