"""Reading GADF DL3 IRFs by HDU class: the registry and whole-file loading (CTA CALDB files).

Examples
--------
>>> from fluxfit.irf.gadf import IRF_REGISTRY
>>> IRF_REGISTRY["aeff_2d"].__name__
'EffectiveAreaTable2D'
"""

from __future__ import annotations

from fluxfit.errors import FormatError

from ._fits import FitsTable, find_table_hdu, open_fits
from .background import Background2D, Background3D
from .edisp import EnergyDispersion2D
from .effective_area import EffectiveAreaTable2D
from .psf import PSF3Gauss, PSFTable

__all__ = ["IRF_REGISTRY", "HDUCLAS4_TO_CLASS", "read_irf", "load_irf_dict_from_file"]

#: GADF ``HDU_CLASS`` (HDU index) -> IRF class.
IRF_REGISTRY = {
    "aeff_2d": EffectiveAreaTable2D,
    "edisp_2d": EnergyDispersion2D,
    "psf_table": PSFTable,
    "psf_3gauss": PSF3Gauss,
    "bkg_3d": Background3D,
    "bkg_2d": Background2D,
}

#: ``HDUCLAS4`` header keyword -> (IRF type, class).
HDUCLAS4_TO_CLASS = {
    "AEFF_2D": ("aeff", EffectiveAreaTable2D),
    "EDISP_2D": ("edisp", EnergyDispersion2D),
    "PSF_TABLE": ("psf", PSFTable),
    "PSF_3GAUSS": ("psf", PSF3Gauss),
    "BKG_3D": ("bkg", Background3D),
    "BKG_2D": ("bkg", Background2D),
}


def read_irf(filename, hdu, hdu_class, obs_id=None):
    """Read the IRF of GADF class ``hdu_class`` (e.g. ``"aeff_2d"``) from ``filename[hdu]``."""
    try:
        cls = IRF_REGISTRY[hdu_class]
    except KeyError:
        raise FormatError(
            f"file '{filename}', HDU {hdu!r}"
            + (f" (obs_id {obs_id})" if obs_id is not None else "")
            + f": unsupported HDU_CLASS {hdu_class!r}, supported: {sorted(IRF_REGISTRY)}"
        ) from None
    return cls.read(filename, hdu=hdu, obs_id=obs_id)


def load_irf_dict_from_file(filename) -> dict:
    """All IRFs of a file, keyed ``aeff``, ``edisp``, ``psf``, ``bkg`` (by their ``HDUCLAS4``).

    This reads IRF files such as the CTA CALDB ones (``EFFECTIVE AREA``, ``ENERGY DISPERSION``,
    ``POINT SPREAD FUNCTION``, ``BACKGROUND``), for simulations.
    """
    irfs = {}
    with open_fits(filename) as hdulist:
        for index in range(1, len(hdulist)):
            table_hdu = find_table_hdu(hdulist, index, filename)
            hduclas4 = str(table_hdu.header.get("HDUCLAS4", "")).strip().upper()
            if hduclas4 not in HDUCLAS4_TO_CLASS:
                continue
            kind, cls = HDUCLAS4_TO_CLASS[hduclas4]
            irfs[kind] = cls.from_fits_table(FitsTable(table_hdu, filename=filename))
    if not irfs:
        raise FormatError(
            f"file '{filename}': no IRF HDU found (no HDUCLAS4 among {sorted(HDUCLAS4_TO_CLASS)})"
        )
    return irfs
