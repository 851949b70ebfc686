"""DeepRNNRegressor's autoregressive term: its steps, its start and what it learns."""

import numpy as np
import pytest
from _autoregressive_cases import ar2_windows
from sklearn.linear_model import Ridge

from skdeeprnn import DeepRNNClassifier, DeepRNNRegressor
from skdeeprnn.core import RIDGE_PENALTIES, ridge_gcv


def _weight(est):
    return est.network_.layout.views(est._theta)["autoregressive.weight"]


@pytest.mark.parametrize("T, d, expected", [(6, 1, 6), (1500, 1, 1024), (6, 2, 0), (5, 300, 0)])
def test_auto_reads_up_to_1024_steps_of_a_single_feature(T, d, expected):
    """A series' own lags get the term; sequences of several features do not."""
    X = np.random.RandomState(0).normal(size=(4, T, d))
    est = DeepRNNRegressor(hidden_size=2, max_iter=1, random_state=0).fit(X, np.arange(4.0))
    assert est.network_.arch.autoregressive == expected
    if expected:
        assert _weight(est).shape == (1, expected)
    else:
        assert "autoregressive.weight" not in est.network_.layout.names
    # an int gives any sequences the term
    forced = DeepRNNRegressor(hidden_size=2, max_iter=1, random_state=0, autoregressive=2)
    assert _weight(forced.fit(X, np.arange(4.0))).shape == (1, 2 * d)


def test_zero_many_to_many_and_the_classifier_have_no_term():
    X = np.random.RandomState(0).normal(size=(6, 4, 2))
    for est, y in [
        (DeepRNNRegressor(autoregressive=0), np.arange(6.0)),
        (DeepRNNRegressor(return_sequences=True), np.ones((6, 4))),
        (DeepRNNClassifier(), np.arange(6) % 2),
    ]:
        est.set_params(hidden_size=2, max_iter=1, random_state=0).fit(X, y)
        assert est.network_.arch.autoregressive == 0
        assert "autoregressive.weight" not in est.network_.layout.names


def test_bad_steps_are_refused_and_leave_the_fitted_model_unchanged():
    X = np.random.RandomState(0).normal(size=(6, 4, 2))
    y = np.arange(6.0)
    est = DeepRNNRegressor(hidden_size=2, max_iter=2, random_state=0).fit(X, y)
    before = est.predict(X)
    with pytest.raises(ValueError, match=r"autoregressive=5 is more steps than the sequences "
                                         r"have \(4\)"):
        est.set_params(autoregressive=5).fit(X, y)
    np.testing.assert_array_equal(est.predict(X), before)
    with pytest.raises(ValueError, match="needs many-to-one output"):
        DeepRNNRegressor(autoregressive=2, return_sequences=True).fit(X, np.ones((6, 4)))
    with pytest.raises(ValueError, match="autoregressive"):
        DeepRNNRegressor(autoregressive=-1).fit(X, y)
    with pytest.raises(ValueError, match="autoregressive"):
        DeepRNNRegressor(autoregressive="all").fit(X, y)


def _gcv(Z, Y, w, lam):
    """GCV error of weighted ridge regression, from an explicit fit and hat matrix."""
    total, w = w.sum(), w / w.sum()
    A = (Z * w[:, None]).T @ Z + lam * np.eye(Z.shape[1])
    coef = np.linalg.solve(A, (Z * w[:, None]).T @ Y)
    hat = Z @ np.linalg.solve(A, (Z * w[:, None]).T)
    rss = np.sum(w[:, None] * (Y - Z @ coef) ** 2)
    return rss / (1 - np.trace(hat) / total) ** 2


def test_ridge_gcv_matches_an_explicit_fit_and_is_invariant_to_repetition():
    rng = np.random.RandomState(0)
    Z = rng.normal(size=(30, 4))
    Y = Z @ rng.normal(size=(4, 2)) + rng.normal(size=(30, 2))
    w = rng.randint(0, 4, size=30).astype(float)
    coef, penalty, errors = ridge_gcv(Z, Y, w)
    expected = [_gcv(Z, Y, w, lam) for lam in RIDGE_PENALTIES]
    np.testing.assert_allclose(errors, expected, rtol=1e-9)
    assert penalty == RIDGE_PENALTIES[int(np.argmin(expected))]
    ridge = Ridge(alpha=penalty * w.sum(), fit_intercept=False).fit(Z, Y, sample_weight=w)
    np.testing.assert_allclose(coef, ridge.coef_.T, rtol=1e-9, atol=1e-12)
    # integer weights choose and fit what repeating the rows does, zeros what removing does
    counts = w.astype(int)
    repeated = ridge_gcv(np.repeat(Z, counts, axis=0), np.repeat(Y, counts, axis=0),
                         np.ones(counts.sum()))
    np.testing.assert_allclose(repeated[2], errors, rtol=1e-9)
    np.testing.assert_allclose(repeated[0], coef, rtol=1e-9, atol=1e-12)
    # noise alone: a large penalty wins; an exact fit: the smallest
    assert ridge_gcv(Z, rng.normal(size=(30, 1)) * 100, np.ones(30))[1] >= 1.0
    assert ridge_gcv(Z, Z @ np.ones((4, 1)), np.ones(30))[1] == RIDGE_PENALTIES[0]


