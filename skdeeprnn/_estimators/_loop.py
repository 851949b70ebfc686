"""The training loops: minibatches with a first-order optimizer, or full-batch L-BFGS.

Functions of the estimator being fitted (``est``), which reads its parameters,
holds the network and its flat weights (``network_``, ``_theta``) and records
what training did (``n_iter_``, ``loss_curve_``, ...). ``fit_stochastic`` runs
each epoch through ``est._run_epoch``, so that an estimator (or a benchmark)
can wrap it.
"""

import time

import numpy as np
import scipy.optimize
from sklearn.exceptions import ConvergenceWarning

from .._sequences import batches, step_range
from ..core import Workspace, clip_by_global_norm
from ._training import (
    PLATEAU_SHARE,
    Interrupt,
    PlateauMonitor,
    auto_batch_size,
    constant_prediction_loss,
    progress_line,
    warn_caller,
)


def time_major_batch(X3, Y, rows):
    """Rows ``rows`` (indices or a slice) of ``X3`` (n, T, d) and ``Y``, time-major views.

    Fancy indexing reads only those rows, also from a strided ``X3`` such
    as a window view; the core copies the batch into its own layout.
    """
    Yb = np.swapaxes(Y[rows], 0, 1) if Y.ndim == 3 else Y[rows]
    return np.swapaxes(X3[rows], 0, 1), Yb


def fit_lbfgs(est, data, Y):
    """Full-batch training by SciPy's L-BFGS-B, the weights set to the last iterate.

    ``data``: the fit's :class:`~skdeeprnn._sequences.Sequences`; ``Y`` its
    encoded targets.
    """
    X, sample_weight = data.X, data.weights
    Xt, Yt = time_major_batch(X, Y, slice(None))  # views: the core copies into its layout
    net, dtype = est.network_, est._theta.dtype
    loss_name = est._loss_name()
    workspace = Workspace()
    observed_t = None if data.observed is None else data.observed.T
    step_weight_t = None if data.step_weight is None else data.step_weight.T
    frozen = est._frozen()
    alpha = est._alpha_value()

    def objective(theta):
        value, grad = net.loss_and_grad(
            theta.astype(dtype, copy=False), Xt, Yt, loss_name, sample_weight, alpha,
            observed=observed_t, step_weight=step_weight_t, training=False,
            workspace=workspace,
        )
        if frozen is not None:
            grad[frozen] = 0.0
        return value, grad.astype(np.float64)

    curve = []
    started = time.perf_counter()

    def record(intermediate_result):
        curve.append(float(intermediate_result.fun))
        if est.verbose:
            print(progress_line(len(curve), est.max_iter, curve[-1], None, None,
                                time.perf_counter() - started))
        if interrupt.requested:
            raise StopIteration  # scipy ends the minimisation at this iterate

    with Interrupt() as interrupt:
        result = scipy.optimize.minimize(
            objective, est._theta.astype(np.float64), jac=True, method="L-BFGS-B",
            callback=record,
            options={"maxiter": est.max_iter, "maxfun": est.max_fun, "gtol": est.tol,
                     "ftol": 64 * np.finfo(float).eps},
        )
    if np.all(np.isfinite(result.x)) and np.isfinite(result.fun):
        est._theta[...] = result.x
    else:
        warn_caller(
            "L-BFGS produced non-finite weights; the initial weights were kept. "
            "Scale the inputs or use another solver.",
            ConvergenceWarning,
        )
    est.n_iter_ = int(result.nit)
    est.t_ = X.shape[0] * max(est.n_iter_, 1)
    est.loss_ = float(result.fun)
    est.loss_curve_ = curve or [est.loss_]
    est.best_loss_ = min(est.loss_curve_)
    if est.verbose:
        print(f"L-BFGS: {est.n_iter_} iterations, loss={est.loss_:.6g}, {result.message}")
    if interrupt.requested:
        warn_caller(
            f"Training was interrupted (KeyboardInterrupt) after {est.n_iter_} L-BFGS "
            "iteration(s); the model is usable and holds the last iterate's weights.",
            UserWarning,
        )
    elif result.status == 1:
        warn_caller(
            f"lbfgs failed to converge after {est.n_iter_} iterations (max_iter="
            f"{est.max_iter}, max_fun={est.max_fun}); increase them or scale the data.",
            ConvergenceWarning,
        )


