"""Write docs/configuration.md from the pydantic models of ``fluxfit run`` (fluxfit.cli.config).

Usage: ``python docs/make_config_reference.py`` (tests/cli/test_config_reference.py checks that
the page is current and that every key has a description here).

The key paths, types, defaults, allowed values and bounds come from the models; the one-line
descriptions are in `DESCRIPTIONS` below (a key without one fails the test).
"""

from __future__ import annotations

import typing
from pathlib import Path

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from fluxfit.cli.config import AnalysisConfig

OUT = Path(__file__).resolve().parent / "configuration.md"

#: One line per key path ("<section>.<key>"; "" is the top level, "[]" a list item,
#: "<name>" a mapping's user-chosen key).
DESCRIPTIONS = {
    "title": "Title of the report and of `fit.json`.",
    "data": "What to fit; several kinds are fitted jointly. At least one is required.",
    "reduction": "How DL3 observations become ON/OFF spectra; required with `data.dl3`.",
    "models": "A models YAML file (Gammapy layout, with fluxfit's `prior`/`link` keys), or a "
    "list of inline models. Required unless the only estimator is `profile`.",
    "fit": "Maximum likelihood, or a Bayesian run after it.",
    "estimators": "Flux points, light curve, time-resolved fits and flux profile (each optional).",
    "outputs": "The results folder.",
    "data.ogip": "OGIP PHA files (background, ARF and RMF found through their header keys).",
    "data.datasets": "A datasets YAML written by `Datasets.write` (or Gammapy).",
    "data.flux_points": "Flux-point files (gadf SED, FITS or ECSV), fitted as "
    "`FluxPointsDataset`s named after the file.",
    "data.dl3": "A GADF DL3 store, reduced with the `reduction` settings.",
    "data.dl3.path": "Folder of the store (holding `hdu-index.fits.gz`, `obs-index.fits.gz`).",
    "data.dl3.selection": "Observations whose pointing is in this circle.",
    "data.dl3.obs_ids": "Observation ids (instead of `selection`).",
    "data.dl3.time_intervals": "Cut the observations into equal time intervals (needed by "
    "`estimators.time_resolved`; used as the light-curve bins).",
    "data.dl3.selection.type": "The only selection kind.",
    "data.dl3.selection.frame": "Frame of `lon`/`lat`.",
    "data.dl3.selection.lon": "Centre longitude (RA in icrs), an angle with its unit.",
    "data.dl3.selection.lat": "Centre latitude (Dec in icrs), an angle with its unit.",
    "data.dl3.selection.radius": "Radius, an angle with its unit.",
    "data.dl3.time_intervals.start": "Start of the first interval (ISO time, UTC).",
    "data.dl3.time_intervals.duration": "Length of every interval, a time with its unit.",
    "data.dl3.time_intervals.n_intervals": "Number of intervals.",
    "reduction.on_region": "The ON region: a circle on the sky.",
    "reduction.on_region.frame": "Frame of `lon`/`lat`.",
    "reduction.on_region.lon": "Centre longitude, an angle with its unit.",
    "reduction.on_region.lat": "Centre latitude, an angle with its unit.",
    "reduction.on_region.radius": "Radius, an angle with its unit.",
    "reduction.energy_axis": "Reconstructed-energy axis of the spectra (log bins).",
    "reduction.energy_axis_true": "True-energy axis of the responses (log bins).",
    "reduction.energy_axis.min": "Lowest edge, an energy with its unit.",
    "reduction.energy_axis.max": "Highest edge, an energy with its unit.",
    "reduction.energy_axis.nbin": "Number of bins.",
    "reduction.energy_axis_true.min": "Lowest edge, an energy with its unit.",
    "reduction.energy_axis_true.max": "Highest edge, an energy with its unit.",
    "reduction.energy_axis_true.nbin": "Number of bins.",
    "reduction.background": "Background method (reflected OFF regions).",
    "reduction.containment_correction": "Correct the exposure for the PSF containment of the "
    "ON region.",
    "reduction.safe_mask": "Safe energy range of each spectrum (`SafeMaskMaker`).",
    "reduction.safe_mask.methods": "Methods applied in turn.",
    "reduction.safe_mask.aeff_percent": "For `aeff-max`: lowest energy where the effective "
    "area reaches this percentage of its maximum.",
    "models[]": "One inline sky model (spectral part only: spectra have no spatial axis).",
    "models[].name": "Name of the model (used by `estimators.*.source`).",
    "models[].spectral": "The spectral model.",
    "models[].datasets_names": "Datasets the model applies to (default: all).",
    "models[].spectral.type": "Class name of a fluxfit spectral model, e.g. "
    "`PowerLawSpectralModel`, `LogParabolaSpectralModel`, `BlackbodySpectralModel` (an "
    "unknown name lists them all).",
    "models[].spectral.parameters": "Start values: numbers in the model's default units or "
    'strings with units ("2e-11 cm-2 s-1 TeV-1", "1 TeV").',
    "models[].spectral.frozen": "Names of parameters kept fixed.",
    "models[].spectral.priors": "Priors by parameter name (needed by `fit.method: bayes` for "
    "every free parameter).",
    "models[].spectral.priors.<name>": "One prior: its type and hyper-parameters, in the "
    "parameter's unit.",
    "models[].spectral.priors.<name>.type": "Prior class.",
    "models[].spectral.priors.<name>.min": "Lower edge (Uniform, LogUniform).",
    "models[].spectral.priors.<name>.max": "Upper edge (Uniform, LogUniform).",
    "models[].spectral.priors.<name>.mu": "Mean (Gaussian, TruncatedGaussian); mean of the "
    "log (LogNormal).",
    "models[].spectral.priors.<name>.sigma": "Standard deviation (of the log for LogNormal).",
    "models[].spectral.priors.<name>.lower": "Lower truncation (TruncatedGaussian).",
    "models[].spectral.priors.<name>.upper": "Upper truncation (TruncatedGaussian).",
    "fit.method": "`mle`: maximum likelihood (iminuit); `bayes`: the same fit, then posterior "
    "sampling started from it.",
    "fit.sampler": "Sampler of `fit.method: bayes`.",
    "fit.sampler_options": "Passed to the sampler: emcee `n_walkers`, `n_iterations`, "
    "`n_burn_in`, `start`, `start_spread`; UltraNest `min_num_live_points`, `dlogz`, ... (an "
    "unknown option is named in the error).",
    "fit.seed": "Seed of the sampler (reproducible runs); null for a random one.",
    "estimators.flux_points": "`FluxPointsEstimator` on all datasets.",
    "estimators.lightcurve": "`LightCurveEstimator` (bins: `data.dl3.time_intervals`, else "
    "one per dataset's GTI).",
    "estimators.time_resolved": "`TimeResolvedSpectroscopyEstimator`: the first model "
    "fitted in every interval of `data.dl3.time_intervals`.",
    "estimators.flux_points.energy_edges": "Energy bin edges, energies with units (snapped "
    "to the datasets' bins).",
    "estimators.lightcurve.energy_range": "Energy bin edges of the light curve (two edges: "
    "one band).",
    "estimators.time_resolved.energy_range": "Band of the integral flux reported per interval.",
    "estimators.profile": "`FluxProfileEstimator` on the map datasets (after the fit, if "
    "`models` are given: the fitted models are then part of every region's fixed prediction). "
    "Writes `profile.fits` (profile format), `figures/profile.png` and, with a `scan`, "
    "`figures/profile_ts.png` (likelihood profiles).",
    "estimators.profile.regions": "The regions: `kind: rectangles` (`start_pos`, `end_pos`, "
    "`height`, and `n` or `width`) or `kind: annuli` (`center`, `radius_max`, optional "
    "`radius_min`, and `n` or `width`); a key of the other kind is an error.",
    "estimators.profile.regions.kind": "`rectangles`: rectangles tiling the line from "
    "`start_pos` to `end_pos`, laid out in the WCS of the first map dataset "
    "(`make_orthogonal_rectangle_sky_regions`); `annuli`: concentric annuli around `center` "
    "(`make_concentric_annulus_sky_regions`).",
    "estimators.profile.regions.start_pos": 'Rectangles: start of the line, `"lon lat '
    'frame"` (`"10 0 galactic"`, `"83.63 deg 22.01 deg icrs"`) or a mapping.',
    "estimators.profile.regions.end_pos": "Rectangles: end of the line (as `start_pos`).",
    "estimators.profile.regions.height": "Rectangles: extent across the line, an angle "
    '(`"3 deg"`; a number is in degrees).',
    "estimators.profile.regions.center": "Annuli: their common centre (as `start_pos`).",
    "estimators.profile.regions.radius_max": "Annuli: outer radius of the last annulus.",
    "estimators.profile.regions.radius_min": "Annuli: inner radius of the first annulus "
    "(default 1e-5 deg, as the Python API).",
    "estimators.profile.regions.n": "Number of regions (for annuli: `n: 10` is the API's "
    "`nbin=11`, which counts radius edges).",
    "estimators.profile.regions.width": "Instead of `n`: size of one region along the "
    "profile (it must cut the line, or `radius_max - radius_min`, into a whole number of "
    "regions).",
    "estimators.profile.spectrum": "Spectral shape whose norm is fitted in every region "
    "(default a power law of index 2).",
    "estimators.profile.spectrum.type": "Class name of a fluxfit spectral model.",
    "estimators.profile.spectrum.parameters": "Parameter values: numbers in the model's "
    'default units or strings with units ("2.3", "1 TeV").',
    "estimators.profile.energy_edges": "Energy groups, energies with units (snapped to the "
    "datasets' bins); default every bin.",
    "estimators.profile.selection_optional": "Optional steps: `errn-errp`, `ul`, `scan` "
    "(needed for the likelihood-profile figure), or `all`; default none.",
    "estimators.profile.n_sigma": "Width of the error bars, in sigma.",
    "estimators.profile.n_sigma_ul": "Confidence of the upper limits, in sigma.",
    "estimators.profile.sum_over_energy_groups": "Fit the counts summed over each energy "
    "group (one bin per region and group).",
    "estimators.profile.norm_values": "Norm values of the likelihood scan (`scan`); default "
    "the estimator's.",
    "estimators.profile.sed_type": "SED type of `profile.fits` and of the figures.",
    "outputs.dir": "Results folder, relative to the configuration file (`--out` overrides).",
    "outputs.report": "Write `report.html`.",
    "outputs.overwrite": "Replace the files of an existing results folder.",
}
for _pos in ("start_pos", "end_pos", "center"):
    DESCRIPTIONS |= {
        f"estimators.profile.regions.{_pos}.lon": "Longitude (RA in icrs): an angle "
        '(`"10 deg"`, `"10d"`) or a number of degrees.',
        f"estimators.profile.regions.{_pos}.lat": "Latitude (Dec in icrs), as `lon`.",
        f"estimators.profile.regions.{_pos}.frame": "Frame of `lon`/`lat`.",
    }
