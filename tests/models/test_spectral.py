"""Spectral models: values against formulas written out independently, YAML, pickle, batches.

Each reference below is the published formula typed again with ``math`` on
scalars (energies converted by hand), independent of the implementation.
"""

from __future__ import annotations

import math
import pickle
import warnings

import astropy.units as u
import numpy as np
import pytest
import yaml

from fluxfit.errors import ModelError, UnitError
from fluxfit.models import (
    MODEL_REGISTRY,
    BandSpectralModel,
    BlackbodySpectralModel,
    BrokenPowerLawSpectralModel,
    CompoundSpectralModel,
    ConstantSpectralModel,
    ExpCutoffPowerLawSpectralModel,
    GaussianSpectralModel,
    LogParabola10SpectralModel,
    LogParabolaNormSpectralModel,
    LogParabolaSpectralModel,
    PowerLaw2SpectralModel,
    PowerLawFluxSpectralModel,
    PowerLawNormSpectralModel,
    PowerLawSpectralModel,
    SmoothBrokenPowerLawSpectralModel,
    SpectralModel,
    SuperExpCutoffPowerLaw4FGLDR3SpectralModel,
    TemplateSpectralModel,
)
from fluxfit.models.core import lookup_model
from fluxfit.models.io import model_from_dict

DNDE = u.Unit("cm-2 s-1 TeV-1")
KEV = 1e-9  # TeV
ENERGIES_TEV = [3e-9, 2e-7, 1e-4, 0.05, 0.7, 1.0, 3.3, 42.0]


def template_table():
    energy = np.array([0.1, 0.5, 2.0, 10.0, 50.0])
    values = 1e-11 * energy**-2.2 * np.exp(-energy / 20.0)
    return energy, values


def secpl_reference(e, amplitude, reference, d, g1, b):
    x = e / reference
    lnx = math.log(x)
    if abs(b * lnx) < 1e-2:
        return amplitude * x ** (-g1 - d / 2 * lnx - d * b / 6 * lnx**2 - d * b**2 / 24 * lnx**3)
    return amplitude * x ** (d / b - g1) * math.exp(d / b**2 * (1 - x**b))


def template_reference(e):
    energy, values = template_table()
    j = min(max(int(np.searchsorted(energy, e)) - 1, 0), len(energy) - 2)
    slope = math.log(values[j + 1] / values[j]) / math.log(energy[j + 1] / energy[j])
    return values[j] * (e / energy[j]) ** slope


