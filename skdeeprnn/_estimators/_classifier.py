"""DeepRNNClassifier: binary, multiclass and multilabel classification of sequences."""

from numbers import Real

import numpy as np
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.metrics import accuracy_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils._available_if import available_if
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import (
    _check_partial_fit_first_call,
    check_classification_targets,
    type_of_target,
)
from sklearn.utils.validation import check_is_fitted, column_or_1d

from .._sequences import pad_targets
from ._base import ATTRIBUTES_DOC, PARAMETERS_DOC, BaseDeepRNN
from ._regressor import _stochastic


def _missing_steps(proba_raw):
    """(n, T) mask of the missing steps of many-to-many probabilities (NaN there), or None."""
    return np.isnan(proba_raw[..., 0]) if proba_raw.ndim == 3 else None


def _check_targets(y):
    """``check_classification_targets`` that reports unorderable mixed labels as a ValueError."""
    try:
        check_classification_targets(y)
    except TypeError as exc:  # np.unique cannot order mixed types such as 1 and "a"
        raise ValueError(
            f"y mixes label types that cannot be compared ({exc}); use labels of one "
            "type, e.g. all strings."
        ) from exc


def _check_class_weight_dict(class_weight):
    """Every weight of a ``class_weight`` dict must be a positive finite number."""
    bad = {
        label: weight
        for label, weight in class_weight.items()
        if isinstance(weight, bool) or not isinstance(weight, Real)
        or not (np.isfinite(weight) and weight > 0)
    }
    if bad:
        raise ValueError(
            f"class_weight must map labels to positive finite numbers; got {bad!r}."
        )


def _dict_class_weight(class_weight, labels, classes):
    """Weight of each label in 1D ``labels`` from the dict ``class_weight`` (1 if absent).

    ``classes`` are the labels the model knows; a key outside them is an error.
    """
    known = set(np.asarray(classes).tolist())
    unknown = [label for label in class_weight if label not in known]
    if unknown:
        raise ValueError(
            f"class_weight has labels {unknown!r} that are not classes of the data "
            f"(classes: {sorted(known, key=repr)!r})."
        )
    uniques, inverse = np.unique(labels, return_inverse=True)
    per_label = np.array([float(class_weight.get(label, 1.0)) for label in uniques.tolist()])
    return per_label[inverse.ravel()]


