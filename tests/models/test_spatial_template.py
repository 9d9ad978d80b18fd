"""TemplateSpatialModel: synthetic maps and the real Fermi-LAT diffuse cubes."""

from __future__ import annotations

import pickle

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits

from fluxfit.errors import FormatError, MissingFileError, ModelError
from fluxfit.models.io import model_from_dict
from fluxfit.models.spatial import SkyPixelGrid, TemplateSpatialModel


def gc_file(data_dir):
    return data_dir / "gammapy-data" / "fermi-3fhl-gc" / "gll_iem_v06_gc.fits.gz"


def crab_iem_file(data_dir):
    return data_dir / "gammapy-data" / "fermi-3fhl-crab" / "Fermi-LAT-3FHL_iem.fits"


@pytest.fixture(scope="module")
def gc_template(data_dir):
    path = gc_file(data_dir)
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return TemplateSpatialModel.read(path)


# ------------------------------------------------------------------- synthetic
def make_image(frame="galactic", binsz=0.1):
    grid = SkyPixelGrid.create(center=(10.0, 5.0), width=(2.0, 1.0), binsz=binsz, frame=frame)
    ny, nx = grid.shape
    y, x = np.mgrid[0:ny, 0:nx]
    data = 1.0 + 0.1 * x + 0.05 * y  # a plane: bilinear interpolation is exact on it
    return grid, data


@pytest.mark.parametrize("values_scale", ["lin", "log"])
def test_image_interpolation_and_normalisation(values_scale):
    grid, data = make_image()
    model = TemplateSpatialModel(data, grid.wcs, values_scale=values_scale)
    assert model.unit == u.Unit("sr-1") and model.frame == "galactic"
    assert model.integrate_geom(grid).sum() == pytest.approx(1.0, rel=1e-12)
    norm = np.sum(data * grid.solid_angle)
    # between pixel centres: bilinear in pixel coordinates
    lon, lat = grid.wcs.pixel_to_world_values(3.25, 4.5)
    expected_lin = (1.0 + 0.1 * 3.25 + 0.05 * 4.5) / norm
    value = model(float(lon) * u.deg, float(lat) * u.deg).to_value("sr-1")
    if values_scale == "lin":
        assert value == pytest.approx(expected_lin, rel=1e-9)
    else:
        d = data / norm
        logs = np.log(d[4:6, 3:5])
        expected_log = np.exp(0.5 * (0.75 * logs[:, 0] + 0.25 * logs[:, 1]).sum())
        assert value == pytest.approx(expected_log, rel=1e-9)
    # outside the map: 0; between the last centre and the edge: the edge value
    nx = grid.shape[1]
    lon_out, lat_out = grid.wcs.pixel_to_world_values(
        np.array([-0.6, nx - 0.7]), np.array([2.0, 3.0])
    )
    out = model.evaluate_array(lon_out, lat_out)
    assert out[0] == 0.0
    assert out[1] == pytest.approx(data[3, nx - 1] / norm, rel=1e-9)
    # finer grid inside the map: still ~1
    fine = SkyPixelGrid.create(center=(10.0, 5.0), width=(2.0, 1.0), binsz=0.025, frame="galactic")
    assert model.integrate_geom(fine).sum() == pytest.approx(1.0, rel=2e-3)


def test_image_in_icrs_evaluated_from_galactic_coordinates():
    grid, data = make_image(frame="icrs")
    model = TemplateSpatialModel(data, grid.wcs, normalize=False, unit="cm-2 s-1 sr-1")
    assert model.unit == u.Unit("cm-2 s-1 sr-1") and model.frame == "icrs"
    coords = SkyCoord([10.3, 9.8], [5.1, 4.7], unit="deg", frame="icrs")
    np.testing.assert_allclose(model(coords.galactic).value, model(coords).value, rtol=1e-9)
    assert model(coords).value[0] == pytest.approx(
        float(model.evaluate_array(10.3, 5.1)), rel=1e-12
    )


