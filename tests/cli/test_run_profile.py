"""`fluxfit run` with ``estimators.profile``: the seed-001 flux profiles from a configuration."""

import json
import os
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.table import Table

from fluxfit.cli.main import main
from fluxfit.errors import FormatError

pytest.importorskip("pydantic", minversion="2")

from fluxfit.cli.config import load_config

REPO = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("FLUXFIT_DATA", REPO.parent / "shared" / "data"))
GC = DATA / "gammapy-data" / "fermi-3fhl-gc" / "fermi-3fhl-gc.fits.gz"
needs_gc = pytest.mark.skipif(
    not GC.is_file(), reason=f"Fermi-LAT 3FHL Galactic-centre dataset not found at {GC}"
)

RECTANGLES = """
title: Galactic-centre flux profile (seed 001)
data:
  datasets: datasets.yaml
estimators:
  profile:
    regions:
      kind: rectangles
      start_pos: 10 0 galactic
      end_pos: {lon: 350 deg, lat: 0 deg, frame: galactic}
      height: 3 deg
      n: 51
    spectrum: {type: PowerLawSpectralModel, parameters: {index: 2.3}}
    energy_edges: [10 GeV, 2000 GeV]
    selection_optional: [ul]
outputs: {dir: results}
"""

ANNULI = """
data:
  datasets: datasets.yaml
estimators:
  profile:
    regions: {kind: annuli, center: 0d 0d galactic, radius_max: 1.5 deg, n: 10}
    spectrum: {parameters: {index: 2.3}}
    energy_edges: [10 GeV, 100 GeV, 2000 GeV]
    selection_optional: [ul, scan]
    norm_values: [-1, -0.4, 0.2, 0.8, 1.4, 2, 2.6, 3.2, 3.8, 4.4, 5]
    sed_type: eflux
outputs: {dir: results}
"""


def _write(tmp_path, text, name="analysis.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def _datasets_yaml(tmp_path):
    _write(
        tmp_path,
        f"datasets:\n  - {{name: fermi-dataset, type: MapDataset, filename: {GC}}}\n",
        "datasets.yaml",
    )


def _numeric_columns(table):
    return [
        name
        for name in table.colnames
        if np.asarray(table[name]).dtype.kind in "fiub" and name != "success"
    ]


def _assert_same_table(ours, expected):
    assert ours.colnames == expected.colnames
    assert len(ours) == len(expected)
    for name in _numeric_columns(expected):
        a = np.asarray(ours[name], dtype=float)
        b = np.asarray(expected[name], dtype=float)
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=0, equal_nan=True, err_msg=name)
    np.testing.assert_array_equal(np.asarray(ours["success"]), np.asarray(expected["success"]))


@needs_gc
def test_run_rectangle_profile_matches_api(tmp_path):
    """The seed's 51 rectangles from the config: the table of the Python API, to 1e-10."""
    from fluxfit.datasets import FluxPoints
    from fluxfit.datasets.map import MapDataset
    from fluxfit.estimators import FluxProfileEstimator
    from fluxfit.maps import make_orthogonal_rectangle_sky_regions
    from fluxfit.models import PowerLawSpectralModel

    _datasets_yaml(tmp_path)
    path = _write(tmp_path, RECTANGLES)
    assert main(["run", str(path), "--quiet"]) == 0
    out = tmp_path / "results"
    table = Table.read(out / "profile.fits", hdu="FLUXPOINTS")

    # examples/seed_001_flux_profiles.py
    dataset = MapDataset.read(GC, name="fermi-dataset")
    wcs = dataset.counts.sum_over_axes().geom.wcs
    regions = make_orthogonal_rectangle_sky_regions(
        start_pos=SkyCoord("10d", "0d", frame="galactic"),
        end_pos=SkyCoord("350d", "0d", frame="galactic"),
        wcs=wcs,
        height="3 deg",
        nbin=51,
    )
    profile = FluxProfileEstimator(
        regions=regions,
        spectrum=PowerLawSpectralModel(index=2.3),
        energy_edges=[10, 2000] * u.GeV,
        selection_optional=["ul"],
    ).run(datasets=dataset)
    expected = profile.to_table(format="profile", sed_type="dnde")
    _assert_same_table(table, expected)
    assert len(table) == 51 and int(np.sum(table["success"])) == 47

    read = FluxPoints.read(out / "profile.fits", format="profile")
    assert read.axes["projected-distance"].nbin == 51
    summary = json.loads((out / "fit.json").read_text())
    assert summary["fit"] is None and summary["parameters"] == []  # no models: no fit
    assert summary["files"]["profile"] == "profile.fits"
    assert [f["file"] for f in summary["figures"]] == ["figures/profile.png"]
    assert summary["figure_problems"] == []
    report = (out / "report.html").read_text()
    assert 'alt="Flux profile"' in report and "data:image/png;base64," in report


