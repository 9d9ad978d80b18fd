"""Operations on map datasets that return new datasets: slice, downsample, cutout, stack.

They follow Gammapy 2.1's ``MapDataset`` methods:

* `slice_dataset` -- slice non-spatial axes by index (``{"energy": slice(0, 3)}``);
  keys that a map does not have are ignored for it (``energy`` slices counts,
  background, masks and the dispersion's reconstructed axis; ``energy_true`` the
  exposure and the dispersion's true axis). The PSF map is kept whole: its
  energies are nodes, independent of the exposure bins.
* `downsample_dataset` -- sum counts and background in blocks of pixels (or of
  reconstructed-energy bins) inside the safe mask, average the exposure, OR the masks.
* `cutout_dataset` -- cut all sky maps around a position (IRF maps kept whole).
* `stack_datasets` -- counts and background of the second dataset inside its safe
  mask, exposure where it has safe pixels, IRF maps exposure-weighted, masks OR-ed,
  GTIs merged.
"""

from __future__ import annotations

import numpy as np

from fluxfit.errors import DatasetError
from fluxfit.irf.kernels import EDispKernelMap, EDispMap, PSFKernel, PSFMap, _nearest_pixel
from fluxfit.maps import Map

__all__ = ["slice_dataset", "downsample_dataset", "cutout_dataset", "stack_datasets"]


def _slice_map(m, slices):
    if m is None:
        return None
    own = {k: v for k, v in slices.items() if k in m.geom.axes.names}
    if not own:
        return m.copy()
    sliced = m.slice_by_idx(own)
    return sliced.copy(data=np.array(sliced.data))


def _new(dataset, name, **kwargs):
    base = dataset._init_kwargs()
    base.update(kwargs)
    base["name"] = name or dataset.name
    return type(dataset)(**base)


def slice_dataset(dataset, slices: dict, name=None):
    """A dataset with non-spatial axes sliced by index (see module docstring)."""
    for key, value in slices.items():
        if not isinstance(value, slice):
            raise DatasetError(f"slice_by_idx: {key!r} must be a slice, got {value!r}")
    edisp = dataset.edisp
    if edisp is not None:
        exposure = (
            None
            if edisp.exposure_map is None
            else _slice_map(
                edisp.exposure_map, {k: v for k, v in slices.items() if k == "energy_true"}
            )
        )
        edisp = type(edisp)(_slice_map(edisp.edisp_map, slices), exposure)
    return _new(
        dataset,
        name,
        counts=_slice_map(dataset.counts, slices),
        exposure=_slice_map(dataset.exposure, slices),
        background=_slice_map(dataset.background, slices),
        mask_safe=_slice_map(dataset.mask_safe, slices),
        mask_fit=_slice_map(dataset.mask_fit, slices),
        edisp=edisp,
    )


def downsample_dataset(dataset, factor: int, axis_name=None, name=None):
    """Spatial (``axis_name=None``) or reconstructed-energy (``"energy"``) downsampling."""
    factor = int(factor)
    if factor < 1:
        raise DatasetError(f"downsample: factor must be a positive integer, got {factor}")
    if axis_name not in (None, "energy"):
        raise DatasetError(
            f"downsample: axis_name must be None (spatial) or 'energy', got {axis_name!r}"
        )
    safe = dataset.mask_safe
    kwargs = {}
    if dataset.counts is not None:
        kwargs["counts"] = dataset.counts.downsample(
            factor, preserve_counts=True, axis_name=axis_name, weights=safe
        )
    if dataset.background is not None:
        kwargs["background"] = dataset.background.downsample(
            factor, preserve_counts=True, axis_name=axis_name, weights=safe
        )
    if dataset.exposure is not None:
        kwargs["exposure"] = (
            dataset.exposure.downsample(factor, preserve_counts=False)
            if axis_name is None
            else dataset.exposure.copy()
        )
    for key in ("mask_safe", "mask_fit"):
        m = getattr(dataset, key)
        if m is not None:
            kwargs[key] = m.downsample(factor, preserve_counts=False, axis_name=axis_name)
    edisp = dataset.edisp
    if edisp is not None and axis_name == "energy":
        if not isinstance(edisp, EDispKernelMap):
            kwargs["edisp"] = edisp
        else:
            kwargs["edisp"] = EDispKernelMap(
                edisp.edisp_map.downsample(factor, preserve_counts=True, axis_name="energy"),
                edisp.exposure_map,
            )
    return _new(dataset, name, **kwargs)


