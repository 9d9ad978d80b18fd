"""WcsGeom and RegionGeom: coordinates against astropy.wcs, masks, cutouts, regions."""

import astropy.units as u
import matplotlib
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.wcs import WCS
from regions import (
    CircleAnnulusSkyRegion,
    CircleSkyRegion,
    PixCoord,
    PointSkyRegion,
    RectangleSkyRegion,
)

from fluxfit.errors import DatasetError, UnitError
from fluxfit.maps import (
    MapAxis,
    MapCoord,
    RegionGeom,
    WcsGeom,
    compound_region_center,
    regions_to_compound_region,
)

matplotlib.use("Agg")

GC = SkyCoord(0, 0, unit="deg", frame="galactic")


@pytest.fixture(scope="module")
def energy_axis():
    return MapAxis.from_energy_bounds("10 GeV", "2 TeV", 3)


@pytest.mark.parametrize("proj", ["CAR", "TAN", "AIT", "ZEA", "SIN"])
def test_coords_match_astropy_wcs(proj, energy_axis):
    geom = WcsGeom.create(
        skydir=SkyCoord(83.63, 22.01, unit="deg"),
        width=(4, 3),
        binsz=0.1,
        proj=proj,
        axes=[energy_axis],
    )
    assert geom.data_shape == (3, 30, 40)
    assert geom.npix == (40, 30) and geom.projection == proj and geom.frame == "icrs"
    coords = geom.get_coord()
    assert coords.lon.shape == geom.data_shape
    y, x = np.mgrid[0:30, 0:40]
    sky = geom.wcs.pixel_to_world(x, y)
    np.testing.assert_allclose(coords.lon[1], sky.ra.deg, atol=1e-10)
    np.testing.assert_allclose(coords.lat[2], sky.dec.deg, atol=1e-10)
    np.testing.assert_allclose(coords["energy"][:, 0, 0].to_value("TeV"), energy_axis.center.value)
    # coordinates -> pixels -> coordinates
    pix = geom.coord_to_pix(coords)
    np.testing.assert_allclose(pix[0][0], x, atol=1e-8)
    np.testing.assert_allclose(pix[1][0], y, atol=1e-8)
    np.testing.assert_allclose(pix[2][:, 0, 0], [0, 1, 2], atol=1e-10)
    assert geom.get_coord() is coords  # cached
    assert geom.contains(coords).all()


def test_create_variants_and_header_round_trip(energy_axis):
    geom = WcsGeom.create(
        npix=(400, 200), binsz=0.05, skydir=GC, frame="galactic", axes=[energy_axis]
    )
    assert geom.wcs.wcs.ctype[0] == "GLON-CAR"
    np.testing.assert_allclose(geom.wcs.wcs.crpix, [200.5, 100.5])
    np.testing.assert_allclose(geom.width.to_value("deg"), [20, 10])
    np.testing.assert_allclose(geom.pixel_scales.deg, [0.05, 0.05])
    assert geom.center_skydir.separation(GC).deg < 1e-10
    # an ICRS skydir is transformed to the requested frame
    icrs = WcsGeom.create(npix=3, skydir=GC.icrs, frame="galactic")
    np.testing.assert_allclose((icrs.wcs.wcs.crval + 180) % 360 - 180, [0, 0], atol=1e-8)
    allsky = WcsGeom.create(binsz=1.0, proj="AIT", frame="galactic")
    assert allsky.is_allsky and allsky.npix == (360, 180)
    header = geom.to_header()
    assert header["WCSSHAPE"] == "(400,200,3)" and header["AXCOLS1"] == "E_MIN,E_MAX"
    back = WcsGeom.from_header(header, geom.to_bands_hdu(hdu_bands="X_BANDS"))
    assert back == geom
    with pytest.raises(UnitError, match="width"):
        WcsGeom.create(width="3 TeV")


def test_pix_to_idx_and_contains(energy_axis):
    geom = WcsGeom.create(npix=(10, 5), binsz=1.0, axes=[energy_axis])
    idx = geom.pix_to_idx((np.array([-0.6, 0.4, 9.4, 9.6]), np.zeros(4), np.zeros(4)))
    np.testing.assert_array_equal(idx[0], [-1, 0, 9, -1])
    coords = {"lon": [0, 50], "lat": [0, 0], "energy": [100, 100] * u.GeV}
    np.testing.assert_array_equal(geom.contains(coords), [True, False])
    coords_out = {"lon": [0], "lat": [0], "energy": [5] * u.TeV}
    assert not geom.contains(coords_out)[0]