# (model factory, dN/dE reference on floats in TeV and cm-2 s-1 TeV-1)
CASES = {
    "pl": (
        lambda: PowerLawSpectralModel(
            index=2.7, amplitude="3e-12 cm-2 s-1 TeV-1", reference=2 * u.TeV
        ),
        lambda e: 3e-12 * (e / 2.0) ** -2.7,
    ),
    "pl2": (
        lambda: PowerLaw2SpectralModel(
            amplitude="2e-11 cm-2 s-1", index=2.4, emin=0.3 * u.TeV, emax=30 * u.TeV
        ),
        lambda e: 2e-11 * (1 - 2.4) / (30 ** (1 - 2.4) - 0.3 ** (1 - 2.4)) * e**-2.4,
    ),
    "pl2-index1": (
        lambda: PowerLaw2SpectralModel(amplitude="2e-11 cm-2 s-1", index=1.0, emin=1 * u.TeV),
        lambda e: 2e-11 / (e * math.log(100.0 / 1.0)),
    ),
    "plflux": (
        lambda: PowerLawFluxSpectralModel(F=200, index=-1.5, a=10 * u.keV, b=500 * u.keV),
        # astromodels: F (g+1) / (b^(g+1) - a^(g+1)) x^g, x, a, b in keV -> per keV
        lambda e: 200 * (-0.5) / (500**-0.5 - 10**-0.5) * (e / KEV) ** -1.5 / KEV,
    ),
    "bpl": (
        lambda: BrokenPowerLawSpectralModel(
            index1=1.6, index2=3.1, amplitude="5e-12 cm-2 s-1 TeV-1", ebreak=0.7 * u.TeV
        ),
        lambda e: 5e-12 * (e / 0.7) ** (-1.6 if e < 0.7 else -3.1),
    ),
    "sbpl": (
        lambda: SmoothBrokenPowerLawSpectralModel(
            index1=1.6, index2=3.1, ebreak=0.7 * u.TeV, reference=1 * u.TeV, beta=0.6
        ),
        lambda e: 1e-12 * e**-1.6 * (1 + (e / 0.7) ** ((3.1 - 1.6) / 0.6)) ** -0.6,
    ),
    "sbpl-hardening": (
        lambda: SmoothBrokenPowerLawSpectralModel(
            index1=3.0, index2=2.2, ebreak=2 * u.TeV, beta=1.5
        ),
        # beta * sign(index2 - index1) = -1.5
        lambda e: 1e-12 * e**-3.0 * (1 + (e / 2.0) ** ((2.2 - 3.0) / -1.5)) ** 1.5,
    ),
    "lp": (
        lambda: LogParabolaSpectralModel(alpha=2.3, beta=0.15, reference=1 * u.TeV),
        lambda e: 1e-12 * e ** (-2.3 - 0.15 * math.log(e)),
    ),
    "lp10": (
        lambda: LogParabola10SpectralModel(alpha=2.3, beta=0.15, reference=1 * u.TeV),
        lambda e: 1e-12 * e ** (-2.3 - 0.15 * math.log10(e)),
    ),
    "ecpl": (
        lambda: ExpCutoffPowerLawSpectralModel(
            index=1.8, lambda_=0.2 * u.Unit("TeV-1"), alpha=1.3, reference=1 * u.TeV
        ),
        lambda e: 1e-12 * e**-1.8 * math.exp(-((0.2 * e) ** 1.3)),
    ),
    "secpl": (
        lambda: SuperExpCutoffPowerLaw4FGLDR3SpectralModel(
            amplitude="1e-9 cm-2 s-1 TeV-1",
            reference=1e-3 * u.TeV,
            expfactor=0.3,
            index_1=1.7,
            index_2=0.6,
        ),
        lambda e: secpl_reference(e, 1e-9, 1e-3, 0.3, 1.7, 0.6),
    ),
    "secpl-b0": (
        lambda: SuperExpCutoffPowerLaw4FGLDR3SpectralModel(expfactor=0.3, index_1=1.7, index_2=0.0),
        lambda e: secpl_reference(e, 1e-12, 1.0, 0.3, 1.7, 0.0),
    ),
    "plnorm": (
        lambda: PowerLawNormSpectralModel(norm=1.3, tilt=0.2, reference=3 * u.TeV),
        lambda e: 1.3 * (e / 3.0) ** -0.2,
    ),
    "lpnorm": (
        lambda: LogParabolaNormSpectralModel(norm=0.8, alpha=0.1, beta=0.05, reference=1 * u.TeV),
        lambda e: 0.8 * e ** (-0.1 - 0.05 * math.log(e)),
    ),
    "gauss": (
        lambda: GaussianSpectralModel(
            amplitude="1e-12 cm-2 s-1", mean=0.8 * u.TeV, sigma=0.4 * u.TeV
        ),
        lambda e: (
            1e-12 / (0.4 * math.sqrt(2 * math.pi)) * math.exp(-((e - 0.8) ** 2) / (2 * 0.4**2))
        ),
    ),
    "const": (
        lambda: ConstantSpectralModel(const="2e-12 cm-2 s-1 TeV-1"),
        lambda e: 2e-12,
    ),
    "template": (
        lambda: TemplateSpectralModel(template_table()[0] * u.TeV, template_table()[1] * DNDE),
        template_reference,
    ),
    "band": (
        lambda: BandSpectralModel(K=0.02, alpha=-0.7, xp=250 * u.keV, beta=-2.4),
        None,  # in test_spectral_astromodels.py
    ),
    "blackbody": (
        lambda: BlackbodySpectralModel(K=5e-8, kT=500 * u.keV),
        None,  # in test_spectral_astromodels.py
    ),
}

ALL_MODELS = sorted(CASES)


@pytest.mark.parametrize("name", [n for n in ALL_MODELS if CASES[n][1] is not None])
def test_evaluate_against_formula(name):
    factory, reference = CASES[name]
    model = factory()
    energy = np.array(ENERGIES_TEV)
    expected = np.array([reference(e) for e in energy])
    # Quantity API, with the energies given in keV
    got = model((energy / KEV) * u.keV)
    assert got.unit == model.output_unit
    np.testing.assert_allclose(got.value, expected, rtol=1e-12, atol=0)
    # float API
    np.testing.assert_allclose(model.dnde_array(energy), expected, rtol=1e-12, atol=0)


