"""skdeeprnn: deep recurrent networks for scikit-learn, trained by BPTT in NumPy."""

from ._estimators import DeepRNNClassifier, DeepRNNRegressor
from ._export import register_skl2onnx_converters, to_onnx
from ._persistence import load_npz, save_npz
from ._version import __version__
from .preprocessing import (
    LagsToSequences,
    SequenceStandardScaler,
    SlidingWindowTransformer,
    make_windows,
)

__all__ = [
    "DeepRNNClassifier",
    "DeepRNNRegressor",
    "LagsToSequences",
    "SequenceStandardScaler",
    "SlidingWindowTransformer",
    "__version__",
    "load_npz",
    "make_windows",
    "register_skl2onnx_converters",
    "save_npz",
    "to_onnx",
]
