"""Integrals and energy fluxes of every spectral model against `scipy.integrate.quad`.

The reference integrates dN/dE (and E dN/dE) in ln E with QUADPACK at
``epsrel=1e-12``, with the interval split at every quarter decade and at the
model's breaks, so that it can be trusted to ~1e-11. Closed forms and the
default Gauss-Legendre quadrature must agree to 1e-7 relative (the brief asks
for 1e-6), over parameters and bands that include wide ones (three decades)
and narrow ones deep in exponential tails.
"""

from __future__ import annotations

import itertools
import math

import astropy.units as u
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.integrate import quad

from fluxfit.models import (
    BandSpectralModel,
    BlackbodySpectralModel,
    BrokenPowerLawSpectralModel,
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
    SuperExpCutoffPowerLaw4FGLDR3SpectralModel,
    TemplateSpectralModel,
)

RTOL = 1e-7
KEV = 1e-9  # TeV
DNDE = u.Unit("cm-2 s-1 TeV-1")
TEMPLATE_ENERGY = np.array([0.1, 0.5, 2.0, 10.0, 50.0])


def reference_integral(model, energy_min, energy_max, energy_power=0, breaks=()):
    """QUADPACK in ln E, split at quarter decades and at ``breaks`` (TeV)."""
    lo, hi = math.log(energy_min), math.log(energy_max)
    n_pieces = max(1, math.ceil((hi - lo) / (0.25 * math.log(10))))
    edges = set(np.linspace(lo, hi, n_pieces + 1))
    edges |= {math.log(b) for b in breaks if energy_min < b < energy_max}
    edges = sorted(edges)

    def integrand(t):
        energy = math.exp(t)
        return float(model.dnde_array(np.array([energy]))[0]) * energy ** (1 + energy_power)

    total = 0.0
    for a, b in itertools.pairwise(edges):
        value, _ = quad(integrand, a, b, epsabs=0.0, epsrel=1e-12, limit=200)
        total += value
    return total


def band_break(alpha, xp_kev, beta):
    return (alpha - beta) * xp_kev / (alpha + 2) * KEV


def template_model():
    values = 1e-11 * TEMPLATE_ENERGY**-2.2 * np.exp(-TEMPLATE_ENERGY / 20.0)
    return TemplateSpectralModel(TEMPLATE_ENERGY * u.TeV, values * DNDE)


