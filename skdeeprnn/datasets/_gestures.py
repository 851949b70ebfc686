"""PickupGestureWiimoteZ (UCR archive): sequences of unequal lengths, bundled with the package."""

import gzip
from importlib import resources

import numpy as np
from sklearn.utils import Bunch

__all__ = ["load_gesture_pickup"]

_FILES = {
    "train": "PickupGestureWiimoteZ_TRAIN.ts.gz",
    "test": "PickupGestureWiimoteZ_TEST.ts.gz",
}
_SPLITS = ("train", "test", "all")
_N_PER_SPLIT = 50
_CLASSES = tuple(range(1, 11))

DESCR = """\
PickupGestureWiimoteZ
---------------------

Ten people each picked up a Nintendo Wiimote remote controller from its
resting position, ten times. Each recording is the controller's acceleration
along its z axis and has its own length. The files state no unit; the values
are near 1 while the controller rests, as for acceleration in g. The class is
the person, 1 to 10: the task is to tell who picked the controller up.

================  =========================================
sequences         100: 50 train, 50 test (5 per person each)
lengths           29 to 361 steps (train 29-361, test 37-324)
features          1 (z acceleration)
classes           10 (persons 1 to 10)
missing values    none inside a sequence
================  =========================================

The split is the UCR archive's. The length of a recording depends strongly on
the person (all of person 1's are longer than 240 steps, all of person 8's
shorter than 80), so it carries part of the label.

**Source**: the UCR Time Series Classification Archive (2018 expansion),
files ``PickupGestureWiimoteZ_TRAIN.ts`` and ``PickupGestureWiimoteZ_TEST.ts``
in the ``.ts`` format of timeseriesclassification.com, as bundled with aeon
1.6.0 (the unequal-length version, not the ``_eq_`` one). Recorded by Guna et
al.; prepared for the archive by Hoang Anh Dau. Unchanged, gzipped.

**Terms**: no licence text accompanies the files. The UCR archive makes its
data sets freely available for research and asks users to cite the archive
and the data set's creators (below).

**Citation**:

- Guna, J., Humar, I., Pogačnik, M. (2012). Intuitive gesture based user
  identification system. 35th International Conference on
  Telecommunications and Signal Processing (TSP), IEEE. (The reference
  given in the data files.)
- Guna, J., Humar, I., Pogačnik, M. (2014). Multimedia Tools and
  Applications. https://doi.org/10.1007/s11042-013-1635-1 (the journal
  article on the same identification system).
- Dau, H. A., Bagnall, A., Kamgar, K., Yeh, C.-C. M., Zhu, Y., Gharghabi, S.,
  Ratanamahatana, C. A., Keogh, E. (2019). The UCR time series archive.
  IEEE/CAA Journal of Automatica Sinica 6(6), 1293-1305.
  https://doi.org/10.1109/JAS.2019.1911747
"""


def _damaged(name, what):
    return RuntimeError(
        f"The bundled file {name} {what}; the installation looks damaged."
    )


def _read_ts(name):
    """Sequences (list of float64 1D arrays) and label strings of a univariate ``.ts`` file.

    Reads the subset of the ``.ts`` format these files use: ``#`` comment
    lines, ``@`` header lines up to ``@data``, then one case per line, the
    values separated by commas and followed by ``:label``. Anything else
    (timestamps, several dimensions, ``?`` for missing values) is refused.
    """
    source = resources.files(__package__).joinpath("data", name)
    with source.open("rb") as fh:
        text = gzip.decompress(fh.read()).decode("utf-8")
    header = {}
    lines = iter(text.splitlines())
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not line.startswith("@"):
            raise _damaged(name, f"has data before @data: {line[:40]!r}")
        key, _, value = line[1:].partition(" ")
        if key.lower() == "data":
            break
        header[key.lower()] = value.strip()
    expected = {"timestamps": "false", "univariate": "true", "missing": "false"}
    for key, value in expected.items():
        if header.get(key, "").lower() != value:
            raise _damaged(name, f"does not declare @{key} {value}")
    labels_declared = header.get("classlabel", "").split()
    if not labels_declared or labels_declared[0].lower() != "true":
        raise _damaged(name, "declares no class labels")
    allowed = set(labels_declared[1:])

    sequences, labels = [], []
    for line in lines:
        line = line.strip()
        if not line:
            continue
        values, sep, label = line.rpartition(":")
        if not sep or ":" in values or label not in allowed:
            raise _damaged(name, f"has a malformed case (line {len(labels) + 1} after @data)")
        try:
            seq = np.array([float(v) for v in values.rstrip(",").split(",")], dtype=np.float64)
        except ValueError as exc:
            raise _damaged(name, f"has a value that is not a number ({exc})") from exc
        if not np.isfinite(seq).all():
            raise _damaged(name, "has a missing or infinite value")
        sequences.append(seq)
        labels.append(label)
    return sequences, labels


def _load_split(split):
    name = _FILES[split]
    sequences, labels = _read_ts(name)
    target = np.array([int(label) for label in labels], dtype=np.int64)
    counts = np.bincount(target, minlength=len(_CLASSES) + 1)[1:]
    if len(sequences) != _N_PER_SPLIT or tuple(np.unique(target)) != _CLASSES or (
        counts != _N_PER_SPLIT // len(_CLASSES)
    ).any():
        raise _damaged(name, f"does not hold {_N_PER_SPLIT} cases, 5 of each of 10 classes")
    return sequences, target


