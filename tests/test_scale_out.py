"""Scaling out: threads, joblib processes, dask, and reproducibility (DESIGN.md §6).

What holds, and why:

- ``predict`` / ``predict_proba`` only read the fitted state, so one model
  serves many threads at once with the results of a single thread.
- ``GridSearchCV(n_jobs=2)`` (loky processes) and the dask backend give
  exactly the scores of ``n_jobs=1``. The workers run with fewer BLAS threads
  than the parent (loky caps them at ``cpu_count() // n_jobs``; dask's nanny
  sets ``OPENBLAS_NUM_THREADS=1``), which could in principle change the bits of
  a threaded reduction. OpenBLAS splits a GEMM over threads by blocks of the
  output, never along the summed dimension, and the package's own reductions
  (loss sums, ``einsum`` norms) are single threaded, so in float64 every value
  is computed by the same sequence of operations whatever the thread count. In
  float32 that holds for OpenBLAS's SkylakeX kernels; Haswell's (AMD processors)
  sum the edges of each thread's block in another order, so the last bits of
  some products change. ``test_blas_thread_count_does_not_change_the_bits``
  checks both; CI runs this file again under ``OPENBLAS_CORETYPE=Haswell``.
- Same ``random_state``, data and thread count give bit-identical weights and
  predictions for every solver, cell and dtype, with dropout, shuffling and a
  random early-stopping split.
- ``partial_fit`` is one epoch per call, continuing the estimator's random
  generator and optimizer: two ``partial_fit(X, y)`` calls are bit for bit
  ``fit(X, y)`` with ``max_iter=2`` (and ``n_iter_no_change >= 2``, no early
  stopping). Over two chunks, ``partial_fit(A); partial_fit(B)`` equals
  ``fit(A)`` with ``max_iter=1`` then ``warm_start=True`` and ``fit(B)`` only
  when nothing random happens after the initialisation (``shuffle=False``,
  ``dropout=0``) or when ``random_state`` is a ``RandomState`` instance: a
  warm-start ``fit`` re-seeds the generator from an int ``random_state``, so it
  replays the first epoch's shuffling and dropout masks, while ``partial_fit``
  draws new ones.
"""

import threading
import warnings
from concurrent.futures import ThreadPoolExecutor

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_info, threadpool_limits

from skdeeprnn import DeepRNNClassifier, DeepRNNRegressor

RNG = np.random.RandomState(0)
X = RNG.normal(size=(24, 4, 2))
Y = X[:, :, 0].sum(axis=1)
LABELS = np.array(["low", "mid", "high"])[np.digitize(X[:, 0, 1], [-0.5, 0.5])]
X_SEARCH = RNG.normal(size=(30, 5, 2))
Y_SEARCH = X_SEARCH[:, :, 0].sum(axis=1)
GRID = {"hidden_size": [2, 3], "cell": ["rnn", "gru"]}
ESTIMATORS = [(DeepRNNRegressor, Y), (DeepRNNClassifier, LABELS)]


@pytest.fixture(autouse=True)
def _quiet_convergence():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _snapshot(obj):
    """Bit-exact plain structure of an object graph, for ==."""
    if isinstance(obj, np.ndarray):
        if obj.dtype == object:
            return ("object array", obj.shape, tuple(_snapshot(v) for v in obj.ravel().tolist()))
        return ("array", obj.dtype.str, obj.shape, obj.tobytes())
    if isinstance(obj, np.generic):
        return ("scalar", obj.dtype.str, obj.tobytes())
    if isinstance(obj, float):
        return ("float", obj.hex())
    if isinstance(obj, np.random.RandomState):
        return ("rng", _snapshot(obj.get_state()))
    if isinstance(obj, dict):
        return {key: _snapshot(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return (type(obj).__name__, tuple(_snapshot(v) for v in obj))
    if hasattr(obj, "__dict__") and not isinstance(obj, type):
        return (type(obj).__name__, _snapshot(vars(obj)))
    return obj


def _blas_threads():
    return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]


# ------------------------------------------------------------------ threads
@pytest.mark.parametrize("Estimator, y", ESTIMATORS)
def test_one_model_predicts_from_eight_threads_at_once(Estimator, y):
    est = Estimator(hidden_size=4, num_layers=2, max_iter=2, random_state=0).fit(X, y)
    methods = ["predict"] + (["predict_proba"] if hasattr(est, "predict_proba") else [])
    expected = {method: getattr(est, method)(X) for method in methods}
    before = _snapshot(vars(est))
    start = threading.Barrier(8)

    def work(i):
        if i < 8:
            start.wait(timeout=30)  # the first eight calls begin together
        method = methods[i % len(methods)]
        return method, getattr(est, method)(X)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(work, range(50)))
    assert len(results) == 50
    for method, result in results:
        np.testing.assert_array_equal(result, expected[method])
    assert _snapshot(vars(est)) == before


