"""The network as arrays and functions: cells, stack, losses, optimizers (no scikit-learn).

The core can be read, tested and benchmarked on its own; the estimators in
:mod:`skdeeprnn` drive it.
"""

from ._cells import GRUCell, LSTMCell, RNNCell, make_cell
from ._linear import RIDGE_PENALTIES, ridge_gcv
from ._losses import LOSSES, loss_parts, weighted_loss
from ._network import Architecture, StackedRNN, build_layout
from ._optimizers import SGD, Adam, clip_by_global_norm
from ._params import ParamLayout
from ._workspace import Workspace

__all__ = [
    "Adam",
    "Architecture",
    "GRUCell",
    "LOSSES",
    "LSTMCell",
    "ParamLayout",
    "RIDGE_PENALTIES",
    "RNNCell",
    "SGD",
    "StackedRNN",
    "Workspace",
    "build_layout",
    "clip_by_global_norm",
    "loss_parts",
    "ridge_gcv",
    "make_cell",
    "weighted_loss",
]
