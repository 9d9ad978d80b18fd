"""Spectral responses: redistribution matrix, effective area, and their product.

- `EnergyDispersionMatrix`: probabilities that a photon in true-energy bin ``i``
  lands in channel ``j`` (an OGIP RMF), or, for an RSP file, those
  probabilities already multiplied by the effective area (cm2).
- `EffectiveArea`: the effective area per true-energy bin (an OGIP ARF).
- `SpectralResponse`: ``exposure * area[:, None] * matrix``, computed once, that
  turns integrated photon fluxes per true-energy bin (cm-2 s-1) into predicted
  counts per channel.

Energies are kept as given (value and unit, e.g. keV from a file) so that
writing reproduces a file bit for bit; float64 copies in TeV
(``energy_true_edges_tev``, ``energy_edges_tev``) are computed once for the
computations. Arrays without a unit are taken to be in TeV.

Examples
--------
>>> import numpy as np, astropy.units as u
>>> from fluxfit.irf.response import EffectiveArea, EnergyDispersionMatrix, SpectralResponse
>>> edges = [1, 2, 4] * u.TeV
>>> edisp = EnergyDispersionMatrix(edges, edges, np.eye(2))
>>> aeff = EffectiveArea(edges, [1e4, 2e4] * u.cm**2)
>>> SpectralResponse(edisp, aeff, exposure=10.0).fold(np.array([1e-4, 1e-4]))
array([10., 20.])
"""

from __future__ import annotations

import astropy.units as u
import numpy as np

from fluxfit.errors import DatasetError, UnitError
from fluxfit.irf.folding import FoldingMatrix

__all__ = [
    "NORMALISATION_ATOL",
    "EnergyDispersionMatrix",
    "EffectiveArea",
    "SpectralResponse",
]

#: Tolerance on row sums of a redistribution matrix (float32 files sum to 1 +- 1e-7).
NORMALISATION_ATOL = 1e-5


def _energy_edges(edges, name: str) -> u.Quantity:
    """Validated 1-D strictly increasing float64 energy edges (unitless -> TeV)."""
    if isinstance(edges, u.Quantity):
        quantity = u.Quantity(edges, dtype=np.float64, copy=True)
    else:
        quantity = u.Quantity(np.array(edges, dtype=np.float64), u.TeV)
    if not quantity.unit.is_equivalent(u.TeV):
        raise UnitError(f"{name}: unit '{quantity.unit}' is not an energy unit")
    if quantity.ndim != 1 or quantity.size < 2:
        raise DatasetError(f"{name}: expected 1-D edges with >= 2 values, got {quantity.shape}")
    values = quantity.value
    if not np.all(np.isfinite(values)):
        raise DatasetError(f"{name}: non-finite edge {values[~np.isfinite(values)][0]}")
    steps = np.diff(values)
    if np.any(steps <= 0):
        index = int(np.argmax(steps <= 0))
        raise DatasetError(
            f"{name}: edges must increase strictly, but edge {index + 1} "
            f"({values[index + 1]} {quantity.unit}) <= edge {index} ({values[index]})"
        )
    quantity.setflags(write=False)
    return quantity


def _to_tev(quantity: u.Quantity) -> np.ndarray:
    if quantity.unit == u.TeV:
        values = np.array(quantity.value)
    else:
        values = quantity.to_value(u.TeV)
    values.setflags(write=False)
    return values


