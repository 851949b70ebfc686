"""Exporters of fitted estimators: a PyTorch module, an ONNX graph (both optional)."""

from ._description import ModelDescription, describe

__all__ = ["ModelDescription", "describe"]
