"""FluxPoints: reading Gammapy/HAWC files, lossless round trips, SED conversions, errors."""

from __future__ import annotations

import json

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table
from astropy.time import Time
from scipy import stats

from fluxfit.datasets.flux_points import (
    DEFAULT_UNIT,
    FluxPoints,
    QuantityNotAvailableError,
    all_quantities,
)
from fluxfit.errors import (
    DatasetError,
    FluxfitError,
    FormatError,
    MissingFileError,
    OverwriteError,
    UnitError,
)
from fluxfit.maps import MapAxis, TimeMapAxis
from fluxfit.models import PowerLawSpectralModel

TEV_TO_ERG = u.TeV.to(u.erg)


def allclose(a, b, rtol=1e-14, equal_nan=False):
    """``np.allclose`` without an absolute tolerance (fluxes are ~1e-12)."""
    return np.allclose(a, b, rtol=rtol, atol=0, equal_nan=equal_nan)


DNDE = u.Unit("cm-2 s-1 TeV-1")


@pytest.fixture
def hawc_file(data_dir):
    path = data_dir / "gammapy-data/hawc/crab_flux/HAWC19_flux_points.fits"
    if not path.exists():
        pytest.skip(f"{path} not found")
    return path


@pytest.fixture
def gammapy_hawc_file(reference_dir):
    path = reference_dir / "gammapy/wf2_roundtrip/HAWC.fits"
    if not path.exists():
        pytest.skip(f"{path} not found")
    return path


PROFILE_FILES = [
    "wf1_profile_a_tutorial21_49bins.fits",
    "wf1_profile_a_brief_51bins_nomasksafe.fits",
]


def _table_arrays_equal(t1: Table, t2: Table, names=None):
    names = t1.colnames if names is None else names
    for name in names:
        a, b = np.asarray(t1[name]), np.asarray(t2[name])
        assert a.shape == b.shape, name
        assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), name


def _lightcurve():
    energy = MapAxis.from_energy_edges([1, 10, 100] * u.TeV)
    t0 = Time([55000.0, 55001.0, 55003.5], format="mjd", scale="utc")
    t1 = Time([55000.5, 55002.0, 55004.0], format="mjd", scale="utc")
    time = TimeMapAxis.from_time_edges(t0, t1)
    rng = np.random.default_rng(1)
    norm = rng.uniform(0.5, 1.5, (3, 2))
    data = {
        "norm": norm,
        "norm_err": 0.1 * norm,
        "norm_errn": 0.09 * norm,
        "norm_errp": 0.11 * norm,
        "norm_ul": 2 * norm,
        "ts": rng.uniform(0, 30, (3, 2)),
        "stat": np.zeros((3, 2)),
        "stat_scan": rng.uniform(0, 10, (3, 2, 5)),
        "norm_scan": np.linspace(0.2, 5, 5),
        "counts": rng.poisson(10, (3, 2, 1)).astype(float),
        "success": np.ones((3, 2), bool),
    }
    model = PowerLawSpectralModel(index=2.3, amplitude="2e-12 cm-2 s-1 TeV-1")
    return FluxPoints(data, [energy, time], reference_model=model, sed_type="likelihood")


# ------------------------------------------------------------------------------- reading
def test_read_hawc(hawc_file):
    fp = FluxPoints.read(hawc_file)
    assert fp.sed_type_init == "dnde"
    assert fp.axes.names == ["energy"]
    assert len(fp) == 10
    assert fp.available_quantities == ["norm", "norm_err", "norm_ul", "ts", "is_ul"]
    table = Table.read(hawc_file, mask_invalid=False)
    # the stored dnde values come back exactly; the upper-limit bin keeps dnde = NaN
    assert np.array_equal(fp.dnde.to_value(DNDE), np.asarray(table["dnde"]), equal_nan=True)
    assert np.isnan(fp.dnde[-1])
    assert fp.is_ul.tolist() == [False] * 9 + [True]
    assert fp.dnde_ul[-1].to_value(DNDE) == pytest.approx(4.41625724166506e-18, rel=1e-15)
    # e_ref: geometric mean of the edges (as Gammapy), = the file's e_ref to rounding
    assert allclose(fp.energy_ref.to_value("TeV"), table["e_ref"], rtol=1e-14)
    assert allclose(
        fp.energy_ref.to_value("TeV"), np.sqrt(table["e_min"] * table["e_max"]), rtol=1e-15
    )
    assert fp.energy_min.to_value("TeV").tolist() == list(table["e_min"])
    # sqrt_ts is derived from ts with the sign of norm (NaN norm -> negative, as Gammapy)
    assert fp.sqrt_ts[0] == pytest.approx(np.sqrt(2734.0))
    assert fp.sqrt_ts[-1] == pytest.approx(-np.sqrt(0.14))


