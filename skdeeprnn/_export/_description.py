"""One description of a fitted network, read by every exporter.

:func:`describe` turns a fitted :class:`~skdeeprnn.DeepRNNRegressor` or
:class:`~skdeeprnn.DeepRNNClassifier` into plain data: the layers in order
(cell, sizes, directions, their weights under PyTorch's layout, the skip
connection, the layer norm), what the head reads, the head, and how its scores
become the estimator's output. The PyTorch module builder and the ONNX graph
builder both read this, so neither looks inside the estimator and both follow
every configuration it can fit. Nothing here imports torch or onnx.

What a network described here computes, for ``x`` of shape ``(n, T, d)``:

1. ``observed[i, t]`` is False where every feature of step ``t`` of sequence
   ``i`` is NaN (a missing step); the input there is replaced by 0.
2. Each layer, in order, runs each of its directions over the steps (forward:
   ``0 … T-1``; reverse: ``T-1 … 0``) from a zero state, with PyTorch's cell
   formulas. At a missing step the state (and the LSTM's cell) is left
   unchanged, and the output at that step is the unchanged state. The
   directions' outputs are concatenated along the features (forward first).
3. ``residual``: ``'identity'`` adds the layer's input to its output,
   ``'projection'`` adds ``input @ residual_weight.T``.
4. ``layer_norm``: normalise the output over its features at every step,
   ``(out - mean) / sqrt(var + eps) * gain + shift`` with the biased variance,
   as ``torch.nn.LayerNorm``.
5. The head reads the top layer's output: ``pooling='last'`` the output at each
   sequence's last observed step (for a bidirectional network, the forward
   half there and the reverse half at the first observed step); ``'mean'`` and
   ``'max'`` the mean or maximum over the observed steps, feature by feature;
   with ``return_sequences``, every step.
6. ``scores = features @ head_weight.T + head_bias``; with an autoregressive
   term (``autoregressive = K > 0``, many-to-one only) plus ``lagged @
   autoregressive_weight.T``, where ``lagged`` ``(n, K * d)`` is the input at
   the last ``K`` positions of the window (steps ``T-K … T-1``) flattened step
   by step, oldest first (``lagged[:, j * d + f] = x[:, T - K + j, f]``), with
   the missing steps as 0 (the input of step 1) and the positions before the
   first step as 0 when ``K > T`` (the estimator fits ``K <= T``).
7. The output (see :class:`Output`): the regressor's ``scores * y_scale +
   y_mean``, the classifier's softmax (multiclass) or sigmoid (binary: the
   probability of ``classes[1]``; multilabel: of each label). With
   ``return_sequences`` the outputs at missing steps are NaN.

Dropout is a training-time operation and is not part of the description.
"""

from dataclasses import dataclass, field

import numpy as np
from sklearn.base import is_classifier, is_regressor
from sklearn.utils.validation import check_is_fitted

# the epsilon of the core's layer norm (skdeeprnn.core._network._layer_norm_forward)
LAYER_NORM_EPS = 1e-5


@dataclass(frozen=True)
class Direction:
    """The weights of one direction of one layer, in PyTorch's layout and gate order.

    ``weight_ih`` is ``(G*h, input_size)``, ``weight_hh`` ``(G*h, h)``, the biases
    ``(G*h,)`` or None (``bias=False``). Gates: RNN one block, LSTM ``i, f, g, o``,
    GRU ``r, z, n`` with the reset gate applied to ``W_hn h + b_hn``.
    """

    reverse: bool
    weight_ih: np.ndarray
    weight_hh: np.ndarray
    bias_ih: np.ndarray = None
    bias_hh: np.ndarray = None


@dataclass(frozen=True)
class Layer:
    """One recurrent layer: its directions, then the skip connection, then the layer norm."""

    cell: str  # 'rnn', 'lstm' or 'gru'
    nonlinearity: str  # 'tanh' or 'relu' (the 'rnn' cell only)
    input_size: int
    hidden_size: int
    directions: tuple  # of Direction: (forward,) or (forward, reverse)
    residual: str = None  # None, 'identity' or 'projection'
    residual_weight: np.ndarray = None  # (output_size, input_size) for 'projection'
    norm_weight: np.ndarray = None  # (output_size,) gain of the layer norm, or None
    norm_bias: np.ndarray = None  # (output_size,) shift of the layer norm
    norm_eps: float = LAYER_NORM_EPS

    @property
    def output_size(self):
        """Width of the layer's output: ``hidden_size`` times the number of directions."""
        return self.hidden_size * len(self.directions)

    @property
    def bidirectional(self):
        """Whether the layer also runs backward in time."""
        return len(self.directions) == 2


