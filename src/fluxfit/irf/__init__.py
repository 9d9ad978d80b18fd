"""fluxfit.irf: instrument responses.

- `EnergyDispersionMatrix`: true-energy bins -> channels (OGIP RMF), dense or sparse.
- `EffectiveArea`: effective area per true-energy bin (OGIP ARF).
- `SpectralResponse`: exposure * effective area * redistribution, folded in one product.
- `FoldingMatrix`: the dense/sparse matrix product underneath (`fluxfit.irf.folding`).

OGIP files are read and written by `fluxfit.datasets.ogip`.
"""

from fluxfit.irf.folding import FoldingMatrix, choose_storage
from fluxfit.irf.response import EffectiveArea, EnergyDispersionMatrix, SpectralResponse

__all__ = [
    "EffectiveArea",
    "EnergyDispersionMatrix",
    "FoldingMatrix",
    "SpectralResponse",
    "choose_storage",
]