def test_hawc_energy_ref_matches_gammapy(hawc_file, reference_dir):
    reference = json.loads((reference_dir / "gammapy/wf2_joint_crab.json").read_text())
    expected = reference["dataset_info"]["HAWC"]["e_ref_TeV"]
    fp = FluxPoints.read(hawc_file)
    assert allclose(fp.energy_ref.to_value("TeV"), expected, rtol=1e-15)


def test_hawc_table_matches_gammapy_written_file(hawc_file, gammapy_hawc_file):
    """Our table of the HAWC points has the columns, units and values Gammapy 2.1 writes."""
    ours = FluxPoints.read(hawc_file).to_table()
    theirs = Table.read(gammapy_hawc_file, mask_invalid=False)
    names = [n for n in theirs.colnames if n not in ("mask_fit", "mask_safe")]
    assert ours.colnames == names
    assert ours.meta["SED_TYPE"] == theirs.meta["SED_TYPE"] == "dnde"
    for name in names:
        a, b = np.asarray(ours[name]), np.asarray(theirs[name])
        if a.dtype == bool:
            assert np.array_equal(a, b)
        else:
            # Gammapy recomputes dnde = norm * ref and the edges through its axis: 1e-15 noise
            assert allclose(a, b, rtol=1e-14, equal_nan=True), name
        unit_a = ours[name].unit or u.dimensionless_unscaled
        unit_b = theirs[name].unit or u.dimensionless_unscaled
        assert u.Unit(unit_a) == u.Unit(unit_b), name


def test_read_gammapy_written_hawc(gammapy_hawc_file):
    fp = FluxPoints.read(gammapy_hawc_file)
    table = Table.read(gammapy_hawc_file, mask_invalid=False)
    assert fp.available_quantities == ["norm", "norm_err", "norm_ul", "ts", "sqrt_ts", "is_ul"]
    assert np.array_equal(fp.dnde.to_value(DNDE), table["dnde"], equal_nan=True)
    assert np.array_equal(fp.sqrt_ts, table["sqrt_ts"])
    # our own re-write of the Gammapy file is identical to it (but for the dataset masks)
    _table_arrays_equal(fp.to_table(), table, names=fp.to_table().colnames)


@pytest.mark.parametrize("name", PROFILE_FILES)
def test_read_gammapy_profile(reference_dir, name, tmp_path):
    path = reference_dir / "gammapy" / name
    if not path.exists():
        pytest.skip(f"{path} not found")
    fp = FluxPoints.read(path)
    original = Table.read(path, mask_invalid=False)
    n = len(original)
    assert fp.axes.names == ["energy", "projected-distance"]
    assert fp.data_shape == (n, 1)
    assert fp.sed_type_init == "dnde"
    assert fp.axes["projected-distance"].unit == u.deg
    assert fp.get_quantity("npred").shape == (n, 1, 1)
    # the profile format is written back column for column, bit for bit
    table = fp.to_table()
    assert table.colnames == original.colnames
    _table_arrays_equal(table, original)
    for column in ("x_min", "e_ref", "dnde", "dnde_ul"):
        assert u.Unit(table[column].unit) == u.Unit(original[column].unit)
    out = tmp_path / "profile.fits"
    fp.write(out)
    with fits.open(out) as hdulist:
        assert hdulist[1].name == "FLUXPOINTS"
        assert hdulist[1].header["SED_TYPE"] == "dnde"
    _table_arrays_equal(FluxPoints.read(out).to_table(), original)


