"""ONNX export of a fitted estimator, or of a pipeline that ends in one.

:func:`to_onnx` builds the graph from the estimator's description
(:func:`~skdeeprnn._export.describe`) and from the fitted attributes of the
pipeline's preprocessing steps; see :mod:`._onnx_network` for the network's
graph and :mod:`._onnx_steps` for the steps'. :func:`register_skl2onnx_converters`
lets skl2onnx convert pipelines that mix these steps with its own.

onnx is imported here and by the modules this one imports; nothing else in the
package imports this module at import time.
"""

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from .._version import __version__
from ._description import _check_estimator, describe

MIN_OPSET = 18
ML_OPSET = 3  # of the 'ai.onnx.ml' domain, for ZipMap
OUTPUT_NAMES = {"variable": "variable", "label": "output_label",
                "probabilities": "output_probability"}


def _import_onnx():
    try:
        import onnx
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "to_onnx needs the onnx package: pip install 'skdeeprnn[onnx]' (onnx, and "
            "onnxruntime to run the exported model)."
        ) from exc
    return onnx


def _flatten(model):
    """Return the steps of a (possibly nested) pipeline, without 'passthrough' and None."""
    if not isinstance(model, Pipeline):
        return [model]
    steps = []
    for _, step in model.steps:
        if step is None or (isinstance(step, str) and step == "passthrough"):
            continue
        steps.extend(_flatten(step))
    return steps


def _split(model):
    """Return ``(preprocessing steps, final estimator)``; refuse what cannot be exported."""
    from ._onnx_steps import STEPS

    steps = _flatten(model)
    if not steps:
        raise ValueError("the pipeline has no step to export.")
    *before, last = steps
    try:
        _check_estimator(last)
    except TypeError:
        what = "a Pipeline that ends in " if isinstance(model, Pipeline) else ""
        raise TypeError(
            f"to_onnx exports a fitted DeepRNNRegressor or DeepRNNClassifier, or a Pipeline "
            f"that ends in one; got {what}{type(last).__name__}."
        ) from None
    names = ", ".join(cls.__name__ for cls in STEPS)
    for step in before:
        if not isinstance(step, STEPS):
            raise TypeError(
                f"to_onnx cannot export the pipeline step {type(step).__name__}: the steps "
                f"it writes as ONNX are {names}. For other scikit-learn steps, call "
                "skdeeprnn.register_skl2onnx_converters() and convert the pipeline with "
                "skl2onnx.to_onnx."
            )
        check_is_fitted(step)
    return before, last


def _input(before, desc, X):
    """Return the input's dtype and shape, from the first step and the example ``X``."""
    from ._onnx_steps import step_input

    if before:
        ranks, width = step_input(before[0])
    else:
        ranks, width = (2, 3) if desc.input_size == 1 else (3,), desc.input_size
    if X is None:
        rank, dtype = max(ranks), np.dtype(desc.dtype)
    else:
        X = np.asarray(X)
        rank, dtype = X.ndim, X.dtype
        if dtype not in (np.float32, np.float64):
            raise ValueError(f"X must be float32 or float64, got dtype {dtype}.")
        if rank not in ranks:
            first = type(before[0] if before else desc).__name__
            expected = " or ".join(f"{r}D" for r in ranks)
            raise ValueError(f"X is {rank}D, but the first step ({first}) reads {expected} input.")
        if X.shape[-1] != width and not (rank == 2 and 3 in ranks):
            raise ValueError(f"X has {X.shape[-1]} features in its last dimension; the model "
                             f"was fitted with {width}.")
    if rank == 3:
        shape = ["N", "T", width]
    elif 3 in ranks:  # univariate sequences (N, T)
        shape = ["N", "T"]
    else:  # a table with a fixed number of columns
        shape = ["N", width]
    return dtype, shape


def _add_zipmap(g, desc, proba, out):
    """Add ONNX's ZipMap (float32 only) from ``proba`` to ``out``; return the output's info."""
    from onnx import TensorProto, helper

    from ._onnx_network import label_constants

    labels = label_constants(desc)
    if labels.dtype.kind == "U":
        attrs, key_type = {"classlabels_strings": [str(c) for c in labels]}, TensorProto.STRING
    else:
        attrs, key_type = {"classlabels_int64s": [int(c) for c in labels]}, TensorProto.INT64
    if np.dtype(desc.dtype) != np.float32:
        proba = g.op("Cast", proba, to=TensorProto.FLOAT)
    g.op("ZipMap", proba, out=out, domain="ai.onnx.ml", **attrs)
    value = helper.make_tensor_type_proto(TensorProto.FLOAT, [])
    return helper.make_value_info(
        out, helper.make_sequence_type_proto(helper.make_map_type_proto(key_type, value)))


