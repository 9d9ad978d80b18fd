"""GADF DL3 IRFs on synthetic tables: interpolation rules, analytic cases, damaged files."""

import pickle
import re

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table
from scipy.special import erf

from fluxfit.errors import DatasetError, FormatError, MissingFileError, UnitError
from fluxfit.irf.gadf import (
    Background2D,
    Background3D,
    EffectiveAreaTable2D,
    EnergyDispersion2D,
    PSF3Gauss,
    PSFTable,
    integrate_log_log,
    load_irf_dict_from_file,
)
from fluxfit.maps import MapAxis

ENERGY_TRUE = MapAxis.from_energy_bounds("0.1 TeV", "100 TeV", 9, name="energy_true")
OFFSET = MapAxis.from_edges([0.0, 1.0, 2.0, 3.0], unit="deg", name="offset")


@pytest.fixture(scope="module")
def aeff():
    area = np.outer(np.arange(1, 10) * 1e4, [1.0, 0.5, 0.25])
    return EffectiveAreaTable2D([ENERGY_TRUE, OFFSET], data=area, unit="m2")


def write_table(path, table, name):
    hdu = fits.table_to_hdu(table)
    hdu.name = name
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(path, overwrite=True)
    return path


# ---------------------------------------------------------------------------- interpolation
def test_interpolation_scales(aeff):
    centres = ENERGY_TRUE.center.to_value("TeV")
    # log in energy: halfway in log between two centres is the mean of the two values
    energy = np.sqrt(centres[2] * centres[3]) * u.TeV
    assert aeff.evaluate(energy_true=energy, offset=0.5 * u.deg).to_value("m2") == pytest.approx(
        3.5e4
    )
    # linear in offset
    assert aeff.evaluate(energy_true=centres[0] * u.TeV, offset=1.0 * u.deg).value == pytest.approx(
        0.75e4
    )
    # linear extrapolation up to the edges, zero outside
    assert aeff.evaluate(
        energy_true=centres[0] * u.TeV, offset=0.25 * u.deg
    ).value == pytest.approx(1.125e4)
    assert aeff.evaluate(energy_true=centres[0] * u.TeV, offset=3.2 * u.deg).value == 0
    assert aeff.evaluate(energy_true=0.09 * u.TeV, offset=0.5 * u.deg).value == 0
    assert aeff.evaluate(energy_true=np.nan * u.TeV, offset=0.5 * u.deg).value == 0
    # numbers without units are in the axis units; nearest neighbour on request
    assert aeff.evaluate(energy_true=centres[4], offset=0.6).value == pytest.approx(5e4 * 0.95)
    assert aeff.evaluate(method="nearest", energy_true=centres[4], offset=0.6).value == 5e4
    # broadcasting and the default coordinates (bin centres)
    assert aeff.evaluate(offset=[0.5, 1.5] * u.deg).shape == (9, 2)
    assert aeff.evaluate().shape == (9, 3)
    assert (
        aeff.evaluate_area(1 * u.TeV, 0.5 * u.deg)
        == aeff.evaluate(energy_true=1 * u.TeV, offset=0.5 * u.deg).value
    )


def test_single_bin_axis_is_ignored():
    offset = MapAxis.from_edges([0.0, 2.0], unit="deg", name="offset")
    aeff = EffectiveAreaTable2D(
        [ENERGY_TRUE, offset], data=np.arange(1, 10)[:, None] * 1e4, unit="m2"
    )
    values = aeff.evaluate(energy_true=ENERGY_TRUE.center[3], offset=[0.1, 1.0, 1.9] * u.deg)
    np.testing.assert_allclose(values.to_value("m2"), 4e4)
    assert aeff.evaluate(energy_true=ENERGY_TRUE.center[3], offset=2.5 * u.deg).value == 0