# ---------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("suffix", [".fits", ".ecsv", ".fits.gz"])
@pytest.mark.parametrize("sed_type", ["dnde", "e2dnde", "flux", "eflux", "likelihood"])
def test_roundtrip_hawc(hawc_file, tmp_path, suffix, sed_type):
    fp = FluxPoints.read(hawc_file)
    path = tmp_path / f"hawc{suffix}"
    fp.write(path, sed_type=sed_type)
    back = FluxPoints.read(path)
    assert back.sed_type_init == sed_type
    first = back.to_table()
    assert first.meta["SED_TYPE"] == sed_type
    # written again, the table is identical: lossless round trip
    path2 = tmp_path / f"hawc2{suffix}"
    back.write(path2)
    second = FluxPoints.read(path2).to_table()
    assert second.colnames == first.colnames
    _table_arrays_equal(first, second)
    # and every SED type agrees with the original to rounding
    for sed in ("dnde", "e2dnde", "flux", "eflux"):
        assert allclose(
            getattr(back, sed).value, getattr(fp, sed).value, rtol=1e-13, equal_nan=True
        )


def test_roundtrip_dnde_bit_exact(hawc_file, tmp_path):
    fp = FluxPoints.read(hawc_file)
    for suffix in (".fits", ".ecsv"):
        path = tmp_path / f"hawc{suffix}"
        fp.write(path)
        back = FluxPoints.read(path)
        for name in ("dnde", "dnde_err", "dnde_ul"):
            assert np.array_equal(
                getattr(back, name).value, getattr(fp, name).value, equal_nan=True
            )
        assert np.array_equal(back.energy_axis.edges.value, fp.energy_axis.edges.value)
        assert np.array_equal(back.is_ul, fp.is_ul)


@pytest.mark.parametrize("suffix", [".fits", ".ecsv"])
def test_roundtrip_lightcurve(tmp_path, suffix):
    lc = _lightcurve()
    table = lc.to_table()
    assert table.colnames[:2] == ["time_min", "time_max"]
    assert table["time_min"].tolist() == [55000.0, 55001.0, 55003.5]
    assert table["norm"].shape == (3, 2)
    assert table["stat_scan"].shape == (3, 2, 5)
    assert table["counts"].shape == (3, 2, 1)
    assert table.meta["TIMESYS"] == "utc" and table.meta["TIMEUNIT"] == "d"
    assert table.meta["MJDREFI"] == 0
    path = tmp_path / f"lc{suffix}"
    lc.write(path)
    back = FluxPoints.read(path)
    assert back.axes.names == ["energy", "time"]
    assert np.array_equal(back.axes["time"].time_min.mjd, [55000.0, 55001.0, 55003.5])
    _table_arrays_equal(back.to_table(), table)
    assert back.to_table().colnames == table.colnames
    for sed in ("dnde", "flux", "eflux", "e2dnde"):
        assert allclose(getattr(back, sed).value, getattr(lc, sed).value, rtol=1e-14)
    # one time bin as an SED
    one = back.slice_by_idx({"time": 1})
    assert one.axes.names == ["energy"]
    assert np.array_equal(one.norm, lc.norm[1])
    assert one.to_table().colnames[0] == "e_ref"


def test_lightcurve_gadf_sed_refused():
    lc = _lightcurve()
    with pytest.raises(DatasetError, match="gadf-sed"):
        lc.to_table(format="gadf-sed")


def test_likelihood_roundtrip_keeps_reference_fluxes(tmp_path):
    axis = MapAxis.from_energy_edges([1, 3, 10, 30] * u.TeV)
    model = PowerLawSpectralModel(index=2.7, amplitude="3e-12 cm-2 s-1 TeV-1")
    fp = FluxPoints(
        {"norm": [1.1, 0.9, 0.5], "norm_err": [0.1, 0.1, 0.2]}, axis, reference_model=model
    )
    path = tmp_path / "fp.fits"
    fp.write(path, sed_type="likelihood")
    back = FluxPoints.read(path)
    # the flux uses the tabulated ref_flux (the power law's integral), exactly
    assert np.array_equal(back.flux.value, fp.flux.value)
    assert type(back.reference_model).__name__ == "TemplateSpectralModel"
    _table_arrays_equal(back.to_table(), fp.to_table(sed_type="likelihood"))


