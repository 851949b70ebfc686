"""Turn time-ordered tables into windows for recurrent networks."""

from ._windows import SlidingWindowTransformer, make_windows

__all__ = ["SlidingWindowTransformer", "make_windows"]
