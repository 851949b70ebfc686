"""Stochastic optimizers on the flat parameter vector.

Plain classes in the manner of scikit-learn's ``_stochastic_optimizers``:
``update(params, grad)`` changes ``params`` in place. Their state is arrays the
size of the parameters, so it pickles with the estimator and ``partial_fit``
continues where it stopped.
"""

import numpy as np


class SGD:
    """Stochastic gradient descent with optional (Nesterov) momentum.

    Parameters
    ----------
    params : ndarray
        Flat parameter vector (its size and dtype size the state).
    learning_rate : float
        Step size.
    momentum : float, default=0.0
        Momentum factor in [0, 1].
    nesterov : bool, default=False
        Use Nesterov's momentum.
    """

    def __init__(self, params, learning_rate, momentum=0.0, nesterov=False):
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.nesterov = nesterov
        self.velocity = np.zeros_like(params)

    def update(self, params, grad):
        """Take one step in place."""
        if self.momentum == 0:
            params -= self.learning_rate * grad
            return
        v = self.velocity
        v *= self.momentum
        v -= self.learning_rate * grad
        if self.nesterov:
            params += self.momentum * v - self.learning_rate * grad
        else:
            params += v


class Adam:
    """Adam (Kingma & Ba, 2015).

    Parameters
    ----------
    params : ndarray
        Flat parameter vector.
    learning_rate : float
        Step size.
    beta_1, beta_2 : float
        Decay rates of the first and second moment estimates.
    epsilon : float
        Numerical stability term.
    """

    def __init__(self, params, learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-8):
        self.learning_rate = learning_rate
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.t = 0
        self.m = np.zeros_like(params)
        self.v = np.zeros_like(params)
        self._tmp = np.zeros_like(params)

    def update(self, params, grad):
        """Take one step in place."""
        self.t += 1
        m, v, tmp = self.m, self.v, self._tmp
        m *= self.beta_1
        m += (1 - self.beta_1) * grad
        v *= self.beta_2
        np.multiply(grad, grad, out=tmp)
        tmp *= 1 - self.beta_2
        v += tmp
        lr = self.learning_rate * np.sqrt(1 - self.beta_2**self.t) / (1 - self.beta_1**self.t)
        np.sqrt(v, out=tmp)
        tmp += self.epsilon
        np.divide(m, tmp, out=tmp)
        tmp *= lr
        params -= tmp


def clip_by_global_norm(grad, max_norm):
    """Scale ``grad`` in place to an L2 norm of at most ``max_norm``; return the norm before."""
    # einsum, not BLAS ddot: a threaded ddot stalls for milliseconds when the cores are busy
    norm = float(np.sqrt(np.einsum("i,i->", grad, grad)))
    if max_norm is not None and norm > max_norm:
        grad *= max_norm / norm
    return norm
