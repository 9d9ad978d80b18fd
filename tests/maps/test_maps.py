"""Map, WcsNDMap and RegionNDMap on synthetic data: arithmetic, reductions, I/O, plots."""

import astropy.units as u
import matplotlib
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits
from regions import CircleSkyRegion, RectangleSkyRegion
from scipy import ndimage

from fluxfit.errors import DatasetError, FormatError, MissingFileError, OverwriteError, UnitError
from fluxfit.maps import Map, MapAxis, RegionGeom, RegionNDMap, WcsGeom, WcsNDMap

matplotlib.use("Agg")

GC = SkyCoord(0, 0, unit="deg", frame="galactic")


@pytest.fixture
def energy_axis():
    return MapAxis.from_energy_bounds("10 GeV", "1 TeV", 4)


@pytest.fixture
def cube(energy_axis):
    geom = WcsGeom.create(
        npix=(40, 30), binsz=0.05, skydir=GC, frame="galactic", axes=[energy_axis]
    )
    rng = np.random.default_rng(42)
    return Map.from_geom(geom, data=rng.poisson(3.0, geom.data_shape).astype("int32"))


def test_create_and_from_geom(energy_axis):
    m = Map.create(npix=(4, 3), binsz=0.1, axes=[energy_axis], unit="cm-2 s-1", dtype="float64")
    assert isinstance(m, WcsNDMap) and m.data.shape == (4, 3, 4) and m.data.dtype == np.float64
    assert m.unit == u.Unit("cm-2 s-1")
    region_map = Map.create(
        map_type="region", region="icrs;circle(83.6, 22.0, 0.1)", axes=[energy_axis]
    )
    assert isinstance(region_map, RegionNDMap) and region_map.data.shape == (4, 1, 1)
    filled = Map.from_geom(m.geom, data=2.5)
    assert np.all(filled.data == 2.5)
    quantity = Map.from_geom(m.geom, data=np.ones(m.geom.data_shape) * u.s)
    assert quantity.unit == u.s
    with pytest.raises(DatasetError, match="shape"):
        Map.from_geom(m.geom, data=np.ones((2, 2)))
    with pytest.raises(UnitError, match="unit"):
        Map.from_geom(m.geom, unit="furlongs per bogus")


def test_arithmetic_with_units(cube):
    exposure = Map.from_geom(cube.geom, data=2.0, unit="cm2 s")
    flux = cube / exposure
    assert flux.unit == u.Unit("cm-2 s-1")
    np.testing.assert_allclose(flux.data, cube.data / 2.0)
    total = exposure + 1 * u.Unit("m2 s")
    np.testing.assert_allclose(total.data, 2.0 + 1e4)
    assert (2 * exposure).unit == exposure.unit and np.all((2 * exposure).data == 4)
    assert np.all((exposure - exposure).data == 0)
    mask = cube > 3
    assert mask.is_mask and mask.data.sum() == (cube.data > 3).sum()
    assert ((~mask) | mask).data.all()
    with pytest.raises(UnitError, match="convertible"):
        exposure + 1 * u.TeV
    other_geom = cube.geom.to_image()
    with pytest.raises(DatasetError, match="geometries"):
        cube + Map.from_geom(other_geom)


def test_sum_over_axes_and_reduce(cube):
    summed = cube.sum_over_axes()
    assert summed.data.shape == (1, 30, 40)
    assert summed.geom.axes["energy"].nbin == 1
    np.testing.assert_array_equal(summed.data[0], cube.data.sum(axis=0))
    image = cube.sum_over_axes(keepdims=False)
    assert image.geom.is_image and image.data.sum() == cube.data.sum()
    maximum = cube.reduce("energy", func=np.maximum)
    np.testing.assert_array_equal(maximum.data, cube.data.max(axis=0))
    nan_map = Map.from_geom(
        cube.geom, data=np.where(cube.data > 5, np.nan, cube.data).astype(float)
    )
    assert nan_map.sum_over_axes().data.sum() == cube.data[cube.data <= 5].sum()


