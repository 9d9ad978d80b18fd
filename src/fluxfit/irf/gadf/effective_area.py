"""`EffectiveAreaTable2D`: effective area versus true energy and field-of-view offset (aeff_2d)."""

from __future__ import annotations

import astropy.units as u
import numpy as np

from .core import GadfIRF

__all__ = ["EffectiveAreaTable2D"]


class EffectiveAreaTable2D(GadfIRF):
    """Offset-dependent effective area (GADF ``aeff_2d``: ENERG_LO/HI, THETA_LO/HI, EFFAREA).

    Axes ``energy_true`` (log interpolation) and ``offset`` (linear); data in m2 (any area
    unit). `evaluate` interpolates between bin centres exactly as Gammapy 2.1.

    Examples
    --------
    >>> import numpy as np
    >>> from fluxfit.maps import MapAxis
    >>> from fluxfit.irf.gadf import EffectiveAreaTable2D
    >>> energy = MapAxis.from_energy_bounds("0.1 TeV", "100 TeV", 3, name="energy_true")
    >>> offset = MapAxis.from_edges([0, 1, 2], unit="deg", name="offset")
    >>> aeff = EffectiveAreaTable2D([energy, offset], data=np.full((3, 2), 1e5), unit="m2")
    >>> aeff.evaluate(energy_true="1 TeV", offset="0.5 deg")
    <Quantity 100000. m2>
    """

    tag = "aeff_2d"
    required_axes = ("energy_true", "offset")
    default_unit = u.m**2
    data_columns = ("EFFAREA", "SPECRESP")
    hduclas2 = "EFF_AREA"
    hduclas4 = "AEFF_2D"
    default_extname = "EFFECTIVE AREA"

    @property
    def max_area(self) -> u.Quantity:
        """Largest tabulated effective area."""
        return np.nanmax(self.quantity)

    def evaluate_area(self, energy_true, offset) -> np.ndarray:
        """Effective area in m2 (float64 ndarray) at true energies and offsets (fast path)."""
        values = self.evaluate_values(energy_true=energy_true, offset=offset)
        factor = self.unit.to(u.m**2)
        return values * factor if factor != 1 else values
