"""Seed 000: point-source fluxes and multiple sources (3ML's tutorial, in fluxfit).

Two simulated X-ray sources observed with the same demo response: source 1 a blackbody,
source 2 a blackbody plus a power law, both blackbodies at one temperature (a linked
parameter). Priors on every free parameter, nested sampling (UltraNest), the count spectra
with the model, the corner plot, and then fluxes in any unit and band, per source, summed
and per component, with errors, from the live analysis and from the results written to
disk and read back.

Data: by default 3ML's own simulated spectra of the reference run
(``../shared/reference/threeml/task1_s{1,2}.pha``), so that every number can be compared
with 3ML's (printed at the end); with ``--simulate`` (or when those files are absent) the
spectra are simulated here from the tutorial's demo response ``ogip_powerlaw.rsp``, as the
tutorial does with ``DispersionSpectrumLike.from_function``.

Usage::

    python examples/seed_000_multiple_sources.py [--simulate] [--sampler emcee]
                                                 [--out seed000_output] [--quiet]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import astropy.units as u
import numpy as np

from fluxfit.cli.demo import build_seed000_models
from fluxfit.datasets import Datasets, SpectrumDatasetOnOff
from fluxfit.fit import Fit
from fluxfit.fit.bayes import BayesianAnalysis
from fluxfit.results import AnalysisResults

REPO = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    env = os.environ.get("FLUXFIT_DATA")
    return Path(env).parent if env else REPO.parent / "shared"


def read_reference_spectra(folder: Path) -> Datasets:
    """3ML's simulated spectra (PHA-II with one row, background and response beside)."""
    return Datasets(
        [
            SpectrumDatasetOnOff.read(folder / f"task1_{n}.pha", spectrum_number=1, name=n)
            for n in ("s1", "s2")
        ]
    )


def simulate_spectra(response: Path, seed: int = 1234) -> Datasets:
    """The tutorial's simulation: two sources, a power-law background, 1 s exposure."""
    from fluxfit.models import (
        BlackbodySpectralModel,
        PowerLawFluxSpectralModel,
        PowerLawSpectralModel,
    )

    rng = np.random.default_rng(seed)
    # astromodels' Powerlaw(K=1, index=-1.5, piv=1e3) in keV: K at 1 MeV, falling as E^-1.5
    background = PowerLawSpectralModel(
        index=1.5, amplitude=1 * u.Unit("cm-2 s-1 keV-1"), reference=1 * u.MeV
    )
    s1 = SpectrumDatasetOnOff.from_function(
        "s1", BlackbodySpectralModel(K=5e-8, kT=500 * u.keV), background, response, random_state=rng
    )
    source_2 = BlackbodySpectralModel(K=1e-7, kT=500 * u.keV) + PowerLawFluxSpectralModel(
        F=2e2, index=-1.5, a=10 * u.keV, b=500 * u.keV
    )
    s2 = SpectrumDatasetOnOff.from_function("s2", source_2, background, response, random_state=rng)
    return Datasets([s1, s2])


def show(title: str, table, quiet: bool) -> None:
    if not quiet:
        print(f"\n{title}\n")
        print("\n".join(table.pformat(max_lines=-1, max_width=-1)))


def compare_with_threeml(results, reference_file: Path) -> None:
    """Posterior medians, evidence and fluxes against 3ML's run on the same counts."""
    reference = json.loads(reference_file.read_text())["ultranest_default"]
    print("\nComparison with 3ML (same counts, same priors; 3ML: UltraNest, 400 live points)\n")
    medians = dict(zip(results.parameter_names, results.median))
    pulls, ratios = [], []
    for key, ref in reference["sample_summary"].items():
        label = key.replace("src1.spectrum.main.Blackbody.", "src1.spectral.").replace(
            "src2.spectrum.main.composite.", "src2.spectral."
        )
        sigma = 0.5 * (ref["p84"] - ref["p16"])
        pull = (medians[label] - ref["median"]) / sigma
        pulls.append(pull)
        print(
            f"  {label:24s} median {medians[label]:.6g}  3ML {ref['median']:.6g}  ({pull:+.2f} sigma)"
        )
    if "ln(Z)" in results.measures:
        print(
            f"  ln(Z) {results.measures['ln(Z)']:.3f} +- {results.measures['ln(Z) error']:.3f}"
            f"  3ML {reference['runs'][0]['logz_ln']:.3f} +- {reference['runs'][0]['logzerr_ln']:.3f}"
        )
    fluxes = reference["independent_fluxes_from_samples"]["energy_flux_1keV_1MeV"]
    table = results.get_flux(1 * u.keV, 1 * u.MeV, components=True)
    table_sum = results.get_flux(1 * u.keV, 1 * u.MeV, sum_sources=True)
    for row in list(table) + list(table_sum):
        label = row["label"].replace("BlackbodySpectralModel", "Blackbody")
        label = label.replace("PowerLawFluxSpectralModel", "Powerlaw_flux")
        label = "sum: total" if label == "total" else label
        ref = fluxes[label]["median"]
        ratio = row["flux"].value / ref - 1
        ratios.append(ratio)
        print(
            f"  energy flux 1 keV-1 MeV {label:20s} {row['flux']:.5g}  ({ratio:+.2%} vs 3ML's samples)"
        )
    # machine-readable lines (checked by tests/estimators/test_examples.py)
    print(f"KEY max_abs_pull_vs_threeml = {max(abs(p) for p in pulls):.4f}")
    print(f"KEY max_abs_flux_rel_diff_vs_threeml = {max(abs(r) for r in ratios):.5f}")
    if "ln(Z)" in results.measures:
        ln_z_ref = reference["runs"][0]["logz_ln"]
        print(f"KEY ln_z_diff_vs_threeml = {results.measures['ln(Z)'] - ln_z_ref:.4f}")