def test_smooth_gammapy_semantics(cube):
    image = cube.sum_over_axes(keepdims=False)
    smoothed = image.smooth("0.1 deg")  # sigma = 0.1 / 0.05 = 2 pixels, mode "reflect"
    expected = ndimage.gaussian_filter(image.data.astype(float), 2.0)
    np.testing.assert_allclose(smoothed.data, expected, rtol=1e-12)
    assert smoothed.data.sum() == pytest.approx(image.data.sum(), rel=1e-12)
    np.testing.assert_allclose(image.smooth(2.0).data, expected, rtol=1e-12)
    constant = image.smooth(0.1 * u.deg, mode="constant")
    assert constant.data.sum() < image.data.sum()
    cube_smoothed = cube.smooth("0.1 deg")
    np.testing.assert_allclose(
        cube_smoothed.data[2], ndimage.gaussian_filter(cube.data[2].astype(float), 2.0), rtol=1e-12
    )
    box = ndimage.uniform_filter(image.data.astype(float), 2)
    np.testing.assert_allclose(image.smooth("0.1 deg", kernel="box").data, box, rtol=1e-12)
    assert image.smooth("0.1 deg", kernel="disk").data.shape == image.data.shape
    with pytest.raises(UnitError, match="angle"):
        image.smooth(1 * u.TeV)


def test_cutout_data(cube):
    cutout = cube.cutout(GC, width=0.5 * u.deg)
    assert cutout.geom.npix == (10, 10)
    slices = cutout.geom.cutout_slices(cube.geom)["parent-slices"]
    np.testing.assert_array_equal(cutout.data, cube.data[(Ellipsis, *slices)])
    position = SkyCoord(0.95, 0, unit="deg", frame="galactic")  # near the left image edge
    partial = cube.cutout(position, width=0.5, mode="partial")
    assert partial.geom.npix == (10, 10)
    slices = partial.geom.cutout_slices(cube.geom, mode="partial")
    inside = partial.data[(Ellipsis, *slices["cutout-slices"])]
    np.testing.assert_array_equal(inside, cube.data[(Ellipsis, *slices["parent-slices"])])
    assert partial.data.sum() == inside.sum() and inside.size < partial.data.size


def test_interp_get_and_fill(energy_axis):
    geom = WcsGeom.create(npix=(5, 4), binsz=1.0, axes=[energy_axis])
    iy, ix = np.mgrid[0:4, 0:5]
    data = (ix + 10 * iy)[np.newaxis] + 100 * np.arange(4)[:, None, None]
    m = Map.from_geom(geom, data=data.astype(float))
    coords = geom.pix_to_coord((np.array([1.5, 3.25]), np.array([0.5, 2.0]), np.array([0.0, 1.5])))
    values = m.interp_by_coord(coords)
    np.testing.assert_allclose(values, [1.5 + 5 + 0, 3.25 + 20 + 150], rtol=1e-9)
    np.testing.assert_allclose(m.interp_by_coord(coords, method="nearest"), [2 + 10, 3 + 20 + 200])
    np.testing.assert_allclose(m.get_by_coord(coords), [2 + 10, 3 + 20 + 200])
    outside = {"lon": [40.0], "lat": [0.0], "energy": [100] * u.GeV}
    assert np.isnan(m.get_by_coord(outside)[0])
    assert m.interp_by_coord(outside, fill_value=0)[0] == 0
    m.fill_by_coord(
        {"lon": [0, 0, 0], "lat": [0, 0, 0], "energy": [20, 20, 500] * u.GeV}, weights=[1, 2, 3]
    )
    idx = geom.coord_to_idx({"lon": [0], "lat": [0], "energy": [20] * u.GeV})
    assert m.data[idx[2][0], idx[1][0], idx[0][0]] == data[0, idx[1][0], idx[0][0]] + 3
    image = m.get_image_by_idx((2,))
    np.testing.assert_array_equal(image.data, data[2])
    assert m.get_image_by_coord({"energy": "300 GeV"}).data[0, 0] == m.data[2, 0, 0]
    sliced = m.slice_by_idx({"energy": slice(1, 3)})
    assert sliced.geom.axes["energy"].nbin == 2 and np.all(sliced.data == m.data[1:3])