def split_validation(est, n):
    """Return ``(train, validation)`` indices; validation is the last part unless shuffling."""
    n_val = max(1, int(round(est.validation_fraction * n)))
    if n - n_val < 1:
        raise ValueError(
            f"early_stopping needs at least 2 samples to split off a validation set "
            f"(validation_fraction={est.validation_fraction}); got {n}."
        )
    order = est._rng.permutation(n) if est.shuffle else np.arange(n)
    return np.sort(order[: n - n_val]), np.sort(order[n - n_val :])


def fit_stochastic(est, data, Y, incremental):
    """Minibatch training on ``data`` (:class:`~skdeeprnn._sequences.Sequences`).

    ``Y`` holds the encoded targets. The loss weighs by ``data.weights`` and
    ``data.step_weight``; the validation score of early stopping by
    ``data.sample_weight``, the weights as given.
    """
    X, y = data.X, data.y
    n = X.shape[0]
    train = np.arange(n)
    val = None
    if est.early_stopping and not incremental:
        train, val = split_validation(est, n)
    if est._optimizer is None or not (incremental or est.warm_start):
        est._optimizer = est._make_optimizer()
    elif not incremental:
        # a warm-started fit runs its own schedule from the initial learning rate
        est._optimizer.learning_rate = est.learning_rate_init
    if not incremental:
        est._no_improvement_count = 0
    n_train = len(train)
    if est.batch_size == "auto":
        batch_size = auto_batch_size(n_train)
    else:
        batch_size = min(est.batch_size, n_train)
    if not incremental:  # partial_fit neither reduces the rate nor stops
        constant_loss = constant_prediction_loss(
            est._loss_name(), Y[train], data.weights[train],
            None if data.step_weight is None else data.step_weight[train])
        plateau_loss = PLATEAU_SHARE * constant_loss
        monitor = PlateauMonitor(est.learning_rate, est.n_iter_no_change,
                                 est.plateau_factor, est.learning_rate_init)
    epochs = 1 if incremental else est.max_iter
    workspace = Workspace()
    best_theta = None
    # weights of the epoch with the lowest training loss: what divergence falls back to
    lowest_theta = est._theta.copy()
    stopped = diverged = False
    started = time.perf_counter()
    with Interrupt() as interrupt:
        for epoch in range(1, epochs + 1):
            with np.errstate(over="ignore", invalid="ignore"):
                epoch_loss, diverged, n_seen = est._run_epoch(
                    data, Y, train, batch_size, workspace, interrupt)
            if diverged:
                est._theta[...] = lowest_theta
                warn_caller(
                    f"Training diverged in epoch {est.n_iter_ + 1}: the loss or the "
                    "gradient became non-finite. Training stopped and the weights of the "
                    "epoch with the lowest training loss were restored. Lower "
                    "learning_rate_init, set clip_grad_norm, or scale the inputs and "
                    "targets.",
                    ConvergenceWarning,
                )
                break
            if n_seen < n_train:  # interrupted within the epoch: not a complete one
                est.t_ += n_seen
                break
            est.n_iter_ += 1
            est.t_ += n_train
            est.loss_ = epoch_loss
            est.loss_curve_.append(epoch_loss)
            score = None
            if val is not None:
                score = est._validation_score(X[val], y[val], data.sample_weight[val])
                est.validation_scores_.append(score)
                improved = score > est.best_validation_score_ + est.tol
                if score > est.best_validation_score_:
                    est.best_validation_score_ = score
                    best_theta = est._theta.copy()
            else:
                improved = epoch_loss <= est.best_loss_ - est.tol
            if epoch_loss < est.best_loss_:
                est.best_loss_ = epoch_loss
                np.copyto(lowest_theta, est._theta)
            if est.verbose:
                print(progress_line(epoch, epochs, epoch_loss, score,
                                    est._optimizer.learning_rate,
                                    time.perf_counter() - started))
            if interrupt.requested:
                break
            if incremental:
                continue
            action = monitor.update(est, improved, epoch_loss > plateau_loss)
            if action == "reduce" and est.verbose:
                print(f"No improvement for {est.n_iter_no_change} epochs: learning rate "
                      f"reduced to {est._optimizer.learning_rate:.3g}.")
            elif action == "stop":
                stopped = True
                if est.verbose:
                    what = "Validation score" if val is not None else "Training loss"
                    print(f"{what} did not improve more than tol={est.tol} for "
                          f"{est.n_iter_no_change} consecutive epochs at learning rate "
                          f"{est._optimizer.learning_rate:.3g}. Stopping.")
                break
    if best_theta is not None:
        est._theta[...] = best_theta
    if interrupt.requested and not diverged:
        warn_caller(
            f"Training was interrupted (KeyboardInterrupt) after {est.n_iter_} complete "
            "epoch(s); the model is usable"
            + (" and holds the weights of the best validation score."
               if best_theta is not None else " and holds the current weights."),
            UserWarning,
        )
    elif not (incremental or stopped or diverged):
        warn_caller(
            f"Stochastic optimizer: maximum iterations ({est.max_iter}) reached and the "
            "optimization hasn't converged yet.",
            ConvergenceWarning,
        )


