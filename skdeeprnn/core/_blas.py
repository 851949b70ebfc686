"""``C = A @ B + beta * C`` written into ``C``, through scipy's BLAS wrappers.

NumPy's ``matmul`` always overwrites its output, so a sum of products
(``sum_t dA[t] @ B[t].T`` for a weight gradient, ``W_hh @ h + xp[t]`` in a time
loop) costs either a temporary per product and an add, or a copy of the operands
side by side into one large GEMM. BLAS's ``beta = 1`` accumulates in place
instead. Measured on the benchmark's shapes (one thread), a
``(256, 64) @ (64, 64)`` float64 step went from 39 us (``matmul`` into a
temporary and ``+=``) to 31 us, and the weight gradient of a 3x256 GRU layer
over 100 steps from 49 ms (one GEMM after the copies) to 39 ms.

scipy's wrappers are Fortran routines: an array is passed without a copy when
it is Fortran-contiguous, so a C-contiguous ``C`` is written as ``C.T = B.T @
A.T``. OpenBLAS splits a GEMM over the rows and columns of ``C``, never over the
summed dimension, so in float64 the results do not depend on the BLAS thread count;
in float32 that holds for SkylakeX's kernels but not for Haswell's, which sum the
edges of each thread's block in another order (``tests/test_scale_out.py`` checks
both, and docs/user_guide/reproducibility.rst says what holds).
"""

import threading
from contextlib import contextmanager
from functools import partial

import numpy as np
from scipy.linalg import blas

# Multiply-adds of one product below which NumPy's matmul is used: measured on the textbook
# net (2 units), a scipy call per step made a training step 1.6x slower than NumPy's one
# call over the steps. NumPy's OpenBLAS runs such products on one thread, so its thread
# pool never competes with scipy's (each library has its own, and two pools busy on two
# cores slowed a step 2-4x).
SMALL = 1 << 15

_local = threading.local()

_GEMM = {np.dtype(np.float32): blas.sgemm, np.dtype(np.float64): blas.dgemm}


def _fortran_operand(M):
    """Return ``(array, trans)`` with ``array`` Fortran-contiguous and ``op(array) == M``."""
    if M.flags.f_contiguous:
        return M, 0
    if not M.flags.c_contiguous:
        M = np.ascontiguousarray(M)
    return M.T, 1


def gemm_into(A, B, C, beta=1.0):
    """In place: ``C[...] = A @ B + beta * C`` for 2D arrays of ``C``'s dtype.

    ``C`` must be C-contiguous (a step of a feature-major buffer, a parameter
    view). ``A`` and ``B`` may be C- or Fortran-contiguous (a transposed view is
    not copied); other layouts are copied first. With ``beta = 0``, ``C`` is
    not read, so it may hold anything.
    """
    c = C.T
    if not c.flags.f_contiguous or C.dtype not in _GEMM:
        raise ValueError("gemm_into needs a C-contiguous float32 or float64 output")
    a, trans_a = _fortran_operand(B.T)
    b, trans_b = _fortran_operand(A.T)
    _GEMM[C.dtype](1.0, a, b, beta=beta, c=c, overwrite_c=1, trans_a=trans_a, trans_b=trans_b)
    return C


def _numpy_gemm(A, B, C, beta=1.0, tmp=None):
    """:func:`gemm_into` through NumPy's ``matmul``; ``beta = 1`` goes through ``tmp``.

    ``tmp`` (``C``'s shape) holds the product before it is added; None allocates one.
    """
    if beta:
        if tmp is None:
            C += np.matmul(A, B)
        else:
            C += np.matmul(A, B, out=tmp)
    else:
        np.matmul(A, B, out=C)
    return C


def gemm_for(m, k, n, single_threaded=False, beta=1.0, tmp=None):
    """Return the in-place product for ``(m, k) @ (k, n)`` steps: :func:`gemm_into` or NumPy's.

    NumPy's below :data:`SMALL` multiply-adds, where a scipy call costs more than
    the temporary it saves, and for products that overwrite their output
    (``beta = 0``) in a loop run on one thread: there NumPy's ``matmul`` was
    measured 5-15% faster than scipy's ``gemm`` on ``W_hh.T @ dG`` steps. The
    products that may use several threads all go through scipy, so that only
    one of the two BLAS thread pools is ever busy. A time loop passes ``tmp``
    (an ``(m, n)`` workspace array) so that NumPy's ``beta = 1`` products reuse it.
    """
    if m * k * n < SMALL or (single_threaded and not beta) or getattr(_local, "numpy", False):
        return _numpy_gemm if tmp is None else partial(_numpy_gemm, tmp=tmp)
    return gemm_into


@contextmanager
def numpy_products():
    """Context in which this thread's products all go through NumPy's ``matmul``.

    For threads that run at once: NumPy releases the GIL during a product, scipy's
    wrappers hold it. Measured on 1024 sequences of a 2x64 LSTM, two threads
    predicted 1.4x faster than one through NumPy, and no faster through scipy.
    """
    before = getattr(_local, "numpy", False)
    _local.numpy = True
    try:
        yield
    finally:
        _local.numpy = before


def matmul(A, B, out=None, beta=0.0):
    """Return ``A @ B`` for a 2D ``A`` and a 2D or stacked 3D ``B``.

    ``out`` (C-contiguous steps, allocated when None) receives the product, or,
    with ``beta = 1``, has it added. One :func:`gemm_into` per step, except for
    small products (:func:`gemm_for`), which NumPy's ``matmul`` runs in one call.
    """
    if out is None:
        out = np.empty(B.shape[:-2] + (A.shape[0], B.shape[-1]), dtype=B.dtype)
    gemm = gemm_for(A.shape[0], A.shape[1], B.shape[-1])
    if gemm is gemm_into and B.ndim == 3 and not A.flags.c_contiguous:
        # a transposed weight, reused for every step: measured 5-10% faster copied once
        A = np.ascontiguousarray(A)
    if gemm is _numpy_gemm or B.ndim == 2:
        return gemm(A, B, out, beta)
    for t in range(B.shape[0]):
        gemm(A, B[t], out[t], beta)
    return out
