"""The 3ML / astromodels models: Blackbody, Powerlaw_flux and Band.

astromodels is not a dependency and is not imported: its formulas are
re-derived here from the published definitions (astromodels' documentation
and Band et al. 1993, ApJ 413, 281), in keV, with ``math`` on scalars, and
compared with fluxfit's models evaluated in any unit.
"""

from __future__ import annotations

import math

import astropy.units as u
import numpy as np
import pytest

from fluxfit.models import (
    BandSpectralModel,
    BlackbodySpectralModel,
    PowerLawFluxSpectralModel,
)

PER_KEV = u.Unit("cm-2 s-1 keV-1")
ENERGY_KEV = np.geomspace(0.3, 3e4, 41)


def blackbody(x, K, kT):
    """astromodels Blackbody: K x^2 / (exp(x / kT) - 1), 0 where the exponential overflows."""
    try:
        return K * x**2 / math.expm1(x / kT)
    except OverflowError:
        return 0.0


def powerlaw_flux(x, F, index, a, b):
    """astromodels Powerlaw_flux: F (index + 1) / (b^(index+1) - a^(index+1)) x^index."""
    gp1 = index + 1
    return F * gp1 / (b**gp1 - a**gp1) * x**index


def band(x, K, alpha, xp, beta, piv):
    """Band et al. (1993) with the nuFnu peak xp = (2 + alpha) E0, as astromodels' Band.

    Below the break (alpha - beta) E0 the spectrum is a cut-off power law; above,
    the power law of index beta that joins it continuously with its slope.
    astromodels evaluates alpha < beta with alpha set to beta (E0 unchanged).
    """
    e0 = xp / (2 + alpha)
    alpha = max(alpha, beta)
    ebreak = (alpha - beta) * e0
    if x < ebreak:
        return K * (x / piv) ** alpha * math.exp(-x / e0)
    return (
        K
        * ((alpha - beta) * e0 / piv) ** (alpha - beta)
        * math.exp(beta - alpha)
        * (x / piv) ** beta
    )


@pytest.mark.parametrize("K, kT", [(1e-4, 30.0), (5e-8, 500.0), (1e-7, 510.0), (3.0, 0.7)])
def test_blackbody(K, kT):
    model = BlackbodySpectralModel(K=K, kT=kT * u.keV)
    expected = [blackbody(x, K, kT) for x in ENERGY_KEV]
    np.testing.assert_allclose(model(ENERGY_KEV * u.keV).to_value(PER_KEV), expected, rtol=1e-12)
    # the same model with its parameters given in other units
    other = BlackbodySpectralModel(
        K=K * u.Unit("cm-2 s-1 keV-3").to("cm-2 s-1 MeV-3") * u.Unit("cm-2 s-1 MeV-3"),
        kT=kT / 1000 * u.MeV,
    )
    np.testing.assert_allclose(other(ENERGY_KEV * u.keV).to_value(PER_KEV), expected, rtol=1e-12)


@pytest.mark.parametrize(
    "F, index, a, b",
    [
        (1.0, -2.0, 1.0, 100.0),
        (200.0, -1.5, 10.0, 500.0),
        (3.0, 0.5, 10.0, 500.0),
        (2.0, -2.7, 1, 1e4),
    ],
)
def test_powerlaw_flux(F, index, a, b):
    model = PowerLawFluxSpectralModel(F=F, index=index, a=a * u.keV, b=b * u.keV)
    expected = [powerlaw_flux(x, F, index, a, b) for x in ENERGY_KEV]
    np.testing.assert_allclose(model(ENERGY_KEV * u.keV).to_value(PER_KEV), expected, rtol=1e-12)
    assert model.integral(a * u.keV, b * u.keV).to_value("cm-2 s-1") == pytest.approx(F, rel=1e-13)


def test_powerlaw_flux_index_minus_one_is_the_limit():
    model = PowerLawFluxSpectralModel(F=5.0, index=-1.0, a=10 * u.keV, b=500 * u.keV)
    x = ENERGY_KEV
    expected = 5.0 / (x * math.log(500 / 10))
    np.testing.assert_allclose(model(x * u.keV).to_value(PER_KEV), expected, rtol=1e-13)
    near = PowerLawFluxSpectralModel(F=5.0, index=-1.0 + 1e-9, a=10 * u.keV, b=500 * u.keV)
    np.testing.assert_allclose(near(x * u.keV).to_value(PER_KEV), expected, rtol=1e-7)