def cutout_dataset(dataset, position, width, mode="trim", name=None):
    """Sky maps cut out around ``position`` (`~astropy.coordinates.SkyCoord`), ``width`` deg."""
    kwargs = {}
    for key in ("counts", "exposure", "background", "mask_safe", "mask_fit"):
        m = getattr(dataset, key)
        kwargs[key] = None if m is None else m.cutout(position, width, mode=mode)
    return _new(dataset, name, **kwargs)


# ------------------------------------------------------------------------ stacking
def _weights_on_irf(irf_geom, mask_image):
    """Safe-mask weights at the (coarse) IRF map pixels: nearest dataset pixel."""
    if mask_image is None:
        return None
    data = np.asarray(mask_image.data, dtype=bool)
    if getattr(irf_geom, "is_region", False):
        return np.array([[data.any()]])
    nx, ny = irf_geom.npix
    jj, ii = np.mgrid[0:ny, 0:nx]
    lon, lat = irf_geom.wcs.pixel_to_world_values(ii, jj)
    geom = mask_image.geom
    from astropy.coordinates import SkyCoord

    coords = SkyCoord(lon, lat, unit="deg", frame=irf_geom.frame).transform_to(geom.frame)
    x, y = geom.wcs.world_to_pixel(coords)
    x = np.floor(np.asarray(x) + 0.5).astype(int)
    y = np.floor(np.asarray(y) + 0.5).astype(int)
    inside = (x >= 0) & (y >= 0) & (x < data.shape[-1]) & (y < data.shape[-2])
    out = np.zeros((ny, nx), dtype=bool)
    out[inside] = data[y[inside], x[inside]]
    return out


def _stack_irf(irf_a, irf_b, weight_b, cls, map_attr):
    """Exposure-weighted mean of two IRF maps (Gammapy's ``IRFMap.stack``)."""
    map_a, map_b = getattr(irf_a, map_attr), getattr(irf_b, map_attr)
    exp_a, exp_b = irf_a.exposure_map, irf_b.exposure_map
    if exp_a is None or exp_b is None or map_a.geom.data_shape != map_b.geom.data_shape:
        log_msg = "no exposure maps" if exp_a is None or exp_b is None else "different geometries"
        import logging

        logging.getLogger(__name__).warning("IRF maps not stacked (%s): kept the first", log_msg)
        return irf_a
    ea = np.asarray(exp_a.quantity.to_value(exp_b.unit), dtype=float)
    eb = np.asarray(exp_b.data, dtype=float)
    if weight_b is not None:
        eb = eb * weight_b
    data = np.asarray(map_a.data, float) * ea + np.asarray(map_b.data, float) * eb
    exposure = ea + eb
    with np.errstate(invalid="ignore", divide="ignore"):
        data = np.nan_to_num(data / exposure)
    new_map = map_a.copy(data=data.astype(np.asarray(map_a.data).dtype))
    new_exposure = exp_a.copy(data=(exposure * np.ones_like(exp_a.data)).astype(exp_a.data.dtype))
    return cls(new_map, new_exposure)


