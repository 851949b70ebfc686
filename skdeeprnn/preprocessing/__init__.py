"""Prepare data for recurrent networks: windows over tables, scaling of sequences."""

from ._scaler import SequenceStandardScaler
from ._windows import SlidingWindowTransformer, make_windows

__all__ = ["SequenceStandardScaler", "SlidingWindowTransformer", "make_windows"]
