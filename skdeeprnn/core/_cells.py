"""Recurrent cells: the time loop of one layer in one direction.

Each cell receives the input projection of the whole sequence, computed by the
layer with one GEMM (``xp = X @ W_ih.T + b``, shape ``(T, n, G*h)``), and runs
only the recurrent part in the time loop. Backward returns the gradients of the
gate pre-activations for all steps, from which the layer gets ``dW_ih``,
``dW_hh``, the biases and the gradient to the layer below with one GEMM each.

Formulas, gate order and weight layout are PyTorch's ``nn.RNN``, ``nn.LSTM``
and ``nn.GRU``.

A direction is "forward" (steps ``0 … T-1``) or "reverse" (steps ``T-1 … 0``).
States live in a buffer ``H`` of ``T + 1`` slots: the forward direction writes
step ``t`` into slot ``t + 1`` and reads its previous state from slot ``t``; the
reverse direction writes step ``t`` into slot ``t`` and reads slot ``t + 1``. So
the outputs in time order and the previous states are both contiguous slices.
"""

import numpy as np
from scipy.special import expit


def _steps(T, reverse):
    return range(T - 1, -1, -1) if reverse else range(T)


def _slots(T, reverse):
    """Return ``(out, prev, initial)``: slot of step t's output, of its input state, of h0."""
    if reverse:
        return (lambda t: t), (lambda t: t + 1), T
    return (lambda t: t + 1), (lambda t: t), 0


def state_slices(T, reverse):
    """Slices of the state buffer holding the outputs and the previous states, in time order."""
    if reverse:
        return slice(0, T), slice(1, T + 1)
    return slice(1, T + 1), slice(0, T)


class RNNCell:
    r"""Elman cell, as ``torch.nn.RNN``.

    .. math::

        h_t = \phi(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh})

    with :math:`\phi` = tanh or relu. Both biases are folded into the input
    projection by the layer (``folds_hidden_bias``).
    """

    n_gates = 1
    folds_hidden_bias = True

    def __init__(self, nonlinearity="tanh"):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity

    def forward(self, xp, W_hh, b_hh, reverse):
        """Run the time loop, overwriting ``xp`` (T, n, h); return the state buffer and cache."""
        T, n, h = xp.shape
        out, prev, init = _slots(T, reverse)
        H = np.empty((T + 1, n, h), dtype=xp.dtype)
        H[init] = 0.0
        W_hh_T = W_hh.T
        tmp = np.empty((n, h), dtype=xp.dtype)
        relu = self.nonlinearity == "relu"
        for t in _steps(T, reverse):
            a = xp[t]
            np.matmul(H[prev(t)], W_hh_T, out=tmp)
            a += tmp
            if relu:
                np.maximum(a, 0.0, out=H[out(t)])
            else:
                np.tanh(a, out=H[out(t)])
        return H, None

    def backward(self, H, cache, W_hh, dH, dh_last, reverse):
        """Gradients of the pre-activations for every step.

        ``dH`` (T, n, h) is the gradient arriving at each step's output from
        above (or None), ``dh_last`` the gradient arriving at the last processed
        step's output (or None). Returns ``(dXP, dHP)``: gradients with respect
        to the input projection and the hidden projection (the same array here).
        """
        T = H.shape[0] - 1
        n, h = H.shape[1], H.shape[2]
        out, _, _ = _slots(T, reverse)
        dPre = np.empty((T, n, h), dtype=H.dtype)
        dh = np.zeros((n, h), dtype=H.dtype) if dh_last is None else dh_last.copy()
        relu = self.nonlinearity == "relu"
        for t in _steps(T, not reverse):
            if dH is not None:
                dh += dH[t]
            ht = H[out(t)]
            dp = dPre[t]
            if relu:
                np.multiply(dh, ht > 0, out=dp)
            else:
                np.multiply(ht, ht, out=dp)
                np.subtract(1.0, dp, out=dp)
                dp *= dh
            np.matmul(dp, W_hh, out=dh)
        return dPre, dPre


