"""class_weight of DeepRNNClassifier: scikit-learn's meaning, a factor of sample_weight."""

import inspect
import pickle
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.class_weight import compute_class_weight, compute_sample_weight

from skdeeprnn import DeepRNNClassifier

SMALL = dict(hidden_size=4, max_iter=3, random_state=0)
RNG = np.random.RandomState(0)
X = RNG.normal(size=(24, 5, 2))
Y_INT = np.array([0] * 14 + [1] * 6 + [2] * 4)  # imbalanced, three classes
Y_STR = np.array(["a", "b", "c"])[Y_INT]


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def assert_same_model(a, b):
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert a.weights_.keys() == b.weights_.keys()
    for name in a.weights_:
        assert np.array_equal(a.weights_[name], b.weights_[name]), name


def assert_different_model(a, b):
    assert not np.array_equal(a.predict_proba(X), b.predict_proba(X))


def test_default_is_none_and_the_last_parameter():
    assert DeepRNNClassifier().get_params()["class_weight"] is None
    assert list(inspect.signature(DeepRNNClassifier).parameters)[-1] == "class_weight"


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
@pytest.mark.parametrize("y", [Y_INT, Y_STR], ids=["int", "str"])
def test_balanced_is_compute_sample_weight_bit_for_bit(solver, y):
    balanced = DeepRNNClassifier(class_weight="balanced", solver=solver, **SMALL).fit(X, y)
    weighted = DeepRNNClassifier(solver=solver, **SMALL).fit(
        X, y, sample_weight=compute_sample_weight("balanced", y)
    )
    assert_same_model(balanced, weighted)
    assert_different_model(balanced, DeepRNNClassifier(solver=solver, **SMALL).fit(X, y))


def test_balanced_multiplies_sample_weight():
    sw = RNG.uniform(0.5, 2.0, size=len(Y_INT))
    balanced = DeepRNNClassifier(class_weight="balanced", **SMALL).fit(X, Y_INT, sample_weight=sw)
    weighted = DeepRNNClassifier(**SMALL).fit(
        X, Y_INT, sample_weight=sw * compute_sample_weight("balanced", Y_INT)
    )
    assert_same_model(balanced, weighted)


@pytest.mark.parametrize("y, label", [(Y_INT, 1), (Y_STR, "b")], ids=["int", "str"])
def test_dict_weight_is_a_sample_weight_for_that_class(y, label):
    by_class = DeepRNNClassifier(class_weight={label: 2}, **SMALL).fit(X, y)
    by_sample = DeepRNNClassifier(**SMALL).fit(X, y, sample_weight=np.where(y == label, 2, 1))
    assert_same_model(by_class, by_sample)
    assert_different_model(by_class, DeepRNNClassifier(**SMALL).fit(X, y))
    np.testing.assert_array_equal(by_class.classes_, np.unique(y))


def test_dict_with_every_class_and_binary_labels():
    y = np.where(Y_INT == 0, "no", "yes")
    weights = {"no": 0.5, "yes": 3.0}
    by_class = DeepRNNClassifier(class_weight=weights, **SMALL).fit(X, y)
    by_sample = DeepRNNClassifier(**SMALL).fit(X, y, sample_weight=np.where(y == "no", 0.5, 3.0))
    assert_same_model(by_class, by_sample)


def test_balanced_multilabel_is_the_product_over_labels():
    Y = np.column_stack([Y_INT == 0, Y_INT == 2, RNG.rand(len(Y_INT)) > 0.7]).astype(int)
    balanced = DeepRNNClassifier(class_weight="balanced", **SMALL).fit(X, Y)
    weighted = DeepRNNClassifier(**SMALL).fit(
        X, Y, sample_weight=compute_sample_weight("balanced", Y)
    )
    assert_same_model(balanced, weighted)


def test_dict_multilabel_is_rejected():
    Y = np.column_stack([Y_INT == 0, Y_INT == 2]).astype(int)
    with pytest.raises(ValueError, match="not supported for multilabel"):
        DeepRNNClassifier(class_weight={0: 2.0}, **SMALL).fit(X, Y)


