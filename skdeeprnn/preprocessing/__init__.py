"""Prepare data for recurrent networks: windows over tables, lag tables, scaling."""

from ._lags import LagsToSequences
from ._scaler import SequenceStandardScaler
from ._windows import SlidingWindowTransformer, make_windows

__all__ = ["LagsToSequences", "SequenceStandardScaler", "SlidingWindowTransformer", "make_windows"]
