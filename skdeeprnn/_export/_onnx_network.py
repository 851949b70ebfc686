"""The ONNX graph of a fitted estimator, written from its description.

:func:`add_estimator` adds to a :class:`~._onnx_graph.GraphBuilder` the nodes
that compute, from a batch of sequences, what the description's docstring
states (:mod:`._description`), hence what ``predict`` and ``predict_proba``
give:

- the observed mask (a step is missing when all its features are NaN) and the
  input with the missing steps set to 0, made time-major ``(T, N, d)``;
- per layer and direction, the input projection of every step at once (one
  ``MatMul``), then a ``Scan`` over the steps with the cell's recurrent part
  and ``Where(observed_t, h_new, h)``, which keeps the state across a missing
  step anywhere in the sequence. onnxruntime's fused ``RNN``/``LSTM``/``GRU``
  kernels cannot (their ``sequence_lens`` only cuts the end, and zero-fills
  what follows) and take float32 only; the ``Scan`` runs in either dtype;
- for float32 models, an ``If`` that runs onnxruntime's fused kernels instead
  when no step of the batch is missing (where they compute the same);
- the skip connection, the layer norm (``LayerNormalization`` in float32, two
  passes in float64), the pooling over the observed steps, the head and the
  estimator's output;
- with an autoregressive term, the last ``K`` steps of the input (missing
  steps 0, zeros in front when the input has fewer than ``K`` steps), reshaped
  to ``(N, K * d)`` and multiplied by the transposed weight, added to the
  head's scores.

Batch size and number of steps are dynamic. The graph uses opset 18 operators
(``Reduce*`` with their axes as an input, ``LayerNormalization``).
"""

import numpy as np

try:
    from onnx import TensorProto, helper
except ImportError:  # onnx is optional: to_onnx says what to install when called
    TensorProto = helper = None

from ._onnx_graph import tensor_type

GATES = {"rnn": 1, "lstm": 4, "gru": 3}


def label_constants(desc):
    """Return the class labels as the graph outputs them: int64 or strings.

    Many-to-many numeric labels are float64, so that a missing step can be
    NaN as in ``predict``. Raises a ValueError for labels ONNX cannot carry.
    """
    classes = np.asarray(desc.output.classes)
    if desc.output.kind == "multilabel":
        return np.arange(len(classes), dtype=np.int64)
    if classes.dtype.kind in "US" or (
            classes.dtype.kind == "O" and all(isinstance(c, str) for c in classes)):
        return classes.astype(str)
    if classes.dtype.kind in "biu" or (
            classes.dtype.kind == "f" and np.all(np.mod(classes, 1) == 0)):
        return classes.astype(np.float64 if desc.return_sequences else np.int64)
    raise ValueError(
        f"the class labels {classes.tolist()!r} (dtype {classes.dtype}) cannot be exported: "
        "ONNX labels are integers or strings. Fit the classifier on integer or string labels."
    )


def output_specs(desc, batch="N", steps="T"):
    """Return what the estimator's graph outputs: ``[(key, element type, shape)]``.

    ``key`` is ``'variable'`` for the regressor, ``'label'`` and
    ``'probabilities'`` for the classifier; ``batch`` and ``steps`` are the
    dimensions of the input (a name for a dynamic one).
    """
    lead = [batch, steps] if desc.return_sequences else [batch]
    out = desc.output
    if out.kind == "regression":
        shape = lead if out.squeeze else lead + [desc.n_outputs]
        return [("variable", tensor_type(desc.dtype), shape)]
    n_classes = len(out.classes)
    labels = label_constants(desc)
    label_shape = lead + [n_classes] if out.kind == "multilabel" else lead
    return [("label", tensor_type(labels.dtype), label_shape),
            ("probabilities", tensor_type(desc.dtype), lead + [n_classes])]


class _Net:
    """Shared names and constants of one estimator's graph."""

    def __init__(self, g, desc):
        self.g = g
        self.desc = desc
        self.dtype = np.dtype(desc.dtype)
        self.elem = tensor_type(self.dtype)

    def const(self, value, hint):
        return self.g.const(np.asarray(value, dtype=self.dtype), hint)

    def ints(self, value, hint="axes"):
        return self.g.const(np.asarray(value, dtype=np.int64), hint)