def test_validation_errors(aeff):
    with pytest.raises(DatasetError, match="required axes"):
        EffectiveAreaTable2D([ENERGY_TRUE], data=np.ones(9))
    with pytest.raises(DatasetError, match="shape"):
        EffectiveAreaTable2D([ENERGY_TRUE, OFFSET], data=np.ones((9, 4)), unit="m2")
    with pytest.raises(UnitError, match="not convertible"):
        EffectiveAreaTable2D([ENERGY_TRUE, OFFSET], data=np.ones((9, 3)), unit="s")
    with pytest.raises(DatasetError, match="unknown coordinate"):
        aeff.evaluate(energy=1 * u.TeV)
    with pytest.raises(UnitError, match="offset"):
        aeff.evaluate(energy_true=1 * u.TeV, offset=1 * u.m)
    # axes in another order: the data are transposed to the required order
    swapped = EffectiveAreaTable2D([OFFSET, ENERGY_TRUE], data=aeff.data.T, unit="m2")
    assert swapped.axes.names == ["energy_true", "offset"]
    np.testing.assert_array_equal(swapped.data, aeff.data)


def test_pickle_drops_interpolator(aeff):
    aeff.evaluate(energy_true=1 * u.TeV, offset=0.5 * u.deg)
    assert "interp" in aeff._cache
    clone = pickle.loads(pickle.dumps(aeff))
    assert clone._cache == {}
    assert clone.evaluate(energy_true=1 * u.TeV, offset=0.5 * u.deg) == aeff.evaluate(
        energy_true=1 * u.TeV, offset=0.5 * u.deg
    )


# ---------------------------------------------------------------------------- energy dispersion
def gauss_edisp(sigma=0.1, bias=0.0):
    migra = MapAxis.from_bounds(0.2, 5.0, 960, name="migra")
    energy_true = MapAxis.from_energy_bounds("0.01 TeV", "1000 TeV", 100, name="energy_true")
    return EnergyDispersion2D.from_gauss(energy_true, migra, OFFSET, bias=bias, sigma=sigma)


def test_edisp_kernel_gaussian():
    sigma = 0.1
    edisp = gauss_edisp(sigma)
    energy_true = MapAxis.from_energy_bounds("0.3 TeV", "30 TeV", 20, name="energy_true")
    energy = MapAxis.from_energy_bounds("0.1 TeV", "100 TeV", 30)
    kernel = edisp.to_edisp_kernel(0.7 * u.deg, energy_true, energy).to_dense()
    centre = energy_true.center.to_value("TeV")[:, None]
    edges = energy.edges.to_value("TeV")[None, :]
    cdf = 0.5 * (1 + erf((edges / centre - 1) / (np.sqrt(2) * sigma)))
    expected = np.diff(cdf, axis=1)
    np.testing.assert_allclose(kernel, expected, atol=2e-3)
    sums = kernel.sum(axis=1)
    assert np.all(sums <= 1 + 1e-12)
    np.testing.assert_allclose(sums, 1, atol=1e-6)
    # the part of the pdf outside the reco range is lost: rows near the end sum to < 1
    wide = edisp.to_edisp_kernel(0.7 * u.deg, energy_true, [1, 100] * u.TeV).to_dense()
    assert wide[0, 0] < 1e-6 and wide[-1, 0] == pytest.approx(1, abs=1e-6)
    # probabilities below the threshold are zero
    assert np.all((kernel == 0) | (kernel >= 1e-8))


