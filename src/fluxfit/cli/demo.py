"""``fluxfit demo``: the seed-000 two-source model, its parameters, fluxes and YAML.

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

__all__ = ["build_seed000_models", "run_demo"]

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
        for path in (models_path, fluxes_path, params_path):
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
    return out
