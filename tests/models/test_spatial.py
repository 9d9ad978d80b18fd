"""Analytic spatial models: normalisation, values, elongation, frames, batches, I/O, regions."""

from __future__ import annotations

import pickle

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.wcs import WCS

from fluxfit.errors import ModelError, ParameterError, UnitError
from fluxfit.models.io import model_from_dict
from fluxfit.models.spatial import (
    ConstantSpatialModel,
    DiskSpatialModel,
    GaussianSpatialModel,
    PointSpatialModel,
    Shell2SpatialModel,
    ShellSpatialModel,
    SkyPixelGrid,
    SpatialModel,
    integrate_pixels,
)
from fluxfit.models.spatial.geometry import angular_separation, transform_lonlat

DEG = np.pi / 180.0
CENTER = (30.0, 20.0)  # lon_0, lat_0 of the test sources (deg)


def offset(distance, pa_deg, center=CENTER):
    """Point at ``distance`` (deg) and position angle ``pa_deg`` (east of north) from centre."""
    lon0, lat0 = np.radians(center)
    d, pa = np.radians(distance), np.radians(pa_deg)
    lat = np.arcsin(np.sin(lat0) * np.cos(d) + np.cos(lat0) * np.sin(d) * np.cos(pa))
    lon = lon0 + np.arctan2(
        np.sin(pa) * np.sin(d) * np.cos(lat0), np.cos(d) - np.sin(lat0) * np.sin(lat)
    )
    return np.degrees(lon), np.degrees(lat)


def grid_around(width, binsz, center=CENTER, frame="icrs", proj="TAN"):
    return SkyPixelGrid.create(center=center, width=width, binsz=binsz, frame=frame, proj=proj)


def at(lon, lat):
    return {"lon_0": f"{lon} deg", "lat_0": f"{lat} deg"}


# ------------------------------------------------------------------ normalisation
@pytest.mark.parametrize(
    ("model", "width", "binsz", "factor", "tol"),
    [
        (GaussianSpatialModel(**at(*CENTER), sigma="0.2 deg"), 3.0, 0.02, 1, 1e-6),
        (
            GaussianSpatialModel(**at(*CENTER), sigma="0.2 deg", e=0.7, phi="40 deg"),
            3.0,
            0.02,
            1,
            2e-6,
        ),
        (DiskSpatialModel(**at(*CENTER), r_0="0.5 deg"), 1.3, 0.01, 8, 2e-4),
        (DiskSpatialModel(**at(*CENTER), r_0="0.5 deg", e=0.6, phi="70 deg"), 1.3, 0.01, 8, 2e-4),
        (ShellSpatialModel(**at(*CENTER), radius="0.4 deg", width="0.1 deg"), 1.2, 0.01, 6, 1e-3),
        (Shell2SpatialModel(**at(*CENTER), r_0="0.5 deg", eta=0.3), 1.2, 0.01, 6, 1e-3),
    ],
    ids=["gauss", "gauss-elongated", "disk", "disk-elongated", "shell", "shell2"],
)
def test_normalisation(model, width, binsz, factor, tol):
    grid = grid_around(width, binsz)
    total = model.integrate_geom(grid, oversampling_factor=factor).sum()
    assert total == pytest.approx(1.0, abs=tol)


def test_normalisation_of_wide_gaussian_on_the_sphere():
    # Exact spherical normalisation: a 20 deg Gaussian on an all-sky grid integrates to 1.
    grid = SkyPixelGrid.create(center=(0, 0), width=(360, 180), binsz=0.5, frame="galactic")
    model = GaussianSpatialModel(sigma="20 deg", frame="galactic")
    assert grid.solid_angle.sum() == pytest.approx(4 * np.pi, rel=1e-9)
    assert model.integrate_geom(grid).sum() == pytest.approx(1.0, abs=1e-5)


