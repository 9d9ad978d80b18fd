"""Real Fermi-LAT files: complete reads, the seed-001 map operations and lossless round trips.

Reference numbers come from Gammapy 2.1 (``reference/gammapy/wf1_flux_profile.json``,
section ``dataset_info``).
"""

import json

import astropy.units as u
import matplotlib
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.wcs import WCS
from scipy import ndimage

from fluxfit.errors import FormatError
from fluxfit.maps import (
    Map,
    RegionGeom,
    RegionNDMap,
    WcsNDMap,
    make_concentric_annulus_sky_regions,
    read_gtpsf,
    read_map_hdus,
    write_gtpsf,
    write_map_hdus,
)

matplotlib.use("Agg")

pytestmark = pytest.mark.data

GC = SkyCoord(0, 0, unit="deg", frame="galactic")


@pytest.fixture(scope="module")
def gc_file(data_dir):
    return data_dir / "gammapy-data" / "fermi-3fhl-gc" / "fermi-3fhl-gc.fits.gz"


@pytest.fixture(scope="module")
def crab_file(data_dir):
    return data_dir / "gammapy-data" / "fermi-3fhl-crab" / "Fermi-LAT-3FHL_data_Fermi-LAT.fits"


@pytest.fixture(scope="module")
def gc_maps(gc_file):
    return read_map_hdus(gc_file)


@pytest.fixture(scope="module")
def dataset_info(reference_dir):
    path = reference_dir / "gammapy" / "wf1_flux_profile.json"
    return json.loads(path.read_text())["dataset_info"]


def test_read_gc_dataset_completely(gc_maps):
    expected = {
        "COUNTS": (WcsNDMap, (11, 200, 400), "int32", "", ["energy"]),
        "EXPOSURE": (WcsNDMap, (12, 200, 400), "float32", "cm2 s", ["energy_true"]),
        "BACKGROUND": (WcsNDMap, (11, 200, 400), "float32", "", ["energy"]),
        "EDISP": (RegionNDMap, (12, 11, 1, 1), "float32", "", ["energy", "energy_true"]),
        "EDISP_EXPOSURE": (
            RegionNDMap,
            (12, 1, 1, 1),
            "float32",
            "m2 s",
            ["energy", "energy_true"],
        ),
        "PSF": (RegionNDMap, (11, 130, 1, 1), "float64", "sr-1", ["rad", "energy_true"]),
        "PSF_EXPOSURE": (RegionNDMap, (11, 1, 1, 1), "float64", "cm2 s", ["rad", "energy_true"]),
        "MASK_SAFE": (WcsNDMap, (11, 200, 400), "bool", "", ["energy"]),
    }
    assert list(gc_maps) == list(expected)
    for name, (cls, shape, dtype, unit, axes) in expected.items():
        m = gc_maps[name]
        assert isinstance(m, cls), name
        assert m.data.shape == shape, name
        assert m.data.dtype == np.dtype(dtype), name
        assert m.unit == u.Unit(unit), name
        assert m.geom.axes.names == axes, name
    # node-type axes (true energy of the exposure, PSF rad) as written by Gammapy
    assert gc_maps["EXPOSURE"].geom.axes["energy_true"].node_type == "center"
    assert gc_maps["PSF"].geom.axes["rad"].node_type == "center"
    assert gc_maps["EDISP"].geom.region is None


def test_dataset_info_matches_gammapy(gc_maps, dataset_info):
    counts = gc_maps["COUNTS"]
    assert list(counts.data.shape) == dataset_info["counts_shape"]
    np.testing.assert_allclose(
        counts.geom.axes["energy"].edges.to_value("GeV"),
        dataset_info["energy_edges_GeV"],
        rtol=1e-12,
    )
    assert float(counts.data.sum()) == dataset_info["total_counts"]
    background = float(gc_maps["BACKGROUND"].data.sum(dtype=np.float64))
    assert background == pytest.approx(dataset_info["total_background"], rel=1e-6)
    mask = gc_maps["MASK_SAFE"]
    assert int(mask.data.sum()) == dataset_info["mask_safe_n_true"]
    assert mask.data.size == dataset_info["mask_safe_n_total"]
    # "mask_safe excludes a 1 deg (20 px) border": same as the geometry's boundary mask
    np.testing.assert_array_equal(mask.data, mask.geom.boundary_mask(1 * u.deg).data)


