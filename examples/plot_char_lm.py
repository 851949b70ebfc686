"""
=================================================
A character language model on *The Time Machine*
=================================================

A two-layer LSTM reads H. G. Wells' novel 35 characters at a time and learns
to predict every next character, the classic character-level language model
of "Dive into Deep Learning". As there, it trains on the first 10,000
characters of the book. :class:`~skdeeprnn.DeepRNNClassifier` with
``return_sequences=True`` predicts one label per time step; we train it epoch
by epoch with ``partial_fit``, follow the perplexity, and let it write text
after the prefix "time traveller ".

The full run took 93 seconds on two cores; ``--quick`` runs a small
model for two epochs (for CI). ``--hidden``, ``--epochs`` and ``--chars``
change the size of the model, the length of the training and how much of the
book it trains on (``--chars 0``: all of it but the held-out end).
"""

# %%
# The text as sequences
# ---------------------
# :func:`~skdeeprnn.datasets.load_time_machine` returns the book in lower case
# with every run of non-letters replaced by one space: 27 symbols. Every
# sample is 35 consecutive characters, one-hot encoded, and its labels are the
# 35 characters that follow each of them (the same text shifted by one). The
# last 5% of the book is held out to see how well the model generalises: with
# 10,000 characters to learn from, a model this size mostly memorises them, so
# the held-out perplexity stays far above the training one.
import argparse
import time

import numpy as np

from skdeeprnn import DeepRNNClassifier
from skdeeprnn.datasets import load_time_machine

parser = argparse.ArgumentParser(description="Character-level LSTM language model.")
parser.add_argument("--quick", action="store_true", help="a small model, two epochs (CI)")
parser.add_argument("--hidden", type=int, default=256, help="units per LSTM layer")
parser.add_argument("--epochs", type=int, default=150, help="passes over the training text")
parser.add_argument("--chars", type=int, default=10_000,
                    help="train on the book's first CHARS characters (0: all but the held-out end)")
args, _ = parser.parse_known_args()  # sphinx-gallery passes arguments of its own
hidden, epochs = (32, 2) if args.quick else (args.hidden, args.epochs)

STEPS = 35  # characters per sequence
text = load_time_machine()
vocab = np.array(sorted(set(text)))  # ' ', 'a', ..., 'z'
codes = np.searchsorted(vocab, np.array(list(text)))  # each character as its index
split = int(0.95 * len(codes))
train_codes, held_out_codes = codes[:split], codes[split:]
if args.chars:
    train_codes = train_codes[: args.chars]
print(f"{len(text):,} characters, {len(vocab)} symbols: {''.join(vocab)!r}")
print(f"training text {len(train_codes):,} characters, held out {len(held_out_codes):,}")


def sequences(codes, offset=0):
    """Cut ``codes[offset:]`` into one-hot inputs (n, 35, 27) and next-character labels (n, 35)."""
    n = (len(codes) - offset - 1) // STEPS
    inputs = codes[offset : offset + n * STEPS].reshape(n, STEPS)
    targets = codes[offset + 1 : offset + n * STEPS + 1].reshape(n, STEPS)
    one_hot = np.eye(len(vocab), dtype=np.float32)[inputs]
    return one_hot, vocab[targets]


X_held_out, y_held_out = sequences(held_out_codes)
X_first, y_first = sequences(train_codes)
print(f"X {X_first.shape}, y {y_first.shape}: {''.join(y_first[0])!r}")

# %%
# Perplexity
# ----------
# The perplexity is the exponential of the mean cross-entropy per character:
# 27 for a uniform guess, 1 for a perfect prediction. For a sequence model
# the estimator's loss is summed over the 35 steps of a sequence and averaged
# over sequences, so the per-character cross-entropy of an epoch is
# ``loss_ / 35`` (the mean over the epoch's minibatches, while the weights
# move). After each epoch we also compute it exactly from
# ``predict_log_proba`` on the held-out text.


def perplexity(model, X, y):
    """exp of the mean cross-entropy per character of ``model`` on ``X``, ``y``."""
    log_proba = model.predict_log_proba(X)  # (n, 35, 27)
    label_index = np.searchsorted(model.classes_, y)  # classes_ is sorted
    picked = np.take_along_axis(log_proba, label_index[..., np.newaxis], axis=-1)
    return float(np.exp(-picked.mean()))


# %%
# Training epoch by epoch
# -----------------------
# Two LSTM layers, Adam with learning rate 0.01, gradients clipped to a global
# norm of 1, no weight penalty, minibatches of 32 sequences. ``partial_fit``
# runs one epoch per call; the classes are given on the first call. Each epoch
# cuts the text at a random offset, so the model sees every character in
# many positions of a sequence.
model = DeepRNNClassifier(
    cell="lstm",
    num_layers=2,
    hidden_size=hidden,
    return_sequences=True,
    learning_rate_init=0.01,
    batch_size=32,
    clip_grad_norm=1.0,
    alpha=0.0,
    layer_norm=False,  # as the book's model (and as this example was measured)
    dtype="float32",
    random_state=0,
)
rng = np.random.RandomState(0)
history = {"train": [], "held out": []}
print(f"\n2-layer LSTM, {hidden} units per layer")
print("epoch  train ppl  held-out ppl  seconds")
start = time.perf_counter()
for epoch in range(1, epochs + 1):
    X, y = sequences(train_codes, offset=rng.randint(STEPS))
    model.partial_fit(X, y, classes=vocab)
    history["train"].append(np.exp(model.loss_ / STEPS))
    history["held out"].append(perplexity(model, X_held_out, y_held_out))
    print(
        f"{epoch:5d}  {history['train'][-1]:9.3f}  {history['held out'][-1]:12.3f}  "
        f"{time.perf_counter() - start:7.0f}"
    )

n_parameters = sum(w.size for w in model.weights_.values())
print(
    f"{n_parameters:,} parameters; training perplexity, exact after the last epoch: "
    f"{perplexity(model, X_first, y_first):.3f}"
)

# %%
# Writing text
# ------------
# The network reads left to right, so its prediction at step ``t`` depends on
# the first ``t + 1`` characters only. To continue a text we feed the last 35
# characters (a shorter prefix is padded on the right, and the prediction read
# at its last character) and append the most likely next character (greedy)
# or a character drawn from the predicted distribution (sampling).


def continue_text(model, prefix, n_chars, rng=None):
    """Extend ``prefix`` by ``n_chars`` characters; greedy when ``rng`` is None."""
    out = prefix
    for _ in range(n_chars):
        context = out[-STEPS:]
        padded = context.ljust(STEPS)
        X = np.eye(len(vocab), dtype=np.float32)[np.searchsorted(vocab, list(padded))]
        proba = model.predict_proba(X[np.newaxis])[0, len(context) - 1]
        if rng is None:
            out += model.classes_[np.argmax(proba)]
        else:
            out += rng.choice(model.classes_, p=proba / proba.sum())
    return out


prefix = "time traveller "
print("greedy:  ", continue_text(model, prefix, 120))
print("sampled: ", continue_text(model, prefix, 120, rng=np.random.RandomState(1)))

# %%
# Perplexity per epoch
# --------------------
# Drawn when matplotlib is installed.
try:
    import matplotlib.pyplot as plt
except ImportError:
    plt = None

if plt is not None:
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, values in history.items():
        ax.plot(np.arange(1, len(values) + 1), values, marker=".", label=name)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("perplexity")
    ax.legend()
    fig.tight_layout()
