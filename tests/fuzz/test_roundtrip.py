"""Lossless round trips, as properties: what fluxfit writes, it reads back identical.

* Models YAML (`Models.write` / `Models.read`): parameter values, units, bounds, frozen
  flags and errors exactly; priors of every type (class and hyper-parameters); shared
  parameters (identity links) and scale/offset links (master, scale, offset); the
  covariance matrix bit for bit.
* Flux points (`FluxPoints.write` / `FluxPoints.read`, FITS and ECSV; SED types dnde,
  e2dnde, flux, eflux and likelihood): every array of the table bit for bit (FITS: NaN sign
  and payload bits included; ECSV, a text format, writes every NaN as ``nan``), the energy
  edges and the metadata read back.
"""

from __future__ import annotations

import math
import tempfile
import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
from _fuzzlib import RECORD
from astropy.table import Table
from hypothesis import given
from hypothesis import strategies as st

from fluxfit.datasets.flux_points import FluxPoints
from fluxfit.maps import MapAxis
from fluxfit.models import (
    BlackbodySpectralModel,
    ExpCutoffPowerLawSpectralModel,
    FoVBackgroundModel,
    GaussianPrior,
    GaussianSpatialModel,
    LogNormalPrior,
    LogParabolaSpectralModel,
    LogUniformPrior,
    Models,
    PointSpatialModel,
    PowerLawSpectralModel,
    SkyModel,
    TruncatedGaussianPrior,
    UniformPrior,
)

FINITE = st.floats(allow_nan=False, allow_infinity=False, width=64)
POSITIVE = st.floats(min_value=1e-300, max_value=1e300, allow_nan=False, allow_infinity=False)


# ------------------------------------------------------------------------------------ models
def _prior(data):
    kind = data.draw(
        st.sampled_from([None, "uniform", "loguniform", "gaussian", "lognormal", "truncated"]),
        label="prior",
    )
    if kind is None:
        return None
    a = data.draw(st.floats(-1e6, 1e6, allow_nan=False), label="prior a")
    width = data.draw(st.floats(1e-6, 1e6, allow_nan=False), label="prior width")
    if kind == "uniform":
        return UniformPrior(min=a, max=a + width)
    if kind == "loguniform":
        low = data.draw(st.floats(1e-30, 1e10, allow_nan=False), label="log low")
        return LogUniformPrior(min=low, max=low * (1 + width))
    if kind == "gaussian":
        return GaussianPrior(mu=a, sigma=width)
    if kind == "lognormal":
        return LogNormalPrior(mu=data.draw(st.floats(-50, 50)), sigma=width)
    return TruncatedGaussianPrior(mu=a, sigma=width, lower=a - width, upper=a + 2 * width)


SPECTRAL = (
    PowerLawSpectralModel,
    ExpCutoffPowerLawSpectralModel,
    LogParabolaSpectralModel,
    BlackbodySpectralModel,
)


def _randomise(data, model, label: str):
    for par in model.parameters:
        low = par.min if math.isfinite(par.min) else -1e30
        high = par.max if math.isfinite(par.max) else 1e30
        par.value = data.draw(st.floats(low, high, allow_nan=False), label=f"{label}.{par.name}")
        par.frozen = data.draw(st.booleans(), label="frozen")
        par.error = data.draw(st.floats(0, 1e30, allow_nan=False), label="error")
        par.prior = _prior(data)


