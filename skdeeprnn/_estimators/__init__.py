"""The scikit-learn estimators."""

from ._classifier import DeepRNNClassifier
from ._regressor import DeepRNNRegressor

__all__ = ["DeepRNNClassifier", "DeepRNNRegressor"]
