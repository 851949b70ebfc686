import gzip
import hashlib
import os
import re
import string
from importlib import resources

import numpy as np
import pandas as pd
import pytest
from sklearn.utils import Bunch

import skdeeprnn.datasets as datasets
from skdeeprnn.datasets import load_pm25, load_time_machine, pm25_textbook_features

N_HOURS = 43_824
N_MISSING_PM25 = 2_067
FRAME_COLUMNS = ["pm2.5", "DEWP", "TEMP", "PRES", "cbwd", "Iws", "Is", "Ir"]
NUMERIC_COLUMNS = ["pm2.5", "DEWP", "TEMP", "PRES", "Iws", "Is", "Ir"]
TEXTBOOK_COLUMNS = ["pm2.5", "DEWP", "TEMP", "PRES", "cbwd", "Iws"]

# From shared/data/README.md (and skdeeprnn/datasets/data/README.md).
SHA256_PM25_GZ = "7f942332746ea16abad083b53f8f481f98fabc0d9ec60f21cdf6a4705d9e3ee1"
SHA256_PM25_CSV = "4127f868775e31b3956522adc0ec75af8937dde6a3896e8beed3a376c6d27f1c"
SHA256_TIME_MACHINE_TXT = "ae402d1bcf69b078c7f674cef6f5d1b4506730494fffdfd0c3b2d02bf9543408"


def _data_file(name):
    return resources.files("skdeeprnn.datasets").joinpath("data", name)


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def pm25_frame():
    return load_pm25().frame


# --------------------------------------------------------------------------- files


def test_public_api():
    assert sorted(datasets.__all__) == [
        "load_gesture_pickup",
        "load_pm25",
        "load_time_machine",
        "pm25_textbook_features",
    ]
    for name in datasets.__all__:
        assert callable(getattr(datasets, name))


def test_bundled_pm25_file_is_the_original():
    gz = _data_file("PRSA_data_2010.1.1-2014.12.31.csv.gz").read_bytes()
    assert _sha256(gz) == SHA256_PM25_GZ
    assert _sha256(gzip.decompress(gz)) == SHA256_PM25_CSV


def test_bundled_time_machine_file():
    gz = _data_file("timemachine.txt.gz").read_bytes()
    assert _sha256(gzip.decompress(gz)) == SHA256_TIME_MACHINE_TXT
    # made with `gzip -n`: no timestamp in the header, so the file is reproducible
    assert gz[4:8] == b"\x00\x00\x00\x00"


def test_bundled_readme_carries_license_and_citations():
    text = _data_file("README.md").read_text(encoding="utf-8")
    for needle in [
        "CC BY 4.0",
        "public domain",
        "https://doi.org/10.24432/C5JS49",
        "Proc. R. Soc. A 471: 20150257",
        SHA256_PM25_GZ,
        SHA256_PM25_CSV,
        SHA256_TIME_MACHINE_TXT,
    ]:
        assert needle in text


# --------------------------------------------------------------------------- load_pm25


def test_load_pm25_bunch(pm25_frame):
    bunch = load_pm25()
    assert isinstance(bunch, Bunch)
    assert set(bunch) == {"data", "target", "frame", "feature_names", "target_names", "DESCR"}
    assert bunch.feature_names == FRAME_COLUMNS
    assert bunch.target_names == ["pm2.5"]
    pd.testing.assert_frame_equal(bunch.frame, pm25_frame, check_exact=True)
    pd.testing.assert_frame_equal(bunch.data, pm25_frame[FRAME_COLUMNS], check_exact=True)
    assert isinstance(bunch.target, pd.Series)
    assert bunch.target.name == "pm2.5"
    pd.testing.assert_series_equal(bunch.target, pm25_frame["pm2.5"], check_exact=True)
    for needle in ["CC BY 4.0", "10.24432/C5JS49", "20150257", "2,067", "cbwd", "Iws"]:
        assert needle in bunch.DESCR


def test_load_pm25_frame_columns_and_dtypes(pm25_frame):
    assert pm25_frame.shape == (N_HOURS, 8)
    assert list(pm25_frame.columns) == FRAME_COLUMNS
    for col in NUMERIC_COLUMNS:
        assert pm25_frame[col].dtype == np.float64, col
    assert pd.api.types.is_string_dtype(pm25_frame["cbwd"])
    assert set(pm25_frame["cbwd"]) == {"NE", "NW", "SE", "cv"}
    assert pm25_frame["cbwd"].value_counts().to_dict() == {
        "SE": 15290,
        "NW": 14150,
        "cv": 9387,
        "NE": 4997,
    }