def test_cube_energy_interpolation():
    grid, data = make_image()
    energy = [1.0, 10.0, 100.0] * u.GeV
    cube = np.stack([data, 0.1 * data, 0.01 * data])  # power law E^-1 in each pixel
    model = TemplateSpatialModel(
        cube, grid.wcs, energy=energy, normalize=False, unit="cm-2 s-1 MeV-1 sr-1"
    )
    assert model.is_energy_dependent
    assert model.unit == u.Unit("cm-2 s-1 TeV-1 sr-1")
    lon, lat = grid.wcs.pixel_to_world_values(2.0, 3.0)
    values = model(float(lon) * u.deg, float(lat) * u.deg, energy=[3.0, 30.0, 500.0] * u.GeV)
    expected = data[3, 2] * np.array([1 / 3.0, 1 / 30.0, 0.0]) * 1e6  # MeV-1 -> TeV-1
    np.testing.assert_allclose(values.value, expected, rtol=1e-9)
    integrated = model.integrate_geom(grid, energy=np.array([0.001, 0.01]))
    assert integrated.shape == (2, *grid.shape)
    with pytest.raises(ModelError, match="needs energies"):
        model.evaluate_array(float(lon), float(lat))
    normalized = TemplateSpatialModel(cube, grid.wcs, energy=energy)
    np.testing.assert_allclose(
        normalized.integrate_geom(grid, energy=energy.to_value("TeV")).sum(axis=(1, 2)), 1.0
    )


def test_synthetic_round_trip(tmp_path):
    grid, data = make_image()
    path = tmp_path / "image.fits"
    header = grid.wcs.to_header()
    header["BUNIT"] = "sr-1"
    fits.PrimaryHDU(data=data, header=header).writeto(path)
    model = TemplateSpatialModel.read(path, normalize=False)
    assert model.unit == u.Unit("sr-1")
    d = model.to_dict()
    assert d["filename"] == str(path) and d["normalize"] is False and d["frame"] == "galactic"
    again = model_from_dict(d, "spatial", "test")
    np.testing.assert_array_equal(again.data, model.data)
    assert pickle.loads(pickle.dumps(again)).to_dict() == d
    with pytest.raises(ModelError, match="filename"):
        TemplateSpatialModel(data, grid.wcs).to_dict()
    with pytest.raises(ModelError, match="missing key 'filename'"):
        model_from_dict({"type": "TemplateSpatialModel"}, "spatial", "test")


# ------------------------------------------------------------------- bad files
def test_missing_and_corrupted_files(tmp_path):
    with pytest.raises(MissingFileError, match=r"nothere\.fits"):
        TemplateSpatialModel.read(tmp_path / "nothere.fits")
    with pytest.raises(ModelError, match=r"nothere\.fits"):
        model_from_dict(
            {"type": "TemplateSpatialModel", "filename": str(tmp_path / "nothere.fits")},
            "spatial",
            "test",
        )
    garbage = tmp_path / "garbage.fits"
    garbage.write_bytes(b"this is not a FITS file at all" * 10)
    with pytest.raises(FormatError, match=r"garbage\.fits"):
        TemplateSpatialModel.read(garbage)

    grid, data = make_image()
    no_wcs = tmp_path / "no_wcs.fits"
    fits.PrimaryHDU(data=data).writeto(no_wcs)
    with pytest.raises(FormatError, match="CTYPE1"):
        TemplateSpatialModel.read(no_wcs)

    table_only = tmp_path / "table.fits"
    fits.HDUList(
        [fits.PrimaryHDU(), fits.BinTableHDU.from_columns([fits.Column("A", "E", array=[1.0])])]
    ).writeto(table_only)
    with pytest.raises(FormatError, match="no image HDU"):
        TemplateSpatialModel.read(table_only)

    cube = tmp_path / "cube.fits"
    header = grid.wcs.to_header()
    header["BANDSHDU"] = "ENERGIES"
    fits.PrimaryHDU(data=np.stack([data, data]), header=header).writeto(cube)
    with pytest.raises(FormatError, match="'ENERGIES' named by BANDSHDU is missing"):
        TemplateSpatialModel.read(cube)

    bad_energy = tmp_path / "bad_energy.fits"
    energies = fits.BinTableHDU.from_columns(
        [fits.Column("CHANNEL", "I", array=[0, 1])], name="ENERGIES"
    )
    fits.HDUList([fits.PrimaryHDU(data=np.stack([data, data]), header=header), energies]).writeto(
        bad_energy
    )
    with pytest.raises(FormatError, match="no energy column"):
        TemplateSpatialModel.read(bad_energy)