def test_secpl_near_reference_is_continuous():
    """The 4FGL-DR3 expansion and the exact formula agree where they meet."""
    model = SuperExpCutoffPowerLaw4FGLDR3SpectralModel(expfactor=0.8, index_1=1.5, index_2=2.0)
    edge = math.exp(1e-2 / 2.0)  # |b ln x| = 1e-2
    energy = np.array([edge * (1 - 1e-12), edge * (1 + 1e-12), 1 / edge * (1 - 1e-12)]) * u.TeV
    values = model(energy).value
    exact = [1e-12 * x ** (0.8 / 2 - 1.5) * math.exp(0.8 / 4 * (1 - x**2)) for x in energy.value]
    np.testing.assert_allclose(values, exact, rtol=1e-12)
    # below the reference the curvature lowers the flux as above it
    assert model(np.array([0.999, 1.001]) * u.TeV).value[0] < 1e-12 * 0.999**-1.5


def test_defaults_follow_gammapy():
    assert LogParabolaSpectralModel().reference.quantity == 10 * u.TeV
    assert ExpCutoffPowerLawSpectralModel().alpha.frozen
    assert PowerLawNormSpectralModel().tilt.frozen
    assert LogParabolaNormSpectralModel()(3 * u.TeV).value == 1.0
    assert SmoothBrokenPowerLawSpectralModel().beta.frozen
    pl2 = PowerLaw2SpectralModel()
    assert pl2.emin.frozen and pl2.emax.frozen and pl2.amplitude.unit == u.Unit("cm-2 s-1")
    assert [s.name for s in BrokenPowerLawSpectralModel._parameter_specs] == [
        "index1",
        "index2",
        "amplitude",
        "ebreak",
    ]
    aliases = {
        "pl-2": "PowerLaw2SpectralModel",
        "pl-norm": "PowerLawNormSpectralModel",
        "gauss": "GaussianSpectralModel",
        "const": "ConstantSpectralModel",
        "template": "TemplateSpectralModel",
        "Blackbody": "BlackbodySpectralModel",
    }
    for alias, name in aliases.items():
        assert lookup_model(alias, SpectralModel) is MODEL_REGISTRY[name]


def test_log_parabola_from_log10():
    lp = LogParabolaSpectralModel.from_log10(alpha=2.3, beta=0.3, reference=1 * u.TeV)
    lp10 = LogParabola10SpectralModel(alpha=2.3, beta=0.3, reference=1 * u.TeV)
    energy = [0.1, 1, 10] * u.TeV
    np.testing.assert_allclose(lp(energy).value, lp10(energy).value, rtol=1e-13)


def test_blackbody_no_warnings_far_in_the_tail():
    model = BlackbodySpectralModel(kT=1 * u.keV)
    energy = np.array([1e-3, 1.0, 700.0, 710.0, 1e5, 1e12]) * u.keV
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        values = model(energy).value
        batch = model.evaluate_batch(energy, np.array([[1e-4, 1.0], [1e-4, 0.0]]))
    assert values[0] > 0 and np.all(values[-3:] == 0) and np.all(np.isfinite(values))
    assert np.all(batch.value[1] == 0)


def test_template_options_and_errors():
    energy, values = template_table()
    model = TemplateSpectralModel(energy * u.TeV, values * DNDE)
    # log-log extrapolation of the end segments
    slope = math.log(values[1] / values[0]) / math.log(energy[1] / energy[0])
    assert model(0.05 * u.TeV).value == pytest.approx(values[0] * 0.5**slope, rel=1e-12)
    zero_outside = TemplateSpectralModel(energy * u.TeV, values * DNDE, {"extrapolate": False})
    assert zero_outside([0.05, 100] * u.TeV).value.tolist() == [0.0, 0.0]
    linear = TemplateSpectralModel(energy * u.TeV, values * DNDE, {"values_scale": "lin"})
    frac = math.log(1.0 / 0.5) / math.log(2.0 / 0.5)
    assert linear(1 * u.TeV).value == pytest.approx(values[1] + frac * (values[2] - values[1]))
    # dimensionless values: a norm-type template (e.g. an absorption table)
    absorption = TemplateSpectralModel(energy * u.TeV, np.exp(-energy / 10) * u.one)
    assert absorption.is_norm_spectral_model
    assert (PowerLawSpectralModel() * absorption)(1 * u.TeV).unit == DNDE
    with pytest.raises(UnitError):
        TemplateSpectralModel(energy * u.TeV, values * u.Unit("erg cm-2 s-1"))
    with pytest.raises(ModelError, match="increasing"):
        TemplateSpectralModel(energy[::-1] * u.TeV, values * DNDE)
    with pytest.raises(ModelError, match="interp_kwargs"):
        TemplateSpectralModel(energy * u.TeV, values * DNDE, {"kind": "cubic"})