def test_load_pm25_index(pm25_frame):
    index = pm25_frame.index
    assert isinstance(index, pd.DatetimeIndex)
    assert index.name == "time"
    assert len(index) == N_HOURS
    assert index.is_monotonic_increasing
    assert index.is_unique
    assert index[0] == pd.Timestamp("2010-01-01 00:00")
    assert index[-1] == pd.Timestamp("2014-12-31 23:00")
    assert (np.diff(index.to_numpy()) == np.timedelta64(1, "h")).all()
    assert index.freq == pd.tseries.frequencies.to_offset("h")
    expected = pd.date_range("2010-01-01 00:00", "2014-12-31 23:00", freq="h", name="time")
    assert index.equals(expected)


def test_load_pm25_missing_values(pm25_frame):
    counts = pm25_frame.isna().sum()
    assert counts["pm2.5"] == N_MISSING_PM25
    assert counts.drop("pm2.5").sum() == 0
    pm = pm25_frame["pm2.5"]
    # the first day is missing, the 25th hour is the first observation
    assert pm.iloc[:24].isna().all()
    assert pm.iloc[24] == 129.0
    assert pm.iloc[-1] == 12.0


def test_load_pm25_known_rows(pm25_frame):
    first = pm25_frame.iloc[0]
    assert (first["DEWP"], first["TEMP"], first["PRES"]) == (-21.0, -11.0, 1021.0)
    assert (first["cbwd"], first["Iws"], first["Is"], first["Ir"]) == ("NW", 1.79, 0.0, 0.0)
    last = pm25_frame.loc["2014-12-31 23:00"]
    assert (last["pm2.5"], last["DEWP"], last["TEMP"], last["PRES"]) == (12.0, -21.0, -3.0, 1034.0)
    assert (last["cbwd"], last["Iws"]) == ("NW", 249.85)


@pytest.mark.parametrize(
    "fill_missing, n_rows, n_nan",
    [("none", N_HOURS, N_MISSING_PM25), ("interpolate", N_HOURS, 0), ("drop", N_HOURS - 2067, 0)],
)
def test_load_pm25_fill_missing_counts(fill_missing, n_rows, n_nan):
    bunch = load_pm25(fill_missing=fill_missing)
    assert bunch.frame.shape == (n_rows, 8)
    assert bunch.frame["pm2.5"].isna().sum() == n_nan
    assert bunch.target.isna().sum() == n_nan
    assert bunch.frame.drop(columns="pm2.5").isna().sum().sum() == 0
    assert bunch.frame.index.is_monotonic_increasing and bunch.frame.index.is_unique


def test_load_pm25_interpolate_is_linear_in_time(pm25_frame):
    filled = load_pm25(fill_missing="interpolate").frame
    pd.testing.assert_index_equal(filled.index, pm25_frame.index)
    pd.testing.assert_frame_equal(
        filled.drop(columns="pm2.5"), pm25_frame.drop(columns="pm2.5"), check_exact=True
    )
    raw = pm25_frame["pm2.5"].to_numpy()
    observed = ~np.isnan(raw)
    # observed values untouched
    np.testing.assert_array_equal(filled["pm2.5"].to_numpy()[observed], raw[observed])
    # np.interp is linear between observations and holds the end values outside them
    hours = np.arange(N_HOURS, dtype=float)
    expected = np.interp(hours, hours[observed], raw[observed])
    np.testing.assert_allclose(filled["pm2.5"].to_numpy(), expected, rtol=0, atol=1e-9)
    # leading 24 hours backfilled with the first observation
    assert (filled["pm2.5"].iloc[:24] == 129.0).all()


def test_load_pm25_drop(pm25_frame):
    dropped = load_pm25(fill_missing="drop").frame
    kept = pm25_frame.loc[pm25_frame["pm2.5"].notna()]
    pd.testing.assert_frame_equal(dropped, kept, check_freq=False, check_exact=True)
    assert dropped.index.freq is None
    assert dropped.index[0] == pd.Timestamp("2010-01-02 00:00")


@pytest.mark.parametrize("fill_missing", ["none", "interpolate", "drop"])
def test_load_pm25_return_X_y_frame(fill_missing):
    bunch = load_pm25(fill_missing=fill_missing)
    X, y = load_pm25(return_X_y=True, fill_missing=fill_missing)
    assert isinstance(X, pd.DataFrame) and isinstance(y, pd.Series)
    pd.testing.assert_frame_equal(X, bunch.data, check_exact=True)
    pd.testing.assert_series_equal(y, bunch.target, check_exact=True)


