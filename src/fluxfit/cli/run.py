"""``fluxfit run analysis.yaml``: run the analysis a configuration describes.

See `fluxfit.cli.config` for the file format and `fluxfit.cli.results_dir` for what is written.
"""

from __future__ import annotations

import itertools
import logging
from pathlib import Path

import astropy.units as u
import numpy as np

from fluxfit.errors import FitError, FormatError, OverwriteError

__all__ = ["build_datasets", "build_models", "run_analysis"]

log = logging.getLogger(__name__)


def _path(base: Path, name: str) -> Path:
    path = Path(name).expanduser()
    return path if path.is_absolute() else base / path


def _quantity(text, where: str, unit=None):
    try:
        value = u.Quantity(text)
        return value if unit is None else value.to(unit)
    except (TypeError, ValueError, u.UnitsError) as exc:
        raise FormatError(f"{where}: cannot read {text!r} as a quantity ({exc})") from None


def _time_intervals(config):
    from astropy.time import Time

    start = Time(config.start)
    duration = _quantity(config.duration, "data.dl3.time_intervals.duration", u.s)
    times = start + np.arange(config.n_intervals + 1) * duration
    return [Time([a, b]) for a, b in itertools.pairwise(times)]


def _circle(config, where):
    from astropy.coordinates import SkyCoord
    from regions import CircleSkyRegion

    center = SkyCoord(
        _quantity(config.lon, f"{where}.lon", u.deg),
        _quantity(config.lat, f"{where}.lat", u.deg),
        frame=config.frame,
    )
    return CircleSkyRegion(center=center, radius=_quantity(config.radius, f"{where}.radius"))


def _reduce_dl3(config, base: Path):
    from fluxfit.data import DataStore
    from fluxfit.makers import (
        ReflectedRegionsBackgroundMaker,
        SafeMaskMaker,
        SpectrumDatasetMaker,
        SpectrumReduction,
    )
    from fluxfit.maps import MapAxis, RegionGeom

    dl3, reduction = config.data.dl3, config.reduction
    if reduction is None:
        raise FormatError("reduction: required with data.dl3 (on_region, energy axes...)")
    store = DataStore.from_dir(_path(base, dl3.path))
    obs_ids = dl3.obs_ids
    if obs_ids is None:
        table = store.obs_table
        if dl3.selection is not None:
            s = dl3.selection
            table = table.select_observations(
                dict(
                    type="sky_circle",
                    frame=s.frame,
                    lon=_quantity(s.lon, "data.dl3.selection.lon", u.deg),
                    lat=_quantity(s.lat, "data.dl3.selection.lat", u.deg),
                    radius=_quantity(s.radius, "data.dl3.selection.radius", u.deg),
                )
            )
        obs_ids = table["OBS_ID"]
    observations = store.get_observations(obs_ids)
    intervals = None
    if dl3.time_intervals is not None:
        intervals = _time_intervals(dl3.time_intervals)
        observations = observations.select_time(intervals)

    def axis(c, name, where):
        return MapAxis.from_energy_bounds(
            _quantity(c.min, f"{where}.min"),
            _quantity(c.max, f"{where}.max"),
            nbin=c.nbin,
            name=name,
        )

    geom = RegionGeom.create(
        region=_circle(reduction.on_region, "reduction.on_region"),
        axes=[axis(reduction.energy_axis, "energy", "reduction.energy_axis")],
    )
    maker = SpectrumReduction(
        geom,
        axis(reduction.energy_axis_true, "energy_true", "reduction.energy_axis_true"),
        dataset_maker=SpectrumDatasetMaker(
            containment_correction=reduction.containment_correction,
            selection=["counts", "exposure", "edisp"],
        ),
        background_maker=ReflectedRegionsBackgroundMaker(),
        safe_mask_maker=SafeMaskMaker(
            methods=list(reduction.safe_mask.methods),
            aeff_percent=reduction.safe_mask.aeff_percent,
        ),
    )
    return maker.run(observations), intervals


def build_datasets(config, base: Path):
    """The datasets of ``config.data`` (and the time intervals of a DL3 selection)."""
    from fluxfit.datasets import (
        Datasets,
        FluxPoints,
        FluxPointsDataset,
        SpectrumDatasetOnOff,
        read_datasets,
    )

    datasets, intervals = [], None
    for name in config.data.ogip:
        datasets.append(SpectrumDatasetOnOff.read(_path(base, name)))
    if config.data.datasets:
        datasets.extend(read_datasets(_path(base, config.data.datasets)))
    for name in config.data.flux_points:
        path = _path(base, name)
        datasets.append(FluxPointsDataset(data=FluxPoints.read(path), name=path.stem))
    if config.data.dl3 is not None:
        reduced, intervals = _reduce_dl3(config, base)
        datasets.extend(reduced)
    if not datasets:
        raise FormatError("data: give at least one of ogip, datasets, flux_points, dl3")
    return Datasets(datasets), intervals


