"""A small builder of ONNX graphs: unique names, constants, nodes, subgraphs.

The exporters write their nodes through a :class:`GraphBuilder` rather than
into a ``GraphProto`` directly, so the same code serves :func:`~skdeeprnn.to_onnx`
(which assembles a model from the builder) and the skl2onnx converters (which
copy the builder's nodes and constants into skl2onnx's container, under names
that skl2onnx hands out). This module imports onnx when it is installed; only the ONNX
exporter uses it.
"""

import numpy as np

try:
    from onnx import TensorProto, helper, numpy_helper
except ImportError:  # onnx is optional: to_onnx says what to install when called
    TensorProto = helper = numpy_helper = None


def tensor_type(dtype):
    """Return the ONNX element type of a NumPy dtype (``np.str_`` and object: STRING)."""
    dtype = np.dtype(dtype)
    if dtype.kind in "USO":
        return TensorProto.STRING
    return helper.np_dtype_to_tensor_dtype(dtype)


def unique_names(taken=()):
    """Return a function ``new(hint)`` giving names not given before nor in ``taken``."""
    used = set(taken)
    counts = {}

    def new(hint):
        k = counts.get(hint, 0)
        name = hint if k == 0 else f"{hint}_{k}"
        while name in used:
            k += 1
            name = f"{hint}_{k}"
        counts[hint] = k + 1
        used.add(name)
        return name

    return new


def make_constant(name, value, dtype=None):
    """Return a ``TensorProto`` named ``name`` holding ``value`` (strings UTF-8 encoded)."""
    array = np.asarray(value, dtype=dtype)
    if array.dtype.kind in "USO":
        return helper.make_tensor(name, TensorProto.STRING, array.shape,
                                  [str(s).encode("utf-8") for s in array.ravel()])
    return numpy_helper.from_array(np.ascontiguousarray(array), name)


class GraphBuilder:
    """The nodes and constants (initializers) of one graph under construction.

    Parameters
    ----------
    new_name : callable
        ``new_name(hint)`` returns a name unique in the whole model (subgraphs
        included: ONNX forbids a subgraph to reuse an outer name).
    """

    def __init__(self, new_name):
        self.new_name = new_name
        self.nodes = []
        self.initializers = []

    def const(self, value, hint="const", dtype=None):
        """Add a constant; return its name."""
        tensor = make_constant(self.new_name(hint), value, dtype)
        self.initializers.append(tensor)
        return tensor.name

    def op(self, op_type, *inputs, out=None, n_out=1, domain="", **attrs):
        """Add one node; return the name of its output (a list when it has several).

        ``out`` names the outputs (a name or a list); otherwise ``n_out`` fresh
        names are made from the operator's name. An input of None is an omitted
        optional input.
        """
        if out is None:
            outputs = [self.new_name(op_type.lower()) for _ in range(n_out)]
        else:
            outputs = [out] if isinstance(out, str) else list(out)
        node = helper.make_node(op_type, ["" if i is None else i for i in inputs], outputs,
                                name=self.new_name(f"{op_type}_node"), domain=domain, **attrs)
        self.nodes.append(node)
        return outputs[0] if len(outputs) == 1 else outputs

    def subgraph(self):
        """Return a builder for the body of a ``Scan``, ``Loop`` or ``If`` (same names)."""
        return GraphBuilder(self.new_name)

    def graph(self, name, inputs, outputs):
        """Return the ``GraphProto`` of the nodes and constants added so far."""
        return helper.make_graph(self.nodes, name, inputs, outputs, self.initializers)