@dataclass(frozen=True)
class Output:
    """How the head's scores become the estimator's output.

    ``kind`` is ``'regression'``, ``'binary'``, ``'multiclass'`` or ``'multilabel'``.

    - regression: ``scores * y_scale + y_mean`` (float64 arrays of one entry
      per output); ``squeeze`` says whether the output axis is dropped (``y``
      had no output axis in ``fit``).
    - binary: one score, the logit of ``classes[1]``; ``predict_proba`` is
      ``[1 - p, p]``.
    - multiclass: one score per class in ``classes`` order; softmax.
    - multilabel: one independent sigmoid per label; ``classes`` is ``0 … k-1``.
    """

    kind: str
    classes: np.ndarray = None
    y_mean: np.ndarray = None
    y_scale: np.ndarray = None
    squeeze: bool = False


@dataclass(frozen=True)
class ModelDescription:
    """A fitted network as data: see the module docstring for what it computes."""

    estimator: str  # 'DeepRNNRegressor' or 'DeepRNNClassifier'
    dtype: np.dtype  # of every weight array
    input_size: int  # features per step
    n_timesteps: int  # the length the estimator was fitted on (n_features_in_)
    layers: tuple  # of Layer, bottom to top
    pooling: str  # 'last', 'mean' or 'max' (ignored with return_sequences)
    return_sequences: bool
    head_weight: np.ndarray  # (k, feature_size)
    head_bias: np.ndarray  # (k,) or None
    output: Output
    feature_names_in: tuple = field(default=None)
    autoregressive: int = 0  # K: the last steps the autoregressive term reads; 0: none
    autoregressive_weight: np.ndarray = None  # (k, K * input_size), or None without the term

    @property
    def n_outputs(self):
        """Scores of the head: ``head_weight.shape[0]``."""
        return self.head_weight.shape[0]


def _check_estimator(estimator):
    if not (hasattr(estimator, "_architecture")
            and (is_regressor(estimator) or is_classifier(estimator))):
        raise TypeError(
            f"expected a fitted DeepRNNRegressor or DeepRNNClassifier, got "
            f"{type(estimator).__name__}."
        )
    check_is_fitted(estimator, "network_")


def describe(estimator):
    """Describe a fitted estimator's network as a :class:`ModelDescription`.

    The arrays are copies: changing them does not change the estimator.

    Parameters
    ----------
    estimator : DeepRNNRegressor or DeepRNNClassifier
        A fitted estimator.

    Returns
    -------
    description : ModelDescription
    """
    _check_estimator(estimator)
    arch = estimator.network_.arch
    P = estimator.network_.layout.views(estimator._theta)

    def copy(name):
        return P[name].copy() if name in P else None

    layers = []
    for k, h in enumerate(arch.hidden_sizes):
        directions = tuple(
            Direction(
                reverse=sfx == "_reverse",
                weight_ih=copy(f"weight_ih_l{k}{sfx}"),
                weight_hh=copy(f"weight_hh_l{k}{sfx}"),
                bias_ih=copy(f"bias_ih_l{k}{sfx}"),
                bias_hh=copy(f"bias_hh_l{k}{sfx}"),
            )
            for sfx in arch.directions
        )
        residual = None
        if arch.residual and k > 0:
            residual = "projection" if arch.has_residual_projection(k) else "identity"
        layers.append(Layer(
            cell=arch.cell,
            nonlinearity=arch.nonlinearity,
            input_size=arch.layer_input_size(k),
            hidden_size=h,
            directions=directions,
            residual=residual,
            residual_weight=copy(f"residual_l{k}.weight"),
            norm_weight=copy(f"layer_norm_l{k}.weight"),
            norm_bias=copy(f"layer_norm_l{k}.bias"),
        ))
    if is_regressor(estimator):
        output = Output(
            kind="regression",
            y_mean=np.array(estimator._y_mean, dtype=np.float64),
            y_scale=np.array(estimator._y_scale, dtype=np.float64),
            squeeze=estimator._y_ndim == (2 if arch.return_sequences else 1),
        )
    else:
        kind = estimator._label_binarizer.y_type_
        output = Output(
            kind="multilabel" if kind == "multilabel-indicator" else kind,
            classes=np.array(estimator.classes_, copy=True),
        )
    names = getattr(estimator, "feature_names_in_", None)
    return ModelDescription(
        estimator=type(estimator).__name__,
        dtype=estimator._theta.dtype,
        input_size=arch.input_size,
        n_timesteps=int(estimator.n_features_in_),
        layers=tuple(layers),
        pooling=arch.pooling,
        return_sequences=arch.return_sequences,
        head_weight=copy("head.weight"),
        head_bias=copy("head.bias"),
        output=output,
        feature_names_in=None if names is None else tuple(names),
        autoregressive=int(arch.autoregressive),
        autoregressive_weight=copy("autoregressive.weight"),
    )
