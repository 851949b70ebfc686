"""DeepRNNRegressor: regression on sequences (squared, absolute, Huber or pinball loss)."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import RegressorMixin, _fit_context
from sklearn.metrics import r2_score
from sklearn.utils._available_if import available_if
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import column_or_1d

from .._sequences import pad_targets
from ..core import ridge_gcv, weighted_loss
from ._base import ATTRIBUTES_DOC, AUTO_ALPHA_MAX, PARAMETERS_DOC, BaseDeepRNN
from ._fallback import (
    AUTO_FALLBACK_MIN_SEQUENCES,
    FALLBACK_Z,
    network_gain_z,
)

# autoregressive='auto' reads all steps of the training sequences, up to this many
AUTO_AUTOREGRESSIVE_STEPS = 1024

# Largest target magnitude whose standardised predictions stay finite when decoded
MAX_STANDARDIZED_TARGET = 1e300


def _stochastic(estimator):
    return estimator.solver != "lbfgs"


class DeepRNNRegressor(RegressorMixin, BaseDeepRNN):  # noqa: D101 (docstring assembled below)
    _y_numeric = True

    _parameter_constraints: dict = {
        **BaseDeepRNN._parameter_constraints,
        "standardize_target": ["boolean"],
        "loss": [StrOptions({"squared_error", "absolute_error", "huber", "quantile"})],
        "quantile": [Interval(Real, 0, 1, closed="neither")],
        "autoregressive": [StrOptions({"auto"}), Interval(Integral, 0, None, closed="left")],
        "alpha": [StrOptions({"auto"}), Interval(Real, 0, None, closed="left")],
        "linear_fallback": [StrOptions({"auto"}), "boolean"],
    }

    # every parameter is listed: scikit-learn's get_params reads them from the signature
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
        pooling="last",
        forget_bias=1.0,
        init="uniform",
        solver="adam",
        alpha="auto",
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
        standardize_target=True,
        loss="squared_error",
        quantile=0.5,
        autoregressive="auto",
        linear_fallback="auto",
    ):
        super().__init__(
            num_layers,
            hidden_size,
            cell=cell, nonlinearity=nonlinearity, bias=bias, bidirectional=bidirectional,
            dropout=dropout, return_sequences=return_sequences, residual=residual,
            layer_norm=layer_norm, pooling=pooling, forget_bias=forget_bias, init=init,
            solver=solver, alpha=alpha, batch_size=batch_size,
            learning_rate_init=learning_rate_init, learning_rate=learning_rate,
            plateau_factor=plateau_factor, max_iter=max_iter, shuffle=shuffle,
            random_state=random_state, tol=tol, verbose=verbose, warm_start=warm_start,
            momentum=momentum, nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping, validation_fraction=validation_fraction, beta_1=beta_1,
            beta_2=beta_2, epsilon=epsilon, n_iter_no_change=n_iter_no_change, max_fun=max_fun,
            clip_grad_norm=clip_grad_norm, dtype=dtype,
        )
        self.standardize_target = standardize_target
        self.loss = loss
        self.quantile = quantile
        self.autoregressive = autoregressive
        self.linear_fallback = linear_fallback

    def _autoregressive_steps(self):
        """Return the steps the autoregressive term reads (0: none) for ``n_features_in_`` steps."""
        if self.autoregressive == "auto":
            # one feature per step: the sequences are a series' own lags, where a linear
            # autoregression is the model to beat; with more features the network alone
            # did better in every measurement (the defaults page)
            if (self.return_sequences or self.n_features_per_step_ > 1
                    or getattr(self, "_fitted_with_missing_ends", False)):
                return 0
            return min(self.n_features_in_, AUTO_AUTOREGRESSIVE_STEPS)
        if self.autoregressive > self.n_features_in_:
            raise ValueError(
                f"autoregressive={self.autoregressive} is more steps than the sequences have "
                f"({self.n_features_in_}); use at most {self.n_features_in_}, or 'auto'."
            )
        return int(self.autoregressive)

    def _alpha_value(self):
        """Return ``alpha``, ``'auto'`` resolved at the first fit (1 / total weight, <= 0.01)."""
        if self.alpha == "auto":
            return getattr(self, "_auto_alpha", AUTO_ALPHA_MAX)
        return self.alpha

    def _check_params(self):
        sizes = super()._check_params()
        if self.autoregressive not in ("auto", 0) and self.return_sequences:
            raise ValueError(
                f"autoregressive={self.autoregressive!r} needs many-to-one output; with "
                "return_sequences=True use autoregressive=0 or 'auto' (which is 0 then)."
            )
        return sizes

    def _initialize_autoregressive(self, data, Y):
        """Fit the autoregressive term; training then leaves it as it is.

        Weighted ridge regression of the (encoded) targets on the last ``K``
        inputs, its penalty chosen by generalised cross-validation among
        :data:`~skdeeprnn.core.RIDGE_PENALTIES` (:func:`~skdeeprnn.core.ridge_gcv`).
        The network then learns what this linear autoregression leaves.
        """
        K = self.network_.arch.autoregressive
        if not K:
            return
        Z = self.network_.lagged_inputs(np.swapaxes(data.X, 0, 1),
                                        None if data.observed is None else data.observed.T)
        coef, _, _ = ridge_gcv(Z.T, Y, data.weights)
        view = self.network_.layout.views(self._theta)["autoregressive.weight"]
        view[...] = coef.T

    def _initialize(self, arch, rng, dtype):
        super()._initialize(arch, rng, dtype)
        self.linear_fallback_ = False
        self.linear_fallback_z_ = None

    def _term_alone_is_better(self, data):
        """Run the linear fallback's test (:mod:`._fallback`) if it applies; True: term alone."""
        if not self.network_.arch.autoregressive or self.linear_fallback is False:
            return False
        if self.linear_fallback == "auto" and data.X.shape[0] < AUTO_FALLBACK_MIN_SEQUENCES:
            return False
        self.linear_fallback_z_ = network_gain_z(self, data)
        return self.linear_fallback_z_ is not None and self.linear_fallback_z_ > FALLBACK_Z

    def _keep_term_alone(self, data, Y):
        """Make the model the autoregressive term alone: zero the network's output weights."""
        views = self.network_.layout.views(self._theta)
        views["head.weight"][...] = 0.0
        if "head.bias" in views:
            views["head.bias"][...] = 0.0
        self.loss_ = weighted_loss(self._loss_name(), self._scores(data.X).astype(np.float64),
                                   Y.astype(np.float64), data.weights)[0]
        self.best_loss_ = self.loss_
        # one iteration: the term's closed-form (ridge) fit, one pass over the sequences
        self.loss_curve_ = [self.loss_]
        self.n_iter_ = 1
        self.t_ = data.X.shape[0]

    def _record_term_alone(self, term_alone):
        self.linear_fallback_ = bool(term_alone)

    def _loss_name(self):
        """Return the core's loss: its name, or ``('quantile', {'quantile': q})``."""
        if self.loss == "quantile":
            return ("quantile", {"quantile": float(self.quantile)})
        return self.loss

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.regressor_tags.poor_score = True
        return tags

    def _encode_targets(self, y, sample_weight, first, classes=None, dtype=np.float64):
        """Scale ``y`` to zero (weighted) mean and unit variance per output.

        ``dtype`` is the precision the model trains in.
        """
        y = self._numeric_target(y)
        if self.return_sequences:
            if y.ndim not in (2, 3):
                raise ValueError(f"y must be (n, T) or (n, T, k); got shape {y.shape}")
            Y = y[..., np.newaxis] if y.ndim == 2 else y
        else:
            if y.ndim == 2 and y.shape[1] == 1:
                y = column_or_1d(y, warn=True)
            Y = y[:, np.newaxis] if y.ndim == 1 else y
        self._check_target_range(Y, dtype)
        if first and not self.standardize_target:
            self._y_ndim = y.ndim
            self._y_mean = np.zeros(Y.shape[-1])
            self._y_scale = np.ones(Y.shape[-1])
        elif first:
            self._y_ndim = y.ndim
            # one weight per sequence (n,) or per step (n, T)
            w = sample_weight.reshape(sample_weight.shape + (1,) * (Y.ndim - sample_weight.ndim))
            w = np.broadcast_to(w, Y.shape)
            axes = tuple(range(Y.ndim - 1))
            with np.errstate(over="ignore", invalid="ignore"):
                mean = np.average(Y, axis=axes, weights=w)
                std = np.sqrt(np.average((Y - mean) ** 2, axis=axes, weights=w))
            if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(std))):
                # the sums or squares overflow: the same statistics of y / max|y|
                top = np.abs(Y).max(axis=axes)
                Ys = Y / top
                mean_s = np.average(Ys, axis=axes, weights=w)
                std = np.sqrt(np.average((Ys - mean_s) ** 2, axis=axes, weights=w)) * top
                mean = mean_s * top
            self._y_mean = mean
            self._y_scale = np.where(std > np.finfo(np.float64).eps * np.maximum(1, abs(mean)),
                                     std, 1.0)
        elif y.ndim != self._y_ndim or Y.shape[-1] != self._y_mean.shape[0]:
            raise ValueError(
                f"y has shape {y.shape} but the model was fitted on targets with "
                f"{self._y_mean.shape[0]} output(s) and {self._y_ndim} dimension(s)."
            )
        return (Y - self._y_mean) / self._y_scale

    def _check_target_range(self, Y, dtype):
        """Refuse targets so large that the loss or the predictions would overflow in ``dtype``."""
        top = float(np.abs(Y).max()) if Y.size else 0.0
        if self.standardize_target:
            limit, what = MAX_STANDARDIZED_TARGET, "the predictions"
        else:
            limit = float(np.sqrt(np.finfo(dtype).max)) / 1e3
            limit, what = float(f"{limit:.1e}"), f"the squared error in {np.dtype(dtype).name}"
        if top > limit:
            raise ValueError(
                f"y has values of magnitude up to {top:.3g}, beyond {limit:.3g}: {what} would "
                "overflow. Rescale y"
                + (" or use standardize_target=True." if not self.standardize_target else ".")
            )

    def _numeric_target(self, y, missing=None):
        """``y`` as float64, checked; NaN is accepted where ``missing`` (n, T) is True."""
        y = np.asarray(y)
        if y.dtype.kind not in "biuf":
            raise ValueError(
                f"{type(self).__name__} needs a numeric target y; got dtype {y.dtype}. "
                "For class labels use DeepRNNClassifier."
            )
        y = y.astype(np.float64)
        nan = np.isnan(y)
        if missing is not None and y.shape[:2] == missing.shape:
            nan[missing] = False
        if nan.any():
            raise ValueError("y contains NaN" + (
                " at observed steps." if missing is not None else "."))
        if np.isinf(y).any():
            raise ValueError("y contains infinity.")
        return y

    def _decode(self, scores):
        # float64 whatever the model's dtype, as every scikit-learn regressor predicts
        y = scores.astype(np.float64) * self._y_scale + self._y_mean
        if self._y_ndim == (2 if self.return_sequences else 1):
            y = y[..., 0]
        return y

    def _validation_score(self, X, y, sample_weight):
        return self._r2(y, self._decode(self._scores(X)), sample_weight)

    def _r2(self, y, y_pred, sample_weight):
        y = np.asarray(y, dtype=np.float64)
        if self.return_sequences:
            # every observed (sequence, step) pair is one observation of each output;
            # the predictions are NaN at the missing steps
            T = y.shape[1]
            y = y.reshape((y.shape[0] * T,) + y.shape[2:])
            y_pred = y_pred.reshape((y_pred.shape[0] * T,) + y_pred.shape[2:])
            if sample_weight is not None:
                sample_weight = np.asarray(sample_weight, dtype=np.float64)
                sample_weight = (sample_weight.ravel() if sample_weight.ndim == 2
                                 else np.repeat(sample_weight, T))
            observed = ~np.isnan(y_pred.reshape(len(y_pred), -1)[:, 0])
            if not observed.all():
                y, y_pred = y[observed], y_pred[observed]
                if sample_weight is not None:
                    sample_weight = sample_weight[observed]
        return r2_score(y, y_pred, sample_weight=sample_weight)

    def predict(self, X):
        """Predict the targets of sequences ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or (n_samples, n_timesteps)
            Input sequences. A step whose features are all NaN is missing; a
            list of sequences of unequal lengths is padded with such steps
            (:ref:`variable_lengths`), at the front when the model has an
            autoregressive term.

        Returns
        -------
        y : ndarray
            Shape ``(n_samples,)`` or ``(n_samples, n_outputs)`` as ``y`` in
            ``fit``; with ``return_sequences=True``, ``(n_samples,
            n_timesteps)`` or ``(n_samples, n_timesteps, n_outputs)``, NaN at
            missing steps.
        """
        return self._decode(self._predict_scores(X))

    def score(self, X, y, sample_weight=None):
        """Coefficient of determination R² of the prediction.

        With ``return_sequences=True`` every time step of every sequence is
        one observation.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or (n_samples, n_timesteps)
            Input sequences. A step whose features are all NaN is missing; a
            list of sequences of unequal lengths is padded with such steps
            (:ref:`variable_lengths`), at the front when the model has an
            autoregressive term.
        y : array-like
            True targets, shaped as in ``fit``.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each sequence.

        Returns
        -------
        score : float
            R² of ``self.predict(X)`` against ``y``.
        """
        y_pred = self.predict(X)
        y = self._score_target(y)
        missing = None
        if self.return_sequences:
            y = pad_targets(y, y_pred.shape[1])
            missing = np.isnan(y_pred.reshape(y_pred.shape[:2] + (-1,))[..., 0])
        y = self._numeric_target(y, missing)
        return self._r2(y, y_pred, sample_weight)

    @available_if(_stochastic)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Train one epoch on ``X``, ``y``, continuing from the current weights.

        The target scaling is fitted on the first call and kept after. Not
        available for ``solver='lbfgs'``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or (n_samples, n_timesteps)
            Input sequences. A step whose features are all NaN is missing; a
            list of sequences of unequal lengths is padded with such steps
            (:ref:`variable_lengths`), at the front when the model has an
            autoregressive term.
        y : array-like
            Targets, shaped as in ``fit``.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each sequence.

        Returns
        -------
        self : object
            The updated estimator.
        """
        return self._fit(X, y, sample_weight, incremental=True)


def _regressor_parameters_doc(doc):
    """Return the shared parameter docs with the regressor's defaults of pooling and alpha."""
    replacements = [
        ("""    pooling : {'last', 'mean', 'max'}, default='max'\n""",
         """    pooling : {'last', 'mean', 'max'}, default='last'\n"""),
        ("""        directly, which trains much better on long sequences than the last
        state alone (:ref:`defaults`).

        .. versionadded:: 0.2\n""",
         """        directly, which trains much better on long sequences than the last
        state alone (:ref:`defaults`): the classifier's default. The
        regressor's is ``'last'``, which forecasts better from lag windows,
        where the newest step matters most (:ref:`forecasting`).

        .. versionadded:: 0.2

        .. versionchanged:: 0.3
           The regressor's default was ``'max'``.\n"""),
        ("""    alpha : float, default=0.0001\n""",
         """    alpha : float or 'auto', default='auto'\n"""),
        ("""        matrices (not the biases), added to the weighted mean loss.\n""",
         """        matrices (not the biases), added to the weighted mean loss.
        ``'auto'`` (the regressor's default; the classifier's is 0.0001): a
        penalty worth one training sequence, ``1 / n_samples`` (the sum of
        ``sample_weight``), at most 0.01. The network learns the residual of
        the autoregressive term, which on a short series it overfits without
        a penalty that strong (the Nile's 70 windows), while on tens of
        thousands of windows so strong a penalty shrinks the weights for
        hundreds of epochs (:ref:`defaults`).

        .. versionchanged:: 0.3
           The regressor's default was 0.0001.\n"""),
    ]
    for old, new in replacements:
        if old not in doc:
            raise RuntimeError(f"the shared parameter docs changed: {old!r} is not there")
        doc = doc.replace(old, new)
    return doc


