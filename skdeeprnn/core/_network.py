"""The stacked recurrent network: parameters, forward pass and back-propagation through time.

Computed layer-major (see DESIGN.md §3): for each layer and direction, the
input of all time steps is projected before the time loop, only the recurrent
product runs in the loop (:mod:`skdeeprnn.core._cells`), and in backward the
weight gradients and the gradient to the layer below are computed after it
(BLAS products per step, accumulated in place: :mod:`skdeeprnn.core._blas`).
The public methods take and return time-major
``(T, n, d)`` arrays; inside, each step is feature-major ``(d, n)`` so that a
gate is a contiguous block (see :mod:`skdeeprnn.core._cells`).

Parameter names and shapes are PyTorch's: ``weight_ih_l{k}``, ``weight_hh_l{k}``,
``bias_ih_l{k}``, ``bias_hh_l{k}`` with the suffix ``_reverse`` for the backward
direction, and ``head.weight`` / ``head.bias`` for the dense output layer.

Unequal lengths and missing steps: ``observed`` (T, n), a boolean array, says
which steps each sequence observes. A missing step leaves every layer's state
unchanged (:mod:`skdeeprnn.core._cells`), so a right-padded sequence gives the
outputs, final states and gradients of PyTorch's ``pack_padded_sequence``. The
many-to-one head reads the state after the last observed step (forward
direction) and after the first observed step (reverse direction), or pools the
observed steps only; many-to-many losses weigh the steps by ``step_weight``
(0 at missing steps).
"""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from ._blas import gemm_for, gemm_into, matmul, numpy_products
from ._cells import make_cell, state_slices, step_masks
from ._losses import weighted_loss
from ._params import ParamLayout
from ._threads import blas_threads, recurrent_loop_threads, single_threaded_blas
from ._workspace import FRESH, Workspace


@dataclass(frozen=True)
class Architecture:
    """What the network is; holds no weights.

    Parameters
    ----------
    input_size : int
        Features per time step.
    hidden_sizes : tuple of int
        Hidden units of each stacked layer (one entry per layer).
    output_size : int
        Outputs of the dense head.
    cell : {'rnn', 'lstm', 'gru'}
        Recurrent cell.
    nonlinearity : {'tanh', 'relu'}
        Activation of the 'rnn' cell.
    bias : bool
        Whether the recurrent layers and the head have biases.
    bidirectional : bool
        Whether each layer also runs backward in time (outputs concatenated).
    return_sequences : bool
        Many-to-many (head on every step) instead of many-to-one (last step).
    dropout : float
        Dropout on the input of every layer but the first, during training.
    residual : bool
        Add each layer's input to its output, for every layer but the first:
        the identity where the widths match, else a learned projection
        ``residual_l{k}.weight`` (no bias).
    layer_norm : bool
        Layer normalisation (with gain ``layer_norm_l{k}.weight`` and shift
        ``layer_norm_l{k}.bias``) of each layer's output, after the residual
        addition.
    pooling : {'last', 'mean', 'max'}
        What the many-to-one head reads: the last step's state (PyTorch's
        ``h_n``), or the mean or maximum of the top layer's output over the
        (observed) steps. Ignored for many-to-many output.
    autoregressive : int
        Many-to-one only: the number ``K`` of last steps whose inputs also
        reach the output through a linear map ``autoregressive.weight`` of
        shape ``(output_size, K * input_size)`` (no bias), added to the head's
        scores: an autoregressive term, LSTNet's "highway". It reads the last
        ``K`` positions of ``X`` flattened step by step (oldest first), missing
        steps and positions before the first step as zeros. 0: none.
    """

    input_size: int
    hidden_sizes: tuple
    output_size: int
    cell: str = "rnn"
    nonlinearity: str = "tanh"
    bias: bool = True
    bidirectional: bool = False
    return_sequences: bool = False
    dropout: float = 0.0
    residual: bool = False
    layer_norm: bool = False
    pooling: str = "last"
    autoregressive: int = 0

    def __post_init__(self):
        if self.input_size < 1 or self.output_size < 1:
            raise ValueError("input_size and output_size must be positive")
        if len(self.hidden_sizes) < 1 or min(self.hidden_sizes) < 1:
            raise ValueError(f"hidden_sizes must be positive, got {self.hidden_sizes}")
        make_cell(self.cell, self.nonlinearity)  # validates the names
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.pooling not in ("last", "mean", "max"):
            raise ValueError(f"pooling must be 'last', 'mean' or 'max', got {self.pooling!r}")
        if self.autoregressive < 0:
            raise ValueError(f"autoregressive must be >= 0, got {self.autoregressive}")
        if self.autoregressive and self.return_sequences:
            raise ValueError("the autoregressive term needs many-to-one output "
                             "(return_sequences=False)")

    @property
    def num_layers(self):
        """Number of stacked layers."""
        return len(self.hidden_sizes)

    @property
    def directions(self):
        """Parameter-name suffixes of the directions: ``('',)`` or ``('', '_reverse')``."""
        return ("", "_reverse") if self.bidirectional else ("",)

    def layer_input_size(self, k):
        """Input width of layer ``k``."""
        if k == 0:
            return self.input_size
        return self.hidden_sizes[k - 1] * len(self.directions)

    def layer_output_size(self, k):
        """Output width of layer ``k`` (both directions)."""
        return self.hidden_sizes[k] * len(self.directions)

    def has_residual_projection(self, k):
        """Whether layer ``k``'s skip connection needs a projection (widths differ)."""
        return self.residual and k > 0 and self.layer_input_size(k) != self.layer_output_size(k)

    @property
    def feature_size(self):
        """Width of what the head reads."""
        return self.hidden_sizes[-1] * len(self.directions)