def test_seed_image_operations(gc_maps, dataset_info, tmp_path):
    import matplotlib.pyplot as plt

    counts = gc_maps["COUNTS"]
    image = counts.sum_over_axes()
    assert image.data.shape == (1, 200, 400)
    assert image.data.sum() == dataset_info["total_counts"]
    smoothed = image.smooth("0.1 deg")
    # Gammapy semantics: sigma = 0.1 deg / 0.05 deg = 2 pixels, scipy default mode "reflect"
    expected = ndimage.gaussian_filter(image.data[0].astype(float), 2.0)
    np.testing.assert_allclose(smoothed.data[0], expected, rtol=1e-12)
    assert smoothed.data.sum() == pytest.approx(dataset_info["total_counts"], rel=1e-12)
    cutout = image.cutout(position=GC, width=3 * u.deg)
    assert cutout.geom.npix == (60, 60)
    # the 3x3 deg cutout is |l|, |b| < 1.5 deg: pixels 170..229 in x and 70..129 in y
    assert cutout.data.sum() == image.data[0, 70:130, 170:230].sum()
    assert cutout.data.sum() == 4074
    gc_image = cutout.smooth("0.1 deg")
    ax = gc_image.plot(stretch="sqrt", add_cbar=True)
    annuli = make_concentric_annulus_sky_regions(GC, radius_max="1.5 deg", nbin=11)
    RegionGeom.create(region=annuli).plot_region(ax=ax, color="w")
    ax.figure.savefig(tmp_path / "gc.png")
    plt.close("all")
    assert (tmp_path / "gc.png").stat().st_size > 1000


def _compare_files(original, rewritten):
    """Every map array bit-for-bit, WCS and BANDS tables equivalent."""
    with fits.open(original) as h1, fits.open(rewritten) as h2:
        assert [h.name for h in h1] == [h.name for h in h2]
        for hdu in h1:
            other = h2[hdu.name]
            if hdu.is_image:
                if hdu.data is None:
                    continue
                assert hdu.data.dtype.kind == other.data.dtype.kind, hdu.name
                assert hdu.data.dtype.itemsize == other.data.dtype.itemsize, hdu.name
                np.testing.assert_array_equal(hdu.data, other.data, err_msg=hdu.name)
                wcs1 = WCS(hdu.header, naxis=2)
                wcs2 = WCS(other.header, naxis=2)
                assert wcs1.wcs.compare(wcs2.wcs, tolerance=1e-12), hdu.name
                for key in ("WCSSHAPE", "BANDSHDU", "BUNIT"):
                    assert str(hdu.header.get(key)).strip() == str(other.header.get(key)).strip()
                continue
            if hdu.name.endswith("_BANDS"):
                # Gammapy reads the old THETA columns as the "rad" axis and writes RAD
                for key in ("AXCOLS1", "AXCOLS2", "INTERP1", "INTERP2"):
                    value = str(hdu.header.get(key)).replace("THETA", "RAD")
                    assert value == str(other.header.get(key)), (hdu.name, key)
                assert len(hdu.data) == len(other.data)
                cols2 = other.columns.names
                for col in hdu.columns.names:
                    col2 = col.replace("THETA", "RAD") if col not in cols2 else col
                    np.testing.assert_allclose(
                        np.asarray(hdu.data[col], float),
                        np.asarray(other.data[col2], float),
                        rtol=1e-7,
                    )
                continue
            for col in hdu.columns.names:
                a, b = np.asarray(hdu.data[col]), np.asarray(other.data[col])
                assert a.dtype.kind == b.dtype.kind and a.dtype.itemsize == b.dtype.itemsize, col
                np.testing.assert_array_equal(a, b, err_msg=f"{hdu.name}.{col}")


@pytest.mark.parametrize("which", ["gc", "crab"])
def test_round_trip_bit_for_bit(which, gc_file, crab_file, tmp_path):
    original = gc_file if which == "gc" else crab_file
    maps = read_map_hdus(original, include_tables=True)
    path = tmp_path / "rewritten.fits"
    write_map_hdus(path, maps)
    _compare_files(original, path)
    again = read_map_hdus(path, include_tables=True)
    assert list(again) == list(maps)
    for name, item in maps.items():
        if isinstance(item, Map):
            assert again[name].geom == item.geom, name
            assert again[name].unit == item.unit, name
            np.testing.assert_array_equal(again[name].data, item.data, err_msg=name)


def test_crab_dataset_maps(crab_file):
    maps = read_map_hdus(crab_file, include_tables=True)
    assert maps["PSF"].data.shape == (17, 300, 1, 2)
    assert maps["PSF"].geom.axes.names == ["rad", "energy_true"]  # THETA read as rad
    assert maps["EDISP"].geom.axes.names == ["energy", "energy_true"]
    assert maps["MASK_SAFE"].is_mask
    assert maps["GTI"].meta["MJDREFI"] == 51544
    counts = Map.read(crab_file, hdu="COUNTS")
    np.testing.assert_array_equal(counts.data, maps["COUNTS"].data)


