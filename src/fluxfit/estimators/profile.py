"""`FluxProfileEstimator`: the flux of a spectral shape in a list of sky regions (a profile).

Gammapy 2.1's ``FluxProfileEstimator``: for every region (rectangles along a line,
concentric annuli...) the map datasets are reduced to a region spectrum
(``MapDataset.to_spectrum_dataset``: counts summed over the safe pixels, exposure averaged
over the region, dispersion at its centre), the datasets' own predicted counts (their
background and models, summed over the safe pixels) become a fixed background, and the
norm of ``spectral_model`` is fitted in each energy group, as flux points. The result is a
`~fluxfit.datasets.FluxPoints` with the axes ``[energy, projected-distance]``, written and
read in the ``profile`` table format.

Here all regions are done at once:

1. per dataset, `~fluxfit.datasets.map.MapDataset.reduce_regions` reduces counts,
   background, exposure and masks of every region with one sparse ``(n_regions,
   n_pixels)`` product per map; the source's predicted counts of each region are the
   model's flux per true-energy bin times the region's exposure, folded with its
   dispersion (`region_arrays`);
2. the regions play the part of pixels of a `~fluxfit.estimators.core.DatasetArrays`
   ``(n_energy, n_regions)``, and every (region, energy group) is one group of a
   `~fluxfit.estimators.norm_solver.NormProblem` (`~fluxfit.estimators.core.add_group`);
3. `~fluxfit.estimators.core.FluxEstimator.solve` fits all of them together (best fit,
   TS, errors, upper limits, scans).

Unlike Gammapy 2.1, a region in which ``mask_safe`` is not uniform works: its counts and
background come from its safe pixels and its exposure is scaled to them per energy bin
(see `fluxfit.datasets.map_reduce`); for uniform masks the numbers are Gammapy's.

Projected distance (Gammapy's ``projected_distance_axis``): for annuli the mean of the
inner and outer radius; for any other region the separation of its centre from the
centre of the first region. The axis is built from these nodes
(`~fluxfit.maps.MapAxis.from_nodes`: bin edges half-way between nodes, extrapolated at
the ends).

Examples
--------
>>> import astropy.units as u
>>> from astropy.coordinates import SkyCoord
>>> from fluxfit.estimators import FluxProfileEstimator
>>> from fluxfit.maps import make_concentric_annulus_sky_regions
>>> from fluxfit.models import PowerLawSpectralModel
>>> regions = make_concentric_annulus_sky_regions(
...     SkyCoord(0, 0, unit="deg", frame="galactic"), radius_max="1.5 deg", nbin=11)
>>> estimator = FluxProfileEstimator(regions, spectral_model=PowerLawSpectralModel(index=2.3),
...                                  energy_edges=[10, 100, 2000] * u.GeV,
...                                  selection_optional=["ul", "scan"])
>>> estimator.projected_distance_axis.nbin
10
>>> # profile = estimator.run(dataset); profile.plot(axis_name="projected-distance")
"""

from __future__ import annotations

import logging

import astropy.units as u
import numpy as np

from fluxfit.estimators.core import (
    DatasetArrays,
    EstimatorError,
    add_group,
    reshape_group_results,
    snap_energy_edges,
)
from fluxfit.estimators.norm_solver import NormProblem
from fluxfit.estimators.points import FluxPointsEstimator, _datasets_gti, _result_axis
from fluxfit.maps import MapAxis

__all__ = ["FluxProfileEstimator", "region_arrays", "projected_distances"]

log = logging.getLogger(__name__)

_PROFILE_AXIS = "projected-distance"


def _spectral(model, where: str):
    """The spectral model of a SpectralModel or SkyModel (None stays None)."""
    if model is None:
        return None
    spectral = getattr(model, "spectral_model", model)
    if not hasattr(spectral, "integral"):
        raise EstimatorError(f"{where}: expected a spectral model, got {type(model).__name__}")
    return spectral


def _region_center(region):
    if hasattr(region, "center"):
        return region.center
    from fluxfit.maps import compound_region_center

    return compound_region_center(region)


def projected_distances(regions) -> u.Quantity:
    """Distance of each region along the profile (deg), as Gammapy 2.1 defines it.

    Annuli (`~regions.CircleAnnulusSkyRegion`): the mean of the inner and outer radius;
    any other region: the separation of its centre from the first region's centre.

    Examples
    --------
    >>> from astropy.coordinates import SkyCoord
    >>> from regions import CircleSkyRegion
    >>> import astropy.units as u
    >>> regions = [CircleSkyRegion(SkyCoord(l, 0, unit="deg", frame="galactic"), 0.1 * u.deg)
    ...            for l in (0, 0.5, 1)]
    >>> projected_distances(regions).to_value("deg").round(6).tolist()
    [0.0, 0.5, 1.0]
    """
    from astropy.coordinates import SkyCoord
    from regions import CircleAnnulusSkyRegion

    regions = list(regions)
    out = np.zeros(len(regions))
    annulus = np.array([isinstance(r, CircleAnnulusSkyRegion) for r in regions])
    for i in np.flatnonzero(annulus):
        inner, outer = u.Quantity(regions[i].inner_radius), u.Quantity(regions[i].outer_radius)
        out[i] = ((inner + outer) / 2.0).to_value("deg")
    others = np.flatnonzero(~annulus)
    if others.size:
        first = _region_center(regions[0])
        centers = [_region_center(regions[i]) for i in others]
        try:  # one vectorised separation (same frame)
            out[others] = first.separation(SkyCoord(centers)).to_value("deg")
        except (ValueError, TypeError):
            out[others] = [first.separation(c).to_value("deg") for c in centers]
    return u.Quantity(out, "deg")