for _est in ("flux_points", "lightcurve"):
    DESCRIPTIONS |= {
        f"estimators.{_est}.source": "Model whose norm is estimated (default: the first).",
        f"estimators.{_est}.n_sigma": "Width of the error bars, in sigma.",
        f"estimators.{_est}.n_sigma_ul": "Confidence of the upper limits, in sigma.",
        f"estimators.{_est}.selection_optional": "Optional steps: asymmetric errors "
        "(`errn-errp`), upper limits (`ul`), likelihood scans (`scan`), or `all`; default none.",
        f"estimators.{_est}.reoptimize": "Refit the other free parameters in every bin.",
        f"estimators.{_est}.n_jobs": "Parallel workers for the bins that need full fits "
        "(default: `FLUXFIT_N_JOBS`, else 1).",
    }


# ------------------------------------------------------------------ introspection
def _is_model(tp) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _strip_none(tp):
    args = typing.get_args(tp)
    if typing.get_origin(tp) in (typing.Union, _union_type()) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return (rest[0] if len(rest) == 1 else typing.Union[tuple(rest)]), True  # noqa: UP007
    return tp, False


def _union_type():
    import types

    return types.UnionType


def _type_text(tp) -> str:
    tp, optional = _strip_none(tp)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Literal:
        text = "one of " + ", ".join(f"`{a}`" for a in args)
    elif origin in (typing.Union, _union_type()):
        text = " or ".join(_type_text(a) for a in args)
    elif origin is list:
        inner = _type_text(args[0])
        text = f"list of ({inner})" if " or " in inner else f"list of {inner}"
    elif origin is dict:
        text = f"mapping {_type_text(args[0])} to {_type_text(args[1])}"
    elif _is_model(tp):
        text = "mapping"
    elif tp is typing.Any:
        text = "any"
    else:
        text = getattr(tp, "__name__", str(tp))
    return f"{text} or null" if optional else text


