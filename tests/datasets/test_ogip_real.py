"""OGIP readers and writers on every real file in ../shared/data and the 3ML reference spectra."""

import json
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits

from fluxfit.datasets.ogip import (
    read_arf,
    read_ogip,
    read_pha,
    read_rmf,
    write_arf,
    write_background,
    write_pha,
    write_rmf,
)
from fluxfit.errors import MissingFileError, PathSafetyError

pytestmark = pytest.mark.data

HESS = "gammapy-data/joint-crab/spectra/hess"
PKS = "gammapy-data/PKS2155-steady"
THREEML = "threeml"
# (ON counts, OFF counts, OFF BACKSCAL, good channels) per run; ON/OFF totals as Gammapy 2.1 reads
HESS_RUNS = {
    23523: (189.0, 229.0, 12.0, 41),
    23526: (199.0, 217.0, 12.0, 43),
    23559: (168.0, 507.0, 40.0, 43),
    23592: (142.0, 545.0, 40.0, 41),
}


def assert_same_array(actual, expected):
    """Bit-for-bit equality (values and float64/int dtype as the containers hold them)."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.dtype == expected.dtype
    np.testing.assert_array_equal(actual, expected)


def assert_same_spectrum(actual, expected, spectrum_number=True):
    for name in ("channels", "counts", "quality"):
        assert_same_array(getattr(actual, name), getattr(expected, name))
    for name in ("grouping", "stat_err", "sys_err"):
        if getattr(expected, name) is None:
            assert getattr(actual, name) is None
        else:
            assert_same_array(getattr(actual, name), getattr(expected, name))
    for name in ("backscal", "areascal"):
        if isinstance(getattr(expected, name), np.ndarray):
            assert_same_array(getattr(actual, name), getattr(expected, name))
        else:
            assert getattr(actual, name) == getattr(expected, name)
    assert actual.exposure == expected.exposure
    assert actual.is_poisson == expected.is_poisson
    assert actual.filenames == expected.filenames
    assert actual.meta == expected.meta
    if spectrum_number:
        assert actual.spectrum_number == expected.spectrum_number
    if expected.ebounds is not None:
        for name in ("channels", "energy_min", "energy_max"):
            assert_same_array(getattr(actual.ebounds, name), getattr(expected.ebounds, name))
        assert actual.ebounds.unit == expected.ebounds.unit
    if expected.gti is not None:
        assert_same_array(actual.gti.start, expected.gti.start)
        assert_same_array(actual.gti.stop, expected.gti.stop)
        assert actual.gti.header["MJDREFI"] == expected.gti.header["MJDREFI"]
    assert [hdu.name for hdu in actual.extra_hdus] == [hdu.name for hdu in expected.extra_hdus]
    for key in expected.header:
        if key not in ("COMMENT", "HISTORY", "HDUCLAS3", "HDUCLAS4"):  # layout keys
            assert actual.header[key] == expected.header[key], key


def assert_same_rmf(actual, expected):
    assert actual.edisp.shape == expected.edisp.shape
    assert_same_array(actual.edisp.to_dense(), expected.edisp.to_dense())
    assert_same_array(actual.edisp.energy_true_edges.value, expected.edisp.energy_true_edges.value)
    assert actual.edisp.energy_true_edges.unit == expected.edisp.energy_true_edges.unit
    for name in ("channels", "energy_min", "energy_max"):
        assert_same_array(getattr(actual.ebounds, name), getattr(expected.ebounds, name))
    assert actual.first_channel == expected.first_channel
    assert actual.includes_effective_area == expected.includes_effective_area


# --- H.E.S.S. joint-crab: every file ----------------------------------------------------------
@pytest.mark.parametrize("obs_id", sorted(HESS_RUNS))
def test_hess_run_bundle(data_dir, obs_id):
    counts_on, counts_off, backscal_off, n_good = HESS_RUNS[obs_id]
    bundle = read_ogip(data_dir / HESS / f"pha_obs{obs_id}.fits")
    spectrum, background, rmf, arf = bundle.spectrum, bundle.background, bundle.rmf, bundle.arf
    assert spectrum.n_channels == 80 == spectrum.ebounds.n_channels == rmf.ebounds.n_channels
    assert_same_array(spectrum.channels, np.arange(80, dtype=np.int64))  # no TLMIN: 0-based
    assert spectrum.counts.sum() == counts_on and background.counts.sum() == counts_off
    assert spectrum.is_poisson and background.is_poisson and background.is_background
    assert np.all(spectrum.backscal == 1.0) and np.all(background.backscal == backscal_off)
    assert (spectrum.quality == 0).sum() == n_good  # QUALITY=1 outside the safe range
    assert spectrum.meta["OBS_ID"] == obs_id
    assert (
        spectrum.exposure
        == fits.getheader(data_dir / HESS / f"pha_obs{obs_id}.fits", 1)["EXPOSURE"]
    )
    # RMF: 80 true bins x 80 channels, first channel 0 (TLMIN4 = 0), energies in keV
    assert rmf.edisp.shape == (80, 80) and rmf.first_channel == 0
    assert rmf.edisp.energy_true_edges.unit == u.keV
    np.testing.assert_allclose(rmf.edisp.energy_true_edges_tev[[0, -1]], [0.01, 100], rtol=1e-6)
    assert not rmf.includes_effective_area
    sums = rmf.edisp.row_sums()
    assert np.all(sums <= 1 + 1e-6)  # float32 rows sum to 1 + 4e-8 at most
    assert rmf.edisp.is_normalised()
    assert np.all(sums[:5] == 0)  # no migration below threshold
    np.testing.assert_array_equal(rmf.ebounds.energy_min, spectrum.ebounds.energy_min)
    # ARF in cm2 on the same true-energy grid (float64 there, float32 in the RMF)
    assert arf.effective_area.area.unit == u.cm**2
    np.testing.assert_allclose(
        arf.effective_area.energy_true_edges.value, rmf.edisp.energy_true_edges.value, rtol=1e-7
    )
    # combined response: exposure * area * matrix, folded in one product
    response = bundle.response
    expected = spectrum.exposure * arf.effective_area.area_cm2[:, None] * rmf.edisp.to_dense()
    np.testing.assert_allclose(response.to_dense(), expected, rtol=1e-15)
    flux = np.full(80, 1e-12)
    np.testing.assert_allclose(response.fold(flux), flux @ expected, rtol=1e-12)


def test_hess_counts_match_gammapy_reference(data_dir, reference_dir):
    facts = json.loads((reference_dir / "gammapy" / "wf2_joint_crab.json").read_text())
    for obs_id, info in facts["dataset_info"].items():
        if not obs_id.isdigit():
            continue
        bundle = read_ogip(data_dir / HESS / f"pha_obs{obs_id}.fits")
        assert bundle.spectrum.counts.sum() == info["counts"]
        assert bundle.background.counts.sum() == info["counts_off"]
        alpha = np.mean(bundle.spectrum.backscal / bundle.background.backscal)
        assert alpha == pytest.approx(info["alpha_mean"], rel=1e-12)


def all_files(folder: Path, pattern="*"):
    return sorted(path for path in folder.glob(pattern) if path.is_file())


def test_every_hess_file_reads_and_round_trips(data_dir, tmp_path):
    files = all_files(data_dir / HESS)
    assert len(files) == 16
    for path in files:
        kind = path.name.split("_")[0]
        out = tmp_path / path.name
        if kind in ("pha", "bkg"):
            spectrum = read_pha(path)
            (write_background if kind == "bkg" else write_pha)(spectrum, out)
            assert_same_spectrum(read_pha(out), spectrum)
        elif kind == "arf":
            arf = read_arf(path)
            assert arf.effective_area.n_true == 80
            write_arf(arf, out)
            again = read_arf(out)
            assert_same_array(again.effective_area.area.value, arf.effective_area.area.value)
            assert_same_array(
                again.effective_area.energy_true_edges.value,
                arf.effective_area.energy_true_edges.value,
            )
        else:
            rmf = read_rmf(path)
            write_rmf(rmf, out)
            assert_same_rmf(read_rmf(out), rmf)
            with fits.open(path) as original, fits.open(out) as written:
                # same compact layout: float32 values and energies, as Gammapy writes them
                assert written["MATRIX"].columns["MATRIX"].format.startswith("1PE")
                assert written["MATRIX"].columns["ENERG_LO"].format == "E"
                assert written["MATRIX"].header["NUMELT"] == original["MATRIX"].header["NUMELT"]


# --- PKS 2155-304 (gzipped, written by a later Gammapy) ---------------------------------------
def test_pks2155_gzipped_bundle_and_quirks(data_dir, tmp_path):
    bundle = read_ogip(data_dir / PKS / "pks2155-304_steady.fits.gz")
    spectrum, background = bundle.spectrum, bundle.background
    assert spectrum.n_channels == 10 and bundle.rmf.edisp.shape == (25, 10)
    assert spectrum.counts.sum() == 119.0 and background.counts.sum() == 453.0
    # QUALITY is a logical column: True -> 1 (bad)
    assert_same_array(spectrum.quality, np.array([1, 1, 0, 0, 0, 0, 0, 0, 0, 0], dtype=np.int16))
    # BACKSCAL is float32 (11.999999...), AREASCAL an integer keyword, GROUPING = 0 keyword
    assert background.backscal.dtype == np.float64 and background.backscal[2] != 12.0
    assert background.backscal[2] == np.float32(11.999999)
    assert spectrum.areascal == 1.0 and spectrum.grouping is None
    assert spectrum.meta["OBS_ID"] == "stacked"
    # ARF in m2, converted once for computations
    area = bundle.arf.effective_area
    assert area.area.unit == u.m**2
    np.testing.assert_allclose(area.area_cm2, area.area.value * 1e4)
    # GTI and the REGION HDU are kept
    assert spectrum.gti.start.size == 6 and spectrum.gti.header["MJDREFI"] == 51544
    assert [hdu.name for hdu in spectrum.extra_hdus] == ["REGION"]
    # the background file names itself as BACKFILE
    assert background.filenames["BACKFILE"] == "pks2155-304_steady_bkg.fits.gz"
    # the RMF leaks probability outside the 10 channels at both ends
    sums = bundle.rmf.edisp.row_sums()
    assert sums.max() <= 1 + 1e-6 and sums[2] < 0.05 and sums[-1] < 0.1
    for path in all_files(data_dir / PKS, "*.fits.gz"):
        out = tmp_path / path.name
        if path.name.endswith("_arf.fits.gz"):
            write_arf(read_arf(path), out)
            assert_same_array(read_arf(out).effective_area.area.value, area.area.value)
        elif path.name.endswith("_rmf.fits.gz"):
            write_rmf(read_rmf(path), out)
            assert_same_rmf(read_rmf(out), read_rmf(path))
        else:
            original = read_pha(path)
            write_pha(original, out)
            assert_same_spectrum(read_pha(out), original)


# --- 3ML demo files -----------------------------------------------------------------------------
def test_threeml_rsp_is_a_full_response(data_dir):
    rmf = read_rmf(data_dir / THREEML / "ogip_powerlaw.rsp")
    assert rmf.header["EXTNAME"] == "SPECRESP MATRIX"
    assert rmf.includes_effective_area  # values up to 152 cm2
    assert rmf.edisp.max_value == pytest.approx(152.53719, rel=1e-6)
    assert rmf.edisp.shape == (140, 128)
    assert rmf.first_channel == 1  # TLMIN4 = 1, scalar F_CHAN/N_CHAN columns
    assert_same_array(rmf.ebounds.channels, np.arange(1, 129, dtype=np.int64))
    assert rmf.edisp.folding_matrix.nnz == 9477  # NUMELT
    assert rmf.edisp.storage == "dense"  # 53 % dense: dense folds faster
    assert rmf.primary_header["DRM_NUM"] == 1


def test_threeml_pha_missing_backfile_and_explicit_override(data_dir):
    pha = data_dir / THREEML / "ogip_powerlaw.pha"
    # BACKFILE names ogip_powerlaw_bkg.pha, which is not shipped (the file is .bak)
    with pytest.raises(MissingFileError) as error:
        read_ogip(pha)
    message = str(error.value)
    assert "ogip_powerlaw.pha" in message and "BACKFILE" in message
    assert "ogip_powerlaw_bkg.pha" in message
    bundle = read_ogip(pha, background=data_dir / THREEML / "ogip_powerlaw.bak")
    assert bundle.spectrum.counts.sum() == 348.0 and bundle.spectrum.exposure == 200.0
    assert bundle.background.counts.sum() == 732.0 and bundle.background.exposure == 5000.0
    assert bundle.arf is None and bundle.rmf.includes_effective_area
    np.testing.assert_allclose(bundle.response.to_dense(), 200.0 * bundle.rmf.edisp.to_dense())
    assert bundle.spectrum.grouping is not None and np.all(bundle.spectrum.grouping == 1)
    # no background at all
    assert read_ogip(pha, background=False).background is None


def test_threeml_bak_points_outside_its_folder(data_dir):
    # RESPFILE is an absolute path on the author's machine: refused unless allowed
    bak = data_dir / THREEML / "ogip_powerlaw.bak"
    with pytest.raises(PathSafetyError, match="RESPFILE"):
        read_ogip(bak)
    with pytest.raises(MissingFileError, match=r"gbm_bat_joint_BGO_00\.rsp"):
        read_ogip(bak, allow_outside=True)
    assert read_ogip(bak, response=False).rmf is None


@pytest.mark.parametrize("name", ["ogip_powerlaw.pha", "ogip_powerlaw.bak"])
def test_threeml_pha_round_trip(data_dir, tmp_path, name):
    original = read_pha(data_dir / THREEML / name)
    write_pha(original, tmp_path / name)
    assert_same_spectrum(read_pha(tmp_path / name), original)
    assert read_pha(tmp_path / name).header["FKSRC001"] == "powerlaw"


@pytest.mark.parametrize("variable_length", [True, False])
def test_threeml_rsp_round_trip(data_dir, tmp_path, variable_length):
    original = read_rmf(data_dir / THREEML / "ogip_powerlaw.rsp")
    write_rmf(original, tmp_path / "x.rsp", variable_length=variable_length)
    again = read_rmf(tmp_path / "x.rsp")
    assert_same_rmf(again, original)
    assert again.header["EXTNAME"] == "SPECRESP MATRIX" and again.header["HDUCLAS3"] == "FULL"


# --- 3ML reference spectra (PHA-II, one row) ---------------------------------------------------
@pytest.mark.parametrize("name", ["s1", "s2"])
def test_threeml_reference_pha2(reference_dir, data_dir, tmp_path, name):
    folder = reference_dir / "threeml"
    facts = json.loads((folder / "task1_multisource.json").read_text())["simulation"][name]
    bundle = read_ogip(folder / f"task1_{name}.pha", spectrum_number=1)
    spectrum, background = bundle.spectrum, bundle.background
    assert spectrum.spectrum_number == 1 and background.spectrum_number == 1
    assert spectrum.filenames["RESPFILE"] == f"task1_{name}.rsp{{1}}"
    assert spectrum.filenames["BACKFILE"] == f"task1_{name}_bak.pha{{1}}"
    assert spectrum.filenames["ANCRFILE"] is None  # 'NONE'
    # RATE * EXPOSURE gives the simulated counts exactly
    assert_same_array(spectrum.counts, np.asarray(facts["observed_counts"], dtype=np.float64))
    assert_same_array(background.counts, np.asarray(facts["background_counts"], dtype=np.float64))
    assert spectrum.counts.sum() == facts["total_observed"]
    assert spectrum.n_channels == facts["n_channels"] == bundle.rmf.edisp.n_channels
    assert spectrum.exposure == facts["exposure"] and spectrum.is_poisson
    assert background.is_poisson
    assert_same_array(spectrum.sys_err, np.zeros(128))
    assert spectrum.header["TSTART"] == 0.0 and spectrum.header["TELAPSE"] == 1.0
    # the written RSP is the demo response, bit for bit (float32 values stored as float64)
    demo = read_rmf(data_dir / THREEML / "ogip_powerlaw.rsp")
    assert_same_rmf(bundle.rmf, demo)
    assert bundle.rmf.header["HDUCLAS3"] == "FULL"
    # '{1}' on the file name works like spectrum_number=1
    assert_same_spectrum(read_pha(f"{folder / f'task1_{name}.pha'}{{1}}"), spectrum)
    for path in (folder / f"task1_{name}.pha", folder / f"task1_{name}_bak.pha"):
        write_pha(read_pha(path), tmp_path / path.name)
        assert_same_spectrum(read_pha(tmp_path / path.name), read_pha(path), spectrum_number=False)
    write_rmf(bundle.rmf, tmp_path / "x.rsp")
    assert_same_rmf(read_rmf(tmp_path / "x.rsp"), bundle.rmf)