# ---------------------------------------------------------------------------- conversions
def test_sed_type_conversions_powerlaw():
    index, amplitude = 2.5, 2e-12
    model = PowerLawSpectralModel(index=index, amplitude=f"{amplitude} cm-2 s-1 TeV-1")
    edges = np.array([0.5, 2.0, 8.0, 40.0])
    axis = MapAxis.from_energy_edges(edges * u.TeV)
    norm = np.array([1.2, 0.8, 0.3])
    err = np.array([0.1, 0.05, 0.1])
    fp = FluxPoints({"norm": norm, "norm_err": err}, axis, reference_model=model)
    emin, emax = edges[:-1], edges[1:]
    e_ref = np.sqrt(emin * emax)
    dnde = norm * amplitude * e_ref**-index
    flux = norm * amplitude / (1 - index) * (emax ** (1 - index) - emin ** (1 - index))
    eflux = norm * amplitude / (2 - index) * (emax ** (2 - index) - emin ** (2 - index))
    assert allclose(fp.energy_ref.to_value("TeV"), e_ref, rtol=1e-15)
    assert allclose(fp.dnde.to_value(DNDE), dnde, rtol=1e-14)
    assert allclose(fp.dnde_err.to_value(DNDE), dnde / norm * err, rtol=1e-14)
    assert allclose(fp.e2dnde.to_value("erg cm-2 s-1"), dnde * e_ref**2 * TEV_TO_ERG, rtol=1e-14)
    assert allclose(fp.flux.to_value("cm-2 s-1"), flux, rtol=1e-13)
    assert allclose(fp.eflux.to_value("erg cm-2 s-1"), eflux * TEV_TO_ERG, rtol=1e-13)
    assert fp.e2dnde.unit == DEFAULT_UNIT["e2dnde"]
    # starting from the fluxes gives the same norms back
    from_flux = FluxPoints(
        {"flux": flux * u.Unit("cm-2 s-1"), "flux_err": flux / norm * err * u.Unit("cm-2 s-1")},
        axis,
        reference_model=model,
    )
    assert from_flux.sed_type_init == "flux"
    assert allclose(from_flux.norm, norm, rtol=1e-13)
    assert allclose(from_flux.dnde.to_value(DNDE), dnde, rtol=1e-13)
    # Quantities in other units are converted
    in_gev = FluxPoints(
        {"dnde": dnde * 1e-3 * u.Unit("cm-2 s-1 GeV-1")}, axis, reference_model=model
    )
    assert allclose(in_gev.dnde.to_value(DNDE), dnde, rtol=1e-14)


def test_default_reference_model_is_powerlaw_index2():
    axis = MapAxis.from_energy_edges([1, 4, 16] * u.TeV)
    dnde = np.array([3e-12, 2e-13])
    fp = FluxPoints({"dnde": dnde}, axis)
    ref = fp.reference_model
    assert type(ref).__name__ == "PowerLawSpectralModel"
    assert ref.index.value == 2
    # flux = dnde / ref(e_ref) * integral of E^-2 over the bin
    e_ref = np.sqrt([4.0, 64.0])
    norm = dnde / (1e-12 * e_ref**-2)
    flux = norm * 1e-12 * (1 / np.array([1.0, 4.0]) - 1 / np.array([4.0, 16.0]))
    assert allclose(fp.flux.to_value("cm-2 s-1"), flux, rtol=1e-14)
    assert np.array_equal(fp.dnde.to_value(DNDE), dnde)


def test_dnde_table_without_edges(tmp_path):
    """A differential SED with e_ref only: e_ref is the file's, no flux conversion."""
    table = Table()
    table["e_ref"] = [1.3, 4.2, 11.0] * u.TeV
    table["dnde"] = [1e-11, 5e-13, 2e-14] * DNDE
    table["dnde_err"] = [1e-12, 5e-14, 4e-15] * DNDE
    path = tmp_path / "nodes.ecsv"
    table.write(path)
    fp = FluxPoints.read(path)
    assert fp.sed_type_init == "dnde"
    assert np.array_equal(fp.energy_ref.to_value("TeV"), [1.3, 4.2, 11.0])
    assert not fp.is_convertible_to_flux_sed_type
    with pytest.raises(DatasetError, match="no bin edges"):
        _ = fp.flux
    assert allclose(
        fp.e2dnde.to_value("erg cm-2 s-1"),
        [1.3**2 * 1e-11, 4.2**2 * 5e-13, 121 * 2e-14] * np.array(TEV_TO_ERG),
    )
    out = fp.to_table()
    assert out.colnames == ["e_ref", "dnde", "dnde_err"]
    assert np.array_equal(out["e_ref"], table["e_ref"])