def _set_blas_threads(n):
    """Set the BLAS limit from a short-lived thread.

    threadpoolctl lets only one thread at a time control OpenBLAS's process-wide
    limit; a thread that has ended gives the control up, so the test's own
    threads start on an equal footing.
    """
    thread = threading.Thread(target=threadpool_limits, kwargs=dict(limits=n, user_api="blas"))
    thread.start()
    thread.join()


def test_concurrent_time_loops_restore_the_blas_thread_limit():
    from skdeeprnn.core._threads import recurrent_loop_threads

    a_inside, b_inside, a_left = threading.Event(), threading.Event(), threading.Event()

    def first():
        with recurrent_loop_threads(4, 4, 1):
            a_inside.set()
            b_inside.wait(timeout=5)
        a_left.set()

    def second():
        a_inside.wait(timeout=5)
        with recurrent_loop_threads(4, 4, 1):
            b_inside.set()
            a_left.wait(timeout=5)

    original = _blas_threads()
    try:
        _set_blas_threads(2)
        before = _blas_threads()
        threads = [threading.Thread(target=first), threading.Thread(target=second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=15)
        after = _blas_threads()
    finally:
        _set_blas_threads(max(original, default=1))
    assert before and set(before) == {2}
    assert after == before


def _blas_kernels():
    """OpenBLAS's kernel families in this process (threadpoolctl's 'architecture')."""
    return {pool.get("architecture") for pool in threadpool_info() if pool["user_api"] == "blas"}


# OpenBLAS kernel families whose float32 GEMM gives the same bits on any thread count
# (measured; docs/user_guide/reproducibility.rst). Haswell's, which AMD processors get, splits
# the output over threads into blocks whose edges its kernel sums in another order.
FLOAT32_THREAD_INVARIANT_KERNELS = {"SkylakeX"}


def test_openblas_runs_the_kernels_asked_for():
    # CI runs the thread- and dtype-sensitive tests again under OPENBLAS_CORETYPE=Haswell;
    # this makes sure that pass really ran Haswell's kernels
    import os

    asked = os.environ.get("OPENBLAS_CORETYPE")
    if not asked:
        pytest.skip("OPENBLAS_CORETYPE is not set: OpenBLAS picks the kernels for this CPU")
    assert {kernel.lower() for kernel in _blas_kernels()} == {asked.lower()}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("cell, hidden_size, n",
                         [("rnn", 4, 24), ("lstm", 48, 96), ("gru", 48, 96)])
def test_blas_thread_count_does_not_change_the_bits(cell, hidden_size, n, dtype):
    # hidden 48 with batches of 96: the input projections and the weight gradients are
    # products large enough for OpenBLAS to split over two threads
    rng = np.random.default_rng(5)
    X_ = rng.normal(size=(n, 6, 3))
    y_ = X_[:, :, 0].sum(axis=1)
    params = dict(cell=cell, hidden_size=hidden_size, num_layers=2, bidirectional=True,
                  batch_size=96, max_iter=2, random_state=0, dtype=dtype)
    with threadpool_limits(limits=1, user_api="blas"):
        one = DeepRNNRegressor(**params).fit(X_, y_)
        again = DeepRNNRegressor(**params).fit(X_, y_)
    with threadpool_limits(limits=2, user_api="blas"):
        two = DeepRNNRegressor(**params).fit(X_, y_)
    np.testing.assert_array_equal(one._theta, again._theta)  # same threads: always the bits
    if dtype == "float64" or _blas_kernels() <= FLOAT32_THREAD_INVARIANT_KERNELS:
        np.testing.assert_array_equal(one._theta, two._theta)
    else:
        # float32 on other kernels: the thread count changes the last bits of some products,
        # and two epochs carry that to about 1e-6 of the weights (measured 4.2e-7)
        np.testing.assert_allclose(one._theta, two._theta, rtol=0, atol=1e-5)


# ---------------------------------------------------------------- processes
def _search():
    return GridSearchCV(DeepRNNRegressor(max_iter=3, batch_size=8, random_state=0), GRID,
                        cv=KFold(3))


def _scores(search):
    keys = ["mean_test_score"] + [f"split{i}_test_score" for i in range(3)]
    return {key: search.cv_results_[key] for key in keys}


@pytest.fixture(scope="module")
def sequential_scores():
    search = _search().set_params(n_jobs=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X_SEARCH, Y_SEARCH)
    return _scores(search), search.best_estimator_.predict(X_SEARCH)


def _assert_same(search, sequential_scores):
    scores, prediction = sequential_scores
    for key, value in _scores(search).items():
        np.testing.assert_array_equal(value, scores[key], err_msg=key)
    np.testing.assert_array_equal(search.best_estimator_.predict(X_SEARCH), prediction)


def test_grid_search_in_loky_processes_matches_sequential(sequential_scores):
    search = _search().set_params(n_jobs=2)
    with joblib.parallel_config(backend="loky"):
        search.fit(X_SEARCH, Y_SEARCH)
    _assert_same(search, sequential_scores)


def test_grid_search_on_a_dask_cluster_matches_sequential(sequential_scores):
    distributed = pytest.importorskip("dask.distributed")
    search = _search().set_params(n_jobs=2)
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                 dashboard_address=None) as cluster,
        distributed.Client(cluster) as client,
        joblib.parallel_config(backend="dask"),
    ):
        search.fit(X_SEARCH, Y_SEARCH)
        workers = client.scheduler_info()["workers"]
    assert len(workers) == 2
    _assert_same(search, sequential_scores)


