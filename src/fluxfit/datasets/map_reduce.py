"""Reduce a map dataset to 1-D spectra in sky regions, many regions at once.

`reduce_regions` sums counts and background over the safe pixels of each region,
averages the exposure over the region and takes the dispersion at the region
centre -- Gammapy 2.1's ``MapDataset.to_spectrum_dataset`` -- for all regions with one
sparse ``(n_regions, n_pixels)`` membership matrix (`~fluxfit.maps.WcsGeom.region_mask_matrix`)
applied to every map: the work is a few sparse products, whatever the number of
regions (flux profiles use tens to hundreds).

Gammapy 2.1 refuses regions in which the safe mask is not spatially uniform. Here
they are allowed: in a reconstructed-energy bin where only part of the region is
safe, counts and background come from the safe pixels only, and the dispersion row
of that bin is scaled by the fraction of the region's exposure that lies in those
pixels. The predicted counts of a source spread over the region then cover the same
pixels as the counts; for a uniform mask the result is Gammapy's exactly.

Examples
--------
>>> from fluxfit.datasets.map_reduce import to_spectrum_datasets
>>> # spectra = to_spectrum_datasets(dataset, regions)   # one SpectrumDataset per region
"""

from __future__ import annotations

import numpy as np
from astropy import units as u

from fluxfit.errors import DatasetError

__all__ = ["reduce_regions", "to_spectrum_datasets"]


def _region_center(region):
    from fluxfit.maps import compound_region_center

    if hasattr(region, "center"):
        return region.center
    return compound_region_center(region)


def reduce_regions(dataset, regions, containment_correction: bool = False) -> dict:
    """Region spectra of a `~fluxfit.datasets.map.MapDataset` as arrays.

    Parameters
    ----------
    dataset : `~fluxfit.datasets.map.MapDataset`
    regions : list of `~regions.SkyRegion`
    containment_correction : bool
        Multiply the exposure by the PSF containment within circular regions
        (point sources at the region centre), as Gammapy.

    Returns
    -------
    dict
        ``counts``, ``background`` (n_regions, n_reco) or None, ``exposure`` (cm2 s,
        n_regions, n_true), ``edisp`` (n_regions, n_true, n_reco), ``mask_safe``,
        ``mask_fit`` (n_regions, n_reco) bool or None, ``npix`` (n_regions,),
        ``safe_fraction`` (n_regions, n_true, n_reco: the exposure fraction applied),
        ``energy_edges``, ``energy_true_edges`` (Quantity).
    """
    from fluxfit.datasets.evaluator import edisp_matrix_at

    regions = list(regions)
    if not regions:
        raise DatasetError("reduce_regions: no regions given")
    geom = dataset._geom
    image = geom.to_image()
    matrix = image.region_mask_matrix(regions)
    n_reco = geom.data_shape[0]
    n_pix = geom.data_shape[-1] * geom.data_shape[-2]
    npix = np.asarray(matrix.sum(axis=1)).ravel()
    if dataset.mask_safe is not None:
        safe = np.asarray(dataset.mask_safe.data, dtype=bool).reshape(n_reco, n_pix)
    else:
        safe = np.ones((n_reco, n_pix), dtype=bool)
    safe_f = safe.astype(float)
    out = {"npix": npix, "energy_edges": geom.axes["energy"].edges}
    counts = (
        np.zeros((n_reco, n_pix))
        if dataset.counts is None
        else np.asarray(dataset.counts.data, dtype=float).reshape(n_reco, n_pix)
    )
    out["counts"] = np.asarray(matrix @ (counts * safe_f).T)
    if dataset.background is not None:
        background = np.asarray(dataset.npred_background().data, dtype=float).reshape(n_reco, n_pix)
        out["background"] = np.asarray(matrix @ (background * safe_f).T)
    else:
        out["background"] = None
    n_safe = np.asarray(matrix @ safe_f.T)  # (n_regions, n_reco)
    out["mask_safe"] = n_safe > 0
    if dataset.mask_fit is not None:
        fit = np.asarray(dataset.mask_fit.data, dtype=float).reshape(n_reco, n_pix)
        out["mask_fit"] = np.asarray(matrix @ fit.T) > 0
    else:
        out["mask_fit"] = None
    if dataset.exposure is None:
        raise DatasetError(f"{dataset.name}: reduce_regions needs an exposure")
    exposure = dataset.exposure.quantity.to_value("cm2 s")
    n_true = exposure.shape[0]
    exposure = np.nan_to_num(np.asarray(exposure, dtype=float)).reshape(n_true, n_pix)
    exposure_sum = np.asarray(matrix @ exposure.T)  # (n_regions, n_true)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["exposure"] = np.where(npix[:, None] > 0, exposure_sum / npix[:, None], 0.0)
    out["energy_true_edges"] = dataset.energy_axis_true.edges

    # exposure fraction in the safe pixels, per distinct safe-mask image
    fraction = np.ones((len(regions), n_true, n_reco))
    partial = (n_safe > 0) & (n_safe < npix[:, None])
    if np.any(partial):
        masks, inverse = _distinct_rows(safe)
        for u_idx, mask_image in enumerate(masks):
            reco_bins = np.flatnonzero(inverse == u_idx)
            rows = np.flatnonzero(partial[:, reco_bins].any(axis=1))
            if rows.size == 0:
                continue
            safe_sum = np.asarray(matrix[rows] @ (exposure * mask_image[None, :]).T)
            with np.errstate(invalid="ignore", divide="ignore"):
                frac = np.where(exposure_sum[rows] > 0, safe_sum / exposure_sum[rows], 0.0)
            for r in reco_bins:
                sel = partial[rows, r]
                fraction[rows[sel], :, r] = frac[sel]
    out["safe_fraction"] = fraction

    # dispersion at each region centre (cached per IRF pixel)
    energy_axis = geom.axes["energy"]
    energy_axis_true = dataset.energy_axis_true
    cache = {}
    edisp = np.empty((len(regions), n_true, n_reco))
    for i, region in enumerate(regions):
        center = _region_center(region)
        key = _edisp_key(dataset.edisp, center)
        if key not in cache:
            cache[key] = edisp_matrix_at(dataset.edisp, center, energy_axis, energy_axis_true)
        edisp[i] = cache[key]
    out["edisp"] = edisp * fraction

    if containment_correction:
        from regions import CircleSkyRegion

        from fluxfit.irf.kernels import PSFMap

        if not isinstance(dataset.psf, PSFMap):
            raise DatasetError(f"{dataset.name}: containment correction needs a PSF map")
        centers = dataset.energy_axis_true.center
        for i, region in enumerate(regions):
            if not isinstance(region, CircleSkyRegion):
                raise DatasetError("containment correction needs CircleSkyRegion regions")
            containment = dataset.psf.containment(region.radius, centers, region.center)
            out["exposure"][i] *= np.ravel(containment)
    return out