def test_solid_angle_full_sky_and_pixel_area():
    allsky = WcsGeom.create(binsz=1.0, proj="CAR", frame="galactic")
    assert allsky.solid_angle().sum().to_value("sr") == pytest.approx(4 * np.pi, rel=1e-3)
    small = WcsGeom.create(npix=(3, 3), binsz=0.05, skydir=GC, frame="galactic")
    expected = (0.05 * u.deg).to_value("rad") ** 2
    np.testing.assert_allclose(small.solid_angle().to_value("sr"), expected, rtol=1e-6)
    # CAR centred at lat 60 is oblique: unit scale at the reference point
    high = WcsGeom.create(npix=(1, 1), binsz=1.0, skydir=SkyCoord(0, 60, unit="deg"))
    assert high.solid_angle().to_value("sr").item() == pytest.approx(np.radians(1) ** 2, rel=1e-3)
    # a pixel of a CAR map centred on the equator, at lat 60, is cos(60) smaller
    strip = WcsGeom.create(npix=(1, 121), binsz=1.0, frame="galactic")
    assert strip.solid_angle()[-1, 0].to_value("sr") == pytest.approx(
        np.radians(1) ** 2 * np.cos(np.radians(60)), rel=1e-2
    )


def test_separation_matches_skycoord():
    geom = WcsGeom.create(npix=(20, 10), binsz=0.3, skydir=GC, frame="galactic", proj="TAN")
    center = SkyCoord(1, 0.5, unit="deg", frame="galactic")
    sep = geom.separation(center)
    expected = center.separation(geom.get_coord().skycoord)
    np.testing.assert_allclose(sep.deg, expected.deg, atol=1e-10)


def test_cutout_geometry_and_slices(energy_axis):
    geom = WcsGeom.create(
        npix=(400, 200), binsz=0.05, skydir=GC, frame="galactic", axes=[energy_axis]
    )
    cutout = geom.cutout(GC, width=3 * u.deg)
    assert cutout.npix == (60, 60) and cutout.axes == geom.axes
    assert cutout.center_skydir.separation(GC).deg < 1e-8
    slices = cutout.cutout_slices(geom)
    assert slices["parent-slices"] == (slice(70, 130), slice(170, 230))
    edge = geom.cutout(SkyCoord(9.9, 0, unit="deg", frame="galactic"), width=(2, 1))
    assert edge.npix == (22, 20)  # trimmed at the image border


def test_up_down_sample_and_pad(energy_axis):
    geom = WcsGeom.create(npix=(8, 6), binsz=0.1, axes=[energy_axis])
    down = geom.downsample(2)
    assert down.npix == (4, 3)
    np.testing.assert_allclose(down.pixel_scales.deg, 0.2)
    assert down.center_skydir.separation(geom.center_skydir).deg < 1e-10
    up = geom.upsample(3)
    assert up.npix == (24, 18)
    assert up.center_skydir.separation(geom.center_skydir).deg < 1e-10
    with pytest.raises(DatasetError, match="divisible"):
        geom.downsample(5)
    assert geom.pad(2, axis_name=None).npix == (12, 10)
    assert geom.to_image().data_shape == (6, 8)
    assert geom.to_image().to_cube([energy_axis]) == geom
    assert geom.squash("energy").data_shape == (1, 6, 8)
    assert geom.drop("energy").is_image


def test_region_mask_matches_regions_contains():
    geom = WcsGeom.create(npix=(60, 40), binsz=0.1, skydir=GC, frame="galactic", proj="TAN")
    circle = CircleSkyRegion(SkyCoord(0.5, 0.2, unit="deg", frame="galactic"), 0.7 * u.deg)
    rect = RectangleSkyRegion(GC, 1.0 * u.deg, 0.4 * u.deg, angle=30 * u.deg)
    mask = geom.region_mask([circle, rect])
    y, x = np.mgrid[0:40, 0:60]
    pix = PixCoord(x, y)
    expected = circle.to_pixel(geom.wcs).contains(pix) | rect.to_pixel(geom.wcs).contains(pix)
    np.testing.assert_array_equal(mask.data, expected)
    assert mask.data.dtype == bool and mask.data.sum() > 100
    np.testing.assert_array_equal(
        (~geom.region_mask(circle)).data, ~circle.to_pixel(geom.wcs).contains(pix)
    )
    point = geom.region_mask(PointSkyRegion(GC))
    assert point.data.sum() == 1
    matrix = geom.region_mask_matrix([circle, rect])
    assert matrix.shape == (2, 60 * 40)
    np.testing.assert_array_equal(
        np.asarray(matrix.sum(axis=1)).ravel(),
        [
            circle.to_pixel(geom.wcs).contains(pix).sum(),
            rect.to_pixel(geom.wcs).contains(pix).sum(),
        ],
    )
    weights = geom.region_weights(circle).data
    area = np.pi * 0.7**2 / 0.01
    assert weights.sum() == pytest.approx(area, rel=0.01)