def test_edisp_kernel_normalises_migration_and_masks():
    edisp = gauss_edisp(0.2)
    scaled = EnergyDispersion2D(edisp.axes, data=edisp.data * 3.0)
    energy_true = MapAxis.from_energy_bounds("1 TeV", "10 TeV", 5, name="energy_true")
    energy = MapAxis.from_energy_bounds("0.5 TeV", "20 TeV", 8)
    a = edisp.to_edisp_kernel(1.0 * u.deg, energy_true, energy).to_dense()
    b = scaled.to_edisp_kernel(1.0 * u.deg, energy_true, energy).to_dense()
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    # outside the offset range the kernel is empty
    assert edisp.to_edisp_kernel(3.5 * u.deg, energy_true, energy).to_dense().sum() == 0
    # out of bounds only in energy AND migra is zero; in one of them it is extrapolated
    inside = edisp.evaluate(energy_true=1 * u.TeV, migra=1.0, offset=0.5 * u.deg).value
    assert inside > 0
    assert edisp.evaluate(energy_true=2000 * u.TeV, migra=9.0, offset=0.5 * u.deg).value == 0


def test_edisp_normalize():
    edisp = gauss_edisp(0.1)
    edisp._data = edisp.data * 2
    edisp.normalize()
    width = edisp.axes["migra"].bin_width.value[None, :, None]
    np.testing.assert_allclose(np.sum(edisp.data * width, axis=1)[20:80], 1, rtol=1e-12)


# ---------------------------------------------------------------------------- PSF
@pytest.fixture(scope="module")
def gauss_psf():
    sigma_deg = np.array([0.2, 0.1, 0.05])  # per energy bin
    energy = MapAxis.from_energy_bounds("0.1 TeV", "100 TeV", 3, name="energy_true")
    rad = MapAxis.from_bounds(0, 1.5, 600, unit="deg", name="rad")
    sigma = np.deg2rad(sigma_deg)[:, None, None]
    r = rad.center.to_value("rad")[None, None, :]
    pdf = np.exp(-0.5 * (r / sigma) ** 2) / (2 * np.pi * sigma**2) * np.ones((3, 3, 600))
    return PSFTable([energy, OFFSET, rad], data=pdf, unit="sr-1"), sigma_deg, energy


def test_psf_table_containment(gauss_psf):
    psf, sigma, energy = gauss_psf
    rad = np.array([0.05, 0.1, 0.2, 0.4])
    for i, s in enumerate(sigma):
        values = psf.containment(rad * u.deg, energy_true=energy.center[i], offset=1.5 * u.deg)
        np.testing.assert_allclose(values, 1 - np.exp(-0.5 * (rad / s) ** 2), atol=2e-3)
        r68 = psf.containment_radius(0.68, energy_true=energy.center[i], offset=1.5 * u.deg)
        assert r68.to_value("deg") == pytest.approx(s * np.sqrt(-2 * np.log(0.32)), abs=2e-3)
    radii = psf.containment_radius([0.68, 0.95], energy_true=energy.center[0], offset=0.5 * u.deg)
    assert radii.shape == (2,) and radii[1] > radii[0]
    # the cumulative table is built once and reused
    assert psf._cache["cumulative"] is psf._cumulative()
    assert psf.containment(0.1 * u.deg, energy_true=energy.center[0], offset=5 * u.deg) == 0


def test_psf_3gauss():
    energy = MapAxis.from_energy_bounds("0.1 TeV", "100 TeV", 2, name="energy_true")
    offset = MapAxis.from_edges([0, 1, 2], unit="deg", name="offset")
    ones = np.ones((2, 2))
    data = dict(
        sigma_1=0.05 * ones,
        sigma_2=0.1 * ones,
        sigma_3=0.2 * ones,
        scale=3.0 * ones,
        ampl_2=0.5 * ones,
        ampl_3=0.25 * ones,
    )
    psf = PSF3Gauss([energy, offset], data)
    norms = np.array([1 * 0.05**2, 0.5 * 0.1**2, 0.25 * 0.2**2])
    norms /= norms.sum()
    rad = np.array([0.02, 0.1, 0.3])
    expected = sum(n * (1 - np.exp(-0.5 * rad**2 / s**2)) for n, s in zip(norms, [0.05, 0.1, 0.2]))
    got = psf.containment(rad * u.deg, energy_true=1 * u.TeV, offset=0.5 * u.deg)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    # the density integrates to one over the sky
    r = np.linspace(0, 2, 20001)
    density = psf.evaluate(r * u.deg, 1 * u.TeV, 0.5 * u.deg).to_value("sr-1")
    integral = np.trapezoid(2 * np.pi * np.deg2rad(r) * density, np.deg2rad(r))
    assert integral == pytest.approx(1, rel=1e-6)
    table = psf.to_psf_table()
    assert table.containment(0.1 * u.deg, energy_true=1 * u.TeV, offset=0.5 * u.deg) == (
        pytest.approx(float(psf.containment(0.1 * u.deg, 1 * u.TeV, 0.5 * u.deg)), abs=5e-3)
    )
    with pytest.raises(DatasetError, match="ampl_3"):
        PSF3Gauss([energy, offset], {k: v for k, v in data.items() if k != "ampl_3"})