@pytest.mark.parametrize("steps, outputs", [("auto", 1), (3, 1), (3, 2)])
def test_the_term_is_the_gcv_ridge_of_the_standardised_target(steps, outputs):
    """Weighted ridge on the last K inputs, kept through training."""
    X, y = ar2_windows(80, 6)
    if outputs == 2:
        y = np.column_stack([y, 3.0 * y + np.arange(len(y))])
    w = np.random.RandomState(1).uniform(0.5, 2.0, size=len(y))
    est = DeepRNNRegressor(hidden_size=3, max_iter=5, autoregressive=steps,
                           random_state=0).fit(X, y, sample_weight=w)
    assert est.n_iter_ == 5  # training moved the network, not the term
    K = 6 if steps == "auto" else steps
    Z = X[:, -K:, 0]
    Y = y.reshape(len(y), -1)
    mean = np.average(Y, axis=0, weights=w)
    target = (Y - mean) / np.sqrt(np.average((Y - mean) ** 2, axis=0, weights=w))
    errors = [_gcv(Z, target, w, lam) for lam in RIDGE_PENALTIES]
    penalty = RIDGE_PENALTIES[int(np.argmin(errors))]
    # sum_i w_i |z_i A' - t_i|^2 / sum(w) + lam |A|^2 is Ridge's objective over sum(w)
    ridge = Ridge(alpha=penalty * w.sum(), fit_intercept=False).fit(Z, target, sample_weight=w)
    np.testing.assert_allclose(_weight(est), ridge.coef_.reshape(outputs, K), rtol=1e-6,
                               atol=1e-9)


def test_auto_has_no_term_for_sequences_that_end_early_and_missing_steps_read_zeros():
    X, y = ar2_windows(40, 6)
    X[5, 0] = X[6, 2] = np.nan  # front padding and a missing step inside keep the term
    kw = dict(hidden_size=2, max_iter=1, random_state=0)
    assert DeepRNNRegressor(**kw).fit(X, y).network_.arch.autoregressive == 6
    X[3, -2:] = np.nan  # a shorter sequence, padded at the end
    auto = DeepRNNRegressor(**kw).fit(X, y)
    assert auto.network_.arch.autoregressive == 0
    forced = DeepRNNRegressor(hidden_size=2, max_iter=1, autoregressive=3, random_state=0)
    forced.fit(X, y, sample_weight=np.arange(40) % 2)  # the short sequence has weight 1
    Z = np.nan_to_num(X[:, -3:, 0])
    coef = ridge_gcv(Z, ((y - forced._y_mean) / forced._y_scale)[:, None],
                     np.arange(40) % 2)[0]
    np.testing.assert_allclose(_weight(forced)[0], coef[:, 0], rtol=1e-6, atol=1e-9)


def test_integer_weights_fit_the_term_as_repetition_does():
    X, y = ar2_windows(40, 5)
    w = np.arange(len(y)) % 3
    kw = dict(hidden_size=2, max_iter=1, random_state=0)
    weighted = DeepRNNRegressor(**kw).fit(X, y, sample_weight=w)
    repeated = DeepRNNRegressor(**kw).fit(np.repeat(X, w, axis=0), np.repeat(y, w))
    np.testing.assert_allclose(_weight(weighted), _weight(repeated), rtol=1e-10, atol=1e-12)


def test_the_term_lets_the_network_forecast_a_linear_series():
    """On an AR(2) series the term brings the forecast to the linear model's accuracy."""
    X, y = ar2_windows(400, 10, seed=3)
    kw = dict(hidden_size=8, max_iter=30, random_state=0)
    with_term = DeepRNNRegressor(**kw).fit(X[:300], y[:300])
    without = DeepRNNRegressor(autoregressive=0, **kw).fit(X[:300], y[:300])
    ridge = Ridge().fit(X[:300, :, 0], y[:300])
    scores = {
        "term": with_term.score(X[300:], y[300:]),
        "none": without.score(X[300:], y[300:]),
        "ridge": ridge.score(X[300:, :, 0], y[300:]),
    }
    assert scores["term"] > scores["none"], scores
    assert scores["term"] > scores["ridge"] - 0.01, scores