def _default_text(field) -> str:
    if field.is_required():
        return "required"
    default = field.default
    if default is PydanticUndefined and field.default_factory is not None:
        default = field.default_factory()
    if isinstance(default, BaseModel):
        return "(defaults below)"
    if default is None:
        return "null"
    if isinstance(default, bool):
        return str(default).lower()
    if isinstance(default, str):
        return f'"{default}"'
    if default == {} or default == []:
        return "empty"
    return f"`{default}`"


def _bounds_text(field) -> str:
    words = []
    for item in field.metadata:
        for name, symbol in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<=")):
            value = getattr(item, name, None)
            if value is not None:
                words.append(f"{symbol} {value}")
        length = getattr(item, "min_length", None)
        if length is not None:
            words.append(f"at least {length} items")
    return ", ".join(words)


def _children(tp, path):
    """(path, model) of the models nested in an annotation."""
    tp, _ = _strip_none(tp)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if _is_model(tp):
        yield path, tp
    elif origin is list:
        yield from _children(args[0], f"{path}[]")
    elif origin is dict:
        yield from _children(args[1], f"{path}.<name>")
    elif origin in (typing.Union, _union_type()):
        for arg in args:
            yield from _children(arg, path)


def sections(model=AnalysisConfig, path=""):
    """(section path, [(key path, field)]) in depth-first order."""
    rows = [
        (f"{path}.{name}" if path else name, field) for name, field in model.model_fields.items()
    ]
    yield path, rows
    for key, field in rows:
        for child_path, child in _children(field.annotation, key):
            yield from sections(child, child_path)