REGRESSOR_PARAMETERS_DOC = _regressor_parameters_doc(PARAMETERS_DOC)

DeepRNNRegressor.__doc__ = (
    """Deep (stacked) recurrent network regressor trained by back-propagation through time.

    Reads sequences ``X`` of shape ``(n_samples, n_timesteps, n_features)`` (a
    2D ``(n_samples, n_timesteps)`` array is a set of univariate sequences)
    and predicts ``y`` of shape ``(n_samples,)`` or ``(n_samples, n_outputs)``
    from the top layer's last state (many-to-one), or with
    ``return_sequences=True`` a target per time step, ``y`` of shape
    ``(n_samples, n_timesteps)`` or ``(n_samples, n_timesteps, n_outputs)``.
    By default the targets are standardised internally (weighted mean and standard
    deviation per output) and predictions are returned in the original units.
    The loss (``loss``) is averaged over outputs and weighted by
    ``sample_weight``: half the squared error by default, so that the model
    predicts the conditional mean; the absolute error or the pinball loss for
    the conditional median or another quantile.

    .. versionadded:: 0.1
"""
    + REGRESSOR_PARAMETERS_DOC
    + """
    standardize_target : bool, default=True
        Train on targets standardised to zero (weighted) mean and unit
        variance per output, and return predictions in the original units.
        False trains on ``y`` as given, as plain PyTorch code would: the loss,
        ``alpha`` and the learning rate then act on the raw scale (reproducing
        a published network trained that way needs this).

        .. versionadded:: 0.2

    loss : {'squared_error', 'absolute_error', 'huber', 'quantile'}, \
            default='squared_error'
        The loss on the (standardised) targets, averaged over outputs, with
        ``r`` a target minus its prediction. ``'squared_error'``: ``r**2 / 2``,
        fits the conditional mean. ``'absolute_error'``: ``|r|``, fits the
        conditional median and is robust to outliers in ``y``. ``'huber'``:
        ``r**2 / 2`` for ``|r| <= 1`` and ``|r| - 1/2`` beyond (PyTorch's
        ``nn.HuberLoss(delta=1.0)``), between the two; on standardised targets
        the threshold is one standard deviation of ``y`` (per output), with
        ``standardize_target=False`` it is 1 in the units of ``y``.
        ``'quantile'``: the pinball loss ``max(q * r, (q - 1) * r)`` with ``q =
        quantile``, fits the conditional ``quantile`` (a forecast's upper or
        lower bound). The standardisation does not change what the absolute
        and pinball losses fit: the median and the quantiles follow the affine
        scaling. ``score`` stays R² whatever the loss; ``loss_`` and
        ``loss_curve_`` report this loss.

        .. versionadded:: 0.3

    quantile : float, default=0.5
        The quantile that ``loss='quantile'`` fits, in (0, 1); unused by the
        other losses. 0.5 fits the median, as ``'absolute_error'`` does (with
        half its loss value).

        .. versionadded:: 0.3

    autoregressive : 'auto' or int, default='auto'
        A linear autoregression beside the network: the last ``K`` steps of
        each sequence, flattened (``K * n_features`` inputs, missing steps as
        0), enter the output through a linear map added to the network's
        prediction, LSTNet's "highway". It is fitted first, by weighted ridge
        regression of the standardised targets with the penalty of the smallest
        generalised cross-validation error among ``10**-6, ..., 10**2`` (in
        units of the weighted mean squared error), and training leaves it as it is: the
        network learns what the linear autoregression leaves. On forecasts
        from lag windows the term gives the network a linear model's
        start (:ref:`forecasting`). ``'auto'``: for sequences of one feature
        (a series' own lags), every step of the training sequences, up to
        1,024 (``K = min(n_timesteps, 1024)``); none for sequences of several
        features, where the network alone forecast better in every
        measurement (:ref:`defaults`); none with ``return_sequences=True``;
        and none when a training sequence misses its last step (unequal
        lengths padded at the end), since the term reads the last positions,
        not the last observed steps (missing steps elsewhere, such as a
        window's front padding, read as 0). An int: ``K`` (at most
        ``n_timesteps``), whatever the number of features; 0 turns the term
        off, the network alone.

        .. versionadded:: 0.3

    linear_fallback : 'auto' or bool, default='auto'
        With the autoregressive term, whether a first ``fit`` checks that the
        network improves on the term alone, and keeps the term alone where
        it does not. A model of the same parameters fitted on the first half
        of the training sequences, in their given order, predicts the second
        half with its network and without it, and, up to 1,000 sequences,
        one fitted on the second half predicts the first. Contiguous halves
        make the held-out windows of a time-ordered series a stretch of time
        the half model has not seen, where random halves would leave it
        their overlapping neighbours. When the network's per-sequence loss
        there is larger by more than 1.645 standard errors (a one-sided
        paired test at the 5% level), the fit keeps the term alone: the
        network's output weights are set to 0 and it is not trained
        (``linear_fallback_`` is True; ``n_iter_`` is 1, the term's
        closed-form fit, whose training loss is ``loss_curve_[0]``).
        Otherwise the fit trains as it would without the test, to the same
        model. The test costs about one more fit up to 1,000 sequences (two
        on halves) and about half a fit above. ``'auto'``: test from 64 training
        sequences: with fewer, the halves would train on a single batch
        each, unlike the whole. ``True``: whenever there is a term;
        ``False``: never. Sequences in an order other than time's (sorted
        by the target, say) give halves that differ, and the test then
        favours the term (the iris data, sorted by species, as sequences of
        4 steps: z 6.7); shuffle them first, or set ``False``.
        ``partial_fit`` and warm-started fits do not test; they train the
        network (from zero output weights after a fallback). On short or
        nearly linear series the network can add more noise than it
        removes (:ref:`forecasting`).

        .. versionadded:: 0.3

    Attributes
    ----------"""
    + ATTRIBUTES_DOC
    + """
    linear_fallback_ : bool
        True when the fit kept the autoregressive term alone
        (``linear_fallback``): the network's output weights are 0.

    linear_fallback_z_ : float or None
        The linear fallback's test statistic at the first fit: the network's
        cross-fitted loss minus the term alone's, in standard errors
        (positive: the network did worse). None when the test did not run,
        or could not (a half without weight).
"""
    + """
    See Also
    --------
    DeepRNNClassifier : The same network for classification.
    skdeeprnn.preprocessing.SlidingWindowTransformer : Turn a time-ordered table into windows.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.pipeline import make_pipeline
    >>> from skdeeprnn import DeepRNNRegressor, SequenceStandardScaler
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(20.0, 4.0, size=(300, 10, 2))  # 300 sequences, 10 steps, 2 features
    >>> y = X[:, :, 0].sum(axis=1)                    # needs the whole sequence
    >>> reg = make_pipeline(SequenceStandardScaler(), DeepRNNRegressor(random_state=0))
    >>> reg = reg.fit(X[:200], y[:200])
    >>> reg.predict(X[200:203]).shape
    (3,)
    >>> reg.score(X[200:], y[200:]) > 0.9
    True
"""
)
