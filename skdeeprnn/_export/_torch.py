"""A PyTorch module built from the description of a fitted network.

:func:`to_torch` reads :func:`~skdeeprnn._export.describe` and builds a
``torch.nn.Module`` that computes what the description's docstring states,
hence what ``predict`` / ``predict_proba`` give. Each layer holds a one-layer
``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` (``batch_first=True``), an optional
``nn.Linear(bias=False)`` residual projection and an optional
``nn.LayerNorm``; the head is an ``nn.Linear``; a regressor with an
autoregressive term adds ``nn.Linear(K * d, k, bias=False)`` of the last ``K``
steps' inputs to the head's output; the regressor keeps its target scaling as
float64 buffers. So ``state_dict()`` has PyTorch's own keys
(``layers.0.rnn.weight_ih_l0``, ``layers.1.norm.weight``,
``layers.1.residual.weight``, ``head.weight``, ``autoregressive.weight``,
``target_mean``, ...) and nothing is folded: it loads back into the estimator
exactly.

PyTorch's recurrent modules cannot keep the state across a missing step inside
a sequence (packed sequences only cut the end), so by default each direction
runs as a step loop over the modules' own parameters, with
``torch.where(observed_t, h_new, h)``. The loop has no branch on tensor values,
so ``torch.export`` traces it (with the number of steps fixed). Setting
``fused = True`` calls each ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` directly
instead (one fused kernel per layer): the same result for inputs without
missing steps, NaN for inputs with them.

This module imports torch; nothing else in the package does.
"""

import numpy as np

try:
    import torch
except ImportError as error:  # the rest of the package works without torch
    raise ImportError(
        "to_torch() builds a PyTorch module and needs torch: pip install torch."
    ) from error
from torch import nn
from torch.nn import functional as F

from ._description import describe

_RECURRENT = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
_TORCH_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def _tensor(array, dtype):
    return torch.from_numpy(np.array(array, dtype=dtype, copy=True))


