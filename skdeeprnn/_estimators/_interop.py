"""Export a fitted estimator to a PyTorch ``state_dict`` and initialise one from it.

The core's cells, gate order and parameter names are PyTorch's (DESIGN.md §3),
so a model moves between the two frameworks by renaming: the recurrent tensors
become ``rnn.<name>`` (the keys of ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU``) and the
dense output layer ``head.weight`` / ``head.bias`` (an ``nn.Linear``). Loaded
into ``nn.ModuleDict({"rnn": rnn, "head": head})`` these are exactly the keys of
its ``state_dict()``. A one-layer model with ``layer_norm=True`` (the default)
adds ``norm.weight`` / ``norm.bias``, an ``nn.LayerNorm`` over the output's
features applied to ``output`` at every step, between ``rnn`` and ``head``
(``nn.ModuleDict({"rnn": rnn, "norm": norm, "head": head})``). A deeper stack
normalises between its layers, which one torch recurrent module cannot do.

What the head reads, in PyTorch terms (``output, h_n = rnn(x)``; for LSTM
``h_n`` is the first element of the state tuple; with a ``norm``, ``output``
is replaced by ``norm(output)`` and the head reads that, never ``h_n``:
``pooling='last'`` then reads its last step, and a bidirectional network's
backward half at the first step):

- many-to-one with ``pooling='last'``: ``h_n[-1]``, or for a bidirectional
  network ``torch.cat([h_n[-2], h_n[-1]], dim=1)`` (the forward direction's
  last step and the backward direction's first step of the top layer);
- many-to-one with ``pooling='mean'`` or ``'max'``: ``output.mean(dim=1)`` or
  ``output.amax(dim=1)`` (over the steps of the batch-first output);
- many-to-many (``return_sequences=True``): ``output`` at every step.

A model of several layers with residual connections or layer norm, with
unequal hidden sizes, or with an autoregressive term (the regressor's
``autoregressive``, a linear map of the last ``K`` steps' inputs added to the
head's scores) does not fit that layout: ``to_torch()`` builds a module for it
(``skdeeprnn._export._torch``), whose ``state_dict`` keys
(``layers.<k>.rnn.*``, ``layers.<k>.norm.*``, ``layers.<k>.residual.weight``,
``head.*``, ``autoregressive.weight``, the regressor's ``target_mean`` and
``target_scale``) :func:`from_torch_state_dict` reads as well. It also reads
``autoregressive.weight`` beside the ``rnn.*`` keys, for a module of one's own
that adds the term.

Nothing here imports torch: the dictionaries hold NumPy arrays (convert with
``torch.from_numpy``), and the import accepts NumPy arrays or tensors.
"""

from collections import OrderedDict
from numbers import Integral

import numpy as np
from sklearn.base import is_classifier, is_regressor
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ..core import StackedRNN
from ._dtypes import imported_dtype

_MODES = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}


def _check_estimator(estimator):
    if not (hasattr(estimator, "_architecture")
            and (is_regressor(estimator) or is_classifier(estimator))):
        raise ValueError(
            f"estimator must be a DeepRNNRegressor or DeepRNNClassifier, got "
            f"{type(estimator).__name__}."
        )


# what to do instead when the torch.nn.RNN/LSTM/GRU layout cannot hold a model
_USE_TO_TORCH = (
    "Use the estimator's to_torch() instead: its module holds every configuration the "
    "estimators can fit."
)
_LOAD_MODULE_STATE = (
    "Load the state_dict of the module the estimator's to_torch() builds instead (keys "
    "'layers.<k>.rnn.*', 'layers.<k>.norm.*', 'layers.<k>.residual.weight', 'head.*', "
    "'autoregressive.weight'), which holds every configuration."
)


def _check_equal_sizes(hidden_sizes, remedy=_USE_TO_TORCH):
    if len(set(hidden_sizes)) != 1:
        raise ValueError(
            f"PyTorch's nn.RNN/nn.LSTM/nn.GRU give every layer the same hidden size, but this "
            f"model's layers have hidden sizes {tuple(hidden_sizes)}; such a model cannot be "
            f"held by one torch recurrent module. {remedy}"
        )


