"""Lossless round trips of datasets, as properties (random but valid content).

* `SpectrumDatasetOnOff` written as OGIP (PHA + BKG + ARF + RMF, `SpectrumDatasetOnOff.write`)
  and read back (`SpectrumDatasetOnOff.read`): counts, counts_off, acceptance (BACKSCAL),
  acceptance_off, exposure, the response matrix and its energy edges, livetime, the fit and
  safe masks, the grouping and the name -- arrays bit for bit.
* `MapDataset` written and read (`MapDataset.write` / `read`): counts, background, exposure,
  energy dispersion, masks, their geometries and units, the name -- bit for bit.
* `Datasets` YAML with data files and models (`Datasets.write` / `Datasets.read`): each
  dataset as above, in order, with its type and name; models (values, priors, links) exact
  and the models covariance bit for bit.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
from _fuzzlib import RECORD
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from test_roundtrip import _parameter_state, random_models

from fluxfit.datasets import Datasets, MapDataset, SpectrumDatasetOnOff
from fluxfit.irf.response import EnergyDispersionMatrix
from fluxfit.maps import Map, MapAxis, WcsGeom

NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=12)
COUNTS = st.integers(0, 2**40).map(float)


def _edges(data, n, label, low=1e-3, high=1e3):
    start = data.draw(st.floats(low, high), label=f"{label} start")
    ratios = data.draw(st.lists(st.floats(1.001, 10.0), min_size=n, max_size=n), label=label)
    return start * np.cumprod(np.concatenate([[1.0], ratios]))


def _array(data, shape, label, elements):
    return data.draw(hnp.arrays(np.float64, shape, elements=elements), label=label)


def random_onoff(data) -> SpectrumDatasetOnOff:
    n_chan = data.draw(st.integers(1, 12), label="n channels")
    n_true = data.draw(st.integers(1, 15), label="n true")
    e_true = _edges(data, n_true, "e_true") * u.TeV
    e_reco = _edges(data, n_chan, "e_reco") * u.TeV
    matrix = _array(data, (n_true, n_chan), "matrix", st.floats(0, 1))
    sums = matrix.sum(axis=1, keepdims=True)
    matrix = np.where(sums > 1, matrix / np.where(sums > 0, sums, 1.0), matrix)
    edisp = EnergyDispersionMatrix(e_true, e_reco, matrix)
    livetime = data.draw(st.floats(1e-3, 1e8), label="livetime")
    grouping = None
    if data.draw(st.booleans(), label="grouping"):
        grouping = np.array(
            data.draw(st.lists(st.sampled_from([1, -1]), min_size=n_chan, max_size=n_chan))
        )
        grouping[0] = 1
    return SpectrumDatasetOnOff(
        counts=_array(data, n_chan, "counts", COUNTS),
        counts_off=_array(data, n_chan, "counts_off", COUNTS),
        acceptance=_array(data, n_chan, "acceptance", st.floats(1e-6, 1e6)),
        acceptance_off=_array(data, n_chan, "acceptance_off", st.floats(1e-6, 1e6)),
        exposure=_array(data, n_true, "exposure", st.floats(0, 1e16)) * u.Unit("cm2 s"),
        edisp=edisp,
        mask_safe=_array(data, n_chan, "mask_safe", st.booleans()).astype(bool),
        mask_fit=(
            _array(data, n_chan, "mask_fit", st.booleans()).astype(bool)
            if data.draw(st.booleans(), label="mask_fit")
            else None
        ),
        name=data.draw(NAMES, label="name"),
        livetime=livetime * u.s,
        meta={"grouping": grouping} if grouping is not None else None,
    )


def _bits(value):
    if value is None:
        return None
    if isinstance(value, u.Quantity):
        return (str(value.unit), *_bits(value.value))
    array = np.asarray(value)
    return (array.dtype.str, array.shape, array.tobytes())


def _onoff_state(dataset) -> dict:
    edisp = dataset.edisp
    state = {
        name: _bits(getattr(dataset, name))
        for name in (
            "counts",
            "counts_off",
            "acceptance",
            "acceptance_off",
            "exposure",
            "mask_safe",
            "mask_fit",
            "livetime",
        )
    }
    state["name"] = dataset.name
    state["type"] = type(dataset).__name__
    state["edisp"] = (
        _bits(edisp.energy_true_edges),
        _bits(edisp.energy_edges),
        _bits(np.asarray(edisp.to_dense())),
    )
    grouping = dataset.meta.get("grouping")
    state["grouping"] = None if grouping is None else np.asarray(grouping).tolist()
    return state


def _compare(before: dict, after: dict):
    assert after.keys() == before.keys()
    for key in before:
        assert after[key] == before[key], f"{key} differs after the round trip: " + _diff(
            before[key], after[key]
        )


def _diff(before, after) -> str:
    """The parts of two states that differ (header keywords, array bytes ...)."""
    if isinstance(before, dict) and isinstance(after, dict):
        keys = sorted(set(before) | set(after), key=str)
        return "; ".join(
            f"{k}: {before.get(k)!r} -> {after.get(k)!r}"
            for k in keys
            if before.get(k) != after.get(k)
        )
    if isinstance(before, tuple | list) and isinstance(after, tuple | list):
        if len(before) == len(after):
            return " | ".join(_diff(b, a) for b, a in zip(before, after) if b != a)
    return f"{str(before)[:200]} -> {str(after)[:200]}"


@given(data=st.data())
def test_spectrum_onoff_ogip_round_trip(data):
    dataset = random_onoff(data)
    with tempfile.TemporaryDirectory(prefix="fluxfit-roundtrip-") as folder:
        path = Path(folder) / f"pha_obs{dataset.name}.fits"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dataset.write(path)
            again = SpectrumDatasetOnOff.read(path)
    _compare(_onoff_state(dataset), _onoff_state(again))
    RECORD["round trip: SpectrumDatasetOnOff OGIP"]["identical"] += 1


# ------------------------------------------------------------------------------------ maps
def random_map_dataset(data, name=None) -> MapDataset:
    n_e = data.draw(st.integers(1, 4), label="n energy")
    energy = MapAxis.from_energy_edges(_edges(data, n_e, "map energy") * u.TeV)
    npix = (data.draw(st.integers(1, 6), label="nx"), data.draw(st.integers(1, 6), label="ny"))
    geom = WcsGeom.create(
        skydir=(data.draw(st.floats(0, 359)), data.draw(st.floats(-89, 89))),
        npix=npix,
        binsz=data.draw(st.floats(0.01, 1.0), label="binsz"),
        frame=data.draw(st.sampled_from(["icrs", "galactic"]), label="frame"),
        axes=[energy],
    )
    n_true = data.draw(st.integers(1, 5), label="n true")
    energy_true = MapAxis.from_energy_edges(
        _edges(data, n_true, "map true") * u.TeV, name="energy_true"
    )
    dataset = MapDataset.create(geom, energy_axis_true=energy_true, name=name or data.draw(NAMES))
    shape = dataset.counts.data.shape
    dataset.counts.data[...] = _array(data, shape, "map counts", COUNTS)
    dataset.background.data[...] = _array(data, shape, "map background", st.floats(0, 1e10))
    exposure = dataset.exposure
    exposure.data[...] = _array(data, exposure.data.shape, "map exposure", st.floats(0, 1e16))
    dataset.mask_safe = Map.from_geom(
        geom, data=_array(data, shape, "map safe", st.booleans()).astype(bool)
    )
    if data.draw(st.booleans(), label="map mask_fit"):
        dataset.mask_fit = Map.from_geom(
            geom, data=_array(data, shape, "map fit", st.booleans()).astype(bool)
        )
    return dataset


POLES = ("LONPOLE", "LATPOLE")


def _map_bits(m):
    if m is None:
        return None
    header = m.geom.to_header()
    return (
        str(m.unit),
        # LONPOLE/LATPOLE are derived by wcslib from CRVAL (written with 12-14 digits) and
        # come back recomputed in their last digits: not compared
        {key: header[key] for key in header if key not in ("COMMENT", "HISTORY", "", *POLES)},
        [_bits(ax.edges) for ax in m.geom.axes],
        _bits(np.asarray(m.data)),
    )


def _map_state(dataset) -> dict:
    state = {
        name: _map_bits(getattr(dataset, name))
        for name in ("counts", "background", "exposure", "mask_safe", "mask_fit")
    }
    state["name"] = dataset.name
    state["type"] = type(dataset).__name__
    edisp = dataset.edisp
    state["edisp"] = (
        None if edisp is None else _bits(np.asarray(getattr(edisp, "edisp_map", edisp).data))
    )
    return state


@given(data=st.data())
def test_map_dataset_round_trip(data):
    dataset = random_map_dataset(data)
    with tempfile.TemporaryDirectory(prefix="fluxfit-roundtrip-") as folder:
        path = Path(folder) / "dataset.fits"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dataset.write(path)
            again = MapDataset.read(path, name=dataset.name)
    _compare(_map_state(dataset), _map_state(again))
    RECORD["round trip: MapDataset FITS"]["identical"] += 1


# ------------------------------------------------------------------------------------ Datasets
@given(data=st.data())
def test_datasets_yaml_round_trip(data):
    n = data.draw(st.integers(1, 3), label="n datasets")
    names = data.draw(st.lists(NAMES, min_size=n, max_size=n, unique=True), label="names")
    if "d1" not in names and data.draw(st.booleans(), label="one named d1"):
        names[0] = "d1"  # the dataset the random background model and sources refer to
    members = []
    for name in names:
        if data.draw(st.booleans(), label="map dataset"):
            members.append(random_map_dataset(data, name=name))
        else:
            dataset = random_onoff(data)
            dataset._name = name
            members.append(dataset)
    datasets = Datasets(members)
    models = random_models(data) if data.draw(st.booleans(), label="models") else None
    if models is not None:
        datasets.models = models
    with tempfile.TemporaryDirectory(prefix="fluxfit-roundtrip-") as folder:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            written = datasets.write(folder, prefix="rt")
            again = Datasets.read(written["datasets"], written["models"])
    assert again.names == datasets.names
    for before, after in zip(datasets, again):
        state = _map_state if isinstance(before, MapDataset) else _onoff_state
        _compare(state(before), state(after))
    if written["models"] is not None:
        assert _parameter_state(again.models) == _parameter_state(datasets.models)
        assert _bits(again.models.covariance) == _bits(datasets.models.covariance)
    RECORD["round trip: Datasets YAML + files"]["identical"] += 1


def _fixed_onoff(livetime=1.2345678901234567e-05, name="run 23523") -> SpectrumDatasetOnOff:
    e_true = np.geomspace(0.1, 100, 6) * u.TeV
    e_reco = np.geomspace(0.3, 30, 4) * u.TeV
    matrix = np.full((5, 3), 0.3)
    rng = np.random.default_rng(7)
    return SpectrumDatasetOnOff(
        counts=np.array([3.0, 0.0, 7.0]),
        counts_off=np.array([10.0, 2.0, 0.0]),
        acceptance=np.array([1.0, 0.9, 0.8]),
        acceptance_off=np.array([5.0, 5.5, 6.0]),
        exposure=rng.uniform(1e8, 1e10, 5) * u.Unit("cm2 s"),
        edisp=EnergyDispersionMatrix(e_true, e_reco, matrix),
        mask_safe=np.array([False, True, True]),
        mask_fit=np.array([True, True, False]),
        name=name,
        livetime=livetime * u.s,
        meta={"grouping": np.array([1, -1, 1])},
    )


def test_ogip_round_trip_known_losses(tmp_path):
    """What the OGIP writer used to lose: the name (file stem read back), the grouping, the
    exposure (SPECRESP x EXPOSURE rounds ~10 % of the bins) and float keywords (astropy
    writes 20 characters: EXPOSURE = 1.2345678901234567E-05 came back rounded)."""
    dataset = _fixed_onoff()
    dataset.write(tmp_path / "pha_obs1.fits")
    again = SpectrumDatasetOnOff.read(tmp_path / "pha_obs1.fits")
    _compare(_onoff_state(dataset), _onoff_state(again))


def test_gadf_round_trip_known_losses(tmp_path):
    """The Gammapy-layout file kept the livetime only through a GTI and had no grouping."""
    datasets = Datasets([_fixed_onoff(), _fixed_onoff(1234.5678901234567, "other")])
    written = datasets.write(tmp_path, prefix="x")
    again = Datasets.read(written["datasets"])
    for before, after in zip(datasets, again):
        _compare(_onoff_state(before), _onoff_state(after))