class RecurrentLayer(nn.Module):
    """One layer of the network: its directions, the skip connection, the layer norm.

    Parameters
    ----------
    layer : skdeeprnn._export._description.Layer
        What the layer is and its weights.
    dtype : numpy.dtype
        Dtype of the parameters (float32 or float64).

    Attributes
    ----------
    rnn : torch.nn.RNN, torch.nn.LSTM or torch.nn.GRU
        One layer (``num_layers=1``, ``batch_first=True``), bidirectional or
        not; its parameters are the ones the step loop uses.
    residual : torch.nn.Linear or None
        The projection of the skip connection when the layer changes the
        width, ``nn.Linear(input_size, output_size, bias=False)``.
    identity_residual : bool
        Whether the layer adds its input to its output unprojected.
    norm : torch.nn.LayerNorm or None
        The layer norm over the output's features, after the skip connection.
    """

    def __init__(self, layer, dtype):
        super().__init__()
        torch_dtype = _TORCH_DTYPES[np.dtype(dtype).name]
        kwargs = dict(input_size=layer.input_size, hidden_size=layer.hidden_size, num_layers=1,
                      bias=layer.directions[0].bias_ih is not None, batch_first=True,
                      bidirectional=layer.bidirectional, dtype=torch_dtype)
        if layer.cell == "rnn":
            kwargs["nonlinearity"] = layer.nonlinearity
        self.cell = layer.cell
        self.nonlinearity = layer.nonlinearity
        self.hidden_size = layer.hidden_size
        self.rnn = _RECURRENT[layer.cell](**kwargs)
        self.residual = None
        if layer.residual == "projection":
            self.residual = nn.Linear(layer.input_size, layer.output_size, bias=False,
                                      dtype=torch_dtype)
        self.identity_residual = layer.residual == "identity"
        self.norm = None
        if layer.norm_weight is not None:
            self.norm = nn.LayerNorm(layer.output_size, eps=layer.norm_eps,
                                     bias=layer.norm_bias is not None, dtype=torch_dtype)
        self._copy_weights(layer, dtype)

    @torch.no_grad()
    def _copy_weights(self, layer, npdtype):
        for direction in layer.directions:
            sfx = "_reverse" if direction.reverse else ""
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                value = getattr(direction, name)
                if value is not None:
                    getattr(self.rnn, f"{name}_l0{sfx}").copy_(_tensor(value, npdtype))
        if self.residual is not None:
            self.residual.weight.copy_(_tensor(layer.residual_weight, npdtype))
        if self.norm is not None:
            self.norm.weight.copy_(_tensor(layer.norm_weight, npdtype))
            if layer.norm_bias is not None:
                self.norm.bias.copy_(_tensor(layer.norm_bias, npdtype))

    def _step(self, xp_t, h, c, weight_hh, bias_hh):
        """One step of the cell from ``xp_t = W_ih x_t + b_ih``; returns ``(h, c)``."""
        hp = F.linear(h, weight_hh, bias_hh)
        if self.cell == "rnn":
            pre = xp_t + hp
            return (torch.tanh(pre) if self.nonlinearity == "tanh" else torch.relu(pre)), c
        if self.cell == "lstm":
            i, f, g, o = (xp_t + hp).chunk(4, dim=1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            return torch.sigmoid(o) * torch.tanh(c), c
        x_r, x_z, x_n = xp_t.chunk(3, dim=1)
        h_r, h_z, h_n = hp.chunk(3, dim=1)
        r = torch.sigmoid(x_r + h_r)
        z = torch.sigmoid(x_z + h_z)
        n = torch.tanh(x_n + r * h_n)
        return (1 - z) * n + z * h, c

    def _direction(self, x, observed, reverse):
        """Run one direction: outputs ``(n, T, h)``, the state kept at missing steps."""
        sfx = "_reverse" if reverse else ""
        bias = self.rnn.bias
        weight_hh = getattr(self.rnn, f"weight_hh_l0{sfx}")
        bias_hh = getattr(self.rnn, f"bias_hh_l0{sfx}") if bias else None
        xp = F.linear(x, getattr(self.rnn, f"weight_ih_l0{sfx}"),
                      getattr(self.rnn, f"bias_ih_l0{sfx}") if bias else None)
        h = x.new_zeros((x.shape[0], self.hidden_size))
        c = h
        T = x.shape[1]
        outputs = [None] * T
        for t in (range(T - 1, -1, -1) if reverse else range(T)):
            h_new, c_new = self._step(xp[:, t], h, c, weight_hh, bias_hh)
            keep = observed[:, t, None]
            h = torch.where(keep, h_new, h)
            if self.cell == "lstm":
                c = torch.where(keep, c_new, c)
            outputs[t] = h
        return torch.stack(outputs, dim=1)

    def recurrent(self, x, observed, fused=False):
        """Return the directions' outputs ``(n, T, output_size)``, before the skip and the norm.

        Parameters
        ----------
        x : torch.Tensor of shape (n, T, input_size)
            The layer's input, zero at missing steps.
        observed : torch.Tensor of bool, shape (n, T)
            False at missing steps, where the state is kept.
        fused : bool, default=False
            Call ``self.rnn`` instead of the step loop (``observed`` is then
            not read: every step counts).

        Returns
        -------
        out : torch.Tensor of shape (n, T, output_size)
            Forward direction first, as ``self.rnn`` concatenates them.
        """
        if fused:
            return self.rnn(x)[0]
        outputs = [self._direction(x, observed, reverse=False)]
        if self.rnn.bidirectional:
            outputs.append(self._direction(x, observed, reverse=True))
        return torch.cat(outputs, dim=2) if len(outputs) > 1 else outputs[0]

    def forward(self, x, observed, fused=False):
        """Return the layer's output ``(n, T, output_size)``: directions, skip, norm.

        Parameters
        ----------
        x : torch.Tensor of shape (n, T, input_size)
            The layer's input, zero at missing steps.
        observed : torch.Tensor of bool, shape (n, T)
            False at missing steps.
        fused : bool, default=False
            See :meth:`recurrent`.

        Returns
        -------
        out : torch.Tensor of shape (n, T, output_size)
        """
        out = self.recurrent(x, observed, fused)
        if self.residual is not None:
            out = out + self.residual(x)
        elif self.identity_residual:
            out = out + x
        if self.norm is not None:
            out = self.norm(out)
        return out


class _DeepRNNModule(nn.Module):
    """What the regressor's and the classifier's modules share: layers, pooling, head."""

    def __init__(self, description):
        super().__init__()
        dtype = np.dtype(description.dtype)
        self.input_size = description.input_size
        self.n_timesteps = description.n_timesteps
        self.pooling = description.pooling
        self.return_sequences = description.return_sequences
        self.fused = False
        self.layers = nn.ModuleList(RecurrentLayer(layer, dtype) for layer in description.layers)
        self.top_hidden_size = description.layers[-1].hidden_size
        self.top_bidirectional = description.layers[-1].bidirectional
        k, width = description.head_weight.shape
        self.head = nn.Linear(width, k, bias=description.head_bias is not None,
                              dtype=_TORCH_DTYPES[dtype.name])
        # the autoregressive term: the last K steps' inputs, linearly, beside the head
        self.autoregressive_steps = int(description.autoregressive)
        self.autoregressive = None
        if self.autoregressive_steps:
            self.autoregressive = nn.Linear(self.autoregressive_steps * self.input_size, k,
                                            bias=False, dtype=_TORCH_DTYPES[dtype.name])
        with torch.no_grad():
            self.head.weight.copy_(_tensor(description.head_weight, dtype))
            if description.head_bias is not None:
                self.head.bias.copy_(_tensor(description.head_bias, dtype))
            if self.autoregressive is not None:
                self.autoregressive.weight.copy_(
                    _tensor(description.autoregressive_weight, dtype))

    def _pool(self, top, observed):
        """Return what the head reads of the top layer's output ``(n, T, F)``."""
        if self.return_sequences:
            return top
        mask = observed[:, :, None]
        if self.pooling == "mean":
            count = observed.sum(dim=1, keepdim=True).to(top.dtype)
            return torch.where(mask, top, 0.0).sum(dim=1) / count
        if self.pooling == "max":
            return torch.where(mask, top, -torch.inf).amax(dim=1)
        steps = torch.arange(top.shape[1], device=top.device)
        last = torch.where(observed, steps, -1).amax(dim=1)

        def at(step, features):
            index = step[:, None, None].expand(-1, 1, features.shape[2])
            return features.gather(1, index)[:, 0]

        if not self.top_bidirectional:
            return at(last, top)
        first = torch.where(observed, steps, top.shape[1]).amin(dim=1)
        h = self.top_hidden_size
        return torch.cat([at(last, top[:, :, :h]), at(first, top[:, :, h:])], dim=1)

    def _lagged(self, x):
        """Return the inputs the autoregressive term reads: ``(n, K * d)``.

        The last ``K`` steps of ``x`` ``(n, T, d)`` (missing steps already 0),
        oldest first, flattened step by step (``j * d + f``); the positions
        before the first step are 0 when ``K > T``.
        """
        K = self.autoregressive_steps
        if x.shape[1] < K:  # the number of steps is static, also under torch.export
            x = F.pad(x, (0, 0, K - x.shape[1], 0))
        return x[:, x.shape[1] - K:, :].flatten(1)

    def _scores(self, x):
        """Head scores ``(n, k)`` or ``(n, T, k)`` and the observed mask ``(n, T)``."""
        x = x.to(self.head.weight.dtype)
        if x.dim() == 2:  # (n, T): univariate sequences, as the estimators accept
            x = x[:, :, None]
        observed = ~torch.isnan(x).all(dim=2)
        zeroed = torch.where(observed[:, :, None], x, 0.0)
        lagged = None if self.autoregressive is None else self._lagged(zeroed)
        if not self.fused:  # fused: NaN goes through, so that missing steps show
            x = zeroed
        for layer in self.layers:
            x = layer(x, observed, self.fused)
        scores = self.head(self._pool(x, observed))
        if lagged is not None:
            scores = scores + self.autoregressive(lagged)
        return scores, observed

    def _at_observed(self, out, observed):
        """Many-to-many outputs are NaN at missing steps."""
        if not self.return_sequences:
            return out
        return torch.where(observed[:, :, None], out, torch.nan)

    def extra_repr(self):
        return (f"pooling={self.pooling!r}, return_sequences={self.return_sequences}, "
                f"fused={self.fused}")


class DeepRNNRegressorModule(_DeepRNNModule):
    """A fitted :class:`~skdeeprnn.DeepRNNRegressor` as a PyTorch module.

    ``forward(x)`` returns ``predict(x)``: in the target's units, shaped as
    ``predict`` shapes it, in the module's dtype. Build it with
    :meth:`skdeeprnn.DeepRNNRegressor.to_torch`.

    Parameters
    ----------
    description : skdeeprnn._export.ModelDescription
        The description of a fitted regressor.

    Attributes
    ----------
    layers : torch.nn.ModuleList of RecurrentLayer
        The recurrent layers, bottom to top.
    head : torch.nn.Linear
        The output layer; its outputs are standardised targets.
    autoregressive : torch.nn.Linear or None
        The autoregressive term, ``nn.Linear(K * n_features, n_outputs,
        bias=False)``: it reads the last ``K`` steps of ``x`` flattened step
        by step, oldest first, missing steps as 0, and its output is added to
        the head's. None for a model without the term
        (``autoregressive=0``).
    autoregressive_steps : int
        ``K``, the steps the autoregressive term reads; 0 without it.
    target_mean, target_scale : torch.Tensor of float64, shape (n_outputs,)
        Buffers: ``prediction = (head(...) + autoregressive(...)) * target_scale
        + target_mean``.
    squeeze : bool
        Whether the output axis is dropped (``y`` had none in ``fit``).
    fused : bool
        Call the fused recurrent modules instead of the step loop; only for
        inputs without missing steps. Default False.
    """

    def __init__(self, description):
        super().__init__(description)
        output = description.output
        self.register_buffer("target_mean", _tensor(output.y_mean, np.float64))
        self.register_buffer("target_scale", _tensor(output.y_scale, np.float64))
        self.squeeze = bool(output.squeeze)

    def forward(self, x):
        """Predict the targets of sequences ``x``.

        Parameters
        ----------
        x : torch.Tensor of shape (n, T, n_features) or (n, T)
            Sequences; a step whose features are all NaN is missing.

        Returns
        -------
        y : torch.Tensor
            Shape ``(n,)`` or ``(n, n_outputs)`` as ``predict``; with
            ``return_sequences``, ``(n, T)`` or ``(n, T, n_outputs)``, NaN at
            missing steps.
        """
        scores, observed = self._scores(x)
        y = scores.to(torch.float64) * self.target_scale + self.target_mean
        y = self._at_observed(y.to(scores.dtype), observed)
        return y[..., 0] if self.squeeze else y


class DeepRNNClassifierModule(_DeepRNNModule):
    """A fitted :class:`~skdeeprnn.DeepRNNClassifier` as a PyTorch module.

    ``forward(x)`` returns ``predict_proba(x)`` (binary: the two columns
    ``[1 - p, p]``), in the module's dtype; :meth:`logits` returns the head's
    scores, for ``nn.CrossEntropyLoss`` (multiclass) or
    ``nn.BCEWithLogitsLoss`` (binary, multilabel). Build it with
    :meth:`skdeeprnn.DeepRNNClassifier.to_torch`.

    Parameters
    ----------
    description : skdeeprnn._export.ModelDescription
        The description of a fitted classifier.

    Attributes
    ----------
    layers : torch.nn.ModuleList of RecurrentLayer
        The recurrent layers, bottom to top.
    head : torch.nn.Linear
        The output layer (the logits).
    classes_ : ndarray
        The estimator's ``classes_``: the label of each probability column.
        A plain attribute, not part of the ``state_dict``.
    kind : {'binary', 'multiclass', 'multilabel'}
        How the logits become probabilities.
    fused : bool
        Call the fused recurrent modules instead of the step loop; only for
        inputs without missing steps. Default False.
    """

    def __init__(self, description):
        super().__init__(description)
        self.classes_ = np.array(description.output.classes, copy=True)
        self.kind = description.output.kind

    def logits(self, x):
        """Return the head's scores: the logits of the classes.

        Parameters
        ----------
        x : torch.Tensor of shape (n, T, n_features) or (n, T)
            Sequences; a step whose features are all NaN is missing.

        Returns
        -------
        logits : torch.Tensor of shape (n, k) or (n, T, k)
            Multiclass: one score per class of ``classes_`` (softmax gives the
            probabilities); binary: ``k = 1``, the logit of ``classes_[1]``;
            multilabel: one logit per label. NaN at missing steps with
            ``return_sequences``.
        """
        scores, observed = self._scores(x)
        return self._at_observed(scores, observed)

    def forward(self, x):
        """Class probabilities of sequences ``x``, as ``predict_proba``.

        Parameters
        ----------
        x : torch.Tensor of shape (n, T, n_features) or (n, T)
            Sequences; a step whose features are all NaN is missing.

        Returns
        -------
        proba : torch.Tensor of shape (n, n_classes) or (n, T, n_classes)
            One column per class of ``classes_`` (per label for multilabel).
            NaN at missing steps with ``return_sequences``.
        """
        scores, observed = self._scores(x)
        if self.kind == "multiclass":
            proba = torch.softmax(scores, dim=-1)
        else:
            proba = torch.sigmoid(scores)
            if self.kind == "binary":
                proba = torch.cat([1 - proba, proba], dim=-1)
        return self._at_observed(proba, observed)


def to_torch(estimator):
    """Build the PyTorch module of a fitted estimator (see the estimators' ``to_torch``).

    Parameters
    ----------
    estimator : DeepRNNRegressor or DeepRNNClassifier
        A fitted estimator.

    Returns
    -------
    module : DeepRNNRegressorModule or DeepRNNClassifierModule
        In evaluation mode, its parameters in the model's dtype.
    """
    description = describe(estimator)
    if description.output.kind == "regression":
        return DeepRNNRegressorModule(description).eval()
    return DeepRNNClassifierModule(description).eval()