def _recurrent_names(arch):
    """Recurrent tensor names in the order of PyTorch's ``state_dict``."""
    names = []
    for k in range(arch.num_layers):
        for sfx in arch.directions:
            names += [f"weight_ih_l{k}{sfx}", f"weight_hh_l{k}{sfx}"]
            if arch.bias:
                names += [f"bias_ih_l{k}{sfx}", f"bias_hh_l{k}{sfx}"]
    return names


def _check_torch_can_hold(arch, remedy=_USE_TO_TORCH):
    _check_equal_sizes(arch.hidden_sizes, remedy)
    # one layer: residual adds nothing, and layer_norm is an nn.LayerNorm after the module
    if arch.num_layers > 1 and (arch.residual or arch.layer_norm):
        raise ValueError(
            "PyTorch's nn.RNN/nn.LSTM/nn.GRU have no residual connections or layer "
            f"normalisation between layers (residual={arch.residual}, layer_norm="
            f"{arch.layer_norm}); such a model of {arch.num_layers} layers cannot be held by "
            f"one torch recurrent module. {remedy}"
        )


def _check_no_autoregressive_term(arch):
    """Refuse the autoregressive term, which a recurrent module and a head cannot hold."""
    if arch.autoregressive:
        raise ValueError(
            f"this model has an autoregressive term (autoregressive.weight of shape "
            f"{(arch.output_size, arch.autoregressive * arch.input_size)}: the inputs of the "
            f"last {arch.autoregressive} steps, added linearly to the head's scores), which "
            f"nn.RNN/nn.LSTM/nn.GRU with an nn.Linear head cannot hold. {_USE_TO_TORCH} Or fit "
            "the regressor with autoregressive=0 for a model without the term."
        )


def _autoregressive_keys(arch):
    """``state_dict`` key of the autoregressive term (the same in both layouts), if any."""
    if not arch.autoregressive:
        return {}
    return {"autoregressive.weight": "autoregressive.weight"}


def _norm_keys(arch):
    """``state_dict`` keys of the ``nn.LayerNorm`` after the module, with our names."""
    if not arch.layer_norm:
        return {}
    return {"norm.weight": "layer_norm_l0.weight", "norm.bias": "layer_norm_l0.bias"}


def _module_dict_keys(arch):
    """``nn.ModuleDict`` of ``rnn``, ``norm``, ``head``: keys → parameter names, in order."""
    keys = OrderedDict((f"rnn.{name}", name) for name in _recurrent_names(arch))
    keys.update(_norm_keys(arch))
    keys["head.weight"] = "head.weight"
    if arch.bias:
        keys["head.bias"] = "head.bias"
    keys.update(_autoregressive_keys(arch))
    return keys


# the regressor module's target scaling: prediction = head(...) * target_scale + target_mean
_TARGET_BUFFERS = ("target_mean", "target_scale")


def _module_keys(arch):
    """``to_torch()`` module keys → parameter names, in ``state_dict`` order (no buffers).

    Layer ``k`` is ``layers.{k}``: a one-layer torch recurrent module ``rnn``
    (so its tensors end in ``_l0``), the projection ``residual`` of a skip
    connection that changes the width, and the layer norm ``norm``.
    """
    keys = OrderedDict()
    for k in range(arch.num_layers):
        for sfx in arch.directions:
            for kind in ("weight_ih", "weight_hh") + (("bias_ih", "bias_hh") if arch.bias else ()):
                keys[f"layers.{k}.rnn.{kind}_l0{sfx}"] = f"{kind}_l{k}{sfx}"
        if arch.has_residual_projection(k):
            keys[f"layers.{k}.residual.weight"] = f"residual_l{k}.weight"
        if arch.layer_norm:
            keys[f"layers.{k}.norm.weight"] = f"layer_norm_l{k}.weight"
            keys[f"layers.{k}.norm.bias"] = f"layer_norm_l{k}.bias"
    keys["head.weight"] = "head.weight"
    if arch.bias:
        keys["head.bias"] = "head.bias"
    keys.update(_autoregressive_keys(arch))
    return keys