@pytest.mark.parametrize("fill_missing", ["none", "interpolate", "drop"])
def test_load_pm25_as_arrays(fill_missing):
    frame = load_pm25(fill_missing=fill_missing).frame
    bunch = load_pm25(as_frame=False, fill_missing=fill_missing)
    assert bunch.frame is None
    assert bunch.feature_names == NUMERIC_COLUMNS
    assert bunch.target_names == ["pm2.5"]
    assert isinstance(bunch.data, np.ndarray) and isinstance(bunch.target, np.ndarray)
    assert bunch.data.dtype == np.float64 and bunch.target.dtype == np.float64
    assert bunch.data.shape == (len(frame), 7)
    assert bunch.target.shape == (len(frame),)
    np.testing.assert_array_equal(bunch.data, frame[NUMERIC_COLUMNS].to_numpy(dtype=float))
    np.testing.assert_array_equal(bunch.target, frame["pm2.5"].to_numpy(dtype=float))
    X, y = load_pm25(as_frame=False, return_X_y=True, fill_missing=fill_missing)
    np.testing.assert_array_equal(X, bunch.data)
    np.testing.assert_array_equal(y, bunch.target)


def test_load_pm25_results_are_independent():
    first = load_pm25()
    first.frame.iloc[30, 0] = -1.0
    first.target.iloc[31] = -1.0
    second = load_pm25()
    assert second.frame["pm2.5"].iloc[30] != -1.0
    assert second.target.iloc[31] != -1.0


@pytest.mark.parametrize("bad", ["linear", "None", "", "INTERPOLATE", None, 0, ["drop"]])
def test_load_pm25_bad_fill_missing(bad):
    with pytest.raises(ValueError, match="fill_missing must be one of 'none', 'interpolate'"):
        load_pm25(fill_missing=bad)


def test_load_pm25_keyword_only():
    with pytest.raises(TypeError):
        load_pm25(False)


# --------------------------------------------------------------------------- textbook features