def add_estimator(g, desc, x, x_rank, outputs, *, x_dtype=None):
    """Add the estimator's graph reading ``x``; write its outputs to ``outputs``.

    Parameters
    ----------
    g : GraphBuilder
    desc : ModelDescription
    x : str
        Name of the input: ``(N, T, d)``, or ``(N, T)`` when ``x_rank`` is 2
        (univariate sequences).
    x_rank : {2, 3}
    outputs : dict
        Output names by key (see :func:`output_specs`).
    x_dtype : numpy dtype, optional
        Dtype of ``x`` when it is not the model's: it is cast first.
    """
    net = _Net(g, desc)
    if x_dtype is not None and np.dtype(x_dtype) != net.dtype:
        x = g.op("Cast", x, to=net.elem)
    if x_rank == 2:
        x = g.op("Unsqueeze", x, net.ints([2]))
    observed, x0, x_tm, mask_tm = _observed(net, x)
    top = x_tm
    batch = g.op("Shape", x, start=0, end=1)
    fused = _use_fused(net, observed, batch)
    for k, layer in enumerate(desc.layers):
        top = _layer(net, layer, top, mask_tm, batch, fused, f"l{k}")
    scores = _head(net, top, observed, mask_tm)
    if desc.autoregressive:
        scores = g.op("Add", scores, _autoregressive(net, x0, batch))
    if desc.output.kind == "regression":
        _regression_output(net, scores, observed, outputs)
    else:
        _classifier_output(net, scores, observed, outputs)


# Largest batch for which onnxruntime's fused kernel beats the Scan, None: any. Measured with
# onnxruntime 1.32 on 2 threads, 2 layers of 64 (T=24) and of 128 (T=50): the fused LSTM is
# faster at every batch size; the fused RNN and GRU are 3-5x faster for one sequence, even at
# four, and 1.2-2.5x slower from 16 sequences on.
FUSED_MAX_BATCH = {"rnn": 4, "gru": 4, "lstm": None}


def _use_fused(net, observed, batch):
    """Return the If condition for the fused kernels (a bool), or None where there are none.

    onnxruntime's fused kernels take float32 only, and are right only when no
    step of the batch is missing.
    """
    if net.dtype != np.float32:
        return None
    g = net.g
    flags = g.op("Cast", observed, to=net.elem)
    fused = g.op("Cast", g.op("ReduceMin", flags, keepdims=0), to=TensorProto.BOOL)
    limit = FUSED_MAX_BATCH[net.desc.layers[0].cell]
    if limit is not None:
        fused = g.op("And", fused, g.op("LessOrEqual", batch, net.ints([limit], "max_batch")))
    return fused


def _observed(net, x):
    """Return the observed mask, the input batch- and time-major, the mask time-major.

    Their shapes are (N, T), (N, T, d), (T, N, d) and (T, N, 1); the input is
    0 at the missing steps.
    """
    g = net.g
    nan = g.op("IsNaN", x)
    if net.desc.input_size == 1:
        missing = g.op("Squeeze", nan, net.ints([2]))
    else:
        # every feature NaN: the minimum over the features of IsNaN as 0/1
        all_nan = g.op("ReduceMin", g.op("Cast", nan, to=net.elem), net.ints([2]), keepdims=0)
        missing = g.op("Cast", all_nan, to=TensorProto.BOOL)
    observed = g.op("Not", missing)
    observed3 = g.op("Unsqueeze", observed, net.ints([2]))
    # NaN to 0 value by value, which is the missing steps to 0 on valid input (a step is all
    # NaN or has no NaN): onnxruntime's Where is 8x slower when it broadcasts the step mask
    x0 = g.op("Where", nan, net.const(0.0, "zero"), x)
    x_tm = g.op("Transpose", x0, perm=[1, 0, 2])
    mask_tm = g.op("Transpose", observed3, perm=[1, 0, 2])
    return observed, x0, x_tm, mask_tm


def _autoregressive(net, x0, batch):
    """Return the autoregressive term's scores (N, k) of ``x0`` (N, T, d), 0 at missing steps.

    The last ``K`` steps, flattened step by step, oldest first, times the
    transposed weight. ``K`` zero steps in front make a window of fewer than
    ``K`` steps read zeros before its first step, as the core does; the number
    of steps is dynamic, so they are always there.
    """
    g, desc = net.g, net.desc
    K, d = desc.autoregressive, desc.input_size
    zeros = g.op("ConstantOfShape", g.op("Concat", batch, net.ints([K, d], "lag_shape"), axis=0),
                 value=helper.make_tensor("value", net.elem, [1], [0.0]))
    padded = g.op("Concat", zeros, x0, axis=1)  # (N, K + T, d)
    last = g.op("Slice", padded, net.ints([-K], "lag_start"),
                net.ints([np.iinfo(np.int64).max], "lag_end"), net.ints([1]))
    lagged = g.op("Reshape", last, net.ints([0, K * d], "lag_width"))  # (N, K * d)
    return g.op("MatMul", lagged, net.const(desc.autoregressive_weight.T,
                                            "autoregressive_weight_T"))


