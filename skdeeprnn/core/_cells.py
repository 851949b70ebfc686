"""Recurrent cells: the time loop of one layer in one direction.

Each cell receives the input projection of the whole sequence, computed by the
layer beforehand (``xp[t] = W_ih @ x_t + b``, shape ``(T, G*h, n)``), and runs
only the recurrent part in the time loop. Backward returns the gradients of the
gate pre-activations for all steps, from which the layer gets ``dW_ih``,
``dW_hh``, the biases and the gradient to the layer below without a time loop.

Formulas, gate order and weight layout are PyTorch's ``nn.RNN``, ``nn.LSTM``
and ``nn.GRU``.

Arrays are feature-major inside the core: one step of a sequence batch is
``(features, n)``, so each gate of a step is a contiguous ``(h, n)`` block and
every elementwise operation runs as one flat loop. (Batch-major ``(n, G*h)``
steps make each gate a strided view, on which NumPy's elementwise operations
were measured 2-3x slower at ``n = h = 64``.) The recurrent product is
``W_hh @ h_{t-1}``, a ``(G*h, h) @ (h, n)`` GEMM.

Three more choices keep the cost of a time step low, since at the sizes people
fit each NumPy call costs as much in overhead as in arithmetic
(``benchmarks/profile_train.py --steps``):

- Sigmoids are computed as ``0.5 + 0.5 * tanh(x / 2)``. NumPy's ``tanh`` is
  vectorised (measured on one core for a (64, 256) block: 3.7x faster than
  ``scipy.special.expit`` in float64, 10x in float32), and the ``x / 2`` is
  folded into the weights (:meth:`LSTMCell.gate_scale`), so all of an LSTM's
  gates take one ``tanh`` call per step.
- Backward first computes, for a chunk of steps at a time, every factor of the
  gate derivatives that depends only on the forward pass (``sigma * (1 -
  sigma)``, ``1 - tanh^2``, ...); the loop then only multiplies them by the
  gradient flowing back in time.
- Every array comes from a workspace (:mod:`skdeeprnn.core._workspace`), so a
  training loop reuses them from one minibatch to the next.

A direction is "forward" (steps ``0 … T-1``) or "reverse" (steps ``T-1 … 0``).
States live in a buffer ``H`` of ``T + 1`` slots: the forward direction writes
step ``t`` into slot ``t + 1`` and reads its previous state from slot ``t``; the
reverse direction writes step ``t`` into slot ``t`` and reads slot ``t + 1``. So
the outputs in time order and the previous states are both contiguous slices.

Missing steps: ``missing`` (see :func:`step_masks`) marks, for each step, the
sequences that do not observe it. There the step leaves the state (and the
LSTM's cell) unchanged: the slot of the step holds a copy of the previous
state, and backward passes the gradient through unchanged and gives the step's
gates no gradient. So a right-padded sequence gives exactly the states of its
unpadded self, as PyTorch's packed sequences do. Steps that every sequence
observes run the plain loop.
"""

import numpy as np

from ._blas import gemm_for
from ._threads import loop_is_single_threaded
from ._workspace import FRESH

# Backward fills in the forward-only factors of the gate derivatives for a chunk of steps
# at a time, so that a chunk's gates are still in cache when the loop reads them.
CHUNK_BYTES = 1 << 19


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


