"""Save a fitted estimator as a portable ``.npz`` of named arrays, and load it back safely.

A pickle (``joblib.dump``) holds Python objects: loading one runs code, so it
must come from a trusted source, and it is tied to the package's internals.
The ``.npz`` written here holds only plain arrays (numbers and strings), is
read with ``numpy.load(..., allow_pickle=False)`` and can be opened by any
NumPy program: the weights are stored under their PyTorch names.

What the file holds (format 1), one array per key:

===============================  =============================================
``format``                       int, 1
``skdeeprnn_version``            str, the version that wrote the file
``estimator``                    str, ``'DeepRNNRegressor'`` or
                                 ``'DeepRNNClassifier'``
``params``                       str, ``get_params()`` as JSON text (a
                                 ``class_weight`` dict as
                                 ``{"by_class_index": [[i, w], ...]}``, ``i``
                                 the label's index in ``classes_``)
``n_features_in_``               int, time steps (scikit-learn's features)
``n_features_per_step_``         int
``feature_names_in_``            str (n_features_in_,), when fitted on names
``weights/<name>``               every array of ``weights_`` (PyTorch names)
``n_iter_``, ``t_``              int
``loss_curve_``                  float (n_epochs,)
``best_loss_``, ``loss_``        float
``validation_scores_``           float (n_epochs,), absent when None
``best_validation_score_``       float, absent when None
``no_improvement_count``         int
``auto_alpha``                   float: the regressor's ``alpha='auto'`` as
                                 resolved by the first fit; absent in older files
``fitted_with_missing_ends``     int 0/1: a training sequence ended early (the
                                 regressor's ``autoregressive='auto'`` has no
                                 term then); absent in older files
``rng/keys``, ``rng/pos``,       the state of the generator that shuffles,
``rng/has_gauss``,               drops out and splits in further training
``rng/cached_gaussian``
``optimizer/*``                  Adam (``t``, ``m``, ``v``, ...) or SGD
                                 (``velocity``, ...) state; absent for
                                 ``'lbfgs'``
``y_mean``, ``y_scale``,         regressor: the target scaling
``y_ndim``
``linear_fallback_``             regressor: int 0/1, the fit kept the
                                 autoregressive term alone; absent in older files
``linear_fallback_z_``           regressor: float, the fallback test's z-score
                                 (NaN for None: not run); absent in older files
``classes_``, ``classes_dtype``  classifier: the labels in a non-object dtype
                                 and the dtype to restore
``label_binarizer/y_type_``      classifier: ``'binary'``, ``'multiclass'`` or
                                 ``'multilabel-indicator'``
===============================  =============================================

With the rng and optimizer state, a loaded model goes on training with
``partial_fit`` exactly as the saved one would have.

A regressor's autoregressive term is one more weight,
``weights/autoregressive.weight``, sized by the ``autoregressive`` parameter
and ``n_features_in_``. Files written before that parameter existed have no
``autoregressive`` in ``params`` and no such weight: they load with
``autoregressive=0``, the model they hold, not with today's default.
"""

import json
import os
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ._estimators import DeepRNNClassifier, DeepRNNRegressor
from ._estimators._dtypes import imported_dtype
from ._version import __version__
from .core import SGD, Adam, StackedRNN

__all__ = ["load_npz", "save_npz"]

FORMAT = 1
# the only classes a file may name: never import a name read from a file
_CLASSES = {"DeepRNNRegressor": DeepRNNRegressor, "DeepRNNClassifier": DeepRNNClassifier}
# label dtype kinds that survive a round trip without pickling
_LABEL_KINDS = "biufUSO"
_Y_TYPES = ("binary", "multiclass", "multilabel-indicator")
_OPTIMIZER_FIELDS = {
    Adam: {"learning_rate": "float", "beta_1": "float", "beta_2": "float", "epsilon": "float",
           "t": "int", "m": "params", "v": "params"},
    SGD: {"learning_rate": "float", "momentum": "float", "nesterov": "bool",
          "velocity": "params"},
}