def region_arrays(dataset, regions, spectral_model) -> DatasetArrays:
    """What the norm fits need from a map dataset in every region, regions as "pixels".

    Parameters
    ----------
    dataset : `~fluxfit.datasets.map.MapDataset`
        A map dataset (Cash statistic) with exposure; its models (if any) are part of the
        fixed prediction, as its background.
    regions : list of `~regions.SkyRegion`
    spectral_model : `~fluxfit.models.SpectralModel`
        The shape whose norm is fitted in every region.

    Returns
    -------
    `~fluxfit.estimators.core.DatasetArrays`
        Arrays ``(n_energy, n_regions)``: ``counts`` and ``npred_other`` (the dataset's
        predicted counts) summed over each region's safe pixels, ``npred_source`` (the
        model's counts through the region's mean exposure and dispersion), the masks
        (a bin of a region is safe if any of its pixels is).
    """
    if not hasattr(dataset, "reduce_regions"):
        raise EstimatorError(
            f"FluxProfileEstimator: {type(dataset).__name__} {getattr(dataset, 'name', '')!r} "
            "is not a map dataset (no reduce_regions); flux profiles need MapDatasets"
        )
    stat_type = getattr(dataset, "stat_type", "cash")
    if stat_type != "cash":
        raise EstimatorError(
            f"FluxProfileEstimator: dataset {dataset.name!r} has statistic {stat_type!r}; "
            "flux profiles support map datasets with the Cash statistic"
        )
    regions = list(regions)
    reduced = dataset.reduce_regions(regions)
    counts = np.asarray(reduced["counts"], dtype=float)
    n_reco = counts.shape[1]
    other = reduced["background"]
    other = np.zeros(counts.shape) if other is None else np.asarray(other, dtype=float)
    if len(getattr(dataset.models, "names", [])):
        # Gammapy: the region's background is the dataset's npred (all its models too)
        geom = dataset.counts.geom
        matrix = geom.to_image().region_mask_matrix(regions)
        n_pix = int(np.prod(geom.data_shape[-2:]))
        signal = dataset.npred_signal()
        signal = np.asarray(getattr(signal, "data", signal), dtype=float).reshape(n_reco, n_pix)
        if dataset.mask_safe is not None:
            signal = signal * np.asarray(dataset.mask_safe.data, bool).reshape(n_reco, n_pix)
        other = other + np.asarray(matrix @ signal.T)
    edges = u.Quantity(reduced["energy_true_edges"])
    flux = spectral_model.integral(edges[:-1], edges[1:]).to_value("cm-2 s-1")
    flux = np.broadcast_to(np.asarray(flux, dtype=float), (edges.size - 1,))
    exposure = np.asarray(reduced["exposure"], dtype=float)  # cm2 s, (n_regions, n_true)
    source = np.einsum("rt,rtc->rc", exposure * flux, np.asarray(reduced["edisp"], float))
    safe = np.asarray(reduced["mask_safe"], dtype=bool)
    fit = reduced["mask_fit"]
    fit = None if fit is None else np.asarray(fit, dtype=bool)
    mask = safe if fit is None else safe & fit
    return DatasetArrays(
        name=dataset.name,
        stat_type="cash",
        energy_axis=dataset.counts.geom.axes["energy"],
        counts=counts.T.copy(),
        npred_source=source.T.copy(),
        npred_other=other.T.copy(),
        mask=mask.T.copy(),
        mask_safe=safe.T.copy(),
        mask_fit=None if fit is None else fit.T.copy(),
        counts_off=None,
        alpha=None,
        npix=np.asarray(reduced["npix"]),
    )