def test_boundary_mask_border_pixels():
    geom = WcsGeom.create(npix=(400, 200), binsz=0.05, frame="galactic")
    mask = geom.boundary_mask(1 * u.deg)
    assert mask.data.sum() == 360 * 160
    assert not mask.data[19, 200] and mask.data[20, 200]


def test_map_coord_creation():
    coords = MapCoord.create(
        (SkyCoord([1, 2], [3, 4], unit="deg"), [1, 2] * u.TeV), axis_names=["energy"]
    )
    assert coords.frame == "icrs" and coords["energy"].unit == u.TeV
    gal = coords.to_frame("galactic")
    assert gal.frame == "galactic"
    assert gal.skycoord.separation(coords.skycoord).max().deg < 1e-10
    masked = coords.apply_mask(np.array([True, False]))
    assert masked.shape == (1,)


# ---------------------------------------------------------------------------- RegionGeom
def test_region_geom_basics(energy_axis):
    region = CircleSkyRegion(SkyCoord(83.63, 22.01, unit="deg"), radius=0.5 * u.deg)
    geom = RegionGeom.create(region, axes=[energy_axis])
    assert geom.data_shape == (3, 1, 1)
    assert geom.projection == "TAN" and geom.frame == "icrs"
    assert geom.center_skydir.separation(region.center).deg < 1e-6
    np.testing.assert_allclose(geom.width.to_value("deg"), 1.2, atol=1e-3)  # pixel-rounded bbox
    inside = SkyCoord([83.63, 83.63], [22.3, 22.7], unit="deg")
    np.testing.assert_array_equal(geom.contains(inside), [True, False])
    assert geom.solid_angle().to_value("deg2") == pytest.approx(np.pi * 0.25, rel=1e-5)
    wcs_geom = geom.to_wcs_geom()
    assert isinstance(wcs_geom, WcsGeom) and wcs_geom.axes == geom.axes
    coords, weights = geom.get_wcs_coord_and_weights()
    assert weights.sum() * 0.01 == pytest.approx(np.pi * 0.25, rel=0.02)
    assert coords.lon.shape == weights.shape
    assert coords["energy"].shape == (3, 1)
    pix = geom.coord_to_pix((SkyCoord(83.63, 22.01, unit="deg"), [100] * u.GeV))
    assert pix[0][0] == 0 and pix[2][0] == pytest.approx(energy_axis.coord_to_pix(100 * u.GeV)[0])


def test_region_geom_compound_and_none(energy_axis):
    regions = [
        CircleSkyRegion(SkyCoord(10, 0, unit="deg"), 0.2 * u.deg),
        CircleSkyRegion(SkyCoord(11, 0, unit="deg"), 0.2 * u.deg),
    ]
    geom = RegionGeom.create(regions)
    assert len(geom.regions) == 2
    assert geom.solid_angle().to_value("deg2") == pytest.approx(2 * np.pi * 0.04, rel=0.02)
    center = compound_region_center(regions_to_compound_region(regions))
    assert center.separation(SkyCoord(10.5, 0, unit="deg")).deg < 1e-3
    empty = RegionGeom(None, axes=[energy_axis])
    assert empty.data_shape == (3, 1, 1)
    with pytest.raises(DatasetError, match="region"):
        empty.solid_angle()
    annulus = CircleAnnulusSkyRegion(SkyCoord(0, 0, unit="deg"), 0.1 * u.deg, 0.3 * u.deg)
    assert RegionGeom(annulus).solid_angle().to_value("deg2") == pytest.approx(
        np.pi * 0.08, rel=1e-5
    )


def test_plot_region_draws(tmp_path):
    import matplotlib.pyplot as plt

    geom = RegionGeom.create("galactic;circle(0, 0, 0.5)")
    ax = geom.plot_region(color="w")
    assert len(ax.patches) + len(ax.artists) >= 1
    ax.figure.savefig(tmp_path / "region.png")
    plt.close("all")
    assert (tmp_path / "region.png").stat().st_size > 0


def test_wcs_from_header_sub_selects_celestial():
    header = WcsGeom.create(npix=(4, 4), binsz=1.0).wcs.to_header()
    header["NAXIS1"], header["NAXIS2"] = 4, 4
    geom = WcsGeom.from_header(header)
    assert isinstance(geom.wcs, WCS) and geom.npix == (4, 4)
