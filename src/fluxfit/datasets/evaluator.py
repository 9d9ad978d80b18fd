"""`MapEvaluator`: predicted counts of one sky model in a map dataset.

For each model the dataset keeps one evaluator. It follows Gammapy 2.1's
``MapEvaluator`` so that the numbers agree:

1. the model is evaluated on a cutout of the exposure around its position,
   ``psf_width + 2 (evaluation_radius + 0.1 deg)`` wide (odd number of pixels;
   the whole map for models without an evaluation radius);
2. the spatial model is integrated over the cutout pixels (`integrate_geom`),
   convolved with the PSF kernel at the model position (one kernel image per
   true-energy bin, `fluxfit.irf.kernels.PSFMap.get_psf_kernel`), multiplied by the
   exposure and by the spectral model integrated over each true-energy bin;
3. the energy dispersion matrix at the model position maps true-energy bins to
   reconstructed-energy bins.

What does not change between calls is cached. The IRF kernels, the cutout and its
pixel grid are computed again only when the model moves by more than its
evaluation radius + 0.1 deg (Gammapy's rule). For the current spatial parameters
the evaluator keeps the *response* ``R[t, q]``: the counts in fitted bin ``q`` per
unit flux in true-energy bin ``t`` (spatial integral x PSF x exposure x
dispersion, restricted to the fitted bins). A call with unchanged spatial
parameters then costs one spectral integral and one ``(n_true,) @ (n_true, n_fit)``
product; a batch of ``k`` spectral parameter sets one ``(k, n_true) @ (n_true, n_fit)``
product. Batches that vary spatial parameters are evaluated per parameter set.
"""

from __future__ import annotations

import numpy as np
from astropy import units as u
from astropy.nddata.utils import NoOverlapError

from fluxfit.errors import DatasetError

__all__ = [
    "MapEvaluator",
    "MapContext",
    "CUTOUT_MARGIN_DEG",
    "SpectralIntegrator",
    "edisp_matrix_at",
]

#: Margin added around a model's evaluation radius (Gammapy's ``CUTOUT_MARGIN``).
CUTOUT_MARGIN_DEG = 0.1


# ---------------------------------------------------------------------------- spectra
class _LogLogTrapezoid:
    """Gammapy's ``integrate_spectrum``: log-log trapezoids on ``ndecade`` nodes per decade.

    Every bin gets ``max(ndecade * log10(hi / lo))`` nodes (the same number for all
    bins, as Gammapy does), integrated as piecewise power laws.
    """

    def __init__(self, energy_min, energy_max, ndecade: int = 100):
        energy_min = np.asarray(energy_min, dtype=float)
        energy_max = np.asarray(energy_max, dtype=float)
        num = int(np.maximum(np.max(ndecade * np.log10(energy_max / energy_min)), 2))
        self._grid = np.geomspace(energy_min, energy_max, num=num, axis=-1)  # (n_bins, num)
        self.nodes = self._grid.ravel()
        self._shape = self._grid.shape

    def integrate(self, values):
        values = np.asarray(values, dtype=float)
        values = values.reshape(values.shape[:-1] + self._shape)
        x1, x2 = self._grid[:, :-1], self._grid[:, 1:]
        y1, y2 = values[..., :-1], values[..., 1:]
        tiny = np.finfo(float).tiny
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            index = -np.log(np.clip(y1 / y2, tiny, None)) / np.log(x1 / x2)
            index = np.where(np.isnan(index), np.inf, index)
            val = 1.0 - index
            integral = y1 * x1 / val * ((x2 / x1) ** val - 1.0)
            flat = np.isclose(val, 0.0)
            if np.any(flat):
                integral = np.where(flat, y1 * x1 * np.log(x2 / x1), integral)
        integral = np.nan_to_num(integral, nan=0.0, posinf=0.0, neginf=0.0)
        return integral.sum(axis=-1)