# ---------------------------------------------------------- reproducibility
@pytest.mark.parametrize("Estimator, y", ESTIMATORS, ids=["regressor", "classifier"])
@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_same_seed_same_bits(Estimator, y, solver, cell, dtype):
    params = dict(cell=cell, solver=solver, dtype=dtype, hidden_size=3, num_layers=2,
                  bidirectional=True, max_iter=3, random_state=7)
    if solver != "lbfgs":  # everything random a stochastic fit does
        params.update(dropout=0.3, shuffle=True, batch_size=5, early_stopping=True,
                      validation_fraction=0.25)
    a = Estimator(**params).fit(X, y)
    b = Estimator(**params).fit(X, y)
    assert a._theta.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(a._theta, b._theta)
    assert a.loss_curve_ == b.loss_curve_ and a.n_iter_ == b.n_iter_
    assert a.validation_scores_ == b.validation_scores_
    methods = ["predict"] + (["predict_proba"] if Estimator is DeepRNNClassifier else [])
    predictions = {method: getattr(a, method)(X) for method in methods}
    for method in methods:
        np.testing.assert_array_equal(getattr(b, method)(X), predictions[method])
    # fitting again is idempotent: the generator restarts from random_state
    a.fit(X, y)
    np.testing.assert_array_equal(a._theta, b._theta)
    for method in methods:
        np.testing.assert_array_equal(getattr(a, method)(X), predictions[method])


@pytest.mark.parametrize("Estimator, y", ESTIMATORS, ids=["regressor", "classifier"])
def test_clone_is_an_unfitted_twin_that_refits_identically(Estimator, y):
    est = Estimator(hidden_size=(3, 2), num_layers=2, cell="lstm", dropout=0.2, max_iter=2,
                    random_state=5).fit(X, y)
    twin = clone(est)
    assert twin.get_params() == est.get_params()
    assert not [name for name in vars(twin) if name.endswith("_")]
    with pytest.raises(NotFittedError):
        check_is_fitted(twin)
    np.testing.assert_array_equal(twin.fit(X, y)._theta, est._theta)


