"""``tg.nn.functional``: the stable activations and losses of ``tinygrad_edu.functional``."""
from ..functional import *
from ..functional import __all__  # noqa: F401
