"""skl2onnx converters: skdeeprnn's steps inside pipelines that skl2onnx converts.

:func:`register` tells skl2onnx how to convert the two estimators and the two
sequence transformers. Each converter writes the same nodes as
:func:`~skdeeprnn.to_onnx` (through a :class:`~._onnx_graph.GraphBuilder`
whose names come from skl2onnx's scope) and copies them into skl2onnx's
container. The classifier goes through skl2onnx's own classifier parser, so
its ``zipmap`` option behaves as for scikit-learn's classifiers.

skl2onnx is imported inside the functions: this module is importable without it.
"""

import warnings
from dataclasses import replace

import numpy as np

from ._description import describe
from ._onnx import MIN_OPSET

try:
    from onnx import TensorProto, helper
except ImportError:  # onnx is optional: register() says what to install
    TensorProto = helper = None


def register():
    """Register the converters, shape calculators and the classifier's parser."""
    try:
        from skl2onnx import update_registered_converter
    except ImportError as exc:
        raise ImportError("register_skl2onnx_converters needs skl2onnx: pip install "
                          "'skdeeprnn[onnx]' (onnx, onnxruntime and skl2onnx).") from exc

    from .._estimators import DeepRNNClassifier, DeepRNNRegressor
    from ..preprocessing import SequenceStandardScaler, SlidingWindowTransformer

    for cls in (SequenceStandardScaler, SlidingWindowTransformer):
        update_registered_converter(cls, f"Skdeeprnn{cls.__name__}", _step_shape, _convert_step)
    update_registered_converter(DeepRNNRegressor, "SkdeeprnnDeepRNNRegressor",
                                _estimator_shape, _convert_estimator)
    update_registered_converter(DeepRNNClassifier, "SkdeeprnnDeepRNNClassifier",
                                _estimator_shape, _convert_estimator, parser=_parse_classifier,
                                options={"zipmap": [True, False, "columns"],
                                         "nocl": [False, True]})


def _tensor_class(elem):
    from skl2onnx.common.data_types import (
        DoubleTensorType,
        FloatTensorType,
        Int64TensorType,
        StringTensorType,
    )

    return {TensorProto.FLOAT: FloatTensorType, TensorProto.DOUBLE: DoubleTensorType,
            TensorProto.INT64: Int64TensorType, TensorProto.STRING: StringTensorType}[elem]


def _input_dtype(variable, model):
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    if isinstance(variable.type, DoubleTensorType):
        return np.dtype(np.float64)
    if isinstance(variable.type, FloatTensorType):
        return np.dtype(np.float32)
    raise TypeError(f"{type(model).__name__} converts float or double tensors, got input "
                    f"{variable.onnx_name!r} of type {variable.type}.")


def _check_opset(container, model):
    opset = container.target_opset_any_domain("")
    if opset is not None and opset < MIN_OPSET:
        raise RuntimeError(f"{type(model).__name__} needs ONNX opset {MIN_OPSET} or later, "
                           f"but skl2onnx targets opset {opset}: pass target_opset="
                           f"{MIN_OPSET} (or later) to skl2onnx.to_onnx.")


def _emit(g, container):
    """Copy the builder's constants and nodes into skl2onnx's container."""
    for tensor in g.initializers:
        content = list(tensor.string_data) if tensor.data_type == TensorProto.STRING else tensor
        container.add_initializer(tensor.name, tensor.data_type, list(tensor.dims), content)
    for node in g.nodes:
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        container.add_node(node.op_type, list(node.input), list(node.output),
                           op_domain=node.domain, name=node.name, **attrs)


def _builder(scope):
    from ._onnx_graph import GraphBuilder

    return GraphBuilder(scope.get_unique_variable_name)