def build_layout(arch):
    """Return the :class:`ParamLayout` of an architecture, in PyTorch's names and shapes."""
    G = make_cell(arch.cell, arch.nonlinearity).n_gates
    weights, biases = [], []
    for k, h in enumerate(arch.hidden_sizes):
        for sfx in arch.directions:
            weights.append((f"weight_ih_l{k}{sfx}", (G * h, arch.layer_input_size(k))))
            weights.append((f"weight_hh_l{k}{sfx}", (G * h, h)))
            if arch.bias:
                biases.append((f"bias_ih_l{k}{sfx}", (G * h,)))
                biases.append((f"bias_hh_l{k}{sfx}", (G * h,)))
        if arch.has_residual_projection(k):
            weights.append((f"residual_l{k}.weight",
                            (arch.layer_output_size(k), arch.layer_input_size(k))))
        if arch.layer_norm:
            # gain and shift are not penalised by L2 (the gain starts at 1)
            biases.append((f"layer_norm_l{k}.weight", (arch.layer_output_size(k),)))
            biases.append((f"layer_norm_l{k}.bias", (arch.layer_output_size(k),)))
    weights.append(("head.weight", (arch.output_size, arch.feature_size)))
    if arch.autoregressive:
        weights.append(("autoregressive.weight",
                        (arch.output_size, arch.autoregressive * arch.input_size)))
    if arch.bias:
        biases.append(("head.bias", (arch.output_size,)))
    return ParamLayout(weights, biases)


