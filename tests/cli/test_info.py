"""`fluxfit info FILE` recognises every kind of file by content and names bad ones."""

import pytest

from fluxfit.cli.info import describe
from fluxfit.cli.main import main
from fluxfit.errors import FormatError, MissingFileError

CASES = [
    ("gammapy-data/joint-crab/spectra/hess/pha_obs23523.fits", "OGIP PHA type I spectrum"),
    ("gammapy-data/joint-crab/spectra/hess/bkg_obs23523.fits", "background"),
    ("gammapy-data/joint-crab/spectra/hess/arf_obs23523.fits", "OGIP ARF"),
    ("gammapy-data/joint-crab/spectra/hess/rmf_obs23523.fits", "OGIP RMF"),
    ("threeml/ogip_powerlaw.rsp", "OGIP RSP"),
    ("gammapy-data/hess-dl3-dr1/obs-index.fits.gz", "obs index"),
    ("gammapy-data/hess-dl3-dr1/hdu-index.fits.gz", "hdu index"),
    ("gammapy-data/hess-dl3-dr1/data/hess_dl3_dr1_obs_id_020136.fits.gz", "event list"),
    ("gammapy-data/fermi-3fhl-crab/Fermi-LAT-3FHL_data_Fermi-LAT.fits", "map dataset"),
    ("gammapy-data/hawc/crab_flux/HAWC19_flux_points.fits", "flux points"),
    ("gammapy-data/fermi-3fhl-crab/Fermi-LAT-3FHL_models.yaml", "models YAML"),
    ("gammapy-data/fermi-3fhl-crab/Fermi-LAT-3FHL_datasets.yaml", "datasets YAML"),
]


@pytest.mark.parametrize("name, kind", CASES)
def test_describes_real_files(data_dir, name, kind):
    text = describe(data_dir / name)
    assert kind in text


def test_type2_pha(reference_dir):
    assert "PHA type II" in describe(reference_dir / "threeml/task1_s1.pha")


def test_bad_files_are_named(tmp_path, capsys):
    with pytest.raises(MissingFileError):
        describe(tmp_path / "nope.fits")
    junk = tmp_path / "junk.fits"
    junk.write_bytes(b"not a fits file at all")
    with pytest.raises(FormatError, match=r"junk\.fits"):
        describe(junk)
    assert main(["info", str(junk)]) == 1
    assert "junk.fits" in capsys.readouterr().err
    yaml_file = tmp_path / "x.yaml"
    yaml_file.write_text("foo: 1\n")
    with pytest.raises(FormatError, match="not a fluxfit file"):
        describe(yaml_file)
