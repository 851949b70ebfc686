"""One flat parameter buffer with named, shaped views.

Optimizers, clipping, L-BFGS, pickling and the gradient test all work on the
flat vector; the network reads the named views. Weight matrices come first and
biases last, so the L2 penalty (weights only, as in scikit-learn's MLP) is one
slice.
"""

import math

import numpy as np


class ParamLayout:
    """Names, shapes and offsets of the tensors packed in one flat vector.

    Parameters
    ----------
    weights : list of (str, tuple)
        Weight tensors (penalised by L2), in order.
    biases : list of (str, tuple)
        Bias tensors (not penalised), in order.
    """

    def __init__(self, weights, biases):
        self.names = []
        self.shapes = {}
        self.slices = {}
        offset = 0
        for name, shape in list(weights) + list(biases):
            if name in self.shapes:
                raise ValueError(f"duplicate parameter name {name!r}")
            size = math.prod(shape)
            self.names.append(name)
            self.shapes[name] = tuple(shape)
            self.slices[name] = slice(offset, offset + size)
            offset += size
            if len(self.names) == len(weights):
                self.n_weights = offset
        if not weights:
            self.n_weights = 0
        self.size = offset

    def views(self, flat):
        """Return a dict name -> view of ``flat`` with the tensor's shape."""
        if flat.shape != (self.size,):
            raise ValueError(
                f"expected a flat vector of {self.size} parameters, got shape {flat.shape}"
            )
        return {name: flat[self.slices[name]].reshape(self.shapes[name]) for name in self.names}

    def pack(self, tensors, dtype):
        """Pack a dict of arrays (all names present, shapes matching) into a new flat vector."""
        flat = np.empty(self.size, dtype=dtype)
        for name in self.names:
            value = np.asarray(tensors[name])
            if value.shape != self.shapes[name]:
                raise ValueError(
                    f"parameter {name!r} has shape {value.shape}, expected {self.shapes[name]}"
                )
            flat[self.slices[name]] = value.ravel()
        return flat