def _layer(net, layer, inp, mask_tm, batch, fused, tag):
    """One layer on time-major ``inp`` (T, N, input_size): directions, skip connection, norm."""
    g = net.g
    outs = [_direction(net, layer, d, inp, mask_tm, batch, fused,
                       tag + ("_reverse" if d.reverse else ""))
            for d in layer.directions]
    out = outs[0] if len(outs) == 1 else g.op("Concat", *outs, axis=2)
    if layer.residual == "identity":
        out = g.op("Add", out, inp)
    elif layer.residual == "projection":
        projected = g.op("MatMul", inp, net.const(layer.residual_weight.T, f"residual_{tag}_T"))
        out = g.op("Add", out, projected)
    if layer.norm_weight is not None:
        out = _layer_norm(net, layer, out, tag)
    return out


def _layer_norm(net, layer, out, tag):
    """Normalise ``out`` over its features: ``LayerNormalization``, or two passes in float64.

    onnxruntime's kernel takes the variance as E[x²] - E[x]², which loses about
    1e-9 in float64; the explicit ops take the mean of the squared deviations.
    """
    g = net.g
    weight = net.const(layer.norm_weight, f"norm_{tag}_weight")
    bias = net.const(layer.norm_bias, f"norm_{tag}_bias")
    if net.dtype != np.float64:
        return g.op("LayerNormalization", out, weight, bias, axis=-1,
                    epsilon=float(layer.norm_eps))
    axes = net.ints([-1])
    centred = g.op("Sub", out, g.op("ReduceMean", out, axes, keepdims=1))
    variance = g.op("ReduceMean", g.op("Mul", centred, centred), axes, keepdims=1)
    scale = g.op("Sqrt", g.op("Add", variance, net.const(layer.norm_eps, "norm_eps")))
    return g.op("Add", g.op("Mul", g.op("Div", centred, scale), weight), bias)


def _input_bias(layer, direction):
    """Return the bias of the input projection: ``b_ih``, and ``b_hh`` but in the reset gate."""
    b_ih, b_hh = direction.bias_ih, direction.bias_hh
    if b_ih is None:
        return None
    if layer.cell != "gru":
        return b_ih + b_hh
    H = layer.hidden_size
    return b_ih + np.concatenate([b_hh[:2 * H], np.zeros(H, dtype=b_hh.dtype)])


def _direction(net, layer, direction, inp, mask_tm, batch, fused, tag):
    """One direction of one layer: (T, N, H), the state after each step.

    With ``fused`` (a bool: float32 models), an ``If`` runs onnxruntime's
    fused kernel where ``fused`` holds (no step of the batch is missing, where
    it computes the same as the ``Scan``, and it is the faster) and the
    ``Scan`` otherwise.
    """
    if fused is None:
        return _scan_direction(net, net.g, layer, direction, inp, mask_tm, batch, tag)
    branches = {}
    for key, build in (("then_branch", _fused_direction), ("else_branch", _scan_direction)):
        b = net.g.subgraph()
        out = build(net, b, layer, direction, inp, mask_tm, batch, tag)
        branches[key] = b.graph(f"{key}_{tag}", [], [
            helper.make_tensor_value_info(out, net.elem, [None, None, layer.hidden_size])])
    return net.g.op("If", fused, **branches)


# onnx orders the gates i, o, f, c (LSTM) and z, r, h (GRU); PyTorch i, f, g, o and r, z, n
_ONNX_GATES = {"rnn": [0], "lstm": [0, 3, 1, 2], "gru": [1, 0, 2]}
_FUSED = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}