def test_norm_models_and_units():
    template = TemplateSpectralModel(
        *(q * unit for q, unit in zip(template_table(), (u.TeV, DNDE)))
    )
    norm = PowerLawNormSpectralModel(norm=2.0, tilt=0.1)
    product = template * norm
    assert norm.is_norm_spectral_model and not product.is_norm_spectral_model
    assert product(2 * u.TeV).unit == DNDE
    assert product(2 * u.TeV).value == pytest.approx(2.0 * 2**-0.1 * template(2 * u.TeV).value)
    assert norm(1 * u.TeV).unit == u.one and norm.integral(1 * u.TeV, 2 * u.TeV).unit == u.TeV
    assert product.integral(1 * u.TeV, 2 * u.TeV).unit == u.Unit("cm-2 s-1")
    with pytest.raises(ModelError, match="cannot add"):
        template + norm


# ----------------------------------------------------------------------------- YAML
def modified(name):
    """The model of CASES with free, non-default values and a changed flag."""
    model = CASES[name][0]()
    free = model.parameters.free_parameters
    if len(free):
        free[0].error = 0.1 * abs(free[0].value) + 1e-3
        free[len(free) - 1].frozen = True
    return model


def assert_same_model(first, second):
    assert type(first) is type(second)
    assert first.parameters.names == second.parameters.names
    for p, q in zip(first.parameters, second.parameters):
        assert (p.value, p.unit, p.frozen, p.error) == (q.value, q.unit, q.frozen, q.error)
        assert (p.min, p.max) == pytest.approx((q.min, q.max), nan_ok=True)
    energy = np.geomspace(1e-8, 100, 7) * u.TeV
    np.testing.assert_array_equal(first(energy).value, second(energy).value)


@pytest.mark.parametrize("name", ALL_MODELS)
@pytest.mark.parametrize("full_output", [False, True])
def test_yaml_round_trip(name, full_output):
    model = modified(name)
    data = model.to_dict(full_output=full_output)
    assert data["type"] == model.tag[0]
    text = yaml.safe_dump(data, sort_keys=False)
    again = model_from_dict(yaml.safe_load(text), "spectral", "test")
    assert_same_model(model, again)


def test_yaml_aliases_and_template_layout():
    data = {
        "type": "Powerlaw_flux",
        "parameters": [{"name": "F", "value": 3.0, "unit": "cm-2 s-1"}],
    }
    model = model_from_dict(data, "spectral", "test")
    assert isinstance(model, PowerLawFluxSpectralModel) and model.F.value == 3.0
    assert isinstance(model_from_dict({"type": "Band"}, "spectral", "t"), BandSpectralModel)
    # Gammapy's layout of a template, with energies in MeV
    data = {
        "type": "TemplateSpectralModel",
        "energy": {"data": [1e5, 1e6, 1e7], "unit": "MeV"},
        "values": {"data": [1e-10, 1e-12, 1e-14], "unit": "1 / (cm2 s TeV)"},
    }
    model = model_from_dict(data, "spectral", "test")
    assert model(1 * u.TeV).value == pytest.approx(1e-12)
    assert model.parameters.names == []
    assert model.to_dict() == {
        "type": "TemplateSpectralModel",
        **{k: data[k] for k in ("energy",)},
        "values": {"data": data["values"]["data"], "unit": "1 / (TeV s cm2)"},
    }
    with_norm = dict(data, parameters=[{"name": "norm", "value": 2.0}])
    assert model_from_dict(with_norm, "spectral", "t")(1 * u.TeV).value == pytest.approx(2e-12)
    with pytest.raises(ModelError, match=r"test\(TemplateSpectralModel\).*values"):
        model_from_dict(
            {"type": "TemplateSpectralModel", "energy": data["energy"]}, "spectral", "test"
        )


def test_compound_yaml_round_trip():
    model = BlackbodySpectralModel(K=1e-7, kT=500 * u.keV) + PowerLawFluxSpectralModel(
        F=200, index=-1.5, a=10 * u.keV, b=500 * u.keV
    )
    again = model_from_dict(yaml.safe_load(yaml.safe_dump(model.to_dict())), "spectral", "t")
    assert isinstance(again, CompoundSpectralModel)
    assert_same_model(model, again)
    norm = TemplateSpectralModel(
        [1, 10] * u.TeV, [1e-12, 1e-14] * DNDE
    ) * PowerLawNormSpectralModel(norm=2)
    assert_same_model(norm, model_from_dict(norm.to_dict(), "spectral", "t"))