def test_photon_units_are_accepted(tmp_path):
    table = Table()
    table["e_min"] = [1.0, 10.0] * u.TeV
    table["e_max"] = [10.0, 100.0] * u.TeV
    table["flux"] = [1e-11, 1e-12] * u.Unit("ph cm-2 s-1")
    fp = FluxPoints.from_table(table)
    assert fp.sed_type_init == "flux"
    assert allclose(fp.flux.to_value("cm-2 s-1"), [1e-11, 1e-12])


def test_is_ul_rules():
    axis = MapAxis.from_energy_edges([1, 2, 4, 8] * u.TeV)
    model = PowerLawSpectralModel()
    ts = np.array([25.0, 3.0, 1.0])
    fp = FluxPoints(
        {"norm": [1.0, 0.5, -0.1], "norm_ul": [1.5, 1.2, 0.8], "ts": ts},
        axis,
        reference_model=model,
    )
    # derived from sqrt(TS) < 2
    assert fp.is_ul.tolist() == [False, True, True]
    assert fp.sqrt_ts.tolist() == pytest.approx([5.0, np.sqrt(3.0), -1.0])
    fp.sqrt_ts_threshold_ul = 1.5
    assert fp.is_ul.tolist() == [False, False, True]
    assert fp.meta["sqrt_ts_threshold_ul"] == 1.5
    # without TS: where the upper limit is finite; without UL: where norm is NaN
    fp2 = FluxPoints(
        {"norm": [1.0, 0.5, 0.2], "norm_ul": [np.nan, 1.0, 0.5]}, axis, reference_model=model
    )
    assert fp2.is_ul.tolist() == [False, True, True]
    fp3 = FluxPoints({"norm": [1.0, np.nan, 0.2]}, axis, reference_model=model)
    assert fp3.is_ul.tolist() == [False, True, False]
    fp3.is_ul = [True, False, False]
    assert fp3.is_ul.tolist() == [True, False, False]
    with pytest.raises(DatasetError, match="sqrt_ts_threshold_ul"):
        fp3.sqrt_ts_threshold_ul = 3


def test_success_filter():
    axis = MapAxis.from_energy_edges([1, 2, 4] * u.TeV)
    fp = FluxPoints(
        {
            "norm": [1.0, 2.0],
            "norm_err": [0.1, 0.2],
            "norm_ul": [1.2, 2.5],
            "success": [True, False],
        },
        axis,
        reference_model=PowerLawSpectralModel(),
    )
    assert np.isnan(fp.norm[1]) and np.isnan(fp.dnde_err[1])
    assert fp.norm_ul[1] == 2.5  # only norm and norm_err are filtered, as Gammapy
    fp.filter_success_nan = False
    assert fp.norm[1] == 2.0


def test_slice_by_idx_and_energy(hawc_file):
    fp = FluxPoints.read(hawc_file)
    sub = fp.slice_by_idx({"energy": slice(2, 5)})
    assert len(sub) == 3
    assert np.array_equal(sub.dnde.value, fp.dnde.value[2:5])
    assert sub.energy_min[0] == fp.energy_min[2]
    one = fp.slice_by_idx({"energy": 9})
    assert len(one) == 1 and one.is_ul.tolist() == [True]
    sliced = fp.slice_by_energy(2 * u.TeV, 20 * u.TeV)
    assert allclose(sliced.energy_ref.to_value("TeV"), fp.energy_ref.to_value("TeV")[1:5])
    with pytest.raises(DatasetError, match="unknown axes"):
        fp.slice_by_idx({"time": 0})


def test_ul_conf_and_threshold_header(tmp_path):
    axis = MapAxis.from_energy_edges([1, 2, 4] * u.TeV)
    fp = FluxPoints(
        {"norm": [1.0, 0.1], "norm_ul": [1.3, 0.9], "ts": [30.0, 1.0]},
        axis,
        reference_model=PowerLawSpectralModel(),
        meta={"n_sigma_ul": 2, "sqrt_ts_threshold_ul": 3},
    )
    table = fp.to_table()
    assert table.meta["UL_CONF"] == pytest.approx(0.9544997, abs=1e-9)
    assert table.meta["UL_CONF"] == round(1 - 2 * stats.norm.sf(2), 7)
    for suffix in (".fits", ".ecsv"):
        path = tmp_path / f"fp{suffix}"
        fp.write(path)
        back = FluxPoints.read(path)
        assert back.n_sigma_ul == 2.0
        assert back.sqrt_ts_threshold_ul == 3.0
        assert back.is_ul.tolist() == [False, True]


