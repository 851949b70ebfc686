"""
=============================================================
Sequences of unequal lengths: missing steps, not zero padding
=============================================================

The recordings of PickupGestureWiimoteZ (:func:`~skdeeprnn.datasets.load_gesture_pickup`)
run from 29 to 361 steps. A network that wants one array of shape
``(n_sequences, n_timesteps)`` used to need them padded to a common length,
usually with zeros, and then read the zeros as if they had been measured.
:class:`~skdeeprnn.DeepRNNClassifier` also accepts NaN padding (or the list of
sequences itself): a step whose features are all NaN is *missing*, the
network's state does not change there, and training only computes the steps
that were observed (see :ref:`variable_lengths`).

We fit the same pipeline, a :class:`~skdeeprnn.SequenceStandardScaler`
followed by a classifier with its default parameters, on three layouts of the
same data, with three seeds each, and compare test accuracy and fit time,
with 1-nearest-neighbour (Euclidean) on the zero-padded sequences as a
baseline.
"""

# %%
# The data
# --------
# 50 training and 50 test recordings, one per person and pick-up, 5 of each
# of the 10 persons in each split. Each is a 1D array of the controller's z
# acceleration; the class is the person. The length of a recording depends
# on who made it.
import argparse
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline

from skdeeprnn import DeepRNNClassifier, SequenceStandardScaler
from skdeeprnn.datasets import load_gesture_pickup

parser = argparse.ArgumentParser(description="Unequal lengths: masking against zero padding.")
parser.add_argument("--quick", action="store_true", help="a few epochs, for CI")
args, _ = parser.parse_known_args()  # sphinx-gallery passes arguments of its own
# With --quick the fits stop early on purpose; the default fits may also stop at
# max_iter. Either way, don't warn that the loss still moves.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

X_train, y_train = load_gesture_pickup("train", return_X_y=True)
X_test, y_test = load_gesture_pickup("test", return_X_y=True)
train_lengths = np.array([len(x) for x in X_train])
test_lengths = np.array([len(x) for x in X_test])
print(f"train: {len(X_train)} sequences of {train_lengths.min()} to {train_lengths.max()} steps")
print(f"test:  {len(X_test)} sequences of {test_lengths.min()} to {test_lengths.max()} steps")
print("steps per person in the training split (min - max):")
for person in np.unique(y_train):
    lengths = train_lengths[y_train == person]
    print(f"  person {person:2d}: {lengths.min():3d} - {lengths.max():3d}")

# %%
# Three layouts of the same sequences
# -----------------------------------
# Every layout pads to the longest training sequence, the length the fitted
# model is built for (no test sequence is longer):
#
# - zeros at the end: what aeon's ``Padder`` does by default;
# - zeros at the front: every gesture then ends on the last step, as this
#   package's benchmarks pad;
# - NaN at the end: the padded steps are missing.
#
# The scaler standardises with the mean and standard deviation of every value
# it sees. Zeros are values to it, so they enter its statistics; NaN is left
# out and stays NaN.
T = train_lengths.max()


def pad(sequences, value, front=False):
    """One ``(n, T)`` array of the sequences, filled with ``value`` before or after each."""
    out = np.full((len(sequences), T), value, dtype=np.float64)
    for i, x in enumerate(sequences):
        if front:
            out[i, T - len(x) :] = x
        else:
            out[i, : len(x)] = x
    return out


layouts = {
    "zeros at the end": (pad(X_train, 0.0), pad(X_test, 0.0)),
    "zeros at the front": (pad(X_train, 0.0, front=True), pad(X_test, 0.0, front=True)),
    "NaN at the end (missing)": (pad(X_train, np.nan), pad(X_test, np.nan)),
}
print(f"padded to {T} steps; share of padding in the training array: "
      f"{1 - train_lengths.sum() / (len(X_train) * T):.2f}")

# %%
# A few recordings
# ----------------
# One training recording of each of four persons, with its length.
try:
    import matplotlib.pyplot as plt
except ImportError:  # matplotlib is an optional extra: skip the figures
    plt = None

if plt is not None:
    fig, ax = plt.subplots(figsize=(7, 3))
    for person in (1, 3, 8, 9):
        i = int(np.flatnonzero(y_train == person)[0])
        ax.plot(X_train[i], label=f"person {person} ({len(X_train[i])} steps)")
    ax.set_xlabel("step")
    ax.set_ylabel("z acceleration")
    ax.legend(fontsize="small")
    fig.tight_layout()

# %%
# Fitting
# -------
# The pipeline is ``make_pipeline(SequenceStandardScaler(),
# DeepRNNClassifier(random_state=seed))``: default parameters, only the seed
# set. On the NaN-padded array the classifier skips the missing steps, its
# pooling (``'max'`` by default) reads only the observed ones, and each
# minibatch is trimmed to the steps its sequences observe. ``--quick`` caps the
# epochs at 5 (a check that the example runs, with poorer numbers).
SEEDS = [0, 1, 2]


