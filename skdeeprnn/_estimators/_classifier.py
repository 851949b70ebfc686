"""DeepRNNClassifier: binary, multiclass and multilabel classification of sequences."""

import numpy as np
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.metrics import accuracy_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils._available_if import available_if
from sklearn.utils.multiclass import (
    _check_partial_fit_first_call,
    check_classification_targets,
    type_of_target,
)
from sklearn.utils.validation import check_is_fitted, column_or_1d

from ._base import ATTRIBUTES_DOC, PARAMETERS_DOC, BaseDeepRNN
from ._regressor import _stochastic


class DeepRNNClassifier(ClassifierMixin, BaseDeepRNN):  # noqa: D101 (docstring assembled below)
    _y_numeric = False

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        tags.classifier_tags.poor_score = True
        return tags

    def _loss_name(self):
        if self._label_binarizer.y_type_ == "multiclass":
            return "softmax_cross_entropy"
        return "sigmoid_log_loss"

    def _encode_targets(self, y, sample_weight, first, classes=None):
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
        try:
            check_classification_targets(y)
        except TypeError as exc:  # np.unique cannot order mixed types such as 1 and "a"
            raise ValueError(
                f"y mixes label types that cannot be compared ({exc}); use labels of one "
                "type, e.g. all strings."
            ) from exc
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

    def _proba_raw(self, scores):
        """Probabilities of the head's outputs: softmax (multiclass) or sigmoid."""
        if self._label_binarizer.y_type_ == "multiclass":
            scores = scores - scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            return scores
        return 0.5 * (1.0 + np.tanh(0.5 * scores))  # sigmoid without overflow warnings

    def _labels(self, proba_raw):
        shape = proba_raw.shape[:-1]
        flat = proba_raw.reshape(-1, proba_raw.shape[-1])
        labels = self._label_binarizer.inverse_transform(flat)
        return labels.reshape(shape + labels.shape[1:])

    def _validation_score(self, X, y, sample_weight):
        y_pred = self._labels(self._proba_raw(self._scores(X)))
        return self._accuracy(y, y_pred, sample_weight)

    def _accuracy(self, y, y_pred, sample_weight):
        y = np.asarray(y)
        if self.return_sequences:
            T = y.shape[1]
            y, y_pred = y.ravel(), y_pred.ravel()
            if sample_weight is not None:
                sample_weight = np.repeat(sample_weight, T)
        return accuracy_score(y, y_pred, sample_weight=sample_weight)

    def predict(self, X):
        """Predict class labels of sequences ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or (n_samples, n_timesteps)
            Input sequences.

        Returns
        -------
        y : ndarray
            Labels of shape ``(n_samples,)`` (``(n_samples, n_labels)`` for
            multilabel; ``(n_samples, n_timesteps)`` with
            ``return_sequences=True``).
        """
        return self._labels(self._proba_raw(self._predict_scores(X)))

    def predict_proba(self, X):
        """Class probabilities of sequences ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or (n_samples, n_timesteps)
            Input sequences.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probability of each class in ``classes_`` (rows sum to one for
            binary and multiclass; independent per label for multilabel). With
            ``return_sequences=True`` the shape is ``(n_samples, n_timesteps,
            n_classes)``.
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
            Input sequences.

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
            Input sequences.
        y : array-like
            True labels, shaped as in ``fit``.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each sequence.

        Returns
        -------
        score : float
            Accuracy (subset accuracy for multilabel).
        """
        return self._accuracy(self._score_target(y), self.predict(X), sample_weight)

    @available_if(_stochastic)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train one epoch on ``X``, ``y``, continuing from the current weights.

        Not available for ``solver='lbfgs'``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or (n_samples, n_timesteps)
            Input sequences.
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
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)


DeepRNNClassifier.__doc__ = (
    """Deep (stacked) recurrent network classifier trained by back-propagation through time.

    Reads sequences ``X`` of shape ``(n_samples, n_timesteps, n_features)`` (a
    2D ``(n_samples, n_timesteps)`` array is a set of univariate sequences)
    and predicts a label per sequence from the top layer's last state, or with
    ``return_sequences=True`` a label per time step (``y`` of shape
    ``(n_samples, n_timesteps)``). Labels can be of any type (strings too);
    binary and multilabel targets use a sigmoid log-loss, multiclass a softmax
    cross-entropy, weighted by ``sample_weight``.

    .. versionadded:: 0.1
"""
    + PARAMETERS_DOC
    + """
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
