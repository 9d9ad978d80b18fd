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

__all__ = [
    "build_datasets",
    "build_models",
    "build_profile_estimator",
    "build_profile_regions",
    "run_analysis",
]

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


def _spectral_model(config, where: str):
    """A spectral model from its class name and start values (``type``, ``parameters``)."""
    import fluxfit.models as fm

    cls = getattr(fm, config.type, None)
    if not (isinstance(cls, type) and issubclass(cls, fm.SpectralModel)):
        known = sorted(
            n for n in dir(fm) if n.endswith("SpectralModel") and isinstance(getattr(fm, n), type)
        )
        raise FormatError(
            f"{where}.type: unknown spectral model {config.type!r}; allowed: {', '.join(known)}"
        )
    kwargs = {
        key: (_quantity(value, f"{where}.parameters.{key}") if isinstance(value, str) else value)
        for key, value in config.parameters.items()
    }
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise FormatError(f"{where}.parameters: {exc}") from None


def build_models(config, base: Path):
    """`~fluxfit.models.Models` from a models YAML or the inline components (None without)."""
    import fluxfit.models as fm
    from fluxfit.models.priors import prior_from_dict

    if config.models is None:
        return None
    if isinstance(config.models, str):
        return fm.Models.read(_path(base, config.models))
    components = []
    for i, item in enumerate(config.models):
        where = f"models.{i}.spectral"
        spectral = _spectral_model(item.spectral, where)
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


def _regions_count(total, width: str, where: str) -> int:
    """How many regions of angular size ``width`` tile ``total`` (a whole number, >= 2)."""
    from astropy.coordinates import Angle

    from fluxfit.cli.config import _angle

    ratio = float((Angle(total) / _angle(width)).to_value(u.one))
    n = round(ratio)
    if n < 2 or abs(ratio - n) > 1e-3:  # to 0.1 % of a region
        raise FormatError(
            f"{where}.width: {width} cuts {Angle(total).deg:.6g} deg into {ratio:.6g} regions, "
            "not a whole number >= 2; give another width or n (the number of regions)"
        )
    return n


def build_profile_regions(config, datasets) -> list:
    """The sky regions of ``estimators.profile.regions``.

    Rectangles are laid out in the WCS of the first map dataset (as the seed tutorial does
    with its counts image); annuli need no geometry.
    """
    from astropy.coordinates import Angle

    from fluxfit.cli.config import _angle
    from fluxfit.maps import (
        make_concentric_annulus_sky_regions,
        make_orthogonal_rectangle_sky_regions,
    )

    where = "estimators.profile.regions"
    if config.kind == "rectangles":
        start, end = config.start_pos.to_skycoord(), config.end_pos.to_skycoord()
        from fluxfit.datasets.map import MapDataset

        wcs = None
        for dataset in datasets:
            if isinstance(dataset, MapDataset):
                wcs = getattr(dataset.counts.geom, "wcs", None)
                if wcs is not None:
                    break
        if wcs is None:
            raise FormatError(
                f"{where}: kind 'rectangles' is laid out in the geometry of a map dataset; "
                "give one in data.datasets (a datasets YAML with a MapDataset)"
            )
        n = config.n
        if n is None:
            n = _regions_count(start.separation(end), config.width, where)
        return make_orthogonal_rectangle_sky_regions(
            start_pos=start,
            end_pos=end,
            wcs=wcs,
            height=_angle(config.height),
            nbin=n,
        )
    radius_max = _angle(config.radius_max)
    radius_min = Angle(1e-5, unit="deg")  # the API's default
    if config.radius_min is not None:
        radius_min = _angle(config.radius_min)
    if radius_min >= radius_max:
        raise FormatError(
            f"{where}: radius_min ({radius_min.deg:g} deg) must be below radius_max "
            f"({radius_max.deg:g} deg)"
        )
    n = config.n
    if n is None:
        n = _regions_count(radius_max - radius_min, config.width, where)
    # the API counts radius edges (Gammapy 2.1): n annuli are nbin = n + 1
    return make_concentric_annulus_sky_regions(
        center=config.center.to_skycoord(),
        radius_max=radius_max,
        radius_min=radius_min,
        nbin=n + 1,
    )


def build_profile_estimator(config, datasets):
    """`~fluxfit.estimators.FluxProfileEstimator` of ``estimators.profile``."""
    from fluxfit.estimators import FluxProfileEstimator

    where = "estimators.profile"
    options = {
        "n_sigma": config.n_sigma,
        "n_sigma_ul": config.n_sigma_ul,
        "sum_over_energy_groups": config.sum_over_energy_groups,
    }
    if config.energy_edges is not None:
        for edge in config.energy_edges:  # energies (kept in their unit: no rounding)
            _quantity(edge, f"{where}.energy_edges", u.TeV)
        options["energy_edges"] = u.Quantity(
            [_quantity(e, f"{where}.energy_edges") for e in config.energy_edges]
        )
    if config.selection_optional is not None:
        options["selection_optional"] = list(config.selection_optional)
    if config.norm_values is not None:
        options["norm_values"] = np.asarray(config.norm_values, dtype=float)
    return FluxProfileEstimator(
        regions=build_profile_regions(config.regions, datasets),
        spectral_model=_spectral_model(config.spectrum, f"{where}.spectrum"),
        **options,
    )


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
    est = config.estimators
    if config.models is None:
        needs = [
            key
            for key, value in (
                ("estimators.flux_points", est.flux_points),
                ("estimators.lightcurve", est.lightcurve),
                ("estimators.time_resolved", est.time_resolved),
                ("fit.method: bayes", config.fit.method == "bayes" or None),
            )
            if value is not None
        ]
        if needs or est.profile is None:
            raise FormatError(
                "models: required "
                + (f"by {', '.join(needs)}" if needs else "(nothing to do without models)")
                + "; only estimators.profile runs without models"
            )
    datasets, intervals = build_datasets(config, base)
    say(f"{len(datasets)} dataset(s): {', '.join(datasets.names)}")
    models = build_models(config, base)
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
    if models is not None:
        datasets.models = models
    needs_fit = any(e is not None for e in (est.flux_points, est.lightcurve, est.profile))
    if models is not None and (time_resolved is None or needs_fit or config.fit.method == "bayes"):
        # the joint fit: the start of the estimators and of the sampler
        fit_result = Fit().run(datasets)
        say(f"fit: success={fit_result.success}, total stat {fit_result.total_stat:.3f}")
    flux_points = lightcurve = bayes_results = profile = None
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
    if est.profile is not None:
        # after the fit: the fitted models are part of every region's fixed prediction
        estimator = build_profile_estimator(est.profile, datasets)
        profile = estimator.run(datasets)
        say(
            f"flux profile: {len(estimator.regions)} {est.profile.regions.kind}, "
            f"{profile.energy_axis.nbin} energy bin(s), {int(np.sum(profile.success))} fitted"
        )
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
        profile=profile,
        profile_sed_type=est.profile.sed_type if est.profile is not None else "dnde",
    )
    if config.outputs.report:
        from fluxfit.cli.report import write_report

        say(f"wrote {write_report(out, overwrite=True)}")
    return out