def _is_module_state(tensors):
    """Whether a ``state_dict`` comes from a ``to_torch()`` module (else: ``rnn.*`` keys)."""
    return any(key.startswith("layers.") for key in tensors)


class _FittedSizes:
    """Give an estimator the fitted sizes ``_architecture`` reads, for a ``with`` block only.

    The regressor's ``autoregressive='auto'`` needs ``n_features_in_`` and
    ``n_features_per_step_`` to size its term. On leaving the block the
    estimator gets its own attributes back (or none), so a refused import
    changes nothing.
    """

    _NAMES = ("n_features_in_", "n_features_per_step_", "_fitted_with_missing_ends")

    def __init__(self, estimator, n_timesteps, n_features_per_step, with_term=True):
        self.estimator = estimator
        # 'auto' has no term for a model fitted on sequences with missing steps: an
        # imported model has one when the dictionary holds its weight
        self.values = (n_timesteps, n_features_per_step, not with_term)

    def __enter__(self):
        self.saved = {name: self.estimator.__dict__[name] for name in self._NAMES
                      if name in self.estimator.__dict__}
        for name, value in zip(self._NAMES, self.values, strict=True):
            setattr(self.estimator, name, value)
        return self.estimator

    def __exit__(self, *exc_info):
        for name in self._NAMES:
            if name in self.saved:
                setattr(self.estimator, name, self.saved[name])
            else:
                delattr(self.estimator, name)
        return False


def _architecture(estimator, n_features_per_step, n_outputs, n_timesteps, with_term=True):
    """Return the estimator's architecture for sequences of ``n_timesteps`` steps.

    ``with_term``: whether ``autoregressive='auto'`` gives the regressor its term.
    """
    with _FittedSizes(estimator, n_timesteps, n_features_per_step, with_term):
        return estimator._architecture(n_features_per_step, n_outputs)


def _kwargs_from_arch(arch):
    _check_torch_can_hold(arch)
    kwargs = dict(
        mode=_MODES[arch.cell],
        input_size=arch.input_size,
        hidden_size=arch.hidden_sizes[0],
        num_layers=arch.num_layers,
        bias=arch.bias,
        batch_first=True,
        bidirectional=arch.bidirectional,
    )
    if arch.cell == "rnn":
        kwargs["nonlinearity"] = arch.nonlinearity
    kwargs["dropout"] = float(arch.dropout)
    return kwargs


def torch_modules_kwargs(estimator, input_size=None):
    """Return the constructor arguments of the PyTorch recurrent module matching an estimator.

    Build the module with ``kwargs = torch_modules_kwargs(est)`` and
    ``rnn = getattr(torch.nn, kwargs.pop("mode"))(**kwargs)``; the head is
    ``torch.nn.Linear(hidden_size * (2 if bidirectional else 1), n_outputs,
    bias=bias)``. Together as ``torch.nn.ModuleDict({"rnn": rnn, "head":
    head})`` they load :func:`to_torch_state_dict`'s output with
    ``load_state_dict(..., strict=True)``. A model with ``layer_norm=True``
    needs a third module, ``"norm": torch.nn.LayerNorm(hidden_size * (2 if
    bidirectional else 1))``, applied to the recurrent module's output before
    the head reads it.

    Parameters
    ----------
    estimator : DeepRNNRegressor or DeepRNNClassifier
        A fitted estimator (its fitted architecture is used), or an unfitted
        one (its parameters are used and ``input_size`` is required).
    input_size : int, default=None
        Features per time step; only needed for an unfitted estimator.

    Returns
    -------
    kwargs : dict
        ``mode`` (``'RNN'``, ``'LSTM'`` or ``'GRU'``: the ``torch.nn`` class
        name), ``input_size``, ``hidden_size``, ``num_layers``, ``bias``,
        ``batch_first=True`` (the estimators' ``(n_samples, n_timesteps,
        n_features)`` layout), ``bidirectional``, ``nonlinearity`` (``'RNN'``
        only) and ``dropout``.

    Raises
    ------
    ValueError
        If the layers have unequal hidden sizes (PyTorch's modules cannot hold
        them), or the estimator is unfitted and ``input_size`` is not given.
    """
    _check_estimator(estimator)
    if hasattr(estimator, "network_"):
        arch = estimator.network_.arch
        if input_size is not None and input_size != arch.input_size:
            raise ValueError(
                f"input_size={input_size} but the estimator was fitted with "
                f"{arch.input_size} features per time step."
            )
        return _kwargs_from_arch(arch)
    if input_size is None:
        raise ValueError(
            "the estimator is not fitted: pass input_size (the number of features per time "
            "step) to get the torch module's arguments."
        )
    # the recurrent module does not depend on the autoregressive term, which is sized by the
    # sequences' length: any length that admits the term will do
    steps = getattr(estimator, "autoregressive", 0)
    n_timesteps = int(steps) if isinstance(steps, Integral) and steps > 1 else 1
    return _kwargs_from_arch(_architecture(estimator, int(input_size), 1, n_timesteps))