def _fused_direction(net, g, layer, direction, inp, mask_tm, batch, tag):
    """One direction as onnxruntime's fused RNN / LSTM / GRU: right only without missing steps."""
    H = layer.hidden_size

    def gates(array):
        return np.concatenate([array[j * H:(j + 1) * H] for j in _ONNX_GATES[layer.cell]])

    def const(value, hint):
        return g.const(np.asarray(value, dtype=net.dtype)[None], f"{hint}_{tag}")

    inputs = [inp, const(gates(direction.weight_ih), "onnx_W"),
              const(gates(direction.weight_hh), "onnx_R")]
    if direction.bias_ih is not None:
        inputs.append(const(np.concatenate([gates(direction.bias_ih),
                                            gates(direction.bias_hh)]), "onnx_B"))
    attrs = dict(hidden_size=H, direction="reverse" if direction.reverse else "forward")
    if layer.cell == "rnn":
        attrs["activations"] = ["Tanh" if layer.nonlinearity == "tanh" else "Relu"]
    elif layer.cell == "gru":
        attrs["linear_before_reset"] = 1  # PyTorch's GRU: the reset gate multiplies W_hn h + b_hn
    y = g.op(_FUSED[layer.cell], *inputs, **attrs)  # (T, 1, N, H)
    return g.op("Squeeze", y, g.const(np.array([1], dtype=np.int64), "axes"))


def _scan_direction(net, g, layer, direction, inp, mask_tm, batch, tag):
    """One direction as a Scan over the steps, after the projection of every step at once."""
    H = layer.hidden_size

    def const(value, hint):
        return g.const(np.asarray(value, dtype=net.dtype), f"{hint}_{tag}")

    xp = g.op("MatMul", inp, const(direction.weight_ih.T, "weight_ih_T"))
    bias = _input_bias(layer, direction)
    if bias is not None:
        xp = g.op("Add", xp, const(bias, "bias"))
    zeros = g.op("ConstantOfShape",
                 g.op("Concat", batch, g.const(np.array([H], dtype=np.int64), "hidden"), axis=0),
                 value=helper.make_tensor("value", net.elem, [1], [0.0]))
    n_states = 2 if layer.cell == "lstm" else 1
    body = _cell_body(net, g, layer, direction, tag)
    attrs = {}
    if direction.reverse:
        attrs = dict(scan_input_directions=[1, 1], scan_output_directions=[1])
    results = g.op("Scan", *([zeros] * n_states), xp, mask_tm, n_out=n_states + 1, body=body,
                   num_scan_inputs=2, **attrs)
    return results[-1]  # (T, N, H): the state after each step


def _cell_body(net, g, layer, direction, tag):
    """Return the Scan body: one step of the cell, the state kept at a missing step."""
    b = g.subgraph()
    H = layer.hidden_size
    elem = net.elem
    h_prev, x_t, m_t = (b.new_name(f"{name}_{tag}") for name in ("h_prev", "xp_t", "m_t"))
    c_prev = b.new_name(f"c_prev_{tag}") if layer.cell == "lstm" else None

    def const(value, hint):
        return b.const(np.asarray(value, dtype=net.dtype), f"{hint}_{tag}")

    def split(value, sizes):
        return b.op("Split", value, b.const(np.asarray(sizes, dtype=np.int64), f"split_{tag}"),
                    axis=1, n_out=len(sizes))

    hp = b.op("MatMul", h_prev, const(direction.weight_hh.T, "weight_hh_T"))
    c_new = None
    if layer.cell == "rnn":
        pre = b.op("Add", x_t, hp)
        h_new = b.op("Tanh" if layer.nonlinearity == "tanh" else "Relu", pre)
    elif layer.cell == "lstm":  # gates i, f, g, o
        gates_if, gate_g, gate_o = split(b.op("Add", x_t, hp), [2 * H, H, H])
        gate_i, gate_f = split(b.op("Sigmoid", gates_if), [H, H])
        c_new = b.op("Add", b.op("Mul", gate_f, c_prev),
                     b.op("Mul", gate_i, b.op("Tanh", gate_g)))
        h_new = b.op("Mul", b.op("Sigmoid", gate_o), b.op("Tanh", c_new))
    else:  # gru: gates r, z, n; the reset gate multiplies W_hn h + b_hn
        x_rz, x_n = split(x_t, [2 * H, H])
        h_rz, h_n = split(hp, [2 * H, H])
        if direction.bias_hh is not None:
            h_n = b.op("Add", h_n, const(direction.bias_hh[2 * H:], "bias_hn"))
        reset, update = split(b.op("Sigmoid", b.op("Add", x_rz, h_rz)), [H, H])
        candidate = b.op("Tanh", b.op("Add", x_n, b.op("Mul", reset, h_n)))
        # (1 - z) * n + z * h
        h_new = b.op("Add", candidate, b.op("Mul", update, b.op("Sub", h_prev, candidate)))
    h = b.op("Where", m_t, h_new, h_prev)
    outputs = [h]
    if c_new is not None:
        outputs.append(b.op("Where", m_t, c_new, c_prev))
    outputs.append(b.op("Identity", h))  # the scan output: every step's state

    # rank and width declared: onnxruntime needs every Scan output's shape set
    def info(name, width, elem_type=elem):
        return helper.make_tensor_value_info(name, elem_type, [None, width])

    states = [h_prev] + ([c_prev] if c_prev else [])
    return b.graph(f"{layer.cell}_step_{tag}",
                   [info(s, H) for s in states]
                   + [info(x_t, GATES[layer.cell] * H), info(m_t, 1, TensorProto.BOOL)],
                   [info(o, H) for o in outputs])