def stack_datasets(first, other, name=None):
    """``first`` with ``other`` stacked in (a new dataset; Gammapy's rules)."""
    from fluxfit.datasets.spectrum import _stack_gti

    if type(other) is not type(first):
        raise DatasetError(f"cannot stack {type(other).__name__} into {type(first).__name__}")
    if first.data_shape != other.data_shape:
        raise DatasetError(
            f"cannot stack {other.name!r} {other.data_shape} into {first.name!r} "
            f"{first.data_shape}: geometries differ"
        )
    kwargs = {}
    safe_b = other.mask_safe
    safe_image_b = other.mask_safe_image
    if first.counts is not None and other.counts is not None:
        counts = first.counts.copy(data=np.array(first.counts.data, dtype=float))
        counts.stack(other.counts, weights=safe_b)
        kwargs["counts"] = counts
    if first.exposure is not None and other.exposure is not None:
        exposure = first.exposure.copy(data=np.array(first.exposure.data, dtype=float))
        exposure.stack(other.exposure, weights=safe_image_b)
        kwargs["exposure"] = exposure
    if first.background is not None and other.background is not None:
        background = first.npred_background()
        background.stack(other.npred_background(), weights=safe_b)
        kwargs["background"] = background
    if isinstance(first.psf, PSFMap) and isinstance(other.psf, PSFMap):
        weight = _weights_on_irf(other.psf.psf_map.geom, safe_image_b)
        kwargs["psf"] = _stack_irf(first.psf, other.psf, weight, PSFMap, "psf_map")
    elif isinstance(first.psf, PSFKernel):
        kwargs["psf"] = first.psf
    if isinstance(first.edisp, EDispKernelMap | EDispMap) and isinstance(
        other.edisp, type(first.edisp)
    ):
        geom = other.edisp.edisp_map.geom
        weight = _weights_on_irf(geom, safe_image_b)
        if weight is not None and isinstance(first.edisp, EDispKernelMap) and safe_b is not None:
            # per reconstructed-energy bin: kernels of the bins that are safe
            weight_reco = _edisp_reco_weights(other, geom)
            weight = weight_reco if weight_reco is not None else weight
        kwargs["edisp"] = _stack_edisp(first.edisp, other.edisp, weight)
    for key in ("mask_safe", "mask_fit"):
        a, b = getattr(first, key), getattr(other, key)
        if a is not None and b is not None:
            kwargs[key] = a.copy(data=np.asarray(a.data, bool) | np.asarray(b.data, bool))
        elif b is not None and key == "mask_fit":
            kwargs[key] = b.copy()
    kwargs["gti"] = _stack_gti(first.gti, other.gti)
    return _new(first, name, **kwargs)


def _edisp_reco_weights(dataset, irf_geom):
    """Safe mask per reconstructed bin at the IRF pixels, shape (n_reco, ny, nx)."""
    safe = dataset.mask_safe
    if safe is None:
        return None
    planes = []
    for plane in np.asarray(safe.data, dtype=bool):
        image = Map.from_geom(safe.geom.to_image(), data=plane, dtype=bool)
        planes.append(_weights_on_irf(irf_geom, image))
    return np.array(planes)


def _stack_edisp(edisp_a, edisp_b, weight):
    """Stack dispersion maps: kernels weighted by exposure (x safe mask per reco bin)."""
    map_a, map_b = edisp_a.edisp_map, edisp_b.edisp_map
    exp_a, exp_b = edisp_a.exposure_map, edisp_b.exposure_map
    if exp_a is None or exp_b is None or map_a.geom.data_shape != map_b.geom.data_shape:
        return _stack_irf(edisp_a, edisp_b, None, type(edisp_a), "edisp_map")
    ea = np.asarray(exp_a.quantity.to_value(exp_b.unit), dtype=float)  # (n_true, 1, ny, nx)
    eb = np.asarray(exp_b.data, dtype=float)
    data_b = np.asarray(map_b.data, float) * eb
    if weight is not None:
        w = np.asarray(weight, dtype=float)
        if w.ndim == 3 and isinstance(edisp_a, EDispKernelMap):
            data_b = data_b * w[None, :, :, :]  # (1, n_reco, ny, nx)
            w_any = w.any(axis=0)
        else:
            data_b = data_b * w
            w_any = w
        eb = eb * w_any
    data = np.asarray(map_a.data, float) * ea + data_b
    exposure = ea + eb
    with np.errstate(invalid="ignore", divide="ignore"):
        data = np.nan_to_num(data / exposure)
    return type(edisp_a)(
        map_a.copy(data=data.astype(np.asarray(map_a.data).dtype)),
        exp_a.copy(data=exposure.astype(np.asarray(exp_a.data).dtype)),
    )


def nearest_irf_pixel(irf, position):
    """``(j, i)`` of the IRF map pixel nearest to ``position`` (helper for reductions)."""
    geom = irf.psf_map.geom if isinstance(irf, PSFMap) else irf.edisp_map.geom
    return _nearest_pixel(geom, position)