def to_torch_state_dict(estimator):
    """Export a fitted estimator's weights as a PyTorch ``state_dict`` of NumPy arrays.

    The keys are ``rnn.<name>`` with ``<name>`` the keys of the equivalent
    ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` (see :func:`torch_modules_kwargs`)
    in the same order, then, for a model with ``layer_norm=True`` (one layer
    only), ``norm.weight`` and ``norm.bias`` of an ``nn.LayerNorm`` applied to
    the module's output at every step, then ``head.weight`` and ``head.bias``
    (absent when the model has ``bias=False``) of an ``nn.Linear``. The
    regressor's internal target scaling is folded into the head, so the torch
    modules output :meth:`DeepRNNRegressor.predict` directly; for the
    classifier the head gives the pre-activation scores: softmax over the classes
    (``classes_`` order) for multiclass, one logit of ``classes_[1]`` (its
    sigmoid is the probability) for binary, one logit per label for
    multilabel.

    Parameters
    ----------
    estimator : DeepRNNRegressor or DeepRNNClassifier
        A fitted estimator.

    Returns
    -------
    state_dict : collections.OrderedDict of str to ndarray
        Copies of the weights in the model's dtype; convert with
        ``{k: torch.from_numpy(v) for k, v in state_dict.items()}``.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If the estimator is not fitted.
    ValueError
        If the layers have unequal hidden sizes, a model of several layers
        has ``residual`` or ``layer_norm``, a regressor has an
        autoregressive term (``autoregressive.weight``: ``to_torch()``
        holds it), or a regressor has ``bias=False`` but a non-zero target
        mean, which an ``nn.Linear(bias=False)`` head cannot add.
    """
    _check_estimator(estimator)
    check_is_fitted(estimator, "network_")
    arch = estimator.network_.arch
    _check_torch_can_hold(arch)
    _check_no_autoregressive_term(arch)
    P = estimator.network_.layout.views(estimator._theta)
    state = OrderedDict((f"rnn.{name}", P[name].copy()) for name in _recurrent_names(arch))
    for key, name in _norm_keys(arch).items():
        state[key] = P[name].copy()
    weight = P["head.weight"].copy()
    bias = P["head.bias"].copy() if arch.bias else None
    if is_regressor(estimator):
        # prediction = scores * scale + mean, computed as the estimator does
        dtype = weight.dtype
        scale = estimator._y_scale.astype(dtype)
        mean = estimator._y_mean.astype(dtype)
        weight *= scale[:, np.newaxis]
        if bias is not None:
            bias *= scale
            bias += mean
        elif np.any(np.abs(mean) > np.finfo(dtype).eps * scale):
            raise ValueError(
                "this regressor has bias=False, so its torch head is nn.Linear(bias=False), "
                "which cannot hold the target mean the model adds to its predictions "
                f"(mean of y = {estimator._y_mean.tolist()}). Fit with bias=True, or center "
                "y before fitting so that its mean is 0."
            )
    state["head.weight"] = weight
    if bias is not None:
        state["head.bias"] = bias
    return state