def _head(net, top, observed, mask_tm):
    """Return the head's scores: (N, k), or (N, T, k) with ``return_sequences``."""
    g, desc = net.g, net.desc
    if desc.return_sequences:
        feats = g.op("Transpose", top, perm=[1, 0, 2])  # (N, T, F)
    elif desc.pooling == "mean":
        weights = g.op("Cast", mask_tm, to=net.elem)
        total = g.op("ReduceSum", g.op("Mul", top, weights), net.ints([0]), keepdims=0)
        count = g.op("ReduceSum", weights, net.ints([0]), keepdims=0)  # (N, 1)
        feats = g.op("Div", total, count)
    elif desc.pooling == "max":
        masked = g.op("Where", mask_tm, top, net.const(-np.inf, "minus_inf"))
        feats = g.op("ReduceMax", masked, net.ints([0]), keepdims=0)
    else:  # 'last': each sequence's last observed step (the reverse half: its first)
        top_bm = g.op("Transpose", top, perm=[1, 0, 2])  # (N, T, F)
        flags = g.op("Cast", observed, to=net.elem)  # (N, T)
        last = g.op("ArgMax", flags, axis=1, keepdims=1, select_last_index=1)  # (N, 1)
        feats = g.op("GatherND", top_bm, last, batch_dims=1)  # (N, F)
        if desc.layers[-1].bidirectional:
            H = desc.layers[-1].hidden_size
            first = g.op("ArgMax", flags, axis=1, keepdims=1, select_last_index=0)
            at_first = g.op("GatherND", top_bm, first, batch_dims=1)
            axis = net.ints([1])
            feats = g.op("Concat",
                         g.op("Slice", feats, net.ints([0]), net.ints([H]), axis),
                         g.op("Slice", at_first, net.ints([H]), net.ints([2 * H]), axis),
                         axis=1)
    scores = g.op("MatMul", feats, net.const(desc.head_weight.T, "head_weight_T"))
    if desc.head_bias is not None:
        scores = g.op("Add", scores, net.const(desc.head_bias, "head_bias"))
    return scores


def _regression_output(net, scores, observed, outputs):
    g, desc = net.g, net.desc
    out = desc.output
    y = g.op("Add", g.op("Mul", scores, net.const(out.y_scale, "y_scale")),
             net.const(out.y_mean, "y_mean"))
    if desc.return_sequences:
        y = g.op("Where", g.op("Unsqueeze", observed, net.ints([2])), y,
                 net.const(np.nan, "nan"))
    if out.squeeze:
        y = g.op("Squeeze", y, net.ints([-1]))
    g.op("Identity", y, out=outputs["variable"])


def _classifier_output(net, scores, observed, outputs):
    g, desc = net.g, net.desc
    kind = desc.output.kind
    if kind == "multiclass":
        proba = g.op("Softmax", scores, axis=-1)
    elif kind == "binary":  # both sigmoids, each accurate near 0
        proba = g.op("Concat", g.op("Sigmoid", g.op("Neg", scores)), g.op("Sigmoid", scores),
                     axis=-1)
    else:
        proba = g.op("Sigmoid", scores)
    labels = label_constants(desc)
    if kind == "multilabel":
        label = g.op("Cast", g.op("Greater", proba, net.const(0.5, "half")),
                     to=TensorProto.INT64)
    else:
        index = g.op("ArgMax", proba, axis=-1, keepdims=0)
        label = g.op("Gather", g.const(labels, "classes"), index, axis=0)
    if desc.return_sequences:
        observed3 = g.op("Unsqueeze", observed, net.ints([2]))
        proba = g.op("Where", observed3, proba, net.const(np.nan, "nan"))
        fill = np.nan if labels.dtype.kind == "f" else ""
        label = g.op("Where", observed, label, g.const(np.asarray(fill, dtype=labels.dtype),
                                                       "missing_label"))
    g.op("Identity", label, out=outputs["label"])
    g.op("Identity", proba, out=outputs["probabilities"])