def test_resample_axis_and_reproject(cube):
    coarse = MapAxis.from_energy_edges(cube.geom.axes["energy"].edges[::2])
    resampled = cube.resample_axis(coarse)
    np.testing.assert_array_equal(resampled.data[0], cube.data[0] + cube.data[1])
    target = WcsGeom.create(npix=(20, 15), binsz=0.1, skydir=GC, frame="galactic")
    reprojected = cube.sum_over_axes(keepdims=False).reproject_to_geom(target, preserve_counts=True)
    assert reprojected.data.sum() == pytest.approx(cube.data.sum(), rel=1e-6)
    down = cube.downsample(2)
    assert down.geom.npix == (20, 15) and down.data.sum() == cube.data.sum()
    up = cube.copy(data=cube.data.astype(float))
    assert up.upsample(2).data.sum() == pytest.approx(cube.data.sum(), rel=1e-6)


def test_region_reductions_single_and_vectorised(cube):
    regions = [
        CircleSkyRegion(GC, 0.3 * u.deg),
        RectangleSkyRegion(
            SkyCoord(0.5, 0.2, unit="deg", frame="galactic"), 0.4 * u.deg, 0.2 * u.deg
        ),
        CircleSkyRegion(SkyCoord(5, 5, unit="deg", frame="galactic"), 0.1 * u.deg),  # outside
    ]
    values = cube.reduce_regions(regions, func="sum")
    assert values.shape == (3, 4)
    for region, value in zip(regions, values):
        mask = cube.geom.to_image().region_mask(region).data
        np.testing.assert_array_equal(value, cube.data[:, mask].sum(axis=1))
        single = cube.to_region_nd_map(region, func=np.sum)
        np.testing.assert_array_equal(single.data[:, 0, 0], value)
    mask_safe = Map.from_geom(cube.geom, data=cube.data > 2)
    weighted = cube.reduce_regions(regions[:2], func="sum", weights=mask_safe)
    single = cube.to_region_nd_map(regions[0], func=np.sum, weights=mask_safe)
    np.testing.assert_array_equal(single.data[:, 0, 0], weighted[0])
    means = cube.reduce_regions(regions[:2], func="mean")
    single_mean = cube.to_region_nd_map(regions[1], func=np.mean)
    np.testing.assert_allclose(single_mean.data[:, 0, 0], means[1])
    maps = cube.to_region_nd_maps(regions[:2], func=np.sum)
    assert [type(m).__name__ for m in maps] == ["RegionNDMap", "RegionNDMap"]
    assert maps[1].geom.region is regions[1]
    npix = cube.reduce_regions(regions, func="npix")
    assert npix[2, 0] == 0 and npix[0, 0] > 0
    point = cube.to_region_nd_map(GC)
    assert point.data.shape == (4, 1, 1)


def test_region_map_interp_and_spectrum(energy_axis):
    region = CircleSkyRegion(SkyCoord(83.63, 22.01, unit="deg"), 0.2 * u.deg)
    spectrum = RegionNDMap.create(region, axes=[energy_axis], unit="cm-2 s-1")
    spectrum.data[:, 0, 0] = np.log(energy_axis.center.to_value("GeV"))
    energy = np.sqrt(energy_axis.center[0] * energy_axis.center[1])
    value = spectrum.interp_by_coord({"energy": energy})
    assert value[0] == pytest.approx(np.log(energy.to_value("GeV")), rel=1e-6)  # float32 data
    assert spectrum.get_spectrum() is spectrum
    summed = spectrum.sum_over_axes(keepdims=False)
    assert summed.data.shape == (1, 1)
    down = spectrum.downsample(2, axis_name="energy")
    assert down.data.shape == (2, 1, 1)