class SpectralIntegrator:
    """Integrals of spectral models over fixed true-energy bins (TeV), nodes precomputed.

    Parameters
    ----------
    energy_edges : array
        Bin edges in TeV.
    method : {"exact", "gammapy"}
        "exact": closed forms where the model has one, else Gauss-Legendre nodes
        in ln E (relative accuracy < 1e-9); "gammapy": Gammapy's log-log
        trapezoids with 100 nodes per decade for models without a closed form
        (to reproduce its numbers; ~4e-6 relative for a curved log-parabola).
    """

    def __init__(self, energy_edges, method: str = "exact"):
        from fluxfit.models.spectral.integrate import LogQuadrature

        if method not in ("exact", "gammapy"):
            raise DatasetError(f"integration must be 'exact' or 'gammapy', got {method!r}")
        edges = np.asarray(energy_edges, dtype=float)
        self.lo, self.hi = edges[:-1], edges[1:]
        self.method = method
        if method == "gammapy":
            self.quad = _LogLogTrapezoid(self.lo, self.hi)
        else:
            self.quad = LogQuadrature(self.lo, self.hi)

    def __call__(self, model, overrides=None):
        """Flux (cm-2 s-1) per bin: shape (n_bins,), or (k, n_bins) for a batch."""
        if model._has_closed_form("integral") and type(model).integral_array is _base_integral():
            return model.integral_array(self.lo, self.hi, overrides)
        smooth = np.size(model._fixed_breaks()) == 0 and model._parameter_breaks(overrides) is None
        if not smooth or type(model).integral_array is not _base_integral():
            if self.method == "gammapy" and smooth:
                return self.quad.integrate(model.dnde_array(self.quad.nodes, overrides))
            return model.integral_array(self.lo, self.hi, overrides)
        return self.quad.integrate(model.dnde_array(self.quad.nodes, overrides))


def _base_integral():
    from fluxfit.models.spectral.core import SpectralModel

    return SpectralModel.integral_array


# ---------------------------------------------------------------------------- context
class MapContext:
    """What evaluators share: geometry, exposure, IRFs, the fit mask (built by the dataset).

    Attributes
    ----------
    geom : `~fluxfit.maps.WcsGeom`
        Counts geometry (reconstructed energy).
    exposure_geom : `~fluxfit.maps.WcsGeom`
        Exposure geometry (true energy).
    exposure : array (n_true, ny, nx)
        Exposure in cm2 s.
    psf : `~fluxfit.irf.kernels.PSFMap`, `~fluxfit.irf.kernels.PSFKernel` or None
    edisp : `~fluxfit.irf.kernels.EDispKernelMap`, `EDispMap` or None
    fit_index : array (n_reco, ny, nx) of int
        Position of each bin in the vector of fitted bins, -1 where not fitted.
    nz_index : array (n_fit,) of int
        Position of each fitted bin in the vector of fitted bins with counts, -1 for
        bins without counts (the Cash statistic needs ln(npred) only there).
    integrator : `SpectralIntegrator`
    gti : GTI container or None
    """

    def __init__(
        self, geom, exposure_geom, exposure, psf, edisp, fit_index, integrator, gti, nz_index=None
    ):
        self.geom = geom
        self.nz_index = nz_index
        self.n_nz = 0 if nz_index is None else int(np.count_nonzero(nz_index >= 0))
        self.exposure_geom = exposure_geom
        self.exposure = exposure
        self.psf = psf
        self.edisp = edisp
        self.fit_index = fit_index
        self.integrator = integrator
        self.gti = gti
        self._single_kernel = None
        self._diagonal = None

    @property
    def energy_true_edges(self):
        return self.exposure_geom.axes["energy_true"].edges

    @property
    def energy_edges(self):
        return self.geom.axes["energy"].edges

    def diagonal(self):
        if self._diagonal is None:
            from fluxfit.irf.kernels import diagonal_edisp_matrix

            self._diagonal = diagonal_edisp_matrix(self.energy_true_edges, self.energy_edges)
        return self._diagonal

    def psf_kernel(self, position):
        """PSF kernel for a model at ``position`` (None: no PSF)."""
        from fluxfit.irf.kernels import PSFKernel

        psf = self.psf
        if psf is None:
            return None
        if isinstance(psf, PSFKernel):
            return psf
        if psf.has_single_spatial_bin:
            if self._single_kernel is None:
                # Gammapy: one kernel at the exposure centre when the PSF has one spatial bin
                self._single_kernel = psf.get_psf_kernel(
                    self.exposure_geom, position=self.exposure_geom.center_skydir
                )
            return self._single_kernel
        return psf.get_psf_kernel(self.exposure_geom, position=position)

    def edisp_matrix(self, position):
        """Dispersion matrix (n_true, n_reco) at ``position``."""
        if self.edisp is None:
            return self.diagonal()
        return edisp_matrix_at(
            self.edisp, position, self.geom.axes["energy"], self.exposure_geom.axes["energy_true"]
        )

    def temporal_norm(self, temporal_model, overrides=None):
        """Mean of the temporal model over the GTIs (Gammapy's ``compute_temporal_norm``)."""
        gti = self.gti
        if gti is None or np.size(gti.start) == 0:
            return 1.0
        t_start, t_stop = _gti_mjd(gti)
        integral = temporal_model.integral_array(t_start, t_stop, overrides)
        return np.sum(integral, axis=-1, keepdims=np.ndim(integral) > 1) / np.sum(t_stop - t_start)


