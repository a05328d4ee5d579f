"""``tg.nn.functional``: the stable activations and losses of ``tinygrad_edu.functional``,
and the image ops and dropout of the layers."""
from ..functional import *
from ..functional import __all__ as _core
from .dropout import dropout
from .ops2d import avg_pool2d, conv2d, max_pool2d

__all__ = list(_core)
__all__ += ["conv2d", "max_pool2d", "avg_pool2d", "dropout"]