def random_models(data) -> Models:
    components = []
    n_sources = data.draw(st.integers(1, 3), label="n sources")
    for index in range(n_sources):
        classes = data.draw(st.lists(st.sampled_from(SPECTRAL), min_size=1, max_size=2))
        parts = [cls() for cls in classes]
        for part in parts:
            _randomise(data, part, f"src{index}")
        spectral = parts[0] if len(parts) == 1 else parts[0] + parts[1]
        spatial_kind = data.draw(st.sampled_from([None, "point", "gauss"]), label="spatial")
        spatial = None
        if spatial_kind == "point":
            spatial = PointSpatialModel(
                lon_0=data.draw(st.floats(0, 360)) * u.deg,
                lat_0=data.draw(st.floats(-90, 90)) * u.deg,
                frame="icrs",
            )
        elif spatial_kind == "gauss":
            spatial = GaussianSpatialModel(
                lon_0=data.draw(st.floats(-180, 180)) * u.deg,
                lat_0=data.draw(st.floats(-90, 90)) * u.deg,
                sigma=data.draw(st.floats(1e-6, 10)) * u.deg,
                frame="galactic",
            )
        components.append(
            SkyModel(
                spectral,
                spatial,
                name=f"src{index}",
                datasets_names=data.draw(st.sampled_from([None, ["d1"], ["d1", "d2"]])),
            )
        )
    if data.draw(st.booleans(), label="background"):
        bkg = FoVBackgroundModel(dataset_name="d1")
        _randomise(data, bkg.spectral_model, "bkg")
        components.append(bkg)
    models = Models(components)
    # scale/offset links between spectral parameters of one unit (no chains, no cycles)
    free = [par for par in models.parameters if par.link_info is None]
    for _ in range(data.draw(st.integers(0, 2), label="n links")):
        slave = data.draw(st.sampled_from(free), label="slave")
        masters = [
            par
            for par in models.parameters
            if par is not slave and par.unit == slave.unit and par.link_info is None
        ]
        if not masters or any(
            p.link_info and p.link_info.master is slave for p in models.parameters
        ):
            continue
        master = data.draw(st.sampled_from(masters), label="master")
        slave.link(
            master,
            scale=data.draw(st.floats(-1e3, 1e3, allow_nan=False)),
            offset=data.draw(st.floats(-1e3, 1e3, allow_nan=False)),
        )
        free = [par for par in free if par is not slave and par is not master]
        if not free:
            break
    n = len(models.parameters)
    factors = data.draw(
        st.lists(st.floats(-1e10, 1e10, allow_nan=False), min_size=n * n, max_size=n * n),
        label="covariance",
    )
    a = np.asarray(factors).reshape(n, n)
    models.covariance = a @ a.T
    return models


def _parameter_state(models: Models) -> list:
    state = []
    for par in models.parameters:
        link = par.link_info
        state.append(
            (
                par.name,
                float(par.value).hex(),
                par.unit.to_string(),
                float(par.min).hex(),
                float(par.max).hex(),
                par.frozen,
                float(par.error).hex(),
                None if par.prior is None else (type(par.prior).__name__, par.prior.to_dict()),
                None
                if link is None
                else (
                    models.parameters.index(link.master),
                    float(link.scale).hex(),
                    float(link.offset).hex(),
                ),
            )
        )
    return state


@given(data=st.data())
def test_models_yaml_round_trip(data):
    models = random_models(data)
    with tempfile.TemporaryDirectory(prefix="fluxfit-roundtrip-") as folder:
        path = Path(folder) / "models.yaml"
        models.write(path)
        again = Models.read(path)
    assert again.names == models.names
    assert _parameter_state(again) == _parameter_state(models)
    # identity links: the same Parameter object where it was shared
    ids = [id(p) for p in models.parameters]
    ids_again = [id(p) for p in again.parameters]
    assert [ids.index(i) for i in ids] == [ids_again.index(i) for i in ids_again]
    assert np.array_equal(again.covariance, models.covariance)
    assert again.covariance.tobytes() == models.covariance.tobytes()
    RECORD["round trip: models YAML"]["identical"] += 1


def test_models_yaml_round_trip_shared_parameter():
    """Identity links (one Parameter object in two models) survive the round trip."""
    bb1 = BlackbodySpectralModel()
    bb2 = BlackbodySpectralModel(kT=bb1.kT)
    models = Models([SkyModel(bb1, name="a"), SkyModel(bb2, name="b")])
    with tempfile.TemporaryDirectory(prefix="fluxfit-roundtrip-") as folder:
        models.write(Path(folder) / "m.yaml")
        again = Models.read(Path(folder) / "m.yaml")
    assert again["a"].spectral_model.kT is again["b"].spectral_model.kT