def test_training_reads_the_last_positions_when_every_sequence_ends_missing():
    """Minibatches are not trimmed at the end: the term reads the window's last positions.

    One plain SGD step of the whole batch, at two learning rates, gives the gradient
    training used; it must be that of the untrimmed windows.
    """
    X, y = ar2_windows(12, 6)
    X[:, -1] = np.nan  # every sequence misses the last step
    X[:4, 0] = np.nan
    kw = dict(hidden_size=3, solver="sgd", momentum=0.0, batch_size=12, shuffle=False,
              max_iter=1, clip_grad_norm=None, alpha=0.0, autoregressive=4, random_state=0)
    rates = (1e-3, 2e-3)
    thetas = [DeepRNNRegressor(learning_rate_init=lr, **kw).fit(X, y)._theta for lr in rates]
    grad = (thetas[0] - thetas[1]) / (rates[1] - rates[0])
    start = thetas[0] + rates[0] * grad
    est = DeepRNNRegressor(**kw).fit(X, y)
    Y = ((y - est._y_mean) / est._y_scale)[:, None]
    observed = ~np.isnan(X[:, :, 0])
    _, expected = est.network_.loss_and_grad(
        start, np.swapaxes(X, 0, 1), Y, "squared_error", np.ones(12) / 12, 0.0,
        observed=observed.T, training=True)
    expected[est.network_.layout.slices["autoregressive.weight"]] = 0.0
    np.testing.assert_allclose(grad, expected, rtol=1e-5, atol=1e-9)


def test_auto_alpha_is_one_over_the_total_weight_up_to_a_hundredth():
    X, y = ar2_windows(300, 4)
    kw = dict(hidden_size=2, max_iter=1, random_state=0)
    assert DeepRNNRegressor(**kw).fit(X[:50], y[:50])._alpha_value() == 0.01
    assert DeepRNNRegressor(**kw).fit(X, y)._alpha_value() == 1 / 300
    w = np.arange(300) % 3  # 300 in all: as 300 sequences repeated
    weighted = DeepRNNRegressor(**kw).fit(X, y, sample_weight=w)
    repeated = DeepRNNRegressor(**kw).fit(np.repeat(X, w, axis=0), np.repeat(y, w))
    assert weighted._alpha_value() == repeated._alpha_value() == 1 / 300
    assert DeepRNNRegressor(**kw, alpha=0.5).fit(X, y)._alpha_value() == 0.5
    # a warm start keeps the first fit's penalty
    warm = DeepRNNRegressor(**kw, warm_start=True).fit(X, y)
    assert warm.fit(X[:50], y[:50])._alpha_value() == 1 / 300


def test_a_model_with_the_term_aligns_shorter_sequences_at_the_end():
    """predict on a list of shorter sequences pads them at the front: the term reads the newest."""
    X, y = ar2_windows(60, 6)
    reg = DeepRNNRegressor(hidden_size=3, max_iter=2, random_state=0).fit(X, y)
    assert reg.network_.arch.autoregressive == 6
    short = [X[i, 2:] for i in range(5)]  # the last 4 steps of each window
    front = X[:5].copy()
    front[:, :2] = np.nan
    np.testing.assert_array_equal(reg.predict(short), reg.predict(front))
    plain = DeepRNNRegressor(hidden_size=3, max_iter=2, random_state=0,
                             autoregressive=0).fit(X, y)
    back = np.full_like(front, np.nan)
    back[:, :4] = X[:5, 2:]
    np.testing.assert_array_equal(plain.predict(short), plain.predict(back))


def test_partial_fit_of_a_model_with_the_term_pads_lists_at_the_front():
    X, y = ar2_windows(60, 6)
    short = [X[i, 2:] for i in range(60)]
    front = X.copy()
    front[:, :2] = np.nan
    kw = dict(hidden_size=3, max_iter=2, random_state=0, shuffle=False)
    a = DeepRNNRegressor(**kw).fit(X, y).partial_fit(short, y)
    b = DeepRNNRegressor(**kw).fit(X, y).partial_fit(front, y)
    np.testing.assert_array_equal(a._theta, b._theta)
