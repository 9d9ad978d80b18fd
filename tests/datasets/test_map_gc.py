"""Fermi-LAT 3FHL Galactic-centre dataset: facts, region spectra for flux profiles.

Reference: ``../shared/reference/gammapy/wf1_flux_profile.json`` (Gammapy 2.1):
``dataset_info``, and per profile bin the ``counts`` and ``stat_null`` (Cash statistic of
the counts against the background over the safe bins) that Gammapy's
``FluxProfileEstimator`` derived from ``MapDataset.to_spectrum_dataset`` in each region.
These pin down the region reduction exactly (1e-9 relative).
"""

import json

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from regions import CircleSkyRegion, RectangleSkyRegion

from fluxfit.datasets import SpectrumDataset
from fluxfit.datasets.map import MapDataset
from fluxfit.maps import make_orthogonal_rectangle_sky_regions
from fluxfit.models import Models, PowerLawSpectralModel, SkyModel
from fluxfit.stats import cash


@pytest.fixture(scope="module")
def wf1(reference_dir):
    return json.loads((reference_dir / "gammapy/wf1_flux_profile.json").read_text())


@pytest.fixture(scope="module")
def gc(data_dir):
    return MapDataset.read(
        data_dir / "gammapy-data/fermi-3fhl-gc/fermi-3fhl-gc.fits.gz", name="fermi-dataset"
    )


def test_gc_dataset_facts(gc, wf1):
    info = wf1["dataset_info"]
    assert list(gc.data_shape) == info["counts_shape"]
    assert np.allclose(gc.energy_axis.edges.to_value("GeV"), info["energy_edges_GeV"], rtol=1e-6)
    assert float(gc.counts.data.sum()) == info["total_counts"]
    # float32 data: Gammapy's float32 sum differs from the float64 one by 2e-7
    assert float(gc.background.data.sum(dtype=np.float64)) == pytest.approx(
        info["total_background"], rel=1e-6
    )
    assert int(gc.mask_safe.data.sum()) == info["mask_safe_n_true"]
    assert gc.mask_safe.data.size == info["mask_safe_n_total"]
    assert (gc.mask_fit is not None) == info["mask_fit"]
    assert gc.psf.has_single_spatial_bin
    assert gc.exposure.geom.data_shape == (12, 200, 400)


def test_gc_images(gc, wf1):
    image = gc.counts.sum_over_axes(keepdims=False)
    assert float(image.data.sum()) == wf1["dataset_info"]["total_counts"]
    cut = image.cutout(SkyCoord(0, 0, unit="deg", frame="galactic"), 3 * u.deg)
    assert cut.geom.npix == (60, 60)
    smoothed = cut.smooth("0.1 deg")
    assert smoothed.data.sum() == pytest.approx(cut.data.sum(), rel=0.05)


def _regions(gc, start, stop, nbin):
    return make_orthogonal_rectangle_sky_regions(
        start_pos=SkyCoord(f"{start}d", "0d", frame="galactic"),
        end_pos=SkyCoord(f"{stop}d", "0d", frame="galactic"),
        wcs=gc.counts.geom.wcs,
        height=3 * u.deg,
        nbin=nbin,
    )


def _stat_null(reduced):
    out = []
    for counts, background, mask in zip(
        reduced["counts"], reduced["background"], reduced["mask_safe"]
    ):
        out.append(np.sum(cash(counts[mask], background[mask])))
    return np.array(out)


@pytest.mark.parametrize(
    "key, start, stop, nbin, mask_safe",
    [("a_tutorial21_49bins", 9, 351, 49, True), ("a_brief_51bins_nomasksafe", 10, 350, 51, False)],
)
def test_region_reduction_matches_gammapy(gc, wf1, key, start, stop, nbin, mask_safe):
    dataset = gc if mask_safe else gc.copy()
    if not mask_safe:
        dataset.mask_safe = None
    reduced = dataset.reduce_regions(_regions(gc, start, stop, nbin))
    bins = wf1[key]["bins"]
    ref_counts = np.nan_to_num([np.ravel(b["counts"])[0] for b in bins])
    assert np.array_equal(reduced["counts"].sum(axis=1), ref_counts)
    ref_null = np.array([np.ravel(b["stat_null"])[0] for b in bins])
    assert np.allclose(_stat_null(reduced), ref_null, rtol=1e-9)


def test_spectrum_datasets_batch_equals_single(gc):
    regions = _regions(gc, 10, 350, 51)[:6]
    many = gc.to_spectrum_datasets(regions)
    for region, spectrum in zip(regions, many):
        single = gc.to_spectrum_dataset(region, name="x")
        assert isinstance(single, SpectrumDataset)
        assert np.array_equal(single.counts, spectrum.counts)
        assert np.allclose(single.background, spectrum.background)
        assert np.allclose(single.exposure, spectrum.exposure)
        assert np.array_equal(single.mask_safe, spectrum.mask_safe)
        assert np.allclose(single.edisp.to_dense(), spectrum.edisp.to_dense())
    assert many[0].name == "fermi-dataset-region-0"
    assert many[0].meta["region"] is regions[0]


def test_non_uniform_safe_mask(gc):
    """A region half inside the 1-deg border: Gammapy 2.1 raises, we reduce consistently."""
    border = RectangleSkyRegion(
        SkyCoord(9.0, 0.0, unit="deg", frame="galactic"), width=1.0 * u.deg, height=1 * u.deg
    )
    inside = RectangleSkyRegion(
        SkyCoord(8.75, 0.0, unit="deg", frame="galactic"), width=0.5 * u.deg, height=1 * u.deg
    )
    full = gc.copy()
    full.mask_safe = None
    reduced = gc.reduce_regions([border, inside])
    reduced_all = full.reduce_regions([border, inside])
    # counts and background: safe pixels only, which here are those of `inside`
    assert np.array_equal(reduced["counts"][0], reduced["counts"][1])
    assert np.allclose(reduced["background"][0], reduced["background"][1])
    assert reduced_all["counts"][0].sum() > reduced["counts"][0].sum()
    # exposure: the region mean; dispersion rows scaled by the safe exposure fraction
    npix_border, npix_inside = reduced["npix"]
    assert npix_border == 2 * npix_inside
    frac = reduced["safe_fraction"][0]
    assert np.all((frac > 0.45) & (frac < 0.55))
    assert np.all(reduced["safe_fraction"][1] == 1.0)
    # predicted counts of a flat source: flux x mean exposure x fraction equals the
    # exposure summed over the safe pixels divided by the region's pixel count
    flux = np.ones(reduced["exposure"].shape[1])
    predicted = flux @ (reduced["exposure"][0][:, None] * reduced["edisp"][0])
    expected = (
        flux @ (reduced["exposure"][1][:, None] * reduced["edisp"][1]) * npix_inside / npix_border
    )
    assert np.allclose(predicted, expected, rtol=1e-3)
    spectrum = gc.to_spectrum_dataset(border)
    spectrum.models = Models([SkyModel(PowerLawSpectralModel(), name="pl")])
    assert np.isfinite(spectrum.stat_sum())


def test_containment_correction(gc):
    region = CircleSkyRegion(SkyCoord(0, 0, unit="deg", frame="galactic"), 0.3 * u.deg)
    plain = gc.to_spectrum_dataset(region)
    corrected = gc.to_spectrum_dataset(region, containment_correction=True)
    ratio = corrected.exposure.value / plain.exposure.value
    assert np.all((ratio > 0.3) & (ratio <= 1.0))
    assert np.all(np.diff(ratio) > -0.05)  # the PSF narrows with energy