def _as_array(value):
    """NumPy copy of an array or a torch tensor (duck-typed, without importing torch)."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.array(value)


def _check_positive_int(value, name):
    if not isinstance(value, Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)


def _classifier_head(weight, bias, classes, multilabel):
    """Return ``(label_binarizer, weight, bias)`` with the head in the estimator's convention."""
    k = weight.shape[0]
    if multilabel:
        if classes is not None:
            raise ValueError(
                "with multilabel=True the labels are the head's outputs 0 .. n_outputs-1; "
                "leave classes=None."
            )
        if k < 2:
            raise ValueError(f"multilabel=True needs at least 2 outputs, the head has {k}.")
        lb = LabelBinarizer().fit(np.array([[0] * k, [1] * k]))
        return lb, weight, bias
    if classes is None:
        raise ValueError(
            "a DeepRNNClassifier needs classes: the label of each output of the head "
            "(or multilabel=True for one sigmoid output per label)."
        )
    classes = np.asarray(classes)
    if classes.ndim != 1 or len(np.unique(classes)) != len(classes) or len(classes) < 2:
        raise ValueError(
            f"classes must be a 1D sequence of at least 2 distinct labels, got {classes!r}."
        )
    n = len(classes)
    order = np.argsort(classes, kind="stable")  # the estimator keeps classes_ sorted
    if k == n:
        weight = weight[order]
        bias = None if bias is None else bias[order]
        if n == 2:
            # softmax over two scores = sigmoid of their difference
            weight = weight[1:] - weight[:1]
            bias = None if bias is None else bias[1:] - bias[:1]
    elif n == 2 and k == 1:
        if order[0] == 1:  # the logit belongs to classes[1], which sorts first
            weight = -weight
            bias = None if bias is None else -bias
    else:
        raise ValueError(
            f"got {n} classes but the head has {k} output(s): a multiclass head has one output "
            "per class, a binary one a single logit (of classes[1]) or two outputs."
        )
    lb = LabelBinarizer().fit(classes)
    return lb, weight, bias


def _autoregressive_hint(estimator, arch, tensors, missing, unexpected, n_features_per_step):
    """Return what to set when only the autoregressive term does not match, else ''."""
    key = "autoregressive.weight"
    if key in missing:
        setting = getattr(estimator, "autoregressive", 0)
        return (f" The estimator's autoregressive={setting!r} gives a term of the last "
                f"{arch.autoregressive} steps; to load a model without the term, set "
                "autoregressive=0.")
    if key in unexpected and tensors[key].ndim == 2:
        width = tensors[key].shape[1]
        steps = width // n_features_per_step if width % n_features_per_step == 0 else None
        what = (f"autoregressive={steps}" if steps else
                f"a term over a multiple of {n_features_per_step} inputs per output")
        return (f" The state_dict has an autoregressive term ({key} of shape "
                f"{tensors[key].shape}); load it into a DeepRNNRegressor with {what}.")
    return ""