class StackedRNN:
    """Forward and backward passes of a stacked recurrent network with a dense head.

    Holds only the (immutable) architecture; weights are passed in as one flat
    vector, so the same object serves any number of parameter vectors.

    Parameters
    ----------
    arch : Architecture
        The network's architecture.
    """

    def __init__(self, arch):
        self.arch = arch
        self.layout = build_layout(arch)
        self.cell = make_cell(arch.cell, arch.nonlinearity)

    # ------------------------------------------------------------------ init
    def init_params(self, random_state, dtype=np.float64, init="uniform", forget_bias=None):
        """Draw initial flat parameters.

        ``init='uniform'`` draws every recurrent tensor from
        U(-1/sqrt(h), 1/sqrt(h)) as PyTorch does (``h`` = the layer's hidden
        size); the head and residual projections use their input width, as
        ``nn.Linear``. ``init='orthogonal'`` additionally makes each gate's
        recurrent block orthogonal. Layer-norm gains start at 1 and shifts at
        0. ``forget_bias`` sets the total bias of the gate whose value 1 keeps
        the state, the LSTM's forget gate (``b_if + b_hf``) or the GRU's update
        gate (``b_iz + b_hz``), to that value (the input-side bias holds it, the
        hidden-side bias is 0). Both gates are the second block of rows.
        """
        arch = self.arch
        flat = np.empty(self.layout.size, dtype=dtype)
        P = self.layout.views(flat)
        for name in self.layout.names:
            if name.startswith("layer_norm_"):
                P[name][...] = 1.0 if name.endswith(".weight") else 0.0
                continue
            if name == "autoregressive.weight":
                P[name][...] = 0.0  # the network alone at first; no draw
                continue
            if name.startswith(("head.", "residual_")):
                fan_in = P[name].shape[1] if name.endswith(".weight") else arch.feature_size
            else:
                k = int(name.split("_l")[1].split("_")[0])
                fan_in = arch.hidden_sizes[k]
            bound = 1.0 / np.sqrt(fan_in)
            P[name][...] = random_state.uniform(-bound, bound, size=P[name].shape)
        if init == "orthogonal":
            for name in self.layout.names:
                if name.startswith("weight_hh"):
                    W = P[name]
                    h = W.shape[1]
                    for g in range(W.shape[0] // h):
                        q, r = np.linalg.qr(random_state.standard_normal((h, h)))
                        W[g * h : (g + 1) * h] = q * np.sign(np.diag(r))
        elif init != "uniform":
            raise ValueError(f"init must be 'uniform' or 'orthogonal', got {init!r}")
        if forget_bias is not None:
            if arch.cell not in ("lstm", "gru") or not arch.bias:
                raise ValueError("forget_bias needs cell='lstm' or 'gru' with bias=True")
            for k, h in enumerate(arch.hidden_sizes):
                for sfx in arch.directions:
                    P[f"bias_ih_l{k}{sfx}"][h : 2 * h] = forget_bias
                    P[f"bias_hh_l{k}{sfx}"][h : 2 * h] = 0.0
        return flat

    # --------------------------------------------------------------- forward
    def forward(self, flat, X, *, observed=None, training=False, random_state=None,
                keep_cache=True, workspace=None):
        """Scores of the head for time-major ``X`` (T, n, d).

        Returns ``(scores, cache)``; scores are ``(n, k)`` for many-to-one and
        ``(T, n, k)`` for many-to-many. ``observed`` (T, n) bool marks the
        steps each sequence observes (None: all); the values of ``X`` at the
        other steps are ignored (they may be NaN), and so are the many-to-many
        scores there. Every sequence must observe at least one step.
        ``cache`` holds what :meth:`backward` needs (None when ``keep_cache``
        is false). Dropout is applied only when ``training`` and needs
        ``random_state``. A :class:`Workspace` given as ``workspace`` provides
        the large arrays, reused from the previous call (which overwrites that
        call's cache); by default they are new.
        """
        buf = FRESH if workspace is None else workspace
        arch = self.arch
        P = self.layout.views(flat)
        T, n, d = X.shape
        dtype = flat.dtype
        # feature-major inside: one step is (features, n), see skdeeprnn.core._cells
        inp = buf.empty("X", (T, d, n), dtype)
        np.copyto(inp, np.swapaxes(X, 1, 2))
        missing = step_masks(observed, dtype)
        if missing is not None and all(m is None for m in missing):
            observed = missing = None
        if observed is not None:
            np.copyto(inp, 0.0, where=~observed[:, None, :])
        first_input = inp  # missing steps are zeros
        layer_caches = []
        for k, h in enumerate(arch.hidden_sizes):
            mask = None
            if k > 0 and training and arch.dropout > 0:
                keep = 1.0 - arch.dropout
                mask = (random_state.random_sample(inp.shape) < keep).astype(dtype)
                mask /= keep
                inp = inp * mask
            # one direction without a skip: the layer's output is a view of the states
            out_is_states = len(arch.directions) == 1 and not (arch.residual and k > 0)
            if not out_is_states:
                out = buf.empty(("out", k), (T, h * len(arch.directions), n), dtype)
            scale = self.cell.gate_scale(h, dtype)
            dir_caches = []
            for j, sfx in enumerate(arch.directions):
                reverse = sfx == "_reverse"
                W_ih = P[f"weight_ih_l{k}{sfx}"]
                W_hh = P[f"weight_hh_l{k}{sfx}"]
                if scale is not None:  # the cell's pre-activation scaling, folded into W_ih
                    W_ih = W_ih * scale[:, None]
                xp = matmul(W_ih, inp, out=buf.empty(("xp", k, j), (T, W_ih.shape[0], n), dtype))
                b_hh = None
                if arch.bias:
                    b_hh = P[f"bias_hh_l{k}{sfx}"]
                    b = self.cell.input_bias(P[f"bias_ih_l{k}{sfx}"], b_hh)
                    xp += (b if scale is None else b * scale)[:, None]
                with recurrent_loop_threads(n, h, self.cell.n_gates):
                    H, cell_cache = self.cell.forward(xp, W_hh, b_hh, reverse,
                                                      buf.scope("cell", k, j), missing)
                outs, _ = state_slices(T, reverse)
                if out_is_states:
                    out = H[outs]
                else:
                    out[:, j * h : (j + 1) * h] = H[outs]
                if keep_cache:
                    dir_caches.append((H, cell_cache))
            if arch.residual and k > 0:
                if arch.has_residual_projection(k):
                    matmul(P[f"residual_l{k}.weight"], inp, out=out, beta=1.0)
                else:
                    out += inp
            norm_cache = None
            if arch.layer_norm:
                out, norm_cache = _layer_norm_forward(
                    out, P[f"layer_norm_l{k}.weight"], P[f"layer_norm_l{k}.bias"]
                )
            if keep_cache:
                layer_caches.append((inp, mask, dir_caches, norm_cache))
            inp = out
        argmax = None
        if self.arch.pooling == "max" and not self.arch.return_sequences:
            # (D*h, n): the step of each maximum, over the observed steps
            masked = inp if observed is None else np.where(observed[:, None, :], inp, -np.inf)
            feats = masked.max(axis=0)
            # the first step holding each maximum, as argmax would give, at half its cost
            argmax = (masked == feats).argmax(axis=0)
        else:
            feats = self._features(inp, observed)
        scores = matmul(P["head.weight"], feats)  # (k, n) or (T, k, n)
        if arch.bias:
            scores += P["head.bias"][:, None]
        lagged = None
        if arch.autoregressive:
            lagged = self.lagged_inputs(first_input, feature_major=True)
            scores += matmul(P["autoregressive.weight"], lagged)
        cache = None
        if keep_cache:
            cache = ((T, n, d), layer_caches, feats, argmax, (observed, missing), lagged)
        return np.ascontiguousarray(np.swapaxes(scores, -1, -2)), cache

    def lagged_inputs(self, X, observed=None, feature_major=False):
        """Return the inputs the autoregressive term reads, ``(K * d, n)``.

        The last ``K`` positions of ``X``, time-major ``(T, n, d)`` (or
        ``(T, d, n)`` with ``feature_major``, missing steps already zero),
        stacked step by step, oldest first; missing steps and the positions
        before the first step are zeros.
        """
        K = self.arch.autoregressive
        T = X.shape[0]
        d, n = (X.shape[1], X.shape[2]) if feature_major else (X.shape[2], X.shape[1])
        lagged = np.zeros((K, d, n), dtype=X.dtype)
        steps = slice(max(T - K, 0), T)
        window = X[steps] if feature_major else np.swapaxes(X[steps], 1, 2)
        present = lagged[K - (steps.stop - steps.start):]
        present[...] = window
        if observed is not None and not feature_major:
            np.copyto(present, 0.0, where=~observed[steps][:, None, :])
        return lagged.reshape(K * d, n)

    def _reads_states(self):
        """Whether the top layer's output is its states, so that they hold ``h_n`` at the ends."""
        return not (self.arch.layer_norm or (self.arch.residual and self.arch.num_layers > 1))

    def _features(self, top, observed=None):
        """Select what the head reads from the top layer's output ``top`` (T, D*h, n)."""
        if self.arch.return_sequences:
            return top
        if self.arch.pooling == "mean":
            if observed is None:
                return top.mean(axis=0)
            weights = observed / observed.sum(axis=0)
            return np.einsum("tfn,tn->fn", top, weights.astype(top.dtype))
        h = self.arch.hidden_sizes[-1]
        if observed is None or self._reads_states():
            # a missing step keeps the state: the last slot is the state after the last
            # observed step, and the reverse direction's first slot after its first
            last, first = top[-1], top[0]
        else:
            last, first = _gather_ends(top, observed)
        if not self.arch.bidirectional:
            return last
        # as PyTorch's h_n: forward's last step, backward's first step
        return np.concatenate([last[:h], first[h:]], axis=0)

    def inference_rows(self, T, dtype):
        """Sequences per chunk of :meth:`predict_scores` (set by the architecture, not the data).

        Enough that each step's gate arrays (``rows * G * h`` values per
        direction) fill 256 KiB, so that NumPy's per-call overhead stays small
        beside the arithmetic (and two threads rarely wait for each other's
        Python), few enough that a chunk's input projection stays within
        16 MiB; a multiple of 64.
        """
        width = self.cell.n_gates * max(self.arch.hidden_sizes) * len(self.arch.directions)
        width *= np.dtype(dtype).itemsize
        rows = min(-(-(256 << 10) // width), (16 << 20) // (T * width))
        return 64 * max(1, -(-rows // 64))

    def predict_scores(self, flat, X, observed=None):
        """Scores of time-major ``X`` (T, n, d) without keeping a cache (inference).

        The sequences are scored in chunks of :meth:`inference_rows`, reusing
        one workspace from chunk to chunk, which also bounds the memory of a
        large ``X``. Where BLAS may use several threads, as many chunks run at
        once on as many threads, each with single-threaded BLAS. A chunk is
        computed the same way whichever thread runs it, so the scores do not
        depend on the thread count.

        With ``observed`` (see :meth:`forward`), the chunks hold sequences of
        similar span (first to last observed step), each computed on the steps
        its sequences observe only; many-to-many scores are NaN at the steps a
        chunk did not compute (missing steps all).
        """
        T, n, _ = X.shape
        rows = self.inference_rows(T, flat.dtype)
        if observed is not None:
            return self._predict_unequal(flat, X, observed, rows)
        if n <= rows:
            # as one chunk of the threaded path: NumPy's products on one thread, so that
            # neither BLAS thread pool is left spinning beside training's (fit validates
            # through here)
            with single_threaded_blas(), numpy_products():
                return self.forward(flat, X, observed=observed, keep_cache=False)[0]
        chunks = [slice(s, min(s + rows, n)) for s in range(0, n, rows)]
        threads = min(len(chunks), blas_threads())
        # contiguous runs of chunks per thread, each run with its own workspace
        bounds = np.linspace(0, len(chunks), threads + 1).round().astype(int)
        runs = [chunks[bounds[i] : bounds[i + 1]] for i in range(threads)]

        def score(run):
            workspace = Workspace()
            with numpy_products():
                return [self.forward(flat, X[:, sl], keep_cache=False, workspace=workspace,
                                     observed=None if observed is None else observed[:, sl])[0]
                        for sl in run]

        if threads == 1:
            parts = score(runs[0])
        else:
            with single_threaded_blas(), ThreadPoolExecutor(threads - 1) as pool:
                others = [pool.submit(score, run) for run in runs[1:]]
                parts = score(runs[0])
                for future in others:
                    parts += future.result()
        return np.concatenate(parts, axis=-2)

    def _predict_unequal(self, flat, X, observed, rows):
        """:meth:`predict_scores` for sequences with missing steps: grouped and trimmed chunks.

        With the autoregressive term, which reads the window's last positions, a
        chunk is trimmed at the front only.
        """
        T, n, _ = X.shape
        last, first = _ends(observed, T, n)
        order = np.argsort(last - first, kind="stable")
        chunks = [order[s : s + rows] for s in range(0, n, rows)]
        threads = min(len(chunks), blas_threads())
        k = self.arch.output_size
        shape = (T, n, k) if self.arch.return_sequences else (n, k)
        out = np.full(shape, np.nan, dtype=flat.dtype)

        def score(run):
            workspace = Workspace()
            with numpy_products():
                for idx in run:
                    end = T if self.arch.autoregressive else int(last[idx].max()) + 1
                    steps = slice(int(first[idx].min()), end)
                    scores = self.forward(flat, X[steps][:, idx], observed=observed[steps][:, idx],
                                          keep_cache=False, workspace=workspace)[0]
                    if self.arch.return_sequences:
                        out[steps, idx] = scores
                    else:
                        out[idx] = scores

        bounds = np.linspace(0, len(chunks), threads + 1).round().astype(int)
        runs = [chunks[bounds[i] : bounds[i + 1]] for i in range(threads)]
        with single_threaded_blas():
            if threads == 1:
                score(runs[0])
            else:
                with ThreadPoolExecutor(threads - 1) as pool:
                    others = [pool.submit(score, run) for run in runs[1:]]
                    score(runs[0])
                    for future in others:
                        future.result()
        return out

    # -------------------------------------------------------------- backward
    def backward(self, flat, cache, dscores, workspace=None):
        """Flat gradient of the parameters given the gradient of the scores.

        ``workspace`` is the one given to :meth:`forward` for ``cache``, if any.
        """
        buf = FRESH if workspace is None else workspace
        arch = self.arch
        P = self.layout.views(flat)
        grad = np.zeros_like(flat)
        Gd = self.layout.views(grad)
        (T, n, _), layer_caches, feats, argmax, (observed, missing), lagged = cache
        dS = np.swapaxes(dscores, -1, -2)  # (k, n) or (T, k, n), as the head's output
        if arch.return_sequences:
            _sum_over_steps(dS, feats, Gd["head.weight"])
        else:
            gemm_into(dS, feats.T, Gd["head.weight"], beta=0.0)
        if lagged is not None:
            gemm_into(dS, lagged.T, Gd["autoregressive.weight"], beta=0.0)
        if arch.bias:
            dS.sum(axis=tuple(a for a in range(dS.ndim) if a != dS.ndim - 2),
                   out=Gd["head.bias"])
        dfeats = matmul(P["head.weight"].T, dS)
        if arch.return_sequences:
            dtop, dlast = dfeats, None
        elif arch.pooling == "mean" and observed is not None:
            # every observed step's output enters its sequence's mean with weight 1/count
            weights = (observed / observed.sum(axis=0)).astype(flat.dtype)
            dtop = dfeats[None] * weights[:, None, :]
            dlast = None
        elif arch.pooling == "mean":
            # every step's output enters the mean with weight 1/T
            dtop = np.empty((T,) + dfeats.shape, dtype=flat.dtype)
            np.multiply(dfeats, 1.0 / T, out=dtop[0])
            dtop[1:] = dtop[0]
            dlast = None
        elif arch.pooling == "max":
            # the gradient of a maximum goes to the (first) step it was taken from
            dtop = np.zeros((T,) + dfeats.shape, dtype=flat.dtype)
            np.put_along_axis(dtop, argmax[None], dfeats[None], axis=0)
            dlast = None
        else:
            dtop, dlast = None, dfeats
        for k in range(arch.num_layers - 1, -1, -1):
            inp, mask, dir_caches, norm_cache = layer_caches[k]
            h = arch.hidden_sizes[k]
            skip = arch.residual and k > 0
            if dtop is None and (skip or norm_cache is not None):
                # the many-to-one gradient enters at h_n; spread it over the layer's output
                dtop = np.zeros((T, arch.layer_output_size(k), n), dtype=flat.dtype)
                last, first = _ends(observed, T, n)
                cols = np.arange(n)
                dtop[last, :h, cols] = dlast[:h].T
                if arch.bidirectional:
                    dtop[first, h:, cols] = dlast[h:].T
                dlast = None
            if norm_cache is not None:
                dtop = _layer_norm_backward(
                    dtop, norm_cache, P[f"layer_norm_l{k}.weight"],
                    Gd[f"layer_norm_l{k}.weight"], Gd[f"layer_norm_l{k}.bias"],
                )
            dinp = None
            if skip:
                if arch.has_residual_projection(k):
                    _sum_over_steps(dtop, inp, Gd[f"residual_l{k}.weight"])
                    dinp = matmul(P[f"residual_l{k}.weight"].T, dtop)
                else:
                    dinp = dtop.copy()
            for j, sfx in enumerate(arch.directions):
                reverse = sfx == "_reverse"
                H, cell_cache = dir_caches[j]
                rows = slice(j * h, (j + 1) * h)
                dH = None if dtop is None else dtop[:, rows]
                dh_last = None if dlast is None else dlast[rows]
                W_ih = P[f"weight_ih_l{k}{sfx}"]
                W_hh = P[f"weight_hh_l{k}{sfx}"]
                with recurrent_loop_threads(n, h, self.cell.n_gates):
                    dXP, dHP = self.cell.backward(H, cell_cache, W_hh, dH, dh_last, reverse,
                                                  buf.scope("cell", k, j), missing)
                _, prevs = state_slices(T, reverse)
                _sum_over_steps(dXP, inp, Gd[f"weight_ih_l{k}{sfx}"])
                if arch.bias:
                    _sum_over_steps_and_columns(dXP, Gd[f"bias_ih_l{k}{sfx}"])
                for gate_rows, dA, is_dXP in dHP:
                    _sum_over_steps(dA, H[prevs], Gd[f"weight_hh_l{k}{sfx}"][gate_rows])
                    if arch.bias:
                        db = Gd[f"bias_hh_l{k}{sfx}"][gate_rows]
                        if is_dXP:
                            db[...] = Gd[f"bias_ih_l{k}{sfx}"][gate_rows]
                        else:
                            _sum_over_steps_and_columns(dA, db)
                if k > 0:
                    if dinp is None:
                        dinp = matmul(W_ih.T, dXP, out=buf.empty(("dinp", k),
                                                                 (T, W_ih.shape[1], n), flat.dtype))
                    else:
                        matmul(W_ih.T, dXP, out=dinp, beta=1.0)
            if k > 0:
                if mask is not None:
                    dinp *= mask
                dtop, dlast = dinp, None
        return grad

    # ------------------------------------------------------------------ loss
    def loss_and_grad(self, flat, X, Y, loss, sample_weight=None, alpha=0.0, *,
                      observed=None, step_weight=None, training=True, random_state=None,
                      workspace=None):
        """Objective and its flat gradient.

        ``objective = sum_i w_i l_i / sum_i w_i + alpha / 2 * ||weights||^2``
        where ``l_i`` is sample ``i``'s ``loss`` (a name in :data:`LOSSES` or a
        ``(name, params)`` pair) and the penalty covers weight matrices, not
        biases. For many-to-many output ``l_i`` is the sum over
        the steps of the step losses times ``step_weight`` (T, n), which
        defaults to ``observed`` (1 at observed steps, 0 at missing ones).
        ``Y`` has the shape of the scores and must be finite.
        ``observed``: see :meth:`forward`. ``workspace``: see :meth:`forward`;
        the returned gradient is always a new array.
        """
        scores, cache = self.forward(flat, X, observed=observed, training=training,
                                     random_state=random_state, workspace=workspace)
        if step_weight is None and observed is not None and self.arch.return_sequences:
            step_weight = observed
        value, dscores = weighted_loss(loss, scores, Y, sample_weight, step_weight)
        grad = self.backward(flat, cache, dscores, workspace=workspace)
        if alpha:
            w = flat[: self.layout.n_weights]
            value += 0.5 * alpha * float(np.einsum("i,i->", w, w))
            grad[: self.layout.n_weights] += alpha * w
        return value, grad


def _ends(observed, T, n):
    """Per sequence, the index of its last and of its first observed step."""
    if observed is None:
        return np.full(n, T - 1), np.zeros(n, dtype=np.intp)
    last = T - 1 - observed[::-1].argmax(axis=0)
    return last, observed.argmax(axis=0)


def _gather_ends(top, observed):
    """``top`` (T, F, n) at each sequence's last and at its first observed step, as (F, n)."""
    T, _, n = top.shape
    last, first = _ends(observed, T, n)
    cols = np.arange(n)
    return top[last, :, cols].T, top[first, :, cols].T


def _sum_over_steps(dA, B, out):
    """Write ``sum_t dA[t] @ B[t].T`` into ``out``; ``dA`` (T, p, n), ``B`` (T, q, n).

    The sum contracts over time and batch, which are not adjacent in the layout, so it is
    T products accumulated in place by BLAS (:func:`gemm_into`). Measured on the
    benchmark's shapes, that beats both a product per step summed over a (T, p, q)
    temporary and one GEMM over the steps laid side by side (which first copies both
    operands): on one thread, 0.87 against 1.07 and 1.22 ms for a 2x64 LSTM layer in
    float64. Small products (:func:`gemm_for`) keep NumPy's one call.
    """
    T, p, n = dA.shape
    gemm = gemm_for(p, n, B.shape[1])
    if gemm is not gemm_into:
        return np.matmul(dA, np.swapaxes(B, 1, 2)).sum(axis=0, out=out)
    for t in range(T):
        gemm(dA[t], B[t].T, out, beta=0.0 if t == 0 else 1.0)
    return out


def _sum_over_steps_and_columns(dA, out):
    """Write ``dA.sum(axis=(0, 2))`` into ``out``: a bias gradient.

    The sum over the steps first: NumPy's reduction over the short contiguous rows of
    ``dA`` was measured 1.3x (float64) to 3x (float32) slower.
    """
    dA.sum(axis=0).sum(axis=1, out=out)
    return out


def _layer_norm_forward(x, gain, shift, eps=1e-5):
    """Normalise ``x`` (..., F, n) over its feature axis; return the output and backward's cache.

    Two full-size arrays are allocated; everything else is computed in place.
    """
    xhat = x - x.mean(axis=-2, keepdims=True)
    out = np.square(xhat)
    var = out.mean(axis=-2, keepdims=True)
    var += eps
    inv_std = np.reciprocal(np.sqrt(var, out=var), out=var)
    xhat *= inv_std
    np.multiply(xhat, gain[:, None], out=out)
    out += shift[:, None]
    return out, (xhat, inv_std)


def _layer_norm_backward(dy, cache, gain, dgain, dshift):
    """Gradient to the layer-norm input; writes the gain and shift gradients in place.

    With ``g = dy * gain``: ``inv_std * (g - mean_F(g) - xhat * mean_F(g * xhat))``,
    the means again as products with ``gain / F``.
    """
    xhat, inv_std = cache
    n_features = dy.shape[-2]
    dy_xhat = dy * xhat
    # sums over the samples (contiguous) first, then over the steps
    dgain[...] = dy_xhat.sum(axis=-1).reshape(-1, n_features).sum(axis=0)
    dshift[...] = dy.sum(axis=-1).reshape(-1, n_features).sum(axis=0)
    weights = gain / n_features
    mean_g = np.matmul(weights, dy)[..., None, :]
    mean_g_xhat = np.matmul(weights, dy_xhat)[..., None, :]
    dx = dy * gain[:, None]
    dx -= mean_g
    dx -= np.multiply(xhat, mean_g_xhat, out=dy_xhat)
    dx *= inv_std
    return dx