def run_epoch(est, data, Y, rows, batch_size, workspace, interrupt):
    """One pass over sequences ``rows`` of ``data`` in minibatches: ``(loss, diverged, seen)``.

    ``data`` is the fit's :class:`~skdeeprnn._sequences.Sequences`, ``Y`` its
    encoded targets. Each minibatch is gathered into the
    core's time-major layout as it is used, so training never holds a
    second copy of the data; ``workspace`` holds the arrays that every
    minibatch reuses. With unequal ``lengths`` (the steps from each
    sequence's first to its last observed step), minibatches group
    sequences of similar length (:func:`batches`) and each is trimmed to
    the steps its sequences observe. Stops at the first batch whose loss,
    gradient or update is not finite and reports it as diverged; the
    caller restores good weights. Stops after the current minibatch when
    ``interrupt.requested``; ``seen`` counts the sequences trained on.
    """
    frozen = est._frozen()
    alpha = est._alpha_value()
    n = len(rows)
    X, sample_weight = data.X, data.weights[rows]
    step_weight = None if data.step_weight is None else data.step_weight[rows]
    lengths = None if data.lengths is None else data.lengths[rows]
    theta, net, opt = est._theta, est.network_, est._optimizer
    loss_name = est._loss_name()
    total, weight_seen, seen = 0.0, 0.0, 0
    for idx in batches(n, batch_size, est._rng, est.shuffle, lengths):
        sw = sample_weight[idx]
        w = sw.sum()
        if w == 0:
            seen += len(idx)
            continue
        Xb, Yb = time_major_batch(X, Y, rows[idx])
        observed = sw_steps = None
        if lengths is not None:
            observed = data.observed_of_rows(rows[idx])
            if observed is not None:  # only the steps some sequence observes
                steps = step_range(observed)
                if net.arch.autoregressive:
                    # the autoregressive term reads the window's last positions
                    steps = slice(steps.start, len(observed))
                Xb, observed = Xb[steps], observed[steps]
                if est.return_sequences:
                    Yb = Yb[steps]
        if step_weight is not None:
            sw_steps = step_weight[idx].T
            if observed is not None:
                sw_steps = sw_steps[steps]
        value, grad = net.loss_and_grad(
            theta, Xb, Yb, loss_name, sw, alpha, observed=observed,
            step_weight=sw_steps, training=True, random_state=est._rng,
            workspace=workspace,
        )
        if frozen is not None:
            grad[frozen] = 0.0
        norm = clip_by_global_norm(grad, est.clip_grad_norm)
        if not (np.isfinite(value) and np.isfinite(norm)):
            return np.nan, True, seen
        opt.update(theta, grad)
        total += value * w
        weight_seen += w
        seen += len(idx)
        if interrupt.requested:
            n = seen
            break
    if not np.all(np.isfinite(theta)):
        return np.nan, True, n
    return (total / weight_seen if weight_seen > 0 else np.nan), False, n
