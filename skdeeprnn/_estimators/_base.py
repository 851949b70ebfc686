"""What the regressor and the classifier share: parameters, validation and the set-up of training.

Training is a chain of small overridable steps, ``fit`` / ``partial_fit`` →
``_fit`` → ``_fit_stochastic`` (→ ``_run_epoch``) or ``_fit_lbfgs``; the last
three run the loops of :mod:`._loop`. ``_fit`` validates the data once into a
:class:`~skdeeprnn._sequences.Sequences` (the sequences, their observed steps,
weights and spans), which every step after it takes. The subclasses supply the
target encoding (``_encode_targets``), the loss and the decoding of the head's
scores.
"""

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from .._sequences import (
    Sequences,
    observed_of,
    observed_steps,
    pad_sequences,
    pad_targets,
)
from .._version import __version__
from ..core import SGD, Adam, Architecture, StackedRNN
from . import _interop
from ._dtypes import DTYPES, resolve_dtype
from ._loop import fit_lbfgs, fit_stochastic, run_epoch
from ._training import warn_caller

# Inputs whose root mean square exceeds this saturate the cells' tanh and sigmoids
UNSCALED_RMS = 10.0


# The largest penalty of the regressor's alpha='auto' (1 / the total sample weight, up to this)
AUTO_ALPHA_MAX = 0.01


def _warn_if_unscaled(X, observed=None):
    """Warn, naming the features, when some features of ``X`` (n, T, d) are far from unit scale.

    Only the ``observed`` steps (n, T) count, when given.
    """
    count = X.shape[0] * X.shape[1]
    if observed is not None:
        count = int(observed.sum())
        X = np.where(observed[:, :, None], X, 0.0)
    mean = np.einsum("ntd->d", X, dtype=np.float64) / count
    rms = np.sqrt(np.einsum("ntd,ntd->d", X, X, dtype=np.float64) / count)
    large = np.flatnonzero(rms > UNSCALED_RMS)
    if large.size == 0:
        return
    std = np.sqrt(np.maximum(rms**2 - mean**2, 0.0))
    described = "; ".join(f"feature {j}: mean {mean[j]:.4g}, std {std[j]:.4g}" for j in large[:5])
    more = f" and {large.size - 5} more" if large.size > 5 else ""
    warn_caller(
        f"Some input features are far from unit scale over samples and time steps ({described}"
        f"{more}). Recurrent cells saturate on such inputs and the network may not learn. "
        "Scale the inputs, e.g. with skdeeprnn.SequenceStandardScaler in a Pipeline.",
        UserWarning,
    )


