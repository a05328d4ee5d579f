"""Embedding: a table of learned vectors, looked up by integer index."""
from __future__ import annotations

import numpy as np

from ..errors import ArgumentError, DTypeError
from ..tensor import Tensor
from .init import rng
from .module import Module, Parameter


class Embedding(Module):
    """y = weight[idx]: row i of the (num_embeddings, embedding_dim) table for each
    integer index i, so an input of shape S gives shape S + (embedding_dim,).

    d weight = g added into the rows that were looked up (an index used twice gets both
    gradients). The table starts N(0, 1), as PyTorch's, drawn from ``random_state``.
    """

    def __init__(self, num_embeddings, embedding_dim, random_state=None, dtype=np.float64):
        for what, v in (("num_embeddings", num_embeddings), ("embedding_dim", embedding_dim)):
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
                raise ArgumentError(f"Embedding: {what} must be a positive integer, got {v!r}")
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        self.weight = Parameter(rng(random_state).standard_normal(
            (num_embeddings, embedding_dim)).astype(dtype))

    def forward(self, idx):
        i = np.asarray(idx.data if isinstance(idx, Tensor) else idx)
        if i.dtype.kind not in "iu":
            if i.dtype.kind == "f" and np.all(i == np.round(i)):
                i = i.astype(np.int64)  # (a float Tensor of whole numbers)
            else:
                raise DTypeError(f"{self!r}: indices must be integers, got dtype {i.dtype}")
        if i.size and (i.min() < 0 or i.max() >= self.num_embeddings):
            bad = i[(i < 0) | (i >= self.num_embeddings)].flat[0]
            raise IndexError(f"{self!r}: index {bad} is outside [0, {self.num_embeddings}) "
                             f"(input shape {i.shape})")
        return self.weight[i]

    def extra_repr(self):
        return f"{self.num_embeddings}, {self.embedding_dim}"
