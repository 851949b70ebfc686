"""The training loop: stopping rule, learning-rate schedule, batch rule, Ctrl-C, feedback."""

import re
import signal
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline

from skdeeprnn import DeepRNNClassifier, DeepRNNRegressor, SequenceStandardScaler
from skdeeprnn._estimators import _loop, _training
from skdeeprnn._estimators._training import (
    PlateauMonitor,
    auto_batch_size,
    constant_prediction_loss,
    format_duration,
)
from skdeeprnn.core import StackedRNN

RNG = np.random.RandomState(0)
X_SEQ = RNG.normal(size=(120, 8, 2))
Y_SUM = X_SEQ[:, :, 0].sum(axis=1)
SMALL = dict(hidden_size=4, random_state=0)


def memory_task(n, T=12, seed=0):
    """Noise whose label is the sign of the first step's first feature."""
    X = np.random.RandomState(seed).normal(size=(n, T, 2))
    return X, (X[:, 0, 0] > 0).astype(int)


# ------------------------------------------------------------------ pieces
def test_auto_batch_size_rule():
    sizes = (5, 20, 31, 32, 64, 200, 256, 1000, 3200, 10_000, 35_040, 50_000, 200_000)
    assert [auto_batch_size(n) for n in sizes] == [5, 20, 31, 8, 8, 25, 32, 32, 32, 100, 350,
                                                   500, 1024]