def edisp_matrix_at(edisp, position, energy_axis, energy_axis_true):
    """Dispersion matrix (n_true, n_reco) of a dataset's ``edisp`` at ``position``.

    ``edisp`` is an `~fluxfit.irf.kernels.EDispKernelMap`, an `EDispMap` or None
    (true bins mapped to reconstructed bins by overlap).
    """
    from fluxfit.irf.kernels import EDispKernelMap, EDispMap, diagonal_edisp_matrix

    if edisp is None:
        return diagonal_edisp_matrix(energy_axis_true.edges, energy_axis.edges)
    if isinstance(edisp, EDispKernelMap):
        matrix = edisp.get_edisp_kernel(position)
    elif isinstance(edisp, EDispMap):
        matrix = edisp.get_edisp_kernel(energy_axis, position)
    else:
        matrix = np.asarray(edisp, dtype=float)
    expected = (energy_axis_true.nbin, energy_axis.nbin)
    if matrix.shape != expected:
        raise DatasetError(
            f"energy dispersion matrix has shape {matrix.shape}, expected (n_true, n_reco) = "
            f"{expected}"
        )
    return matrix


def _gti_mjd(gti):
    """GTI start/stop in MJD (TT assumed when TIMESYS is TT, else as given)."""
    header = getattr(gti, "header", {}) or {}
    mjdref = float(header.get("MJDREFI", 0.0)) + float(header.get("MJDREFF", 0.0))
    if "MJDREF" in header and "MJDREFI" not in header:
        mjdref = float(header["MJDREF"])
    return mjdref + np.asarray(gti.start) / 86400.0, mjdref + np.asarray(gti.stop) / 86400.0


# ------------------------------------------------------------------------- evaluator
class _Support:
    """Cutout, IRFs and fitted-bin bookkeeping for one model position."""

    __slots__ = (
        "contributes",
        "edisp",
        "exposure",
        "grid",
        "kernel",
        "local",
        "n_nz",
        "nz_cols",
        "nz_full",
        "nz_target",
        "position",
        "reco",
        "shape",
        "slices",
        "target",
    )