def load_gesture_pickup(split="train", *, return_X_y=False):
    """Load the PickupGestureWiimoteZ data set (classification, unequal lengths).

    Accelerometer recordings of ten people picking up a Wiimote controller,
    one sequence of z acceleration per recording, from the UCR time series
    classification archive; the class is the person. The sequences have
    different lengths, so the data come as a list of 1D arrays, which the
    estimators accept as they are (see the user guide on variable lengths).
    The data are bundled with the package (no download).

    =================   ==============================================
    sequences           50 train, 50 test (5 per person in each)
    lengths             29 to 361 steps
    features            1 (z acceleration)
    classes             10 (the persons, labelled 1 to 10)
    =================   ==============================================

    Read more in ``DESCR`` of the returned object.

    Parameters
    ----------
    split : {"train", "test", "all"}, default="train"
        Which part of the archive's split to load. ``"all"`` gives the 50
        training sequences followed by the 50 test sequences.

    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        data : list of ndarray of shape (n_timesteps_i,)
            The sequences, float64, in the file's order (grouped by class).
            Each is a new array; none contains NaN.
        target : ndarray of shape (n_sequences,)
            The person of each sequence, int64 from 1 to 10.
        target_names : ndarray of shape (10,)
            The class labels, ``1`` to ``10``.
        DESCR : str
            Description of the data set: source, terms and citations.

    (data, target) : tuple if ``return_X_y`` is True
        ``data`` and ``target`` as described above.

    See Also
    --------
    load_pm25 : A regression data set (one long hourly table).

    Notes
    -----
    The files are the archive's ``PickupGestureWiimoteZ_TRAIN.ts`` and
    ``_TEST.ts`` (the unequal-length version), unchanged, in the ``.ts``
    format, which this function parses itself. The labels in the files are
    the strings ``"1"`` to ``"10"``; they are returned as integers.

    The length of a recording depends strongly on the person, so it carries
    part of the label; padding the sequences to a common length with zeros
    lets a model read the length from the padding, and changes what the
    model sees at the padded steps.

    No licence text accompanies the files. The UCR archive makes its data
    sets freely available for research and asks users to cite the archive
    and the data set's creators; cite the references below when you use it.

    References
    ----------
    .. [1] Guna, J., Humar, I., Pogačnik, M. (2012). Intuitive gesture based
       user identification system. 35th International Conference on
       Telecommunications and Signal Processing (TSP), IEEE.
    .. [2] Guna, J., Humar, I., Pogačnik, M. (2014). Multimedia Tools and
       Applications. https://doi.org/10.1007/s11042-013-1635-1
    .. [3] Dau, H. A., Bagnall, A., Kamgar, K., Yeh, C.-C. M., Zhu, Y.,
       Gharghabi, S., Ratanamahatana, C. A., Keogh, E. (2019). The UCR time
       series archive. IEEE/CAA Journal of Automatica Sinica 6(6),
       1293-1305. https://doi.org/10.1109/JAS.2019.1911747

    Examples
    --------
    >>> from skdeeprnn.datasets import load_gesture_pickup
    >>> gestures = load_gesture_pickup()
    >>> len(gestures.data), gestures.target.shape
    (50, (50,))
    >>> gestures.data[0].shape, gestures.data[0].dtype
    ((324,), dtype('float64'))
    >>> min(len(x) for x in gestures.data), max(len(x) for x in gestures.data)
    (29, 361)
    >>> gestures.target_names
    array([ 1,  2,  3,  4,  5,  6,  7,  8,  9, 10])

    The test split, as a list and labels:

    >>> X_test, y_test = load_gesture_pickup("test", return_X_y=True)
    >>> len(X_test), sorted(set(y_test.tolist())) == list(range(1, 11))
    (50, True)

    The list goes straight into an estimator; to make one NaN-padded array
    of shape ``(n_sequences, longest)`` instead:

    >>> import numpy as np
    >>> longest = max(len(x) for x in X_test)
    >>> padded = np.full((len(X_test), longest), np.nan)
    >>> for i, x in enumerate(X_test):
    ...     padded[i, : len(x)] = x
    >>> padded.shape
    (50, 324)
    """
    if not isinstance(split, str) or split not in _SPLITS:
        raise ValueError(
            f"split must be one of {', '.join(map(repr, _SPLITS))}; got {split!r}."
        )
    if not isinstance(return_X_y, (bool, np.bool_)):
        raise TypeError(f"return_X_y must be True or False; got {return_X_y!r}.")

    if split == "all":
        data, target = [], []
        for part in ("train", "test"):
            sequences, labels = _load_split(part)
            data.extend(sequences)
            target.append(labels)
        target = np.concatenate(target)
    else:
        data, target = _load_split(split)

    if return_X_y:
        return data, target
    return Bunch(
        data=data,
        target=target,
        target_names=np.array(_CLASSES, dtype=np.int64),
        DESCR=DESCR,
    )
