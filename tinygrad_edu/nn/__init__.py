"""Layers as compositions of Tensor operations: Module, Linear, Sequential, activations."""
from . import functional, init
from .layers import Identity, Linear, LogSoftmax, ReLU, Sequential, Sigmoid, Softmax, Tanh
from .module import Module, Parameter

__all__ = ["Module", "Parameter", "Linear", "Sequential", "Sigmoid", "Tanh", "ReLU",
           "Softmax", "LogSoftmax", "Identity", "functional", "init"]