class BaseDeepRNN(BaseEstimator):
    """Base class of the deep recurrent estimators; not for direct use."""

    _parameter_constraints: dict = {
        "num_layers": [Interval(Integral, 1, None, closed="left")],
        "hidden_size": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "cell": [StrOptions({"rnn", "lstm", "gru"})],
        "nonlinearity": [StrOptions({"tanh", "relu"})],
        "bias": ["boolean"],
        "bidirectional": ["boolean"],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "return_sequences": ["boolean"],
        "residual": ["boolean"],
        "layer_norm": ["boolean"],
        "pooling": [StrOptions({"last", "mean", "max"})],
        "forget_bias": [Real, None],
        "init": [StrOptions({"uniform", "orthogonal"})],
        "solver": [StrOptions({"adam", "sgd", "lbfgs"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "learning_rate": [StrOptions({"constant", "plateau"})],
        "plateau_factor": [Interval(Real, 0, 1, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "clip_grad_norm": [Interval(Real, 0, None, closed="neither"), None],
        "dtype": [StrOptions({"auto", *DTYPES})],
    }

    def __init__(
        self,
        num_layers=1,
        hidden_size=32,
        *,
        cell="gru",
        nonlinearity="tanh",
        bias=True,
        bidirectional=False,
        dropout=0.0,
        return_sequences=False,
        residual=False,
        layer_norm=True,
        pooling="max",
        forget_bias=1.0,
        init="uniform",
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate_init=0.01,
        learning_rate="plateau",
        plateau_factor=0.2,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        clip_grad_norm=1.0,
        dtype="auto",
    ):
        self.num_layers = num_layers
        self.hidden_size = hidden_size
        self.cell = cell
        self.nonlinearity = nonlinearity
        self.bias = bias
        self.bidirectional = bidirectional
        self.dropout = dropout
        self.return_sequences = return_sequences
        self.residual = residual
        self.layer_norm = layer_norm
        self.pooling = pooling
        self.forget_bias = forget_bias
        self.init = init
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.learning_rate = learning_rate
        self.plateau_factor = plateau_factor
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.clip_grad_norm = clip_grad_norm
        self.dtype = dtype

    # ------------------------------------------------------------ tags & props
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = True
        tags.input_tags.three_d_array = True
        tags.input_tags.allow_nan = True  # a step whose features are all NaN is missing
        tags.target_tags.multi_output = True
        tags.non_deterministic = False
        return tags

    @property
    def weights_(self):
        """Dict of str to ndarray: the fitted parameters under PyTorch's names.

        Keys are ``weight_ih_l{k}``, ``weight_hh_l{k}``, ``bias_ih_l{k}``,
        ``bias_hh_l{k}`` (suffix ``_reverse`` for the backward direction) and
        ``head.weight``, ``head.bias``. The arrays are views of the model's
        parameters: writing to them changes the model.
        """
        check_is_fitted(self, "network_")
        return self.network_.layout.views(self._theta)

    @property
    def dtype_(self):
        """numpy.dtype: the precision of the fitted weights (``dtype='auto'``'s choice)."""
        check_is_fitted(self, "network_")
        return self._theta.dtype

    # ------------------------------------------------------------ pickling
    def __getstate__(self):
        state = super().__getstate__()
        return dict(state, _skdeeprnn_version=__version__)

    def __setstate__(self, state):
        version = state.pop("_skdeeprnn_version", "unknown")
        if version != __version__:
            warnings.warn(
                f"Unpickling a {type(self).__name__} saved with skdeeprnn {version} under "
                f"skdeeprnn {__version__}; the model may not load or predict correctly. "
                "Refit it, or save it with skdeeprnn.save_npz for a version-independent file.",
                UserWarning,
                stacklevel=2,
            )
        super().__setstate__(state)

    # --------------------------------------------------------------- PyTorch
    def to_torch(self):
        """Return a PyTorch module that computes ``predict`` (or ``predict_proba``).

        Every model the estimator can fit becomes a ``torch.nn.Module``: any
        cell, stacked layers of different sizes, bidirectional layers, residual
        connections, layer norm, every ``pooling``, ``return_sequences``, and
        missing steps (all features NaN) with the estimator's semantics. Layer
        ``k`` is ``module.layers[k]``: a one-layer ``nn.RNN`` / ``nn.LSTM`` /
        ``nn.GRU`` (``batch_first=True``) as ``.rnn``, an ``nn.Linear`` skip
        projection as ``.residual`` and an ``nn.LayerNorm`` as ``.norm`` where
        the model has them; the output layer is the ``nn.Linear``
        ``module.head``. The parameters are in the model's dtype.

        The regressor's module returns the predictions in the target's units
        (the target scaling is kept as float64 buffers ``target_mean`` and
        ``target_scale``). The classifier's returns ``predict_proba`` (two
        columns for binary targets), and its ``logits(x)`` the head's scores
        for ``nn.CrossEntropyLoss`` or ``nn.BCEWithLogitsLoss``; labels stay
        outside, in the module's ``classes_``. ``module.state_dict()`` loads
        back with :meth:`from_torch_state_dict` and predicts identically.
        torch is imported only when this is called. See the user guide's
        PyTorch page for ``torch.export`` and ONNX.

        Returns
        -------
        module : torch.nn.Module
            A ``DeepRNNRegressorModule`` or ``DeepRNNClassifierModule``, in
            evaluation mode.

        Raises
        ------
        ImportError
            If torch is not installed.
        sklearn.exceptions.NotFittedError
            If the estimator is not fitted.

        Examples
        --------
        >>> import numpy as np
        >>> import pytest
        >>> torch = pytest.importorskip("torch")
        >>> from skdeeprnn import DeepRNNClassifier, DeepRNNRegressor
        >>> X = np.random.RandomState(0).normal(size=(30, 5, 2))
        >>> reg = DeepRNNRegressor(num_layers=2, hidden_size=(4, 3), max_iter=2,
        ...                        dtype="float64").fit(X, np.arange(30.0))
        >>> module = reg.to_torch()
        >>> module.layers[0].rnn, module.head.weight.dtype
        (GRU(2, 4, batch_first=True), torch.float64)
        >>> with torch.no_grad():
        ...     y = module(torch.from_numpy(X))
        >>> y.shape, bool(np.allclose(y.numpy(), reg.predict(X), rtol=1e-10))
        (torch.Size([30]), True)
        >>> twin = DeepRNNRegressor(num_layers=2, hidden_size=(4, 3), dtype="float64")
        >>> twin = twin.from_torch_state_dict(module.state_dict(), 2, 5)
        >>> bool(np.array_equal(twin.predict(X), reg.predict(X)))
        True
        >>> clf = DeepRNNClassifier(hidden_size=3, max_iter=2).fit(X, X[:, -1, 0] > 0)
        >>> with torch.no_grad():
        ...     proba = clf.to_torch()(torch.from_numpy(X))
        >>> bool(np.allclose(proba.numpy(), clf.predict_proba(X), rtol=1e-5, atol=1e-6))
        True
        """
        from .._export._torch import to_torch

        return to_torch(self)

    def to_torch_state_dict(self):
        """Export the fitted weights as a PyTorch ``state_dict`` of NumPy arrays.

        Keys are ``rnn.<name>`` exactly as ``nn.RNN`` / ``nn.LSTM`` /
        ``nn.GRU(..., batch_first=True)`` name them, then, with
        ``layer_norm=True``, ``norm.weight`` and ``norm.bias`` of an
        ``nn.LayerNorm`` applied to the recurrent module's output, then
        ``head.weight`` and ``head.bias`` of an ``nn.Linear``; the regressor's
        target scaling is folded into the head. Loaded into
        ``nn.ModuleDict({"rnn": rnn, "norm": norm, "head": head})``
        (constructor arguments from :meth:`torch_kwargs`), the head applied to
        what ``pooling`` reads of the (normalised) output reproduces
        ``predict`` (regressor) or the pre-softmax scores (classifier) for the
        same ``X``; see the user guide's PyTorch page.

        Returns
        -------
        state_dict : collections.OrderedDict of str to ndarray
            Copies of the weights in the model's dtype.

        Raises
        ------
        ValueError
            For architectures PyTorch's modules cannot hold: unequal hidden
            sizes, ``residual=True`` or ``layer_norm=True`` with more than
            one layer, or the regressor's autoregressive term (``to_torch()``
            exports every model).

        Examples
        --------
        >>> import numpy as np
        >>> from skdeeprnn import DeepRNNRegressor
        >>> X, y = np.random.RandomState(0).normal(size=(30, 5, 2)), np.arange(30.0)
        >>> reg = DeepRNNRegressor(hidden_size=3, cell="gru", max_iter=2,
        ...                        autoregressive=0).fit(X, y)
        >>> sd = reg.to_torch_state_dict()
        >>> list(sd)
        ['rnn.weight_ih_l0', 'rnn.weight_hh_l0', 'rnn.bias_ih_l0', 'rnn.bias_hh_l0', \
'norm.weight', 'norm.bias', 'head.weight', 'head.bias']
        >>> sd["rnn.weight_ih_l0"].shape
        (9, 2)
        """
        return _interop.to_torch_state_dict(self)

    def torch_kwargs(self, input_size=None):
        """Return the constructor arguments of the equivalent PyTorch recurrent module.

        ``kw = est.torch_kwargs(); rnn = getattr(torch.nn, kw.pop("mode"))(**kw)``.

        Parameters
        ----------
        input_size : int, default=None
            Features per time step; needed only when the estimator is not fitted.

        Returns
        -------
        kwargs : dict
            ``mode`` ('RNN', 'LSTM' or 'GRU'), ``input_size``, ``hidden_size``,
            ``num_layers``, ``bias``, ``batch_first=True``, ``bidirectional``,
            ``dropout`` and, for 'RNN', ``nonlinearity``.
        """
        return _interop.torch_modules_kwargs(self, input_size=input_size)

    def from_torch_state_dict(self, state_dict, n_features_per_step, n_timesteps, **kwargs):
        """Initialise this (unfitted) estimator from a PyTorch ``state_dict``.

        The inverse of :meth:`to_torch_state_dict`: the estimator's parameters
        give the architecture, the dict gives the weights (NumPy arrays or
        tensors). The result predicts as the torch modules do and can go on
        training with ``partial_fit`` or ``fit`` with ``warm_start=True``.

        Parameters
        ----------
        state_dict : mapping of str to array
            ``rnn.*`` and ``head.*`` tensors as :meth:`to_torch_state_dict` gives.
        n_features_per_step : int
            Input features per time step.
        n_timesteps : int
            Time steps of the sequences (scikit-learn's ``n_features_in_``).
        **kwargs : dict
            For the classifier: ``classes`` (labels in the head's output order,
            required) and ``multilabel`` (bool).

        Returns
        -------
        self : object
            The initialised estimator.
        """
        return _interop.from_torch_state_dict(
            self, state_dict, n_features_per_step, n_timesteps, **kwargs
        )

    # ------------------------------------------------------------- validation
    def _hidden_sizes(self):
        if isinstance(self.hidden_size, Integral):
            return (int(self.hidden_size),) * self.num_layers
        sizes = tuple(np.asarray(self.hidden_size).ravel().tolist())
        if len(sizes) != self.num_layers:
            raise ValueError(
                f"hidden_size has {len(sizes)} entries {sizes} but num_layers={self.num_layers}; "
                "give one size per layer or a single int."
            )
        if not all(isinstance(s, Integral) and s >= 1 for s in sizes):
            raise ValueError(f"hidden_size entries must be positive integers, got {sizes}")
        return tuple(int(s) for s in sizes)

    def _forget_bias(self):
        """``forget_bias`` where the architecture has such a gate bias, else None."""
        return self.forget_bias if self.cell != "rnn" and self.bias else None

    def _check_params(self):
        sizes = self._hidden_sizes()
        if self.dropout > 0 and self.solver == "lbfgs":
            raise ValueError(
                "dropout > 0 makes the objective random and needs a stochastic solver; "
                "use solver='adam' or 'sgd', or dropout=0 with solver='lbfgs'."
            )
        return sizes

    def _validate_X(self, X):
        """Validate ``X`` for a fitted model; return it as ``(n, T, d)`` in the model's dtype.

        A list of sequences becomes a NaN-padded array (padded to the fitted
        length when it is shorter; at the front for a model with the
        autoregressive term); missing steps are checked.
        """
        dtype = self._theta.dtype
        # a model with the autoregressive term reads the last positions: shorter sequences
        # are aligned at the end (the network's output is the same either way)
        X = pad_sequences(X, dtype, getattr(self, "n_features_in_", None),
                          at_front=bool(self.network_.arch.autoregressive))
        self._check_n_timesteps(X)
        X = validate_data(self, X, reset=False, allow_nd=True, dtype=dtype,
                          ensure_all_finite=False)
        X = self._as_3d(X, reset=False)
        observed_steps(X)
        return X

    def _check_n_timesteps(self, X):
        """Say what scikit-learn's "features" are here when the sequence length changed."""
        shape = getattr(X, "shape", None)
        expected = getattr(self, "n_features_in_", None)
        if shape is None or len(shape) < 2 or expected is None or shape[1] == expected:
            return
        raise ValueError(
            f"X has {shape[1]} features, but {type(self).__name__} is expecting {expected} "
            f"features as input. For sequences X.shape[1] is the number of time steps: the "
            f"model was fitted on sequences of {expected} time steps, X has {shape[1]}."
        )

    def _as_3d(self, X, reset):
        if X.ndim == 2:
            X = X[:, :, np.newaxis]
        elif X.ndim != 3:
            raise ValueError(
                f"X must be 2D (n_samples, n_timesteps) or 3D (n_samples, n_timesteps, "
                f"n_features); got an array with {X.ndim} dimensions and shape {X.shape}."
            )
        if X.shape[1] == 0:
            raise ValueError(f"X has 0 time steps (shape {X.shape}); at least 1 is required.")
        if X.shape[2] == 0:
            raise ValueError(f"X has 0 features per time step (shape {X.shape}).")
        if reset:
            self.n_features_per_step_ = X.shape[2]
        elif X.shape[2] != self.n_features_per_step_:
            raise ValueError(
                f"X has {X.shape[2]} features per time step, but {type(self).__name__} was "
                f"fitted with {self.n_features_per_step_} features per time step."
            )
        return X

    def _validate_fit_data(self, X, y, sample_weight, reset):
        """Validate the data of a fit once; return a :class:`~skdeeprnn._sequences.Sequences`."""
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        # a first fit with dtype='auto' validates in float64 (float32 input stays float32)
        # and casts once the size is known; later fits keep the fitted dtype
        if not reset:
            dtype = self._theta.dtype
        elif self.dtype == "auto":
            dtype = (np.float64, np.float32)
        else:
            dtype = DTYPES[self.dtype]
        # continuing a model with the autoregressive term: shorter sequences end at the last
        # step, as in predict
        X = pad_sequences(X, np.float64 if isinstance(dtype, tuple) else dtype,
                          None if reset else getattr(self, "n_features_in_", None),
                          at_front=not reset and bool(self.network_.arch.autoregressive))
        if not reset:
            self._check_n_timesteps(X)
        if self.return_sequences:
            X = validate_data(self, X, reset=reset, allow_nd=True, dtype=dtype,
                              ensure_all_finite=False)
            y = pad_targets(y, X.shape[1])
            if y.ndim < 2 or y.shape[:2] != X.shape[:2]:
                raise ValueError(
                    "with return_sequences=True, y must give a target for every time step: "
                    f"shape (n_samples, n_timesteps) or (n_samples, n_timesteps, n_outputs) = "
                    f"{X.shape[:2]} + ..., got y of shape {y.shape}."
                )
        else:
            X, y = validate_data(
                self, X, y, reset=reset, allow_nd=True, dtype=dtype, multi_output=True,
                y_numeric=self._y_numeric, ensure_all_finite=False,
            )
        X = self._as_3d(X, reset)
        if X.shape[0] == 0:
            raise ValueError("X has 0 samples; at least 1 is required.")
        if reset:
            X = X.astype(resolve_dtype(self.dtype, X.shape[0], X.shape[1]), copy=False)
        observed = observed_steps(X)
        if self.return_sequences and observed is not None:
            # the targets of missing steps are never read: give them a valid value
            y = np.array(y, copy=True)
            y[~observed] = y[observed][0]
        sample_weight = self._check_weights(sample_weight, X)
        return Sequences(X, y, sample_weight, observed, many_to_many=self.return_sequences)

    def _check_weights(self, sample_weight, X):
        """``sample_weight`` as float64 (n,), or (n, T) per step with ``return_sequences``."""
        if sample_weight is not None and np.asarray(sample_weight).ndim == 2:
            if not self.return_sequences:
                raise ValueError(
                    f"sample_weight has shape {np.shape(sample_weight)}; one weight per time "
                    "step, (n_samples, n_timesteps), needs return_sequences=True. Give one "
                    f"weight per sequence, shape ({X.shape[0]},)."
                )
            sample_weight = np.asarray(sample_weight, dtype=np.float64)
            if sample_weight.shape != X.shape[:2]:
                raise ValueError(
                    f"sample_weight has shape {sample_weight.shape}; one weight per time step "
                    f"must have the shape (n_samples, n_timesteps) = {X.shape[:2]}."
                )
            if not np.all(np.isfinite(sample_weight)):
                raise ValueError("sample_weight contains NaN or infinity.")
            if np.any(sample_weight < 0):
                raise ValueError("Negative values in data passed to `sample_weight`")
        else:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64,
                                                 ensure_non_negative=True)
        if not sample_weight.sum() > 0:
            raise ValueError(
                "sample_weight sums to 0: at least one sample needs a positive weight."
            )
        return sample_weight

    def _score_target(self, y):
        """``y`` as an array for ``score``; None is an error that says so."""
        if y is None:
            raise ValueError(f"{type(self).__name__}.score needs the true targets, but y is None.")
        if self.return_sequences:
            return y  # possibly a list of unequal lengths: padded by pad_targets
        return np.asarray(y)

    # ------------------------------------------------------------- the model
    def _architecture(self, n_features, n_outputs):
        return Architecture(
            input_size=n_features,
            hidden_sizes=self._hidden_sizes(),
            output_size=n_outputs,
            cell=self.cell,
            nonlinearity=self.nonlinearity,
            bias=self.bias,
            bidirectional=self.bidirectional,
            return_sequences=self.return_sequences,
            dropout=self.dropout,
            residual=self.residual,
            layer_norm=self.layer_norm,
            pooling=self.pooling,
            autoregressive=self._autoregressive_steps(),
        )

    def _autoregressive_steps(self):
        """Return the steps the output's linear autoregressive term reads; 0: none (classifier)."""
        return 0

    def _initialize_autoregressive(self, data, Y):
        """Set the autoregressive term's weights from the data (nothing here)."""

    def _term_alone_is_better(self, data):
        """Whether the autoregressive term alone beats term and network (the regressor's test)."""
        return False

    def _keep_term_alone(self, data, Y):
        """Finish a first fit without training: the model is the autoregressive term alone."""
        raise NotImplementedError

    def _record_term_alone(self, term_alone):
        """Note whether the fit kept the term alone (the regressor's ``linear_fallback_``)."""

    def _alpha_value(self):
        """Return the L2 penalty training uses (the regressor resolves ``'auto'``)."""
        return self.alpha

    def _frozen(self):
        """Return the slice of the parameters training keeps: the autoregressive term's."""
        layout = self.network_.layout
        return layout.slices.get("autoregressive.weight")

    def _initialize(self, arch, rng, dtype):
        self.network_ = StackedRNN(arch)
        self._theta = self.network_.init_params(
            rng, dtype=dtype, init=self.init, forget_bias=self._forget_bias()
        )
        self._optimizer = None
        self.n_iter_ = 0
        self.t_ = 0
        self.loss_curve_ = []
        self.best_loss_ = np.inf
        self._no_improvement_count = 0
        if self.early_stopping:
            self.validation_scores_ = []
            self.best_validation_score_ = -np.inf
        else:
            self.validation_scores_ = None
            self.best_validation_score_ = None

    def _make_optimizer(self):
        lr = self.learning_rate_init
        if self.solver == "sgd":
            return SGD(self._theta, lr, self.momentum, self.nesterovs_momentum)
        return Adam(self._theta, lr, self.beta_1, self.beta_2, self.epsilon)

    def _scores(self, X3):
        """Head scores for validated ``(n, T, d)`` input, as ``(n, k)`` or ``(n, T, k)``.

        Many-to-many scores are NaN at missing steps.
        """
        observed = observed_of(X3)
        scores = self.network_.predict_scores(
            self._theta, np.swapaxes(X3, 0, 1), None if observed is None else observed.T)
        if not self.return_sequences:
            return scores
        scores = np.swapaxes(scores, 0, 1)
        if observed is not None:
            scores[~observed] = np.nan
        return scores

    def _predict_scores(self, X):
        check_is_fitted(self, "network_")
        return self._scores(self._validate_X(X))

    # ---------------------------------------------------------------- fitting
    def _fit(self, X, y, sample_weight, incremental, classes=None):
        # a call that fails (bad input, bad parameters) leaves a fitted model as it was:
        # validation sets fitted attributes (n_features_in_, ...) before y and weights are checked
        state = self.__dict__.copy()
        try:
            return self._fit_checked(X, y, sample_weight, incremental, classes)
        except (ValueError, TypeError):
            self.__dict__.clear()
            self.__dict__.update(state)
            raise

    def _fit_checked(self, X, y, sample_weight, incremental, classes):
        fitted = hasattr(self, "network_")
        first = not (fitted and (incremental or self.warm_start))
        self._check_params()
        data = self._validate_fit_data(X, y, sample_weight, reset=first)
        X, observed = data.X, data.observed
        if first:
            _warn_if_unscaled(X, observed)
        Y = self._encode_targets(data.y, data.target_weight, first=first, classes=classes,
                                 dtype=X.dtype)
        if first:
            # the regressor's autoregressive='auto' reads the last positions: it has no term
            # when sequences end early (unequal lengths, padded at the end)
            self._fitted_with_missing_ends = observed is not None and not observed[:, -1].all()
        if first or not hasattr(self, "_auto_alpha"):
            # the regressor's alpha='auto': a penalty worth one sequence of the training data
            self._auto_alpha = min(AUTO_ALPHA_MAX, 1.0 / float(np.sum(data.weights)))
        arch = self._architecture(X.shape[2], Y.shape[-1])
        if first:
            rng = check_random_state(self.random_state)
            self._initialize(arch, rng, X.dtype)
            self._initialize_autoregressive(data, Y)
            self._rng = rng
        elif arch != self.network_.arch:
            raise ValueError(
                "warm_start/partial_fit need the architecture the model was fitted with; "
                f"it was {self.network_.arch}, the parameters now give {arch}."
            )
        elif not incremental:
            self._rng = check_random_state(self.random_state)
        Y = Y.astype(X.dtype, copy=False)
        # the regressor's linear fallback: a first fit may find the autoregressive term alone
        # better than the term and the network (measured before training, on halves)
        term_alone = first and not incremental and self._term_alone_is_better(data)
        if term_alone:
            self._keep_term_alone(data, Y)
        elif self.solver == "lbfgs":
            self._fit_lbfgs(data, Y)
        else:
            self._fit_stochastic(data, Y, incremental)
        self._record_term_alone(term_alone)
        if not np.all(np.isfinite(self._theta)):
            raise ValueError(
                "training produced non-finite weights; lower learning_rate_init, set "
                "clip_grad_norm, or scale the input features."
            )
        return self

    def _fit_lbfgs(self, data, Y):
        fit_lbfgs(self, data, Y)

    def _fit_stochastic(self, data, Y, incremental):
        fit_stochastic(self, data, Y, incremental)

    def _run_epoch(self, data, Y, rows, batch_size, workspace, interrupt):
        return run_epoch(self, data, Y, rows, batch_size, workspace, interrupt)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the network to sequences ``X`` and targets ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or (n_samples, n_timesteps)
            Input sequences; a 2D array is a set of univariate sequences. A
            step whose features are all NaN is missing (it leaves the state
            unchanged), and a list of ``(T_i, n_features)`` or ``(T_i,)``
            arrays is a set of sequences of unequal lengths
            (:ref:`variable_lengths`).
        y : array-like
            Targets: see the class docstring for the accepted shapes.
        sample_weight : array-like of shape (n_samples,) or (n_samples, n_timesteps), default=None
            Weight of each sequence in the loss; integer weights are equivalent
            to repeating sequences. With ``return_sequences=True``, one weight
            per step is accepted too: a sequence then weighs the mean of its
            observed steps' weights, and each step its weight relative to that
            mean.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight, incremental=False)


# The parameters are the same for both estimators; their docstrings are
# assembled from this block (plain concatenation) so the two cannot drift.
PARAMETERS_DOC = """
    Parameters
    ----------
    num_layers : int, default=1
        Number of stacked recurrent layers.

    hidden_size : int or tuple of int, default=32
        Hidden units per layer: one int for every layer, or a tuple with one
        entry per layer (its length must equal ``num_layers``).

    cell : {'rnn', 'lstm', 'gru'}, default='gru'
        Recurrent cell, with PyTorch's formulas and weight layout.

        .. versionchanged:: 0.2
           The default changed from ``'rnn'`` to ``'gru'`` (see
           :ref:`defaults`).

    nonlinearity : {'tanh', 'relu'}, default='tanh'
        Activation of the ``'rnn'`` cell (ignored by LSTM and GRU).

    bias : bool, default=True
        Whether the recurrent layers and the output layer have biases.

    bidirectional : bool, default=False
        Run every layer forward and backward in time and concatenate the two.
        The many-to-one head reads the forward direction's last step and the
        backward direction's first step.

    dropout : float, default=0.0
        Dropout probability on the input of every layer but the first, during
        training only (as PyTorch). Needs a stochastic solver.

    return_sequences : bool, default=False
        Many-to-many: predict a target at every time step (``y`` has a time
        axis) instead of one per sequence from the last step.

    residual : bool, default=False
        Skip connections between stacked layers: every layer but the first adds
        its input to its output (a learned linear projection where the widths
        differ).

    layer_norm : bool, default=True
        Layer normalisation of each layer's output (after the residual
        addition), with a learned gain and shift: at every step, the outputs
        of the layer's units are brought to zero mean and unit variance. It
        keeps the pooled features of the head apart from the first epoch,
        where small initial weights leave them nearly equal, and so shortens
        the initial plateau. A one-layer model exports to PyTorch with an
        ``nn.LayerNorm`` after the recurrent module; a deeper one with
        ``layer_norm=True`` does not export.

        .. versionchanged:: 0.2
           The default changed from False to True.

    pooling : {'last', 'mean', 'max'}, default='max'
        What the many-to-one head reads from the top layer: ``'last'`` its
        output at the last step (bidirectional: the forward direction's last
        and the backward direction's first step; without ``layer_norm`` the
        state, PyTorch's ``h_n``), ``'mean'`` or ``'max'`` its output
        averaged or maximised over the steps, unit by unit. Ignored with
        ``return_sequences=True``. The maximum lets every step reach the head
        directly, which trains much better on long sequences than the last
        state alone (:ref:`defaults`).

        .. versionadded:: 0.2

    forget_bias : float or None, default=1.0
        Initial total bias of the gate whose value 1 keeps the state: the
        LSTM's forget gate, the GRU's update gate. A positive value keeps the
        state open at the start of training, which helps long memories. None
        keeps PyTorch's uniform initialisation. Ignored by the ``'rnn'`` cell
        and without biases.

        .. versionchanged:: 0.2
           Applies to the GRU too; the default changed from None to 1.0.

    init : {'uniform', 'orthogonal'}, default='uniform'
        Initial weights: PyTorch's U(-1/sqrt(h), 1/sqrt(h)), optionally with
        orthogonal recurrent matrices.

    solver : {'adam', 'sgd', 'lbfgs'}, default='adam'
        Optimizer. ``'lbfgs'`` minimises the full-batch objective with
        :func:`scipy.optimize.minimize` (deterministic, precise, for small
        data); the others train on minibatches for ``max_iter`` epochs.

    alpha : float, default=0.0001
        Strength of the L2 penalty ``alpha / 2 * ||W||^2`` on the weight
        matrices (not the biases), added to the weighted mean loss.

    batch_size : int or 'auto', default='auto'
        Minibatch size of the stochastic solvers, clipped to the number of
        samples. ``'auto'`` trains on all of fewer than 32 sequences at once,
        gives other small data sets several updates per epoch and large ones
        about a hundred: ``n // 8`` between 8 and 32 sequences, and
        ``n // 100`` (at most 1,024) above 3,200 sequences.

        .. versionchanged:: 0.2
           ``'auto'`` was ``min(200, n_samples)``.

        .. versionchanged:: 0.3
           Fewer than 32 sequences train as one batch (they had batches of
           8), so that integer sample weights equal repeated samples.

    learning_rate_init : float, default=0.01
        Initial step size of ``'sgd'`` and ``'adam'``.

        .. versionchanged:: 0.2
           The default changed from 0.001 to 0.01.

    learning_rate : {'constant', 'plateau'}, default='plateau'
        Learning-rate schedule of the stochastic solvers. ``'plateau'``
        multiplies the rate by ``plateau_factor`` each time the training loss
        (with early stopping: the validation score) has not improved by
        ``tol`` for ``n_iter_no_change`` epochs, and stops training at the
        plateau after which the rate would fall below a hundredth of
        ``learning_rate_init``. ``'constant'`` keeps the rate and stops at
        the first plateau. Epochs spent on the initial plateau (training
        loss above 90% of that of the best constant prediction) count
        towards neither; see :ref:`stopping_rule`.

        .. versionadded:: 0.2

    plateau_factor : float, default=0.2
        Multiplier of the learning rate at each plateau of
        ``learning_rate='plateau'``, in (0, 1).

        .. versionadded:: 0.2

    max_iter : int, default=200
        Epochs of the stochastic solvers, iterations of ``'lbfgs'``.

    shuffle : bool, default=True
        Shuffle the samples every epoch. With ``shuffle=False`` the
        early-stopping validation set is the last part of the data, so a time
        series never validates on its past.

    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights, shuffling, the validation split and
        dropout. An int gives bit-for-bit the same model on the same machine.

    tol : float, default=1e-4
        Improvement (of the training loss, or of the validation score with
        early stopping) below which an epoch counts as no improvement;
        gradient tolerance of ``'lbfgs'``.

    verbose : bool, default=False
        Print one line per epoch: ``epoch k/max_iter``, the loss, the
        validation score, the learning rate, the time elapsed and the most
        time the remaining epochs can take.

    warm_start : bool, default=False
        Continue from the current weights (and optimizer state) when ``fit`` is
        called again.

    momentum : float, default=0.9
        Momentum of ``'sgd'``.

    nesterovs_momentum : bool, default=True
        Use Nesterov's momentum with ``'sgd'``.

    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data, let its score drive the
        stopping rule and the learning-rate schedule instead of the training
        loss, and restore the weights of the best score. Stochastic solvers
        only.

    validation_fraction : float, default=0.1
        Share of the data held out for early stopping.

    beta_1 : float, default=0.9
        Decay of Adam's first-moment estimate.

    beta_2 : float, default=0.999
        Decay of Adam's second-moment estimate.

    epsilon : float, default=1e-8
        Numerical stability term of Adam.

    n_iter_no_change : int, default=10
        Epochs without improvement that make a plateau, where the stochastic
        solvers reduce the learning rate or stop (``learning_rate``).

    max_fun : int, default=15000
        Maximum number of loss evaluations of ``'lbfgs'``.

    clip_grad_norm : float or None, default=1.0
        Rescale each minibatch gradient so its global L2 norm is at most
        this; None does not clip.

        .. versionchanged:: 0.2
           The default changed from None to 1.0.

    dtype : {'auto', 'float32', 'float64'}, default='auto'
        Precision of the weights and of the computation. float32 (PyTorch's
        default too) trains up to about twice as fast on large data; float64
        gives results independent, to about 1e-15, of how sequences are
        batched and of the BLAS thread count (:ref:`reproducibility`).
        ``'auto'`` trains in float64 when the training data hold at most
        1,000 time steps (``n_samples * n_timesteps``), where an epoch takes
        milliseconds and float32 saves little, and in float32 above; the
        choice is made at the first fit and kept by ``warm_start`` and
        ``partial_fit`` (``dtype_``). Predictions and probabilities are
        float64 whichever is chosen.

        .. versionchanged:: 0.2
           The default changed from 'float64' to 'float32'.

        .. versionchanged:: 0.3
           The default changed from 'float32' to 'auto'.
"""

ATTRIBUTES_DOC = """
    loss_ : float
        The last epoch's mean training loss (``'lbfgs'``: the final objective).

    loss_curve_ : list of float
        Mean training loss of every epoch (``'lbfgs'``: of every iteration).

    best_loss_ : float
        Smallest value in ``loss_curve_``.

    validation_scores_ : list of float or None
        Score on the held-out data after every epoch (early stopping only).

    best_validation_score_ : float or None
        Best of ``validation_scores_``; its weights are the ones kept.

    n_iter_ : int
        Epochs run (``'lbfgs'``: iterations). 1 for a regressor whose linear
        fallback kept the autoregressive term alone: its closed-form fit.

    dtype_ : numpy.dtype
        Precision of the fitted weights: ``dtype``, or what ``'auto'`` chose.

    t_ : int
        Training samples seen.

    network_ : skdeeprnn.core.StackedRNN
        The network's architecture and its forward/backward passes.

    weights_ : dict of str to ndarray
        The parameters under PyTorch's names (see :attr:`weights_`).

    n_features_in_ : int
        ``X.shape[1]`` seen in ``fit`` (the number of time steps), as
        scikit-learn defines it.

    n_features_per_step_ : int
        Features per time step seen in ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names, when ``X`` was a DataFrame with string column names.
"""