@pytest.mark.parametrize(
    "K, alpha, xp, beta",
    [
        (1e-4, -1.0, 500.0, -2.0),
        (0.02, -0.7, 250.0, -2.4),
        (1.0, -1.5, 10.0, -5.0),
        (1.0, 3.0, 2000.0, -1.6),
        (0.3, 0.2, 80.0, -3.1),
    ],
)
def test_band(K, alpha, xp, beta):
    model = BandSpectralModel(K=K, alpha=alpha, xp=xp * u.keV, beta=beta)
    expected = [band(x, K, alpha, xp, beta, 100.0) for x in ENERGY_KEV]
    np.testing.assert_allclose(model(ENERGY_KEV * u.keV).to_value(PER_KEV), expected, rtol=1e-12)
    # continuity of the value and of the slope at the break
    e0 = xp / (2 + alpha)
    ebreak = (alpha - beta) * e0
    x = np.array([ebreak * (1 - 1e-9), ebreak * (1 + 1e-9)]) * u.keV
    below, above = model(x).value
    assert below == pytest.approx(above, rel=1e-7)
    # xp is the peak of E^2 dN/dE (for beta < -2)
    if beta < -2:
        grid = np.geomspace(xp / 1.05, xp * 1.05, 2001) * u.keV
        e2dnde = model.e2dnde(grid).value
        assert grid[np.argmax(e2dnde)].value == pytest.approx(xp, rel=1e-4)


def test_band_alpha_below_beta_is_a_power_law():
    model = BandSpectralModel(K=2.0, xp=300 * u.keV)
    model.alpha.bounds = (None, None)
    model.beta.bounds = (None, None)
    model.alpha.value, model.beta.value = -1.9, -1.5
    expected = [band(x, 2.0, -1.9, 300.0, -1.5, 100.0) for x in ENERGY_KEV]
    np.testing.assert_allclose(model(ENERGY_KEV * u.keV).to_value(PER_KEV), expected, rtol=1e-12)
    np.testing.assert_allclose(expected, 2.0 * (ENERGY_KEV / 100) ** -1.5, rtol=1e-12)


def test_defaults_and_bounds_are_astromodels():
    bb = BlackbodySpectralModel()
    assert (bb.K.value, bb.K.min, bb.K.unit) == (1e-4, 0.0, u.Unit("cm-2 s-1 keV-3"))
    assert (bb.kT.value, bb.kT.min, bb.kT.unit) == (30.0, 0.0, u.keV)
    plf = PowerLawFluxSpectralModel()
    assert (plf.F.value, plf.F.min, plf.F.max, plf.F.unit) == (1.0, 1e-30, 1e3, u.Unit("cm-2 s-1"))
    assert (plf.index.value, plf.index.min, plf.index.max) == (-2.0, -10.0, 10.0)
    assert (plf.a.quantity, plf.b.quantity) == (1 * u.keV, 100 * u.keV)
    assert plf.a.frozen and plf.b.frozen
    bd = BandSpectralModel()
    assert (bd.K.value, bd.K.min, bd.K.unit) == (1e-4, 1e-50, PER_KEV)
    assert (bd.alpha.value, bd.alpha.min, bd.alpha.max) == (-1.0, -1.5, 3.0)
    assert (bd.xp.value, bd.xp.min, bd.xp.unit) == (500.0, 10.0, u.keV)
    assert (bd.beta.value, bd.beta.min, bd.beta.max) == (-2.0, -5.0, -1.6)
    assert bd.piv.quantity == 100 * u.keV and bd.piv.frozen
    assert [p.name for p in bd.parameters] == ["K", "alpha", "xp", "beta", "piv"]


def test_seed000_models():
    """The two spectra of the 3ML multiple-sources tutorial, with its simulated values."""
    src1 = BlackbodySpectralModel(K=5e-8, kT=500.0 * u.keV)
    src2 = BlackbodySpectralModel(K=1e-7, kT=500.0 * u.keV) + PowerLawFluxSpectralModel(
        F=2e2, index=-1.5, a=10 * u.keV, b=500 * u.keV
    )
    assert src2.parameters.names == ["K_1", "kT_1", "F_2", "index_2", "a_2", "b_2"]
    x = ENERGY_KEV
    expected1 = [blackbody(e, 5e-8, 500.0) for e in x]
    expected2 = [blackbody(e, 1e-7, 500.0) + powerlaw_flux(e, 2e2, -1.5, 10, 500) for e in x]
    np.testing.assert_allclose(src1(x * u.keV).to_value(PER_KEV), expected1, rtol=1e-12)
    np.testing.assert_allclose(src2(x * u.keV).to_value(PER_KEV), expected2, rtol=1e-12)
    # the 3ML fit starts from the defaults: K=1e-4, kT=30 keV, F=1, index=-2
    fresh = BlackbodySpectralModel() + PowerLawFluxSpectralModel(a=10 * u.keV, b=500 * u.keV)
    assert fresh.parameters.value.tolist() == [1e-4, 30.0, 1.0, -2.0, 10.0, 500.0]
