"""One logistic unit as a Tensor expression, its cross-entropy and its gradients."""
import tinygrad_edu as tg

x = tg.Tensor([1.0, 2.0])                      # one sample, two inputs
w = tg.Tensor([0.5, -0.3], requires_grad=True)  # weights
b = tg.Tensor(0.1, requires_grad=True)          # bias (the weight of x0 = 1)
y = (x @ w + b).sigmoid()                       # a logistic unit: P(class 1 | x)
t = 1.0                                         # the target
loss = -(t * y.log() + (1 - t) * (1 - y).log()) # cross-entropy
loss.backward()
print("y    =", y)
print("loss =", loss)
print("dL/dw =", w.grad, " (y - t) * x =", (y.item() - t) * x.data)
print("dL/db =", b.grad, " (y - t)     =", y.item() - t)
