"""Layers as compositions of Tensor operations: Module, Linear, Sequential, activations;
convolution and pooling, normalisation, dropout, embeddings, containers and losses."""
from . import functional, init
from .containers import ModuleDict, ModuleList
from .conv import AvgPool2d, Conv2d, Flatten, MaxPool2d
from .dropout import Dropout
from .embedding import Embedding
from .layers import Identity, Linear, LogSoftmax, ReLU, Sequential, Sigmoid, Softmax, Tanh
from .losses import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, MSELoss, NLLLoss
from .module import Module, Parameter
from .norm import BatchNorm1d, BatchNorm2d, LayerNorm

__all__ = ["Module", "Parameter", "Linear", "Sequential", "Sigmoid", "Tanh", "ReLU",
           "Softmax", "LogSoftmax", "Identity", "functional", "init",
           "Conv2d", "MaxPool2d", "AvgPool2d", "Flatten", "Dropout", "BatchNorm1d",
           "BatchNorm2d", "LayerNorm", "Embedding", "ModuleList", "ModuleDict",
           "MSELoss", "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "NLLLoss"]