@pytest.mark.parametrize(
    "class_weight, match",
    [
        ({5: 2.0}, r"labels \[5\] that are not classes"),
        ({"a": 2.0}, r"labels \['a'\] that are not classes"),
        ({0: 0.0}, "positive finite"),
        ({0: -1.0}, "positive finite"),
        ({0: np.nan}, "positive finite"),
        ({0: np.inf}, "positive finite"),
        ({0: "2"}, "positive finite"),
    ],
)
def test_bad_dict_is_a_clear_error(class_weight, match):
    with pytest.raises(ValueError, match=match):
        DeepRNNClassifier(class_weight=class_weight, **SMALL).fit(X, Y_INT)


def test_unknown_string_fails_parameter_validation():
    with pytest.raises(ValueError, match="'class_weight' parameter"):
        DeepRNNClassifier(class_weight="balance", **SMALL).fit(X, Y_INT)


def test_failed_fit_leaves_a_fitted_model_unchanged():
    clf = DeepRNNClassifier(**SMALL).fit(X, Y_INT)
    before = pickle.dumps(clf.set_params(class_weight=None))
    proba = clf.predict_proba(X)
    clf.set_params(class_weight={7: 1.0})
    with pytest.raises(ValueError, match="not classes"):
        clf.fit(X[:, :4], Y_INT)  # shorter sequences: the base validation would reset
    np.testing.assert_array_equal(clf.predict_proba(X), proba)
    assert clf.n_features_in_ == 5
    assert pickle.dumps(clf.set_params(class_weight=None)) == before


def test_partial_fit_dict_is_checked_against_classes_and_weights_batches():
    classes = np.array([0, 1, 2])
    batch = Y_INT < 2  # the first batch lacks class 2: the dict may still name it
    by_class = DeepRNNClassifier(class_weight={2: 3.0, 1: 2.0}, **SMALL)
    by_sample = DeepRNNClassifier(**SMALL)
    by_class.partial_fit(X[batch], Y_INT[batch], classes=classes)
    by_sample.partial_fit(X[batch], Y_INT[batch], classes=classes,
                          sample_weight=np.where(Y_INT[batch] == 1, 2.0, 1.0))
    by_class.partial_fit(X, Y_INT)
    by_sample.partial_fit(X, Y_INT, sample_weight=np.choose(Y_INT, [1.0, 2.0, 3.0]))
    assert_same_model(by_class, by_sample)
    with pytest.raises(ValueError, match=r"labels \[3\] that are not classes"):
        DeepRNNClassifier(class_weight={3: 1.0}, **SMALL).partial_fit(X, Y_INT, classes=classes)


def test_partial_fit_rejects_balanced_and_stays_unfitted():
    clf = DeepRNNClassifier(class_weight="balanced", **SMALL)
    with pytest.raises(ValueError, match="'balanced' is not supported by partial_fit"):
        clf.partial_fit(X, Y_INT, classes=[0, 1, 2])
    assert not hasattr(clf, "network_")
    # the suggested replacement works
    weights = compute_class_weight("balanced", classes=np.array([0, 1, 2]), y=Y_INT)
    clf.set_params(class_weight=dict(zip([0, 1, 2], weights, strict=True)))
    clf.partial_fit(X, Y_INT, classes=[0, 1, 2])


def test_pickle_round_trip_keeps_class_weight():
    clf = DeepRNNClassifier(class_weight={1: 2.0}, **SMALL).fit(X, Y_INT)
    loaded = pickle.loads(pickle.dumps(clf))
    assert loaded.class_weight == {1: 2.0}
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    assert_same_model(loaded.fit(X, Y_INT), clf.fit(X, Y_INT))
    assert not hasattr(loaded, "_classes_arg")


# ---------------------------------------------------------- one label per time step
Y_STEPS = (X[:, :, 0] > 0.8).astype(int)  # about 1 in 5 steps positive
STEP_PARAMS = dict(SMALL, return_sequences=True)


def test_step_weights_are_per_label_and_balanced_counts_all_steps():
    clf = DeepRNNClassifier(class_weight="balanced", **STEP_PARAMS)
    weights = clf._class_weight_per_sample(Y_STEPS, reset=True)
    assert weights.shape == Y_STEPS.shape
    np.testing.assert_array_equal(
        weights, compute_sample_weight("balanced", Y_STEPS.ravel()).reshape(Y_STEPS.shape)
    )
    weights = clf.set_params(class_weight={1: 4.0})._class_weight_per_sample(Y_STEPS, reset=True)
    np.testing.assert_array_equal(weights, np.where(Y_STEPS == 1, 4.0, 1.0))