# ----------------------------------------------------------------------------- pickle, copy
@pytest.mark.parametrize("name", ALL_MODELS)
def test_pickle_and_copy(name):
    model = modified(name)
    assert_same_model(model, pickle.loads(pickle.dumps(model)))
    copy = model.copy()
    assert_same_model(model, copy)
    assert all(p is not q for p, q in zip(model.parameters, copy.parameters))


def test_pickle_keeps_shared_parameters():
    bb1 = BlackbodySpectralModel()
    model = bb1 + BlackbodySpectralModel(kT=bb1.kT)
    again = pickle.loads(pickle.dumps(model))
    assert again.model1.kT is again.model2.kT
    assert again.parameters.names == ["K_1", "kT_1", "K_2"]


# ----------------------------------------------------------------------------- batches
def batch_values(model: SpectralModel, k: int, seed: int = 1) -> np.ndarray:
    """k parameter sets: the current values scaled by factors in [0.9, 1.1] (within bounds)."""
    rng = np.random.default_rng(seed)
    base = model.parameters.value
    values = base * rng.uniform(0.9, 1.1, size=(k, base.size))
    values = np.where(base == 0, rng.uniform(-0.1, 0.1, size=(k, base.size)), values)
    return np.fmin(np.fmax(values, model.parameters.min), model.parameters.max)  # NaN: no bound


def compound_models():
    bb1 = BlackbodySpectralModel(K=1e-7, kT=500 * u.keV)
    shared = bb1 + BlackbodySpectralModel(K=3e-8, kT=bb1.kT)  # kT shared
    seed = BlackbodySpectralModel(K=1e-7, kT=500 * u.keV) + PowerLawFluxSpectralModel(
        F=200, index=-1.5, a=10 * u.keV, b=500 * u.keV
    )
    product = BandSpectralModel(K=0.02, alpha=-0.7, xp=250 * u.keV, beta=-2.4) * (
        PowerLawNormSpectralModel(tilt=0.1, reference=100 * u.keV)
    )
    return {"shared": shared, "seed000": seed, "product": product}


BATCH_MODELS = ALL_MODELS + ["compound-" + k for k in compound_models()]


def make_model(name):
    return (
        compound_models()[name.split("-", 1)[1]] if name.startswith("compound-") else modified(name)
    )


@pytest.mark.parametrize("name", BATCH_MODELS)
def test_evaluate_batch_equals_loop(name):
    model = make_model(name)
    values = batch_values(model, k=4)
    energy = np.geomspace(1e-8, 50, 9) * u.TeV
    batch = model.evaluate_batch(energy, values)
    assert batch.shape == (4, 9)
    for row, expected in zip(values, batch):
        model.parameters.value = row
        np.testing.assert_allclose(model(energy).value, expected.value, rtol=1e-13, atol=0)


@pytest.mark.parametrize("name", BATCH_MODELS)
def test_integral_samples_equal_loop(name):
    model = make_model(name)
    free = model.parameters.free_parameters
    values = batch_values(model, k=3)[:, [model.parameters.index(p) for p in free]]
    emin, emax = [1e-8, 3e-7, 0.2] * u.TeV, [2e-6, 4e-7, 20] * u.TeV
    for energy_flux in (False, True):
        batch = model.integral_samples(emin, emax, values, energy_flux=energy_flux)
        assert batch.shape == (3, 3)
        for row, expected in zip(values, batch):
            free.value = row
            single = model.energy_flux(emin, emax) if energy_flux else model.integral(emin, emax)
            np.testing.assert_allclose(single.value, expected.value, rtol=1e-10, atol=0)


def test_batch_with_dict_and_no_parameters():
    model = TemplateSpectralModel(*(q * unit for q, unit in zip(template_table(), (u.TeV, DNDE))))
    batch = model.evaluate_batch([1, 2] * u.TeV, np.zeros((3, 0)))
    assert batch.shape == (3, 2)
    compound = compound_models()["shared"]
    batch = compound.evaluate_batch([10, 100] * u.keV, {"kT_1": [100.0, 200.0, 300.0]})
    assert batch.shape == (3, 2)
    compound.kT_1.value = 200.0
    np.testing.assert_allclose(batch[1].value, compound([10, 100] * u.keV).value, rtol=1e-14)