def test_loglike_columns():
    table = Table()
    table["e_ref"] = [2.0] * u.TeV
    table["e_min"] = [1.0] * u.TeV
    table["e_max"] = [4.0] * u.TeV
    table["ref_dnde"] = [1e-12] * DNDE
    table["ref_flux"] = [1e-12] * u.Unit("cm-2 s-1")
    table["ref_eflux"] = [1e-12] * u.Unit("erg cm-2 s-1")
    table["norm"] = [1.0]
    table["loglike"] = [-3.0]
    fp = FluxPoints.from_table(table)
    assert fp.sed_type_init == "likelihood"
    assert fp.stat.tolist() == [-6.0]


def test_all_quantities_order():
    assert all_quantities("likelihood")[:6] == [
        "norm",
        "norm_err",
        "norm_errn",
        "norm_errp",
        "norm_ul",
        "norm_sensitivity",
    ]
    assert all_quantities("flux")[3] == "flux_errn"


# ---------------------------------------------------------------------------- display
def test_str_repr_and_formatted_table(hawc_file):
    fp = FluxPoints.read(hawc_file)
    text = str(fp)
    assert "sed type init        : dnde" in text
    assert "FluxPoints" in repr(fp)
    assert "<pre>" in fp._repr_html_()
    table = fp.to_table(sed_type="flux", formatted=True)
    assert table["flux"].format == ".3e" and table["e_ref"].format == ".3f"
    assert table.colnames == [
        "e_ref",
        "e_min",
        "e_max",
        "flux",
        "flux_err",
        "flux_ul",
        "ts",
        "sqrt_ts",
        "is_ul",
    ]
    # Gammapy's docstring numbers for this file
    assert f"{table['flux'][0]:.3e}" == "1.423e-11"
    assert f"{table['flux'][1]:.3e}" == "5.780e-12"


def test_copy_with_new_reference_model(hawc_file):
    fp = FluxPoints.read(hawc_file)
    new = fp.copy(reference_model=PowerLawSpectralModel(index=3))
    # the dnde values are the norms times the new reference: they change
    assert not allclose(new.dnde.value[:9], fp.dnde.value[:9], rtol=1e-3)
    assert allclose(new.norm, fp.norm, rtol=1e-15, equal_nan=True)
    e_ref = fp.energy_ref.to_value("TeV")
    assert allclose(new.dnde.value[:9], fp.dnde.value[:9] / e_ref[:9], rtol=1e-14)
    same = fp.copy()
    assert np.array_equal(same.dnde.value, fp.dnde.value, equal_nan=True)


# ----------------------------------------------------------------------------- errors
def test_missing_column_names_file_and_column(tmp_path):
    table = Table()
    table["e_min"] = [1.0, 2.0] * u.TeV
    table["e_max"] = [2.0, 4.0] * u.TeV
    table["dnde_err"] = [1e-12, 1e-13] * DNDE
    table.meta["SED_TYPE"] = "dnde"
    path = tmp_path / "broken.ecsv"
    table.write(path)
    with pytest.raises(FormatError) as info:
        FluxPoints.read(path)
    message = str(info.value)
    assert "broken.ecsv" in message and "'dnde'" in message and "'e_ref'" in message


def test_unknown_sed_type_in_table(tmp_path):
    table = Table({"x": [1.0]})
    path = tmp_path / "nothing.fits"
    table.write(path)
    with pytest.raises(FormatError, match="cannot tell the SED type"):
        FluxPoints.read(path)