@pytest.mark.parametrize(
    ("name", "fmt", "shape", "unit", "axis"),
    [
        ("fermi-3fhl-gc-counts-cube.fits.gz", "fgst-ccube", (11, 200, 400), "", "energy"),
        ("fermi-3fhl-gc-background-cube.fits.gz", "fgst-ccube", (11, 200, 400), "", "energy"),
        (
            "fermi-3fhl-gc-exposure-cube.fits.gz",
            "fgst-template",
            (12, 200, 400),
            "cm2 s",
            "energy_true",
        ),
        (
            "gll_iem_v06_gc.fits.gz",
            "fgst-template",
            (30, 64, 120),
            "cm-2 s-1 MeV-1 sr-1",
            "energy_true",
        ),
    ],
)
def test_fermi_cubes(name, fmt, shape, unit, axis, data_dir, gc_maps, tmp_path):
    path = data_dir / "gammapy-data" / "fermi-3fhl-gc" / name
    maps = read_map_hdus(path, include_tables=True)
    cube = maps["PRIMARY"]
    assert cube.data.shape == shape and cube.unit == u.Unit(unit)
    assert cube.geom.axes.names == [axis]
    if name.startswith("fermi-3fhl-gc-counts"):
        np.testing.assert_array_equal(cube.data, gc_maps["COUNTS"].data)
        assert "GTI" in maps and len(maps["GTI"]) == 38961
    out = tmp_path / "cube.fits"
    write_map_hdus(out, maps, formats={"PRIMARY": fmt})
    with fits.open(out) as hdulist:
        assert hdulist[1].name == ("EBOUNDS" if fmt == "fgst-ccube" else "ENERGIES")
    back = read_map_hdus(out, include_tables=True)["PRIMARY"]
    np.testing.assert_array_equal(back.data, cube.data)
    assert back.geom == cube.geom and back.unit == cube.unit


def test_images_and_gtpsf(data_dir, tmp_path):
    folder = data_dir / "gammapy-data" / "fermi-3fhl-gc"
    counts = Map.read(folder / "fermi-3fhl-gc-counts.fits.gz")
    assert counts.geom.is_image and counts.data.sum() == 32684
    psf, exposure = read_gtpsf(folder / "fermi-3fhl-gc-psf-cube.fits.gz")
    assert psf.geom.axes.names == ["rad", "energy_true"]
    assert psf.data.shape == (11, 300, 1, 1) and psf.unit == u.Unit("sr-1")
    assert exposure.data.shape == (11, 1, 1, 1) and exposure.unit == u.Unit("cm2 s")
    np.testing.assert_allclose(
        psf.geom.axes["energy_true"].center.to_value("MeV")[[0, -1]], [1e4, 5e5]
    )
    # the PSF is normalised: integral of 2 pi r psf(r) dr ~ 1 at every energy
    rad = psf.geom.axes["rad"].center.to_value("rad")
    integral = np.trapezoid(2 * np.pi * rad * psf.data[:, :, 0, 0], rad, axis=1)
    np.testing.assert_allclose(integral, 1, atol=0.02)
    write_gtpsf(tmp_path / "psf.fits", psf, exposure)
    psf2, exposure2 = read_gtpsf(tmp_path / "psf.fits")
    np.testing.assert_array_equal(psf2.data, psf.data)
    np.testing.assert_array_equal(exposure2.data, exposure.data)
    assert set(read_map_hdus(folder / "fermi-3fhl-gc-psf-cube.fits.gz")) == {"PSF", "PSF_EXPOSURE"}


def test_missing_hdu_and_bands_in_real_file(gc_file, tmp_path):
    with pytest.raises(FormatError, match=r"fermi-3fhl-gc.fits.gz.*missing HDU 'NOPE'"):
        Map.read(gc_file, hdu="NOPE")
    with fits.open(gc_file) as hdulist:
        hdus = [h for h in hdulist if h.name != "EDISP_BANDS"]
        fits.HDUList(hdus).writeto(tmp_path / "broken.fits")
    with pytest.raises(FormatError, match=r"broken.fits.*EDISP.*EDISP_BANDS"):
        read_map_hdus(tmp_path / "broken.fits")


def test_reads_gammapy_21_written_file_like_the_original(crab_file, reference_dir, tmp_path):
    """The MapDataset file written by Gammapy 2.1 reads to the same maps, and ours matches it."""
    gammapy_file = reference_dir / "gammapy" / "wf2_roundtrip" / "Fermi-LAT.fits"
    original = read_map_hdus(crab_file, include_tables=True)
    written_by_gammapy = read_map_hdus(gammapy_file, include_tables=True)
    assert list(written_by_gammapy) == list(original)
    for name, item in original.items():
        if isinstance(item, Map):
            assert written_by_gammapy[name].geom == item.geom, name
            np.testing.assert_array_equal(written_by_gammapy[name].data, item.data, err_msg=name)
    ours = tmp_path / "ours.fits"
    write_map_hdus(ours, original)
    with fits.open(gammapy_file) as ref, fits.open(ours) as new:
        assert [h.name for h in ref] == [h.name for h in new]
        for hdu in ref[1:]:
            other = new[hdu.name]
            if hdu.name.endswith("_BANDS"):
                assert hdu.columns.names == other.columns.names, hdu.name
                assert [c.format for c in hdu.columns] == [c.format for c in other.columns]
                for col in hdu.columns.names:
                    np.testing.assert_allclose(hdu.data[col], other.data[col], rtol=1e-12)
            for key in ("AXCOLS1", "INTERP1", "AXCOLS2", "WCSSHAPE", "BANDSHDU", "BUNIT", "META"):
                assert hdu.header.get(key) == other.header.get(key), (hdu.name, key)
