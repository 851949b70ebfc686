"""Exporters of fitted estimators: a PyTorch module, an ONNX graph (both optional)."""

from ._description import ModelDescription, describe
from ._onnx import register_skl2onnx_converters, to_onnx

__all__ = ["ModelDescription", "describe", "register_skl2onnx_converters", "to_onnx"]