def test_point_source_integrates_to_one_with_bilinear_weights():
    grid = grid_around(1.0, 0.1, proj="CAR")
    x0, y0 = 4.3, 6.6
    lon, lat = grid.wcs.pixel_to_world_values(x0, y0)
    model = PointSpatialModel(lon_0=float(lon) * u.deg, lat_0=float(lat) * u.deg)
    weights = model.integrate_geom(grid)
    assert weights.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.count_nonzero(weights) == 4
    assert weights[6, 4] == pytest.approx(0.7 * 0.4, abs=1e-9)
    assert weights[7, 5] == pytest.approx(0.3 * 0.6, abs=1e-9)
    ny, nx = grid.shape
    y, x = np.mgrid[0:ny, 0:nx]
    assert (weights * x).sum() == pytest.approx(x0, abs=1e-9)  # centroid preserved
    assert (weights * y).sum() == pytest.approx(y0, abs=1e-9)
    nearest = model.integrate_geom(grid, method="nearest")
    assert nearest[7, 4] == 1.0 and nearest.sum() == 1.0
    assert model.evaluate_array(np.array([lon]), np.array([lat])).tolist() == [0.0]
    outside = PointSpatialModel(**at(200.0, -40.0))
    assert outside.integrate_geom(grid).sum() == 0.0


# ----------------------------------------------------------------- hand values
def test_gaussian_values_by_hand():
    sigma = 0.3
    model = GaussianSpatialModel(**at(*CENTER), sigma=f"{sigma} deg")
    a = 1 - np.cos(sigma * DEG)
    norm = 1 / (4 * np.pi * a * (1 - np.exp(-1 / a)))
    for distance in (0.0, 0.1, 0.45, 1.2):
        lon, lat = offset(distance, 123.0)
        expected = norm * np.exp(-(1 - np.cos(distance * DEG)) / (2 * a))
        assert model(lon * u.deg, lat * u.deg).to_value("sr-1") == pytest.approx(expected, rel=1e-9)
    # small-angle limit: the flat 2-D Gaussian
    lon, lat = offset(0.2, 0.0)
    flat = np.exp(-0.5 * (0.2 / sigma) ** 2) / (2 * np.pi * (sigma * DEG) ** 2)
    assert model(lon * u.deg, lat * u.deg).value == pytest.approx(flat, rel=1e-4)


def test_elongated_gaussian_values_by_hand():
    sigma, e, d = 0.3, 0.8, 0.2
    minor = sigma * np.sqrt(1 - e**2)
    model = GaussianSpatialModel(**at(*CENTER), sigma=f"{sigma} deg", e=e, phi="0 deg")
    norm = 1 / (2 * np.pi * sigma * DEG * minor * DEG)

    def expected(axis):
        return norm * np.exp(-(1 - np.cos(d * DEG)) / (2 * (1 - np.cos(axis * DEG))))

    north = model(*(v * u.deg for v in offset(d, 0.0))).value
    east = model(*(v * u.deg for v in offset(d, 90.0))).value
    assert north == pytest.approx(expected(sigma), rel=1e-6)  # along the major axis
    assert east == pytest.approx(expected(minor), rel=1e-6)  # along the minor axis
    assert north > east


def test_position_angle_rotates_the_major_axis():
    for cls, kwargs in (
        (GaussianSpatialModel, {"sigma": "0.3 deg"}),
        (DiskSpatialModel, {"r_0": "0.3 deg"}),
    ):
        lon, lat = offset(np.array([0.25, 0.25, 0.25, 0.25]), np.array([0.0, 90.0, 180.0, 60.0]))
        m0 = cls(**at(*CENTER), e=0.9, phi="0 deg", **kwargs)
        m90 = cls(**at(*CENTER), e=0.9, phi="90 deg", **kwargs)
        m240 = cls(**at(*CENTER), e=0.9, phi="240 deg", **kwargs)
        v0, v90, v240 = (m.evaluate_array(lon, lat) for m in (m0, m90, m240))
        assert v0[0] > v0[1] and v90[1] > v90[0]
        assert v0[0] == pytest.approx(v0[2], rel=1e-9)  # symmetric under phi + 180
        assert v240[3] == pytest.approx(v0[0], rel=1e-6)  # major axis now at PA 60 (= 240)


def test_disk_values_by_hand():
    r_0 = 0.5
    model = DiskSpatialModel(**at(*CENTER), r_0=f"{r_0} deg", edge_width=0.1)
    inside = 1 / (2 * np.pi * (1 - np.cos(r_0 * DEG)))
    distances = np.array([0.0, 0.3, r_0, r_0 * (1 - 0.05), r_0 * (1 + 0.05), 0.9])
    values = model.evaluate_array(*offset(distances, 33.0))
    assert values[0] == pytest.approx(inside, rel=1e-6)
    assert values[1] == pytest.approx(inside, rel=1e-6)
    assert values[2] == pytest.approx(0.5 * inside, rel=1e-6)
    assert values[3] == pytest.approx(0.95 * inside, rel=1e-6)  # edge: 95 % -> 5 %
    assert values[4] == pytest.approx(0.05 * inside, rel=1e-6)
    assert values[5] == pytest.approx(0.0, abs=1e-12 * inside)
    sharp = DiskSpatialModel(**at(*CENTER), r_0=f"{r_0} deg", edge_width=0.0)
    assert sharp.evaluate_array(*offset(np.array([0.49, 0.51]), 0.0)).tolist() == [
        pytest.approx(inside, rel=1e-9),
        0.0,
    ]