@pytest.mark.parametrize("Estimator, y", ESTIMATORS, ids=["regressor", "classifier"])
@pytest.mark.parametrize("solver", ["adam", "sgd"])
@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_two_partial_fits_equal_a_two_epoch_fit(Estimator, y, solver, shuffle, dropout):
    params = dict(solver=solver, shuffle=shuffle, dropout=dropout, hidden_size=3, num_layers=2,
                  batch_size=5, random_state=1)
    incremental = Estimator(**params)
    extra = {"classes": np.unique(y)} if Estimator is DeepRNNClassifier else {}
    incremental.partial_fit(X, y, **extra)
    incremental.partial_fit(X, y)
    whole = Estimator(**params, max_iter=2, tol=0.0, n_iter_no_change=2).fit(X, y)
    np.testing.assert_array_equal(incremental._theta, whole._theta)
    assert incremental.loss_curve_ == whole.loss_curve_
    assert (incremental.n_iter_, incremental.t_) == (whole.n_iter_, whole.t_) == (2, 48)
    assert _snapshot(incremental._rng) == _snapshot(whole._rng)


def _chunks(random_state, shuffle, dropout):
    params = dict(shuffle=shuffle, dropout=dropout, hidden_size=3, num_layers=2, batch_size=5)
    A, B = slice(0, 12), slice(12, 24)
    incremental = DeepRNNRegressor(**params, random_state=random_state(1))
    incremental.partial_fit(X[A], Y[A])
    incremental.partial_fit(X[B], Y[B])
    warm = DeepRNNRegressor(**params, max_iter=1, random_state=random_state(1))
    warm.fit(X[A], Y[A])
    warm.set_params(warm_start=True)
    warm.fit(X[B], Y[B])
    return incremental._theta, warm._theta


@pytest.mark.parametrize("shuffle, dropout", [(True, 0.0), (False, 0.3), (True, 0.3)])
def test_chunked_partial_fit_equals_warm_start_with_a_generator_instance(shuffle, dropout):
    incremental, warm = _chunks(np.random.RandomState, shuffle, dropout)
    np.testing.assert_array_equal(incremental, warm)


def test_chunked_partial_fit_equals_warm_start_without_randomness_after_init():
    incremental, warm = _chunks(int, shuffle=False, dropout=0.0)
    np.testing.assert_array_equal(incremental, warm)


@pytest.mark.parametrize("shuffle, dropout", [(True, 0.0), (False, 0.3)])
def test_warm_start_fit_reseeds_an_int_random_state(shuffle, dropout):
    # documented difference: warm-start fit restarts the generator from the int seed
    incremental, warm = _chunks(int, shuffle, dropout)
    assert not np.array_equal(incremental, warm)


# ------------------------------------------------------------ chunked inference
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("cell, bidirectional, return_sequences", [
    ("rnn", False, False), ("lstm", True, False), ("gru", False, True)])
def test_inference_in_chunks_on_two_threads_equals_one_thread_bit_for_bit(
        cell, bidirectional, return_sequences, dtype, monkeypatch):
    from skdeeprnn.core import StackedRNN

    monkeypatch.setattr(StackedRNN, "inference_rows", lambda self, T, dtype: 64)
    rng = np.random.RandomState(0)
    X_many = rng.normal(size=(300, 6, 2))  # five chunks: 4 x 64 + 44
    y = X_many[:, :, 0].cumsum(axis=1) if return_sequences else X_many[:, :, 0].sum(axis=1)
    reg = DeepRNNRegressor(hidden_size=5, num_layers=2, cell=cell, bidirectional=bidirectional,
                           return_sequences=return_sequences, max_iter=2, random_state=0,
                           dtype=dtype)
    reg.fit(X_many, y)
    with threadpool_limits(limits=1, user_api="blas"):
        one = reg.predict(X_many)
    with threadpool_limits(limits=2, user_api="blas"):
        two = reg.predict(X_many)
    np.testing.assert_array_equal(one, two)
    # and chunks are only a schedule: the whole batch at once gives the same scores, to the
    # rounding of products whose number of columns differs (float32 on Haswell's kernels
    # rounds some of them differently: 1.2e-7 absolute measured)
    Xt = np.ascontiguousarray(np.swapaxes(X_many, 0, 1), dtype=dtype)
    whole = reg.network_.forward(reg._theta, Xt, keep_cache=False)[0]
    before = _blas_threads()
    tol = 1e-13 if dtype == "float64" else 1e-5
    np.testing.assert_allclose(reg.network_.predict_scores(reg._theta, Xt), whole,
                               rtol=tol, atol=tol)
    assert _blas_threads() == before  # the single-threaded section gave the limit back