def make_model(seed):
    """The pipeline compared on every layout."""
    net = DeepRNNClassifier(random_state=seed)
    if args.quick:
        net.set_params(max_iter=5)
    return make_pipeline(SequenceStandardScaler(), net)


results = {}
fitted = {}
for name, (train, test) in layouts.items():
    scores, seconds, epochs = [], [], []
    for seed in SEEDS:
        model = make_model(seed)
        start = time.perf_counter()
        model.fit(train, y_train)
        seconds.append(time.perf_counter() - start)
        scores.append(model.score(test, y_test))
        epochs.append(model[-1].n_iter_)
        fitted[name, seed] = model
    results[name] = (np.array(scores), np.array(seconds), np.array(epochs))
    print(f"{name}: accuracy {np.round(scores, 2).tolist()}, fit s {np.round(seconds, 1).tolist()}")

# %%
# Baseline: 1-nearest neighbour
# -----------------------------
# Euclidean distance between the raw zero-padded sequences, the archive's
# classic baseline; it has no seed.
knn = {}
for name in ("zeros at the end", "zeros at the front"):
    train, test = layouts[name]
    knn[name] = KNeighborsClassifier(n_neighbors=1).fit(train, y_train).score(test, y_test)

# %%
# Results
# -------
# Test accuracy of each seed (50 test sequences: one sequence is 0.02), their
# mean and standard deviation, the mean epochs and the mean seconds of
# ``fit`` (scaler and network).
header = (f"{'model':<40} {'seed 0':>6} {'seed 1':>6} {'seed 2':>6} "
          f"{'mean':>6} {'std':>6} {'epochs':>6} {'fit s':>6}")
print(header)
print("-" * len(header))
for name, (scores, seconds, epochs) in results.items():
    print(f"{'GRU pipeline, ' + name:<40} "
          + " ".join(f"{s:6.2f}" for s in scores)
          + f" {scores.mean():6.3f} {scores.std():6.3f} {epochs.mean():6.0f} {seconds.mean():6.1f}")
for name, score in knn.items():
    print(f"{'1-NN Euclidean, ' + name:<40} {'':>6} {'':>6} {'':>6} {score:6.3f}")

masked = results["NaN at the end (missing)"]
for name in ("zeros at the end", "zeros at the front"):
    scores, seconds, _ = results[name]
    print(f"NaN padding against {name}: accuracy {masked[0].mean() - scores.mean():+.3f} "
          f"(mean over seeds), fit time x{masked[1].mean() / seconds.mean():.2f}")

# %%
# Read the differences between rows against the ``std`` column: with three
# seeds and 50 test sequences, the table ranks two layouts only where their
# gap is clearly larger than the spread between seeds. The fit times differ
# for a plainer reason: with zeros every minibatch runs all ``T`` steps; with
# NaN padding the training groups sequences of similar length into minibatches
# and runs each only over the steps its sequences observe.
#
# The zero-padded models can also read a sequence's length from its padding,
# and lengths differ between persons; with NaN padding the network never sees
# the padded steps, only the recorded ones.
if plt is not None:
    fig, ax = plt.subplots(figsize=(7, 3))
    names = list(results)
    for k, name in enumerate(names):
        scores = results[name][0]
        ax.bar(k, scores.mean(), color="C0" if "NaN" in name else "C7", alpha=0.8)
        ax.plot(np.full(len(scores), k), scores, "o", color="black", markersize=4)
    for k, score in enumerate(knn.values(), start=len(names)):
        ax.bar(k, score, color="C3", alpha=0.6)
    labels = [name.replace(" (missing)", "").replace(" at the ", "\nat the ") for name in names]
    labels += ["1-NN,\n" + name.replace(" at the ", " at the\n") for name in knn]
    ax.set_xticks(range(len(labels)), labels, fontsize="small")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1)
    ax.set_title("bars: mean over seeds; dots: each seed", fontsize="small")
    fig.tight_layout()

# %%
# The list itself
# ---------------
# The classifier also takes the list of unequal sequences and pads it with
# NaN itself, to the length it was fitted on. The scaler needs the array, so
# here we scale the NaN-padded test array and hand the classifier the list of
# its scaled sequences, cut back to their own lengths: the probabilities are
# those of the NaN-padded array.
model = fitted["NaN at the end (missing)", SEEDS[0]]
scaler, net = model[0], model[-1]
scaled = scaler.transform(layouts["NaN at the end (missing)"][1])
scaled_list = [row[: len(x)] for row, x in zip(scaled, X_test, strict=True)]
same = np.array_equal(net.predict_proba(scaled_list), net.predict_proba(scaled))
print(f"list and NaN-padded array give the same probabilities: {same}")