def to_onnx(model, X=None, *, zipmap=False, target_opset=MIN_OPSET, name=None):
    """Export a fitted estimator, or a pipeline that ends in one, as an ONNX model.

    The graph computes ``predict`` (and, for a classifier, ``predict_proba``)
    from the same input, in the model's dtype, for any batch size and any
    number of time steps. It is written from the description of the network
    (cell, layers, directions, skip connections, layer norm, pooling, head,
    target scaling) and runs in onnxruntime, or any runtime of ONNX opset
    ``target_opset``; no Python ML library is needed to serve it. A step whose
    features are all NaN is missing, with the estimator's semantics: the state
    is kept across it, pooling skips it, and many-to-many outputs are NaN
    there.

    .. versionadded:: 0.3

    Parameters
    ----------
    model : DeepRNNRegressor, DeepRNNClassifier or Pipeline
        A fitted estimator, or a fitted :class:`~sklearn.pipeline.Pipeline`
        whose last step is one and whose other steps are
        :class:`~skdeeprnn.SequenceStandardScaler`,
        :class:`~skdeeprnn.SlidingWindowTransformer` or scikit-learn's
        ``StandardScaler``, ``MinMaxScaler`` or ``RobustScaler`` (nested
        pipelines and ``'passthrough'`` are fine). Other steps are refused;
        convert such pipelines with skl2onnx (:func:`register_skl2onnx_converters`).

    X : array-like, default=None
        An example of the input: only its number of dimensions and its dtype
        are read, e.g. ``X[:1]``. By default the input is 3D ``(N, T, d)``
        sequences (2D ``(N, d)`` for a pipeline that starts with a window or
        a scikit-learn scaler) in the estimator's dtype. Pass a 2D array for
        univariate sequences ``(N, T)``, or a float64 array to feed float64
        to a float32 model (it is cast where the estimator starts).

    zipmap : bool, default=False
        Classifier only: output the probabilities as a list of dicts
        ``{label: probability}`` (ONNX ``ZipMap``, float32), as skl2onnx does
        by default, instead of a ``(N, n_classes)`` tensor. Not available for
        multilabel or many-to-many classifiers.

    target_opset : int, default=18
        Opset of the default ONNX domain; 18 or later.

    name : str, default=None
        Name of the graph; by default the estimator's class name.

    Returns
    -------
    onnx_model : onnx.ModelProto
        One input ``"X"``. The regressor's output ``"variable"`` has the
        shape of ``predict``'s. The classifier's outputs are
        ``"output_label"`` (int64 or string labels as ``predict``; float64
        for numeric many-to-many labels, NaN at missing steps, and ``""`` for
        string ones) and ``"output_probability"`` (as ``predict_proba``).

    Raises
    ------
    TypeError
        If the model, or a step of the pipeline, cannot be exported.
    sklearn.exceptions.NotFittedError
        If the estimator or a step is not fitted.
    ValueError
        If the class labels are neither integers nor strings, ``X`` does not
        fit the model, or ``target_opset`` is below 18.

    See Also
    --------
    register_skl2onnx_converters : Convert pipelines with skl2onnx.

    Notes
    -----
    onnx is needed to export (``pip install 'skdeeprnn[onnx]'``, which also
    installs onnxruntime and skl2onnx); nothing else in the package imports it.

    Unlike ``predict``, the graph does not validate its input: a step with
    some but not all features NaN, infinity, or a sequence without any
    observed step give undefined outputs (often NaN) instead of an error.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeeprnn import DeepRNNRegressor, to_onnx
    >>> X = np.random.RandomState(0).normal(size=(20, 5, 2)).astype(np.float32)
    >>> y = X[:, :, 0].sum(axis=1)
    >>> reg = DeepRNNRegressor(hidden_size=4, max_iter=5, dtype="float32",
    ...                        random_state=0).fit(X, y)  # doctest: +SKIP
    >>> onx = to_onnx(reg)  # doctest: +SKIP
    >>> import onnxruntime as ort  # doctest: +SKIP
    >>> session = ort.InferenceSession(onx.SerializeToString(),
    ...                                providers=["CPUExecutionProvider"])  # doctest: +SKIP
    >>> y_onnx = session.run(None, {"X": X})[0]  # doctest: +SKIP
    >>> np.allclose(y_onnx, reg.predict(X), rtol=1e-5, atol=1e-5)  # doctest: +SKIP
    True
    """
    onnx = _import_onnx()
    from onnx import helper

    from ._onnx_graph import GraphBuilder, tensor_type, unique_names
    from ._onnx_network import add_estimator, output_specs
    from ._onnx_steps import add_step, step_output_shape

    if int(target_opset) < MIN_OPSET:
        raise ValueError(f"target_opset must be {MIN_OPSET} or later, got {target_opset}.")
    before, estimator = _split(model)
    desc = describe(estimator)
    dtype, shape = _input(before, desc, X)
    if zipmap and (desc.output.kind not in ("binary", "multiclass") or desc.return_sequences):
        raise ValueError(
            "zipmap=True maps each sample's probabilities to a dict {label: probability}; "
            f"it is available for binary and multiclass classifiers without "
            f"return_sequences, not for this {desc.estimator}"
            + (f" ({desc.output.kind})" if desc.output.kind != "regression" else "") + "."
        )

    g = GraphBuilder(unique_names(["X", *OUTPUT_NAMES.values()]))
    x = "X"
    x_shape = shape
    for step in before:
        x = add_step(g, step, x, dtype)
        x_shape = step_output_shape(step, x_shape)
    specs = output_specs(desc, batch="N", steps=x_shape[1] if len(x_shape) > 1 else "T")
    names = {key: (g.new_name("probabilities") if key == "probabilities" and zipmap
                   else OUTPUT_NAMES[key]) for key, *_ in specs}
    add_estimator(g, desc, x, len(x_shape), names, x_dtype=dtype)

    outputs = []
    for key, elem, out_shape in specs:
        if key == "probabilities" and zipmap:
            outputs.append(_add_zipmap(g, desc, names[key], OUTPUT_NAMES[key]))
        else:
            outputs.append(helper.make_tensor_value_info(OUTPUT_NAMES[key], elem, out_shape))
    graph = g.graph(name or desc.estimator,
                    [helper.make_tensor_value_info("X", tensor_type(dtype), shape)], outputs)
    opsets = [helper.make_opsetid("", int(target_opset))]
    if zipmap:
        opsets.append(helper.make_opsetid("ai.onnx.ml", ML_OPSET))
    onnx_model = helper.make_model(
        graph, opset_imports=opsets, producer_name="skdeeprnn", producer_version=__version__,
        ir_version=helper.find_min_ir_version_for(opsets),
        doc_string=f"{desc.estimator} exported by skdeeprnn.to_onnx",
    )
    onnx.checker.check_model(onnx_model)
    return onnx_model