# ------------------------------------------------------------------- saving
def _json_param(name, value):
    """Return a parameter value as JSON; sequences (``hidden_size``) become lists."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, Integral):
        return int(value)
    if isinstance(value, Real):
        return float(value)
    if isinstance(value, np.random.RandomState):
        return None  # a generator is not a portable value; its state is saved as rng/*
    if isinstance(value, (tuple, list, np.ndarray)):
        return [_json_param(name, v) for v in np.asarray(value).ravel().tolist()]
    raise TypeError(
        f"parameter {name}={value!r} of type {type(value).__name__} cannot be saved to .npz; "
        "use a number, a string, a tuple of ints or None."
    )


def _class_weight_json(est, class_weight):
    """``class_weight`` as JSON: a dict becomes ``[class index, weight]`` pairs.

    Labels need not be JSON keys (numbers, booleans), so each weight is saved
    with its label's index in ``classes_``.
    """
    if not isinstance(class_weight, dict):
        return _json_param("class_weight", class_weight)
    index = {label: i for i, label in enumerate(est.classes_.tolist())}
    unknown = [label for label in class_weight if label not in index]
    if unknown:
        raise TypeError(f"class_weight has labels {unknown!r} that are not in classes_; it "
                        "cannot be saved to .npz.")
    return {"by_class_index": sorted([index[label], float(weight)]
                                     for label, weight in class_weight.items())}


def _portable_labels(classes):
    """Return ``(labels in a non-object dtype, original dtype string)``."""
    classes = np.asarray(classes)
    kind = classes.dtype.kind
    if kind not in _LABEL_KINDS:
        raise TypeError(f"labels of dtype {classes.dtype} cannot be saved to .npz.")
    if kind != "O":
        return classes, classes.dtype.str
    values = classes.tolist()
    for types, portable in (((str,), str), ((bool, np.bool_), bool),
                            ((Integral,), np.int64), ((Real,), np.float64)):
        if all(isinstance(v, types) for v in values):
            if portable is np.int64 and any(isinstance(v, (bool, np.bool_)) for v in values):
                continue
            return np.array(values, dtype=portable), classes.dtype.str
    raise TypeError(
        f"labels {values!r} mix types or are not numbers, strings or booleans; they cannot "
        "be saved to .npz without pickling."
    )


def _optimizer_arrays(optimizer):
    if optimizer is None:
        return {}
    fields = _OPTIMIZER_FIELDS[type(optimizer)]
    return {f"optimizer/{field}": np.asarray(getattr(optimizer, field)) for field in fields}


def _rng_arrays(rng):
    name, keys, pos, has_gauss, cached = rng.get_state()
    return {
        "rng/keys": np.asarray(keys, dtype=np.uint32),
        "rng/pos": np.asarray(pos, dtype=np.int64),
        "rng/has_gauss": np.asarray(has_gauss, dtype=np.int64),
        "rng/cached_gaussian": np.asarray(cached, dtype=np.float64),
    }


def save_npz(estimator, file):
    """Save a fitted estimator to a portable ``.npz`` file of named arrays.

    The file holds the weights under their PyTorch names (the keys of
    :attr:`~DeepRNNRegressor.weights_`, prefixed ``weights/``), the parameters
    as JSON text, the fitted attributes needed to predict (target scaling,
    classes) and those needed to continue training (loss curve, epoch and
    sample counts, the optimizer's state and the random generator's state).
    Everything is a number or string array, so :func:`load_npz` reads it with
    ``allow_pickle=False``: unlike a pickle, loading it cannot run code. See the
    module docstring of :mod:`skdeeprnn._persistence` for the list of keys.

    .. versionadded:: 0.1

    Parameters
    ----------
    estimator : DeepRNNRegressor or DeepRNNClassifier
        A fitted estimator. A ``random_state`` given as a ``RandomState``
        instance is saved as None (the generator's current state is saved
        for further training).
    file : str, os.PathLike or file-like object
        Where to write. A path is written exactly as given (no ``.npz``
        extension is appended, unlike :func:`numpy.savez`); a file object must
        be open for binary writing.

    Raises
    ------
    TypeError
        If ``estimator`` is not a DeepRNNRegressor or DeepRNNClassifier, or
        holds a parameter or labels that cannot be stored without pickling.
    sklearn.exceptions.NotFittedError
        If the estimator is not fitted.

    See Also
    --------
    load_npz : Load the estimator back.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from skdeeprnn import DeepRNNClassifier, SequenceStandardScaler
    >>> from skdeeprnn import load_npz, save_npz
    >>> raw = np.random.RandomState(0).normal(10.0, 3.0, size=(20, 5, 2))
    >>> X = SequenceStandardScaler().fit_transform(raw)
    >>> y = np.where(X[:, 0, 0] > 0, "up", "down")
    >>> clf = DeepRNNClassifier(hidden_size=3, max_iter=2, random_state=0).fit(X, y)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "model.npz")
    ...     save_npz(clf, path)
    ...     keys = sorted(np.load(path, allow_pickle=False).files)
    >>> [key for key in keys if key.startswith("weights/")]
    ['weights/bias_hh_l0', 'weights/bias_ih_l0', 'weights/head.bias', \
'weights/head.weight', 'weights/layer_norm_l0.bias', 'weights/layer_norm_l0.weight', \
'weights/weight_hh_l0', 'weights/weight_ih_l0']
    """
    if type(estimator) not in _CLASSES.values():
        raise TypeError(
            f"save_npz saves a DeepRNNRegressor or DeepRNNClassifier, got "
            f"{type(estimator).__name__}."
        )
    check_is_fitted(estimator, "network_")
    est = estimator
    params = {name: (_class_weight_json(est, value) if name == "class_weight" else
                     _json_param(name, value))
              for name, value in est.get_params(deep=False).items()}
    arrays = {
        "format": np.asarray(FORMAT, dtype=np.int64),
        "skdeeprnn_version": np.asarray(__version__),
        "estimator": np.asarray(type(est).__name__),
        "params": np.asarray(json.dumps(params, sort_keys=True)),
        "n_features_in_": np.asarray(est.n_features_in_, dtype=np.int64),
        "n_features_per_step_": np.asarray(est.n_features_per_step_, dtype=np.int64),
        "n_iter_": np.asarray(est.n_iter_, dtype=np.int64),
        "t_": np.asarray(est.t_, dtype=np.int64),
        "loss_curve_": np.asarray(est.loss_curve_, dtype=np.float64).reshape(-1),
        "best_loss_": np.asarray(est.best_loss_, dtype=np.float64),
        "no_improvement_count": np.asarray(est._no_improvement_count, dtype=np.int64),
        "auto_alpha": np.asarray(getattr(est, "_auto_alpha", np.nan), dtype=np.float64),
        "fitted_with_missing_ends": np.asarray(
            int(getattr(est, "_fitted_with_missing_ends", False)), dtype=np.int64),
    }
    if hasattr(est, "feature_names_in_"):
        arrays["feature_names_in_"] = np.asarray(est.feature_names_in_, dtype=str)
    if hasattr(est, "loss_"):
        arrays["loss_"] = np.asarray(est.loss_, dtype=np.float64)
    if est.validation_scores_ is not None:
        arrays["validation_scores_"] = np.asarray(est.validation_scores_,
                                                  dtype=np.float64).reshape(-1)
    if est.best_validation_score_ is not None:
        arrays["best_validation_score_"] = np.asarray(est.best_validation_score_,
                                                      dtype=np.float64)
    for name, value in est.weights_.items():
        arrays[f"weights/{name}"] = np.array(value)
    if getattr(est, "_rng", None) is not None:
        arrays.update(_rng_arrays(est._rng))
    arrays.update(_optimizer_arrays(est._optimizer))
    if isinstance(est, DeepRNNRegressor):
        arrays["y_mean"] = np.asarray(est._y_mean, dtype=np.float64)
        arrays["y_scale"] = np.asarray(est._y_scale, dtype=np.float64)
        arrays["y_ndim"] = np.asarray(est._y_ndim, dtype=np.int64)
        arrays["linear_fallback_"] = np.asarray(int(est.linear_fallback_), dtype=np.int64)
        z = est.linear_fallback_z_
        arrays["linear_fallback_z_"] = np.asarray(np.nan if z is None else z, dtype=np.float64)
    else:
        classes, dtype = _portable_labels(est.classes_)
        arrays["classes_"] = classes
        arrays["classes_dtype"] = np.asarray(dtype)
        arrays["label_binarizer/y_type_"] = np.asarray(est._label_binarizer.y_type_)
    if hasattr(file, "write"):
        np.savez_compressed(file, **arrays)
    else:
        with open(file, "wb") as fh:
            np.savez_compressed(fh, **arrays)


# ------------------------------------------------------------------ loading
class _Reader:
    """Typed, shape-checked access to the arrays of one file."""

    def __init__(self, arrays, source):
        self.arrays = arrays
        self.source = source
        self.used = set()

    def error(self, message):
        return ValueError(f"{self.source}: {message}")

    def has(self, key):
        return key in self.arrays

    def array(self, key, kinds, ndim=None, shape=None):
        if key not in self.arrays:
            raise self.error(f"the array {key!r} is missing; the file is incomplete.")
        self.used.add(key)
        value = self.arrays[key]
        if value.dtype.kind not in kinds:
            raise self.error(f"{key!r} has dtype {value.dtype}; expected kind {kinds!r}.")
        if ndim is not None and value.ndim != ndim:
            raise self.error(f"{key!r} has shape {value.shape}; expected {ndim} dimension(s).")
        if shape is not None and value.shape != tuple(shape):
            raise self.error(f"{key!r} has shape {value.shape}; expected {tuple(shape)}.")
        return value

    def str(self, key, choices=None):
        value = str(self.array(key, "U", ndim=0)[()])
        if choices is not None and value not in choices:
            raise self.error(f"{key!r} is {value!r}; expected one of {sorted(choices)}.")
        return value

    def int(self, key, minimum=0):
        value = int(self.array(key, "iub", ndim=0)[()])
        if value < minimum:
            raise self.error(f"{key!r} is {value}; expected an integer >= {minimum}.")
        return value

    def float(self, key):
        return float(self.array(key, "fiu", ndim=0)[()])

    def floats(self, key, shape=None):
        return self.array(key, "fiu", ndim=1, shape=shape).astype(np.float64)


def _read_arrays(file):
    """Return a reader of every array of the archive, read with ``allow_pickle=False``."""
    source = str(getattr(file, "name", "the file")) if hasattr(file, "read") else os.fspath(file)
    try:
        data = np.load(file, allow_pickle=False)
    except ValueError as exc:
        raise ValueError(
            f"{source}: not a .npz file written by save_npz ({exc}). load_npz never "
            "unpickles, so pickled files are rejected."
        ) from exc
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise ValueError(f"{source}: holds a single array, not a .npz archive of save_npz.")
    arrays = {}
    with data:
        for key in data.files:
            try:
                value = data[key]
            except ValueError as exc:
                raise ValueError(
                    f"{source}: the array {key!r} holds pickled Python objects (an object "
                    "array); load_npz reads numbers and strings only and never unpickles."
                ) from exc
            if not isinstance(value, np.ndarray):
                raise ValueError(f"{source}: the member {key!r} is not a .npy array.")
            arrays[key] = value
    return _Reader(arrays, source)


def _params_from_json(reader, Estimator):
    text = reader.str("params")
    try:
        params = json.loads(text)
    except ValueError as exc:
        raise reader.error(f"'params' is not valid JSON ({exc}).") from exc
    if not isinstance(params, dict):
        raise reader.error(f"'params' must be a JSON object, got {type(params).__name__}.")
    known = set(Estimator().get_params(deep=False))
    unknown = sorted(set(params) - known)
    if unknown:
        raise reader.error(f"'params' has unknown parameter(s) {unknown} for {Estimator.__name__}.")
    for name, value in params.items():
        if isinstance(value, list):
            params[name] = tuple(value)
        elif isinstance(value, dict) and not (name == "class_weight"
                                              and set(value) == {"by_class_index"}):
            raise reader.error(f"parameter {name!r} is a JSON object; expected a plain value.")
    return params


def _class_weight_dict(reader, by_class_index, classes):
    """Rebuild the ``class_weight`` dict from ``[class index, weight]`` pairs and ``classes``."""
    labels = classes.tolist()
    try:
        return {labels[int(i)]: float(w) for i, w in by_class_index}
    except (TypeError, ValueError, IndexError) as exc:
        raise reader.error(f"'params' class_weight is not [class index, weight] pairs "
                           f"({exc}).") from exc


def _labels(reader):
    classes = reader.array("classes_", "biufUS", ndim=1)
    dtype_str = reader.str("classes_dtype")
    try:
        dtype = np.dtype(dtype_str)
    except TypeError as exc:
        raise reader.error(f"'classes_dtype' {dtype_str!r} is not a NumPy dtype.") from exc
    if dtype.kind not in _LABEL_KINDS:
        raise reader.error(f"'classes_dtype' {dtype_str!r} is not a label dtype.")
    if dtype.kind == "O":
        restored = np.empty(len(classes), dtype=object)
        restored[:] = classes.tolist()
        return restored
    return classes.astype(dtype)


def _label_binarizer(reader, classes, n_outputs):
    y_type = reader.str("label_binarizer/y_type_", _Y_TYPES)
    expected = {"binary": 1, "multiclass": len(classes), "multilabel-indicator": len(classes)}
    if y_type == "binary" and len(classes) != 2:
        raise reader.error(f"a binary classifier needs 2 classes, the file has {len(classes)}.")
    if len(classes) < 2 or expected[y_type] != n_outputs:
        raise reader.error(
            f"{len(classes)} classes ({y_type}) do not match the head's {n_outputs} output(s)."
        )
    if len(np.unique(classes)) != len(classes):
        raise reader.error("'classes_' has duplicate labels.")
    lb = LabelBinarizer(neg_label=0, pos_label=1, sparse_output=False)
    lb.classes_ = classes
    lb.y_type_ = y_type
    lb.sparse_input_ = False
    return lb


def _weights(reader, network, dtype):
    layout = network.layout
    present = {key[len("weights/"):] for key in reader.arrays if key.startswith("weights/")}
    missing = [name for name in layout.names if name not in present]
    unexpected = sorted(present - set(layout.names))
    if missing or unexpected:
        raise reader.error(
            f"the weights do not match the architecture {network.arch}: missing "
            f"{missing}, unexpected {unexpected}."
        )
    tensors = {
        name: reader.array(f"weights/{name}", "f", shape=layout.shapes[name])
        for name in layout.names
    }
    flat = layout.pack(tensors, dtype)
    if not np.all(np.isfinite(flat)):
        raise reader.error("the weights contain NaN or infinity.")
    return flat


def _rng(reader):
    keys = reader.array("rng/keys", "u", shape=(624,)).astype(np.uint32)
    rng = np.random.RandomState()
    pos = reader.int("rng/pos")
    if pos > 624:
        raise reader.error(f"'rng/pos' is {pos}; expected at most 624.")
    rng.set_state(("MT19937", keys, pos, reader.int("rng/has_gauss"),
                   reader.float("rng/cached_gaussian")))
    return rng


def _optimizer(reader, est):
    present = sorted(key for key in reader.arrays if key.startswith("optimizer/"))
    if not present:
        return None
    if est.solver == "lbfgs":
        raise reader.error(f"solver='lbfgs' keeps no optimizer state, but the file has {present}.")
    optimizer = est._make_optimizer()
    fields = _OPTIMIZER_FIELDS[type(optimizer)]
    if present != sorted(f"optimizer/{field}" for field in fields):
        raise reader.error(
            f"the optimizer state {present} is not that of solver={est.solver!r} "
            f"({sorted(fields)})."
        )
    for field, kind in fields.items():
        key = f"optimizer/{field}"
        if kind == "params":
            value = reader.array(key, "f", shape=est._theta.shape).astype(est._theta.dtype)
        elif kind == "float":
            value = reader.float(key)
        elif kind == "bool":
            value = bool(reader.int(key))
        else:
            value = reader.int(key)
        setattr(optimizer, field, value)
    return optimizer


def load_npz(file):
    """Load an estimator saved by :func:`save_npz`, without unpickling anything.

    The file is read with ``numpy.load(file, allow_pickle=False)``, so a file
    from an untrusted source cannot run code: object arrays are refused. The
    estimator class must be one of the two of this package (the name in the
    file is checked against them, never imported), its parameters are set
    from the stored JSON and validated, the network is rebuilt from them and
    every array's shape is checked against the architecture.

    .. versionadded:: 0.1

    Parameters
    ----------
    file : str, os.PathLike or file-like object
        The file written by :func:`save_npz`.

    Returns
    -------
    estimator : DeepRNNRegressor or DeepRNNClassifier
        The fitted estimator: it predicts exactly as the saved one and
        continues training (``partial_fit``, ``warm_start``) from the saved
        weights, optimizer state and random generator state.

    Warns
    -----
    UserWarning
        If the file was written by another version of skdeeprnn.

    Raises
    ------
    ValueError
        If the file is not a ``.npz`` archive written by :func:`save_npz`, holds
        an object (pickled) array, names an unknown estimator class or
        parameter, or an array is missing or has the wrong dtype or shape.

    See Also
    --------
    save_npz : Write the file.

    Examples
    --------
    >>> import io
    >>> import numpy as np
    >>> from skdeeprnn import DeepRNNRegressor, SequenceStandardScaler
    >>> from skdeeprnn import load_npz, save_npz
    >>> raw = np.random.RandomState(0).normal(10.0, 3.0, size=(20, 5, 2))
    >>> X = SequenceStandardScaler().fit_transform(raw)
    >>> y = X[:, :, 0].sum(axis=1)
    >>> reg = DeepRNNRegressor(hidden_size=3, max_iter=2, random_state=0).fit(X, y)
    >>> buffer = io.BytesIO()
    >>> save_npz(reg, buffer)
    >>> _ = buffer.seek(0)
    >>> twin = load_npz(buffer)
    >>> twin
    DeepRNNRegressor(hidden_size=3, max_iter=2, random_state=0)
    >>> bool(np.array_equal(twin.predict(X), reg.predict(X)))
    True
    """
    reader = _read_arrays(file)
    fmt = reader.int("format")
    if fmt != FORMAT:
        raise reader.error(
            f"file format {fmt} is not supported; this skdeeprnn {__version__} reads format "
            f"{FORMAT}."
        )
    version = reader.str("skdeeprnn_version")
    name = reader.str("estimator", _CLASSES)
    Estimator = _CLASSES[name]
    params = _params_from_json(reader, Estimator)
    if Estimator is DeepRNNRegressor and "autoregressive" not in params:
        # written before the autoregressive term existed: the model has none, whatever
        # today's default
        params["autoregressive"] = 0
    class_weight = params.pop("class_weight", None)
    if isinstance(class_weight, dict):  # set once the labels are read
        params["class_weight"] = None
    elif "class_weight" in Estimator().get_params():
        params["class_weight"] = class_weight
    est = Estimator().set_params(**params)
    try:
        est._validate_params()
        est._check_params()
    except ValueError as exc:
        raise reader.error(f"invalid parameters: {exc}") from exc

    n_timesteps = reader.int("n_features_in_", minimum=1)
    n_features = reader.int("n_features_per_step_", minimum=1)
    n_outputs = reader.array("weights/head.weight", "f", ndim=2).shape[0]
    if n_outputs < 1:
        raise reader.error("'weights/head.weight' has 0 outputs.")
    # the sizes first: the regressor's autoregressive='auto' reads them, and has no term
    # for a model fitted on sequences with missing steps, whose file holds no term
    est.n_features_in_ = n_timesteps
    est.n_features_per_step_ = n_features
    if reader.has("auto_alpha"):
        auto_alpha = reader.float("auto_alpha")
        if not np.isnan(auto_alpha):
            est._auto_alpha = auto_alpha
    if reader.has("fitted_with_missing_ends"):
        est._fitted_with_missing_ends = bool(reader.int("fitted_with_missing_ends"))
    else:  # an older file: the term's weight tells
        est._fitted_with_missing_ends = "weights/autoregressive.weight" not in reader.arrays
    try:
        arch = est._architecture(n_features, n_outputs)
    except ValueError as exc:
        raise reader.error(f"invalid parameters: {exc}") from exc
    # _initialize sets every fitted attribute a first fit sets; its random draws are
    # replaced below, and come from a throw-away generator, not the user's
    dtype = imported_dtype(est.dtype, reader.array("weights/head.weight", "f", ndim=2).dtype)
    est._initialize(arch, np.random.RandomState(0), dtype)
    est.network_ = StackedRNN(arch)
    est._theta = _weights(reader, est.network_, dtype)
    if reader.has("feature_names_in_"):
        names = reader.array("feature_names_in_", "U", shape=(n_timesteps,))
        est.feature_names_in_ = np.asarray(names.tolist(), dtype=object)

    est.n_iter_ = reader.int("n_iter_")
    est.t_ = reader.int("t_")
    est.loss_curve_ = reader.floats("loss_curve_").tolist()
    est.best_loss_ = reader.float("best_loss_")
    if reader.has("loss_"):
        est.loss_ = reader.float("loss_")
    est._no_improvement_count = reader.int("no_improvement_count")
    est.validation_scores_ = (reader.floats("validation_scores_").tolist()
                              if reader.has("validation_scores_") else None)
    est.best_validation_score_ = (reader.float("best_validation_score_")
                                  if reader.has("best_validation_score_") else None)

    k = arch.output_size
    if isinstance(est, DeepRNNRegressor):
        est._y_mean = reader.floats("y_mean", shape=(k,))
        est._y_scale = reader.floats("y_scale", shape=(k,))
        est._y_ndim = reader.int("y_ndim")
        single = 2 if est.return_sequences else 1
        if est._y_ndim not in (single, single + 1) or (est._y_ndim == single and k != 1):
            raise reader.error(
                f"'y_ndim' is {est._y_ndim}, which does not fit {k} output(s) with "
                f"return_sequences={est.return_sequences}."
            )
        if not (np.all(np.isfinite(est._y_mean)) and np.all(est._y_scale > 0)):
            raise reader.error("the target scaling 'y_mean' / 'y_scale' is not finite/positive.")
        if reader.has("linear_fallback_"):
            est.linear_fallback_ = bool(reader.int("linear_fallback_"))
        if reader.has("linear_fallback_z_"):
            z = reader.float("linear_fallback_z_")
            est.linear_fallback_z_ = None if np.isnan(z) else z
    else:
        est._label_binarizer = _label_binarizer(reader, _labels(reader), k)
        est.classes_ = est._label_binarizer.classes_
        if isinstance(class_weight, dict):
            est.class_weight = _class_weight_dict(reader, class_weight["by_class_index"],
                                                  est.classes_)

    est._rng = _rng(reader) if reader.has("rng/keys") else check_random_state(est.random_state)
    est._optimizer = _optimizer(reader, est)

    unused = sorted(set(reader.arrays) - reader.used)
    if unused:
        raise reader.error(f"unexpected array(s) {unused}; the file was not written by save_npz.")
    if version != __version__:
        warnings.warn(
            f"Loading a {name} saved with skdeeprnn {version} under skdeeprnn {__version__}; "
            "check its predictions, or refit it.",
            UserWarning,
            stacklevel=2,
        )
    return est
