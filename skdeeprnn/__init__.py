"""skdeeprnn: deep recurrent networks for scikit-learn, trained by BPTT in NumPy."""

from ._estimators import DeepRNNClassifier, DeepRNNRegressor
from ._version import __version__
from .preprocessing import SlidingWindowTransformer, make_windows

__all__ = [
    "DeepRNNClassifier",
    "DeepRNNRegressor",
    "SlidingWindowTransformer",
    "__version__",
    "make_windows",
]