def main(argv=None) -> AnalysisResults:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--simulate", action="store_true", help="simulate new spectra")
    parser.add_argument("--sampler", default="ultranest", choices=("ultranest", "emcee"))
    parser.add_argument("--out", default="seed000_output", help="output folder")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    quiet = args.quiet
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    # ------------------------------------------------------------------ data
    reference = shared_dir() / "reference" / "threeml"
    if args.simulate or not (reference / "task1_s1.pha").is_file():
        datasets = simulate_spectra(shared_dir() / "data" / "threeml" / "ogip_powerlaw.rsp")
    else:
        datasets = read_reference_spectra(reference)

    # ----------------------------------------------------------------- model
    # src1: Blackbody; src2: Blackbody + Powerlaw_flux(a=10, b=500 keV); priors on every free
    # parameter; src1's kT linked to src2's kT_1; src1 -> dataset s1, src2 -> dataset s2.
    models = build_seed000_models()
    if not quiet:
        print(models)

    # --------------------------------------------------------- Bayesian fit
    bayes = BayesianAnalysis(models, datasets)
    start = time.perf_counter()
    if args.sampler == "emcee":
        Fit().run(datasets)  # walkers start around the maximum-likelihood fit, as in 3ML
        bayes.sample("emcee", seed=5123, verbose=False if quiet else None)
    else:
        bayes.sample(
            "ultranest",
            seed=42,
            verbose=False if quiet else None,
            min_num_live_points=400,
            dlogz=0.5,
        )
    if not quiet:
        print(bayes.results)
        print(f"\nsampling took {time.perf_counter() - start:.1f} s")

    import matplotlib

    matplotlib.use("Agg")
    bayes.plot_spectrum_counts(min_counts=20).savefig(out / "counts.png", dpi=120)
    results = bayes.results
    results.corner_plot().savefig(out / "corner.png", dpi=100)

    # ------------------------------------------- save, and continue from disk
    path = out / "seed000_results.fits"
    results.write(path, overwrite=True)
    results = AnalysisResults.read(path)

    # ---------------------------------------------------------------- fluxes
    show(
        "Energy flux 1 keV - 1 MeV per source",
        results.get_flux(1 * u.keV, 1 * u.MeV, flux_unit="erg/(cm2 s)"),
        quiet,
    )
    show(
        "Summed over the sources (95 % interval)",
        results.get_flux(
            1 * u.keV, 1 * u.MeV, flux_unit="erg/(cm2 s)", sum_sources=True, confidence_level=0.95
        ),
        quiet,
    )
    show(
        "Photon flux 10 - 500 keV per component",
        results.get_flux(10 * u.keV, 0.5 * u.MeV, flux_unit="1/(cm2 s)", components=True),
        quiet,
    )
    show(
        "Energy-squared flux 10 - 500 keV: totals and the blackbody",
        results.get_flux(
            10 * u.keV, 0.5 * u.MeV, flux_unit="erg2/(cm2 s)", components=["total", "Blackbody"]
        ),
        quiet,
    )
    flux = results.get_flux(1 * u.keV, 1 * u.MeV, flux_unit="erg/(cm2 s)")
    if not quiet:
        print(f"\nflux.loc['src1: total']['flux'] = {flux.loc['src1: total']['flux']:.6g}")
    src1 = flux.loc["src1: total"]["flux"].to_value("erg cm-2 s-1")
    print(f"KEY sampler = {args.sampler}")
    print(f"KEY src1_energy_flux_1keV_1MeV = {src1:.6g}")
    print(f"KEY n_figures = {len(list(out.glob('*.png')))}")
    if not args.simulate and (reference / "task1_multisource.json").is_file():
        compare_with_threeml(results, reference / "task1_multisource.json")
    if not quiet:
        print(f"\nwrote {path}, {out / 'counts.png'} and {out / 'corner.png'}")
    return results


if __name__ == "__main__":
    main()