def register_skl2onnx_converters():
    """Register skdeeprnn's estimators and transformers with skl2onnx.

    After this call, ``skl2onnx.to_onnx(pipeline, X[:1])`` converts pipelines
    that mix :class:`~skdeeprnn.DeepRNNRegressor`,
    :class:`~skdeeprnn.DeepRNNClassifier`,
    :class:`~skdeeprnn.SequenceStandardScaler` and
    :class:`~skdeeprnn.SlidingWindowTransformer` with the scikit-learn steps
    that skl2onnx converts (``ColumnTransformer``, ``OneHotEncoder``, ...).
    The classifier honours skl2onnx's ``zipmap`` option (True by default:
    pass ``options={id(clf): {"zipmap": False}}`` for a probability tensor);
    for multilabel and many-to-many classifiers, which have no single label
    per sample, zipmap is left out with a warning. Calling it again is
    harmless.

    .. versionadded:: 0.3

    See Also
    --------
    to_onnx : Export without skl2onnx.

    Notes
    -----
    skl2onnx's ``target_opset`` must be 18 or later (its default is).
    The regressor's output has the shape of ``predict``'s, ``(N,)`` for one
    output, where skl2onnx's own regressors give ``(N, 1)``.
    """
    from ._onnx_skl2onnx import register

    register()
