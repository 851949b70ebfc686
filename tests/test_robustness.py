"""The bad-input matrix: every public entry point against every kind of bad input.

Each row of the matrix is one call that must fail with a ``ValueError`` or
``TypeError`` whose message names the problem (the row's regex), raised by the
package or by scikit-learn's validation, never a raw NumPy error from deep
inside (the traceback's last frame is neither in ``skdeeprnn/core/`` nor in
NumPy's Python code), and that leaves a fitted estimator exactly as it was
(its whole ``__dict__``, compared bit for bit: weights ``_theta``, ``n_iter_``,
``loss_curve_``, ``classes_``, the optimizer and random generator state, ...).

Decisions recorded here:

- Booleans and integers are numbers: ``X`` of dtype bool or int is accepted and
  converted to the model's float dtype, as scikit-learn does; predictions
  equal those of the converted array. So are object arrays holding numbers.
- A float32 ``X`` for a float64 model (or the reverse) is converted to the
  model's dtype; the prediction equals that of ``X.astype(model dtype)``.
  Predictions and probabilities are float64 whatever the model's dtype.
- The window transformer keeps float32 as float32 (its ``preserves_dtype``
  tag) and turns other numbers into float64.

The last test is property based: valid finite input never raises and gives
outputs of the documented shapes.
"""

import copy
import functools
import os
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import sparse
from sklearn.exceptions import ConvergenceWarning, UndefinedMetricWarning

import skdeeprnn
from skdeeprnn import DeepRNNClassifier, DeepRNNRegressor, SlidingWindowTransformer, make_windows
from skdeeprnn.datasets import load_pm25

RNG = np.random.RandomState(0)
X = RNG.normal(size=(10, 4, 2))  # n=10 sequences, T=4 steps, d=2 features
Y = X.sum(axis=(1, 2))
LABELS = np.where(X[:, 0, 0] > 0, "a", "b")
UNSEEN = np.append(LABELS[:-1], "c")  # a label 'c' the models were not fitted on
MULTILABEL = (RNG.rand(10, 3) > 0.5).astype(int)
TABLE = RNG.normal(size=(12, 2))  # a time-ordered table for the window functions
FAST = dict(hidden_size=2, max_iter=1, batch_size=4, random_state=0)

PACKAGE_CORE = os.path.join(os.path.dirname(skdeeprnn.__file__), "core")
NUMPY_DIR = os.path.dirname(np.__file__)


@pytest.fixture(autouse=True)
def _quiet_convergence():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


@functools.cache
def _fitted_once(name):
    if name == "reg":
        return DeepRNNRegressor(**FAST).fit(X, Y)
    if name == "clf":
        return DeepRNNClassifier(**FAST).fit(X, LABELS)
    if name == "multilabel":
        return DeepRNNClassifier(**FAST).fit(X, MULTILABEL)
    if name == "multiclass":
        return DeepRNNClassifier(**FAST).fit(X, np.arange(10) % 3)
    if name == "reg_seq":
        return DeepRNNRegressor(**FAST, return_sequences=True).fit(X, X[:, :, 0])
    if name == "reg_frame":
        return DeepRNNRegressor(**FAST).fit(pd.DataFrame(X[:, :, 0], columns=list("pqrs")), Y)
    if name == "windows":
        return SlidingWindowTransformer(window=3).fit(TABLE)
    raise KeyError(name)


def _target(name):
    """A fresh copy of a fitted object, an unfitted estimator, or None for functions."""
    if name is None:
        return None
    if name == "reg_unfitted":
        return DeepRNNRegressor(**FAST)
    if name == "clf_unfitted":
        return DeepRNNClassifier(**FAST)
    return copy.deepcopy(_fitted_once(name))


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