class MapEvaluator:
    """Predicted counts of one `~fluxfit.models.SkyModel` in a map dataset.

    Parameters
    ----------
    model : `~fluxfit.models.SkyModel`
        The model (spectral x optional spatial x optional temporal).
    context : `MapContext`
        The dataset's geometry, exposure, IRFs and fit mask.
    """

    def __init__(self, model, context: MapContext):
        self.model = model
        self.context = context
        self._support: _Support | None = None
        self._spatial_key = None
        self._spatial_cube = None  # (n_true, h*w): convolved spatial x exposure
        self._response = None  # (n_true, n_fit_in_cutout)
        self._response_nz = None  # (n_true, n_nz or n_nz_in_cutout)
        self._response_sum = None  # (n_true,)
        spatial = model.spatial_model
        self._spatial_params = [] if spatial is None else list(spatial.parameters)
        self._all_params = list(model.parameters)
        self._terms_key = None
        self._terms = None

    # ------------------------------------------------------------ support
    def _spatial_values(self):
        return tuple(p.value_from(None) for p in self._spatial_params)

    def _position(self):
        spatial = self.model.spatial_model
        if spatial is None or not getattr(spatial, "_has_position", False):
            return None
        lon, lat = spatial.position_lonlat
        return (lon, lat, spatial.frame)

    def _radius_deg(self):
        spatial = self.model.spatial_model
        if spatial is None:
            return None
        radius = spatial.evaluation_radius
        return None if radius is None else float(u.Quantity(radius, "deg").value)

    def _needs_update(self):
        support = self._support
        if support is None:
            return True
        position = self._position()
        if position is None or support.position is None:
            return False
        radius = self._radius_deg()
        if radius is None:
            return False
        from fluxfit.irf.kernels import _separation_deg

        separation = _separation_deg(position[0], position[1], *support.position[:2])
        return bool(separation > radius + CUTOUT_MARGIN_DEG)

    def _update(self):
        from fluxfit.models.spatial import SkyPixelGrid

        ctx = self.context
        support = _Support()
        position = self._position()
        support.position = position
        radius = self._radius_deg()
        spatial = self.model.spatial_model
        kernel = (
            ctx.psf_kernel(
                _skycoord(position) if position is not None else ctx.exposure_geom.center_skydir
            )
            if spatial is not None
            else None
        )
        support.kernel = kernel
        edisp_position = (
            _skycoord(position) if position is not None else ctx.exposure_geom.center_skydir
        )
        support.edisp = ctx.edisp_matrix(edisp_position)
        ny, nx = ctx.exposure.shape[-2:]
        if position is not None and radius is not None:
            psf_width = 0.0 if kernel is None else kernel.width_deg
            width = psf_width + 2.0 * (radius + CUTOUT_MARGIN_DEG)
            try:
                geom, slices, _ = ctx.exposure_geom._cutout2d(
                    _skycoord(position), width * u.deg, mode="trim", odd_npix=True
                )
            except NoOverlapError:  # the model is off the map: it contributes nothing
                geom, slices = None, None
        else:
            geom, slices = ctx.exposure_geom, (slice(0, ny), slice(0, nx))
        if slices is None:
            support.contributes = False
            self._support = support
            self._spatial_key = None
            return
        sy, sx = slices
        support.slices = (sy, sx)
        h, w = sy.stop - sy.start, sx.stop - sx.start
        support.shape = (h, w)
        support.grid = SkyPixelGrid(geom.wcs, (h, w))
        support.exposure = ctx.exposure[:, sy, sx].reshape(ctx.exposure.shape[0], h * w)
        index = ctx.fit_index[:, sy, sx].reshape(ctx.fit_index.shape[0], h * w)
        reco, local = np.nonzero(index >= 0)
        support.reco = reco
        support.local = local
        support.target = index[reco, local]
        nz_index = ctx.nz_index[support.target]
        support.nz_cols = np.flatnonzero(nz_index >= 0)
        support.nz_target = nz_index[support.nz_cols]
        support.n_nz = ctx.n_nz
        support.nz_full = bool(support.nz_cols.size > 0.5 * ctx.n_nz)
        support.contributes = bool(reco.size)
        self._support = support
        self._spatial_key = None

    # ---------------------------------------------------------- evaluation
    def _spatial_cube_for(self, overrides=None):
        """Spatial integral x PSF x exposure on the cutout, (n_true, h*w) or (k, n_true, h*w)."""
        support = self._support
        ctx = self.context
        spatial = self.model.spatial_model
        n_true = ctx.exposure.shape[0]
        h, w = support.shape
        if spatial is None:
            return support.exposure
        energy = None
        if spatial.is_energy_dependent:
            edges = u.Quantity(ctx.energy_true_edges).to_value("TeV")
            energy = np.sqrt(edges[:-1] * edges[1:])
        values = self._integrate_spatial(spatial, support.grid, overrides, energy)
        if energy is None:
            values = values[..., None, :, :]  # one image for all true-energy bins
        if support.kernel is not None:
            values = support.kernel.convolve(values)
        else:
            values = np.broadcast_to(values, values.shape[:-3] + (n_true, h, w))
        values = values.reshape(values.shape[:-2] + (h * w,))
        return values * support.exposure

    def _integrate_spatial(self, spatial, grid, overrides, energy):
        """``integrate_geom`` on the cutout; for a batch, rows are grouped by their own
        oversampling factor so that each row equals its single evaluation."""
        if overrides is None or not self._spatial_in_overrides(overrides):
            values = spatial.integrate_geom(grid, overrides=overrides, energy=energy)
            return np.asarray(values, dtype=float)
        k = max(np.shape(overrides[p])[0] for p in self._spatial_params if p in overrides)
        rows = [
            {
                p: (v[i : i + 1] if np.ndim(v) and np.shape(v)[0] == k else v)
                for p, v in overrides.items()
            }
            for i in range(k)
        ]
        factors = np.array([spatial.oversampling_factor(grid, row) for row in rows])
        if np.all(factors == factors[0]):
            values = spatial.integrate_geom(
                grid, oversampling_factor=int(factors[0]), overrides=overrides, energy=energy
            )
            return np.asarray(values, dtype=float)
        out = None
        for factor in np.unique(factors):
            idx = np.flatnonzero(factors == factor)
            group = {
                p: (v[idx] if np.ndim(v) and np.shape(v)[0] == k else v)
                for p, v in overrides.items()
            }
            values = np.asarray(
                spatial.integrate_geom(
                    grid, oversampling_factor=int(factor), overrides=group, energy=energy
                ),
                dtype=float,
            )
            if out is None:
                out = np.empty((k,) + values.shape[1:])
            out[idx] = values
        return out

    def _responses(self, cube):
        """Responses from a cutout cube: counts per unit true-energy flux.

        Returns ``(selected, nonzero, total)``: in the fitted bins of the cutout
        (..., n_true, n_sel), in the fitted bins with counts (..., n_true, n_nz_sel; the
        whole vector of such bins, zeros elsewhere, when the cutout holds most of
        them) and summed over all fitted bins (..., n_true).
        """
        support = self._support
        selected = cube[..., :, support.local] * support.edisp[:, support.reco]
        total = selected.sum(axis=-1)
        nonzero = selected[..., support.nz_cols]
        if support.nz_full:
            full = np.zeros(nonzero.shape[:-1] + (support.n_nz,))
            full[..., support.nz_target] = nonzero
            nonzero = full
        return selected, nonzero, total

    def _spatial_in_overrides(self, overrides):
        return overrides is not None and any(p in overrides for p in self._spatial_params)

    def _ensure(self):
        """Update the support and the cached responses for the current spatial parameters."""
        key = self._spatial_values()
        if key == self._spatial_key and self._support is not None:
            return
        if self._needs_update():
            self._update()
        if not self._support.contributes:
            self._spatial_key = key
            return
        cube = self._spatial_cube_for()
        self._spatial_cube = cube
        self._response, self._response_nz, self._response_sum = self._responses(cube)
        self._spatial_key = key

    def flux(self, overrides=None):
        """Flux per true-energy bin (cm-2 s-1), shape (n_true,) or (k, n_true)."""
        flux = self.context.integrator(self.model.spectral_model, overrides)
        if self.model.temporal_model is not None:
            flux = flux * self.context.temporal_norm(self.model.temporal_model, overrides)
        return flux

    @staticmethod
    def _apply(flux, response):
        """``flux`` (..., n_true) times ``response`` (..., n_true, n) -> (..., n)."""
        if response.ndim == 2:
            return flux @ response
        return np.einsum("...t,...tq->...q", flux, response)

    def _rows_outside_support(self, overrides):
        """True when some batch row moves the model beyond the cutout's validity
        (evaluation radius + 0.1 deg from where the IRF kernels were taken)."""
        support = self._support
        spatial = self.model.spatial_model
        if support is None or support.position is None or not spatial._has_position:
            return False
        from fluxfit.irf.kernels import _separation_deg

        p = spatial.canonical_values(overrides)
        radius = spatial._radius_deg(p)
        if radius is None:
            return False
        lon, lat = np.broadcast_arrays(np.ravel(p["lon_0"]), np.ravel(p["lat_0"]))
        separation = _separation_deg(lon, lat, *support.position[:2])
        return bool(np.any(separation > np.ravel(radius) + CUTOUT_MARGIN_DEG))

    def _row_by_row(self, overrides, func):
        """Evaluate ``func`` one batch row at a time with the spatial parameters set to
        the row's values (support and kernels updated as for a single call), then
        restore the parameters and the caches."""
        k = max(np.shape(v)[0] for v in overrides.values() if np.ndim(v))
        saved_values = {p: p._value for p in self._spatial_params}
        saved_state = (
            self._support,
            self._spatial_key,
            self._spatial_cube,
            self._response,
            self._response_nz,
            self._response_sum,
            self._terms_key,
            self._terms,
        )
        rows = []
        try:
            for i in range(k):
                row = {
                    p: (v[i : i + 1] if np.ndim(v) and np.shape(v)[0] == k else v)
                    for p, v in overrides.items()
                }
                for par in self._spatial_params:
                    if par in row:
                        par._value = float(np.ravel(row.pop(par))[0])
                rows.append(func(row))
        finally:
            for par, value in saved_values.items():
                par._value = value
            (
                self._support,
                self._spatial_key,
                self._spatial_cube,
                self._response,
                self._response_nz,
                self._response_sum,
                self._terms_key,
                self._terms,
            ) = saved_state
        return rows

    def stat_terms(self, overrides=None):
        """What the Cash statistic needs from this model.

        Returns
        -------
        values : array (n,) or (k, n), or None when the model does not contribute
            Predicted counts in the fitted bins with counts.
        target : array of int or None
            Their positions in the dataset's vector of such bins (None: all of them).
        total : float or array (k,)
            Predicted counts summed over all fitted bins.
        """
        if overrides is None:
            key = tuple(p.value_from(None) for p in self._all_params)
            if key == self._terms_key:
                return self._terms
            self._terms = self._stat_terms()
            self._terms_key = key
            return self._terms
        return self._stat_terms(overrides)

    def _stat_terms(self, overrides=None):
        self._ensure()
        if self._spatial_in_overrides(overrides) and self._rows_outside_support(overrides):
            rows = self._row_by_row(overrides, self._stat_terms_full)
            return _stack_terms(rows, self.context.n_nz)
        return self._stat_terms_full(overrides)

    def _stat_terms_full(self, overrides=None):
        """`stat_terms` for one support (no row splitting)."""
        self._ensure()
        support = self._support
        if not support.contributes:
            return None, None, 0.0
        flux = self.flux(overrides)
        target = None if support.nz_full else support.nz_target
        if self._spatial_in_overrides(overrides):
            _, nonzero, total = self._responses(self._spatial_cube_for(overrides))
        else:
            nonzero, total = self._response_nz, self._response_sum
        flux = np.asarray(flux)
        if total.ndim == 1:
            return flux @ nonzero, target, flux @ total
        return self._apply(flux, nonzero), target, np.einsum("...t,...t->...", flux, total)

    def npred_fit(self, overrides=None):
        """Predicted counts in the fitted bins of the cutout and their positions.

        Returns
        -------
        values : array (n,) or (k, n), or None when the model does not contribute
        target : array of int (n,)
            Positions in the dataset's vector of fitted bins.
        """
        self._ensure()
        if self._spatial_in_overrides(overrides) and self._rows_outside_support(overrides):
            n_fit = int(np.count_nonzero(self.context.fit_index >= 0))
            rows = self._row_by_row(overrides, self.npred_fit)
            out = np.zeros((len(rows), n_fit))
            for i, (values, target) in enumerate(rows):
                if values is not None:
                    out[i, target] += np.reshape(values, (-1,))
            return out, np.arange(n_fit)
        support = self._support
        if not support.contributes:
            return None, None
        flux = self.flux(overrides)
        if self._spatial_in_overrides(overrides):
            response = self._responses(self._spatial_cube_for(overrides))[0]
        else:
            response = self._response
        return self._apply(flux, response), support.target

    def npred_cube(self):
        """Predicted counts on the cutout, (n_reco, h, w), and the cutout slices."""
        self._ensure()
        support = self._support
        if support.slices is None:
            return None, None
        if self._spatial_key is None:
            cube = self._spatial_cube_for()
        else:
            cube = self._spatial_cube
        flux = np.asarray(self.flux(), dtype=float)
        true_counts = cube * flux[:, None]
        reco = support.edisp.T @ true_counts
        return reco.reshape((reco.shape[0],) + support.shape), support.slices

    def reset(self):
        self._terms_key = None
        self._terms = None
        self._support = None
        self._spatial_key = None
        self._spatial_cube = None
        self._response = None
        self._response_nz = None
        self._response_sum = None


def _stack_terms(rows, n_nz):
    """Stack per-row ``(values, target, total)`` into batch arrays over all bins with counts."""
    values = np.zeros((len(rows), n_nz))
    totals = np.zeros(len(rows))
    for i, (row_values, target, total) in enumerate(rows):
        totals[i] = np.ravel(total)[0] if np.ndim(total) else total
        if row_values is None:
            continue
        row_values = np.reshape(row_values, (-1,))
        if target is None:
            values[i] += row_values
        else:
            values[i, target] += row_values
    return values, None, totals


def _skycoord(position):
    from astropy.coordinates import SkyCoord

    lon, lat, frame = position
    return SkyCoord(lon, lat, unit="deg", frame=frame)