# ------------------------------------------------------------------ real files
def test_fermi_gc_diffuse_cube(gc_template, data_dir):
    model = gc_template
    assert model.is_energy_dependent and model.frame == "galactic"
    assert model.data.shape == (30, 64, 120)
    with fits.open(gc_file(data_dir)) as hdul:
        energy_mev = np.asarray(hdul["ENERGIES"].data["ENERGY"], dtype=float)
        raw = np.asarray(hdul[0].data, dtype=float)
    np.testing.assert_allclose(model.energy.to_value("MeV"), energy_mev, rtol=1e-6)
    # normalised per plane on its own pixels
    own = model.integrate_geom(model.grid, energy=model.energy.to_value("TeV"))
    np.testing.assert_allclose(own.sum(axis=(1, 2)), 1.0, rtol=1e-6)
    # pixel centres reproduce the data (normalised)
    lon, lat = model.grid.lonlat()
    j, i, k = 40, 17, 12
    expected = raw[k, j, i] / np.sum(raw[k] * model.grid.solid_angle)
    value = model(lon[j, i] * u.deg, lat[j, i] * u.deg, energy=model.energy[k : k + 1])
    assert value.to_value("sr-1")[0] == pytest.approx(expected, rel=1e-6)
    # a grid twice as fine covering the map, at an energy between two planes
    fine = SkyPixelGrid.create(
        center=model.position, width=(15.0, 8.0), binsz=0.0625, frame="galactic"
    )
    assert fine.shape == (128, 240)
    between = np.sqrt(model.energy[10] * model.energy[11]).to_value("TeV")
    total = model.integrate_geom(fine, energy=np.array([between])).sum()
    assert total == pytest.approx(1.0, abs=2e-3)
    # same density seen from ICRS
    coords = SkyCoord([0.5, -1.3], [0.2, -0.8], unit="deg", frame="galactic")
    energy = [20.0] * u.GeV
    np.testing.assert_allclose(
        model(coords.icrs, energy=energy), model(coords, energy=energy), rtol=1e-8
    )


def test_fermi_crab_diffuse_cube_unnormalised(data_dir):
    path = crab_iem_file(data_dir)
    if not path.is_file():
        pytest.skip(f"{path} not found")
    model = TemplateSpatialModel.read(path, normalize=False)
    assert model.unit == u.Unit("cm-2 s-1 TeV-1 sr-1")
    with fits.open(path) as hdul:
        raw = np.asarray(hdul[0].data, dtype=float)
        energy_mev = np.asarray(hdul["PRIMARY_BANDS"].data["ENERGY_TRUE"], dtype=float)
    crab = SkyCoord(83.633, 22.0145, unit="deg", frame="icrs")
    values = model(crab, energy=energy_mev * u.MeV)
    assert values.shape == (30,) and np.all(values.value > 0)
    lon, lat = model.grid.lonlat()
    value = model(lon[10, 20] * u.deg, lat[10, 20] * u.deg, energy=energy_mev[5] * u.MeV)
    assert value.to_value("cm-2 s-1 MeV-1 sr-1") == pytest.approx(raw[5, 10, 20], rel=1e-6)
    d = model.to_dict()
    assert d["unit"] == "cm-2 MeV-1 s-1 sr-1" or u.Unit(d["unit"]) == u.Unit("cm-2 MeV-1 s-1 sr-1")
    again = model_from_dict(d, "spatial", "test")
    np.testing.assert_allclose(
        again(crab, energy=[30.0] * u.GeV), model(crab, energy=[30.0] * u.GeV)
    )
    assert type(model.to_region()).__name__ == "PolygonSkyRegion"
