"""GADF DL3 IRFs on real files: H.E.S.S. DR1 (aeff_2d, edisp_2d, psf_table, bkg_3d) and CTA
Prod5 (psf_3gauss), against the FITS arrays at bin centres and against Gammapy 2.1.

Gammapy's numbers are in tests/data/gammapy_dl3_reference.json (produced by the script stored
in that file).
"""

import json
import pickle
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits

from fluxfit.irf import EnergyDispersionMatrix
from fluxfit.irf.gadf import (
    Background3D,
    EffectiveAreaTable2D,
    EnergyDispersion2D,
    PSF3Gauss,
    PSFTable,
    load_irf_dict_from_file,
    read_irf,
)
from fluxfit.maps import MapAxis

pytestmark = pytest.mark.data

HESS_RUN = "gammapy-data/hess-dl3-dr1/data/hess_dl3_dr1_obs_id_033787.fits.gz"
CTA_SOUTH = "gammapy-data/cta-caldb/Prod5-South-20deg-AverageAz-14MSTs37SSTs.180000s-v0.1.fits.gz"
REFERENCE = Path(__file__).parents[1] / "data" / "gammapy_dl3_reference.json"


@pytest.fixture(scope="module")
def hess_file(data_dir):
    path = data_dir / HESS_RUN
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return path


@pytest.fixture(scope="module")
def hess_irfs(hess_file):
    return {
        "aeff": EffectiveAreaTable2D.read(hess_file, hdu="AEFF"),
        "edisp": EnergyDispersion2D.read(hess_file, hdu="EDISP"),
        "psf": PSFTable.read(hess_file, hdu="PSF"),
        "bkg": Background3D.read(hess_file, hdu="BKG"),
    }


@pytest.fixture(scope="module")
def hess_arrays(hess_file):
    with fits.open(hess_file) as hdulist:
        return {
            name: {c: np.array(hdulist[name].data[c][0]) for c in hdulist[name].columns.names}
            for name in ("AEFF", "EDISP", "PSF", "BKG")
        }


@pytest.fixture(scope="module")
def cta_irfs(data_dir):
    path = data_dir / CTA_SOUTH
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return load_irf_dict_from_file(path)


@pytest.fixture(scope="module")
def reference():
    return json.loads(REFERENCE.read_text())


def max_rel(actual, expected):
    actual, expected = np.asarray(actual, float), np.asarray(expected, float)
    scale = np.where(expected != 0, np.abs(expected), 1.0)
    return float(np.max(np.abs(actual - expected) / scale))


# ---------------------------------------------------------------------------- values at bin centres
def test_aeff_at_bin_centres(hess_irfs, hess_arrays):
    aeff = hess_irfs["aeff"]
    raw = hess_arrays["AEFF"]
    assert aeff.axes.names == ["energy_true", "offset"]
    assert aeff.axes["offset"].node_type == "center"  # THETA_LO == THETA_HI: nodes
    energy = np.sqrt(raw["ENERG_LO"].astype(float) * raw["ENERG_HI"])
    offset = raw["THETA_LO"].astype(float)
    values = aeff.evaluate(energy_true=energy[:, None] * u.TeV, offset=offset[None, :] * u.deg)
    np.testing.assert_allclose(values.to_value("m2"), raw["EFFAREA"].T, rtol=1e-6)
    assert aeff.unit == u.m**2 and aeff.max_area.to_value("m2") == raw["EFFAREA"].max()
    # outside the edges (energy > 100 TeV or offset > 2.75 deg): zero
    assert aeff.evaluate(energy_true=150 * u.TeV, offset=0.5 * u.deg).value == 0
    assert aeff.evaluate(energy_true=1 * u.TeV, offset=2.8 * u.deg).value == 0
    assert aeff.evaluate(energy_true=1 * u.TeV, offset=2.2 * u.deg).value > 0


