"""Buffers that a training loop reuses from one minibatch to the next.

Every minibatch needs the same large arrays (input projections, states, gate
activations and their gradients). Allocated afresh each time they cost more
than their arithmetic: glibc hands blocks of this size back to the kernel
when they are freed, so each new one is page-faulted in and zeroed again
(measured: 4,709 page faults and about a fifth of the time of one training
step of a 2 x 64 LSTM on 64 sequences of 24 steps). A :class:`Workspace` keeps
one array per name and gives it back while the shape and dtype stay the same,
and its leading part, reshaped, for a smaller request of the same dtype: the
minibatches of sequences of unequal lengths are trimmed to different numbers
of steps, and each would otherwise allocate every array anew.

Arrays from a workspace are overwritten by the next call that asks for the
same name, so a workspace serves one sequence of calls at a time (one
``fit``); inference and anything that runs concurrently use
:data:`FRESH`, which allocates every time.
"""

import itertools
import math

import numpy as np

# Large arrays from np.empty are page-aligned, so a step of one buffer and the same step of
# another (h_t, c_t, a gate, its gradient) sit at the same offset modulo 4 KiB, and the
# CPU's loads and stores to them alias. Starting each array at its own 64-byte line of a
# 4 KiB page was measured to make a training step of a 2 x 64 LSTM 5-9 % faster.
_LINE = 64
_PAGE = 4096
_LINES = _PAGE // _LINE


def staggered_empty(shape, dtype, k):
    """Uninitialised C-contiguous array that starts ``k`` cache lines (mod 64) into a page."""
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if nbytes < _PAGE:
        return np.empty(shape, dtype=dtype)
    raw = np.empty(nbytes + 2 * _PAGE, dtype=np.uint8)
    start = (-raw.ctypes.data) % _PAGE + _LINE * (k % _LINES)
    return raw[start : start + nbytes].view(dtype).reshape(shape)


class Workspace:
    """Named arrays reused across calls while they are large enough and of the same dtype."""

    def __init__(self):
        self._arrays = {}

    def empty(self, name, shape, dtype):
        """Uninitialised array for ``name``: (the start of) the previous one if it fits, or new."""
        shape = tuple(shape)
        dtype = np.dtype(dtype)
        array = self._arrays.get(name)
        if array is not None and array.shape == shape and array.dtype == dtype:
            return array  # the common case, first: a training step asks for dozens of arrays
        size = math.prod(shape)
        if array is None or array.dtype != dtype or array.size < size:
            # successive arrays 23 lines apart: distinct offsets for the first 64
            array = staggered_empty(shape, dtype, 23 * len(self._arrays))
            self._arrays[name] = array
        if array.shape == shape:
            return array
        return array.reshape(-1)[:size].reshape(shape)

    def zeros(self, name, shape, dtype):
        """Like :meth:`empty`, filled with zeros."""
        array = self.empty(name, shape, dtype)
        array.fill(0)
        return array

    def scope(self, *prefix):
        """View of this workspace whose names are prefixed by ``prefix`` (e.g. layer, direction)."""
        return _Scope(self, prefix)


class _Scope:
    def __init__(self, workspace, prefix):
        self._workspace = workspace
        self._prefix = prefix

    def empty(self, name, shape, dtype):
        return self._workspace.empty(self._prefix + (name,), shape, dtype)

    def zeros(self, name, shape, dtype):
        return self._workspace.zeros(self._prefix + (name,), shape, dtype)

    def scope(self, *prefix):
        return _Scope(self._workspace, self._prefix + prefix)


class _Fresh:
    """Allocates a new array on every request (the default: safe to share between threads)."""

    def __init__(self):
        self._count = itertools.count()

    def empty(self, name, shape, dtype):
        return staggered_empty(shape, dtype, 23 * next(self._count))

    def zeros(self, name, shape, dtype):
        array = self.empty(name, shape, dtype)
        array.fill(0)
        return array

    def scope(self, *prefix):
        return self


FRESH = _Fresh()