@needs_gc
def test_run_annulus_profile_with_scan(tmp_path):
    """Annuli, two energy groups, upper limits and scans: the likelihood-profile figure."""
    from fluxfit.datasets.map import MapDataset
    from fluxfit.estimators import FluxProfileEstimator
    from fluxfit.maps import make_concentric_annulus_sky_regions
    from fluxfit.models import PowerLawSpectralModel

    _datasets_yaml(tmp_path)
    path = _write(tmp_path, ANNULI)
    assert main(["run", str(path), "--quiet"]) == 0
    out = tmp_path / "results"
    table = Table.read(out / "profile.fits", hdu="FLUXPOINTS")

    dataset = MapDataset.read(GC, name="fermi-dataset")
    profile = FluxProfileEstimator(
        regions=make_concentric_annulus_sky_regions(
            center=SkyCoord("0d", "0d", frame="galactic"), radius_max="1.5 deg", nbin=11
        ),
        spectrum=PowerLawSpectralModel(index=2.3),
        energy_edges=[10, 100, 2000] * u.GeV,
        selection_optional=["ul", "scan"],
        norm_values=np.linspace(-1, 5, 11),
    ).run(datasets=dataset)
    assert profile.data_shape[:2] == (10, 2)  # as the seed: regions x energy groups
    _assert_same_table(table, profile.to_table(format="profile", sed_type="eflux"))
    assert "eflux_ul" in table.colnames and "stat_scan" in table.colnames

    summary = json.loads((out / "fit.json").read_text())
    files = [f["file"] for f in summary["figures"]]
    assert files == ["figures/profile.png", "figures/profile_ts.png"]
    assert all((out / f).stat().st_size > 0 for f in files)
    assert summary["figure_problems"] == []

    # the report draws the profile figures from profile.fits when fit.json lists none
    from fluxfit.cli.report import build_report

    summary["figures"] = []
    (out / "fit.json").write_text(json.dumps(summary))
    for f in files:
        (out / f).unlink()
    text = build_report(out)
    assert text.count("data:image/png;base64,") == 2
    assert all((out / f).is_file() for f in files)


@needs_gc
def test_profile_width_instead_of_n(tmp_path):
    """``width`` gives the number of regions (0.15 deg annuli up to 1.5 deg: 10 of them)."""
    from fluxfit.cli.run import build_datasets, build_profile_regions

    _datasets_yaml(tmp_path)
    text = ANNULI.replace("n: 10", "width: 0.15 deg").replace(
        "radius_max", "radius_min: 1e-5, radius_max"
    )
    config = load_config(_write(tmp_path, text))
    datasets, _ = build_datasets(config, tmp_path)
    regions = build_profile_regions(config.estimators.profile.regions, datasets)
    assert len(regions) == 10
    assert u.Quantity(regions[-1].outer_radius).to_value("deg") == pytest.approx(1.5)

    text = RECTANGLES.replace("n: 51", "width: 0.4 deg")  # 20 deg / 0.4 deg = 50 rectangles
    config = load_config(_write(tmp_path, text, "b.yaml"))
    assert len(build_profile_regions(config.estimators.profile.regions, datasets)) == 50
    text = RECTANGLES.replace("n: 51", "width: 0.3 deg")  # 66.7 rectangles
    config = load_config(_write(tmp_path, text, "c.yaml"))
    with pytest.raises(FormatError, match=r"estimators\.profile\.regions\.width.*whole number"):
        build_profile_regions(config.estimators.profile.regions, datasets)


