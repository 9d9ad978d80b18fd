"""fluxfit.irf.gadf: instrument responses in the GADF DL3 format (IACT data).

- `EffectiveAreaTable2D` (``aeff_2d``): effective area versus true energy and offset.
- `EnergyDispersion2D` (``edisp_2d``): migration pdf; `EnergyDispersion2D.to_edisp_kernel`
  gives the `~fluxfit.irf.EnergyDispersionMatrix` of a spectrum exactly as Gammapy computes it.
- `PSFTable` (``psf_table``, alias `PSF3D`) and `PSF3Gauss` (``psf_3gauss``, alias
  `EnergyDependentMultiGaussPSF`): ``containment(rad, ...)`` and ``containment_radius``.
- `Background3D` (``bkg_3d``) and `Background2D` (``bkg_2d``): rates, ``integrate_energy``.
- `IRF_REGISTRY`, `read_irf`, `load_irf_dict_from_file` (whole IRF files, e.g. CTA CALDB).

All read with ``Class.read(filename, hdu=None)`` and write with ``to_table``/``write``; units
come from TUNIT; evaluation is vectorised (`scipy.interpolate.RegularGridInterpolator`) and
follows Gammapy 2.1's interpolation choices; objects pickle (cached interpolators dropped).

Examples
--------
>>> from fluxfit.irf.gadf import EffectiveAreaTable2D
>>> EffectiveAreaTable2D.required_axes
('energy_true', 'offset')
"""

from .background import Background2D, Background3D, BackgroundIRF, integrate_log_log
from .core import GadfIRF
from .edisp import EnergyDispersion2D
from .effective_area import EffectiveAreaTable2D
from .io import IRF_REGISTRY, load_irf_dict_from_file, read_irf
from .psf import PSF3D, RAD_AXIS_DEFAULT, EnergyDependentMultiGaussPSF, PSF3Gauss, PSFTable

__all__ = [
    "Background2D",
    "Background3D",
    "BackgroundIRF",
    "EffectiveAreaTable2D",
    "EnergyDependentMultiGaussPSF",
    "EnergyDispersion2D",
    "GadfIRF",
    "IRF_REGISTRY",
    "PSF3D",
    "PSF3Gauss",
    "PSFTable",
    "RAD_AXIS_DEFAULT",
    "integrate_log_log",
    "load_irf_dict_from_file",
    "read_irf",
]
