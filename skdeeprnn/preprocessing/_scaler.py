"""Per-feature standardisation of ready-made sequences.

scikit-learn's :class:`~sklearn.preprocessing.StandardScaler` rejects 3D input, and
reshaping ``(n, T, d)`` to ``(n * T, d)`` around it does not fit in a ``Pipeline``.
:class:`SequenceStandardScaler` takes the sequences as they are: the statistics of
feature ``j`` are taken over every sample and every time step, NaN ignored.
"""

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from .._sequences import pad_sequences

_FLOAT_DTYPES = (np.float64, np.float32)


def _sequence_moments(X, sample_weight):
    """Per-feature count, mean and variance of ``(n, T, d)`` X, NaN ignored.

    ``sample_weight`` (one weight per sequence, or None) multiplies every value of a
    sequence. The count is the number of non-NaN values, or their summed weights.
    Features without an observed value get a count of 0 and a mean and variance of 0.
    Accumulation is in float64 whatever the dtype of X.
    """
    observed = ~np.isnan(X)
    counts = observed.sum(axis=1)  # (n, d)
    sums = np.nansum(X, axis=1, dtype=np.float64)  # (n, d)
    if sample_weight is None:
        n_seen = counts.sum(axis=0)
        total = sums.sum(axis=0)
    else:
        n_seen = sample_weight @ counts
        total = sample_weight @ sums
    denominator = np.where(n_seen > 0, n_seen, 1)
    mean = total / denominator
    # Two passes (deviations from the mean) rather than E[x^2] - E[x]^2, which cancels.
    squares = np.nansum(np.square(X - mean), axis=1)  # (n, d), float64
    squares = squares.sum(axis=0) if sample_weight is None else sample_weight @ squares
    return n_seen, mean, squares / denominator


def _scale_from_variance(var, mean, n_seen):
    """Return the standard deviations, with 1 for features indistinguishable from a constant.

    The same rule as scikit-learn's ``StandardScaler``: a variance within the rounding
    error bound of the two-pass algorithm (Chan, Golub and LeVeque) counts as zero, and
    dividing by 1 leaves a constant feature centred instead of blowing it up.
    """
    eps = np.finfo(np.float64).eps
    constant = var <= n_seen * eps * var + (n_seen * mean * eps) ** 2
    scale = np.sqrt(var)
    scale[constant] = 1.0
    return scale