def build_models(config, base: Path):
    """`~fluxfit.models.Models` from a models YAML or the inline components."""
    import fluxfit.models as fm
    from fluxfit.models.priors import prior_from_dict

    if isinstance(config.models, str):
        return fm.Models.read(_path(base, config.models))
    components = []
    for i, item in enumerate(config.models):
        where = f"models.{i}.spectral"
        cls = getattr(fm, item.spectral.type, None)
        if not (isinstance(cls, type) and issubclass(cls, fm.SpectralModel)):
            known = sorted(
                n
                for n in dir(fm)
                if n.endswith("SpectralModel") and isinstance(getattr(fm, n), type)
            )
            raise FormatError(
                f"{where}.type: unknown spectral model {item.spectral.type!r}; "
                f"allowed: {', '.join(known)}"
            )
        kwargs = {
            key: (
                _quantity(value, f"{where}.parameters.{key}") if isinstance(value, str) else value
            )
            for key, value in item.spectral.parameters.items()
        }
        try:
            spectral = cls(**kwargs)
        except TypeError as exc:
            raise FormatError(f"{where}.parameters: {exc}") from None
        names = [par.name for par in spectral.parameters]
        for key, listed in (("frozen", item.spectral.frozen), ("priors", item.spectral.priors)):
            unknown = [name for name in listed if name not in names]
            if unknown:
                raise FormatError(
                    f"{where}.{key}: unknown parameter(s) {unknown}; "
                    f"{item.spectral.type} has {', '.join(names)}"
                )
        for name in item.spectral.frozen:
            spectral.parameters[name].frozen = True
        for name, prior in item.spectral.priors.items():
            spectral.parameters[name].prior = prior_from_dict(
                prior.model_dump(exclude_none=True), f"{where}.priors.{name}"
            )
        components.append(
            fm.SkyModel(spectral_model=spectral, name=item.name, datasets_names=item.datasets_names)
        )
    return fm.Models(components)


def _estimator_options(config, models) -> dict:
    """Keyword arguments shared by the flux-point and light-curve estimators."""
    options = {
        "source": config.source or models[0].name,
        "n_sigma": config.n_sigma,
        "n_sigma_ul": config.n_sigma_ul,
        "reoptimize": config.reoptimize,
        "n_jobs": config.n_jobs,
    }
    if config.selection_optional is not None:
        options["selection_optional"] = list(config.selection_optional)
    return options


def run_analysis(filename, out=None, say=print) -> Path:
    """Run the analysis of a configuration file.

    Parameters
    ----------
    filename : str or path
        The analysis YAML (see `fluxfit.cli.config` and ``docs/configuration.md``);
        relative paths in it are taken from its folder.
    out : str or path, optional
        Results folder (overrides ``outputs.dir``).
    say : callable
        Receives one line of progress text at a time (``print``; a no-op under
        ``--quiet``).

    Returns
    -------
    pathlib.Path
        The results folder (layout in `fluxfit.cli.results_dir`).
    """
    from fluxfit.cli.config import load_config
    from fluxfit.cli.results_dir import write_analysis
    from fluxfit.fit import Fit

    filename = Path(filename)
    config = load_config(filename)
    base = filename.resolve().parent
    out = Path(out) if out is not None else _path(base, config.outputs.dir)
    if (out / "fit.json").exists() and not config.outputs.overwrite:
        raise OverwriteError(f"{out / 'fit.json'} exists; set outputs.overwrite: true")
    datasets, intervals = build_datasets(config, base)
    say(f"{len(datasets)} dataset(s): {', '.join(datasets.names)}")
    models = build_models(config, base)
    est = config.estimators
    time_resolved = None
    fit_result = None
    if est.time_resolved is not None:
        from fluxfit.estimators import TimeResolvedSpectroscopyEstimator

        if intervals is None:
            raise FormatError("estimators.time_resolved: needs data.dl3.time_intervals")
        energy_range = u.Quantity(
            [_quantity(e, "estimators.time_resolved") for e in est.time_resolved.energy_range]
        )
        time_resolved = TimeResolvedSpectroscopyEstimator(
            intervals, models[0], energy_range=energy_range
        ).run(datasets)
        say(f"time-resolved fits: {len(time_resolved.table)} intervals")
    datasets.models = models
    needs_fit = est.flux_points is not None or est.lightcurve is not None
    if time_resolved is None or needs_fit or config.fit.method == "bayes":
        # the joint fit: the start of the estimators and of the sampler
        fit_result = Fit().run(datasets)
        say(f"fit: success={fit_result.success}, total stat {fit_result.total_stat:.3f}")
    flux_points = lightcurve = bayes_results = None
    if est.flux_points is not None:
        from fluxfit.estimators import FluxPointsEstimator

        edges = u.Quantity(
            [
                _quantity(e, "estimators.flux_points.energy_edges")
                for e in est.flux_points.energy_edges
            ]
        )
        flux_points = FluxPointsEstimator(
            energy_edges=edges, **_estimator_options(est.flux_points, models)
        ).run(datasets)
        say(f"flux points: {len(edges) - 1} energy bin(s)")
    if est.lightcurve is not None:
        from fluxfit.estimators import LightCurveEstimator

        edges = u.Quantity(
            [
                _quantity(e, "estimators.lightcurve.energy_range")
                for e in est.lightcurve.energy_range
            ]
        )
        lightcurve = LightCurveEstimator(
            energy_edges=edges,
            time_intervals=intervals,
            **_estimator_options(est.lightcurve, models),
        ).run(datasets)
        say("light curve: done")
    if config.fit.method == "bayes":
        from fluxfit.fit import BayesianAnalysis

        try:  # a missing sampler package is a FitError naming it
            bayes_results = BayesianAnalysis(None, datasets).sample(
                sampler=config.fit.sampler,
                seed=config.fit.seed,
                verbose=None,  # progress bars unless quiet or not on a terminal
                **config.fit.sampler_options,
            )
        except FitError as exc:  # an unknown sampler option: name the config key
            if "unknown option" not in str(exc):
                raise
            raise FormatError(f"fit.sampler_options: {exc}") from None
        say(f"Bayesian run: {config.fit.sampler}, {len(bayes_results.samples)} samples")
    write_analysis(
        out,
        config.title,
        datasets,
        fit_result=fit_result,
        flux_points=flux_points,
        lightcurve=lightcurve,
        time_resolved=time_resolved,
        bayes_results=bayes_results,
    )
    if config.outputs.report:
        from fluxfit.cli.report import write_report

        say(f"wrote {write_report(out)}")
    return out