# ----------------------------------------------------------------------------- compounds
def test_seed000_compound_names_and_values():
    bb = BlackbodySpectralModel(K=1e-7, kT=500 * u.keV)
    plf = PowerLawFluxSpectralModel(F=200, index=-1.5, a=10 * u.keV, b=500 * u.keV)
    model = bb + plf
    assert model.parameters.names == ["K_1", "kT_1", "F_2", "index_2", "a_2", "b_2"]
    assert model.K_1 is bb.K and model.b_2 is plf.b
    assert model.parameters.free_parameters.names == ["K_1", "kT_1", "F_2", "index_2"]
    energy = [5, 50, 500] * u.keV
    np.testing.assert_allclose(
        model(energy).value, bb(energy).value + plf(energy).value, rtol=1e-15
    )
    product = bb * plf
    np.testing.assert_allclose(
        product(energy).value, bb(energy).value * plf(energy).value, rtol=1e-15
    )
    assert product.output_unit == DNDE**2
    model.kT_1 = 400.0  # sets the value
    assert bb.kT.value == 400.0
    with pytest.raises(ModelError):
        model.kT_1 = BlackbodySpectralModel().kT
    emin, emax = [1, 10, 100] * u.keV, [10, 100, 1000] * u.keV
    for method in ("integral", "energy_flux"):
        total = getattr(model, method)(emin, emax)
        parts = getattr(bb, method)(emin, emax) + getattr(plf, method)(emin, emax)
        np.testing.assert_allclose(total.value, parts.value, rtol=1e-14)
    # the power law's F is its photon flux between a and b
    assert plf.integral(10 * u.keV, 500 * u.keV).value == pytest.approx(200, rel=1e-13)


def test_shared_parameter_appears_once():
    bb1 = BlackbodySpectralModel()
    bb2 = BlackbodySpectralModel(kT=bb1.kT)
    assert bb2.kT is bb1.kT
    model = bb1 + bb2 + PowerLawFluxSpectralModel()
    assert model.parameters.names == ["K_1", "kT_1", "K_2", "F_3", "index_3", "a_3", "b_3"]
    bb1.kT.value = 80.0
    assert model(50 * u.keV).value == pytest.approx(
        bb1(50 * u.keV).value + bb2(50 * u.keV).value + model.model2(50 * u.keV).value
    )


def test_errors_propagate_from_covariance():
    model = PowerLawSpectralModel(index=2.0, amplitude="1e-12 cm-2 s-1 TeV-1")
    model.amplitude.error = 1e-13
    flux, error = model.integral_error(1 * u.TeV, 10 * u.TeV)
    assert error.value == pytest.approx(0.1 * flux.value, rel=1e-6)
    band = BandSpectralModel(K=0.02, alpha=-0.7, xp=250 * u.keV, beta=-2.4)
    band.K.error = 0.002
    eflux, error = band.energy_flux_error([10, 100] * u.keV, [100, 1000] * u.keV)
    np.testing.assert_allclose(error.value, 0.1 * eflux.value, rtol=1e-6)
    dnde, error = band.evaluate_error([50, 500] * u.keV)
    np.testing.assert_allclose(error.value, 0.1 * dnde.value, rtol=1e-6)


def test_energy_must_be_a_quantity():
    with pytest.raises(UnitError, match="Quantity"):
        PowerLawSpectralModel()(1.0)
    with pytest.raises(UnitError, match="not an energy"):
        PowerLawSpectralModel().integral(1 * u.s, 2 * u.s)


def test_compound_never_modifies_arrays_it_does_not_own():
    """The in-place sum/product of a compound leaves arrays held elsewhere untouched."""
    cache = np.full(3, 2.0)

    class Cached(ConstantSpectralModel):
        tag = ("CachedConstantForTest",)

        @staticmethod
        def evaluate(energy, const):
            return cache

    model = Cached() + ConstantSpectralModel(const=1 * DNDE)
    assert model([1, 2, 3] * u.TeV).value.tolist() == [3.0, 3.0, 3.0]
    assert cache.tolist() == [2.0, 2.0, 2.0]
    energy = np.array([1.0, 2.0, 3.0])
    identity = TemplateSpectralModel([1, 3] * u.TeV, [1.0, 1.0] * u.one)
    product = identity * PowerLawNormSpectralModel(norm=2.0)
    assert product.dnde_array(energy).tolist() == [2.0, 2.0, 2.0]
    assert energy.tolist() == [1.0, 2.0, 3.0]
