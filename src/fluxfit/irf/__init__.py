"""fluxfit.irf: instrument responses.

- `EnergyDispersionMatrix`: true-energy bins -> channels (OGIP RMF), dense or sparse.
- `EffectiveArea`: effective area per true-energy bin (OGIP ARF).
- `SpectralResponse`: exposure * effective area * redistribution, folded in one product.
- `FoldingMatrix`: the dense/sparse matrix product underneath (`fluxfit.irf.folding`).

GADF DL3 IRFs (`fluxfit.irf.gadf`): `EffectiveAreaTable2D`, `EnergyDispersion2D`,
`PSFTable` (`PSF3D`), `PSF3Gauss`, `Background3D`, `Background2D`, `load_irf_dict_from_file`.

OGIP files are read and written by `fluxfit.datasets.ogip`.
"""

from fluxfit.irf.folding import FoldingMatrix, choose_storage
from fluxfit.irf.gadf import (
    IRF_REGISTRY,
    PSF3D,
    Background2D,
    Background3D,
    EffectiveAreaTable2D,
    EnergyDispersion2D,
    PSF3Gauss,
    PSFTable,
    load_irf_dict_from_file,
    read_irf,
)
from fluxfit.irf.kernels import EDispKernelMap, EDispMap, PSFKernel, PSFMap
from fluxfit.irf.response import EffectiveArea, EnergyDispersionMatrix, SpectralResponse

__all__ = [
    "EDispKernelMap",
    "EDispMap",
    "PSFKernel",
    "PSFMap",
    "IRF_REGISTRY",
    "PSF3D",
    "Background2D",
    "Background3D",
    "EffectiveAreaTable2D",
    "EnergyDispersion2D",
    "PSF3Gauss",
    "PSFTable",
    "load_irf_dict_from_file",
    "read_irf",
    "EffectiveArea",
    "EnergyDispersionMatrix",
    "FoldingMatrix",
    "SpectralResponse",
    "choose_storage",
]