# ------------------------------------------------------------------------------------ flux points
DNDE = u.Unit("cm-2 s-1 TeV-1")
SED_COLUMNS = {
    "dnde": ("dnde", "dnde_err", "dnde_errp", "dnde_errn", "dnde_ul"),
    "e2dnde": ("e2dnde", "e2dnde_err", "e2dnde_ul"),
    "flux": ("flux", "flux_err", "flux_ul"),
    "eflux": ("eflux", "eflux_err", "eflux_ul"),
    "likelihood": ("norm", "norm_err", "norm_errp", "norm_errn", "norm_ul"),
}
UNITS = {
    "dnde": DNDE,
    "e2dnde": u.Unit("erg cm-2 s-1"),
    "flux": u.Unit("cm-2 s-1"),
    "eflux": u.Unit("erg cm-2 s-1"),
}
VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=False, width=64),
    st.floats(min_value=1e-20, max_value=1e-5),
)


def random_flux_points(data) -> FluxPoints:
    n = data.draw(st.integers(1, 6), label="n bins")
    start = data.draw(st.floats(1e-3, 1e3), label="e start")
    ratios = data.draw(
        st.lists(st.floats(1.001, 100.0), min_size=n, max_size=n), label="bin ratios"
    )
    edges = start * np.cumprod(np.concatenate([[1.0], ratios]))
    axis = MapAxis.from_energy_edges(edges * u.TeV)
    sed_type = data.draw(st.sampled_from(sorted(SED_COLUMNS)), label="sed type")
    names = [
        c
        for c in SED_COLUMNS[sed_type]
        if c == SED_COLUMNS[sed_type][0] or data.draw(st.booleans(), label=c)
    ]
    values = {}
    for name in names:
        array = np.array(data.draw(st.lists(VALUES, min_size=n, max_size=n), label=name))
        values[name] = array if sed_type == "likelihood" else array * UNITS[sed_type]
    if data.draw(st.booleans(), label="ts"):
        values["ts"] = np.array(data.draw(st.lists(st.floats(0, 1e6), min_size=n, max_size=n)))
    if any(name.endswith("_ul") for name in names):
        values["is_ul"] = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    if sed_type == "likelihood" and data.draw(st.booleans(), label="scan"):
        n_scan = data.draw(st.integers(2, 5))
        values["norm_scan"] = np.sort(
            np.array(
                data.draw(
                    st.lists(st.floats(0.01, 10), min_size=n_scan, max_size=n_scan, unique=True)
                )
            )
        )
        values["stat_scan"] = np.array(
            data.draw(st.lists(st.floats(0, 100), min_size=n * n_scan, max_size=n * n_scan))
        ).reshape(n, n_scan)
    reference = PowerLawSpectralModel(index=data.draw(st.floats(1.0, 4.0), label="index"))
    meta = {}
    if data.draw(st.booleans(), label="n_sigma_ul"):
        meta["n_sigma_ul"] = data.draw(st.sampled_from([1.0, 2.0, 3.0]))
    return FluxPoints(values, axis, reference_model=reference, sed_type=sed_type, meta=meta)


def _table_bytes(table: Table, canonical_nan: bool = False) -> dict:
    """Column -> (dtype, shape, bytes, unit). ``canonical_nan``: every NaN as the one NaN
    (text formats write 'nan' whatever the sign and payload bits of the NaN were)."""
    out = {}
    for name in table.colnames:
        array = np.array(np.asarray(table[name]), copy=True, order="C")
        if canonical_nan and array.dtype.kind == "f":
            array[np.isnan(array)] = np.nan
        out[name] = (array.dtype.str, array.shape, array.tobytes(), str(table[name].unit))
    return out