def _hand_frame():
    index = pd.date_range("2012-03-01 00:00", periods=9, freq="h", name="time")
    return pd.DataFrame(
        {
            "pm2.5": [np.nan, np.nan, 40.0, np.nan, np.nan, 70.0, 80.0, 90.0, np.nan],
            "DEWP": [-3.0, -3.0, -2.0, -2.0, -1.0, -1.0, 0.0, 0.0, 1.0],
            "TEMP": [5.0, 4.0, 4.0, 3.0, 3.0, 2.0, 2.0, 1.0, 1.0],
            "PRES": [1010.0, 1011.0, 1012.0, 1013.0, 1014.0, 1015.0, 1016.0, 1017.0, 1018.0],
            "cbwd": ["NW", "NW", "NW", "cv", "SE", "SE", "SW", "NE", "NE"],
            "Iws": [2.0, 5.0, 6.5, 0.5, 1.0, 4.0, 3.0, 1.5, 2.25],
            "Is": [0.0] * 9,
            "Ir": [0.0, 0.0, 1.0, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        },
        index=index,
    )


def test_textbook_features_hand_made():
    raw = _hand_frame()
    before = raw.copy()
    features = pm25_textbook_features(raw)
    pd.testing.assert_frame_equal(raw, before)  # input untouched
    assert list(features.columns) == TEXTBOOK_COLUMNS
    assert (features.dtypes == np.float64).all()
    pd.testing.assert_index_equal(features.index, raw.index)
    # leading NaN backfilled (40), gap 40 -> 70 over 3 hours (50, 60), trailing NaN held (90)
    np.testing.assert_array_equal(
        features["pm2.5"], [40.0, 40.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 90.0]
    )
    np.testing.assert_array_equal(features["DEWP"], raw["DEWP"])
    np.testing.assert_array_equal(features["TEMP"], raw["TEMP"])
    np.testing.assert_array_equal(features["PRES"], raw["PRES"])
    # NW=9, cv=0, SE=6, SW=12, NE=3
    np.testing.assert_array_equal(features["cbwd"], [9.0, 9.0, 9.0, 0.0, 6.0, 6.0, 12.0, 3.0, 3.0])
    # first row: itself; NW run 2, 5, 6.5 -> 2, 3, 1.5; cv -> 0.5; SE 1, 4 -> 1, 3;
    # SW -> 3; NE 1.5, 2.25 -> 1.5, 0.75
    np.testing.assert_allclose(
        features["Iws"], [2.0, 3.0, 1.5, 0.5, 1.0, 3.0, 3.0, 1.5, 0.75], rtol=0, atol=1e-12
    )


def test_textbook_features_same_direction_after_a_change():
    # NW -> NE -> NW: the second NW run starts afresh from its own value
    raw = _hand_frame().iloc[:4].copy()
    raw["cbwd"] = ["NW", "NE", "NW", "NW"]
    raw["Iws"] = [4.0, 1.0, 2.0, 3.5]
    np.testing.assert_allclose(pm25_textbook_features(raw)["Iws"], [4.0, 1.0, 2.0, 1.5])


def test_textbook_features_interpolation_uses_time():
    # irregular DatetimeIndex: the missing value at 01:00 lies 1/4 of the way from 00:00 to 04:00
    raw = _hand_frame().iloc[[2, 3, 6]].copy()
    raw.index = pd.DatetimeIndex(["2012-03-01 00:00", "2012-03-01 01:00", "2012-03-01 04:00"])
    raw["pm2.5"] = [40.0, np.nan, 80.0]
    np.testing.assert_allclose(pm25_textbook_features(raw)["pm2.5"], [40.0, 50.0, 80.0])


def test_textbook_features_positional_index():
    raw = _hand_frame().reset_index(drop=True)
    features = pm25_textbook_features(raw)
    pd.testing.assert_index_equal(features.index, raw.index)
    np.testing.assert_array_equal(
        features["pm2.5"], [40.0, 40.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 90.0]
    )


def test_textbook_features_accepts_categorical_and_object_cbwd():
    raw = _hand_frame()
    expected = pm25_textbook_features(raw)
    for dtype in ["category", object]:
        other = raw.assign(cbwd=raw["cbwd"].astype(dtype))
        pd.testing.assert_frame_equal(pm25_textbook_features(other), expected, check_exact=True)


def test_textbook_features_errors():
    raw = _hand_frame()
    with pytest.raises(ValueError, match=r"lacks the column\(s\) \['cbwd'\]"):
        pm25_textbook_features(raw.drop(columns="cbwd"))
    bad_direction = raw.assign(cbwd=["NW"] * 8 + ["SSW"])
    with pytest.raises(ValueError, match=r"unknown wind direction\(s\) \['SSW'\]"):
        pm25_textbook_features(bad_direction)
    with pytest.raises(ValueError, match="no observed value"):
        pm25_textbook_features(raw.assign(**{"pm2.5": np.nan}))
    with pytest.raises(TypeError, match="DataFrame"):
        pm25_textbook_features(raw.to_numpy())


def test_textbook_features_real_data(pm25_frame):
    features = pm25_textbook_features(pm25_frame)
    assert features.shape == (N_HOURS, 6)
    assert list(features.columns) == TEXTBOOK_COLUMNS
    assert (features.dtypes == np.float64).all()
    assert features.isna().sum().sum() == 0
    pd.testing.assert_index_equal(features.index, pm25_frame.index)
    # pm2.5 is the interpolated series of load_pm25
    filled = load_pm25(fill_missing="interpolate").target
    np.testing.assert_array_equal(features["pm2.5"], filled)
    # no SW in the data
    assert set(features["cbwd"]) == {0.0, 3.0, 6.0, 9.0}
    # what holds on this data: Iws grows strictly within every same-direction run,
    # so the hourly values are all positive, between 0.45 and 20.12 m/s
    iws = features["Iws"]
    assert iws.min() > 0
    assert iws.min() == pytest.approx(0.45)
    assert iws.max() == pytest.approx(20.12)
    # summing the hourly values within each run gives the cumulated Iws back
    run = pm25_frame["cbwd"].ne(pm25_frame["cbwd"].shift()).cumsum()
    np.testing.assert_allclose(iws.groupby(run).cumsum(), pm25_frame["Iws"], rtol=0, atol=1e-9)


# --------------------------------------------------------------------------- time machine


def test_time_machine_letters_only():
    text = load_time_machine()
    assert isinstance(text, str)
    assert set(text) == set(string.ascii_lowercase + " ")
    assert "  " not in text
    assert text == text.strip()
    assert text.startswith("the time machine an invention by h g wells contents i introduction")
    assert text.endswith("a mutual tenderness still lived on in the heart of man")
    assert len(text) == 174_215
    words = text.split()
    assert len(words) == 32_895
    assert len(set(words)) == 4_597


def test_time_machine_raw():
    raw = load_time_machine(lower=False, letters_only=False)
    assert _sha256(raw.encode("utf-8")) == SHA256_TIME_MACHINE_TXT
    assert len(raw) == 179_703
    assert raw.lstrip().startswith("The Time Machine\n\nAn Invention\n\nby H. G. Wells")
    assert "The Time Traveller (for so it will be convenient to speak of him)" in raw
    assert load_time_machine(letters_only=False) == raw.lower()


def test_time_machine_matches_d2l_rule():
    raw = load_time_machine(lower=False, letters_only=False)
    lines = [re.sub("[^A-Za-z]+", " ", line).strip().lower() for line in raw.splitlines()]
    assert load_time_machine() == " ".join(line for line in lines if line)


def test_time_machine_letters_only_keeps_case():
    text = load_time_machine(lower=False)
    assert set(text) <= set(string.ascii_letters + " ")  # no capital Z in the book
    assert len(set(text)) == 52
    assert text.startswith("The Time Machine An Invention by H G Wells")
    assert text.lower() == load_time_machine()


def test_time_machine_keyword_only():
    with pytest.raises(TypeError):
        load_time_machine(False)


# --------------------------------------------------------------------------- gesture pickup

SHA256_PICKUP = {
    # split: (gz, decompressed .ts = aeon 1.6.0's bundled file)
    "TRAIN": (
        "a52f3d494d2b6a5fc73f3c2941ce07b335f25159bd374a502a59ddec9e9a59b2",
        "4d303d9990df621c066fc454d62626e3721aed008462103500b86b1ac1ca92c8",
    ),
    "TEST": (
        "28d80b76481b218e4529a5fe6d3158c4a547847cdd664b1ac8a5c2c8386cc5f5",
        "a9109bce918e48ee0e924e9cf2fdfdc4de364a3d88ec5e8aa44399ff08b11361",
    ),
}
# lengths of the sequences in file order, as aeon 1.6.0 reads them
PICKUP_TRAIN_LENGTHS_HEAD = [324, 361, 277, 326, 329, 158, 158, 160, 131, 180]
PICKUP_TEST_LENGTHS_HEAD = [267, 241, 279, 324, 314, 173, 156, 159, 176, 189]


@pytest.mark.parametrize("split", ["TRAIN", "TEST"])
def test_bundled_pickup_files(split):
    gz = _data_file(f"PickupGestureWiimoteZ_{split}.ts.gz").read_bytes()
    assert _sha256(gz) == SHA256_PICKUP[split][0]
    text = gzip.decompress(gz)
    assert _sha256(text) == SHA256_PICKUP[split][1]
    assert gz[4:8] == b"\x00\x00\x00\x00"  # gzip -n: reproducible
    assert b"@equalLength false" in text and b"@problemName PickupGestureWiimoteZ" in text


def test_bundled_readme_documents_pickup():
    text = _data_file("README.md").read_text(encoding="utf-8")
    for needle in [
        "PickupGestureWiimoteZ_TRAIN.ts.gz",
        "PickupGestureWiimoteZ_TEST.ts.gz",
        "UCR",
        "Guna",
        "https://doi.org/10.1109/JAS.2019.1911747",
        "no licence text",
        *(value for pair in SHA256_PICKUP.values() for value in pair),
    ]:
        assert needle in text


@pytest.mark.parametrize(
    "split, n, min_len, max_len, head",
    [
        ("train", 50, 29, 361, PICKUP_TRAIN_LENGTHS_HEAD),
        ("test", 50, 37, 324, PICKUP_TEST_LENGTHS_HEAD),
        ("all", 100, 29, 361, PICKUP_TRAIN_LENGTHS_HEAD),
    ],
)
def test_load_gesture_pickup_shapes(split, n, min_len, max_len, head):
    bunch = datasets.load_gesture_pickup(split)
    assert isinstance(bunch, Bunch)
    assert set(bunch) == {"data", "target", "target_names", "DESCR"}
    X, y = bunch.data, bunch.target
    assert isinstance(X, list) and len(X) == n
    for x in X:
        assert isinstance(x, np.ndarray)
        assert x.ndim == 1 and x.dtype == np.float64
        assert np.isfinite(x).all()  # no NaN inside a sequence
    lengths = [len(x) for x in X]
    assert (min(lengths), max(lengths)) == (min_len, max_len)
    assert lengths[:10] == head
    assert isinstance(y, np.ndarray) and y.shape == (n,) and y.dtype == np.int64
    np.testing.assert_array_equal(np.unique(y), np.arange(1, 11))
    assert (np.bincount(y)[1:] == n // 10).all()
    np.testing.assert_array_equal(bunch.target_names, np.arange(1, 11))
    # the file's order: grouped by class
    np.testing.assert_array_equal(y[: n // 2 if split == "all" else n],
                                  np.repeat(np.arange(1, 11), 5))


def test_load_gesture_pickup_values():
    X = datasets.load_gesture_pickup("train").data
    assert X[0][:4].tolist() == [1.0, 1.0, 1.0, 1.0]
    values = np.concatenate(X + datasets.load_gesture_pickup("test").data)
    assert len(values) == 14_571
    assert (values.min(), values.max()) == (-0.423, 2.615)


def test_load_gesture_pickup_all_is_train_then_test():
    train = datasets.load_gesture_pickup("train")
    test = datasets.load_gesture_pickup("test")
    every = datasets.load_gesture_pickup("all")
    assert len(every.data) == 100
    for got, want in zip(every.data, train.data + test.data, strict=True):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(every.target, np.concatenate([train.target, test.target]))


@pytest.mark.parametrize("split", ["train", "test", "all"])
def test_load_gesture_pickup_return_X_y(split):
    bunch = datasets.load_gesture_pickup(split)
    X, y = datasets.load_gesture_pickup(split, return_X_y=True)
    assert isinstance(X, list) and len(X) == len(bunch.data)
    for a, b in zip(X, bunch.data, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(y, bunch.target)


def test_load_gesture_pickup_results_are_independent():
    first = datasets.load_gesture_pickup()
    first.data[0][0] = -99.0
    first.target[0] = -1
    second = datasets.load_gesture_pickup()
    assert second.data[0][0] == 1.0
    assert second.target[0] == 1


def test_load_gesture_pickup_descr():
    descr = datasets.load_gesture_pickup().DESCR
    for needle in ["PickupGestureWiimoteZ", "29 to 361", "UCR", "Guna", "10.1109/JAS.2019.1911747",
                   "no licence text"]:
        assert needle in descr


@pytest.mark.parametrize("bad", ["TRAIN", "validation", "", None, 0, ["train"]])
def test_load_gesture_pickup_bad_split(bad):
    with pytest.raises(ValueError, match="split must be one of 'train', 'test', 'all'"):
        datasets.load_gesture_pickup(bad)


def test_load_gesture_pickup_keyword_only():
    with pytest.raises(TypeError):
        datasets.load_gesture_pickup("train", True)
    with pytest.raises(TypeError, match="return_X_y must be True or False"):
        datasets.load_gesture_pickup(return_X_y="yes")


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_load_gesture_pickup_feeds_the_estimators():
    from skdeeprnn import DeepRNNClassifier

    X, y = datasets.load_gesture_pickup(return_X_y=True)
    clf = DeepRNNClassifier(hidden_size=4, max_iter=1, random_state=0).fit(X[::5], y[::5])
    assert clf.predict(datasets.load_gesture_pickup("test").data[:3]).shape == (3,)


@pytest.mark.parametrize("split", ["train", "test"])
def test_load_gesture_pickup_equals_aeon(split):
    # aeon's bundled copy is the source of the files; read it with aeon's own .ts reader
    # (from its installed data folder, so nothing is downloaded).
    aeon_datasets = pytest.importorskip("aeon.datasets")
    path = os.path.join(
        os.path.dirname(aeon_datasets.__file__),
        "data",
        "PickupGestureWiimoteZ",
        f"PickupGestureWiimoteZ_{split.upper()}.ts",
    )
    if not os.path.exists(path):
        pytest.skip("this aeon version does not bundle PickupGestureWiimoteZ")
    X_aeon, y_aeon = aeon_datasets.load_from_ts_file(path)
    X, y = datasets.load_gesture_pickup(split, return_X_y=True)
    assert len(X) == len(X_aeon) == 50
    for ours, theirs in zip(X, X_aeon, strict=True):
        assert theirs.shape == (1, len(ours))  # aeon: (n_channels, n_timepoints)
        np.testing.assert_array_equal(ours, theirs[0])
    np.testing.assert_array_equal(y.astype(str), y_aeon)