def test_elongated_disk_solid_angle():
    # For small disks the spherical-ellipse normalisation tends to 1 / (pi a b).
    r_0, e = 0.2, 0.6
    model = DiskSpatialModel(**at(*CENTER), r_0=f"{r_0} deg", e=e, edge_width=0.0)
    expected = 1 / (np.pi * (r_0 * DEG) ** 2 * np.sqrt(1 - e**2))
    assert model.evaluate_array(*offset(0.0, 0.0)) == pytest.approx(expected, rel=1e-5)
    lon, lat = offset(np.array([0.19, 0.21, 0.15, 0.17]), np.array([0.0, 0.0, 90.0, 90.0]))
    values = model.evaluate_array(lon, lat)  # minor axis 0.16 deg
    assert values[0] > 0 and values[1] == 0 and values[2] > 0 and values[3] == 0


def test_shell_values_by_hand():
    r_in, width = 0.4, 0.1
    r_out = r_in + width
    norm = 3 / (2 * np.pi * ((r_out * DEG) ** 3 - (r_in * DEG) ** 3))
    model = ShellSpatialModel(**at(*CENTER), radius=f"{r_in} deg", width=f"{width} deg")
    distances = np.array([0.0, 0.2, r_in, 0.45, 0.6])
    values = model.evaluate_array(*offset(distances, 200.0))
    sep = distances * DEG
    assert values[0] == pytest.approx(norm * width * DEG, rel=1e-9)
    assert values[1] == pytest.approx(
        norm
        * (np.sqrt((r_out * DEG) ** 2 - sep[1] ** 2) - np.sqrt((r_in * DEG) ** 2 - sep[1] ** 2)),
        rel=1e-9,
    )
    assert values[2] == pytest.approx(norm * np.sqrt((r_out * DEG) ** 2 - sep[2] ** 2), rel=1e-6)
    assert values[4] == 0.0
    shell2 = Shell2SpatialModel(**at(*CENTER), r_0=f"{r_out} deg", eta=width / r_out)
    assert shell2.evaluate_array(*offset(distances, 200.0)) == pytest.approx(values, rel=1e-9)


def test_constant_model():
    model = ConstantSpatialModel(value="3 sr-1")
    values = model(np.array([0.0, 100.0]) * u.deg, np.array([-80.0, 45.0]) * u.deg)
    assert values.unit == u.Unit("sr-1")
    np.testing.assert_allclose(values.value, 3.0)
    grid = SkyPixelGrid.create(center=(0, 0), width=(360, 180), binsz=2.0, frame="galactic")
    assert model.integrate_geom(grid).sum() == pytest.approx(12 * np.pi, rel=1e-9)
    assert model.position is None and model.to_region() is None
    assert "frame" not in model.to_dict()


# --------------------------------------------------------------------- frames
@pytest.mark.parametrize(
    "make",
    [
        lambda lon, lat, frame: GaussianSpatialModel(**at(lon, lat), sigma="0.4 deg", frame=frame),
        lambda lon, lat, frame: DiskSpatialModel(**at(lon, lat), r_0="0.5 deg", frame=frame),
        lambda lon, lat, frame: ShellSpatialModel(**at(lon, lat), radius="0.3 deg", frame=frame),
    ],
    ids=["gauss", "disk", "shell"],
)
def test_frames_give_the_same_density(make):
    gal = make(184.557, -5.784, "galactic")
    ra, dec = transform_lonlat(184.557, -5.784, "galactic", "icrs")
    icrs = make(float(ra), float(dec), "icrs")
    rng = np.random.default_rng(3)
    lon = ra + rng.uniform(-0.8, 0.8, 200)
    lat = dec + rng.uniform(-0.8, 0.8, 200)
    coords = SkyCoord(lon, lat, unit="deg", frame="icrs")
    np.testing.assert_allclose(gal(coords).value, icrs(coords).value, rtol=1e-8, atol=1e-6)
    # galactic input to a galactic model, astropy-transformed SkyCoord in FK5 too
    np.testing.assert_allclose(
        gal(coords.galactic.l, coords.galactic.b).value, icrs(coords).value, rtol=1e-8, atol=1e-6
    )
    np.testing.assert_allclose(gal(coords.fk5).value, icrs(coords).value, rtol=1e-6, atol=1e-4)
    assert gal.position.icrs.separation(icrs.position).deg < 1e-9
    # a galactic model integrated over an ICRS grid
    grid = grid_around(3.0, 0.02, center=(float(ra), float(dec)))
    np.testing.assert_allclose(gal.integrate_geom(grid), icrs.integrate_geom(grid), atol=1e-9)