def key_paths() -> list[str]:
    """Every section and key path of the configuration (each needs a description)."""
    paths = []
    for section, rows in sections():
        paths += ([section] if section else []) + [key for key, _ in rows]
    return list(dict.fromkeys(paths))


# ------------------------------------------------------------------ the page
INTRO = """# `fluxfit run`: the configuration file

Generated by `python docs/make_config_reference.py` from the pydantic models in
`src/fluxfit/cli/config.py`; do not edit.

`fluxfit run analysis.yaml [--out DIR] [--quiet]` reads a YAML file, checks every key
(an unknown key or a wrong type stops the run with the key path and what is allowed), then:
builds the datasets (`data`, reduced with `reduction` when it is a DL3 store), the models,
fits them jointly (`fit`), runs the estimators and writes the results folder
(`fit.json`, the best-fit models YAML, `flux_points.fits`, `lightcurve.fits`,
`time_resolved.ecsv`, `profile.fits`, `bayes_results.fits`, `figures/*.png`, `report.html`).
Relative paths are taken from the folder of the configuration file. Quantities are strings
with units (`"0.11 deg"`, `"1 TeV"`, `"15 min"`).

## Example: the seed-003 analysis (time-resolved spectroscopy of PKS 2155-304)

```yaml
title: PKS 2155-304 time-resolved (seed 003)
data:
  dl3:
    path: ../shared/data/gammapy-data/hess-dl3-dr1
    selection: {type: sky_circle, frame: icrs, lon: 329.71693826 deg, lat: -30.2255890 deg,
                radius: 2 deg}
    time_intervals: {start: "2006-07-29T20:30", duration: 15 min, n_intervals: 24}
reduction:
  on_region: {frame: icrs, lon: 329.71693826 deg, lat: -30.2255890 deg, radius: 0.11 deg}
  energy_axis: {min: 0.4 TeV, max: 20 TeV, nbin: 10}
  energy_axis_true: {min: 0.1 TeV, max: 40 TeV, nbin: 20}
  background: reflected
  safe_mask: {methods: [aeff-max], aeff_percent: 10}
models:
  - name: pks2155
    spectral:
      type: PowerLawSpectralModel
      parameters: {index: 3.0, amplitude: 2e-11 cm-2 s-1 TeV-1, reference: 1 TeV}
estimators:
  time_resolved: {energy_range: [1 TeV, 10 TeV]}
outputs: {dir: seed003-results}
```

## Example: a Bayesian fit of OGIP spectra with flux points

```yaml
data:
  ogip: [pha_obs23523.fits, pha_obs23526.fits]
models:
  - name: crab
    spectral:
      type: PowerLawSpectralModel
      parameters: {index: 2.5, amplitude: 3e-11 cm-2 s-1 TeV-1, reference: 1 TeV}
      priors:
        index: {type: GaussianPrior, mu: 2.5, sigma: 1.0}
        amplitude: {type: LogUniformPrior, min: 1e-13, max: 1e-9}
fit:
  method: bayes
  sampler: emcee
  sampler_options: {n_walkers: 16, n_iterations: 500}
estimators:
  flux_points:
    energy_edges: [1 TeV, 3 TeV, 10 TeV, 30 TeV]
    selection_optional: [errn-errp, ul]
outputs: {dir: crab-results}
```

## Example: the seed-001 flux profile (Fermi-LAT, Galactic centre)

A flux profile needs map datasets (a datasets YAML listing a `MapDataset` file) and no
models: the norm of `spectrum` is fitted in every region, on top of the datasets' background.

```yaml
title: Galactic-centre flux profile (seed 001)
data:
  datasets: fermi-gc-datasets.yaml   # one MapDataset: fermi-3fhl-gc.fits.gz
estimators:
  profile:
    regions:
      kind: rectangles
      start_pos: 10 0 galactic
      end_pos: 350 0 galactic
      height: 3 deg
      n: 51
    spectrum: {type: PowerLawSpectralModel, parameters: {index: 2.3}}
    energy_edges: [10 GeV, 2000 GeV]
    selection_optional: [ul]
outputs: {dir: profile-results}
```

Concentric annuli instead: `regions: {kind: annuli, center: 0 0 galactic, radius_max: 1.5 deg,
n: 10}`, with `selection_optional: [ul, scan]` for the likelihood-profile figure.

## Keys
"""


def render() -> str:
    parts = [INTRO]
    for path, rows in sections():
        title = "top level" if not path else f"`{path}`"
        parts += ["", f"### {title}", ""]
        if path in DESCRIPTIONS:
            parts += [DESCRIPTIONS[path], ""]
        parts += ["| key | type | default | bounds | description |", "|---|---|---|---|---|"]
        for key, field in rows:
            name = key.rsplit(".", 1)[-1]
            cells = [
                f"`{name}`",
                _type_text(field.annotation),
                _default_text(field),
                _bounds_text(field),
                DESCRIPTIONS.get(key, ""),
            ]
            parts.append("| " + " | ".join(cells) + " |")
    return "\n".join(parts) + "\n"


if __name__ == "__main__":
    OUT.write_text(render())
    print(f"wrote {OUT}")
