"""Models: the community YAML, round trips, links, priors, covariance and errors."""

import pickle

import astropy.units as u
import numpy as np
import pytest

from fluxfit.errors import ModelError, OverwriteError
from fluxfit.models import (
    BlackbodySpectralModel,
    FoVBackgroundModel,
    GaussianPrior,
    LogNormalPrior,
    Models,
    PointSpatialModel,
    PowerLawFluxSpectralModel,
    PowerLawSpectralModel,
    SkyModel,
)
from fluxfit.utils import nested_equal

FERMI_MODELS = "gammapy-data/fermi-3fhl-crab/Fermi-LAT-3FHL_models.yaml"


def seed000_models():
    """The seed-000 model, built as a user would (a few lines)."""
    spectrum_1 = BlackbodySpectralModel()
    spectrum_1.K.prior = LogNormalPrior(mu=np.log(1e-7), sigma=1)
    spectrum_1.kT.prior = LogNormalPrior(mu=np.log(300), sigma=2)
    spectrum_2 = BlackbodySpectralModel() + PowerLawFluxSpectralModel(a=10 * u.keV, b=500 * u.keV)
    spectrum_2.K_1.prior = LogNormalPrior(mu=np.log(1e-6), sigma=1)
    spectrum_2.kT_1.prior = LogNormalPrior(mu=np.log(300), sigma=2)
    spectrum_2.F_2.prior = LogNormalPrior(mu=np.log(1e2), sigma=1)
    spectrum_2.F_2.bounds = (None, None)
    spectrum_2.index_2.prior = GaussianPrior(mu=-1.0, sigma=1)
    spectrum_2.index_2.bounds = (None, None)
    spectrum_1.kT.link(spectrum_2.kT_1)
    # 3ML keeps point-source positions fixed
    src1 = SkyModel(
        spectrum_1,
        PointSpatialModel(lon_0=1 * u.deg, lat_0=20 * u.deg, frame="icrs"),
        name="src1",
        datasets_names=["s1"],
    )
    src2 = SkyModel(
        spectrum_2,
        PointSpatialModel(lon_0=2 * u.deg, lat_0=-10 * u.deg, frame="icrs"),
        name="src2",
        datasets_names=["s2"],
    )
    models = Models([src1, src2])
    models.freeze("spatial")
    return models


def test_seed000_model_structure():
    models = seed000_models()
    free = models.parameters.free_parameters
    assert free.names == [
        "src1.spectral.K",
        "src2.spectral.K_1",
        "src2.spectral.kT_1",
        "src2.spectral.F_2",
        "src2.spectral.index_2",
    ]
    assert all(p.prior is not None for p in free)
    kt = models["src2"].spectral_model.kT_1
    kt.value = 500.0
    assert models["src1"].spectral_model.kT.value == 500.0
    assert models.for_dataset("s1").names == ["src1"]
    assert models.select(datasets_names="s2").names == ["src2"]
    table = models.to_parameters_table()
    assert "src2.spectral.kT_1" in table["link"]


def test_seed000_round_trip_keeps_links_and_priors(tmp_path):
    models = seed000_models()
    path = tmp_path / "seed000.yaml"
    models.write(path)
    again = Models.read(path)
    assert nested_equal(again.to_dict(full_output=True), models.to_dict(full_output=True))
    kt1 = again["src1"].spectral_model.kT
    assert kt1.is_linked and kt1.link_info.master is again["src2"].spectral_model.kT_1
    assert isinstance(again["src2"].spectral_model.index_2.prior, GaussianPrior)
    with pytest.raises(OverwriteError):
        models.write(path)


def test_identity_shared_parameter_round_trip():
    bb1 = BlackbodySpectralModel()
    bb2 = BlackbodySpectralModel(kT=bb1.kT)
    models = Models([SkyModel(bb1, name="a"), SkyModel(bb2, name="b")])
    assert len(models.parameters) == 3
    again = Models.from_yaml(models.to_yaml())
    assert again["a"].spectral_model.kT is again["b"].spectral_model.kT
    assert len(again.parameters) == 3


