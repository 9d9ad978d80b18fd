"""`EnergyDispersion2D`: migration probability density versus true energy and offset (edisp_2d).

The redistribution matrix for a spectrum (`EnergyDispersion2D.to_edisp_kernel`) is computed
exactly as Gammapy 2.1 does in ``make_edisp_kernel_map`` (used by ``SpectrumDatasetMaker``):

1. the migration pdf is interpolated at the offset, at the centres of the requested true-energy
   bins and at the centres of the file's migration bins;
2. each row is normalised to unit integral over migration (``sum(pdf * dmigra) = 1``);
3. the cumulative integral over migration, tabulated at the migration bin edges, is
   interpolated linearly at ``migra = E_reco_edge / E_true_centre`` (0 below the first edge,
   the total above the last);
4. the kernel is the difference between consecutive reconstructed-energy edges, clipped at 0,
   with values below ``threshold`` (1e-8) set to 0.

Rows therefore sum to at most 1: the probability of landing inside the reconstructed-energy
range.
"""

from __future__ import annotations

import astropy.units as u
import numpy as np
from scipy.special import erf

from fluxfit.errors import DatasetError, UnitError
from fluxfit.irf.response import EnergyDispersionMatrix
from fluxfit.maps import MapAxes, MapAxis

from .core import GadfIRF

__all__ = ["EnergyDispersion2D"]


def _energy_axis(value, name, what):
    if isinstance(value, MapAxis):
        return value
    try:
        edges = u.Quantity(value)
    except TypeError:
        raise DatasetError(f"{what}: expected a MapAxis or energy edges, got {value!r}") from None
    if not edges.unit.is_equivalent(u.TeV):
        raise UnitError(f"{what}: edges unit {edges.unit} is not an energy unit")
    return MapAxis.from_energy_edges(edges, name=name)


def _angle_deg(value, what) -> float | np.ndarray:
    if isinstance(value, str):
        value = u.Quantity(value)
    if isinstance(value, u.Quantity):
        try:
            return value.to_value(u.deg)
        except u.UnitConversionError:
            raise UnitError(f"{what}: offset unit {value.unit} is not an angle") from None
    return np.asarray(value, dtype=np.float64)


def interp_rows(x, xp, fp):
    """Row-wise ``np.interp(x[i], xp, fp[i])`` for 2-D ``x`` and ``fp`` (clamped at the ends)."""
    x = np.asarray(x, dtype=np.float64)
    idx = np.clip(np.searchsorted(xp, x, side="right") - 1, 0, len(xp) - 2)
    x0, x1 = xp[idx], xp[idx + 1]
    weight = np.clip((x - x0) / (x1 - x0), 0.0, 1.0)
    rows = np.arange(fp.shape[0])[:, np.newaxis]
    return fp[rows, idx] * (1.0 - weight) + fp[rows, idx + 1] * weight