class SequenceStandardScaler(TransformerMixin, BaseEstimator, auto_wrap_output_keys=None):
    """Standardise each feature of a set of sequences over samples and time steps.

    For sequences ``X[i, t, j]`` of shape ``(n_samples, n_timesteps, n_features)``,
    feature ``j`` is centred and scaled by the mean and standard deviation of all its
    values ``X[:, :, j]``, over every sequence and every step: the same statistics as
    :class:`~sklearn.preprocessing.StandardScaler` on ``X.reshape(-1, n_features)``.
    A 2D array ``(n_samples, n_timesteps)`` holds univariate sequences: one feature,
    scaled by the mean and standard deviation of all its values.

    NaN marks a missing value (or the padding of a shorter sequence): it is left out
    of the statistics and stays NaN in the output.

    .. versionadded:: 0.2

    Parameters
    ----------
    with_mean : bool, default=True
        If True, subtract the mean of each feature.

    with_std : bool, default=True
        If True, divide each feature by its standard deviation.

    copy : bool, default=True
        If False, scale a float64 or float32 NumPy array in place where possible
        (the same contract as :class:`~sklearn.preprocessing.StandardScaler`). The
        result must still be taken from the return value.

    Attributes
    ----------
    mean_ : ndarray of shape (`n_features_per_step_`,)
        Mean of each feature over the values seen, NaN ignored. Computed whatever
        `with_mean` says; `with_mean` only decides whether :meth:`transform` uses it.

    var_ : ndarray of shape (`n_features_per_step_`,)
        Variance of each feature (the population variance, ``ddof=0``), NaN ignored.

    scale_ : ndarray of shape (`n_features_per_step_`,)
        Standard deviation of each feature, ``np.sqrt(var_)``, with 1 for a feature
        whose variance is zero up to rounding. Used by :meth:`transform` when
        `with_std` is True.

    n_samples_seen_ : ndarray of shape (`n_features_per_step_`,)
        Number of non-NaN values seen for each feature, over every sample and step
        (int). With `sample_weight`, the sum of the weights of those values (float).

    n_features_in_ : int
        ``X.shape[1]`` of the data seen first, as scikit-learn defines the attribute:
        for sequences, the number of time steps.

    n_features_per_step_ : int
        Number of features at each time step, ``X.shape[2]`` (1 for 2D input).

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names of a DataFrame seen during :meth:`fit` (one column per time step
        of univariate sequences). Defined only when they are all strings.

    See Also
    --------
    sklearn.preprocessing.StandardScaler : The same statistics for a 2D table.
    SlidingWindowTransformer : Builds sequences from a time-ordered table; put a
        ``StandardScaler`` in front of it rather than this scaler behind it.

    Notes
    -----
    **Sequence length.** A 3D array may have any number of time steps at
    :meth:`transform` time, since the statistics do not depend on the step: a scaler
    fitted on sequences of 24 steps transforms sequences of 30. Only the number of
    features per step must match. A 2D array, however, must have ``n_features_in_``
    columns, as scikit-learn requires of every 2D input (its conformance checks test
    this); to scale univariate sequences of another length, pass them as
    ``X[:, :, np.newaxis]``.

    **Missing values.** NaN is ignored by the statistics and kept in the output.
    Infinite values are an error, and so is a feature without any observed value.

    **Weights.** ``sample_weight`` gives one weight per sequence; every value of a
    sequence counts with its weight, so an integer weight is the same as repeating
    the sequence.

    The output has the shape of the input and is 3D for 3D input, so
    :meth:`set_output` and ``get_feature_names_out`` are not available.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeeprnn import SequenceStandardScaler
    >>> X = np.array([[[1.0, 10.0], [3.0, 30.0]],
    ...               [[5.0, 50.0], [np.nan, 70.0]]])  # 2 sequences, 2 steps, 2 features
    >>> scaler = SequenceStandardScaler().fit(X)
    >>> scaler.mean_
    array([ 3., 40.])
    >>> scaler.n_samples_seen_
    array([3, 4])
    >>> scaler.transform(X).round(3)
    array([[[-1.225, -1.342],
            [ 0.   , -0.447]],
    <BLANKLINE>
           [[ 1.225,  0.447],
            [   nan,  1.342]]])
    >>> scaler.transform(np.ones((1, 5, 2))).shape  # any number of time steps
    (1, 5, 2)
    """

    _parameter_constraints: dict = {
        "with_mean": ["boolean"],
        "with_std": ["boolean"],
        "copy": ["boolean"],
    }

    def __init__(self, *, with_mean=True, with_std=True, copy=True):
        self.with_mean = with_mean
        self.with_std = with_std
        self.copy = copy

    def __sklearn_is_fitted__(self):
        # validate_data sets n_features_in_ before the rest of the input is checked, so a
        # failed first fit must not look fitted.
        return hasattr(self, "mean_")

    def _validate(self, X, *, reset, copy=False):
        """Validate X as a 2D or 3D float array; check it against the fitted shape."""
        # At transform time the n_features_in_ check of validate_data (X.shape[1], the
        # number of steps) is skipped for 3D input, where the length is free; it is done
        # below for 2D input. A list of sequences of unequal lengths is NaN-padded first,
        # as the estimators do (to the fitted length at least, for univariate items).
        X = pad_sequences(X, np.float64, None if reset else getattr(self, "n_features_in_", None))
        X = validate_data(
            self,
            X,
            reset=reset,
            ensure_2d=reset,
            allow_nd=True,
            dtype=_FLOAT_DTYPES,
            ensure_all_finite="allow-nan",
            copy=copy,
            force_writeable=not reset,
        )
        if X.ndim == 1:
            raise ValueError(
                f"X must be 2D (n_samples, n_timesteps) or 3D (n_samples, n_timesteps, "
                f"n_features); got a 1D array of shape {X.shape}. Reshape your data with "
                "X.reshape(1, -1) if it is a single univariate sequence."
            )
        if X.ndim > 3:
            raise ValueError(
                f"X must be 2D (n_samples, n_timesteps) or 3D (n_samples, n_timesteps, "
                f"n_features); got an array with {X.ndim} dimensions and shape {X.shape}."
            )
        n_features = X.shape[2] if X.ndim == 3 else 1
        if X.shape[1] == 0 or n_features == 0:
            raise ValueError(
                f"X has shape {X.shape}; at least 1 time step and 1 feature are required."
            )
        if reset:
            self.n_features_per_step_ = n_features
            return X
        if n_features != self.n_features_per_step_:
            raise ValueError(
                f"X has {n_features} features per time step, but {type(self).__name__} was "
                f"fitted with {self.n_features_per_step_} features per time step."
            )
        if X.ndim == 2 and X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input. A 2D X must have as many columns "
                "(time steps) as in fit; pass univariate sequences of another length as "
                "X[:, :, np.newaxis]."
            )
        return X

    def _reset(self):
        for name in ("mean_", "var_", "scale_", "n_samples_seen_"):
            self.__dict__.pop(name, None)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Compute the mean and standard deviation of each feature.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or (n_samples, n_timesteps)
            Sequences; 2D input is univariate sequences. NaN values are ignored.
            A list of ``(T_i, n_features)`` or ``(T_i,)`` arrays is padded with
            NaN at the end to the longest.

        y : None
            Ignored.

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each sequence; None weighs every sequence 1.

        Returns
        -------
        self : object
            The fitted scaler.
        """
        self._reset()
        return self._partial_fit(X, sample_weight)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None, sample_weight=None):
        """Update the mean and standard deviation with a batch of sequences.

        The result equals :meth:`fit` on all the batches seen so far put together
        (up to rounding). Batches may have different numbers of time steps when 3D.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or (n_samples, n_timesteps)
            A batch of sequences. NaN values are ignored; a feature may be all NaN in a
            batch once an earlier batch has observed it.

        y : None
            Ignored.

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each sequence; None weighs every sequence 1.

        Returns
        -------
        self : object
            The updated scaler.
        """
        return self._partial_fit(X, sample_weight)

    def _partial_fit(self, X, sample_weight):
        first_call = not hasattr(self, "mean_")
        X = self._validate(X, reset=first_call)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(
                sample_weight, X, dtype=np.float64, ensure_non_negative=True
            )
        X3 = X if X.ndim == 3 else X[:, :, np.newaxis]
        n_batch, mean_batch, var_batch = _sequence_moments(X3, sample_weight)
        if first_call:
            n_seen, mean, var = n_batch, mean_batch, var_batch
        else:
            # Chan, Golub and LeVeque's update of a mean and a sum of squared deviations.
            n_old, mean_old = self.n_samples_seen_, self.mean_
            n_seen = n_old + n_batch
            denominator = np.where(n_seen > 0, n_seen, 1)
            delta = mean_batch - mean_old
            mean = mean_old + delta * (n_batch / denominator)
            squares = (
                self.var_ * n_old + var_batch * n_batch + delta**2 * (n_old * n_batch / denominator)
            )
            var = squares / denominator
        unobserved = np.flatnonzero(n_seen == 0)
        if unobserved.size:
            weighted = " or in sequences of weight 0" if sample_weight is not None else ""
            raise ValueError(
                f"Feature(s) {unobserved.tolist()} of X (last axis) have no observed value: "
                f"every value is NaN{weighted}. Each feature needs at least one value to "
                "compute its mean and standard deviation."
            )
        self.n_samples_seen_ = n_seen
        self.mean_ = mean
        self.var_ = var
        self.scale_ = _scale_from_variance(var, mean, n_seen)
        return self

    def transform(self, X, copy=None):
        """Standardise each feature with the statistics seen in fit.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or (n_samples, n_timesteps)
            Sequences with the features per step seen in fit. A 3D array may have any
            number of time steps; a 2D array must have ``n_features_in_`` columns.

        copy : bool, default=None
            Whether to work on a copy of `X`; None means the `copy` parameter.

        Returns
        -------
        X_tr : ndarray of the same shape as X
            ``(X - mean_) / scale_`` per feature, NaN kept. float32 input stays float32,
            anything else becomes float64.
        """
        check_is_fitted(self)
        copy = self.copy if copy is None else copy
        X = self._validate(X, reset=False, copy=copy)
        X3 = X if X.ndim == 3 else X[:, :, np.newaxis]  # a view: X3 is written into X
        if self.with_mean:
            X3 -= self.mean_.astype(X.dtype)
        if self.with_std:
            X3 /= self.scale_.astype(X.dtype)
        return X

    def inverse_transform(self, X, copy=None):
        """Undo :meth:`transform`: return the sequences in their original units.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or (n_samples, n_timesteps)
            Standardised sequences.

        copy : bool, default=None
            Whether to work on a copy of `X`; None means the `copy` parameter.

        Returns
        -------
        X_original : ndarray of the same shape as X
            ``X * scale_ + mean_`` per feature, NaN kept.
        """
        check_is_fitted(self)
        copy = self.copy if copy is None else copy
        X = self._validate(X, reset=False, copy=copy)
        X3 = X if X.ndim == 3 else X[:, :, np.newaxis]
        if self.with_std:
            X3 *= self.scale_.astype(X.dtype)
        if self.with_mean:
            X3 += self.mean_.astype(X.dtype)
        return X

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = True
        tags.input_tags.three_d_array = True
        tags.input_tags.allow_nan = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