@given(data=st.data(), suffix=st.sampled_from([".fits", ".ecsv"]))
def test_flux_points_round_trip(data, suffix):
    fp = random_flux_points(data)
    table = fp.to_table()
    with tempfile.TemporaryDirectory(prefix="fluxfit-roundtrip-") as folder:
        path = Path(folder) / f"points{suffix}"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fp.write(path)
            again = FluxPoints.read(path)
    assert again.sed_type_init == fp.sed_type_init
    assert np.array_equal(again.energy_axis.edges.value, fp.energy_axis.edges.value)
    assert again.energy_axis.edges.unit == fp.energy_axis.edges.unit
    assert again.n_sigma_ul == fp.n_sigma_ul
    text = suffix == ".ecsv"
    written = _table_bytes(table, canonical_nan=text)
    read = _table_bytes(again.to_table(), canonical_nan=text)
    assert read.keys() == written.keys()
    for name in written:
        assert read[name] == written[name], f"column {name} differs after the round trip"
    RECORD[f"round trip: flux points {suffix[1:].upper()}"]["identical"] += 1


def test_flux_points_nan_bits(tmp_path):
    """FITS keeps the sign bit of a NaN; ECSV (text) writes it as 'nan' (found by the property)."""
    values = np.array([-np.nan, np.nan, 1e-12]) * DNDE
    fp = FluxPoints({"dnde": values}, MapAxis.from_energy_edges([1, 2, 4, 8] * u.TeV))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fp.write(tmp_path / "p.fits")
        fp.write(tmp_path / "p.ecsv")
        fits_back = FluxPoints.read(tmp_path / "p.fits").to_table()["dnde"]
        ecsv_back = FluxPoints.read(tmp_path / "p.ecsv").to_table()["dnde"]
    assert np.asarray(fits_back).tobytes() == np.asarray(fp.to_table()["dnde"]).tobytes()
    assert np.isnan(ecsv_back[:2]).all() and ecsv_back[2] == 1e-12


# ------------------------------------------------------------------------------ light curves
def random_light_curve(data) -> FluxPoints:
    from astropy.time import Time

    from fluxfit.maps import TimeMapAxis

    n_e = data.draw(st.integers(1, 3), label="lc n energy")
    n_t = data.draw(st.integers(1, 5), label="lc n time")
    energy = MapAxis.from_energy_edges(
        np.cumprod(
            np.concatenate(
                [[0.1], data.draw(st.lists(st.floats(1.01, 10), min_size=n_e, max_size=n_e))]
            )
        )
        * u.TeV
    )
    start = data.draw(st.floats(40000.0, 70000.0), label="mjd start")
    widths = np.array(data.draw(st.lists(st.floats(1e-4, 10.0), min_size=n_t, max_size=n_t)))
    gaps = np.array(data.draw(st.lists(st.floats(0.0, 5.0), min_size=n_t, max_size=n_t)))
    t_min, t_max = np.empty(n_t), np.empty(n_t)
    for i in range(n_t):  # sequentially: no overlap from rounding
        t_min[i] = (start if i == 0 else t_max[i - 1]) + gaps[i]
        t_max[i] = t_min[i] + widths[i]
    time = TimeMapAxis.from_time_edges(
        Time(t_min, format="mjd", scale="utc"), Time(t_max, format="mjd", scale="utc")
    )
    shape = (n_t, n_e)
    values = {
        name: np.array(data.draw(st.lists(VALUES, min_size=n_t * n_e, max_size=n_t * n_e))).reshape(
            shape
        )
        for name in ("norm", "norm_err")
    }
    if data.draw(st.booleans(), label="lc ts"):
        values["ts"] = np.array(
            data.draw(st.lists(st.floats(0, 1e6), min_size=n_t * n_e, max_size=n_t * n_e))
        ).reshape(shape)
    return FluxPoints(
        values, [energy, time], reference_model=PowerLawSpectralModel(), sed_type="likelihood"
    )


@given(data=st.data())
def test_light_curve_round_trip(data):
    """Light curves (energy x time flux points): every column and the time edges, FITS."""
    fp = random_light_curve(data)
    table = fp.to_table()
    with tempfile.TemporaryDirectory(prefix="fluxfit-roundtrip-") as folder:
        path = Path(folder) / "lc.fits"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fp.write(path)
            again = FluxPoints.read(path)
    written = _table_bytes(table)
    read = _table_bytes(again.to_table())
    assert read.keys() == written.keys()
    for name in written:
        assert read[name] == written[name], f"column {name} differs after the round trip"
    RECORD["round trip: light curve FITS"]["identical"] += 1