# ----------------------------------------------------------------------------- transformers
def _step_shape(operator):
    from ._onnx_steps import step_input, step_output_shape

    step, x = operator.raw_operator, operator.inputs[0]
    ranks, _ = step_input(step)
    shape = list(x.type.shape)
    if len(shape) not in ranks:
        expected = " or ".join(f"{r}D" for r in ranks)
        raise ValueError(f"{type(step).__name__} reads {expected} input; its input "
                         f"{x.onnx_name!r} has shape {shape}.")
    operator.outputs[0].type = x.type.__class__(step_output_shape(step, shape))


def _convert_step(scope, operator, container):
    from ._onnx_steps import add_step

    step, x = operator.raw_operator, operator.inputs[0]
    _check_opset(container, step)
    g = _builder(scope)
    out = add_step(g, step, x.full_name, _input_dtype(x, step))
    g.op("Identity", out, out=operator.outputs[0].full_name)
    _emit(g, container)


# ----------------------------------------------------------------------------- estimators
def _description(model, options_of):
    """Return the description; with skl2onnx's option ``nocl``, labels ``0 … n_classes-1``.

    ``options_of`` is skl2onnx's ``get_options`` of the scope or the container.
    """
    desc = describe(model)
    if desc.output.kind != "regression" and options_of(model, dict(nocl=False))["nocl"]:
        classes = np.arange(len(desc.output.classes))
        desc = replace(desc, output=replace(desc.output, classes=classes))
    return desc


def _single_label(model):
    desc = describe(model)
    return desc.output.kind in ("binary", "multiclass") and not desc.return_sequences


def _parse_classifier(scope, model, inputs, custom_parsers=None):
    """skl2onnx's classifier parser (zipmap) where each sample has one label."""
    from skl2onnx._parse import _parse_sklearn_classifier, _parse_sklearn_simple_model

    if _single_label(model):
        return _parse_sklearn_classifier(scope, model, inputs, custom_parsers=custom_parsers)
    if scope.get_options(model, dict(zipmap=True))["zipmap"]:
        warnings.warn(
            f"Option zipmap is ignored for this {type(model).__name__}: it has no single "
            "label per sample (multilabel or return_sequences). Set the option zipmap to "
            "False to remove this message.", UserWarning, stacklevel=2)
    return _parse_sklearn_simple_model(scope, model, inputs, custom_parsers=custom_parsers)


def _zipmap_float(model, desc, options_of):
    """Whether the probabilities are cast to float32 for ZipMap, which takes nothing else."""
    return (desc.output.kind != "regression" and np.dtype(desc.dtype) != np.float32
            and options_of(model, dict(zipmap=True))["zipmap"] is True and _single_label(model))


def _estimator_shape(operator):
    from ._onnx_network import output_specs

    model, x = operator.raw_operator, operator.inputs[0]
    _input_dtype(x, model)
    shape = list(x.type.shape)
    desc = _description(model, operator.scope_inst.get_options)
    specs = output_specs(desc, batch=shape[0],
                         steps=shape[1] if len(shape) > 1 else None)
    if _zipmap_float(model, desc, operator.scope_inst.get_options):
        specs[-1] = (specs[-1][0], TensorProto.FLOAT, specs[-1][2])
    for variable, (_, elem, out_shape) in zip(operator.outputs, specs, strict=True):
        variable.type = _tensor_class(elem)(out_shape)


def _convert_estimator(scope, operator, container):
    from ._onnx_network import add_estimator, output_specs

    model, x = operator.raw_operator, operator.inputs[0]
    _check_opset(container, model)
    desc = _description(model, container.get_options)
    names = {key: variable.full_name
             for (key, *_), variable in zip(output_specs(desc), operator.outputs, strict=True)}
    g = _builder(scope)
    cast = _zipmap_float(model, desc, container.get_options)
    if cast:
        proba, names["probabilities"] = names["probabilities"], g.new_name("probabilities")
    add_estimator(g, desc, x.full_name, len(x.type.shape), names,
                  x_dtype=_input_dtype(x, model))
    if cast:
        g.op("Cast", names["probabilities"], out=proba, to=TensorProto.FLOAT)
    _emit(g, container)