class EnergyDispersion2D(GadfIRF):
    """Offset-dependent energy dispersion (GADF ``edisp_2d``).

    Axes ``energy_true`` (log), ``migra`` (E_reco / E_true, linear) and ``offset`` (linear);
    dimensionless probability density per unit migration.

    Examples
    --------
    >>> import numpy as np
    >>> from fluxfit.maps import MapAxis
    >>> from fluxfit.irf.gadf import EnergyDispersion2D
    >>> energy_true = MapAxis.from_energy_bounds("0.1 TeV", "100 TeV", 30, name="energy_true")
    >>> migra = MapAxis.from_bounds(0.2, 5, 240, name="migra")
    >>> offset = MapAxis.from_edges([0, 1, 2], unit="deg", name="offset")
    >>> edisp = EnergyDispersion2D.from_gauss(energy_true, migra, offset, bias=0, sigma=0.1)
    >>> kernel = edisp.to_edisp_kernel("0.5 deg", energy_true.edges, energy_true.edges)
    >>> kernel.shape
    (30, 30)
    >>> bool(np.all(kernel.to_dense().sum(axis=1) <= 1 + 1e-12))
    True
    """

    tag = "edisp_2d"
    required_axes = ("energy_true", "migra", "offset")
    default_unit = u.one
    data_columns = ("MATRIX",)
    hduclas2 = "EDISP"
    hduclas4 = "EDISP_2D"
    default_extname = "ENERGY DISPERSION"

    def _mask_out_bounds(self, invalid):
        names = self.axes.names
        energy = invalid[names.index("energy_true")]
        migra = invalid[names.index("migra")]
        offset = invalid[names.index("offset")]
        return (energy & migra) | offset

    @classmethod
    def from_gauss(cls, energy_axis_true, migra_axis, offset_axis, bias, sigma, pdf_threshold=1e-6):
        """Gaussian migration pdf (mean ``1 + bias``, width ``sigma``), flat in offset.

        ``bias`` and ``sigma`` are floats or arrays over the true-energy bins.
        """
        axes = MapAxes([energy_axis_true, migra_axis, offset_axis])
        edges = migra_axis.edges.value
        migra_min, migra_max = edges[:-1][np.newaxis, :], edges[1:][np.newaxis, :]
        bias = np.reshape(np.asarray(bias, dtype=float), (-1, 1))
        sigma = np.reshape(np.asarray(sigma, dtype=float), (-1, 1))
        scale = np.sqrt(2) * sigma
        pdf = (erf((migra_max - 1 - bias) / scale) - erf((migra_min - 1 - bias) / scale)) / 2
        pdf = pdf / (migra_max - migra_min)
        pdf = np.broadcast_to(pdf, (energy_axis_true.nbin, migra_axis.nbin))
        data = pdf[:, :, np.newaxis] * np.ones(axes.shape)
        data[data < pdf_threshold] = 0
        return cls(axes, data=data)

    def normalize(self):
        """Normalise the pdf in place to unit integral over migration (where non-zero)."""
        width = self.axes["migra"].bin_width.value[np.newaxis, :, np.newaxis]
        total = np.sum(self.data * width, axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            self._data = np.nan_to_num(self.data / total)
        self._cache = {}

    def migration_pdf(self, offset, energy_true) -> np.ndarray:
        """Normalised migration pdf at the migration bin centres, shape ``(n_energy, n_migra)``.

        Steps 1 and 2 of the kernel computation (see the module docstring).
        """
        offset = _angle_deg(offset, "EnergyDispersion2D")
        energy_unit = self.axes["energy_true"].unit
        energy_true = u.Quantity(energy_true, energy_unit).to_value(energy_unit)
        migra_axis = self.axes["migra"]
        pdf = self.evaluate_values(
            offset=offset,
            energy_true=np.asarray(energy_true, dtype=float)[:, np.newaxis],
            migra=migra_axis.center.value[np.newaxis, :],
        )
        width = migra_axis.bin_width.value
        total = np.max(np.cumsum(pdf * width, axis=1), axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.nan_to_num(pdf / total)

    def kernel_values(self, offset, energy_axis_true, energy_axis, threshold=1e-8) -> np.ndarray:
        """The redistribution probabilities, ndarray ``(n_true, n_reco)`` (see `to_edisp_kernel`)."""
        energy_axis_true = _energy_axis(energy_axis_true, "energy_true", "to_edisp_kernel")
        energy_axis = _energy_axis(energy_axis, "energy", "to_edisp_kernel")
        energy_true = energy_axis_true.center
        pdf = self.migration_pdf(offset, energy_true)
        migra_axis = self.axes["migra"]
        width = migra_axis.bin_width.value
        cumulative = np.zeros((pdf.shape[0], pdf.shape[1] + 1))
        np.cumsum(pdf * width, axis=1, out=cumulative[:, 1:])
        reco_edges = energy_axis.edges.to_value(energy_true.unit)
        migra = reco_edges[np.newaxis, :] / energy_true.value[:, np.newaxis]
        values = interp_rows(migra, migra_axis.edges.value, cumulative)
        data = np.clip(np.diff(values, axis=1), 0.0, np.inf)
        data[data < threshold] = 0.0
        return data

    def to_edisp_kernel(
        self, offset, energy_axis_true=None, energy_axis=None, threshold=1e-8
    ) -> EnergyDispersionMatrix:
        """Redistribution matrix from true-energy bins to reconstructed-energy bins.

        Parameters
        ----------
        offset : `~astropy.coordinates.Angle` or `~astropy.units.Quantity` or str
            Field-of-view offset of the source.
        energy_axis_true : `~fluxfit.maps.MapAxis` or `~astropy.units.Quantity`, optional
            True-energy bins (axis or edges); default the IRF's own true-energy axis.
        energy_axis : `~fluxfit.maps.MapAxis` or `~astropy.units.Quantity`, optional
            Reconstructed-energy bins (axis or edges); default the true-energy axis of the IRF.
        threshold : float
            Probabilities below this are set to zero (Gammapy's default 1e-8).

        Returns
        -------
        kernel : `~fluxfit.irf.EnergyDispersionMatrix`
            Shape ``(n_true, n_reco)``; rows sum to <= 1.
        """
        if energy_axis_true is None:
            energy_axis_true = self.axes["energy_true"]
        if energy_axis is None:
            energy_axis = self.axes["energy_true"].copy(name="energy")
        energy_axis_true = _energy_axis(energy_axis_true, "energy_true", "to_edisp_kernel")
        energy_axis = _energy_axis(energy_axis, "energy", "to_edisp_kernel")
        data = self.kernel_values(offset, energy_axis_true, energy_axis, threshold=threshold)
        return EnergyDispersionMatrix(energy_axis_true.edges, energy_axis.edges, data)
