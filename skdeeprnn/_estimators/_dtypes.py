"""The precision a model trains in: ``dtype='float32'``, ``'float64'`` or ``'auto'``."""

import numpy as np

DTYPES = {"float64": np.float64, "float32": np.float32}

# dtype='auto' trains in float64 on data of at most this many time steps (n_samples *
# n_timesteps) and in float32 above. At that size an epoch takes milliseconds and float32
# saved only 7-13% of it (measured with batches of 8 to 20 sequences, where NumPy's
# per-call overhead dominates; 35-85% from a few hundred sequences up), while float64 makes
# the fit independent, to about 1e-15, of how the sequences are batched and of the BLAS
# thread count: what scikit-learn's conformance checks test on their small data sets.
AUTO_FLOAT64_STEPS = 1_000


def resolve_dtype(dtype, n_samples, n_timesteps):
    """Return the dtype a first fit trains in: ``dtype``, or the ``'auto'`` rule's choice."""
    if dtype != "auto":
        return np.dtype(DTYPES[dtype])
    small = n_samples * n_timesteps <= AUTO_FLOAT64_STEPS
    return np.dtype(np.float64 if small else np.float32)


def imported_dtype(dtype, weights_dtype):
    """Return the dtype of a model whose weights are loaded: ``dtype``, or ``'auto'``: theirs.

    Weights in neither float32 nor float64 (float16, integers) load as float32.
    """
    if dtype != "auto":
        return np.dtype(DTYPES[dtype])
    return np.dtype(np.float64 if np.dtype(weights_dtype) == np.float64 else np.float32)