def test_edisp_psf_bkg_at_bin_centres(hess_irfs, hess_arrays):
    raw = hess_arrays["EDISP"]
    energy = np.sqrt(raw["ENERG_LO"].astype(float) * raw["ENERG_HI"])
    migra = 0.5 * (raw["MIGRA_LO"].astype(float) + raw["MIGRA_HI"])
    offset = raw["THETA_LO"].astype(float)
    values = hess_irfs["edisp"].evaluate(
        energy_true=energy[:, None, None] * u.TeV,
        migra=migra[None, :, None],
        offset=offset[None, None, :] * u.deg,
    )
    np.testing.assert_allclose(values.value, raw["MATRIX"].T, rtol=1e-6, atol=1e-12)

    raw = hess_arrays["PSF"]
    energy = np.sqrt(raw["ENERG_LO"].astype(float) * raw["ENERG_HI"])
    rad = 0.5 * (raw["RAD_LO"].astype(float) + raw["RAD_HI"])
    values = hess_irfs["psf"].evaluate(
        energy_true=energy[:, None, None] * u.TeV,
        offset=raw["THETA_LO"].astype(float)[None, :, None] * u.deg,
        rad=rad[None, None, :] * u.deg,
    )
    np.testing.assert_allclose(values.to_value("sr-1"), raw["RPSF"].T, rtol=1e-6, atol=1e-9)

    raw = hess_arrays["BKG"]
    bkg = hess_irfs["bkg"]
    energy = np.sqrt(raw["ENERG_LO"].astype(float) * raw["ENERG_HI"])
    lon = 0.5 * (raw["DETX_LO"].astype(float) + raw["DETX_HI"])
    lat = 0.5 * (raw["DETY_LO"].astype(float) + raw["DETY_HI"])
    values = bkg.evaluate(
        energy=energy[:, None, None] * u.TeV,
        fov_lon=lon[None, :, None] * u.deg,
        fov_lat=lat[None, None, :] * u.deg,
    )
    # H.E.S.S. stores BKG with TDIM (DETX, DETY, ENERG): the raw numpy array is [E, Y, X] and,
    # as in Gammapy, its axes are read as [energy, fov_lon, fov_lat]
    np.testing.assert_allclose(values.to_value("s-1 MeV-1 sr-1"), raw["BKG"], rtol=1e-5, atol=1e-30)
    assert bkg.unit == u.Unit("s-1 MeV-1 sr-1")


# ---------------------------------------------------------------------------- against Gammapy 2.1
def test_hess_irfs_against_gammapy(hess_irfs, reference):
    ref = reference["obs33787"]
    energy, offset = np.meshgrid(ref["grid_energy_TeV"], ref["grid_offset_deg"], indexing="ij")
    aeff = hess_irfs["aeff"].evaluate(energy_true=energy * u.TeV, offset=offset * u.deg)
    assert max_rel(aeff.to_value("m2"), ref["aeff_m2"]) < 1e-12
    psf = hess_irfs["psf"]
    containment = psf.containment(
        rad=0.11 * u.deg, energy_true=energy * u.TeV, offset=offset * u.deg
    )
    assert max_rel(containment, ref["psf_containment_0p11"]) < 1e-12
    r68 = psf.containment_radius(
        0.68, energy_true=ref["grid_energy_TeV"] * u.TeV, offset=0.5 * u.deg
    )
    assert max_rel(r68.to_value("deg"), ref["psf_r68_deg"]) < 1e-12
    values = psf.evaluate(
        rad=[0.01, 0.05, 0.1, 0.3] * u.deg, energy_true=1 * u.TeV, offset=0.5 * u.deg
    )
    assert max_rel(values.to_value("sr-1"), ref["psf_value_sr"]) < 1e-12
    edisp = hess_irfs["edisp"]
    pdf = edisp.evaluate(energy_true=1 * u.TeV, migra=ref["grid_migra"], offset=0.5 * u.deg)
    assert max_rel(pdf.value, ref["edisp_pdf_E1_off0p5"]) < 1e-12
    pdf = edisp.evaluate(energy_true=0.3 * u.TeV, migra=ref["grid_migra"], offset=1.1 * u.deg)
    assert max_rel(pdf.value, ref["edisp_pdf_E0p3_off1p1"]) < 1e-12
    bkg = hess_irfs["bkg"]
    lon, lat = np.array(ref["bkg_grid_lon"]) * u.deg, np.array(ref["bkg_grid_lat"]) * u.deg
    energy_1d = np.array(ref["grid_energy_TeV"])[:, None] * u.TeV
    values = bkg.evaluate(energy=energy_1d, fov_lon=lon, fov_lat=lat)
    assert max_rel(values.to_value("s-1 MeV-1 sr-1"), ref["bkg_values"]) < 1e-9
    edges = MapAxis.from_energy_bounds("0.4 TeV", "20 TeV", nbin=10).edges
    integral = bkg.integrate_energy(edges, fov_lon=lon, fov_lat=lat)
    assert max_rel(integral.to_value("s-1 sr-1"), ref["bkg_integrate_log_log"]) < 1e-9


