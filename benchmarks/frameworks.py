"""The contenders behind one small interface.

Most workloads are written twice: once by hand in numpy (forward, manual backward,
update), and once for the autograd engines, tinygrad_edu and PyTorch, through the
adapters below (which differ only where the two libraries' spellings differ). A workload
names its own contenders (``Workload.contenders``): the estimator workloads (W6, W8)
put tinygrad_edu's models beside scikit-learn's.
"""
import importlib.util
import inspect
import re

import numpy as np

# every contender, in the order of the table's columns; torch and scikit-learn are
# optional: skipped when absent
CONTENDERS = ("numpy", "tinygrad_edu", "torch", "scikit-learn")
MODULES = {"scikit-learn": "sklearn"}   # contender -> the module to import, where they differ


def available(name):
    return importlib.util.find_spec(MODULES.get(name, name)) is not None


def loss_sources(fw):
    """Which loss formulation tinygrad_edu used: its public function or a Tensor expression."""
    return {"loss": sorted(set(fw.sources.values()))} if getattr(fw, "sources", None) else {}


def load(name, threads):
    return {"numpy": Numpy, "tinygrad_edu": Tinygrad, "torch": Torch,
            "scikit-learn": ScikitLearn}[name](threads)


class Numpy:
    name, autograd = "numpy", False

    def __init__(self, threads):
        self.version = np.__version__


class Tinygrad:
    name, autograd = "tinygrad_edu", True

    def __init__(self, threads, module=None):
        if module is None:                  # (compare.py passes an older version's package)
            import tinygrad_edu as module
        self.tg, self.version = module, getattr(module, "__version__", "dev")
        self.sources = {}   # which loss formulation was used, reported by the workloads
        self._alpha = "alpha" in inspect.signature(module.Tensor.add_).parameters
        self._found = {}

    def tensor(self, array, requires_grad=False):
        return self.tg.Tensor(array, requires_grad=requires_grad)

    def labels(self, array):
        return array

    def numpy(self, t):
        return t.data

    def sgd_step(self, params, lr):
        with self.tg.no_grad():
            for p in params:  # PyTorch's SGD update (in place: a live graph locks p.data)
                if self._alpha:
                    p.add_(p.grad, alpha=-lr)
                else:  # (a version before add_(alpha=), loaded by benchmarks.compare)
                    p -= lr * p.grad.data
                p.grad = None

    def cross_entropy(self, logits, labels):
        f = self._public("cross_entropy")
        if f is not None:
            return f(logits, labels)
        return -(logits.log_softmax(axis=-1)[np.arange(logits.shape[0]), labels]).mean()

    def bce_with_logits(self, z, t):
        f = self._public("binary_cross_entropy_with_logits")
        if f is not None:
            return f(z, t)
        # softplus(z) - t*z, stable: max(z, 0) - t*z + log(1 + exp(-|z|))
        return (self.tg.maximum(z, 0.0) - t * z + ((-z.abs()).exp() + 1.0).log()).mean()

    def softplus(self, z):
        return z.softplus()

    def _public(self, name):
        """The library's own loss when it exists (``tg.nn.functional``, else the core's
        ``tinygrad_edu.functional``), or None: the caller then writes a Tensor expression.
        Looked up once: a lookup per step would be timed as the library's own cost."""
        if name not in self._found:
            self._found[name] = self._find(name)
        return self._found[name]

    def _find(self, name):
        for where in (("nn", "functional"), ("functional",)):
            module = self.tg
            for part in where:
                module = getattr(module, part, None)
            f = getattr(module, name, None)
            if f is not None:
                self.sources[name] = f"tinygrad_edu.{'.'.join(where)}.{name}"
                return f
        self.sources[name] = "a Tensor expression"
        return None


class Torch:
    name, autograd = "torch", True

    def __init__(self, threads):
        import torch
        import torch.nn.functional
        torch.set_num_threads(threads)
        self.torch, self.F, self.version = torch, torch.nn.functional, torch.__version__

    def tensor(self, array, requires_grad=False):
        return self.torch.tensor(array, requires_grad=requires_grad)   # copies, keeps dtype

    def labels(self, array):
        return self.torch.as_tensor(array, dtype=self.torch.long)

    def numpy(self, t):
        return t.detach().numpy()

    def sgd_step(self, params, lr):
        with self.torch.no_grad():
            for p in params:  # what torch.optim.SGD does, without its bookkeeping
                p.add_(p.grad, alpha=-lr)
                p.grad = None

    def cross_entropy(self, logits, labels):
        return self.F.cross_entropy(logits, labels)

    def bce_with_logits(self, z, t):
        return self.F.binary_cross_entropy_with_logits(z, t)

    def softplus(self, z):
        return self.F.softplus(z)

    def blas(self):
        """torch links MKL statically, so threadpoolctl cannot see it: ask torch."""
        info = self.torch.__config__.parallel_info()
        mkl = re.search(r"Math Kernel Library Version ([\w.]+)", info)
        blas = f"MKL {mkl.group(1)}" if mkl else "BLAS (see torch.__config__.show())"
        return f"{blas} inside torch, {self.torch.get_num_threads()} intra-op thread(s)"


class ScikitLearn:
    """scikit-learn's estimators (W6, W8): the workload builds them from ``sklearn``."""
    name, autograd = "scikit-learn", False

    def __init__(self, threads):
        import sklearn
        self.sklearn, self.version = sklearn, sklearn.__version__
