"""Flux-profile regions (seed 001) against the Gammapy 2.1 reference geometry and counts."""

import json

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from regions import CircleAnnulusSkyRegion, PixCoord, RectangleSkyRegion

from fluxfit.maps import (
    RegionGeom,
    WcsGeom,
    make_concentric_annulus_sky_regions,
    make_orthogonal_rectangle_sky_regions,
    read_map_hdus,
)

GC = SkyCoord(0, 0, unit="deg", frame="galactic")


def _rectangles(wcs, start, stop, nbin):
    return make_orthogonal_rectangle_sky_regions(
        start_pos=SkyCoord(f"{start}d", "0d", frame="galactic"),
        end_pos=SkyCoord(f"{stop}d", "0d", frame="galactic"),
        wcs=wcs,
        height="3 deg",
        nbin=nbin,
    )


def test_rectangles_synthetic_geometry():
    geom = WcsGeom.create(skydir=GC, width=(20, 10), binsz=0.05, frame="galactic")
    regions = _rectangles(geom.wcs, 10, 350, 51)
    assert len(regions) == 51 and all(isinstance(r, RectangleSkyRegion) for r in regions)
    width = 20 / 51
    centers = np.array([(r.center.l.wrap_at("180d").deg) for r in regions])
    np.testing.assert_allclose(centers, 10 - width * (np.arange(51) + 0.5), atol=1e-9)
    np.testing.assert_allclose([r.width.to_value("deg") for r in regions], width, rtol=1e-12)
    np.testing.assert_allclose([r.angle.to_value("deg") for r in regions], 0, atol=1e-9)
    # the rectangles tile the line: pixel masks do not overlap
    matrix = geom.region_mask_matrix(regions)
    assert np.asarray(matrix.sum(axis=0)).max() == 1


def test_rectangles_follow_a_tilted_line_in_the_projection():
    geom = WcsGeom.create(skydir=GC, width=6, binsz=0.02, frame="galactic", proj="TAN")
    start, stop = (
        SkyCoord(-2, -1, unit="deg", frame="galactic"),
        SkyCoord(2, 1, unit="deg", frame="galactic"),
    )
    regions = make_orthogonal_rectangle_sky_regions(
        start, stop, geom.wcs, height=0.5 * u.deg, nbin=4
    )
    x0, y0 = start.to_pixel(geom.wcs)
    x1, y1 = stop.to_pixel(geom.wcs)
    for region in regions:
        x, y = region.center.to_pixel(geom.wcs)
        # centres lie on the straight pixel line between start and stop
        assert (x - x0) * (y1 - y0) - (y - y0) * (x1 - x0) == pytest.approx(0, abs=1e-6)
        # the rectangle is rotated along the line in pixel space
        angle_pix = region.to_pixel(geom.wcs).angle.to_value("rad")
        direction = np.array([np.cos(angle_pix), np.sin(angle_pix)])
        line = np.array([x1 - x0, y1 - y0]) / np.hypot(x1 - x0, y1 - y0)
        assert abs(direction @ line) == pytest.approx(1, abs=1e-3)
    expected_angle = stop.position_angle(start) - 90 * u.deg
    assert regions[0].angle.to_value("deg") == pytest.approx(expected_angle.to_value("deg"))
    assert regions[0].width.to_value("deg") == pytest.approx(start.separation(stop).deg / 4)


def test_annuli_gammapy_counting_convention():
    annuli = make_concentric_annulus_sky_regions(GC, radius_max="1.5 deg", nbin=11)
    assert len(annuli) == 10  # Gammapy 2.1: nbin counts radius edges
    assert all(isinstance(a, CircleAnnulusSkyRegion) for a in annuli)
    edges = np.linspace(1e-5, 1.5, 11)
    np.testing.assert_allclose([a.inner_radius.to_value("deg") for a in annuli], edges[:-1])
    np.testing.assert_allclose([a.outer_radius.to_value("deg") for a in annuli], edges[1:])
    geom = RegionGeom.create(region=annuli)
    assert len(geom.regions) == 10
    assert geom.center_skydir.separation(GC).deg < 0.05


@pytest.fixture(scope="module")
def reference(reference_dir):
    return json.loads((reference_dir / "gammapy" / "wf1_flux_profile.json").read_text())


@pytest.fixture(scope="module")
def gc_maps(data_dir):
    return read_map_hdus(data_dir / "gammapy-data" / "fermi-3fhl-gc" / "fermi-3fhl-gc.fits.gz")


@pytest.mark.data
@pytest.mark.parametrize(
    ("key", "start", "stop", "nbin", "use_mask"),
    [
        ("a_brief_51bins_nomasksafe", 10, 350, 51, False),
        ("a_tutorial21_49bins", 9, 351, 49, True),
    ],
)
def test_rectangles_and_counts_match_gammapy(key, start, stop, nbin, use_mask, gc_maps, reference):
    counts = gc_maps["COUNTS"]
    image_geom = counts.geom.to_image()
    regions = _rectangles(image_geom.wcs, start, stop, nbin)
    ref = reference[key]
    assert ref["n_regions"] == len(regions)
    for region, expected in zip(regions, ref["regions"]):
        assert expected["type"] == type(region).__name__
        dl = (region.center.l.deg - expected["center_l_deg"] + 180) % 360 - 180
        assert abs(dl) < 1e-9 and abs(region.center.b.deg - expected["center_b_deg"]) < 1e-9
        assert region.width.to_value("deg") == pytest.approx(expected["width_deg"], rel=1e-12)
        assert region.height.to_value("deg") == pytest.approx(expected["height_deg"], rel=1e-12)
        assert region.angle.to_value("deg") == pytest.approx(expected["angle_deg"], abs=1e-9)
    # counts per profile bin: summed over the region pixels and all energies (10-500 GeV),
    # within mask_safe when the dataset has one
    weights = gc_maps["MASK_SAFE"] if use_mask else None
    per_region = counts.reduce_regions(regions, func="sum", weights=weights).sum(axis=1)
    expected_counts = np.array([b["counts"] for b in ref["bins"]], dtype=float).ravel()
    np.testing.assert_array_equal(per_region, expected_counts)
    # the Gammapy-compatible single-region path gives the same numbers
    for idx in (0, nbin // 2, nbin - 1):
        single = counts.to_region_nd_map(regions[idx], func=np.sum, weights=weights)
        assert single.data.sum() == expected_counts[idx]


@pytest.mark.data
def test_non_uniform_mask_regions(gc_maps, reference):
    mask = gc_maps["MASK_SAFE"]
    regions = _rectangles(mask.geom.wcs, 10, 350, 51)
    image = mask.geom.to_image()
    nonuniform = []
    for idx, region in enumerate(regions):
        inside = image.region_mask(region).data
        values = mask.data[:, inside]
        if not np.all(np.all(values, axis=1) | np.all(~values, axis=1)):
            nonuniform.append(idx)
    assert nonuniform == [2, 48]
    assert "[2, 48]" in reference["a_brief_51bins"]["notes"]
    # vectorised: every region's pixel count equals the per-region pixel mask
    npix = mask.reduce_regions(regions, func="npix")[:, 0]
    wcs = image.wcs
    y, x = np.mgrid[0:200, 0:400]
    for idx in (2, 25, 48):
        contains = regions[idx].to_pixel(wcs).contains(PixCoord(x, y))
        assert npix[idx] == contains.sum()
