"""`MapDataset`: counts cubes (sky pixels x reconstructed energy) with a Cash likelihood.

A map dataset holds counts, the exposure in true energy, an optional background
cube (scaled by a `~fluxfit.models.FoVBackgroundModel`), the PSF and energy
dispersion as maps (`fluxfit.irf.kernels`), and the safe and fit masks. Predicted
counts follow Gammapy 2.1's ``MapDataset`` (see `fluxfit.datasets.evaluator`): the
Fermi-LAT 3FHL Crab dataset with its YAML start models gives the same Cash
statistic as Gammapy to 1e-9.

The likelihood is cheap to call. Only the fitted bins (``mask_safe & mask_fit``)
are touched: their counts, background and, per sky model, a response matrix from
true-energy flux to counts in those bins are built once. One evaluation is then one
spectral integral and one small matrix product per model, a gather for the
background norm and one Cash sum; a batch of ``k`` parameter sets
(`stat_sum_batch`) costs the same number of numpy calls.

Examples
--------
>>> from fluxfit.datasets.map import MapDataset
>>> # dataset = MapDataset.read("Fermi-LAT-3FHL_data_Fermi-LAT.fits", name="Fermi-LAT")
>>> # dataset.models = Models.read("Fermi-LAT-3FHL_models.yaml")
>>> # dataset.stat_sum()   -> -12756.574...
"""

from __future__ import annotations

import logging

import numpy as np
from astropy import units as u

from fluxfit.datasets.core import Dataset
from fluxfit.datasets.evaluator import MapContext, MapEvaluator, SpectralIntegrator
from fluxfit.errors import DatasetError
from fluxfit.irf.kernels import EDispKernelMap, EDispMap, PSFKernel, PSFMap
from fluxfit.maps import Map, MapAxis, WcsGeom
from fluxfit.stats import TRUNCATION_VALUE, cash

__all__ = ["MapDataset"]

log = logging.getLogger(__name__)

_EXPOSURE_UNIT = u.Unit("cm2 s")
#: Batch rows are evaluated in chunks of about this many (row x bin) elements.
_BATCH_ELEMENTS = 2**16


def _rng(random_state):
    if isinstance(random_state, np.random.Generator | np.random.RandomState):
        return random_state
    return np.random.default_rng(random_state)


class _FitState:
    """Everything the statistic needs that does not depend on model parameters."""

    __slots__ = (
        "background",
        "bkg_key",
        "bkg_model",
        "bkg_norm",
        "bkg_nz",
        "bkg_params",
        "bkg_sum",
        "context",
        "counts",
        "counts_nz",
        "energy_center",
        "energy_index",
        "energy_nz",
        "evaluators",
        "fit_index",
        "flat",
        "nz",
    )