PROFILE = "data: {{datasets: d.yaml}}\nestimators:\n  profile:\n    {body}\n"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "regions: {kind: squares, center: 0 0 galactic, radius_max: 1 deg, n: 5}",
            ["estimators.profile.regions.kind", "'rectangles' or 'annuli'", "squares"],
        ),
        (
            "regions: {center: 0 0 galactic, radius_max: 1 deg, n: 5}",
            ["estimators.profile.regions.kind", "Field required"],
        ),
        (
            "regions: {kind: rectangles, start_pos: 10 0 galactic, n: 5}",
            ["estimators.profile.regions", "missing key(s) end_pos, height"],
        ),
        (
            "regions: {kind: annuli, center: 0 0 galactic, radius_max: 1 deg, height: 3 deg, n: 5}",
            ["estimators.profile.regions", "height not used by this kind", "center, radius_max"],
        ),
        (
            "regions: {kind: annuli, center: 0 0 galactic, radius_max: 1 deg}",
            ["estimators.profile.regions", "exactly one of n (number of regions) and width"],
        ),
        (
            "regions: {kind: annuli, center: 0 0 gal, radius_max: 1 deg, n: 5}",
            ["estimators.profile.regions.center", "'lon lat frame'", "icrs, galactic"],
        ),
        (
            "regions: {kind: annuli, center: {lon: 0, lat: 95 deg, frame: galactic}, "
            "radius_max: 1 deg, n: 5}",
            ["estimators.profile.regions.center.lat", "between -90 and 90"],
        ),
        (
            "regions: {kind: annuli, center: 0 0 galactic, radius_max: 1 TeV, n: 5}",
            ["estimators.profile.regions.radius_max", "expected an angle"],
        ),
        (
            "regions: {kind: annuli, center: 0 0 galactic, radius_max: 1 deg, n: 1}",
            ["estimators.profile.regions.n", "greater than or equal to 2"],
        ),
        (
            "regions: {kind: annuli, center: 0 0 galactic, radius_max: 1 deg, n: 5, size: 2}",
            ["estimators.profile.regions.size", "unknown key", "allowed keys: kind, start_pos"],
        ),
        (
            "regions: {kind: annuli, center: 0 0 galactic, radius_max: 1 deg, n: 5}\n"
            "    selection_optional: [ts]",
            ["estimators.profile.selection_optional.0", "'ul'", "'scan'"],
        ),
        (
            "regions: {kind: annuli, center: 0 0 galactic, radius_max: 1 deg, n: 5}\n"
            "    sed_type: flux_ul",
            ["estimators.profile.sed_type", "'dnde'"],
        ),
        ("spectrum: {type: PowerLawSpectralModel}", ["estimators.profile.regions", "required"]),
    ],
)
def test_invalid_profile_configs(tmp_path, body, expected):
    path = _write(tmp_path, PROFILE.format(body=body))
    with pytest.raises(FormatError) as info:
        load_config(path)
    message = str(info.value)
    assert str(path) in message
    for part in expected:
        assert part in message, message


def test_models_required_by_other_estimators(tmp_path, capsys):
    text = "data: {ogip: [a.fits]}\nestimators: {flux_points: {energy_edges: [1 TeV, 10 TeV]}}\n"
    assert main(["run", str(_write(tmp_path, text))]) == 1
    err = capsys.readouterr().err
    assert "models: required by estimators.flux_points" in err


def test_unknown_profile_spectrum_lists_allowed(tmp_path):
    from fluxfit.cli.run import build_profile_estimator

    body = (
        "regions: {kind: annuli, center: 0 0 galactic, radius_max: 1 deg, n: 5}\n"
        "    spectrum: {type: PowerLaw}"
    )
    config = load_config(_write(tmp_path, PROFILE.format(body=body)))
    with pytest.raises(FormatError, match=r"estimators\.profile\.spectrum\.type.*PowerLawSpectral"):
        build_profile_estimator(config.estimators.profile, [])


def test_rectangles_need_a_map_dataset(tmp_path):
    from fluxfit.cli.run import build_profile_regions

    body = "regions: {kind: rectangles, start_pos: 1 0 galactic, end_pos: 0 0 galactic, height: 1, n: 2}"
    config = load_config(_write(tmp_path, PROFILE.format(body=body)))
    with pytest.raises(FormatError, match=r"estimators\.profile\.regions: kind 'rectangles'.*map"):
        build_profile_regions(config.estimators.profile.regions, [])