# ------------------------------------------------------------ bad X values
def _with(value, position):
    def make(X):
        bad = np.array(X, dtype=np.float64)
        flat = bad.reshape(-1)
        flat[{"first": 0, "middle": flat.size // 2, "last": -1}[position]] = value
        return bad
    return make


def _ragged(X):
    return [row[: len(row) - (i % 2)].tolist() for i, row in enumerate(X)]


def _strings_object(X):
    bad = np.asarray(X).astype(object)
    bad.reshape(-1)[1] = "a"
    return bad


def _none_object(X):
    bad = np.asarray(X).astype(object)
    bad.reshape(-1)[1] = None
    return bad


# name -> (make bad X from good X, regex when fitting, regex otherwise, exception)
X_PROBLEMS = {
    **{
        f"{word}-{position}": (_with(value, position), pattern, pattern, ValueError)
        for value, word, pattern in [
            (np.nan, "nan", "contains NaN"),
            (np.inf, "+inf", "contains infinity"),
            (-np.inf, "-inf", "contains infinity"),
        ]
        for position in ("first", "middle", "last")
    },
    "object-with-string": (_strings_object, "could not convert string to float: 'a'", None,
                           ValueError),
    "object-with-None": (_none_object, "contains NaN", None, ValueError),
    "string-array": (lambda X: np.full(np.shape(X), "x"), "could not convert string to float",
                     None, ValueError),
    "complex": (lambda X: np.asarray(X) + 1j, "Complex data not supported", None, ValueError),
    "ragged-nested-lists": (_ragged, "inhomogeneous shape", None, ValueError),
    "sparse": (lambda A: sparse.csr_matrix(A[:, :, 0] if A.ndim == 3 else A),
               "Sparse data was passed .* dense data is required", None, TypeError),
    "ndim-0": (lambda X: np.float64(1.0), "scalar array|0 dimensions", None, ValueError),
}

def _all_nan_sequence(X):
    bad = np.array(X, dtype=np.float64)
    bad[3] = np.nan
    return bad


def _list_with_other_feature_count(X):
    items = [np.asarray(row) for row in X]
    items[2] = items[2][:, :1]
    return items


# The estimators read a step whose features are all NaN as missing and lists as sequences of
# unequal lengths; a NaN among observed features, an all-NaN sequence or mixed feature counts
# stay errors naming the sample and the step.
PARTIAL_NAN = r"some but not all features NaN: sample \d+, step \d+"
ESTIMATOR_X_PROBLEMS = {
    **{name: problem for name, problem in X_PROBLEMS.items()
       if name != "ragged-nested-lists"},
    **{f"nan-{position}": (_with(np.nan, position), PARTIAL_NAN, PARTIAL_NAN, ValueError)
       for position in ("first", "middle", "last")},
    "object-with-None": (_none_object, PARTIAL_NAN, None, ValueError),
    "sequence-all-nan": (_all_nan_sequence, "sample 3 is NaN at all its 4 steps", None,
                         ValueError),
    "list-feature-counts-differ": (_list_with_other_feature_count,
                                   r"X\[2\] has 1 feature\(s\) per step .* but X\[0\] has 2",
                                   None, ValueError),
    "0-samples": (lambda X: X[:0], "0 sample", None, ValueError),
    "0-time-steps": (lambda X: X[:, :0], "0 time steps",
                     r"X has 0 features, but \w+ is expecting 4 .* 4 time steps", ValueError),
    "0-features": (lambda X: X[:, :, :0], "0 features per time step", None, ValueError),
    "ndim-1": (lambda X: X[:, 0, 0], "got 1D array", None, ValueError),
    "ndim-4": (lambda X: X[..., None], "4 dimensions", None, ValueError),
}

CHANGED_SINCE_FIT = {  # fitting anew accepts these; every other method must refuse them
    "features-per-step-changed": (
        lambda X: np.concatenate([X, X[:, :, :1]], axis=2),
        r"X has 3 features per time step, but \w+ was fitted with 2"),
    "time-steps-changed": (
        lambda X: np.concatenate([X, X[:, :1]], axis=1),
        r"X has 5 features, but \w+ is expecting 4 .* fitted on sequences of 4 time steps"),
}

METHODS = {
    "reg": ["fit", "partial_fit", "predict", "score"],
    "clf": ["fit", "partial_fit", "predict", "predict_proba", "predict_log_proba", "score"],
}
GOOD_Y = {"reg": Y, "clf": LABELS}


def _call(method, X_bad, y, sample_weight=None):
    def call(est):
        if method in ("fit", "partial_fit", "score"):
            return getattr(est, method)(X_bad, y, sample_weight=sample_weight)
        return getattr(est, method)(X_bad)
    return call


def _estimator_x_rows():
    rows = []
    for kind, methods in METHODS.items():
        for method in methods:
            fitting = method == "fit"
            for name, (make, fit_regex, other_regex, exc) in ESTIMATOR_X_PROBLEMS.items():
                regex = fit_regex if fitting or other_regex is None else other_regex
                rows.append(pytest.param(kind, _call(method, make(X), GOOD_Y[kind]), exc, regex,
                                         id=f"{kind}.{method}-{name}"))
            if fitting:
                continue
            for name, (make, regex) in CHANGED_SINCE_FIT.items():
                rows.append(pytest.param(kind, _call(method, make(X), GOOD_Y[kind]), ValueError,
                                         regex, id=f"{kind}.{method}-{name}"))
    return rows


# ------------------------------------------------------- bad y and weights
ONES = np.ones(10)
NEGATIVE = np.r_[-1.0, np.ones(9)]
NAN_AT = np.r_[np.nan, np.ones(9)]
WEIGHT_PROBLEMS = {  # (sample_weight, regex, methods)
    "sample-weight-too-short": (np.ones(9), r"sample_weight.shape == \(9,\), expected \(10,\)|"
                                r"inconsistent numbers of samples: \[10, 10, 9\]",
                                ("fit", "partial_fit", "score")),
    "sample-weight-negative": (NEGATIVE, "Negative values in data passed to `sample_weight`",
                               ("fit", "partial_fit")),
    "sample-weight-all-zero": (np.zeros(10), "sample_weight sums to 0|at least one non-zero",
                               ("fit", "partial_fit", "score")),
    "sample-weight-zero-scalar": (0.0, "sample_weight sums to 0|at least one non-zero",
                                  ("fit", "partial_fit")),
    "sample-weight-nan": (NAN_AT, "sample_weight contains NaN", ("fit", "partial_fit", "score")),
    "sample-weight-inf": (np.r_[np.inf, np.ones(9)], "sample_weight contains infinity",
                          ("fit", "partial_fit", "score")),
    "sample-weight-2d": (np.ones((10, 1)), "Sample weights must be 1D|needs return_sequences",
                         ("fit", "partial_fit")),
    "sample-weight-strings": (np.full(10, "w"), "could not convert string to float",
                              ("fit", "partial_fit")),
}


def _y_rows():
    rows = []
    for kind, y in GOOD_Y.items():
        for name, (weight, regex, methods) in WEIGHT_PROBLEMS.items():
            for method in methods:
                rows.append(pytest.param(kind, _call(method, X, y, weight), ValueError, regex,
                                         id=f"{kind}.{method}-{name}"))
        for method in ("fit", "partial_fit", "score"):
            rows.append(pytest.param(kind, _call(method, X, y[:-1]), ValueError,
                                     r"inconsistent numbers of samples: \[(10, 9|9, 10)\]",
                                     id=f"{kind}.{method}-y-too-short"))
            rows.append(pytest.param(
                kind, _call(method, X, None), (ValueError, TypeError),
                "y is None", id=f"{kind}.{method}-y-None"))
    for method in ("fit", "partial_fit", "score"):
        for value, word in ((np.nan, "NaN"), (np.inf, "infinity"), (-np.inf, "infinity")):
            rows.append(pytest.param("reg", _call(method, X, np.r_[Y[:-1], value]), ValueError,
                                     f"contains {word}", id=f"reg.{method}-y-{word}-last"))
        rows.append(pytest.param(
            "reg", _call(method, X, Y + 1j), ValueError,
            "Complex data not supported|numeric target y; got dtype complex",
            id=f"reg.{method}-y-complex"))
        rows.append(pytest.param(
            "reg", _call(method, X, LABELS), ValueError,
            r"needs a numeric target y; got dtype <U1", id=f"reg.{method}-y-strings"))
    rows += [
        pytest.param("reg", _call("fit", X, np.ones((10, 2, 2))), ValueError,
                     "dim 3, while dim <= 2", id="reg.fit-y-3d"),
        pytest.param("reg", _call("partial_fit", X, np.c_[Y, Y]), ValueError,
                     r"y has shape \(10, 2\) but the model was fitted on targets with 1 output",
                     id="reg.partial_fit-y-outputs-changed"),
        pytest.param("reg", _call("score", X, np.c_[Y, Y]), ValueError,
                     r"different number of output \(2!=1\)", id="reg.score-y-outputs-changed"),
        pytest.param("reg_seq", _call("fit", X, X[:, :3, 0]), ValueError,
                     r"target for every time step.*got y of shape \(10, 3\)",
                     id="reg_seq.fit-y-time-steps-mismatch"),
        pytest.param("reg_seq", _call("partial_fit", X, Y), ValueError,
                     r"target for every time step.*got y of shape \(10,\)",
                     id="reg_seq.partial_fit-y-without-time-axis"),
        pytest.param("clf", _call("fit", X, Y), ValueError, "Unknown label type: continuous",
                     id="clf.fit-y-continuous"),
        pytest.param("clf", _call("fit", X, np.full(10, "a")), ValueError,
                     "only one class: 'a'", id="clf.fit-y-single-class"),
        pytest.param("clf", _call("fit", X, np.r_[np.arange(9) % 2, np.nan]), ValueError,
                     "contains NaN", id="clf.fit-y-float-nan"),
        pytest.param("clf", _call("partial_fit", X, UNSEEN), ValueError,
                     r"labels \['c'\] not seen in the first fit",
                     id="clf.partial_fit-unseen-label"),
        pytest.param("clf", _call("fit", X, np.array(["a", 1] * 5, dtype=object)), ValueError,
                     "mix", id="clf.fit-y-mixed-str-int"),
        pytest.param("clf", _call("fit", X, np.array(["a", None] * 5, dtype=object)),
                     ValueError, "mix|None", id="clf.fit-y-str-and-None"),
        pytest.param("clf_unfitted",
                     lambda est: est.partial_fit(X, UNSEEN, classes=["a", "b"]),
                     ValueError, r"'c'", id="clf.partial_fit-first-call-label-not-in-classes"),
        pytest.param("clf_unfitted", lambda est: est.partial_fit(X, LABELS), ValueError,
                     "classes must be passed on the first call", id="clf.partial_fit-no-classes"),
        pytest.param("multiclass", _call("partial_fit", X, MULTILABEL), ValueError,
                     "y is a multilabel indicator, but the model was fitted on single targets",
                     id="multiclass.partial_fit-multilabel-y"),
        pytest.param("multilabel", _call("partial_fit", X, np.arange(10) % 2), ValueError,
                     "single.label|multilabel", id="multilabel.partial_fit-1d-labels"),
        pytest.param("multilabel", _call("partial_fit", X, np.c_[MULTILABEL, MULTILABEL[:, :1]]),
                     ValueError, r"classes \[0 1 2\] mismatch with the labels \[0 1 2 3\]",
                     id="multilabel.partial_fit-label-count-changed"),
        pytest.param("reg_frame", _call("predict", pd.DataFrame(X[:, :, 0], columns=list("pqrt")),
                                        None), ValueError, "feature names should match",
                     id="reg_frame.predict-feature-names-changed"),
    ]
    return rows


# ----------------------------------------- failed fit on a fitted estimator
OTHER_SHAPE = RNG.normal(size=(10, 3, 5))


def _failed_fit_rows():
    return [
        pytest.param("reg", lambda est: est.fit(OTHER_SHAPE, Y, sample_weight=np.zeros(10)),
                     ValueError, "sample_weight sums to 0|at least one non-zero",
                     id="reg.fit-other-shape-then-zero-weights"),
        pytest.param("clf", lambda est: est.fit(OTHER_SHAPE, np.full(10, "a")), ValueError,
                     "only one class", id="clf.fit-other-shape-then-one-class"),
        pytest.param("reg_frame", lambda est: est.fit(_with(np.inf, "first")(X[:, :, 0]), Y),
                     ValueError, "contains infinity", id="reg_frame.fit-inf-array-drops-names"),
    ]


# ------------------------------------------------- windows and the data set
def _frame(index):
    return pd.DataFrame(TABLE, index=index, columns=["u", "v"])


DUPLICATED = [0, 1, 2, 3, 3, 5, 6, 7, 8, 9, 10, 11]
UNSORTED = [0, 1, 2, 3, 5, 4, 6, 7, 8, 9, 10, 11]
HOURS = pd.date_range("2020-01-01", periods=12, freq="h")
TABLE_PROBLEMS = {
    **{name: (make, regex, exc) for name, (make, regex, _, exc) in X_PROBLEMS.items()},
    "0-rows": (lambda T: T[:0], "0 sample", ValueError),
    "0-features": (lambda T: T[:, :0], "0 feature", ValueError),
    "ndim-3": (lambda T: T[:, :, None], "got an array with 3 dimensions.*already windowed",
               ValueError),
    "ndim-4": (lambda T: T[:, :, None, None], "got an array with 4 dimensions", ValueError),
    "duplicate-index": (lambda T: _frame(DUPLICATED),
                        r"time order, but the index of \w+ has duplicate labels \(3\)", ValueError),
    "duplicate-time-index": (lambda T: _frame(HOURS.insert(1, HOURS[0])[:12]),
                             "duplicate labels \\(2020-01-01 00:00:00\\)", ValueError),
    "non-monotonic-index": (lambda T: _frame(UNSORTED),
                            "not increasing \\(label 4 at position 5 comes after 5\\)", ValueError),
    "non-monotonic-time-index": (lambda T: _frame(HOURS[::-1]), "not increasing", ValueError),
    "series-non-monotonic-index": (lambda T: pd.Series(TABLE[:, 0], index=UNSORTED),
                                   "not increasing", ValueError),
}
TABLE_ONLY_2D = {  # the transformer wants a table; make_windows also takes a 1D series
    "ndim-1": (lambda T: T[:, 0], "got a 1D array of shape \\(12,\\).*reshape", ValueError),
}


def _window_rows():
    rows = []
    problems = {**TABLE_PROBLEMS, **TABLE_ONLY_2D}
    for method in ("fit", "transform", "fit_transform"):
        for name, (make, regex, exc) in problems.items():
            bad = make(TABLE)
            target = "windows" if method == "transform" else "windows_unfitted"
            rows.append(pytest.param(target, lambda est, bad=bad, m=method: getattr(est, m)(bad),
                                     exc, regex, id=f"SlidingWindowTransformer.{method}-{name}"))
    for name, (make, regex, exc) in TABLE_PROBLEMS.items():
        if name in ("ndim-0", "sparse"):
            regex, exc = "'series' parameter of make_windows must be an array-like", ValueError
        bad = make(TABLE)
        rows.append(pytest.param(None, lambda _, bad=bad: make_windows(bad, window=3),
                                 exc, regex.replace(r"index of \w+", "index of series"),
                                 id=f"make_windows-{name}"))
    rows += [
        pytest.param("windows", lambda est: est.transform(np.c_[TABLE, TABLE[:, :1]]), ValueError,
                     "X has 3 features, but SlidingWindowTransformer is expecting 2",
                     id="SlidingWindowTransformer.transform-features-changed"),
        pytest.param("windows_frame", lambda est: est.transform(_frame(None).rename(
            columns={"u": "w"})), ValueError, "feature names should match",
                     id="SlidingWindowTransformer.transform-feature-names-changed"),
        pytest.param(None, lambda _: make_windows(TABLE, window=12), ValueError,
                     r"need at least 13 rows \(window=12 \+ horizon=1\), got 12",
                     id="make_windows-window-longer-than-data"),
        pytest.param(None, lambda _: make_windows(TABLE, window=20), ValueError,
                     r"need at least 21 rows", id="make_windows-window-much-longer-than-data"),
        pytest.param(None, lambda _: make_windows(TABLE, window=10, horizon=[1, 3]), ValueError,
                     r"need at least 13 rows \(window=10 \+ horizon=3\)",
                     id="make_windows-window-plus-horizon-longer-than-data"),
        pytest.param(None, lambda _: make_windows(TABLE, window=2, horizon=[1, 0]), ValueError,
                     "horizon must be a positive int or a non-empty sequence",
                     id="make_windows-horizon-zero-in-list"),
        pytest.param(None, lambda _: make_windows(TABLE, window=2, horizon=[1.5]), ValueError,
                     "horizon must be a positive int", id="make_windows-horizon-float-list"),
        pytest.param(None, lambda _: make_windows(TABLE, window=2, target=2), ValueError,
                     "target column 2 is out of range for a series with 2 column",
                     id="make_windows-target-out-of-range"),
        pytest.param(None, lambda _: make_windows(_frame(None), window=2, target="w"),
                     ValueError, "target column 'w' not found", id="make_windows-target-unknown"),
    ]
    return rows


def _pm25_rows():
    rows = [
        pytest.param(None, lambda _, v=value: load_pm25(fill_missing=v), ValueError,
                     rf"fill_missing must be one of 'none', 'interpolate', 'drop'; got {shown}",
                     id=f"load_pm25-fill_missing-{shown}")
        for value, shown in [("bfill", "'bfill'"), ("NONE", "'NONE'"), ("", "''"),
                             (None, "None"), (1, "1"), (True, "True")]
    ]
    rows += [
        pytest.param(None, lambda _: load_pm25(as_frame="no"), (ValueError, TypeError),
                     "as_frame", id="load_pm25-as_frame-string"),
        pytest.param(None, lambda _: load_pm25(return_X_y="yes"), (ValueError, TypeError),
                     "return_X_y", id="load_pm25-return_X_y-string"),
        pytest.param(None, lambda _: load_pm25(True), TypeError,
                     "takes 0 positional arguments", id="load_pm25-positional"),
        pytest.param(None, lambda _: load_pm25(fill="drop"), TypeError,
                     "unexpected keyword argument 'fill'", id="load_pm25-unknown-option"),
    ]
    return rows


MATRIX = _estimator_x_rows() + _y_rows() + _failed_fit_rows() + _window_rows() + _pm25_rows()


def _make_target(name):
    if name == "windows_unfitted":
        return SlidingWindowTransformer(window=3)
    if name == "windows_frame":
        return SlidingWindowTransformer(window=3).fit(_frame(None))
    return _target(name)


@pytest.mark.parametrize("target, call, exc, match", MATRIX)
def test_bad_input_matrix(target, call, exc, match):
    est = _make_target(target)
    fitted = target is not None and not target.endswith("unfitted")
    before = _snapshot(vars(est)) if fitted else None
    with pytest.raises(exc, match=match) as excinfo:
        call(est)
    last = os.path.abspath(str(excinfo.traceback[-1].path))
    assert not last.startswith(PACKAGE_CORE), f"raised deep inside the core: {last}"
    assert not last.startswith(NUMPY_DIR), f"raw NumPy error from {last}"
    if fitted:
        assert _snapshot(vars(est)) == before, "the failed call changed the fitted estimator"


# ------------------------------------------ accepted: conversions, booleans
def _converted(kind, X_in, X_ref):
    """fit and every prediction method give the same on X_in as on its conversion X_ref."""
    est_in = _target(f"{kind}_unfitted").fit(X_in, GOOD_Y[kind])
    est_ref = _target(f"{kind}_unfitted").fit(X_ref, GOOD_Y[kind])
    np.testing.assert_array_equal(est_in._theta, est_ref._theta)
    for method in METHODS[kind][2:]:
        args = (GOOD_Y[kind],) if method == "score" else ()
        a = getattr(est_in, method)(X_in, *args)
        b = getattr(est_in, method)(X_ref, *args)
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kind", ["reg", "clf"])
@pytest.mark.parametrize("variant", ["bool", "int", "object-numbers", "float32", "list"])
def test_numbers_of_other_dtypes_are_converted(kind, variant):
    source = {
        "bool": X > 0,
        "int": np.round(X * 3).astype(np.int64),
        "object-numbers": X.astype(object),
        "float32": X.astype(np.float32),
        "list": X.tolist(),
    }[variant]
    _converted(kind, source, np.asarray(source, dtype=np.float64))


@pytest.mark.parametrize("model_dtype, other", [("float64", np.float32), ("float32", np.float64)])
def test_other_float_dtype_into_a_fitted_model_is_converted(model_dtype, other):
    reg = DeepRNNRegressor(**FAST, dtype=model_dtype).fit(X, Y)
    X_other = X.astype(other)
    prediction = reg.predict(X_other)
    assert prediction.dtype == np.float64
    np.testing.assert_array_equal(prediction, reg.predict(X_other.astype(model_dtype)))


@pytest.mark.parametrize("variant, dtype", [("bool", np.float64), ("int", np.float64),
                                             ("float32", np.float32), ("object", np.float64)])
def test_window_functions_convert_numbers(variant, dtype):
    source = {"bool": TABLE > 0, "int": np.round(TABLE * 3).astype(int),
              "float32": TABLE.astype(np.float32), "object": TABLE.astype(object)}[variant]
    Xt = SlidingWindowTransformer(window=3).fit_transform(source)
    assert Xt.dtype == dtype
    np.testing.assert_array_equal(
        Xt, SlidingWindowTransformer(window=3).fit_transform(np.asarray(source, dtype=dtype)))
    Xw, yw = make_windows(source, window=3)
    assert Xw.dtype == dtype and yw.dtype == dtype


# ------------------------------------------------------ property-based test
@st.composite
def _problems(draw):
    classifier = draw(st.booleans())
    return_sequences = draw(st.booleans())
    n = draw(st.integers(2 if classifier else 1, 12))
    T = draw(st.integers(1, 6))
    d = draw(st.integers(1, 3))
    dtype = draw(st.sampled_from(["float32", "float64"]))
    X = draw(hnp.arrays(np.dtype(dtype), (n, T, d),
                        elements=st.floats(-100, 100, width=32, allow_subnormal=False)))
    params = dict(
        cell=draw(st.sampled_from(["rnn", "lstm", "gru"])),
        bidirectional=draw(st.booleans()),
        return_sequences=return_sequences,
        num_layers=draw(st.integers(1, 2)),
        hidden_size=draw(st.integers(1, 4)),
        solver=draw(st.sampled_from(["adam", "sgd", "lbfgs"])),
        dtype=dtype,
        max_iter=2,
        random_state=0,
    )
    shape = (n, T) if return_sequences else (n,)
    if classifier:
        labels = np.asarray(draw(st.lists(st.integers(0, 2), min_size=n * T, max_size=n * T)))
        labels[:2] = [0, 1]  # at least two classes
        y = labels[: np.prod(shape)].reshape(shape)
    else:
        k = draw(st.integers(1, 2))
        y = draw(hnp.arrays(np.float64, shape + ((k,) if k > 1 else ()),
                            elements=st.floats(-1e3, 1e3, allow_subnormal=False)))
    return classifier, params, X, y


@settings(max_examples=25, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(_problems())
def test_valid_finite_input_never_raises(problem):
    classifier, params, X_valid, y = problem
    n, T = X_valid.shape[:2]
    est = (DeepRNNClassifier if classifier else DeepRNNRegressor)(**params).fit(X_valid, y)
    prediction = est.predict(X_valid)
    assert prediction.shape == y.shape
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        score = est.score(X_valid, y)
    n_observations = n * T if params["return_sequences"] else n
    assert np.isfinite(score) or (not classifier and n_observations < 2)  # R² needs 2
    if not classifier:
        assert np.all(np.isfinite(prediction))
        assert prediction.dtype == np.float64
        return
    assert set(np.unique(prediction)) <= set(est.classes_)
    proba = est.predict_proba(X_valid)
    steps = (T,) if params["return_sequences"] else ()
    assert proba.shape == (n,) + steps + (len(est.classes_),)
    assert np.all(np.isfinite(proba)) and np.all((proba >= 0) & (proba <= 1))
    assert proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=-1), 1.0, rtol=0, atol=1e-12)
    log_proba = est.predict_log_proba(X_valid)
    assert log_proba.shape == proba.shape
    assert not np.any(np.isnan(log_proba)) and np.all(log_proba <= 0)