class LSTMCell:
    r"""Long short-term memory cell, as ``torch.nn.LSTM`` (gate order i, f, g, o).

    .. math::

        i_t &= \sigma(W_{ii} x_t + b_{ii} + W_{hi} h_{t-1} + b_{hi}) \\
        f_t &= \sigma(W_{if} x_t + b_{if} + W_{hf} h_{t-1} + b_{hf}) \\
        g_t &= \tanh(W_{ig} x_t + b_{ig} + W_{hg} h_{t-1} + b_{hg}) \\
        o_t &= \sigma(W_{io} x_t + b_{io} + W_{ho} h_{t-1} + b_{ho}) \\
        c_t &= f_t \odot c_{t-1} + i_t \odot g_t \\
        h_t &= o_t \odot \tanh(c_t)
    """

    n_gates = 4
    folds_hidden_bias = True

    def forward(self, xp, W_hh, b_hh, reverse):
        """Run the time loop; ``xp`` (T, n, 4h) becomes the gate activations."""
        T, n, G = xp.shape
        h = G // 4
        out, prev, init = _slots(T, reverse)
        H = np.empty((T + 1, n, h), dtype=xp.dtype)
        C = np.empty((T + 1, n, h), dtype=xp.dtype)
        TC = np.empty((T, n, h), dtype=xp.dtype)
        H[init] = 0.0
        C[init] = 0.0
        W_hh_T = W_hh.T
        tmp = np.empty((n, G), dtype=xp.dtype)
        ig = np.empty((n, h), dtype=xp.dtype)
        for t in _steps(T, reverse):
            a = xp[t]
            np.matmul(H[prev(t)], W_hh_T, out=tmp)
            a += tmp
            expit(a[:, : 2 * h], out=a[:, : 2 * h])
            np.tanh(a[:, 2 * h : 3 * h], out=a[:, 2 * h : 3 * h])
            expit(a[:, 3 * h :], out=a[:, 3 * h :])
            c = C[out(t)]
            np.multiply(a[:, h : 2 * h], C[prev(t)], out=c)
            np.multiply(a[:, :h], a[:, 2 * h : 3 * h], out=ig)
            c += ig
            np.tanh(c, out=TC[t])
            np.multiply(a[:, 3 * h :], TC[t], out=H[out(t)])
        return H, (xp, C, TC)

    def backward(self, H, cache, W_hh, dH, dh_last, reverse):
        """Gradients of the gate pre-activations; see :meth:`RNNCell.backward`."""
        gates, C, TC = cache
        T, n, G = gates.shape
        h = G // 4
        _, prev, _ = _slots(T, reverse)
        dG = np.empty((T, n, G), dtype=H.dtype)
        dh = np.zeros((n, h), dtype=H.dtype) if dh_last is None else dh_last.copy()
        dc = np.zeros((n, h), dtype=H.dtype)
        tmp = np.empty((n, h), dtype=H.dtype)
        for t in _steps(T, not reverse):
            if dH is not None:
                dh += dH[t]
            a = gates[t]
            i, f, g, o = a[:, :h], a[:, h : 2 * h], a[:, 2 * h : 3 * h], a[:, 3 * h :]
            tc = TC[t]
            d = dG[t]
            di, df, dg, do = d[:, :h], d[:, h : 2 * h], d[:, 2 * h : 3 * h], d[:, 3 * h :]
            # dc += dh * o * (1 - tanh(c)^2)
            np.multiply(tc, tc, out=tmp)
            np.subtract(1.0, tmp, out=tmp)
            tmp *= o
            tmp *= dh
            dc += tmp
            # output gate: dh * tanh(c) * o * (1 - o)
            np.multiply(dh, tc, out=do)
            np.subtract(1.0, o, out=tmp)
            tmp *= o
            do *= tmp
            # input gate: dc * g * i * (1 - i)
            np.multiply(dc, g, out=di)
            np.subtract(1.0, i, out=tmp)
            tmp *= i
            di *= tmp
            # forget gate: dc * c_prev * f * (1 - f)
            np.multiply(dc, C[prev(t)], out=df)
            np.subtract(1.0, f, out=tmp)
            tmp *= f
            df *= tmp
            # cell candidate: dc * i * (1 - g^2)
            np.multiply(g, g, out=tmp)
            np.subtract(1.0, tmp, out=tmp)
            tmp *= i
            np.multiply(dc, tmp, out=dg)
            dc *= f
            np.matmul(d, W_hh, out=dh)
        return dG, dG