# ---------------------------------------------------------------------------- background
def test_background_power_law_integral():
    energy = MapAxis.from_energy_bounds("0.1 TeV", "100 TeV", 12, name="energy")
    offset = MapAxis.from_bounds(0, 3, 6, unit="deg", name="offset")
    gamma = 2.7
    rate = 1e-3 * energy.center.to_value("TeV")[:, None] ** -gamma * np.ones((12, 6))
    bkg = Background2D([energy, offset], data=rate, unit="s-1 TeV-1 sr-1")
    edges = [1, 3, 10] * u.TeV
    integral = bkg.integrate_energy(edges, offset=[0.5, 1.5] * u.deg).to_value("s-1 sr-1")
    e = edges.to_value("TeV")
    exact = 1e-3 * (e[:-1] ** (1 - gamma) - e[1:] ** (1 - gamma)) / (gamma - 1)
    np.testing.assert_allclose(integral, np.repeat(exact[:, None], 2, axis=1), rtol=1e-9)
    counts = bkg.counts(edges, solid_angle=1e-4 * u.sr, ontime=1 * u.h, offset=0.5 * u.deg)
    np.testing.assert_allclose(counts, exact * 1e-4 * 3600, rtol=1e-9)
    # log interpolation of the values: exact for a power law between centres
    mid = np.sqrt(energy.center[3] * energy.center[4])
    value = bkg.evaluate(energy=mid, offset=0.5 * u.deg).to_value("s-1 TeV-1 sr-1")
    assert value == pytest.approx(1e-3 * mid.to_value("TeV") ** -gamma, rel=1e-12)


def test_integrate_log_log_special_cases():
    edges = np.array([1.0, 2.0, 4.0])
    # index exactly 1: E^-1 integrates to log
    np.testing.assert_allclose(integrate_log_log(1 / edges, edges), np.log(2) * np.ones(2))
    # zeros give zero (no NaN)
    np.testing.assert_array_equal(integrate_log_log(np.zeros(3), edges), [0, 0])


def test_background_3d_axes_order(tmp_path):
    energy = MapAxis.from_energy_bounds("0.1 TeV", "100 TeV", 4, name="energy")
    lon = MapAxis.from_bounds(-2, 2, 5, unit="deg", name="fov_lon")
    lat = MapAxis.from_bounds(-2, 2, 6, unit="deg", name="fov_lat")
    data = np.random.default_rng(0).uniform(1, 2, (4, 5, 6))
    bkg = Background3D([energy, lon, lat], data=data, unit="s-1 MeV-1 sr-1")
    # GADF order: TDIM (ENERG, DETY, DETX) reversed -> numpy [X, Y, E]... both orders are read
    path = tmp_path / "bkg.fits"
    bkg.write(path)
    back = Background3D.read(path)
    np.testing.assert_allclose(back.data, data)
    table = bkg.to_table()
    table["BKG"] = data[np.newaxis] * u.Unit("s-1 MeV-1 sr-1")  # the H.E.S.S./CTA-like order
    write_table(tmp_path / "bkg2.fits", table, "BACKGROUND")
    other = Background3D.read(tmp_path / "bkg2.fits")
    np.testing.assert_allclose(other.data, data)
    assert other.fov_alignment == "RADEC"


