"""DeepRNNRegressor's linear fallback: the autoregressive term alone where the network hurts."""

import warnings

import numpy as np
import pytest
from _autoregressive_cases import ar2_windows
from scipy.stats import ttest_1samp
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

from skdeeprnn import DeepRNNRegressor
from skdeeprnn._estimators import _fallback
from skdeeprnn._sequences import Sequences
from skdeeprnn.core import ridge_gcv


@pytest.fixture(autouse=True)
def _quiet_convergence():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _ar2(n, T=6, seed=0):
    """Windows of T steps of a noisy AR(2) series (one feature, 2D) and the value after each."""
    X, y = ar2_windows(n, T, coefficients=(0.6, -0.3), seed=seed)
    return X[:, :, 0], y


FAST = dict(hidden_size=4, max_iter=8, random_state=0)


def _data(X, y):
    """Many-to-one training data of one feature per step, equal weights, as a fit validates it."""
    return Sequences(X[:, :, None], y, np.ones(len(y)), None, many_to_many=False)


def _gain_z(est, X, y):
    """The test as a first fit runs it: after the estimator's targets are standardised."""
    data = _data(X, y)
    est._encode_targets(data.y, data.weights, first=True)
    return _fallback.network_gain_z(est, data)


def _forced(monkeypatch, z):
    """Make the cross-fitted test return ``z`` (and record that it ran)."""
    calls = []

    def fake(estimator, data):
        calls.append(data.X.shape[0])
        return z

    monkeypatch.setattr("skdeeprnn._estimators._regressor.network_gain_z", fake)
    return calls


def test_a_network_worse_than_the_term_is_dropped(monkeypatch):
    """Above the threshold the model is the ridge term alone, untrained, zero output weights."""
    X, y = _ar2(80)
    calls = _forced(monkeypatch, 2.0)
    est = DeepRNNRegressor(**FAST).fit(X, y)
    assert calls == [80]
    assert est.linear_fallback_ is True and est.linear_fallback_z_ == 2.0
    # one iteration, the term's closed-form fit: no epoch of training
    assert est.n_iter_ == 1 and est.t_ == 80 and est.loss_curve_ == [est.loss_]
    views = est.network_.layout.views(est._theta)
    assert not views["head.weight"].any() and not views["head.bias"].any()
    # the predictions are those of the weighted ridge regression on the standardised target
    scale, mean = y.std(), y.mean()
    coef, _, _ = ridge_gcv(X, ((y - mean) / scale)[:, None], np.ones(len(y)))
    np.testing.assert_allclose(est.predict(X), (X @ coef)[:, 0] * scale + mean, rtol=1e-10)
    # loss_ is the term's training loss: half the mean squared standardised error
    residual = (est.predict(X) - y) / scale
    assert est.loss_ == pytest.approx(0.5 * np.mean(residual**2), rel=1e-10)


def test_below_the_threshold_the_fit_is_the_one_without_the_test(monkeypatch):
    """The test draws from its own generator: the trained model is bit for bit the same."""
    X, y = _ar2(80)
    _forced(monkeypatch, float(_fallback.FALLBACK_Z))  # not above: the network stays
    tested = DeepRNNRegressor(**FAST).fit(X, y)
    untested = DeepRNNRegressor(**FAST, linear_fallback=False).fit(X, y)
    assert tested.linear_fallback_ is False
    assert tested.linear_fallback_z_ == _fallback.FALLBACK_Z
    assert untested.linear_fallback_z_ is None and untested.linear_fallback_ is False
    assert tested.n_iter_ == untested.n_iter_ > 0
    np.testing.assert_array_equal(tested._theta, untested._theta)


@pytest.mark.parametrize("params, n, runs", [
    ({}, 63, False),                              # 'auto': from 64 sequences
    ({}, 64, True),
    ({}, 1001, True),                             # ... with no upper bound
    ({"linear_fallback": True}, 20, True),
    ({"linear_fallback": False}, 80, False),
    ({"autoregressive": 0, "linear_fallback": True}, 80, False),  # no term, nothing to test
])
def test_when_the_test_runs(monkeypatch, params, n, runs):
    X, y = _ar2(n)
    calls = _forced(monkeypatch, -1.0)
    est = DeepRNNRegressor(**{**FAST, **params}).fit(X, y)
    assert calls == ([n] if runs else [])
    assert est.linear_fallback_z_ == (-1.0 if runs else None)


def test_sequences_of_several_features_have_no_term_and_no_test(monkeypatch):
    X, y = _ar2(80)
    calls = _forced(monkeypatch, 5.0)
    est = DeepRNNRegressor(**FAST).fit(np.stack([X, X**2], axis=2), y)
    assert calls == [] and est.linear_fallback_ is False


def test_partial_fit_and_warm_start_train_the_network(monkeypatch):
    X, y = _ar2(80)
    calls = _forced(monkeypatch, 5.0)
    est = DeepRNNRegressor(**FAST, warm_start=True).fit(X, y)
    assert est.linear_fallback_ is True and est.n_iter_ == 1
    est.fit(X, y)  # warm: trains from the zero output weights, no second test
    assert calls == [80]
    assert est.linear_fallback_ is False and est.n_iter_ > 1  # epochs after the first fit's 1
    assert est.network_.layout.views(est._theta)["head.weight"].any()
    assert est.linear_fallback_z_ == 5.0  # the first fit's test
    online = DeepRNNRegressor(**FAST).partial_fit(X, y)
    assert calls == [80] and online.linear_fallback_z_ is None and online.n_iter_ == 1