class EnergyDispersionMatrix:
    """Redistribution from true-energy bins to reconstructed-energy channels.

    Parameters
    ----------
    energy_true_edges : `~astropy.units.Quantity`
        Edges of the ``n_true`` true-energy bins (ENERG_LO/ENERG_HI of an RMF).
    energy_edges : `~astropy.units.Quantity`
        Edges of the ``n_chan`` channels (E_MIN/E_MAX of EBOUNDS).
    matrix : array-like or scipy sparse matrix
        Shape ``(n_true, n_chan)``: probability per channel for each true bin
        (rows sum to <= 1), or, for an RSP, effective area per channel (cm2).
    storage : {"auto", "dense", "sparse"}
        Sparse (`scipy.sparse.csr_matrix`) or dense; ``"auto"`` picks the one
        that folds faster (see `fluxfit.irf.folding.choose_storage`).
    copy : bool
        False hands a float64 CSR ``matrix`` over without a copy (readers use
        it for large matrices); it may be reordered in place.
    """

    def __init__(
        self, energy_true_edges, energy_edges, matrix, storage: str = "auto", copy: bool = True
    ):
        self._energy_true_edges = _energy_edges(energy_true_edges, "energy_true_edges")
        self._energy_edges = _energy_edges(energy_edges, "energy_edges")
        if isinstance(matrix, FoldingMatrix):
            folding = matrix
        else:
            folding = FoldingMatrix(matrix, storage, copy=copy)
        expected = (self._energy_true_edges.size - 1, self._energy_edges.size - 1)
        if folding.shape != expected:
            raise DatasetError(
                f"matrix shape {folding.shape} does not match (n_true, n_chan) = {expected} "
                "from the energy edges"
            )
        self._folding = folding
        self._energy_true_edges_tev = None
        self._energy_edges_tev = None

    # -- axes --------------------------------------------------------------------------------
    @property
    def energy_true_edges(self) -> u.Quantity:
        """True-energy bin edges, as given (read-only)."""
        return self._energy_true_edges

    @property
    def energy_edges(self) -> u.Quantity:
        """Channel (reconstructed-energy) edges, as given (read-only)."""
        return self._energy_edges

    @property
    def energy_true_edges_tev(self) -> np.ndarray:
        """True-energy bin edges in TeV, float64 (read-only)."""
        if self._energy_true_edges_tev is None:
            self._energy_true_edges_tev = _to_tev(self._energy_true_edges)
        return self._energy_true_edges_tev

    @property
    def energy_edges_tev(self) -> np.ndarray:
        """Channel edges in TeV, float64 (read-only)."""
        if self._energy_edges_tev is None:
            self._energy_edges_tev = _to_tev(self._energy_edges)
        return self._energy_edges_tev

    @property
    def n_true(self) -> int:
        """Number of true-energy bins."""
        return self._folding.shape[0]

    @property
    def n_channels(self) -> int:
        """Number of channels."""
        return self._folding.shape[1]

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_true, n_channels)``."""
        return self._folding.shape

    # -- matrix ------------------------------------------------------------------------------
    @property
    def storage(self) -> str:
        """``"dense"`` or ``"sparse"``."""
        return self._folding.storage

    @property
    def density(self) -> float:
        """Fraction of non-zero elements."""
        return self._folding.density

    @property
    def folding_matrix(self) -> FoldingMatrix:
        """The `FoldingMatrix` holding the values."""
        return self._folding

    @property
    def matrix(self):
        """The matrix as stored (read-only ndarray or shared `scipy.sparse.csr_matrix`)."""
        return self._folding.matrix

    @property
    def pdf_matrix(self) -> np.ndarray:
        """Dense ``(n_true, n_channels)`` array (a new copy, as `to_dense`)."""
        return self._folding.to_dense()

    def to_dense(self) -> np.ndarray:
        """A new dense float64 array ``(n_true, n_channels)``."""
        return self._folding.to_dense()

    def to_csr(self):
        """A new canonical `scipy.sparse.csr_matrix` ``(n_true, n_channels)``."""
        return self._folding.to_csr()

    def fold(self, values, out: np.ndarray | None = None) -> np.ndarray:
        """Fold values per true-energy bin ``(..., n_true)`` into channels ``(..., n_chan)``.

        One matrix product whatever the number of leading (batch) axes.
        """
        return self._folding.fold(values, out=out)

    def slice_channels(self, channels: slice) -> EnergyDispersionMatrix:
        """A new matrix restricted to a contiguous range of channel indices.

        Parameters
        ----------
        channels : slice
            Channel indices (0-based, step 1), e.g. ``slice(3, 40)``.
        """
        if not isinstance(channels, slice):
            raise DatasetError(f"channels must be a slice, got {type(channels).__name__}")
        start, stop, step = channels.indices(self.n_channels)
        if step != 1 or stop <= start:
            raise DatasetError(
                f"channel slice {channels} must select >= 1 contiguous channel of {self.n_channels}"
            )
        return EnergyDispersionMatrix(
            self._energy_true_edges,
            self._energy_edges[start : stop + 1],
            self._folding.column_slice(start, stop),
        )

    # -- normalisation -----------------------------------------------------------------------
    def row_sums(self) -> np.ndarray:
        """Total probability (or area) over channels per true-energy bin."""
        return self._folding.row_sums()

    @property
    def max_value(self) -> float:
        """Largest matrix element; > 1 means the effective area is included (RSP)."""
        return self._folding.max_value()

    def is_normalised(self, atol: float = NORMALISATION_ATOL) -> bool:
        """True if every row sums to <= 1 + ``atol`` (a probability matrix)."""
        sums = self.row_sums()
        return bool(np.all(sums <= 1.0 + atol))

    def check_normalisation(self, atol: float = NORMALISATION_ATOL) -> None:
        """Raise `DatasetError` naming the first true-energy bin whose row sums to > 1."""
        sums = self.row_sums()
        bad = np.flatnonzero(sums > 1.0 + atol)
        if bad.size:
            index = int(bad[0])
            raise DatasetError(
                f"redistribution matrix row {index} (true energy "
                f"{self._energy_true_edges[index]:.6g} - {self._energy_true_edges[index + 1]:.6g})"
                f" sums to {float(sums[index])!r} > 1 + {atol} ({bad.size} rows above 1)"
            )

    def __repr__(self) -> str:
        return (
            f"EnergyDispersionMatrix(n_true={self.n_true}, n_channels={self.n_channels}, "
            f"storage={self.storage!r}, density={self.density:.3g})"
        )


class EffectiveArea:
    """Effective area per true-energy bin (the SPECRESP column of an ARF).

    Parameters
    ----------
    energy_true_edges : `~astropy.units.Quantity`
        Edges of the ``n_true`` true-energy bins.
    area : `~astropy.units.Quantity`
        Effective area per bin (any area unit; unitless values are cm2).
    """

    def __init__(self, energy_true_edges, area):
        self._energy_true_edges = _energy_edges(energy_true_edges, "energy_true_edges")
        if isinstance(area, u.Quantity):
            area = u.Quantity(area, dtype=np.float64, copy=True)
        else:
            area = u.Quantity(np.array(area, dtype=np.float64), u.cm**2)
        if not area.unit.is_equivalent(u.cm**2):
            raise UnitError(f"effective area: unit '{area.unit}' is not an area unit")
        if area.shape != (self._energy_true_edges.size - 1,):
            raise DatasetError(
                f"effective area has shape {area.shape}, expected "
                f"({self._energy_true_edges.size - 1},) from the true-energy edges"
            )
        if not np.all(np.isfinite(area.value)):
            raise DatasetError(
                f"effective area holds a non-finite value {area.value[~np.isfinite(area.value)][0]}"
            )
        area.setflags(write=False)
        self._area = area
        self._area_cm2 = None
        self._energy_true_edges_tev = None

    @property
    def energy_true_edges(self) -> u.Quantity:
        """True-energy bin edges, as given (read-only)."""
        return self._energy_true_edges

    @property
    def energy_true_edges_tev(self) -> np.ndarray:
        """True-energy bin edges in TeV, float64 (read-only)."""
        if self._energy_true_edges_tev is None:
            self._energy_true_edges_tev = _to_tev(self._energy_true_edges)
        return self._energy_true_edges_tev

    @property
    def area(self) -> u.Quantity:
        """Effective area per bin, as given (read-only)."""
        return self._area

    @property
    def area_cm2(self) -> np.ndarray:
        """Effective area per bin in cm2, float64 (read-only)."""
        if self._area_cm2 is None:
            values = (
                np.array(self._area.value)
                if self._area.unit == u.cm**2
                else self._area.to_value(u.cm**2)
            )
            values.setflags(write=False)
            self._area_cm2 = values
        return self._area_cm2

    @property
    def n_true(self) -> int:
        """Number of true-energy bins."""
        return self._area.size

    def __repr__(self) -> str:
        return f"EffectiveArea(n_true={self.n_true}, max={self._area.max():.4g})"


class SpectralResponse:
    """Counts per unit integrated flux: ``exposure * area[:, None] * matrix``.

    The product is computed once (in the storage of ``edisp``); `fold` turns
    integrated photon fluxes per true-energy bin (cm-2 s-1) into predicted
    counts per channel.

    Parameters
    ----------
    edisp : `EnergyDispersionMatrix`
        Redistribution matrix, or an RSP matrix that already includes the
        effective area (then leave ``effective_area`` as None).
    effective_area : `EffectiveArea`, optional
        Effective area on the same true-energy bins. None means the matrix
        already holds the area in cm2 (RSP).
    exposure : float or `~astropy.units.Quantity`
        Exposure time (s if a float).
    energy_rtol : float
        Relative tolerance for the true-energy edges of ``edisp`` and
        ``effective_area`` to be the same (RMF files often store them as float32).
    """

    def __init__(
        self,
        edisp: EnergyDispersionMatrix,
        effective_area: EffectiveArea | None = None,
        exposure=1.0,
        energy_rtol: float = 1e-5,
    ):
        if not isinstance(edisp, EnergyDispersionMatrix):
            raise DatasetError(
                f"edisp must be an EnergyDispersionMatrix, got {type(edisp).__name__}"
            )
        if isinstance(exposure, u.Quantity):
            if not exposure.unit.is_equivalent(u.s):
                raise UnitError(f"exposure: unit '{exposure.unit}' is not a time unit")
            exposure = exposure.to_value(u.s)
        exposure = float(exposure)
        if not np.isfinite(exposure) or exposure < 0:
            raise DatasetError(f"exposure must be a finite time >= 0 s, got {exposure}")
        scale = np.full(edisp.n_true, exposure)
        if effective_area is not None:
            if effective_area.n_true != edisp.n_true:
                raise DatasetError(
                    f"effective area has {effective_area.n_true} true-energy bins, the "
                    f"redistribution matrix {edisp.n_true}"
                )
            edisp_edges = edisp.energy_true_edges_tev
            area_edges = effective_area.energy_true_edges_tev
            if not np.allclose(area_edges, edisp_edges, rtol=energy_rtol, atol=0.0):
                index = int(np.argmax(~np.isclose(area_edges, edisp_edges, rtol=energy_rtol)))
                raise DatasetError(
                    f"true-energy edge {index} differs between effective area "
                    f"({float(area_edges[index])!r} TeV) and redistribution matrix "
                    f"({float(edisp_edges[index])!r} TeV) beyond rtol={energy_rtol}"
                )
            scale = scale * effective_area.area_cm2
        self._edisp = edisp
        self._effective_area = effective_area
        self._exposure = exposure
        self._folding = edisp.folding_matrix.scale_rows(scale)

    @property
    def edisp(self) -> EnergyDispersionMatrix:
        """The redistribution (or RSP) matrix."""
        return self._edisp

    @property
    def effective_area(self) -> EffectiveArea | None:
        """The effective area, or None when the matrix includes it."""
        return self._effective_area

    @property
    def exposure(self) -> float:
        """Exposure in seconds."""
        return self._exposure

    @property
    def energy_true_edges(self) -> u.Quantity:
        """True-energy bin edges (from the matrix)."""
        return self._edisp.energy_true_edges

    @property
    def energy_edges(self) -> u.Quantity:
        """Channel edges."""
        return self._edisp.energy_edges

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_true, n_channels)``."""
        return self._folding.shape

    @property
    def storage(self) -> str:
        """``"dense"`` or ``"sparse"``."""
        return self._folding.storage

    @property
    def matrix(self):
        """Counts per unit integrated flux (cm2 s), as stored (read-only)."""
        return self._folding.matrix

    def to_dense(self) -> np.ndarray:
        """A new dense ``(n_true, n_channels)`` array in cm2 s."""
        return self._folding.to_dense()

    def fold(self, flux, out: np.ndarray | None = None) -> np.ndarray:
        """Counts ``(..., n_chan)`` from integrated fluxes ``(..., n_true)`` in cm-2 s-1."""
        return self._folding.fold(flux, out=out)

    def __repr__(self) -> str:
        return (
            f"SpectralResponse(n_true={self.shape[0]}, n_channels={self.shape[1]}, "
            f"exposure={self._exposure:g} s, storage={self.storage!r}, "
            f"effective_area={'yes' if self._effective_area is not None else 'in matrix'})"
        )