def test_edisp_kernel_against_gammapy(hess_irfs, reference):
    """The seed's kernel (SpectrumDatasetMaker) and another binning, to 1e-12 absolute."""
    ref = reference["obs33787"]
    edisp = hess_irfs["edisp"]
    energy_axis = MapAxis.from_energy_bounds("0.4 TeV", "20 TeV", nbin=10)
    energy_axis_true = MapAxis.from_energy_bounds("0.1 TeV", "40 TeV", nbin=20, name="energy_true")
    kernel = edisp.to_edisp_kernel(ref["offset_deg"] * u.deg, energy_axis_true, energy_axis)
    assert isinstance(kernel, EnergyDispersionMatrix) and kernel.shape == (20, 10)
    np.testing.assert_allclose(kernel.to_dense(), ref["edisp_kernel_seed"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(kernel.to_dense(), reference["piece0_edisp_kernel"], atol=1e-12)
    kernel = edisp.to_edisp_kernel(
        1.3 * u.deg,
        MapAxis.from_energy_bounds("0.05 TeV", "150 TeV", 40, name="energy_true").edges,
        MapAxis.from_energy_bounds("0.1 TeV", "100 TeV", 25).edges,
    )
    np.testing.assert_allclose(kernel.to_dense(), ref["edisp_kernel_off1p3"], rtol=0, atol=1e-12)
    sums = kernel.to_dense().sum(axis=1)
    assert np.all(sums <= 1 + 1e-12) and sums.max() == pytest.approx(1, abs=1e-12)
    default = edisp.to_edisp_kernel(0.5 * u.deg)
    assert default.shape == (96, 96)
    assert np.all(default.to_dense().sum(axis=1) <= 1 + 1e-12)


def test_cta_irfs_against_gammapy(cta_irfs, reference):
    ref = reference["cta_south"]
    grid = reference["obs33787"]
    energy, offset = np.meshgrid(grid["grid_energy_TeV"], grid["grid_offset_deg"], indexing="ij")
    assert isinstance(cta_irfs["psf"], PSF3Gauss)
    assert set(cta_irfs) == {"aeff", "edisp", "psf", "bkg"}
    aeff = cta_irfs["aeff"].evaluate(energy_true=energy * u.TeV, offset=offset * u.deg)
    assert max_rel(aeff.to_value("m2"), ref["aeff_m2"]) < 1e-12
    psf = cta_irfs["psf"]
    containment = psf.containment(0.1 * u.deg, energy_true=energy * u.TeV, offset=offset * u.deg)
    assert max_rel(containment, ref["psf_containment_0p1"]) < 1e-12
    r68 = psf.containment_radius(
        0.68, energy_true=grid["grid_energy_TeV"] * u.TeV, offset=1 * u.deg
    )
    assert max_rel(r68.to_value("deg"), ref["psf_r68_deg"]) < 1e-12
    values = psf.evaluate([0.01, 0.05, 0.1, 0.3] * u.deg, 1 * u.TeV, 0.5 * u.deg)
    assert max_rel(values.to_value("sr-1"), ref["psf_value_sr"]) < 1e-12
    kernel = cta_irfs["edisp"].to_edisp_kernel(
        1 * u.deg,
        MapAxis.from_energy_bounds("0.03 TeV", "150 TeV", 30, name="energy_true"),
        MapAxis.from_energy_bounds("0.05 TeV", "100 TeV", 20),
    )
    np.testing.assert_allclose(kernel.to_dense(), ref["edisp_kernel_off1"], rtol=0, atol=1e-12)
    lon, lat = np.array(grid["bkg_grid_lon"]) * u.deg, np.array(grid["bkg_grid_lat"]) * u.deg
    values = cta_irfs["bkg"].evaluate(
        energy=np.array(grid["grid_energy_TeV"])[:, None] * u.TeV, fov_lon=lon, fov_lat=lat
    )
    assert max_rel(values.to_value("s-1 MeV-1 sr-1"), ref["bkg_values"]) < 1e-9


# ---------------------------------------------------------------------------- I/O and pickling
def test_roundtrip_and_pickle(hess_irfs, cta_irfs, tmp_path):
    for name, irf in list(hess_irfs.items()) + [("psf3g", cta_irfs["psf"])]:
        path = tmp_path / f"{name}.fits"
        irf.write(path)
        back = type(irf).read(path)
        assert back.axes.names == irf.axes.names
        if isinstance(irf, PSF3Gauss):
            for key, values in irf.data.items():
                np.testing.assert_allclose(back.data[key], values, rtol=1e-6)
        else:
            assert back.is_allclose(irf)
        clone = pickle.loads(pickle.dumps(irf))
        coords = {"energy_true": 1 * u.TeV, "offset": 0.5 * u.deg}
        if name == "bkg":
            coords = {"energy": 1 * u.TeV, "fov_lon": 0.3 * u.deg, "fov_lat": -0.2 * u.deg}
        if name in ("psf", "psf3g"):
            assert clone.containment(0.1 * u.deg, **coords) == irf.containment(
                0.1 * u.deg, **coords
            )
        elif name == "edisp":
            assert np.array_equal(
                clone.evaluate(migra=1.0, **coords), irf.evaluate(migra=1.0, **coords)
            )
        else:
            assert clone.evaluate(**coords) == irf.evaluate(**coords)
    table = hess_irfs["aeff"].to_table()
    assert table.meta["HDUCLAS4"] == "AEFF_2D" and table["EFFAREA"].shape == (1, 6, 96)
    assert "BITPIX" not in table.meta and table.meta["OBS_ID"] == 33787


def test_read_by_class_and_default_hdu(hess_file):
    assert isinstance(read_irf(hess_file, "PSF", "psf_table", obs_id=33787), PSFTable)
    # without an HDU name: the table whose HDUCLAS4 is the class's
    assert EnergyDispersion2D.read(hess_file).axes.names == ["energy_true", "migra", "offset"]