# ---------------------------------------------------------------------------- damaged files
def test_damaged_irf_files(aeff, tmp_path):
    table = aeff.to_table()
    path = write_table(tmp_path / "ok.fits", table, "AEFF")
    assert EffectiveAreaTable2D.read(path, hdu="AEFF").is_allclose(aeff)

    broken = table.copy()
    broken.remove_column("THETA_LO")
    path = write_table(tmp_path / "no_theta.fits", broken, "AEFF")
    with pytest.raises(FormatError) as info:
        EffectiveAreaTable2D.read(path, hdu="AEFF", obs_id=12)
    message = str(info.value)
    assert "no_theta.fits" in message and "'AEFF'" in message and "THETA_LO" in message
    assert "obs_id 12" in message

    broken = table.copy()
    broken["EFFAREA"].unit = "s"
    path = write_table(tmp_path / "bad_unit.fits", broken, "AEFF")
    with pytest.raises(UnitError, match=r"bad_unit\.fits.*column 'EFFAREA'.*unit s"):
        EffectiveAreaTable2D.read(path)

    broken = table.copy()
    broken["ENERG_LO"].unit = None
    path = write_table(tmp_path / "no_unit.fits", broken, "AEFF")
    with pytest.raises(UnitError, match=r"column 'ENERG_LO'.*no unit"):
        EffectiveAreaTable2D.read(path)

    broken = Table(table)
    broken.replace_column("EFFAREA", np.ones((1, 4, 9)) * u.m**2)
    path = write_table(tmp_path / "bad_shape.fits", broken, "AEFF")
    with pytest.raises(FormatError, match=r"bad_shape\.fits.*'EFFAREA'.*do not match"):
        EffectiveAreaTable2D.read(path)

    path = write_table(tmp_path / "ok2.fits", table, "AEFF")
    with pytest.raises(FormatError, match=r"HDU 'EDISP'.*HDUs present.*AEFF"):
        EnergyDispersion2D.read(path, hdu="EDISP")
    with pytest.raises(MissingFileError, match=re.escape("nothere.fits")):
        EffectiveAreaTable2D.read(tmp_path / "nothere.fits")
    garbage = tmp_path / "garbage.fits.gz"
    garbage.write_bytes(b"\x1f\x8b" + b"not really gzip" * 10)
    with pytest.raises(FormatError, match=re.escape("garbage.fits.gz")):
        EffectiveAreaTable2D.read(garbage)
    with pytest.raises(FormatError, match="no IRF HDU"):
        load_irf_dict_from_file(_gti_only(tmp_path))


def _gti_only(tmp_path):
    path = tmp_path / "gti_only.fits"
    table = Table({"START": [0.0], "STOP": [1.0]})
    return write_table(path, table, "GTI")


def test_edisp_and_bkg_damaged(tmp_path):
    edisp = gauss_edisp(0.2)
    table = edisp.to_table()
    table.remove_column("MATRIX")
    path = write_table(tmp_path / "edisp.fits", table, "EDISP")
    with pytest.raises(FormatError, match=r"missing column 'MATRIX'"):
        EnergyDispersion2D.read(path)
    energy = MapAxis.from_energy_bounds("0.1 TeV", "100 TeV", 3, name="energy")
    offset = MapAxis.from_bounds(0, 3, 3, unit="deg", name="offset")
    bkg = Background2D([energy, offset], data=np.ones((3, 3)), unit="s-1 MeV-1 sr-1")
    table = bkg.to_table()
    table["BKG"].unit = "m2"
    path = write_table(tmp_path / "bkg.fits", table, "BACKGROUND")
    with pytest.raises(UnitError, match="background rate unit"):
        Background2D.read(path)