@pytest.mark.parametrize("name", [FERMI_MODELS, "reference:gammapy/wf2_joint_bestfit_models.yaml"])
def test_read_community_yaml(name, data_dir, reference_dir, tmp_path):
    path = reference_dir / name.split(":")[1] if name.startswith("reference:") else data_dir / name
    models = Models.read(path)
    assert models.names[0] == "Crab Nebula"
    crab = models["Crab Nebula"]
    assert crab.spectral_model.type == "LogParabolaSpectralModel"
    assert crab.spatial_model.frame == "icrs"
    assert crab.spatial_model.lat_0.frozen
    assert crab.spectral_model.reference.quantity.to_value("MeV") == pytest.approx(
        50.54833602905273
    )
    bkg = models["Fermi-LAT-bkg"]
    assert isinstance(bkg, FoVBackgroundModel)
    assert bkg.spectral_model.norm.min == 0.0
    assert "amplitude" in str(models)
    out = tmp_path / "out.yaml"
    models.write(out)
    again = Models.read(out)
    assert nested_equal(again.to_dict(full_output=True), models.to_dict(full_output=True))
    # the written file also keeps the Gammapy layout: first keys, parameter entries
    text = out.read_text()
    assert text.startswith("components:")
    assert "type: LogParabolaSpectralModel" in text


def test_read_gammapy_covariance(reference_dir):
    models = Models.read(reference_dir / "gammapy/wf2_roundtrip/crab_10GeV_100TeV_models.yaml")
    cov = models.covariance
    amp = models.parameters.index("Crab Nebula.spectral.amplitude")
    assert cov[amp, amp] == pytest.approx(9.158661112512343e-06)
    assert models["Crab Nebula"].spectral_model.amplitude.error == pytest.approx(
        np.sqrt(9.158661112512343e-06)
    )


def test_covariance_round_trip(tmp_path):
    models = Models([SkyModel(PowerLawSpectralModel(), name="pl")])
    n = len(models.parameters)
    rng = np.random.default_rng(3)
    a = rng.normal(size=(n, n))
    cov = a @ a.T
    models.covariance = cov
    models.write(tmp_path / "m.yaml")
    again = Models.read(tmp_path / "m.yaml")
    assert np.array_equal(again.covariance, cov)
    assert np.array_equal(again["pl"].spectral_model.covariance, cov)


def test_unknown_types_and_keys_are_named():
    good = Models([SkyModel(PowerLawSpectralModel(), name="x")]).to_dict()
    bad = {"components": [dict(good["components"][0], spectral={"type": "Nope", "parameters": []})]}
    with pytest.raises(ModelError, match=r"components\[0\]\(x\)\.spectral.*'Nope'"):
        Models.from_dict(bad)
    bad = {"components": [{"type": "Galaxy", "name": "g"}]}
    with pytest.raises(ModelError, match="unknown component type 'Galaxy'"):
        Models.from_dict(bad)
    comp = good["components"][0]
    comp["spectral"]["parameters"][0] = {"name": "index", "value": "two"}
    with pytest.raises(ModelError, match=r"parameters\[index\].*'two'"):
        Models.from_dict(good)
    with pytest.raises(ModelError, match="no parameter 'gamma'"):
        Models.from_dict(
            {
                "components": [
                    {
                        "name": "y",
                        "type": "SkyModel",
                        "spectral": {
                            "type": "PowerLawSpectralModel",
                            "parameters": [{"name": "gamma", "value": 1}],
                        },
                    }
                ]
            }
        )


@pytest.mark.parametrize(
    "text",
    [
        "components: [",  # malformed
        "",  # empty
        "!!python/object/apply:os.system ['echo hi']",  # tags
        "components: 3",
        "foo: bar",
    ],
)
def test_malformed_yaml(text):
    with pytest.raises((ModelError, ValueError)) as info:
        Models.from_yaml(text)
    assert type(info.value).__module__.startswith("fluxfit")


def test_duplicate_names_rejected():
    with pytest.raises(ModelError, match="already present"):
        Models(
            [
                SkyModel(PowerLawSpectralModel(), name="a"),
                SkyModel(PowerLawSpectralModel(), name="a"),
            ]
        )


def test_models_pickle():
    models = seed000_models()
    again = pickle.loads(pickle.dumps(models))
    assert again["src1"].spectral_model.kT.link_info.master is again["src2"].spectral_model.kT_1