def test_step_weights_multiply_sequence_and_step_weights():
    clf = DeepRNNClassifier(class_weight={1: 4.0}, **STEP_PARAMS)
    sw = np.arange(1.0, len(X) + 1)
    weights = clf._validate_fit_data(X, Y_STEPS, sw, reset=True).sample_weight
    np.testing.assert_array_equal(weights, sw[:, None] * np.where(Y_STEPS == 1, 4.0, 1.0))
    steps = RNG.uniform(0.5, 2.0, size=Y_STEPS.shape)
    weights = clf._validate_fit_data(X, Y_STEPS, steps, reset=True).sample_weight
    np.testing.assert_array_equal(weights, steps * np.where(Y_STEPS == 1, 4.0, 1.0))


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_step_weighted_fit_equals_per_step_sample_weight(solver):
    step_sw = compute_sample_weight("balanced", Y_STEPS.ravel()).reshape(Y_STEPS.shape)
    a = DeepRNNClassifier(class_weight="balanced", solver=solver, **STEP_PARAMS).fit(X, Y_STEPS)
    b = DeepRNNClassifier(solver=solver, **STEP_PARAMS).fit(X, Y_STEPS, sample_weight=step_sw)
    assert_same_model(a, b)
    assert_different_model(a, DeepRNNClassifier(solver=solver, **STEP_PARAMS).fit(X, Y_STEPS))
    by_class = DeepRNNClassifier(class_weight={1: 3.0}, solver=solver, **STEP_PARAMS)
    by_step = DeepRNNClassifier(solver=solver, **STEP_PARAMS)
    assert_same_model(
        by_class.fit(X, Y_STEPS),
        by_step.fit(X, Y_STEPS, sample_weight=np.where(Y_STEPS == 1, 3.0, 1.0)),
    )


def test_balanced_counts_the_observed_steps_only():
    Xm = X.copy()
    ym = Y_STEPS.copy()
    Xm[:8, :2] = np.nan  # the first two steps of 8 sequences are missing
    ym[:8, :2] = 1  # labels there are ignored: they must not count as class 1
    observed = ~np.isnan(Xm[:, :, 0])
    expected = np.ones(ym.shape)
    expected[observed] = compute_sample_weight("balanced", ym[observed])
    clf = DeepRNNClassifier(class_weight="balanced", **STEP_PARAMS)
    weights = clf._validate_fit_data(Xm, ym, None, reset=True).sample_weight
    np.testing.assert_array_equal(weights[observed], expected[observed])
    a = clf.fit(Xm, ym)
    b = DeepRNNClassifier(**STEP_PARAMS).fit(Xm, ym, sample_weight=expected)
    assert_same_model(a, b)


def test_accuracy_takes_per_step_weights():
    clf = DeepRNNClassifier(**STEP_PARAMS).fit(X, Y_STEPS)
    pred = clf.predict(X)
    sw = RNG.uniform(size=len(X))
    assert clf._accuracy(Y_STEPS, pred, np.repeat(sw, 5).reshape(-1, 5)) == pytest.approx(
        clf.score(X, Y_STEPS, sample_weight=sw)
    )


def test_save_npz_round_trip_keeps_balanced(tmp_path):
    from skdeeprnn import load_npz, save_npz

    clf = DeepRNNClassifier(class_weight="balanced", **SMALL).fit(X, Y_INT)
    save_npz(clf, tmp_path / "clf.npz")
    loaded = load_npz(tmp_path / "clf.npz")
    assert loaded.class_weight == "balanced"
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


@pytest.mark.parametrize("labels", ["int", "str", "bool"])
def test_save_npz_round_trip_keeps_a_dict(tmp_path, labels):
    from skdeeprnn import load_npz, save_npz

    y = {"int": Y_INT, "str": np.where(Y_INT == Y_INT[0], "a", "b"),
         "bool": Y_INT == Y_INT[0]}[labels]
    first = y[0].item() if hasattr(y[0], "item") else y[0]
    clf = DeepRNNClassifier(class_weight={first: 3.0}, **SMALL).fit(X, y)
    save_npz(clf, tmp_path / "clf.npz")
    loaded = load_npz(tmp_path / "clf.npz")
    assert loaded.class_weight == {first: 3.0}
    assert type(next(iter(loaded.class_weight))) is type(first)
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    # and it trains on as the original does
    a = clf.partial_fit(X, y)
    b = loaded.partial_fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