def test_position_setter_converts_frames():
    model = GaussianSpatialModel(frame="galactic")
    model.position = SkyCoord(83.633, 22.0145, unit="deg", frame="icrs")
    assert model.lon_0.value == pytest.approx(184.5575, abs=1e-3)
    assert model.lat_0.value == pytest.approx(-5.7843, abs=1e-3)
    assert model.position.frame.name == "galactic"


# -------------------------------------------------------------------- batches
@pytest.mark.parametrize(
    ("model", "values"),
    [
        (GaussianSpatialModel(**at(*CENTER), sigma="0.2 deg"), {"sigma": [0.1, 0.2, 0.35]}),
        (
            GaussianSpatialModel(**at(*CENTER), sigma="0.2 deg", e=0.5),
            {"e": [0.0, 0.5, 0.9], "lon_0": [30.0, 30.1, 29.9]},
        ),
        (DiskSpatialModel(**at(*CENTER), r_0="0.3 deg"), {"r_0": [0.2, 0.3], "e": [0.0, 0.7]}),
        (ShellSpatialModel(**at(*CENTER)), {"radius": [0.2, 0.3], "width": [0.05, 0.2]}),
        (Shell2SpatialModel(**at(*CENTER)), {"eta": [0.1, 0.5]}),
        (ConstantSpatialModel(), {"value": [1.0, 2.0]}),
    ],
    ids=["gauss", "gauss-e", "disk", "shell", "shell2", "constant"],
)
def test_batch_evaluation_matches_single(model, values):
    lon, lat = offset(np.linspace(0, 0.6, 7), np.linspace(0, 300, 7))
    overrides = model.batch_overrides(model.parameters, values)
    batch = model.evaluate_array(lon, lat, overrides)
    k = len(next(iter(values.values())))
    assert batch.shape == (k, 7)
    grid = grid_around(1.6, 0.1)
    integrated = model.integrate_geom(grid, overrides=overrides, oversampling_factor=3)
    assert integrated.shape == (k, *grid.shape)
    for i in range(k):
        single = model.copy(**{name: vals[i] for name, vals in values.items()})
        np.testing.assert_allclose(batch[i], single.evaluate_array(lon, lat), rtol=1e-12)
        # the oversampled box is the union over the batch: far tails may differ slightly
        np.testing.assert_allclose(
            integrated[i], single.integrate_geom(grid, oversampling_factor=3), rtol=1e-10, atol=1e-9
        )


def test_point_batch():
    grid = grid_around(1.0, 0.1)
    model = PointSpatialModel(**at(*CENTER))
    overrides = model.batch_overrides(
        model.parameters, {"lon_0": [30.0, 30.2], "lat_0": [20.0, 19.8]}
    )
    weights = model.integrate_geom(grid, overrides=overrides)
    assert weights.shape == (2, *grid.shape)
    np.testing.assert_allclose(weights.sum(axis=(1, 2)), 1.0)
    np.testing.assert_allclose(
        weights[1], model.copy(lon_0=30.2, lat_0=19.8).integrate_geom(grid), atol=1e-12
    )


# ---------------------------------------------------------------- oversampling
def test_oversampling_of_a_narrow_gaussian():
    grid = grid_around(1.0, 0.1, proj="CAR")
    model = GaussianSpatialModel(**at(30.02, 20.03), sigma="0.02 deg")
    assert model.oversampling_factor(grid) == 15  # ceil(0.1 / (0.02 / 3))
    auto = model.integrate_geom(grid)
    reference = integrate_pixels(model, grid, oversampling_factor=60)
    coarse = model.integrate_geom(grid, oversampling_factor=1)
    assert auto.sum() == pytest.approx(1.0, abs=1e-4)
    assert np.max(np.abs(auto - reference)) < 2e-3
    assert np.max(np.abs(coarse - reference)) > 0.05
    assert model.evaluation_radius.to_value("deg") == pytest.approx(0.1)
    assert model.evaluation_bin_size_min.to_value("deg") == pytest.approx(0.02 / 3)