def from_torch_state_dict(estimator, state_dict, n_features_per_step, n_timesteps, *,
                          classes=None, multilabel=False):
    """Initialise an estimator from a PyTorch ``state_dict``, ready to predict and train on.

    The estimator's own parameters (``num_layers``, ``hidden_size``, ``cell``,
    ``nonlinearity``, ``bias``, ``bidirectional``, ``residual``,
    ``layer_norm``, ``return_sequences``, ``dropout``, ``dtype``, ...)
    describe the architecture; the dictionary must hold exactly its tensors,
    in one of two layouts, told apart by their keys:

    - the ``state_dict()`` of the module the estimator's ``to_torch()``
      builds, which holds every architecture: ``layers.<k>.rnn.<torch name>``
      (a one-layer torch recurrent module per layer, so its names end in
      ``_l0``), ``layers.<k>.residual.weight`` where a skip connection
      changes the width, ``layers.<k>.norm.weight`` / ``.bias``,
      ``head.weight`` / ``head.bias``, ``autoregressive.weight`` for a
      regressor with an autoregressive term and, for the regressor, the
      float64 buffers ``target_mean`` and ``target_scale``, which become its
      target scaling: the estimator then predicts exactly as the model that
      was exported;
    - the keys :func:`to_torch_state_dict` produces (``rnn.<torch name>``,
      ``head.weight``, ``head.bias``: the keys of ``nn.ModuleDict({"rnn":
      rnn, "head": head}).state_dict()``; with ``layer_norm=True`` also
      ``norm.weight`` and ``norm.bias`` of an ``nn.LayerNorm`` between them),
      for the architectures one torch recurrent module holds, and
      ``autoregressive.weight`` for a regressor with an autoregressive term
      (an ``nn.Linear(K * n_features_per_step, n_outputs, bias=False)`` of
      the last ``K`` steps, flattened step by step and oldest first, added to
      the head's output). A regressor gets the identity target scaling (mean
      0, scale 1): the head's outputs are the predictions, and further
      training works in the units of ``y``.

    The regressor's ``autoregressive`` says whether the dictionary must hold
    ``autoregressive.weight`` and its width: an int that many steps;
    ``'auto'`` the term ``fit`` would give, ``min(n_timesteps, 1024)`` steps
    for one feature per step and none for several (none with
    ``return_sequences=True``), when the dictionary has
    ``autoregressive.weight``, else none (as for a model fitted on sequences
    that end early).

    The number of outputs is read from ``head.weight``. Afterwards
    ``predict`` equals the torch modules' output (see the module docstring
    for what the head reads), and ``partial_fit``, or ``fit`` with
    ``warm_start=True``, continues training from these weights with a fresh
    optimizer. A regressor whose ``y`` had one output gives predictions of
    shape ``(n_samples,)`` (``(n_samples, n_timesteps)`` with
    ``return_sequences``).

    Parameters
    ----------
    estimator : DeepRNNRegressor or DeepRNNClassifier
        The estimator to initialise, in place; any fitted state is replaced.
    state_dict : mapping of str to ndarray or torch.Tensor
        The weights.
    n_features_per_step : int
        Features per time step (checked against the first layer's
        ``weight_ih_l0``).
    n_timesteps : int
        Time steps of the sequences the estimator will accept
        (``n_features_in_``, as scikit-learn defines it).
    classes : array-like of shape (n_classes,), default=None
        Classifier only: the label of each output of the head, in the head's
        order (they are sorted into ``classes_`` and the head permuted to
        match). Two classes take a single logit (of ``classes[1]``) or two
        softmax outputs (turned into one logit).
    multilabel : bool, default=False
        Classifier only: every output of the head is an independent sigmoid
        label; ``classes_`` becomes ``0 .. n_outputs-1``.

    Returns
    -------
    estimator : DeepRNNRegressor or DeepRNNClassifier
        The same estimator, now fitted.

    Raises
    ------
    ValueError
        If keys are missing or unexpected (``autoregressive.weight`` included,
        see above), a shape does not match the estimator's architecture,
        ``autoregressive`` is more steps than ``n_timesteps``, the ``rnn.*``
        layout cannot hold it
        (unequal hidden sizes; residual or layer norm between layers), the
        target buffers are not finite or not positive scales, or a
        classifier's ``classes`` do not fit the head. The estimator is left
        unchanged.
    """
    _check_estimator(estimator)
    estimator._validate_params()
    estimator._check_params()
    n_features_per_step = _check_positive_int(n_features_per_step, "n_features_per_step")
    n_timesteps = _check_positive_int(n_timesteps, "n_timesteps")
    classifier = is_classifier(estimator)
    if not classifier and (classes is not None or multilabel):
        raise ValueError("classes and multilabel apply to a DeepRNNClassifier only.")

    tensors = {key: _as_array(value) for key, value in state_dict.items()}
    if "head.weight" not in tensors or tensors["head.weight"].ndim != 2:
        raise ValueError("state_dict has no 2D 'head.weight' (the nn.Linear output layer).")
    n_outputs = tensors["head.weight"].shape[0]
    if n_outputs < 1:
        raise ValueError("head.weight has 0 outputs.")
    with_term = "autoregressive.weight" in tensors
    arch = _architecture(estimator, n_features_per_step, n_outputs, n_timesteps, with_term)
    if _is_module_state(tensors):
        keys = _module_keys(arch)
        buffers = () if classifier else _TARGET_BUFFERS
    else:
        _check_torch_can_hold(arch, _LOAD_MODULE_STATE)
        keys = _module_dict_keys(arch)
        buffers = ()
    expected = list(keys) + list(buffers)
    missing = [key for key in expected if key not in tensors]
    unexpected = [key for key in tensors if key not in expected]
    if missing or unexpected:
        raise ValueError(
            f"state_dict does not match the estimator's architecture "
            f"({_MODES[arch.cell]}, num_layers={arch.num_layers}, hidden sizes "
            f"{arch.hidden_sizes}, bias={arch.bias}, bidirectional={arch.bidirectional}, "
            f"residual={arch.residual}, autoregressive={arch.autoregressive}, layer_norm="
            f"{arch.layer_norm}): missing keys {missing}, unexpected keys {unexpected}."
            + _autoregressive_hint(estimator, arch, tensors, missing, unexpected,
                                   n_features_per_step)
        )
    network = StackedRNN(arch)
    shapes = network.layout.shapes
    first = next(iter(keys))  # the first layer's weight_ih
    w_ih = tensors[first]
    if w_ih.ndim == 2 and w_ih.shape[1] != n_features_per_step:
        raise ValueError(
            f"n_features_per_step={n_features_per_step}, but {first} has shape "
            f"{w_ih.shape}: the torch module reads {w_ih.shape[1]} features per step."
        )
    for key, name in keys.items():
        if tensors[key].shape != shapes[name]:
            what = (f"autoregressive={estimator.autoregressive!r}: the last "
                    f"{arch.autoregressive} steps of {n_features_per_step} features"
                    if name == "autoregressive.weight" else
                    f"{arch.cell}, hidden sizes {arch.hidden_sizes}, bidirectional="
                    f"{arch.bidirectional}")
            raise ValueError(
                f"{key} has shape {tensors[key].shape}, but the estimator's architecture "
                f"({what}) needs {shapes[name]}."
            )
    for key in buffers:
        value = tensors[key]
        if value.shape != (n_outputs,) or not np.all(np.isfinite(value)):
            raise ValueError(
                f"{key} must hold {n_outputs} finite value(s), one per output of the head; "
                f"got {value!r}."
            )
    if buffers and not np.all(tensors["target_scale"] > 0):
        raise ValueError(
            f"target_scale must be positive (a standard deviation), got "
            f"{tensors['target_scale']!r}."
        )

    weight, bias = tensors["head.weight"], tensors.get("head.bias")
    if classifier:
        lb, weight, bias = _classifier_head(weight, bias, classes, multilabel)
        arch = _architecture(estimator, n_features_per_step, weight.shape[0], n_timesteps,
                             with_term)
        network = StackedRNN(arch)
    params = {name: tensors[key] for key, name in keys.items()}
    params["head.weight"] = weight
    if bias is not None:
        params["head.bias"] = bias
    dtype = imported_dtype(estimator.dtype, tensors["head.weight"].dtype)
    flat = network.layout.pack(params, dtype)
    if not np.all(np.isfinite(flat)):
        raise ValueError("state_dict contains NaN or infinite values.")

    # everything is checked: now set the fitted state, as a first fit does
    # (_initialize draws throw-away weights from its own generator, not the user's)
    estimator._initialize(arch, np.random.RandomState(0), dtype)
    estimator.network_ = network
    estimator._theta = flat
    estimator._rng = check_random_state(estimator.random_state)
    estimator.n_features_in_ = n_timesteps
    estimator.n_features_per_step_ = n_features_per_step
    estimator._fitted_with_missing_ends = not with_term
    for stale in ("feature_names_in_", "loss_"):
        if hasattr(estimator, stale):
            delattr(estimator, stale)
    if classifier:
        estimator._label_binarizer = lb
        estimator.classes_ = lb.classes_
    else:
        k = arch.output_size
        if buffers:  # the module's target scaling, exactly
            estimator._y_mean = tensors["target_mean"].astype(np.float64)
            estimator._y_scale = tensors["target_scale"].astype(np.float64)
        else:
            estimator._y_mean = np.zeros(k)
            estimator._y_scale = np.ones(k)
        estimator._y_ndim = (1 if k == 1 else 2) + int(arch.return_sequences)
    return estimator