def test_constant_prediction_loss_known_values():
    w = np.array([1.0, 1.0, 2.0, 0.0])
    y = np.array([[0.0], [2.0], [4.0], [100.0]])
    # weighted mean 2.5, weighted variance (2.5**2 + 0.5**2 + 2 * 1.5**2) / 4 = 2.75
    assert constant_prediction_loss("squared_error", y, w) == pytest.approx(0.5 * 2.75)
    onehot = np.eye(3)[[0, 2, 1, 2]]
    p = np.array([1, 2, 1]) / 4.0  # weighted class frequencies
    entropy = -(p * np.log(p)).sum()
    assert constant_prediction_loss("softmax_cross_entropy", onehot, w) == pytest.approx(entropy)
    labels = np.array([[1.0, 0.0], [0.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    q = np.array([3, 2]) / 4.0
    binary = -(q * np.log(q) + (1 - q) * np.log(1 - q)).sum()
    assert constant_prediction_loss("sigmoid_log_loss", labels, w) == pytest.approx(binary)
    # many-to-many: the loss is summed over the steps
    steps = np.repeat(y[:, None, :], 3, axis=1)
    assert constant_prediction_loss("squared_error", steps, w) == pytest.approx(3 * 0.5 * 2.75)


class _Optimizer:
    learning_rate = 1.0


class _Estimator:
    def __init__(self):
        self._optimizer = _Optimizer()
        self._no_improvement_count = 0


def test_plateau_monitor_reduces_then_stops():
    est = _Estimator()
    monitor = PlateauMonitor("plateau", 2, 0.2, 1.0)
    actions = [monitor.update(est, improved=False, on_initial_plateau=False) for _ in range(8)]
    # 1 -> 0.2 -> 0.04 -> would be 0.008 < 1e-2 of the initial rate: stop at the third plateau
    assert actions == [None, "reduce", None, "reduce", None, "stop", None, "stop"]
    assert est._optimizer.learning_rate == pytest.approx(0.04)
    # an improvement restarts the count
    est = _Estimator()
    assert monitor.update(est, False, False) is None
    assert monitor.update(est, True, False) is None
    assert monitor.update(est, False, False) is None
    assert est._optimizer.learning_rate == 1.0


def test_initial_plateau_counts_neither_towards_stopping_nor_reduction():
    est = _Estimator()
    monitor = PlateauMonitor("constant", 1, 0.2, 1.0)
    assert [monitor.update(est, False, True) for _ in range(50)] == [None] * 50
    assert monitor.update(est, False, False) == "stop"


def test_format_duration():
    assert format_duration(4.25) == "4.2 s"
    assert format_duration(185) == "3 min 05 s"
    assert format_duration(3 * 3600 + 120) == "3 h 02 min"


# ------------------------------------------------------------- the schedule
@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_plateau_schedule_reduces_the_learning_rate(solver):
    # noise targets: the training loss soon stops improving by more than tol
    y = np.random.RandomState(1).normal(size=120)
    # the network alone with a weak penalty, which overfits the noise below the initial
    # plateau (the regressor's alpha='auto' and its autoregressive term would not)
    params = dict(SMALL, solver=solver, learning_rate_init=0.01, n_iter_no_change=2, tol=1e-2,
                  max_iter=100, alpha=1e-4, autoregressive=0)
    plateau = DeepRNNRegressor(**params).fit(X_SEQ, y)
    assert plateau._optimizer.learning_rate < 0.01
    assert plateau.n_iter_ < 100  # stopped at the plateau after the last reduction
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        constant = DeepRNNRegressor(learning_rate="constant", **params).fit(X_SEQ, y)
    assert constant._optimizer.learning_rate == 0.01
    # the constant schedule stops at the first plateau, the other one only after reductions
    assert constant.n_iter_ < plateau.n_iter_


def test_plateau_schedule_follows_the_validation_score_with_early_stopping(capsys):
    y = np.random.RandomState(1).normal(size=120)
    reg = DeepRNNRegressor(**SMALL, learning_rate_init=0.05, early_stopping=True,
                           n_iter_no_change=2, max_iter=100, verbose=True, alpha=1e-4,
                           autoregressive=0).fit(X_SEQ, y)
    out = capsys.readouterr().out
    assert "learning rate reduced" in out
    assert "Validation score did not improve" in out
    assert reg.best_validation_score_ == max(reg.validation_scores_)


def test_warm_start_restarts_the_schedule_from_learning_rate_init():
    y = np.random.RandomState(1).normal(size=120)
    reg = DeepRNNRegressor(**SMALL, learning_rate_init=0.01, n_iter_no_change=2, tol=1e-2,
                           max_iter=60, warm_start=True, alpha=1e-4,
                           autoregressive=0).fit(X_SEQ, y)
    assert reg._optimizer.learning_rate < 0.01
    reg.set_params(max_iter=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X_SEQ, y)
    assert reg._optimizer.learning_rate == 0.01


def test_the_stopping_rule_waits_for_the_end_of_the_initial_plateau(monkeypatch):
    """A memory task sits on the chance-level loss for epochs before it learns."""
    X, y = memory_task(600, seed=3)
    # the last state, no forget bias nor layer norm: the plateau lasts, as for a tanh RNN
    params = dict(cell="gru", hidden_size=8, pooling="last", forget_bias=None, layer_norm=False,
                  learning_rate_init=0.003, batch_size=32, tol=1e-3, learning_rate="constant",
                  n_iter_no_change=3, max_iter=60, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        guarded = DeepRNNClassifier(**params).fit(X[:400], y[:400])
        # without the guard (no epoch counts as the initial plateau) the same fit stops early
        monkeypatch.setattr(_loop, "PLATEAU_SHARE", np.inf)
        unguarded = DeepRNNClassifier(**params).fit(X[:400], y[:400])
    assert unguarded.n_iter_ < guarded.n_iter_
    assert unguarded.score(X[400:], y[400:]) < 0.75
    assert guarded.score(X[400:], y[400:]) > 0.9


# ------------------------------------------------------------------ Ctrl-C
def _interrupt_at_call(monkeypatch, k):
    """Make the k-th minibatch raise SIGINT, as Ctrl-C would, while it computes."""
    original = StackedRNN.loss_and_grad
    calls = []

    def loss_and_grad(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == k:
            signal.raise_signal(signal.SIGINT)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(StackedRNN, "loss_and_grad", loss_and_grad)
    return calls


@pytest.mark.parametrize("Estimator", [DeepRNNRegressor, DeepRNNClassifier])
def test_ctrl_c_stops_after_the_current_minibatch(Estimator, monkeypatch):
    y = Y_SUM if Estimator is DeepRNNRegressor else Y_SUM > 0
    # 120 samples in batches of 40: three minibatches per epoch; interrupt in epoch 3
    calls = _interrupt_at_call(monkeypatch, 8)
    est = Estimator(**SMALL, batch_size=40, max_iter=50)
    # Python's default handler, or SIG_IGN in a process started in the background
    handler_before = signal.getsignal(signal.SIGINT)
    with pytest.warns(UserWarning, match=r"interrupted \(KeyboardInterrupt\) after 2 complete"):
        assert est.fit(X_SEQ, y) is est
    assert len(calls) == 8  # the interrupted minibatch was finished, no other was started
    assert est.n_iter_ == 2
    assert est.t_ == 2 * 120 + 80
    assert np.all(np.isfinite(est.predict(X_SEQ)))
    assert signal.getsignal(signal.SIGINT) is handler_before  # fit puts it back


def test_ctrl_c_during_partial_fit_returns_after_the_minibatch(monkeypatch):
    reg = DeepRNNRegressor(**SMALL, batch_size=40).partial_fit(X_SEQ, Y_SUM)
    calls = _interrupt_at_call(monkeypatch, 2)
    with pytest.warns(UserWarning, match=r"after 1 complete epoch"):
        assert reg.partial_fit(X_SEQ, Y_SUM) is reg
    assert len(calls) == 2
    assert reg.n_iter_ == 1 and reg.t_ == 120 + 80


def test_ctrl_c_with_early_stopping_keeps_the_best_weights(monkeypatch):
    _interrupt_at_call(monkeypatch, 20)
    reg = DeepRNNRegressor(**SMALL, batch_size=36, max_iter=50, early_stopping=True,
                           learning_rate_init=0.01)
    with pytest.warns(UserWarning, match="best validation score"):
        reg.fit(X_SEQ, Y_SUM)
    # 108 training rows in batches of 36: the 20th minibatch is the second of epoch 7
    assert len(reg.validation_scores_) == reg.n_iter_ == 6
    assert reg.best_validation_score_ == max(reg.validation_scores_)


def test_ctrl_c_during_lbfgs_keeps_the_last_iterate(monkeypatch):
    _interrupt_at_call(monkeypatch, 6)
    reg = DeepRNNRegressor(**SMALL, solver="lbfgs", max_iter=100)
    with pytest.warns(UserWarning, match="interrupted"):
        reg.fit(X_SEQ, Y_SUM)
    assert 1 <= reg.n_iter_ < 100
    assert np.all(np.isfinite(reg.predict(X_SEQ)))


# ------------------------------------------------------------------ feedback
def test_verbose_prints_progress_with_time_left(capsys):
    DeepRNNRegressor(**SMALL, max_iter=3, early_stopping=True, tol=0, n_iter_no_change=5,
                     verbose=True).fit(X_SEQ, Y_SUM)
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("epoch")]
    assert len(lines) == 3
    assert re.fullmatch(
        r"epoch 1/3, loss=[\d.e+-]+, validation score=[-\d.e+]+, lr=0.01, "
        r"elapsed [\d.]+ s, at most [\d.]+ s left",
        lines[0],
    )
    assert lines[2].startswith("epoch 3/3") and lines[2].endswith("at most 0.0 s left")


def test_convergence_warning_points_at_the_callers_line():
    with pytest.warns(ConvergenceWarning) as record:
        DeepRNNRegressor(**SMALL, max_iter=2).fit(X_SEQ, Y_SUM)
    assert record[0].filename == __file__
    with pytest.warns(ConvergenceWarning) as record:
        make_pipeline(SequenceStandardScaler(), DeepRNNRegressor(**SMALL, max_iter=2)).fit(
            X_SEQ, Y_SUM)
    assert record[0].filename == __file__


def test_warn_caller_skips_package_frames():
    def inner():
        _training.warn_caller("message", UserWarning)

    with pytest.warns(UserWarning) as record:
        inner()
    assert record[0].filename == __file__


# ------------------------------------------------------------------ targets
def test_standardize_target_false_trains_on_raw_targets():
    y = 3.0 + 0.5 * Y_SUM
    params = dict(SMALL, solver="lbfgs", max_iter=30)
    raw = DeepRNNRegressor(standardize_target=False, **params).fit(X_SEQ, y)
    np.testing.assert_array_equal(raw._y_mean, [0.0])
    np.testing.assert_array_equal(raw._y_scale, [1.0])
    # the prediction is the head's output itself
    scores = raw.network_.predict_scores(raw._theta, np.swapaxes(X_SEQ, 0, 1))[:, 0]
    np.testing.assert_array_equal(raw.predict(X_SEQ), scores)
    scaled = DeepRNNRegressor(**params).fit(X_SEQ, y)
    assert not np.allclose(raw.predict(X_SEQ), scaled.predict(X_SEQ))
    assert raw.score(X_SEQ, y) > 0.5


def test_regressor_and_classifier_share_defaults_but_the_forecasting_ones():
    reg, clf = DeepRNNRegressor().get_params(), DeepRNNClassifier().get_params()
    assert reg.pop("standardize_target") is True
    assert (reg.pop("loss"), reg.pop("quantile")) == ("squared_error", 0.5)
    assert clf.pop("class_weight") is None
    # the regressor's forecasting defaults (docs/user_guide/defaults.rst)
    assert reg.pop("autoregressive") == "auto"
    assert reg.pop("linear_fallback") == "auto"
    assert (reg.pop("pooling"), clf.pop("pooling")) == ("last", "max")
    assert (reg.pop("alpha"), clf.pop("alpha")) == ("auto", 0.0001)
    assert reg == clf


# ------------------------------------------------------------- unscaled input
def test_unscaled_features_are_named_in_a_warning():
    X = X_SEQ.copy()
    X[:, :, 1] = 1000 + 50 * X[:, :, 1]
    with pytest.warns(UserWarning, match=r"feature 1: mean .*SequenceStandardScaler") as record:
        DeepRNNRegressor(**SMALL, max_iter=1).fit(X, Y_SUM)
    assert record[0].filename == __file__
    assert "feature 0" not in str(record[0].message)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", ConvergenceWarning)
        DeepRNNRegressor(**SMALL, max_iter=1).fit(X_SEQ, Y_SUM)  # scaled: no warning
        make_pipeline(SequenceStandardScaler(), DeepRNNRegressor(**SMALL, max_iter=1)).fit(
            X, Y_SUM)


# ------------------------------------------------------------------ init
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_forget_bias_sets_the_gate_that_keeps_the_state(cell):
    params = dict(SMALL, cell=cell, max_iter=1, learning_rate_init=1e-9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg = DeepRNNRegressor(forget_bias=3.0, **params).fit(X_SEQ, Y_SUM)
    np.testing.assert_allclose(reg.weights_["bias_ih_l0"][4:8], 3.0, atol=1e-6)
    np.testing.assert_allclose(reg.weights_["bias_hh_l0"][4:8], 0.0, atol=1e-6)


def test_forget_bias_is_ignored_where_there_is_no_such_gate():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for extra in (dict(cell="rnn"), dict(cell="gru", bias=False)):
            a = DeepRNNRegressor(**SMALL, max_iter=2, forget_bias=3.0, **extra).fit(X_SEQ, Y_SUM)
            b = DeepRNNRegressor(**SMALL, max_iter=2, forget_bias=None, **extra).fit(X_SEQ, Y_SUM)
            np.testing.assert_array_equal(a._theta, b._theta)