def test_grid_accepts_wcs_and_shape_and_checks_input():
    grid = grid_around(1.0, 0.1)
    model = GaussianSpatialModel(**at(*CENTER), sigma="0.2 deg")
    np.testing.assert_allclose(
        model.integrate_geom((grid.wcs, grid.shape)), model.integrate_geom(grid), rtol=1e-12
    )

    class Geometry:  # a map geometry: wcs + data_shape with non-spatial axes first
        wcs = grid.wcs
        data_shape = (3, *grid.shape)

    geometry = Geometry()
    np.testing.assert_allclose(
        model.integrate_geom(geometry), model.integrate_geom(grid), rtol=1e-12
    )
    with pytest.raises(ModelError, match="cannot integrate"):
        model.integrate_geom("not a grid")
    with pytest.raises(ModelError, match="oversampling"):
        model.integrate_geom(grid, oversampling_factor=0)
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["GLON-CAR", "GLAT-CAR"]
    wcs.wcs.cdelt = [-0.5, 0.5]
    wcs.wcs.crpix = [10.5, 5.5]
    small = SkyPixelGrid(wcs, (10, 20))
    assert small.frame == "galactic" and small.cutout((2, 5, 3, 9)).shape == (3, 6)
    lon, lat = small.lonlat()
    sub_lon, _ = small.cutout((2, 5, 3, 9)).lonlat()
    np.testing.assert_allclose(sub_lon, lon[2:5, 3:9])
    # CAR pixel: dlon * (sin(lat_hi) - sin(lat_lo)); the grid uses great-circle edges
    lat_lo, lat_hi = (lat[6, 0] - 0.25) * DEG, (lat[6, 0] + 0.25) * DEG
    exact = 0.5 * DEG * (np.sin(lat_hi) - np.sin(lat_lo))
    assert small.solid_angle[6, 0] == pytest.approx(exact, rel=1e-5)
    assert pickle.loads(pickle.dumps(small)).shape == (10, 20)
    # an all-sky AIT grid: pixels outside the projection get zero solid angle
    ait = SkyPixelGrid.create(
        center=(0, 0), width=(370, 185), binsz=1.0, frame="galactic", proj="AIT"
    )
    assert not ait.all_valid
    # (pixels cut by the projection boundary are dropped too: ~1 % of the sky here)
    assert 0.98 * 4 * np.pi < ait.solid_angle.sum() < 4 * np.pi
    wide = GaussianSpatialModel(sigma="30 deg", frame="galactic")
    assert wide.integrate_geom(ait).sum() == pytest.approx(1.0, abs=2e-3)


# --------------------------------------------------------------- I/O, regions
ALL_MODELS = [
    PointSpatialModel(**at(83.633, 22.0145)),
    GaussianSpatialModel(**at(10.0, -1.0), sigma="0.3 deg", e=0.4, phi="20 deg", frame="galactic"),
    DiskSpatialModel(**at(10.0, -1.0), r_0="0.3 deg", edge_width=0.05, frame="galactic"),
    ShellSpatialModel(**at(10.0, -1.0), radius="0.5 deg", width="0.1 deg"),
    Shell2SpatialModel(**at(10.0, -1.0), r_0="0.5 deg", eta=0.4),
    ConstantSpatialModel(value="2e-3 sr-1"),
]


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda m: m.type)
def test_dict_round_trip(model):
    model.parameters[0].error = 0.01
    data = model.to_dict()
    assert next(iter(data)) == "type"
    again = model_from_dict(data, "spatial", "test")
    assert type(again) is type(model) and again.frame == model.frame
    np.testing.assert_allclose(again.parameters.value, model.parameters.value)
    assert [p.frozen for p in again.parameters] == [p.frozen for p in model.parameters]
    assert again.parameters[0].error == 0.01
    assert again.to_dict(full_output=True) == model.to_dict(full_output=True)
    clone = pickle.loads(pickle.dumps(model))
    lon, lat = offset(np.array([0.0, 0.1]), np.array([0.0, 90.0]), center=(10.0, -1.0))
    np.testing.assert_array_equal(clone.evaluate_array(lon, lat), model.evaluate_array(lon, lat))