def test_wrong_units(tmp_path):
    table = Table()
    table["e_min"] = [1.0, 2.0] * u.TeV
    table["e_max"] = [2.0, 4.0] * u.TeV
    table["flux"] = [1e-11, 1e-12] * u.Unit("erg cm-2 s-1")
    path = tmp_path / "units.fits"
    table.write(path)
    with pytest.raises(UnitError) as info:
        FluxPoints.read(path)
    assert "units.fits" in str(info.value) and "'flux'" in str(info.value)
    table["flux"].unit = "cm-2 s-1"
    table["e_min"].unit = "deg"
    table.write(path, overwrite=True)
    with pytest.raises(UnitError, match="'e_min'"):
        FluxPoints.read(path)
    axis = MapAxis.from_energy_edges([1, 2] * u.TeV)
    with pytest.raises(UnitError, match="dnde"):
        FluxPoints({"dnde": [1.0] * u.m}, axis)


def test_constructor_errors():
    axis = MapAxis.from_energy_edges([1, 2, 4] * u.TeV)
    with pytest.raises(DatasetError, match="shape"):
        FluxPoints({"norm": [1.0, 2.0, 3.0]}, axis, reference_model=PowerLawSpectralModel())
    with pytest.raises(DatasetError, match="reference model is required"):
        FluxPoints({"norm": [1.0, 2.0]}, axis)
    with pytest.raises(DatasetError, match="unknown quantity"):
        FluxPoints({"dnde": [1.0, 2.0], "flux": [1.0, 1.0]}, axis, sed_type="dnde")
    with pytest.raises(DatasetError, match="norm_scan"):
        FluxPoints(
            {"norm": [1.0, 2.0], "stat_scan": np.zeros((2, 3))},
            axis,
            reference_model=PowerLawSpectralModel(),
        )
    with pytest.raises(DatasetError, match="'energy'"):
        FluxPoints({"norm": [1.0]}, MapAxis.from_edges([0, 1], name="x"))


def test_missing_quantity_is_attribute_error():
    axis = MapAxis.from_energy_edges([1, 2] * u.TeV)
    fp = FluxPoints({"dnde": [1e-12]}, axis)
    with pytest.raises(QuantityNotAvailableError, match="dnde_ul"):
        _ = fp.dnde_ul
    assert getattr(fp, "flux_errn", None) is None
    assert isinstance(QuantityNotAvailableError("x"), FluxfitError | AttributeError)


def test_overwrite_and_missing_file(tmp_path):
    axis = MapAxis.from_energy_edges([1, 2] * u.TeV)
    fp = FluxPoints({"dnde": [1e-12]}, axis)
    path = tmp_path / "fp.fits"
    fp.write(path)
    with pytest.raises(OverwriteError, match=r"fp\.fits"):
        fp.write(path)
    fp.write(path, overwrite=True)
    with pytest.raises(MissingFileError, match=r"nope\.fits"):
        FluxPoints.read(tmp_path / "nope.fits")


def test_gti_hdu_roundtrip(tmp_path):
    lc = _lightcurve()
    gti = Table({"START": [0.0, 86400.0] * u.s, "STOP": [43200.0, 172800.0] * u.s})
    gti.meta.update({"MJDREFI": 55000, "MJDREFF": 0.0, "TIMESYS": "utc"})
    lc.gti = gti
    path = tmp_path / "lc.fits"
    lc.write(path)
    with fits.open(path) as hdulist:
        assert [hdu.name for hdu in hdulist] == ["PRIMARY", "FLUXPOINTS", "GTI"]
    back = FluxPoints.read(path)
    assert np.array_equal(back.gti["STOP"], gti["STOP"])


def test_to_sed_type_and_scans():
    lc = _lightcurve()
    sed = lc.to_sed_type("dnde")
    assert set(sed) >= {"dnde", "dnde_err", "dnde_errn", "dnde_errp", "dnde_ul", "ts", "is_ul"}
    assert sed["dnde"].unit == DNDE
    ts_scan = lc.get_quantity("ts_scan")
    assert ts_scan.shape == (3, 2, 5)
    assert allclose(ts_scan, lc.stat_scan - lc.stat[..., None])
    assert lc.norm_scan.shape == (3, 2, 5)
    assert allclose(lc["norm"], lc.norm)


def test_docstring_examples():
    import doctest

    import matplotlib

    matplotlib.use("Agg")
    from fluxfit.datasets import flux_points, flux_points_dataset, flux_points_table
    from fluxfit.plotting import sed, spectral

    for module in (flux_points, flux_points_table, flux_points_dataset, sed, spectral):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0, module.__name__
