"""``fluxfit demo``: a complete analysis on deterministic simulated data, plus the seed-000 model.

Part 1 (the seed-000 model, 3ML's "multiple sources" tutorial): the two-source model, its
parameters, fluxes and YAML (``models.yaml``, ``parameters.ecsv``, ``fluxes.ecsv``).

Part 2 (a Crab-like source, `run_crab_analysis`): four 30-minute ON/OFF runs simulated with
analytic responses (a Gaussian energy dispersion of 10 % and a smooth effective area), each with
its GTI; a joint log-parabola fit, flux points, a light curve (one point per run), a small
Bayesian run when `fluxfit.fit.BayesianAnalysis` and emcee are available, the figures and the
HTML report ``report.html`` (see `fluxfit.cli.results_dir` for the folder layout).

The model is the one of 3ML's "Point Source Fluxes and Multiple Sources"
tutorial: source 1 is a blackbody, source 2 a blackbody plus a power law whose
amplitude is the integral flux between 10 and 500 keV; both blackbodies share
one temperature; every free parameter has a prior.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.table import QTable

from fluxfit.errors import ModelError, OverwriteError
from fluxfit.utils import nested_equal

__all__ = ["build_seed000_models", "run_crab_analysis", "simulate_crab_datasets", "run_demo"]

SEED000_TRUTH = {
    "src1.spectral.K": 5e-8,
    "src2.spectral.K_1": 1e-7,
    "src2.spectral.kT_1": 500.0,
    "src2.spectral.F_2": 200.0,
    "src2.spectral.index_2": -1.5,
}


def build_seed000_models():
    """The seed-000 model: two point sources, kT linked, priors on every free parameter.

    Returns
    -------
    `~fluxfit.models.Models`
        ``src1`` (applies to dataset "s1") and ``src2`` (dataset "s2").
    """
    from fluxfit.models import (
        BlackbodySpectralModel,
        GaussianPrior,
        LogNormalPrior,
        Models,
        PointSpatialModel,
        PowerLawFluxSpectralModel,
        SkyModel,
    )

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

    # one temperature for both sources
    spectrum_1.kT.link(spectrum_2.kT_1)

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
    models.freeze("spatial")  # point-source positions are fixed, as in 3ML
    return models


def _flux_table(models) -> QTable:
    """Energy fluxes 1 keV - 1 MeV per source and photon fluxes 10-500 keV per component."""
    rows = []
    for model in models:
        spectral = model.spectral_model
        rows.append(
            (
                f"{model.name}: total",
                spectral.energy_flux(1 * u.keV, 1 * u.MeV).to(u.Unit("erg cm-2 s-1")),
                spectral.integral(10 * u.keV, 500 * u.keV).to(u.Unit("cm-2 s-1")),
            )
        )
        components = spectral.components
        if len(components) > 1:
            for component in components:
                rows.append(
                    (
                        f"{model.name}: {component.type}",
                        component.energy_flux(1 * u.keV, 1 * u.MeV).to(u.Unit("erg cm-2 s-1")),
                        component.integral(10 * u.keV, 500 * u.keV).to(u.Unit("cm-2 s-1")),
                    )
                )
    table = QTable(rows=rows, names=("label", "energy_flux_1keV_1MeV", "flux_10_500keV"))
    table["energy_flux_1keV_1MeV"].info.format = ".4e"
    table["flux_10_500keV"].info.format = ".4e"
    return table


def run_demo(out=None, overwrite: bool = False, quiet: bool = False) -> Path:
    """Run the demo and write its outputs under ``out``; returns the folder."""
    from fluxfit.models import Models

    if out is None:
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        out = Path.cwd() / f"fluxfit-demo-{stamp}"
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    models_path = out / "models.yaml"
    fluxes_path = out / "fluxes.ecsv"
    params_path = out / "parameters.ecsv"
    if not overwrite:
        for path in (models_path, fluxes_path, params_path, out / "fit.json"):
            if path.exists():
                raise OverwriteError(f"{path} exists; use --overwrite or another --out folder")

    def say(text=""):
        if not quiet:
            print(text)

    models = build_seed000_models()
    for label, value in SEED000_TRUTH.items():
        models.parameters[label].value = value
    say("fluxfit demo: the two-source model of the 3ML 'multiple sources' tutorial")
    say("(kT of src1 follows src2's kT_1; values set to the simulation truth)\n")
    say(str(models))
    fluxes = _flux_table(models)
    say("\nFluxes")
    say("\n".join(fluxes.pformat(max_lines=-1, max_width=-1)))

    models.write(models_path, overwrite=True)
    fluxes.write(fluxes_path, format="ascii.ecsv", overwrite=True)
    models.to_parameters_table().write(params_path, format="ascii.ecsv", overwrite=True)
    reread = Models.read(models_path)
    if not nested_equal(reread.to_dict(full_output=True), models.to_dict(full_output=True)):
        raise ModelError(f"{models_path}: the models YAML did not read back identically")
    say(f"\nwrote {models_path}, {params_path} and {fluxes_path}")
    say("")
    run_crab_analysis(out, say=say)
    from fluxfit.cli.report import write_report

    report = write_report(out, overwrite=True)  # a folder the demo has just written
    say(f"wrote {report}")
    return out


# ----------------------------------------------------------------- the Crab-like analysis
CRAB_TRUTH = {"amplitude": 3.8e-11, "alpha": 2.47, "beta": 0.1}  # cm-2 s-1 TeV-1 at 1 TeV
DEMO_T0 = "2024-01-10T20:00:00"


def analytic_response(
    energy_true_edges=None, energy_edges=None, resolution: float = 0.1, area_max=3e9
):
    """A Gaussian energy dispersion (in log E) and a smooth effective-area curve.

    Parameters
    ----------
    energy_true_edges, energy_edges : Quantity, optional
        Default 60 bins 0.1-100 TeV and 24 channels 0.3-30 TeV.
    resolution : float
        Relative energy resolution (sigma of ln E).
    area_max : float
        Plateau of the effective area, cm2 (3e9 cm2 = 0.3 km2, IACT-like).

    Returns
    -------
    edisp : `~fluxfit.irf.EnergyDispersionMatrix`
    area : array (n_true,)
        Effective area in cm2: ``area_max / (1 + (E / 0.15 TeV)^-3)``.
    """
    from scipy.special import erf

    from fluxfit.irf import EnergyDispersionMatrix

    if energy_true_edges is None:
        energy_true_edges = np.geomspace(0.1, 100, 61) * u.TeV
    if energy_edges is None:
        energy_edges = np.geomspace(0.3, 30, 25) * u.TeV
    true_tev = u.Quantity(energy_true_edges).to_value(u.TeV)
    reco_tev = u.Quantity(energy_edges).to_value(u.TeV)
    center = np.log(np.sqrt(true_tev[:-1] * true_tev[1:]))[:, None]
    scale = np.sqrt(2.0) * resolution
    upper = erf((np.log(reco_tev[1:])[None, :] - center) / scale)
    lower = erf((np.log(reco_tev[:-1])[None, :] - center) / scale)
    matrix = 0.5 * (upper - lower)
    edisp = EnergyDispersionMatrix(energy_true_edges, energy_edges, matrix)
    area = area_max / (1.0 + (np.exp(center[:, 0]) / 0.15) ** -3)
    return edisp, area


def simulate_crab_datasets(n_runs: int = 4, livetime=1800.0, seed: int = 2024):
    """ON/OFF spectra of a Crab-like log-parabola, one per run, deterministic in ``seed``.

    Every run lasts ``livetime`` seconds (runs start 40 min apart from `DEMO_T0`, each with
    its GTI); the background falls as E^-2.7 and the OFF region is 5 times the ON region.
    """
    from astropy.time import Time

    from fluxfit.data import GTI
    from fluxfit.datasets import Datasets, SpectrumDatasetOnOff
    from fluxfit.models import LogParabolaSpectralModel, Models, SkyModel

    edisp, area = analytic_response()
    truth = LogParabolaSpectralModel(
        amplitude=CRAB_TRUTH["amplitude"] * u.Unit("cm-2 s-1 TeV-1"),
        reference=1 * u.TeV,
        alpha=CRAB_TRUTH["alpha"],
        beta=CRAB_TRUTH["beta"],
    )
    reco = edisp.energy_edges_tev
    reco_center = np.sqrt(reco[:-1] * reco[1:])
    t0 = Time(DEMO_T0, scale="utc")
    datasets = []
    for i in range(n_runs):
        start = t0 + i * 40 * u.min
        dataset = SpectrumDatasetOnOff(
            acceptance=1.0,
            acceptance_off=5.0,
            exposure=area * livetime,
            edisp=edisp,
            name=f"run{i + 1}",
            livetime=livetime,
            gti=GTI.create(start, start + livetime * u.s, reference_time=t0),
            meta={"instrument": "analytic IACT-like"},
        )
        dataset.models = Models([SkyModel(truth.copy(), name="crab")])
        background = 20.0 * reco_center**-2.7 * livetime / 1800.0
        dataset.fake(npred_background=background, random_state=seed + i)
        dataset.models = None
        datasets.append(dataset)
    return Datasets(datasets)


def _bayesian_analysis():
    """`BayesianAnalysis` if the Bayesian layer and emcee are importable, else None."""
    try:
        from fluxfit.fit import BayesianAnalysis
    except ImportError:
        try:
            from fluxfit.fit.bayes import BayesianAnalysis
        except ImportError:
            return None
    try:
        import emcee  # noqa: F401
    except ImportError:
        return None
    return BayesianAnalysis


def run_crab_analysis(out, say=print, bayes: bool = True, seed: int = 2024) -> dict:
    """Simulate, fit, estimate and write the results folder (see `fluxfit.cli.results_dir`).

    Returns a dict with the datasets, the fit result, flux points, light curve and the
    Bayesian results (None when the Bayesian layer is not available).
    """
    import time

    from fluxfit.cli.results_dir import write_analysis
    from fluxfit.estimators import FluxPointsEstimator
    from fluxfit.fit import Fit
    from fluxfit.models import (
        GaussianPrior,
        LogParabolaSpectralModel,
        LogUniformPrior,
        Models,
        SkyModel,
    )

    start = time.perf_counter()
    datasets = simulate_crab_datasets(seed=seed)
    say("Crab-like source: 4 simulated ON/OFF runs of 30 min (analytic responses)")
    for dataset in datasets:
        say(
            f"  {dataset.name}: {int(dataset.counts.sum())} ON counts, "
            f"{int(dataset.counts_off.sum())} OFF counts, alpha = 0.2"
        )
    spectral = LogParabolaSpectralModel(
        amplitude=1e-11 * u.Unit("cm-2 s-1 TeV-1"), reference=1 * u.TeV, alpha=2.0, beta=0.05
    )
    models = Models([SkyModel(spectral, name="crab")])
    datasets.models = models
    fit_result = Fit().run(datasets)
    say(f"\nJoint fit: success={fit_result.success}, total stat {fit_result.total_stat:.2f}")
    for par in datasets.models.parameters.free_parameters:
        say(f"  {par.name:10s} = {par.value:.4g} +/- {par.error:.2g} {par.unit}")

    flux_points = FluxPointsEstimator(
        energy_edges=np.geomspace(0.4, 25, 9) * u.TeV, source="crab", selection_optional=["ul"]
    ).run(datasets)
    say(f"Flux points: {flux_points.energy_axis.nbin} energy bins, 0.4-25 TeV")
    lightcurve = None
    try:
        from fluxfit.estimators import LightCurveEstimator

        lightcurve = LightCurveEstimator(energy_edges=[0.5, 20] * u.TeV, source="crab").run(
            datasets
        )
        say("Light curve: one point per run, 0.5-20 TeV")
    except ImportError:  # pragma: no cover - the estimator is always there today
        pass

    bayes_results = None
    BayesianAnalysis = _bayesian_analysis() if bayes else None
    if BayesianAnalysis is not None:
        spectral.amplitude.prior = LogUniformPrior(min=1e-12, max=1e-9)
        spectral.alpha.prior = GaussianPrior(mu=2.5, sigma=1.0)
        spectral.beta.prior = GaussianPrior(mu=0.0, sigma=0.5)
        best = [p.value for p in datasets.models.parameters]
        analysis = BayesianAnalysis(None, datasets)
        bayes_results = analysis.sample(
            sampler="emcee", seed=seed, verbose=None, n_walkers=16, n_iterations=300
        )
        say("Bayesian run: emcee, 16 walkers x 300 steps")
        for par, value in zip(datasets.models.parameters, best):
            par.value = value  # back to the maximum-likelihood point for the plots
    else:
        say("Bayesian run: skipped (fluxfit.fit.BayesianAnalysis or emcee not available)")

    write_analysis(
        out,
        "fluxfit demo: a Crab-like source, 4 simulated runs",
        datasets,
        fit_result=fit_result,
        models_file="crab_models.yaml",
        flux_points=flux_points,
        lightcurve=lightcurve,
        bayes_results=bayes_results,
        energy_bounds=[0.3, 30] * u.TeV,
    )
    say(f"Crab analysis written to {out} in {time.perf_counter() - start:.1f} s")
    return {
        "datasets": datasets,
        "fit_result": fit_result,
        "flux_points": flux_points,
        "lightcurve": lightcurve,
        "bayes_results": bayes_results,
    }