def _backward_chunks(T, reverse, step_size, dtype):
    """Time slices of a few steps in the order backward visits them, with their steps.

    A chunk's gate arrays (``step_size`` values per step) stay within
    :data:`CHUNK_BYTES`.
    """
    size = max(1, CHUNK_BYTES // (step_size * np.dtype(dtype).itemsize))
    starts = range(0, T, size)
    if not reverse:  # backward walks the forward direction from its last step
        starts = reversed(starts)
    for lo in starts:
        hi = min(lo + size, T)
        yield slice(lo, hi), (range(lo, hi) if reverse else range(hi - 1, lo - 1, -1))


def step_masks(observed, dtype):
    """Per-step masks of the cells' time loops from ``observed`` (T, n) bool, or None.

    Returns a list with, for each step, None when every sequence observes it,
    else ``(missing, keep)``: a (1, n) bool array of the sequences missing the
    step and a (1, n) array of ``dtype`` that is 0 there and 1 elsewhere.
    ``observed=None`` (every step observed) gives None.
    """
    if observed is None:
        return None
    masks = []
    for row in observed:
        if row.all():
            masks.append(None)
        else:
            missing = ~row[None, :]
            masks.append((missing, row[None, :].astype(dtype)))
    return masks


def _sigmoid_scale(n_gates, h, sigmoid_gates, dtype):
    """Per-row factor of the pre-activations: 0.5 for sigmoid gates, 1 for tanh gates."""
    scale = np.ones((n_gates, h), dtype=dtype)
    scale[list(sigmoid_gates)] = 0.5
    return scale.ravel()


def _initial_gradient(dh_last, shape, dtype, buf):
    """Start the gradient carried back in time from ``dh_last`` (None: zeros)."""
    dh = buf.empty("dh", shape, dtype)
    if dh_last is None:
        dh.fill(0)
    else:
        np.copyto(dh, dh_last)
    return dh


def _sigmoid_from_tanh(a):
    """In place: ``a`` holds ``tanh(x / 2)``; make it ``sigmoid(x)``."""
    a *= 0.5
    a += 0.5


class RNNCell:
    r"""Elman cell, as ``torch.nn.RNN``.

    .. math::

        h_t = \phi(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh})

    with :math:`\phi` = tanh or relu. Both biases are folded into the input
    projection by the layer (:meth:`input_bias`).
    """

    n_gates = 1

    def __init__(self, nonlinearity="tanh"):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity

    def gate_scale(self, h, dtype):
        """Factor per row of the input projection (None: the projection is used as is)."""
        return None

    def input_bias(self, b_ih, b_hh):
        """Return what the layer adds to the input projection: here both biases."""
        return b_ih + b_hh

    def forward(self, xp, W_hh, b_hh, reverse, buf=FRESH, missing=None):
        """Run the time loop, overwriting ``xp`` (T, h, n); return the state buffer and cache.

        ``buf`` provides the arrays (see :mod:`skdeeprnn.core._workspace`),
        ``missing`` the steps' masks (:func:`step_masks`; None: all observed).
        """
        T, h, n = xp.shape
        out, prev, init = _slots(T, reverse)
        H = buf.empty("H", (T + 1, h, n), xp.dtype)
        H[init] = 0.0
        gemm = gemm_for(h, h, n, tmp=buf.empty("fwd_tmp", (h, n), xp.dtype))
        relu = self.nonlinearity == "relu"
        for t in _steps(T, reverse):
            a = xp[t]
            gemm(W_hh, H[prev(t)], a, 1.0)
            if relu:
                np.maximum(a, 0.0, out=H[out(t)])
            else:
                np.tanh(a, out=H[out(t)])
            m = None if missing is None else missing[t]
            if m is not None:
                np.copyto(H[out(t)], H[prev(t)], where=m[0])
        return H, None

    def backward(self, H, cache, W_hh, dH, dh_last, reverse, buf=FRESH, missing=None):
        """Gradients of the pre-activations for every step.

        ``dH`` (T, h, n) is the gradient arriving at each step's output from
        above (or None), ``dh_last`` the gradient arriving at the last processed
        step's output (or None). Returns ``(dXP, dHP)``: the gradient with
        respect to the input projection (T, G*h, n), and that with respect to
        the hidden projection as ``(rows, array, is_dXP)`` parts: which rows of
        ``W_hh`` it covers, their gradient (T, rows, n), and whether that is
        ``dXP``'s (so the ``b_hh`` gradient equals ``b_ih``'s). Here one part,
        all of ``dXP``. ``missing``: as in :meth:`forward`.
        """
        T = H.shape[0] - 1
        h, n = H.shape[1], H.shape[2]
        outs, _ = state_slices(T, reverse)
        # the activation's derivative at every step, from the outputs: 1 - h^2 or [h > 0]
        dPre = buf.empty("dPre", (T, h, n), H.dtype)
        if self.nonlinearity == "relu":
            np.greater(H[outs], 0.0, out=dPre)
        else:
            np.multiply(H[outs], H[outs], out=dPre)
            np.subtract(1.0, dPre, out=dPre)
        W_hh_T = np.ascontiguousarray(W_hh.T)  # scipy's gemm: 15% faster than on the view
        gemm = gemm_for(h, h, n, loop_is_single_threaded(n, h, self.n_gates), beta=0.0)
        dh = _initial_gradient(dh_last, (h, n), H.dtype, buf)
        saved = buf.empty("dh_saved", (h, n), H.dtype) if missing is not None else None
        for t in _steps(T, not reverse):
            if dH is not None:
                dh += dH[t]
            dp = dPre[t]
            m = None if missing is None else missing[t]
            if m is not None:  # missing: no gradient to the step, dh passes through it
                np.copyto(saved, dh)
                dp *= m[1]
            dp *= dh
            gemm(W_hh_T, dp, dh, 0.0)
            if m is not None:
                np.copyto(dh, saved, where=m[0])
        return dPre, ((slice(None), dPre, True),)


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

    def gate_scale(self, h, dtype):
        """0.5 for the rows of i, f and o (sigmoid through tanh), 1 for g."""
        return _sigmoid_scale(4, h, (0, 1, 3), dtype)

    def input_bias(self, b_ih, b_hh):
        """Return what the layer adds to the input projection: both biases."""
        return b_ih + b_hh

    def forward(self, xp, W_hh, b_hh, reverse, buf=FRESH, missing=None):
        """Run the time loop on the scaled projection ``xp`` (T, 4h, n), which becomes the gates."""
        T, G, n = xp.shape
        h = G // 4
        out, prev, init = _slots(T, reverse)
        H = buf.empty("H", (T + 1, h, n), xp.dtype)
        C = buf.empty("C", (T + 1, h, n), xp.dtype)
        TC = buf.empty("TC", (T, h, n), xp.dtype)
        H[init] = 0.0
        C[init] = 0.0
        W_scaled = W_hh * self.gate_scale(h, xp.dtype)[:, None]
        gemm = gemm_for(G, h, n, tmp=buf.empty("fwd_tmp", (G, n), xp.dtype))
        ig = buf.empty("ig", (h, n), xp.dtype)
        for t in _steps(T, reverse):
            a = xp[t]
            gemm(W_scaled, H[prev(t)], a, 1.0)
            np.tanh(a, out=a)
            _sigmoid_from_tanh(a[: 2 * h])
            _sigmoid_from_tanh(a[3 * h :])
            c = C[out(t)]
            np.multiply(a[h : 2 * h], C[prev(t)], out=c)
            np.multiply(a[:h], a[2 * h : 3 * h], out=ig)
            c += ig
            np.tanh(c, out=TC[t])
            np.multiply(a[3 * h :], TC[t], out=H[out(t)])
            m = None if missing is None else missing[t]
            if m is not None:
                np.copyto(c, C[prev(t)], where=m[0])
                np.copyto(H[out(t)], H[prev(t)], where=m[0])
        return H, (xp, C, TC)

    def backward(self, H, cache, W_hh, dH, dh_last, reverse, buf=FRESH, missing=None):
        """Gradients of the gate pre-activations; see :meth:`RNNCell.backward`."""
        gates, C, TC = cache
        T, G, n = gates.shape
        h = G // 4
        _, prevs = state_slices(T, reverse)
        g4 = gates.reshape(T, 4, h, n)
        C_prev = C[prevs]
        dG = buf.empty("dG", (T, G, n), H.dtype)
        d4 = dG.reshape(T, 4, h, n)
        W_hh_T = np.ascontiguousarray(W_hh.T)  # scipy's gemm: 15% faster than on the view
        gemm = gemm_for(h, G, n, loop_is_single_threaded(n, h, self.n_gates), beta=0.0)
        dh = _initial_gradient(dh_last, (h, n), H.dtype, buf)
        dc = buf.zeros("dc", (h, n), H.dtype)
        tmp = buf.empty("dc_step", (h, n), H.dtype)
        dc_from_dh = buf.empty("dc_from_dh", (T, h, n), H.dtype)
        if missing is not None:
            saved = buf.empty("dh_saved", (2, h, n), H.dtype)
        for sl, steps in _backward_chunks(T, reverse, G * n, H.dtype):
            i, f, g, o = g4[sl, 0], g4[sl, 1], g4[sl, 2], g4[sl, 3]
            # dG[t] = [dc * g i(1-i), dc * c_prev f(1-f), dc * i(1-g^2), dh * tanh(c) o(1-o)]:
            # every factor but dc and dh, for the chunk's steps at once
            for k, (s, factor) in enumerate(((i, g), (f, C_prev[sl]), (None, i), (o, TC[sl]))):
                dk = d4[sl, k]
                if s is None:  # tanh gate g
                    np.multiply(g, g, out=dk)
                    np.subtract(1.0, dk, out=dk)
                else:
                    np.subtract(1.0, s, out=dk)
                    dk *= s
                dk *= factor
            # what dh contributes to dc: o * (1 - tanh(c)^2)
            dfh = dc_from_dh[sl]
            np.multiply(TC[sl], TC[sl], out=dfh)
            np.subtract(1.0, dfh, out=dfh)
            dfh *= o
            for t in steps:
                if dH is not None:
                    dh += dH[t]
                m = None if missing is None else missing[t]
                if m is not None:  # missing: no gradient to the gates, dh and dc pass through
                    np.copyto(saved[0], dh)
                    np.copyto(saved[1], dc)
                    dG[t] *= m[1]
                np.multiply(dh, dc_from_dh[t], out=tmp)
                dc += tmp
                dt = d4[t]
                dt[3] *= dh
                dt[:3] *= dc
                dc *= g4[t, 1]
                gemm(W_hh_T, dG[t], dh, 0.0)
                if m is not None:
                    np.copyto(dh, saved[0], where=m[0])
                    np.copyto(dc, saved[1], where=m[0])
        return dG, ((slice(None), dG, True),)


class GRUCell:
    r"""Gated recurrent unit, as ``torch.nn.GRU`` (gate order r, z, n).

    .. math::

        r_t &= \sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr}) \\
        z_t &= \sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz}) \\
        n_t &= \tanh(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn})) \\
        h_t &= (1 - z_t) \odot n_t + z_t \odot h_{t-1}

    The reset gate multiplies ``W_hn h + b_hn``, so ``b_hn`` cannot be folded
    into the input projection (``b_hr`` and ``b_hz`` are).
    """

    n_gates = 3

    def gate_scale(self, h, dtype):
        """0.5 for the rows of r and z (sigmoid through tanh), 1 for n."""
        return _sigmoid_scale(3, h, (0, 1), dtype)

    def input_bias(self, b_ih, b_hh):
        """Return what the layer adds to the input projection: ``b_ih``, and ``b_hh`` of r, z."""
        h = b_hh.shape[0] // 3
        bias = b_ih.copy()
        bias[: 2 * h] += b_hh[: 2 * h]
        return bias

    def forward(self, xp, W_hh, b_hh, reverse, buf=FRESH, missing=None):
        """Run the time loop on the scaled projection ``xp`` (T, 3h, n); it becomes r, z, n."""
        T, G, n = xp.shape
        h = G // 3
        out, prev, init = _slots(T, reverse)
        H = buf.empty("H", (T + 1, h, n), xp.dtype)
        HN = buf.empty("HN", (T, h, n), xp.dtype)
        H[init] = 0.0
        W_scaled = W_hh * self.gate_scale(h, xp.dtype)[:, None]
        W_rz, W_n = W_scaled[: 2 * h], W_scaled[2 * h :]
        gemm_tmp = buf.empty("fwd_tmp", (2 * h, n), xp.dtype)
        gemm_rz = gemm_for(2 * h, h, n, tmp=gemm_tmp)
        gemm_n = gemm_for(h, h, n, tmp=gemm_tmp[:h])
        # HN[t] = W_hn h_{t-1} + b_hn: the bias written for all steps, the product added
        beta_n = 0.0
        if b_hh is not None:
            np.copyto(HN, b_hh[2 * h :, None])
            beta_n = 1.0
        rn = buf.empty("rn", (h, n), xp.dtype)
        for t in _steps(T, reverse):
            a = xp[t]
            hprev = H[prev(t)]
            rz = a[: 2 * h]
            gemm_rz(W_rz, hprev, rz, 1.0)
            np.tanh(rz, out=rz)
            _sigmoid_from_tanh(rz)
            r, z, nn = a[:h], a[h : 2 * h], a[2 * h :]
            hn = HN[t]
            gemm_n(W_n, hprev, hn, beta_n)
            np.multiply(hn, r, out=rn)
            nn += rn
            np.tanh(nn, out=nn)
            # h = n + z * (h_prev - n)
            ht = H[out(t)]
            np.subtract(hprev, nn, out=ht)
            ht *= z
            ht += nn
            m = None if missing is None else missing[t]
            if m is not None:
                np.copyto(ht, hprev, where=m[0])
        return H, (xp, HN)

    def backward(self, H, cache, W_hh, dH, dh_last, reverse, buf=FRESH, missing=None):
        """Gradients of the input and hidden projections; see :meth:`RNNCell.backward`."""
        gates, HN = cache
        T, G, n = gates.shape
        h = G // 3
        _, prevs = state_slices(T, reverse)
        g3 = gates.reshape(T, 3, h, n)
        H_prev = H[prevs]
        dXP = buf.empty("dXP", (T, G, n), H.dtype)
        d3 = dXP.reshape(T, 3, h, n)
        # the hidden projection's gradient is dXP's for r and z; for n, dHN = dn * r
        dHN = buf.empty("dHN", (T, h, n), H.dtype)
        # copies: scipy's gemm was measured slower on transposed views here
        W_rz_T = np.ascontiguousarray(W_hh[: 2 * h].T)
        W_n_T = np.ascontiguousarray(W_hh[2 * h :].T)
        gemm_tmp = buf.empty("bwd_tmp", (h, n), H.dtype)
        gemm_rz, gemm_n = gemm_for(h, 2 * h, n, tmp=gemm_tmp), gemm_for(h, h, n, tmp=gemm_tmp)
        tmp_all = buf.empty("tmp_all", (T, h, n), H.dtype)
        dh = _initial_gradient(dh_last, (h, n), H.dtype, buf)
        if missing is not None:
            saved = buf.empty("dh_saved", (h, n), H.dtype)
        for sl, steps in _backward_chunks(T, reverse, G * n, H.dtype):
            r, z, nn = g3[sl, 0], g3[sl, 1], g3[sl, 2]
            dr, dz, dn = d3[sl, 0], d3[sl, 1], d3[sl, 2]
            # every factor but dh (and dn for r), for the chunk's steps at once:
            # dn = dh (1-z)(1-n^2), dz = dh (h_prev - n) z(1-z), dr = dn (W_hn h + b_hn) r(1-r)
            tmp = tmp_all[sl]
            np.multiply(nn, nn, out=tmp)
            np.subtract(1.0, tmp, out=tmp)
            np.subtract(1.0, z, out=dn)
            dn *= tmp
            np.subtract(H_prev[sl], nn, out=dz)
            np.subtract(1.0, z, out=tmp)
            tmp *= z
            dz *= tmp
            np.subtract(1.0, r, out=dr)
            dr *= r
            dr *= HN[sl]
            for t in steps:
                if dH is not None:
                    dh += dH[t]
                m = None if missing is None else missing[t]
                if m is not None:  # missing: no gradient to the gates, dh passes through
                    np.copyto(saved, dh)
                    dXP[t] *= m[1]
                dt = d3[t]
                dt[1:] *= dh
                dt[0] *= dt[2]
                np.multiply(dt[2], g3[t, 0], out=dHN[t])
                # dh_{t-1} = z dh_t + W_hh.T [dr; dz; dn r]
                dh *= g3[t, 1]
                gemm_rz(W_rz_T, dXP[t, : 2 * h], dh, 1.0)
                gemm_n(W_n_T, dHN[t], dh, 1.0)
                if m is not None:
                    np.copyto(dh, saved, where=m[0])
        return dXP, ((slice(0, 2 * h), dXP[:, : 2 * h], True), (slice(2 * h, G), dHN, False))


def make_cell(cell, nonlinearity="tanh"):
    """Return the cell object for the name ``cell`` in {'rnn', 'lstm', 'gru'}."""
    if cell == "rnn":
        return RNNCell(nonlinearity)
    if cell == "lstm":
        return LSTMCell()
    if cell == "gru":
        return GRUCell()
    raise ValueError(f"cell must be one of 'rnn', 'lstm', 'gru', got {cell!r}")