class FluxProfileEstimator(FluxPointsEstimator):
    """Flux profile: the norm of a spectral shape fitted in every region (and energy group).

    Parameters
    ----------
    regions : list of `~regions.SkyRegion`
        The profile's regions, in order (at least two), e.g. from
        `~fluxfit.maps.make_orthogonal_rectangle_sky_regions` or
        `~fluxfit.maps.make_concentric_annulus_sky_regions`.
    spectral_model : `~fluxfit.models.SpectralModel`, optional
        Spectral shape (and reference for the SED types); default a power law of index 2
        (Gammapy). A `~fluxfit.models.SkyModel` gives its spectral model.
    spectrum : `~fluxfit.models.SpectralModel`, optional
        Older name of ``spectral_model`` (the seed tutorial's).
    energy_edges : `~astropy.units.Quantity`, optional
        Energy groups, snapped to the datasets' bin edges; None: every bin.
    sum_over_energy_groups : bool
        Fit the counts summed over each energy group (one bin per region).
    n_jobs, parallel_backend : optional
        Accepted for Gammapy compatibility: all regions are solved in one vectorised call.
    **kwargs
        ``selection_optional`` ("errn-errp", "ul", "scan", "all"), ``n_sigma``,
        ``n_sigma_ul``, ``norm`` (a Parameter, dict or `~fluxfit.estimators.NormParameter`:
        start, bounds, scan values), ``norm_min``/``norm_max``/``norm_n_values``/
        ``norm_values``, ``reoptimize`` (only False: there is nothing else to refit, as in
        Gammapy), ``fit``.

    Notes
    -----
    Per region and energy group the result holds ``norm``, ``norm_err``, ``ts``,
    ``stat``, ``stat_null``, ``npred``, ``npred_excess``, ``counts`` (per dataset),
    ``success`` and the optional quantities; a region without safe pixels has NaN values
    and ``success=False``. The ``source`` option is not used: the fitted model is
    ``spectral_model`` alone, on top of everything the datasets already predict.
    """

    tag = "FluxProfileEstimator"

    def __init__(self, regions, spectral_model=None, spectrum=None, **kwargs):
        regions = list(regions) if regions is not None else []
        if len(regions) <= 1:
            raise EstimatorError(
                "FluxProfileEstimator: give at least two regions for a flux profile"
            )
        if spectral_model is not None and spectrum is not None:
            raise EstimatorError("FluxProfileEstimator: give spectral_model or spectrum, not both")
        model = _spectral(spectral_model if spectral_model is not None else spectrum, self.tag)
        if model is None:
            from fluxfit.models import PowerLawSpectralModel

            model = PowerLawSpectralModel()
        if kwargs.get("reoptimize", False):
            raise EstimatorError(
                "FluxProfileEstimator: reoptimize=True is not available (only the profile's "
                "spectral model is fitted in each region); use reoptimize=False"
            )
        self.regions = regions
        self.spectral_model = model
        super().__init__(**kwargs)

    @property
    def spectrum(self):
        """Older name of ``spectral_model``."""
        return self.spectral_model

    @property
    def config_parameters(self) -> dict:
        pars = super().config_parameters
        pars.pop("regions", None)
        pars["spectral_model"] = type(self.spectral_model).__name__
        return pars

    @property
    def projected_distance_axis(self) -> MapAxis:
        """The ``projected-distance`` axis of the result (see `projected_distances`)."""
        return MapAxis.from_nodes(projected_distances(self.regions), name=_PROFILE_AXIS)

    def run(self, datasets):
        """Flux profile over the regions.

        Parameters
        ----------
        datasets : `~fluxfit.datasets.map.MapDataset`, list or `~fluxfit.datasets.Datasets`
            Map datasets (fitted jointly in each region).

        Returns
        -------
        `~fluxfit.datasets.FluxPoints`
            SED type "likelihood", axes ``[energy, projected-distance]``.
        """
        datasets = self._as_datasets(datasets)
        if len(datasets) == 0:
            raise EstimatorError(f"{self.tag}: no datasets")
        distance_axis = self.projected_distance_axis
        arrays = [region_arrays(d, self.regions, self.spectral_model) for d in datasets]
        edges = self.energy_edges
        if edges is None:
            edges = arrays[0].energy_axis.edges
        n_energy = edges.size - 1
        n_regions = len(self.regions)
        snaps = [snap_energy_edges(a.energy_axis, edges) for a in arrays]
        energy_axis = _result_axis(arrays, snaps, edges)
        problem = NormProblem(n_regions * n_energy, len(datasets))
        first_group = np.arange(n_regions) * n_energy
        for g in range(n_energy):
            for d, (a, (i0, i1, ok)) in enumerate(zip(arrays, snaps)):
                if ok[g]:
                    rows = slice(i0[g], i1[g] + 1)
                    add_group(problem, first_group + g, d, a, rows, self.sum_over_energy_groups)
        problem.finalize()
        results = reshape_group_results(self.solve(problem), (n_regions, n_energy))
        empty = ~problem.has_channels.reshape(n_regions, n_energy).any(axis=1)
        if np.any(empty):
            log.info(
                "%s: no safe data in region(s) %s: NaN results",
                self.tag,
                np.flatnonzero(empty).tolist(),
            )
        return self.flux_points(
            results,
            [energy_axis, distance_axis],
            self.spectral_model.copy(),
            gti=_datasets_gti(datasets),
        )