def test_yaml_like_dict_from_gammapy():
    data = {
        "type": "PointSpatialModel",
        "frame": "icrs",
        "parameters": [
            {"name": "lon_0", "value": 83.63310241699219, "unit": "deg", "frozen": True},
            {
                "name": "lat_0",
                "value": 22.019899368286133,
                "unit": "deg",
                "min": -90.0,
                "max": 90.0,
            },
        ],
    }
    model = model_from_dict(data, "spatial", "crab.spatial")
    assert isinstance(model, SpatialModel) and model.lon_0.frozen
    assert model.position.ra.deg == pytest.approx(83.6331, abs=1e-4)
    with pytest.raises(ModelError, match="unknown key"):
        model_from_dict({**data, "fram": "icrs"}, "spatial", "test")
    with pytest.raises(ModelError, match="frame"):
        model_from_dict({**data, "frame": "fk4"}, "spatial", "test")
    with pytest.raises(ModelError, match="unknown spatial model type"):
        model_from_dict({**data, "type": "PowerLawSpectralModel"}, "spatial", "test")


def test_regions():
    from regions import (
        CircleAnnulusSkyRegion,
        CircleSkyRegion,
        EllipseSkyRegion,
        PointSkyRegion,
    )

    point, gauss, disk, shell, shell2, _ = ALL_MODELS
    assert isinstance(point.to_region(), PointSkyRegion)
    ellipse = gauss.to_region()
    assert isinstance(ellipse, EllipseSkyRegion)
    assert ellipse.height.to_value("deg") == pytest.approx(2 * 1.5 * 0.3)
    assert ellipse.width.to_value("deg") == pytest.approx(2 * 1.5 * 0.3 * np.sqrt(1 - 0.16))
    assert ellipse.angle.to_value("deg") == pytest.approx(20.0)
    assert isinstance(disk.to_region(), CircleSkyRegion)
    assert isinstance(GaussianSpatialModel(sigma="0.1 deg").to_region(), CircleSkyRegion)
    annulus = shell.to_region()
    assert isinstance(annulus, CircleAnnulusSkyRegion)
    assert annulus.outer_radius.to_value("deg") == pytest.approx(0.6)
    assert shell2.to_region().inner_radius.to_value("deg") == pytest.approx(0.3)
    assert disk.to_region().center.frame.name == "galactic"


def test_evaluation_radius():
    assert GaussianSpatialModel(sigma="0.2 deg").evaluation_radius.to_value("deg") == pytest.approx(
        1.0
    )
    disk = DiskSpatialModel(r_0="1 deg", edge_width=0.1)
    assert disk.evaluation_radius.to_value("deg") == pytest.approx(1.21)
    assert ShellSpatialModel().evaluation_radius.to_value("deg") == pytest.approx(1.2)
    assert PointSpatialModel().evaluation_radius.to_value("deg") == 0.0
    assert ConstantSpatialModel().evaluation_radius is None


# --------------------------------------------------------------------- errors
def test_errors():
    with pytest.raises(UnitError, match="sigma"):
        GaussianSpatialModel(sigma="1 m")
    with pytest.raises(UnitError, match="Quantity"):
        GaussianSpatialModel()(1.0, 2.0)
    with pytest.raises(UnitError, match="not an angle"):
        GaussianSpatialModel()(1.0 * u.s, 2.0 * u.deg)
    with pytest.raises(ModelError, match="frame"):
        DiskSpatialModel(frame="altaz")
    with pytest.raises(ParameterError):
        DiskSpatialModel(e=1.5)
    with pytest.raises(ParameterError):
        GaussianSpatialModel(lat_0="95 deg")
    with pytest.raises(ModelError, match="unknown argument"):
        ShellSpatialModel(r_0="1 deg")
    with pytest.raises(ModelError, match="method"):
        PointSpatialModel().integrate_geom(grid_around(1.0, 0.1), method="cubic")


def test_separation_helper_matches_astropy():
    rng = np.random.default_rng(0)
    lon1, lon2 = rng.uniform(0, 360, (2, 50))
    lat1, lat2 = rng.uniform(-90, 90, (2, 50))
    expected = SkyCoord(lon1, lat1, unit="deg").separation(SkyCoord(lon2, lat2, unit="deg")).deg
    np.testing.assert_allclose(angular_separation(lon1, lat1, lon2, lat2), expected, atol=1e-10)