# name -> (factory(params) -> model, parameter sets, bands in TeV, breaks(params) in TeV)
WIDE_KEV = [(1 * KEV, 1000 * KEV), (10 * KEV, 500 * KEV)]
WIDE_TEV = [(0.01, 10.0), (0.1, 100.0)]
CASES = {
    "blackbody": (
        lambda kT: BlackbodySpectralModel(K=1e-4, kT=kT * u.keV),
        [30.0, 500.0, 2.0],
        # wide bands, narrow ones at 1e-3 kT, kT and deep in the Wien tail (20-40 kT)
        lambda kT: (
            WIDE_KEV
            + [
                (b * kT * KEV, b * kT * KEV * f)
                for b, f in ((1e-3, 1.001), (1.0, 1.1), (20, 1.2), (35, 1.05))
            ]
        ),
        lambda kT: (),
    ),
    "band": (
        lambda p: BandSpectralModel(K=0.02, alpha=p[0], xp=p[1] * u.keV, beta=p[2]),
        [(-1.0, 500.0, -2.0), (-0.5, 50.0, -3.5), (1.5, 300.0, -2.2), (-1.4, 20.0, -4.9)],
        WIDE_KEV + [(80 * KEV, 120 * KEV), (300 * KEV, 3000 * KEV), (5 * KEV, 5.5 * KEV)],
        lambda p: (band_break(*p),),
    ),
    "plflux": (
        lambda index: PowerLawFluxSpectralModel(F=200, index=index, a=10 * u.keV, b=500 * u.keV),
        [-1.5, -1.0, -2.0, 0.7],
        WIDE_KEV + [(10 * KEV, 10.01 * KEV)],
        lambda p: (),
    ),
    "pl": (
        lambda index: PowerLawSpectralModel(index=index),
        [2.0, 1.0, 2.7, -0.5],
        WIDE_TEV + [(1.0, 1.0001), (30.0, 31.0)],
        lambda p: (),
    ),
    "pl2": (
        lambda index: PowerLaw2SpectralModel(index=index, emin=0.3 * u.TeV, emax=30 * u.TeV),
        [2.0, 1.0, 3.1],
        WIDE_TEV + [(0.3, 30.0), (5.0, 5.5)],
        lambda p: (),
    ),
    "bpl": (
        lambda p: BrokenPowerLawSpectralModel(index1=p[0], index2=p[1], ebreak=p[2] * u.TeV),
        [(1.5, 3.0, 1.0), (2.5, 1.0, 0.3), (2.0, 2.0, 3.0)],
        WIDE_TEV + [(0.8, 1.2), (0.29, 0.31), (2.0, 4.0)],
        lambda p: (p[2],),
    ),
    "sbpl": (
        lambda p: SmoothBrokenPowerLawSpectralModel(
            index1=p[0], index2=p[1], ebreak=p[2] * u.TeV, beta=p[3]
        ),
        [(1.5, 3.0, 1.0, 1.0), (2.5, 1.5, 0.3, 0.5), (2.0, 2.0, 1.0, 1.0)],
        WIDE_TEV + [(0.9, 1.1), (20.0, 30.0)],
        lambda p: (),
    ),
    "lp": (
        lambda p: LogParabolaSpectralModel(alpha=p[0], beta=p[1], reference=1 * u.TeV),
        [(2.0, 1.0), (2.5, 0.1), (1.5, 0.3)],
        WIDE_TEV + [(1.0, 1.5), (0.001, 0.0011)],
        lambda p: (),
    ),
    "lp10": (
        lambda p: LogParabola10SpectralModel(alpha=p[0], beta=p[1], reference=1 * u.TeV),
        [(2.0, 1.0), (2.5, 0.2)],
        WIDE_TEV + [(3.0, 3.3)],
        lambda p: (),
    ),
    "ecpl": (
        lambda p: ExpCutoffPowerLawSpectralModel(
            index=p[0], lambda_=p[1] * u.Unit("TeV-1"), alpha=p[2]
        ),
        [(1.5, 0.1, 1.0), (2.5, 1.0, 1.0), (2.0, 0.3, 2.0), (1.0, 0.05, 0.5)],
        WIDE_TEV + [(20.0, 30.0), (0.03, 0.031)],
        lambda p: (),
    ),
    "secpl": (
        lambda p: SuperExpCutoffPowerLaw4FGLDR3SpectralModel(
            expfactor=p[0], index_1=p[1], index_2=p[2], reference=1 * u.GeV
        ),
        [(0.01, 1.5, 2.0), (0.5, 1.4, 0.67), (1.0, 2.0, 0.0), (0.2, 1.8, 1e-3)],
        [(1e-4, 1.0), (1e-3, 1e-2), (0.99e-3, 1.01e-3), (0.01, 0.1)],
        lambda p: (),
    ),
    "gauss": (
        lambda p: GaussianSpectralModel(mean=p[0] * u.TeV, sigma=p[1] * u.TeV),
        [(1.0, 2.0), (6.4e-9, 1e-10), (5.0, 0.5)],
        [
            (1e-3, 10.0),
            (6.3e-9, 6.5e-9),
            (6.0e-9, 6.2e-9),
            (4.0, 5.0),
            (7.0, 7.5),
            (0.1, 0.2),
            (6.39e-9, 6.3901e-9),
            (1.0, 1.0 + 1e-9),
            (5.0, 5.0001),
            (6.0, 6.3),
        ],
        lambda p: (p[0],),
    ),
    "const": (
        lambda c: ConstantSpectralModel(const=c * DNDE),
        [1e-12],
        WIDE_TEV + [(5.0, 5.001)],
        lambda p: (),
    ),
    "plnorm": (
        lambda p: PowerLawNormSpectralModel(norm=p[0], tilt=p[1]),
        [(1.3, 0.2), (1.0, 1.0)],
        WIDE_TEV,
        lambda p: (),
    ),
    "lpnorm": (
        lambda p: LogParabolaNormSpectralModel(norm=p[0], alpha=p[1], beta=p[2]),
        [(1.3, 0.2, 0.1)],
        WIDE_TEV,
        lambda p: (),
    ),
    "template": (
        lambda p: template_model(),
        [None],
        [(0.05, 100.0), (0.2, 0.5), (0.4, 3.0), (1.5, 2.5), (60.0, 70.0)],
        lambda p: tuple(TEMPLATE_ENERGY),
    ),
    "template*plnorm": (
        lambda tilt: template_model() * PowerLawNormSpectralModel(norm=2.0, tilt=tilt),
        [0.3, -0.5],
        [(0.05, 100.0), (0.4, 3.0)],
        lambda p: tuple(TEMPLATE_ENERGY),
    ),
    "band*plnorm": (
        lambda p: (
            BandSpectralModel(K=0.02, alpha=p[0], xp=p[1] * u.keV, beta=p[2])
            * PowerLawNormSpectralModel(tilt=0.3, reference=100 * u.keV)
        ),
        [(-1.0, 500.0, -2.0)],
        WIDE_KEV + [(900 * KEV, 1100 * KEV)],
        lambda p: (band_break(*p),),
    ),
    "bpl*lp": (
        lambda p: (
            BrokenPowerLawSpectralModel(index1=1.5, index2=3.0, ebreak=p * u.TeV)
            * LogParabolaNormSpectralModel(alpha=0.1, beta=0.05, reference=1 * u.TeV)
        ),
        [2.0],
        WIDE_TEV + [(1.5, 2.5)],
        lambda p: (p,),
    ),
    "seed000": (
        lambda kT: (
            BlackbodySpectralModel(K=1e-7, kT=kT * u.keV)
            + PowerLawFluxSpectralModel(F=200, index=-1.5, a=10 * u.keV, b=500 * u.keV)
        ),
        [500.0, 30.0],
        WIDE_KEV + [(30 * KEV, 31 * KEV)],
        lambda p: (),
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_integrals_match_quad(name):
    factory, params, all_bands, breaks = CASES[name]
    worst = 0.0
    for p in params:
        model = factory(p)
        bands = all_bands(p) if callable(all_bands) else all_bands
        emin = np.array([b[0] for b in bands])
        emax = np.array([b[1] for b in bands])
        for energy_power, method in ((0, model.integral), (1, model.energy_flux)):
            got = method(emin * u.TeV, emax * u.TeV)
            assert got.unit == (model.flux_unit if energy_power == 0 else model.eflux_unit)
            expected = [reference_integral(model, a, b, energy_power, breaks(p)) for a, b in bands]
            np.testing.assert_allclose(
                got.value, expected, rtol=RTOL, atol=0, err_msg=f"{name} {p}"
            )
            nonzero = np.array(expected) != 0
            worst = max(worst, np.max(np.abs(got.value[nonzero] / np.array(expected)[nonzero] - 1)))
    assert worst < RTOL


def test_reversed_and_empty_bands():
    model = BandSpectralModel(K=0.02, alpha=-0.7, xp=250 * u.keV, beta=-2.4)
    forward = model.integral(10 * u.keV, 500 * u.keV)
    assert model.integral(500 * u.keV, 10 * u.keV).value == pytest.approx(-forward.value, rel=1e-14)
    assert model.integral(10 * u.keV, 10 * u.keV).value == 0.0
    assert model.integral([] * u.keV, [] * u.keV).shape == (0,)
    band_2d = model.integral([[10, 20], [30, 40]] * u.keV, [[20, 30], [40, 50]] * u.keV)
    assert band_2d.shape == (2, 2)
    assert band_2d[1, 0].value == pytest.approx(model.integral(30 * u.keV, 40 * u.keV).value)


def test_simpson_reproduces_3ml_rule():
    model = BlackbodySpectralModel(K=1e-7, kT=500 * u.keV)
    emin, emax = 10.0, 30.0
    f = model([emin, 20.0, emax] * u.keV).to_value("cm-2 s-1 keV-1")
    expected = (emax - emin) / 6 * (f[0] + 4 * f[1] + f[2])
    assert model.integral(emin * u.keV, emax * u.keV, method="simpson").value == pytest.approx(
        expected, rel=1e-13
    )


# --------------------------------------------------------------------- properties
ADDITIVE_MODELS = {
    "blackbody": BlackbodySpectralModel(K=1e-4, kT=50 * u.keV),
    "band": BandSpectralModel(K=0.02, alpha=-0.7, xp=250 * u.keV, beta=-2.4),
    "pl": PowerLawSpectralModel(index=2.3, reference=1 * u.keV),
    "bpl": BrokenPowerLawSpectralModel(index1=1.2, index2=2.8, ebreak=80 * u.keV),
    "gauss": GaussianSpectralModel(amplitude="1 cm-2 s-1", mean=60 * u.keV, sigma=15 * u.keV),
    "lp": LogParabolaSpectralModel(alpha=2.0, beta=0.2, reference=30 * u.keV),
    "template": TemplateSpectralModel(
        [1, 10, 100, 1000] * u.keV, [1.0, 0.1, 1e-3, 1e-7] * u.Unit("cm-2 s-1 keV-1")
    ),
}

log_energy = st.floats(min_value=0.0, max_value=3.0, allow_nan=False)


@pytest.mark.parametrize("name", sorted(ADDITIVE_MODELS))
@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(x1=log_energy, x2=log_energy, x3=log_energy)
def test_integral_is_additive_over_adjacent_bands(name, x1, x2, x3):
    model = ADDITIVE_MODELS[name]
    a, b, c = sorted(10.0 ** np.array([x1, x2, x3]) * KEV)
    for method in (model.integral_array, model.energy_flux_array):
        whole = method(np.array([a]), np.array([c]))[0]
        parts = method(np.array([a, b]), np.array([b, c])).sum()
        assert whole == pytest.approx(parts, rel=1e-9, abs=1e-300)
        assert whole >= 0


@settings(max_examples=40, deadline=None)
@given(
    alpha=st.floats(-1.5, 1.0),
    beta=st.floats(-5.0, -1.6),
    log_xp=st.floats(1.0, 3.5),
)
def test_band_batch_integral_with_different_breaks(alpha, beta, log_xp):
    """Rows with different Band breaks integrate like separate models."""
    model = BandSpectralModel(K=1.0, alpha=alpha, xp=10**log_xp * u.keV, beta=beta)
    emin, emax = np.array([1.0, 30.0]) * KEV, np.array([30.0, 1000.0]) * KEV
    free = model.parameters.free_parameters
    rows = np.array([free.value, free.value * [1, 0.5, 1.3, 1.01]])
    rows[:, 1] = np.clip(rows[:, 1], -1.5, 3.0)
    rows[:, 3] = np.clip(rows[:, 3], -5.0, -1.6)
    batch = model.integral_array(emin, emax, model.batch_overrides(free, rows))
    for row, got in zip(rows, batch):
        free.value = row
        np.testing.assert_allclose(got, model.integral_array(emin, emax), rtol=1e-9)