class GRUCell:
    r"""Gated recurrent unit, as ``torch.nn.GRU`` (gate order r, z, n).

    .. math::

        r_t &= \sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr}) \\
        z_t &= \sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz}) \\
        n_t &= \tanh(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn})) \\
        h_t &= (1 - z_t) \odot n_t + z_t \odot h_{t-1}

    The reset gate multiplies ``W_hn h + b_hn``, so ``b_hh`` cannot be folded
    into the input projection.
    """

    n_gates = 3
    folds_hidden_bias = False

    def forward(self, xp, W_hh, b_hh, reverse):
        """Run the time loop; ``xp`` (T, n, 3h) becomes r, z, n."""
        T, n, G = xp.shape
        h = G // 3
        out, prev, init = _slots(T, reverse)
        H = np.empty((T + 1, n, h), dtype=xp.dtype)
        HN = np.empty((T, n, h), dtype=xp.dtype)
        H[init] = 0.0
        W_hh_T = W_hh.T
        hp = np.empty((n, G), dtype=xp.dtype)
        for t in _steps(T, reverse):
            a = xp[t]
            hprev = H[prev(t)]
            np.matmul(hprev, W_hh_T, out=hp)
            if b_hh is not None:
                hp += b_hh
            a[:, : 2 * h] += hp[:, : 2 * h]
            expit(a[:, : 2 * h], out=a[:, : 2 * h])
            r, z, nn = a[:, :h], a[:, h : 2 * h], a[:, 2 * h :]
            HN[t] = hp[:, 2 * h :]
            hp[:, 2 * h :] *= r
            nn += hp[:, 2 * h :]
            np.tanh(nn, out=nn)
            # h = n + z * (h_prev - n)
            ht = H[out(t)]
            np.subtract(hprev, nn, out=ht)
            ht *= z
            ht += nn
        return H, (xp, HN)

    def backward(self, H, cache, W_hh, dH, dh_last, reverse):
        """Gradients of the input and hidden projections; see :meth:`RNNCell.backward`."""
        gates, HN = cache
        T, n, G = gates.shape
        h = G // 3
        _, prev, _ = _slots(T, reverse)
        dXP = np.empty((T, n, G), dtype=H.dtype)
        dHP = np.empty((T, n, G), dtype=H.dtype)
        dh = np.zeros((n, h), dtype=H.dtype) if dh_last is None else dh_last.copy()
        tmp = np.empty((n, h), dtype=H.dtype)
        dhh = np.empty((n, h), dtype=H.dtype)
        for t in _steps(T, not reverse):
            if dH is not None:
                dh += dH[t]
            a = gates[t]
            r, z, nn = a[:, :h], a[:, h : 2 * h], a[:, 2 * h :]
            hprev = H[prev(t)]
            dx, dhp = dXP[t], dHP[t]
            dr, dz, dn = dx[:, :h], dx[:, h : 2 * h], dx[:, 2 * h :]
            # n pre-activation: dh * (1 - z) * (1 - n^2)
            np.subtract(1.0, z, out=tmp)
            np.multiply(dh, tmp, out=dn)
            np.multiply(nn, nn, out=tmp)
            np.subtract(1.0, tmp, out=tmp)
            dn *= tmp
            # z pre-activation: dh * (h_prev - n) * z * (1 - z)
            np.subtract(hprev, nn, out=dz)
            dz *= dh
            np.subtract(1.0, z, out=tmp)
            tmp *= z
            dz *= tmp
            # r pre-activation: dn * (W_hn h + b_hn) * r * (1 - r)
            np.multiply(dn, HN[t], out=dr)
            np.subtract(1.0, r, out=tmp)
            tmp *= r
            dr *= tmp
            dhp[:, : 2 * h] = dx[:, : 2 * h]
            np.multiply(dn, r, out=dhp[:, 2 * h :])
            np.multiply(dh, z, out=dhh)
            np.matmul(dhp, W_hh, out=dh)
            dh += dhh
        return dXP, dHP


def make_cell(cell, nonlinearity="tanh"):
    """Return the cell object for the name ``cell`` in {'rnn', 'lstm', 'gru'}."""
    if cell == "rnn":
        return RNNCell(nonlinearity)
    if cell == "lstm":
        return LSTMCell()
    if cell == "gru":
        return GRUCell()
    raise ValueError(f"cell must be one of 'rnn', 'lstm', 'gru', got {cell!r}")