class DeepRNNClassifier(ClassifierMixin, BaseDeepRNN):  # noqa: D101 (docstring assembled below)
    _y_numeric = False

    _parameter_constraints: dict = {
        **BaseDeepRNN._parameter_constraints,
        "class_weight": [StrOptions({"balanced"}), dict, None],
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
        class_weight=None,
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
        self.class_weight = class_weight

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        tags.classifier_tags.poor_score = True
        return tags

    def _loss_name(self):
        if self._label_binarizer.y_type_ == "multiclass":
            return "softmax_cross_entropy"
        return "sigmoid_log_loss"

    def _encode_targets(self, y, sample_weight, first, classes=None, dtype=None):
        """One-hot (multiclass) or 0/1 columns (binary, multilabel) for the loss."""
        y = np.asarray(y)
        if self.return_sequences:
            if y.ndim != 2:
                raise ValueError(
                    f"with return_sequences=True, y must be labels of shape (n_samples, "
                    f"n_timesteps); got shape {y.shape}."
                )
            n, T = y.shape
            y = y.ravel()
        elif y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        _check_targets(y)
        if first:
            if classes is not None:
                _check_partial_fit_first_call(self, classes)
                labels = self.classes_
            else:
                labels = y
            lb = LabelBinarizer()
            lb.fit(labels)
            if len(lb.classes_) < 2 and lb.y_type_ != "multilabel-indicator":
                raise ValueError(
                    f"{type(self).__name__} needs samples of at least 2 classes in the data, "
                    f"but the data contains only one class: {lb.classes_.tolist()[0]!r}."
                )
            if classes is not None and lb.y_type_ != "multilabel-indicator":
                outside = np.setdiff1d(np.unique(y), lb.classes_)
                if outside.size:
                    raise ValueError(
                        f"y contains labels {outside.tolist()} that are not in classes="
                        f"{lb.classes_.tolist()}."
                    )
            self._label_binarizer = lb
            self.classes_ = lb.classes_
        else:
            was_multilabel = self._label_binarizer.y_type_ == "multilabel-indicator"
            if (type_of_target(y) == "multilabel-indicator") != was_multilabel:
                raise ValueError(
                    "y is " + ("not " if was_multilabel else "") + "a multilabel indicator, but "
                    "the model was fitted on " + ("multilabel" if was_multilabel else "single")
                    + " targets."
                )
            if self._label_binarizer.y_type_ != "multilabel-indicator":
                unseen = np.setdiff1d(np.unique(y), self.classes_)
                if unseen.size:
                    raise ValueError(
                        f"y contains labels {unseen.tolist()} not seen in the first fit / "
                        f"partial_fit call (classes_={self.classes_.tolist()})."
                    )
        Y = self._label_binarizer.transform(y).astype(np.float64)
        if self.return_sequences:
            Y = Y.reshape(n, T, -1)
        return Y

    def _fit(self, X, y, sample_weight, incremental, classes=None):
        # _validate_fit_data checks class_weight's labels against partial_fit's classes
        self._classes_arg = classes
        try:
            return super()._fit(X, y, sample_weight, incremental, classes)
        finally:
            self.__dict__.pop("_classes_arg", None)

    def _validate_fit_data(self, X, y, sample_weight, reset):
        """Validate as the base class does, then multiply ``sample_weight`` by the class weights.

        Many-to-one: ``(n_samples,)`` weights. ``return_sequences=True``: the
        class weight of every step's label, ``(n_samples, n_timesteps)``, times
        ``sample_weight`` (per sequence, or per step when 2D).
        """
        data = super()._validate_fit_data(X, y, sample_weight, reset)
        if self.class_weight is None:
            return data
        weights = self._class_weight_per_sample(
            data.y, reset, data.observed if self.return_sequences else None)
        if weights is None:
            return data
        sample_weight = data.sample_weight
        if weights.ndim == 2 and sample_weight.ndim == 1:
            sample_weight = sample_weight[:, np.newaxis]
        return data.reweighted(sample_weight * weights)

    def _class_weight_per_sample(self, y, reset, observed=None):
        """``class_weight`` expanded to the samples (steps) of ``y``; None for bad targets.

        Targets that are not classification labels return None and are left to
        ``_encode_targets``, which says what is wrong with them. ``observed``
        (n, T), given when some steps are missing: ``'balanced'`` counts the
        labels of the observed steps only (the others get weight 1, and the
        base class gives the missing steps no weight).
        """
        y = np.asarray(y)
        shape = None
        if self.return_sequences:
            if y.ndim != 2:
                return None
            shape = y.shape
            y = y.ravel()
        elif y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        _check_targets(y)
        y_type = type_of_target(y)
        if y_type not in ("binary", "multiclass", "multilabel-indicator"):
            return None
        if self.class_weight == "balanced" and observed is not None:
            weights = np.ones(len(y))
            weights[observed.ravel()] = compute_sample_weight("balanced", y[observed.ravel()])
        elif self.class_weight == "balanced":
            # multilabel: the product over the labels of each label's balanced 0/1 weight
            weights = compute_sample_weight("balanced", y)
        elif y_type == "multilabel-indicator":
            raise ValueError(
                "class_weight as a dict is not supported for multilabel y: every column of the "
                "indicator matrix has its own classes 0 and 1. Use class_weight='balanced' (the "
                "product of each label's balanced weight, as sklearn.utils.class_weight."
                "compute_sample_weight gives) or pass sample_weight."
            )
        else:
            _check_class_weight_dict(self.class_weight)
            if not reset:
                classes = self.classes_
            elif getattr(self, "_classes_arg", None) is not None:
                classes = self._classes_arg
            else:
                classes = np.unique(y)
            weights = _dict_class_weight(self.class_weight, y, classes)
        return weights if shape is None else weights.reshape(shape)

    def _proba_raw(self, scores):
        """Probabilities of the head's outputs: softmax (multiclass) or sigmoid.

        In float64 whatever the model's dtype, as scikit-learn's classifiers give them.
        """
        scores = scores.astype(np.float64, copy=False)
        if self._label_binarizer.y_type_ == "multiclass":
            scores = scores - scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            return scores
        return 0.5 * (1.0 + np.tanh(0.5 * scores))  # sigmoid without overflow warnings

    def _labels(self, proba_raw):
        """Labels of the probabilities; NaN at missing steps (many-to-many, NaN probabilities)."""
        shape = proba_raw.shape[:-1]
        flat = proba_raw.reshape(-1, proba_raw.shape[-1])
        missing = np.isnan(flat[:, 0])
        if missing.any():  # inverse_transform takes no NaN: any row will do there
            flat = np.where(missing[:, None], 0.0, flat)
        labels = self._label_binarizer.inverse_transform(flat)
        if missing.any():
            # NaN needs a float array for numeric labels, an object array for others
            labels = labels.astype(np.float64 if labels.dtype.kind in "biuf" else object)
            labels[missing] = np.nan
        return labels.reshape(shape + labels.shape[1:])

    def _validation_score(self, X, y, sample_weight):
        proba = self._proba_raw(self._scores(X))
        return self._accuracy(y, self._labels(proba), sample_weight, _missing_steps(proba))

    def _accuracy(self, y, y_pred, sample_weight, missing=None):
        """Accuracy; with ``return_sequences``, over the steps that are not ``missing`` (n, T)."""
        if self.return_sequences:
            y = pad_targets(y, y_pred.shape[1])
            T = y.shape[1]
            y, y_pred = y.ravel(), y_pred.ravel()
            if sample_weight is not None:
                sample_weight = np.asarray(sample_weight)
                # one weight per sequence, or (from class_weight) one per step
                if sample_weight.ndim == 2:
                    sample_weight = sample_weight.ravel()
                else:
                    sample_weight = np.repeat(sample_weight, T)
            if missing is not None and missing.any():
                keep = ~missing.ravel()
                y, y_pred = y[keep], y_pred[keep]
                if sample_weight is not None:
                    sample_weight = sample_weight[keep]
        else:
            y = np.asarray(y)
        return accuracy_score(y, y_pred, sample_weight=sample_weight)

    def predict(self, X):
        """Predict class labels of sequences ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or (n_samples, n_timesteps)
            Input sequences. A step whose features are all NaN is missing; a
            list of sequences of unequal lengths is padded with such steps
            (:ref:`variable_lengths`).

        Returns
        -------
        y : ndarray
            Labels of shape ``(n_samples,)`` (``(n_samples, n_labels)`` for
            multilabel; ``(n_samples, n_timesteps)`` with
            ``return_sequences=True``, NaN at missing steps: the array is then
            of float dtype for numeric labels, of object dtype for others).
        """
        return self._labels(self._proba_raw(self._predict_scores(X)))

    def predict_proba(self, X):
        """Class probabilities of sequences ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or (n_samples, n_timesteps)
            Input sequences. A step whose features are all NaN is missing; a
            list of sequences of unequal lengths is padded with such steps
            (:ref:`variable_lengths`).

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probability of each class in ``classes_`` (rows sum to one for
            binary and multiclass; independent per label for multilabel). With
            ``return_sequences=True`` the shape is ``(n_samples, n_timesteps,
            n_classes)``, NaN at missing steps.
        """
        check_is_fitted(self, "network_")
        proba = self._proba_raw(self._predict_scores(X))
        if self._label_binarizer.y_type_ == "binary":
            proba = np.concatenate([1.0 - proba, proba], axis=-1)
        return proba

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or (n_samples, n_timesteps)
            Input sequences. A step whose features are all NaN is missing; a
            list of sequences of unequal lengths is padded with such steps
            (:ref:`variable_lengths`).

        Returns
        -------
        log_proba : ndarray
            ``log(predict_proba(X))``, same shape.
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def score(self, X, y, sample_weight=None):
        """Mean accuracy of :meth:`predict` on ``X`` against ``y``.

        With ``return_sequences=True`` every time step of every sequence is
        one observation.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or (n_samples, n_timesteps)
            Input sequences. A step whose features are all NaN is missing; a
            list of sequences of unequal lengths is padded with such steps
            (:ref:`variable_lengths`).
        y : array-like
            True labels, shaped as in ``fit``.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each sequence.

        Returns
        -------
        score : float
            Accuracy (subset accuracy for multilabel).
        """
        proba = self._proba_raw(self._predict_scores(X))
        return self._accuracy(self._score_target(y), self._labels(proba), sample_weight,
                              _missing_steps(proba))

    @available_if(_stochastic)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train one epoch on ``X``, ``y``, continuing from the current weights.

        Not available for ``solver='lbfgs'``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or (n_samples, n_timesteps)
            Input sequences. A step whose features are all NaN is missing; a
            list of sequences of unequal lengths is padded with such steps
            (:ref:`variable_lengths`).
        y : array-like
            Labels, shaped as in ``fit``.
        classes : array-like of shape (n_classes,), default=None
            Every class that will ever appear; required on the first call,
            ignored after.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each sequence.

        Returns
        -------
        self : object
            The updated estimator.
        """
        if not hasattr(self, "network_") and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        if self.class_weight == "balanced":
            raise ValueError(
                "class_weight='balanced' is not supported by partial_fit: one batch does not "
                "give the class frequencies of the whole data. Compute the weights once, e.g. "
                "dict(zip(classes, sklearn.utils.class_weight.compute_class_weight('balanced', "
                "classes=classes, y=y_all))), and pass that dict as class_weight."
            )
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)


DeepRNNClassifier.__doc__ = (
    """Deep (stacked) recurrent network classifier trained by back-propagation through time.

    Reads sequences ``X`` of shape ``(n_samples, n_timesteps, n_features)`` (a
    2D ``(n_samples, n_timesteps)`` array is a set of univariate sequences)
    and predicts a label per sequence from the top layer's last state, or with
    ``return_sequences=True`` a label per time step (``y`` of shape
    ``(n_samples, n_timesteps)``). Labels can be of any type (strings too);
    binary and multilabel targets use a sigmoid log-loss, multiclass a softmax
    cross-entropy, weighted by ``sample_weight`` and ``class_weight``.

    .. versionadded:: 0.1
"""
    + PARAMETERS_DOC
    + """
    class_weight : dict, 'balanced' or None, default=None
        Weights of the classes, ``{label: weight}``, multiplying
        ``sample_weight`` as in scikit-learn: the loss of a sample of class
        ``c`` is weighted by ``sample_weight * class_weight[c]``. Classes not
        in the dict weigh 1; a label that is not a class of the data, or a
        weight that is not positive and finite, is an error. ``'balanced'``
        weighs class ``c`` by ``n_samples / (n_classes * count(c))`` and gives
        the same model as fitting with ``sample_weight=compute_sample_weight(
        'balanced', y)`` (:func:`sklearn.utils.class_weight.compute_sample_weight`).
        With ``return_sequences=True`` every step is weighted by its own
        label's weight (times ``sample_weight``, per sequence or per step),
        ``'balanced'`` counting the labels of all observed steps.
        Multilabel ``y`` takes ``'balanced'`` only: each sample's weight is the
        product of the balanced weights of its 0/1 value in every label, as
        ``compute_sample_weight`` computes for multi-output ``y``.
        ``partial_fit`` takes a dict, checked against ``classes``, but not
        ``'balanced'``, which one batch cannot estimate (as
        :class:`~sklearn.linear_model.SGDClassifier`).

        .. versionadded:: 0.2

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
"""
    + ATTRIBUTES_DOC
    + """
    See Also
    --------
    DeepRNNRegressor : The same network for regression.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.pipeline import make_pipeline
    >>> from skdeeprnn import DeepRNNClassifier, SequenceStandardScaler
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(5.0, 2.0, size=(400, 8, 1))
    >>> y = np.where(X[:, 0, 0] > 5.0, "up", "down")  # the label is set by the first step
    >>> clf = make_pipeline(SequenceStandardScaler(), DeepRNNClassifier(random_state=0))
    >>> clf = clf.fit(X[:300], y[:300])
    >>> clf.classes_
    array(['down', 'up'], dtype='<U4')
    >>> clf.predict_proba(X[300:302]).shape
    (2, 2)
    >>> clf.score(X[300:], y[300:]) > 0.9
    True
"""
)