def _edisp_key(edisp, center):
    from fluxfit.irf.kernels import _nearest_pixel

    if edisp is None:
        return None
    return _nearest_pixel(edisp.edisp_map.geom, center)


def to_spectrum_datasets(dataset, regions, containment_correction=False, names=None):
    """One `~fluxfit.datasets.SpectrumDataset` (Cash, known background) per region.

    Parameters
    ----------
    dataset : `~fluxfit.datasets.map.MapDataset`
    regions : list of `~regions.SkyRegion`
    containment_correction : bool
        See `reduce_regions`.
    names : list of str, optional
        Dataset names (default ``"<dataset>-region-<i>"``).

    Returns
    -------
    list of `~fluxfit.datasets.SpectrumDataset`
    """
    from fluxfit.datasets.spectrum import SpectrumDataset
    from fluxfit.irf.response import EnergyDispersionMatrix

    regions = list(regions)
    reduced = reduce_regions(dataset, regions, containment_correction)
    if names is None:
        names = [None] * len(regions)
    if len(names) != len(regions):
        raise DatasetError(f"to_spectrum_datasets: {len(names)} names for {len(regions)} regions")
    livetime = None
    gti = dataset.gti
    if gti is not None and np.size(gti.start):
        livetime = float(np.sum(np.asarray(gti.stop) - np.asarray(gti.start)))
    out = []
    for i, region in enumerate(regions):
        edisp = EnergyDispersionMatrix(
            reduced["energy_true_edges"], reduced["energy_edges"], reduced["edisp"][i]
        )
        background = None if reduced["background"] is None else reduced["background"][i]
        mask_fit = None if reduced["mask_fit"] is None else reduced["mask_fit"][i]
        out.append(
            SpectrumDataset(
                counts=reduced["counts"][i],
                exposure=u.Quantity(reduced["exposure"][i], "cm2 s"),
                edisp=edisp,
                background=background,
                mask_safe=reduced["mask_safe"][i],
                mask_fit=mask_fit,
                name=names[i] or f"{dataset.name}-region-{i}",
                livetime=livetime,
                gti=gti,
                meta={"region": region},
            )
        )
    return out


def _distinct_rows(mask):
    """Distinct rows of a 2-D boolean array and the row -> distinct-row index.

    Rows are compared as packed bytes in a dict: ``np.unique(mask, axis=0)`` sorts whole rows
    and took 0.66 s for 24 masks of 160,000 pixels where this takes 0.3 ms. Distinct rows are in
    order of first appearance.
    """
    packed = np.packbits(np.asarray(mask, dtype=bool), axis=1)
    seen: dict[bytes, int] = {}
    inverse = np.empty(len(packed), dtype=np.intp)
    first = []
    for row_index, row in enumerate(packed):
        index = seen.setdefault(row.tobytes(), len(seen))
        if index == len(first):
            first.append(row_index)
        inverse[row_index] = index
    return np.asarray(mask)[first], inverse