def test_the_real_test_on_a_linear_and_a_nonlinear_target():
    """The network must go where it learns the training stretch by heart, and stay where needed.

    On overlapping windows of a noisy linear series, a network big enough to
    memorise the first half's windows (no penalty, long training) predicts
    the second half worse than the ridge term; on a target no linear
    function of the lags gives, the network is clearly better.
    """
    X, y = _ar2(400)
    memoriser = DeepRNNRegressor(hidden_size=64, max_iter=150, alpha=0.0, random_state=0)
    z_linear = _gain_z(memoriser, X, y)
    target = np.abs(X[:, -1]) + np.abs(X[:, -2])
    z_nonlinear = _gain_z(DeepRNNRegressor(hidden_size=8, max_iter=60, random_state=0), X,
                          target)
    assert z_nonlinear < -_fallback.FALLBACK_Z and z_linear > _fallback.FALLBACK_Z
    fitted = memoriser.set_params(linear_fallback=True).fit(X, y)
    assert fitted.linear_fallback_ is True and fitted.linear_fallback_z_ > _fallback.FALLBACK_Z


def test_the_statistic_is_the_paired_t_of_the_held_out_loss_differences():
    """Recompute the test by hand: the halves, their models, the losses of each half."""
    X, y = _ar2(70)
    X3 = X[:, :, None]
    est = DeepRNNRegressor(**FAST)
    z = _gain_z(est, X, y)
    first = np.arange(len(y)) < 35  # the halves in the given order
    difference = np.empty(len(y))
    for train, held in [(~first, first), (first, ~first)]:
        model = clone(est).set_params(linear_fallback=False, dtype="float64").fit(
            X3[train], y[train])
        full = (model.predict(X3[held]) - y[held]) ** 2
        model.network_.layout.views(model._theta)["head.weight"][...] = 0.0
        model.network_.layout.views(model._theta)["head.bias"][...] = 0.0
        term = (model.predict(X3[held]) - y[held]) ** 2
        # the losses: half the squared error in the units of all the data standardised
        difference[held] = (full - term) / (2 * y.std() ** 2)
    assert z == pytest.approx(ttest_1samp(difference, 0.0).statistic, rel=1e-9)


def test_paired_z_weights():
    d = np.array([0.5, -0.2, 1.0, 0.3, 0.1])
    t = ttest_1samp(d, 0.0).statistic
    assert _fallback.paired_z(d, np.ones(5)) == pytest.approx(t, rel=1e-12)
    # scaling the weights changes nothing; zero weights remove samples
    assert _fallback.paired_z(d, np.full(5, 0.3)) == pytest.approx(t, rel=1e-12)
    assert _fallback.paired_z(np.r_[d, 9.0], np.r_[np.ones(5), 0.0]) == pytest.approx(
        t, rel=1e-12)
    # fewer than two samples' worth: no test
    assert _fallback.paired_z(d, np.array([1.0, 0, 0, 0, 0])) is None
    assert _fallback.paired_z(np.zeros(3), np.ones(3)) == 0.0
    assert _fallback.paired_z(np.ones(3), np.ones(3)) == np.inf


def test_a_bad_value_is_refused_and_leaves_the_fitted_model_unchanged():
    X, y = _ar2(40)
    est = DeepRNNRegressor(**FAST).fit(X, y)
    before = est.predict(X)
    est.set_params(linear_fallback="yes")
    with pytest.raises(ValueError, match="linear_fallback"):
        est.fit(X, y)
    np.testing.assert_array_equal(est.predict(X), before)


def test_weighted_test_uses_the_weights(monkeypatch):
    """Sample weights reach the half models and the statistic."""
    X, y = _ar2(80)
    seen = []
    real_fit = DeepRNNRegressor.fit

    def spy(self, X, y, sample_weight=None):
        if not self.linear_fallback:  # a half model
            seen.append(None if sample_weight is None else sample_weight.copy())
        return real_fit(self, X, y, sample_weight)

    monkeypatch.setattr(DeepRNNRegressor, "fit", spy)
    w = np.random.RandomState(1).randint(1, 4, size=80).astype(float)
    est = DeepRNNRegressor(**FAST).fit(X, y, sample_weight=w)
    assert len(seen) == 2 and sum(len(s) for s in seen) == 80
    assert sorted(np.concatenate(seen)) == sorted(w)
    assert est.linear_fallback_z_ is not None


@pytest.mark.parametrize("n, fitted", [
    (81, [(41, 81), (0, 41)]),        # the second half's model on the first, and back
    (1000, [(500, 1000), (0, 500)]),
    (1001, [(0, 501)]),               # above 1,000: the first half's model on the second only
])
def test_the_halves_are_contiguous(monkeypatch, n, fitted):
    """The half models fit the first and the second half in the given order, not at random."""
    X, y = _ar2(n)
    seen = []
    real_fit = DeepRNNRegressor.fit

    def spy(self, X, y, sample_weight=None):
        if not self.linear_fallback:  # a half model: which rows of the whole did it get?
            # the halves get the fit's validated copy, float32 for many sequences
            first = int(np.flatnonzero(np.all(np.isclose(whole, X[0], rtol=1e-6),
                                              axis=(1, 2)))[0])
            rows = slice(first, first + len(X))
            assert np.allclose(whole[rows], X, rtol=1e-6)  # every row, in order
            seen.append((rows.start, rows.stop))
        return real_fit(self, X, y, sample_weight)

    whole = X[:, :, None]
    monkeypatch.setattr(DeepRNNRegressor, "fit", spy)
    est = DeepRNNRegressor(**{**FAST, "max_iter": 2}).fit(X, y)
    assert seen == fitted
    assert est.linear_fallback_z_ is not None