class MapDataset(Dataset):
    """Counts in sky pixels and reconstructed-energy bins, with IRFs; Cash statistic.

    Parameters
    ----------
    counts : `~fluxfit.maps.WcsNDMap`
        Counts, axes ``energy`` (+ spatial).
    exposure : `~fluxfit.maps.WcsNDMap`
        Exposure (e.g. cm2 s), axis ``energy_true``, same pixels as ``counts``.
    background : `~fluxfit.maps.WcsNDMap`, optional
        Background counts with the counts geometry.
    psf : `~fluxfit.irf.kernels.PSFMap` or `~fluxfit.irf.kernels.PSFKernel`, optional
    edisp : `~fluxfit.irf.kernels.EDispKernelMap` or `~fluxfit.irf.kernels.EDispMap`, optional
        Without one, true-energy bins map to reconstructed bins by overlap.
    mask_safe, mask_fit : `~fluxfit.maps.WcsNDMap` of bool, optional
        Bins usable at all / bins to fit (counts geometry).
    gti : `~fluxfit.datasets.GoodTimeIntervals`, optional
    name : str
    meta : dict, optional
    meta_table : `~astropy.table.Table`, optional
    models : `~fluxfit.models.Models`, optional
    integration : {"exact", "gammapy"}
        Integration of spectra over true-energy bins: exact (closed forms or
        Gauss-Legendre) or Gammapy's log-log trapezoids (100 nodes per decade).

    Examples
    --------
    >>> import numpy as np
    >>> from fluxfit.maps import Map, MapAxis
    >>> from fluxfit.datasets.map import MapDataset
    >>> energy = MapAxis.from_energy_bounds("0.1 TeV", "10 TeV", 2)
    >>> counts = Map.create(npix=(5, 5), binsz=0.1, axes=[energy])
    >>> exposure = Map.create(npix=(5, 5), binsz=0.1, axes=[energy.copy(name="energy_true")],
    ...                       unit="cm2 s")
    >>> dataset = MapDataset(counts=counts, exposure=exposure, name="toy")
    >>> dataset.data_shape
    (2, 5, 5)
    """

    tag = "MapDataset"
    stat_type = "cash"

    def __init__(
        self,
        counts=None,
        exposure=None,
        background=None,
        psf=None,
        edisp=None,
        mask_safe=None,
        mask_fit=None,
        gti=None,
        name: str = "dataset",
        meta=None,
        meta_table=None,
        models=None,
        integration: str = "exact",
    ):
        super().__init__(name)
        self._state = None
        self._counts = None
        self._exposure = None
        self._background = None
        self._mask_safe = None
        self._mask_fit = None
        if integration not in ("exact", "gammapy"):
            raise DatasetError(f"MapDataset {name!r}: integration must be 'exact' or 'gammapy'")
        self._integration = integration
        self.counts = counts
        self.exposure = exposure
        self.background = background
        self.psf = psf
        self.edisp = edisp
        self.mask_safe = mask_safe
        self.mask_fit = mask_fit
        self.gti = gti
        self.meta = dict(meta or {})
        self.meta_table = meta_table
        if self._geom_or_none() is None:
            raise DatasetError(
                f"MapDataset {name!r}: one of counts, background, mask_safe or mask_fit is needed"
            )
        if models is not None:
            self.models = models

    # ------------------------------------------------------------ validation
    @property
    def _owner(self):
        return f"MapDataset {self.name!r}"

    def _geom_or_none(self):
        for m in (self._counts, self._background, self._mask_safe, self._mask_fit):
            if m is not None:
                return m.geom
        return None

    def _check_map(self, m, what, axis_name="energy"):
        if m is None:
            return None
        if not isinstance(m, Map):
            raise DatasetError(f"{self._owner}: {what} must be a fluxfit Map, got {type(m)}")
        if not isinstance(m.geom, WcsGeom):
            raise DatasetError(
                f"{self._owner}: {what} must have a WCS geometry (use SpectrumDataset for regions)"
            )
        if axis_name not in m.geom.axes.names:
            raise DatasetError(
                f"{self._owner}: {what} needs an {axis_name!r} axis, has {m.geom.axes.names}"
            )
        ref = self._geom_or_none()
        if ref is not None and axis_name == "energy" and m.geom.data_shape != ref.data_shape:
            raise DatasetError(
                f"{self._owner}: {what} has shape {m.geom.data_shape}, expected {ref.data_shape}"
            )
        if ref is not None and axis_name == "energy" and "energy" in ref.axes.names:
            mine = m.geom.axes["energy"].edges
            theirs = ref.axes["energy"].edges
            try:
                same = np.allclose(mine.to_value(theirs.unit), theirs.value, rtol=1e-6, atol=0)
            except u.UnitConversionError:
                same = False
            if not same:
                raise DatasetError(
                    f"{self._owner}: the energy axis of {what} (edges {mine}) differs from the "
                    f"dataset's (edges {theirs})"
                )
        return m

    def _invalidate(self):
        self._state = None

    # --------------------------------------------------------------- content
    @property
    def counts(self):
        """Counts map (`~fluxfit.maps.WcsNDMap`)."""
        return self._counts

    @counts.setter
    def counts(self, value):
        self._counts = None
        self._counts = self._check_map(value, "counts")
        if value is not None and np.any(np.asarray(value.data) < 0):
            raise DatasetError(f"{self._owner}: counts has negative values")
        self._invalidate()

    @property
    def exposure(self):
        """Exposure map in true energy (`~fluxfit.maps.WcsNDMap`)."""
        return self._exposure

    @exposure.setter
    def exposure(self, value):
        if value is not None:
            if "energy_true" not in value.geom.axes.names and "energy" in value.geom.axes.names:
                value = value.copy(geom=value.geom.rename_axes(["energy"], ["energy_true"]))
            value = self._check_map(value, "exposure", "energy_true")
            try:
                value.unit.to(_EXPOSURE_UNIT)
            except u.UnitConversionError:
                raise DatasetError(
                    f"{self._owner}: exposure unit {value.unit} is not an area x time"
                ) from None
            ref = self._geom_or_none()
            if ref is not None and value.geom.data_shape[-2:] != ref.data_shape[-2:]:
                raise DatasetError(
                    f"{self._owner}: exposure has {value.geom.data_shape[-2:]} pixels, "
                    f"counts {ref.data_shape[-2:]}"
                )
        self._exposure = value
        self._invalidate()

    @property
    def background(self):
        """Background map (before the background model), or None."""
        return self._background

    @background.setter
    def background(self, value):
        self._background = self._check_map(value, "background")
        self._invalidate()

    @property
    def psf(self):
        return self._psf

    @psf.setter
    def psf(self, value):
        if value is not None and not isinstance(value, PSFMap | PSFKernel):
            raise DatasetError(f"{self._owner}: psf must be a PSFMap or PSFKernel, got {value!r}")
        self._psf = value
        self._invalidate()

    @property
    def edisp(self):
        return self._edisp

    @edisp.setter
    def edisp(self, value):
        if value is not None and not isinstance(value, EDispKernelMap | EDispMap):
            raise DatasetError(
                f"{self._owner}: edisp must be an EDispKernelMap or EDispMap, got {value!r}"
            )
        self._edisp = value
        self._invalidate()

    def _as_mask(self, value, what):
        if value is None:
            return None
        if isinstance(value, Map):
            value = self._check_map(value, what)
            if value.data.dtype != bool:
                value = value.copy(data=np.asarray(value.data).astype(bool))
            return value
        geom = self._geom_or_none()
        data = np.asarray(value).astype(bool)
        if geom is None or data.shape != geom.data_shape:
            raise DatasetError(
                f"{self._owner}: {what} must be a Map or an array of the counts shape"
            )
        return Map.from_geom(geom, data=data, dtype=bool)

    @property
    def mask_safe(self):
        """Bins usable at all (bool map), or None (all)."""
        return self._mask_safe

    @mask_safe.setter
    def mask_safe(self, value):
        self._mask_safe = self._as_mask(value, "mask_safe")
        self._invalidate()

    @property
    def mask_fit(self):
        """Bins to fit (bool map), or None (all safe bins)."""
        return self._mask_fit

    @mask_fit.setter
    def mask_fit(self, value):
        self._mask_fit = self._as_mask(value, "mask_fit")
        self._invalidate()

    @property
    def mask(self):
        """``mask_safe & mask_fit`` (bool map), or None when neither is set."""
        if self._mask_safe is None and self._mask_fit is None:
            return None
        if self._mask_safe is None:
            return self._mask_fit
        if self._mask_fit is None:
            return self._mask_safe
        return self._mask_safe.copy(data=self._mask_safe.data & self._mask_fit.data)

    def _mask_data(self):
        mask = self.mask
        if mask is None:
            return np.ones(self.data_shape, dtype=bool)
        return np.asarray(mask.data, dtype=bool)

    @property
    def mask_image(self):
        """Pixels with any fitted energy bin (bool image)."""
        data = self._mask_data().any(axis=tuple(range(len(self.data_shape) - 2)))
        return Map.from_geom(self._geom.to_image(), data=data, dtype=bool)

    @property
    def mask_safe_image(self):
        """Pixels with any safe energy bin (bool image), or None."""
        if self._mask_safe is None:
            return None
        data = self._mask_safe.data.any(axis=tuple(range(len(self.data_shape) - 2)))
        return Map.from_geom(self._geom.to_image(), data=data, dtype=bool)

    @property
    def integration(self) -> str:
        return self._integration

    @integration.setter
    def integration(self, value):
        if value not in ("exact", "gammapy"):
            raise DatasetError(f"{self._owner}: integration must be 'exact' or 'gammapy'")
        self._integration = value
        self._invalidate()

    # -------------------------------------------------------------- geometry
    @property
    def _geom(self) -> WcsGeom:
        geom = self._geom_or_none()
        if geom is None:
            raise DatasetError(f"{self._owner}: no counts, background or mask")
        return geom

    @property
    def geoms(self) -> dict:
        """Geometries of the maps: ``geom``, ``geom_exposure``, ``geom_psf``, ``geom_edisp``."""
        geoms = {"geom": self._geom}
        if self._exposure is not None:
            geoms["geom_exposure"] = self._exposure.geom
        if isinstance(self._psf, PSFMap):
            geoms["geom_psf"] = self._psf.psf_map.geom
        if self._edisp is not None:
            geoms["geom_edisp"] = self._edisp.edisp_map.geom
        return geoms

    @property
    def data_shape(self) -> tuple:
        return self._geom.data_shape

    @property
    def energy_axis(self) -> MapAxis:
        return self._geom.axes["energy"]

    @property
    def energy_axis_true(self) -> MapAxis:
        if self._exposure is None:
            return self.energy_axis.copy(name="energy_true")
        return self._exposure.geom.axes["energy_true"]

    @property
    def excess(self):
        """Counts minus background (before the background model)."""
        return self._counts - self._background

    # ----------------------------------------------------------------- cache
    def _on_models_changed(self) -> None:
        self._state = None

    def _prepare(self) -> _FitState:
        state = _FitState()
        shape = self.data_shape
        if len(shape) != 3:
            raise DatasetError(f"{self._owner}: only (energy, lat, lon) cubes are supported")
        mask = self._mask_data()
        flat = np.flatnonzero(mask.ravel())
        fit_index = np.full(mask.size, -1, dtype=np.int64)
        fit_index[flat] = np.arange(flat.size)
        state.flat = flat
        state.fit_index = fit_index.reshape(shape)
        counts = (
            np.zeros(mask.size) if self._counts is None else np.asarray(self._counts.data, float)
        )
        state.counts = np.ascontiguousarray(counts.ravel()[flat])
        n_pix = shape[-2] * shape[-1]
        state.energy_index = flat // n_pix
        nz = np.flatnonzero(state.counts > 0)
        nz_index = np.full(flat.size, -1, dtype=np.int64)
        nz_index[nz] = np.arange(nz.size)
        state.nz = nz
        state.counts_nz = np.ascontiguousarray(state.counts[nz])
        state.energy_nz = state.energy_index[nz]
        edges = self.energy_axis.edges.to_value("TeV")
        state.energy_center = np.sqrt(edges[:-1] * edges[1:])
        state.background = (
            None
            if self._background is None
            else np.asarray(self._background.data, dtype=float).ravel()[flat]
        )
        if state.background is not None:
            state.bkg_nz = state.background[nz]
            state.bkg_sum = np.bincount(
                state.energy_index, weights=state.background, minlength=shape[0]
            )
        else:
            state.bkg_nz = None
            state.bkg_sum = None
        state.bkg_norm = None
        state.bkg_model = None
        state.bkg_params = []
        state.bkg_key = None
        state.evaluators = {}
        state.context = None
        if self._exposure is not None:
            exposure = self._exposure.quantity.to_value(_EXPOSURE_UNIT)
            exposure = np.nan_to_num(np.asarray(exposure, dtype=float))
            integrator = SpectralIntegrator(
                self.energy_axis_true.edges.to_value("TeV"), self._integration
            )
            state.context = MapContext(
                geom=self._geom,
                exposure_geom=self._exposure.geom,
                exposure=exposure,
                psf=self._psf,
                edisp=self._edisp,
                fit_index=state.fit_index,
                integrator=integrator,
                gti=self.gti,
                nz_index=nz_index,
            )
        for model in self.models:
            if model.type == "FoVBackgroundModel":
                state.bkg_model = model
                state.bkg_params = list(model.parameters)
            elif state.context is not None:
                state.evaluators[model.name] = MapEvaluator(model, state.context)
        self._state = state
        return state

    def _fit_state(self) -> _FitState:
        return self._state or self._prepare()

    # ------------------------------------------------------------ prediction
    def _background_norm(self, state, overrides=None):
        """Background model values per reconstructed-energy bin, or None."""
        model = state.bkg_model
        if model is None:
            return None
        return model.spectral_model.dnde_array(state.energy_center, overrides)

    def _background_fit(self, state, overrides=None):
        """Background counts in the fitted bins (None without background)."""
        if state.background is None:
            return None
        if state.bkg_model is None:
            return state.background
        if overrides is None:
            norm = self._cached_norm(state)
        else:
            norm = np.asarray(self._background_norm(state, overrides), dtype=float)
        return state.background * norm[..., state.energy_index]

    def _npred_fit(self, overrides=None):
        """Total predicted counts in the fitted bins: (n_fit,) or (k, n_fit)."""
        state = self._fit_state()
        background = self._background_fit(state, overrides)
        parts = []
        for evaluator in state.evaluators.values():
            values, target = evaluator.npred_fit(overrides)
            if values is not None:
                parts.append((values, target))
        n_fit = state.counts.size
        if not parts:
            return np.zeros(n_fit) if background is None else background
        lead = np.broadcast_shapes(
            *(v.shape[:-1] for v, _ in parts),
            () if background is None else np.shape(background)[:-1],
        )
        if len(parts) == 1 and parts[0][1] is None and parts[0][0].shape[:-1] == lead:
            values = parts[0][0]
            return values if background is None else values + background
        total = np.zeros(lead + (n_fit,))
        if background is not None:
            total += background
        for values, target in parts:
            if target is None:
                total += values
            else:
                total[..., target] += values
        return total

    def npred_background(self):
        """Background counts after the background model (`~fluxfit.maps.WcsNDMap`)."""
        geom = self._geom
        if self._background is None:
            return Map.from_geom(geom, dtype=float)
        data = np.array(self._background.data, dtype=float)
        state = self._fit_state()
        norm = self._background_norm(state)
        if norm is not None:
            data = data * np.asarray(norm)[:, None, None]
        return Map.from_geom(geom, data=data, dtype=float)

    def npred_signal(self, model_names=None, stack: bool = True):
        """Predicted counts of the sky models (all, or those named).

        With ``stack=False`` a list of maps, one per model.
        """
        state = self._fit_state()
        names = list(state.evaluators) if model_names is None else model_names
        if isinstance(names, str):
            names = [names]
        maps = []
        total = np.zeros(self.data_shape)
        for name in names:
            if name not in state.evaluators:
                raise DatasetError(
                    f"{self._owner}: no sky model named {name!r}; have {list(state.evaluators)}"
                )
            cube, slices = state.evaluators[name].npred_cube()
            data = np.zeros(self.data_shape)
            if cube is not None:
                data[(Ellipsis, *slices)] += cube
            total += data
            maps.append(Map.from_geom(self._geom, data=data, dtype=float))
        if stack:
            return Map.from_geom(self._geom, data=total, dtype=float)
        return maps

    def npred(self):
        """Total predicted counts (signal + background, negative values set to 0)."""
        data = self.npred_signal().data + self.npred_background().data
        data[data < 0] = 0.0
        return Map.from_geom(self._geom, data=data, dtype=float)

    # ------------------------------------------------------------- statistic
    def _cached_norm(self, state):
        """Background-model values per energy bin at the current parameters (cached)."""
        key = tuple(p.value_from(None) for p in state.bkg_params)
        if key != state.bkg_key or state.bkg_norm is None:
            state.bkg_norm = np.asarray(self._background_norm(state), dtype=float)
            state.bkg_key = key
        return state.bkg_norm

    def _cash(self, state, overrides=None):
        """Cash statistic from the fitted bins with counts and the summed prediction.

        ``2 (sum(npred) - sum_{n > 0} n ln npred)`` over the fitted bins, with npred
        truncated at 1e-25 where it enters the logarithm (Gammapy's convention; bins
        without counts add their npred, which is >= 0).
        """
        if state.background is not None:
            if state.bkg_model is None:
                mu_nz, total = state.bkg_nz, state.bkg_sum.sum()
            else:
                norm = (
                    self._cached_norm(state)
                    if overrides is None
                    else np.asarray(self._background_norm(state, overrides), dtype=float)
                )
                mu_nz = state.bkg_nz * norm[..., state.energy_nz]
                total = norm @ state.bkg_sum
        else:
            mu_nz, total = np.zeros(state.counts_nz.size), 0.0
        for evaluator in state.evaluators.values():
            values, target, summed = evaluator.stat_terms(overrides)
            if values is None:
                continue
            total = total + summed
            if target is None:
                mu_nz = mu_nz + values
            else:
                lead = np.broadcast_shapes(mu_nz.shape[:-1], values.shape[:-1])
                mu_nz = np.array(np.broadcast_to(mu_nz, lead + mu_nz.shape[-1:]))
                mu_nz[..., target] += values
        log_mu = np.log(np.maximum(mu_nz, TRUNCATION_VALUE))
        return 2.0 * (total - log_mu @ state.counts_nz)

    def stat_sum(self) -> float:
        state = self._fit_state()
        if state.counts.size == 0:
            return 0.0
        return float(self._cash(state))

    def stat_sum_batch(self, overrides) -> np.ndarray:
        state = self._fit_state()
        if state.counts.size == 0:
            return np.zeros(1)
        k = max((np.shape(v)[0] for v in overrides.values() if np.ndim(v)), default=1)
        rows = max(1, _BATCH_ELEMENTS // max(state.counts_nz.size, 1))
        if k <= rows:
            return np.atleast_1d(self._cash(state, overrides))
        out = np.empty(k)
        for start in range(0, k, rows):
            stop = min(k, start + rows)
            chunk = {
                p: (v[start:stop] if np.ndim(v) and np.shape(v)[0] == k else v)
                for p, v in overrides.items()
            }
            out[start:stop] = self._cash(state, chunk)
        return out

    def stat_array(self):
        """Cash statistic per bin (all bins) as a map."""
        counts = np.zeros(self.data_shape) if self._counts is None else self._counts.data
        data = cash(np.asarray(counts, float), self.npred().data, check=False)
        return Map.from_geom(self._geom, data=data, dtype=float)

    def residuals(self, method: str = "diff"):
        """Residual map: "diff", "diff/model" or "diff/sqrt(model)" (NaN outside the mask)."""
        npred = self.npred().data
        counts = np.asarray(self._counts.data, dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            if method == "diff":
                data = counts - npred
            elif method == "diff/model":
                data = (counts - npred) / npred
            elif method == "diff/sqrt(model)":
                data = (counts - npred) / np.sqrt(npred)
            else:
                raise DatasetError(f"residuals: unknown method {method!r}")
        mask = self.mask
        if mask is not None:
            data = np.where(mask.data, data, np.nan)
        return Map.from_geom(self._geom, data=data, dtype=float)

    def info_dict(self, in_safe_data_range: bool = True) -> dict:
        """Summary numbers (counts, background, excess, npred, exposure, bins, statistic)."""
        mask = (
            np.asarray(self._mask_safe.data, bool)
            if (self._mask_safe is not None and in_safe_data_range)
            else slice(None)
        )
        info = {"name": self.name}
        counts = np.asarray(self._counts.data, float) if self._counts is not None else None
        info["counts"] = float(counts[mask].sum()) if counts is not None else np.nan
        background = self.npred_background().data
        info["background"] = float(background[mask].sum())
        info["excess"] = info["counts"] - info["background"]
        npred_signal = self.npred_signal().data
        info["npred"] = float((npred_signal + background)[mask].sum())
        info["npred_background"] = info["background"]
        info["npred_signal"] = float(npred_signal[mask].sum())
        if self._exposure is not None:
            exposure = self._exposure.quantity.to_value(_EXPOSURE_UNIT)
            info["exposure_min"] = float(np.min(exposure))
            info["exposure_max"] = float(np.max(exposure))
        info["n_bins"] = int(np.prod(self.data_shape))
        info["n_fit_bins"] = int(self._mask_data().sum())
        info["stat_type"] = self.stat_type
        info["stat_sum"] = self.stat_sum() if self._counts is not None else np.nan
        return info

    def __str__(self) -> str:
        lines = [f"{type(self).__name__}", "-" * len(type(self).__name__), ""]
        for key, value in self.info_dict().items():
            text = f"{value:.6g}" if isinstance(value, float) else f"{value}"
            lines.append(f"  {key:<20}: {text}")
        lines.append(f"  {'models':<20}: {self.models.names}")
        return "\n".join(lines)

    # ------------------------------------------------------------ simulation
    def fake(self, random_state=None) -> None:
        """Replace the counts by a Poisson realisation of `npred`."""
        npred = np.nan_to_num(self.npred().data, nan=0.0, posinf=0.0, neginf=0.0)
        data = _rng(random_state).poisson(npred).astype(float)
        self.counts = Map.from_geom(self._geom, data=data, dtype=float)

    # ---------------------------------------------------------------- copies
    def _init_kwargs(self) -> dict:
        return {
            "counts": self._counts,
            "exposure": self._exposure,
            "background": self._background,
            "psf": self._psf,
            "edisp": self._edisp,
            "mask_safe": self._mask_safe,
            "mask_fit": self._mask_fit,
            "gti": self.gti,
            "name": self.name,
            "meta": dict(self.meta),
            "meta_table": self.meta_table,
            "integration": self._integration,
        }

    def copy(self, name: str | None = None) -> MapDataset:
        """A copy with copied maps (IRF maps shared); models are re-assigned, not copied."""
        kwargs = self._init_kwargs()
        for key in ("counts", "exposure", "background", "mask_safe", "mask_fit"):
            if kwargs[key] is not None:
                kwargs[key] = kwargs[key].copy()
        kwargs["name"] = name or self.name
        new = type(self)(**kwargs)
        new.models = self.models
        return new

    # ---------------------------------------------------------------- create
    @classmethod
    def create(
        cls,
        geom,
        energy_axis_true=None,
        migra_axis=None,
        rad_axis=None,
        binsz_irf=None,
        name: str = "dataset",
        **kwargs,
    ) -> MapDataset:
        """An empty dataset on ``geom`` (zero counts, background and exposure; safe mask
        all False, as Gammapy's, so that datasets can be stacked into it).

        The energy dispersion defaults to the overlap of true and reconstructed bins;
        with ``rad_axis`` a zero PSF map on a ``binsz_irf`` (default 0.2 deg) grid is made.
        """
        if energy_axis_true is None:
            energy_axis_true = geom.axes["energy"].copy(name="energy_true")
        energy_axis_true = energy_axis_true.copy(name="energy_true")
        geom_exposure = geom.to_image().to_cube([energy_axis_true])
        kwargs.setdefault("counts", Map.from_geom(geom, dtype=float))
        kwargs.setdefault("background", Map.from_geom(geom, dtype=float))
        kwargs.setdefault("exposure", Map.from_geom(geom_exposure, unit="m2 s", dtype=float))
        kwargs.setdefault("mask_safe", Map.from_geom(geom, dtype=bool))
        if "edisp" not in kwargs:
            kwargs["edisp"] = EDispKernelMap.from_diagonal_response(
                geom.axes["energy"], energy_axis_true
            )
        if rad_axis is not None and "psf" not in kwargs:
            binsz = 0.2 if binsz_irf is None else float(binsz_irf)
            irf_geom = WcsGeom.create(
                skydir=geom.center_skydir,
                binsz=binsz,
                width=tuple(geom.width.to_value("deg")),
                proj=geom.projection,
                frame=geom.frame,
            )
            psf_geom = irf_geom.to_cube([rad_axis.copy(name="rad"), energy_axis_true])
            exp_geom = irf_geom.to_cube([rad_axis.copy(name="rad").squash(), energy_axis_true])
            kwargs["psf"] = PSFMap(
                Map.from_geom(psf_geom, unit="sr-1", dtype=float),
                Map.from_geom(exp_geom, unit="m2 s", dtype=float),
            )
        if migra_axis is not None:
            log.warning("MapDataset.create: migra_axis is ignored (kernel dispersion maps only)")
        return cls(name=name, **kwargs)

    # ------------------------------------------------------------ operations
    def slice_by_idx(self, slices: dict, name: str | None = None) -> MapDataset:
        """A dataset with the non-spatial axes sliced (``{"energy": slice(1, 3)}``;
        keys not on a map are ignored for that map)."""
        from fluxfit.datasets.map_ops import slice_dataset

        return slice_dataset(self, slices, name)

    def slice_by_energy(self, energy_min=None, energy_max=None, name: str | None = None):
        """Reconstructed-energy bins between ``energy_min`` and ``energy_max`` (edges snapped)."""
        edges = self.energy_axis.edges
        lo = 0 if energy_min is None else int(np.argmin(np.abs(edges - u.Quantity(energy_min))))
        hi = (
            edges.size - 1
            if energy_max is None
            else int(np.argmin(np.abs(edges - u.Quantity(energy_max))))
        )
        return self.slice_by_idx({"energy": slice(lo, hi)}, name=name)

    def downsample(self, factor: int, axis_name: str | None = None, name: str | None = None):
        """A coarser dataset: spatial pixels (default) or ``axis_name`` bins grouped by
        ``factor``; counts and background summed inside the safe mask (Gammapy)."""
        from fluxfit.datasets.map_ops import downsample_dataset

        return downsample_dataset(self, factor, axis_name, name)

    def cutout(self, position, width, mode: str = "trim", name: str | None = None):
        """A dataset cut out around ``position`` (IRF maps kept whole)."""
        from fluxfit.datasets.map_ops import cutout_dataset

        return cutout_dataset(self, position, width, mode, name)

    def stack(self, other: MapDataset, name: str | None = None) -> MapDataset:
        """A new dataset: ``self`` with ``other`` stacked in (Gammapy's rules: counts and
        background of ``other`` inside its safe mask, exposure where it has safe pixels,
        IRFs exposure-weighted, masks OR-ed)."""
        from fluxfit.datasets.map_ops import stack_datasets

        return stack_datasets(self, other, name)

    # -------------------------------------------------------------- regions
    def to_spectrum_dataset(self, on_region, containment_correction: bool = False, name=None):
        """`~fluxfit.datasets.SpectrumDataset` of the counts in ``on_region``.

        Counts and background are summed over the safe pixels, the exposure averaged
        over the region and the dispersion taken at its centre (Gammapy). Unlike
        Gammapy 2.1 a safe mask that is not uniform inside the region is allowed:
        each reconstructed bin's dispersion row is scaled by the fraction of the
        region's exposure in its safe pixels, so that predicted and observed counts
        cover the same pixels (identical to Gammapy when the mask is uniform).
        """
        from fluxfit.datasets.map_reduce import to_spectrum_datasets

        return to_spectrum_datasets(
            self, [on_region], containment_correction=containment_correction, names=[name]
        )[0]

    def to_spectrum_datasets(self, regions, containment_correction: bool = False, names=None):
        """`to_spectrum_dataset` for many regions at once (one sparse product per map)."""
        from fluxfit.datasets.map_reduce import to_spectrum_datasets

        return to_spectrum_datasets(
            self, regions, containment_correction=containment_correction, names=names
        )

    def reduce_regions(self, regions, containment_correction: bool = False):
        """Arrays of the region spectra (see `fluxfit.datasets.map_reduce.reduce_regions`)."""
        from fluxfit.datasets.map_reduce import reduce_regions

        return reduce_regions(self, regions, containment_correction=containment_correction)

    # ------------------------------------------------------------------- I/O
    @classmethod
    def read(cls, filename, name: str | None = None, checksum: bool = False, **kwargs):
        """Read a dataset FITS file in the Gammapy layout (name from the NAME keyword)."""
        from fluxfit.datasets.map_io import read_map_dataset

        return read_map_dataset(filename, name=name, checksum=checksum, **kwargs)

    @classmethod
    def from_hdulist(cls, hdulist, name: str | None = None, **kwargs):
        from fluxfit.datasets.map_io import map_dataset_from_hdulist

        return map_dataset_from_hdulist(hdulist, name=name, **kwargs)

    def to_hdulist(self):
        from fluxfit.datasets.map_io import map_dataset_to_hdulist

        return map_dataset_to_hdulist(self)

    def write(self, filename, overwrite: bool = False, checksum: bool = False) -> None:
        """Write the dataset as one FITS file in the Gammapy layout."""
        from fluxfit.datasets.map_io import write_map_dataset

        write_map_dataset(self, filename, overwrite=overwrite, checksum=checksum)

    def to_dict(self) -> dict:
        """The datasets-YAML entry: name, type and ``<name>.fits``."""
        return {"name": self.name, "type": self.tag, "filename": f"{self.name}.fits"}

    @classmethod
    def from_dict(cls, data: dict, **kwargs) -> MapDataset:
        """From a datasets-YAML entry (``filename`` already resolved)."""
        for key in ("name", "filename"):
            if key not in data:
                raise DatasetError(f"MapDataset.from_dict: missing key {key!r} in {data}")
        return cls.read(data["filename"], name=data["name"], **kwargs)
