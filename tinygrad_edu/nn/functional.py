"""``tg.nn.functional``: the stable activations and losses of ``tinygrad_edu.functional``."""
from ..functional import *  # noqa: F401,F403
from ..functional import __all__  # noqa: F401