def test_write_read_round_trip_wcs(tmp_path, cube):
    cube.meta["creator"] = "test"
    path = tmp_path / "cube.fits"
    cube.write(path, hdu="COUNTS")
    with fits.open(path) as hdulist:
        assert [h.name for h in hdulist] == ["PRIMARY", "COUNTS", "COUNTS_BANDS"]
        assert hdulist["COUNTS"].header["BANDSHDU"] == "COUNTS_BANDS"
    back = Map.read(path)
    assert back.geom == cube.geom and back.meta == cube.meta
    np.testing.assert_array_equal(back.data, cube.data)
    assert back.data.dtype == cube.data.dtype
    with pytest.raises(OverwriteError, match=r"cube.fits"):
        cube.write(path, hdu="COUNTS")
    cube.write(path, hdu="COUNTS", overwrite=True)
    mask = Map.from_geom(cube.geom, data=cube.data > 3)
    mask.write(tmp_path / "mask.fits", hdu="MASK_SAFE")
    back_mask = Map.read(tmp_path / "mask.fits", hdu="MASK_SAFE")
    assert back_mask.is_mask and np.array_equal(back_mask.data, mask.data)


def test_write_read_round_trip_region(tmp_path, energy_axis):
    region = CircleSkyRegion(SkyCoord(83.63, 22.01, unit="deg"), 0.2 * u.deg)
    rad = MapAxis.from_nodes(np.linspace(0, 1, 5), unit="deg", name="rad")
    spectrum = RegionNDMap.create(region, axes=[rad, energy_axis], unit="sr-1")
    spectrum.data = np.arange(20, dtype=float).reshape(spectrum.data.shape)
    spectrum.write(tmp_path / "spec.fits", hdu="PSF")
    with fits.open(tmp_path / "spec.fits") as hdulist:
        assert [h.name for h in hdulist] == ["PRIMARY", "PSF", "PSF_BANDS", "PSF_REGION"]
        assert len(hdulist["PSF"].data) == 20
    back = Map.read(tmp_path / "spec.fits", hdu="PSF")
    assert isinstance(back, RegionNDMap) and back.unit == u.Unit("sr-1")
    np.testing.assert_array_equal(back.data, spectrum.data)
    assert back.geom.axes == spectrum.geom.axes
    assert back.geom.region.center.separation(region.center).deg < 1e-6
    assert back.geom.region.radius.to_value("deg") == pytest.approx(0.2, rel=1e-6)


def test_read_errors(tmp_path, cube):
    with pytest.raises(MissingFileError, match=r"nope.fits"):
        Map.read(tmp_path / "nope.fits")
    bad = tmp_path / "bad.fits"
    bad.write_text("not a fits file")
    with pytest.raises(FormatError, match=r"bad.fits"):
        Map.read(bad)
    path = tmp_path / "cube.fits"
    cube.write(path, hdu="COUNTS")
    with pytest.raises(FormatError, match=r"cube.fits.*missing HDU 'EXPOSURE'"):
        Map.read(path, hdu="EXPOSURE")
    with fits.open(path) as hdulist:
        del hdulist["COUNTS_BANDS"]
        hdulist.writeto(tmp_path / "nobands.fits")
    with pytest.raises(FormatError, match=r"nobands.fits.*COUNTS.*COUNTS_BANDS"):
        Map.read(tmp_path / "nobands.fits", hdu="COUNTS")
    with fits.open(path) as hdulist:
        hdulist["COUNTS"].header["BUNIT"] = "bogus-unit"
        hdulist.writeto(tmp_path / "badunit.fits")
    with pytest.raises(UnitError, match=r"badunit.fits.*COUNTS.*BUNIT.*bogus-unit"):
        Map.read(tmp_path / "badunit.fits", hdu="COUNTS")


def test_plot_and_plot_grid(tmp_path, cube):
    import matplotlib.pyplot as plt

    image = cube.sum_over_axes()
    ax = image.smooth("0.1 deg").plot(stretch="sqrt", add_cbar=True)
    region_geom = RegionGeom.create([CircleSkyRegion(GC, 0.3 * u.deg)])
    region_geom.plot_region(ax=ax, color="w")
    ax.figure.savefig(tmp_path / "image.png")
    plt.close("all")
    axes = cube.plot_grid(ncols=2, stretch="log")
    assert len(axes) == 4
    axes[0].figure.savefig(tmp_path / "grid.png")
    plt.close("all")
    assert (tmp_path / "image.png").stat().st_size > 1000
    assert (tmp_path / "grid.png").stat().st_size > 1000
    with pytest.raises(DatasetError, match="plot_grid"):
        cube.plot()
