"""FITS I/O of datasets in the Gammapy ("gadf") layout: map datasets and 1-D spectra.

One file per dataset: a primary HDU with the dataset ``NAME``, then one map HDU (+
``<NAME>_BANDS`` table) per content in Gammapy's order -- ``COUNTS``, ``EXPOSURE``,
``BACKGROUND``, ``EDISP`` (+ ``EDISP_EXPOSURE``), ``PSF`` (+ ``PSF_EXPOSURE``),
``MASK_SAFE``, ``MASK_FIT``, ``GTI`` (and ``META_TABLE``). A `MapDataset` uses WCS
maps; a spectrum (`~fluxfit.datasets.SpectrumDataset`, `SpectrumDatasetOnOff`) uses
region maps (binary tables with ``CHANNEL`` and ``DATA``), ON/OFF spectra adding
``COUNTS_OFF``, ``ACCEPTANCE`` and ``ACCEPTANCE_OFF`` instead of ``BACKGROUND``.
This is what Gammapy 2.1's ``Datasets.write`` produces (``Fermi-LAT.fits``,
``pha_obs<name>.fits``) and reads.

Examples
--------
>>> from fluxfit.datasets.map_io import read_spectrum_dataset_gadf
>>> # dataset = read_spectrum_dataset_gadf("wf2_roundtrip/pha_obsHESS.fits")
>>> # dataset.stat_type  -> "wstat"
"""

from __future__ import annotations

from datetime import UTC
from pathlib import Path

import numpy as np
from astropy import units as u
from astropy.io import fits
from astropy.table import Table

from fluxfit._files import check_output
from fluxfit.errors import (
    DatasetError,
    FluxfitError,
    FormatError,
    MissingFileError,
)

__all__ = [
    "read_map_dataset",
    "write_map_dataset",
    "map_dataset_from_hdulist",
    "map_dataset_to_hdulist",
    "read_spectrum_dataset_gadf",
    "write_spectrum_dataset_gadf",
    "spectrum_dataset_from_hdulist",
    "spectrum_dataset_to_hdulist",
    "is_gadf_dataset_file",
    "gti_from_hdu",
    "gti_to_hdu",
]

_GTI_KEYS = ("MJDREFI", "MJDREFF", "MJDREF", "TIMESYS", "TIMEUNIT", "TIMEREF", "TSTART", "TSTOP")


def _creator_header() -> dict:
    from datetime import datetime

    from fluxfit import __version__

    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    return {"CREATOR": f"fluxfit {__version__}", "CREATED": now}


def _open(filename, checksum=False):
    from fluxfit.maps.io import open_fits

    return open_fits(_resolve(filename), checksum=checksum)


def _resolve(filename) -> Path:
    import os

    return Path(os.path.expandvars(str(filename))).expanduser()


def is_gadf_dataset_file(filename) -> bool:
    """True for a Gammapy-layout dataset file (a ``COUNTS_BANDS`` table, no OGIP SPECTRUM)."""
    with _open(filename) as hdulist:
        names = [h.name for h in hdulist]
        return "COUNTS_BANDS" in names and "SPECTRUM" not in names


# ------------------------------------------------------------------------------ GTI
def gti_from_hdu(hdu):
    """`~fluxfit.datasets.GoodTimeIntervals` from a GTI table HDU."""
    from fluxfit.datasets.ogip import GoodTimeIntervals

    data = hdu.data
    start = np.zeros(0) if data is None or len(data) == 0 else np.asarray(data["START"], float)
    stop = np.zeros(0) if data is None or len(data) == 0 else np.asarray(data["STOP"], float)
    header = fits.Header()
    for key in _GTI_KEYS:
        if key in hdu.header:
            header[key] = hdu.header[key]
    return GoodTimeIntervals(start=start, stop=stop, header=header)


def gti_to_hdu(gti) -> fits.BinTableHDU:
    """GTI table HDU (START, STOP in s) with the time reference keywords."""
    start = np.asarray(getattr(gti, "start", []), dtype=float)
    stop = np.asarray(getattr(gti, "stop", []), dtype=float)
    columns = [
        fits.Column(name="START", format="D", unit="s", array=start),
        fits.Column(name="STOP", format="D", unit="s", array=stop),
    ]
    hdu = fits.BinTableHDU.from_columns(columns, name="GTI")
    header = getattr(gti, "header", None) or {}
    for key in _GTI_KEYS:
        if key in header:
            hdu.header[key] = header[key]
    if "MJDREFI" not in hdu.header and "MJDREF" not in hdu.header:
        # Gammapy's default time reference (2000-01-01), needed by its reader
        hdu.header["MJDREFI"] = 51544
        hdu.header["MJDREFF"] = 0.0
    hdu.header.setdefault("TIMESYS", "utc")
    hdu.header["EXTNAME"] = "GTI"
    return hdu


def _gti_livetime(gti):
    if gti is None or np.size(gti.start) == 0:
        return None
    return float(np.sum(np.asarray(gti.stop) - np.asarray(gti.start)))


# ------------------------------------------------------------------------ map dataset
def _read_map(hdulist, name, filename):
    from astropy.io.registry import IORegistryError

    from fluxfit.maps.io import map_from_hdulist

    try:
        return map_from_hdulist(hdulist, hdu=name, filename=str(filename))
    except FluxfitError:
        raise
    except (
        ValueError,
        TypeError,
        KeyError,
        IndexError,
        AttributeError,
        IORegistryError,
        fits.VerifyError,
    ) as exc:
        # damaged content the map reader does not name (an image where a table is expected)
        raise FormatError(
            f"{filename}, HDU {name}: not a readable map ({type(exc).__name__}: {exc})"
        ) from exc


def _dataset_name(hdulist, name, filename):
    if name is not None:
        return name
    header_name = hdulist[0].header.get("NAME")
    if header_name:
        return str(header_name)
    return Path(str(filename)).name.split(".")[0] if filename else "dataset"


def map_dataset_from_hdulist(hdulist, name=None, filename=None, **kwargs):
    """`~fluxfit.datasets.map.MapDataset` from an open HDU list (Gammapy layout)."""
    from fluxfit.datasets.map import MapDataset
    from fluxfit.irf.kernels import EDispKernelMap, EDispMap, PSFMap

    names = [h.name for h in hdulist]
    out = {"name": _dataset_name(hdulist, name, filename)}
    if "COUNTS" in names:
        out["counts"] = _read_map(hdulist, "COUNTS", filename)
    if "EXPOSURE" in names:
        out["exposure"] = _read_map(hdulist, "EXPOSURE", filename)
    if "BACKGROUND" in names:
        out["background"] = _read_map(hdulist, "BACKGROUND", filename)
    if "EDISP" in names:
        edisp = _read_map(hdulist, "EDISP", filename)
        exposure = (
            _read_map(hdulist, "EDISP_EXPOSURE", filename) if ("EDISP_EXPOSURE" in names) else None
        )
        cls = EDispMap if "migra" in edisp.geom.axes.names else EDispKernelMap
        out["edisp"] = cls(edisp, exposure)
    if "PSF" in names:
        psf = _read_map(hdulist, "PSF", filename)
        exposure = (
            _read_map(hdulist, "PSF_EXPOSURE", filename) if ("PSF_EXPOSURE" in names) else None
        )
        out["psf"] = PSFMap(psf, exposure)
    for key in ("MASK_SAFE", "MASK_FIT"):
        if key in names:
            mask = _read_map(hdulist, key, filename)
            out[key.lower()] = mask.copy(data=np.asarray(mask.data).astype(bool))
    if "GTI" in names:
        out["gti"] = gti_from_hdu(hdulist["GTI"])
    if "META_TABLE" in names:
        out["meta_table"] = Table.read(hdulist["META_TABLE"])
    out.update(kwargs)
    return MapDataset(**out)


def read_map_dataset(filename, name=None, checksum=False, **kwargs):
    """Read a `~fluxfit.datasets.map.MapDataset` FITS file (Gammapy layout).

    Parameters
    ----------
    filename : str or Path
        ``$VARIABLES`` are expanded.
    name : str, optional
        Dataset name; default the primary header's ``NAME``, else the file stem.
    checksum : bool
        Verify the FITS checksums.
    """
    path = _resolve(filename)
    if not path.is_file():
        raise MissingFileError(f"map dataset file {str(path)!r} does not exist")
    with _open(path, checksum=checksum) as hdulist:
        if "COUNTS" not in hdulist and "BACKGROUND" not in hdulist:
            raise FormatError(f"{path}: not a map dataset file (no COUNTS or BACKGROUND HDU)")
        return map_dataset_from_hdulist(hdulist, name=name, filename=path, **kwargs)


def _map_hdus(m, name):
    from fluxfit.maps.io import map_to_hdulist

    hdus = list(map_to_hdulist(m, hdu=name)[1:])
    data_hdu = hdus[0]
    if (
        isinstance(data_hdu, fits.BinTableHDU)
        and np.asarray(m.data).dtype == bool
        and "DATA" in data_hdu.columns.names
    ):
        # boolean region maps as FITS logicals, as Gammapy writes (and needs) them
        columns = [
            fits.Column(name=c.name, format=c.format, unit=c.unit, array=data_hdu.data[c.name])
            if c.name != "DATA"
            else fits.Column(name="DATA", format="L", array=np.asarray(data_hdu.data["DATA"]) != 0)
            for c in data_hdu.columns
        ]
        new = fits.BinTableHDU.from_columns(columns, header=data_hdu.header, name=data_hdu.name)
        hdus[0] = new
    return hdus


def _primary(name):
    primary = fits.PrimaryHDU()
    primary.header["NAME"] = name
    for key, value in _creator_header().items():
        primary.header[key] = value
    return primary


def map_dataset_to_hdulist(dataset) -> fits.HDUList:
    """HDU list of a `~fluxfit.datasets.map.MapDataset` in Gammapy's order."""
    hdus = [_primary(dataset.name)]
    for name, m in (
        ("COUNTS", dataset.counts),
        ("EXPOSURE", dataset.exposure),
        ("BACKGROUND", dataset.background),
    ):
        if m is not None:
            hdus += _map_hdus(m, name)
    for irf in (dataset.edisp, dataset.psf):
        if irf is not None and hasattr(irf, "to_maps"):
            for name, m in irf.to_maps().items():
                hdus += _map_hdus(m, name)
    for name, m in (("MASK_SAFE", dataset.mask_safe), ("MASK_FIT", dataset.mask_fit)):
        if m is not None:
            hdus += _map_hdus(m, name)
    if dataset.gti is not None:
        hdus.append(gti_to_hdu(dataset.gti))
    if dataset.meta_table is not None:
        hdus.append(fits.BinTableHDU(dataset.meta_table, name="META_TABLE"))
    creator = _creator_header()
    for hdu in hdus[1:]:
        for key, value in creator.items():
            hdu.header[key] = value
    return fits.HDUList(hdus)


def _write(hdulist, filename, overwrite, checksum):
    path = check_output(_resolve(filename), overwrite)
    hdulist.writeto(path, overwrite=True, checksum=checksum)


def write_map_dataset(dataset, filename, overwrite=False, checksum=False) -> None:
    """Write a `~fluxfit.datasets.map.MapDataset` as one FITS file (Gammapy layout)."""
    _write(map_dataset_to_hdulist(dataset), filename, overwrite, checksum)


# ----------------------------------------------------------------- spectrum datasets
def _region_values(m):
    """Per-bin values of a region map with one non-spatial axis (the data raveled)."""
    return np.asarray(m.data, dtype=float).reshape(m.geom.axes[0].nbin, -1)[:, 0]


def spectrum_dataset_from_hdulist(hdulist, name=None, filename=None, **kwargs):
    """`SpectrumDataset` / `SpectrumDatasetOnOff` from a Gammapy-layout HDU list."""
    from fluxfit.datasets.spectrum import SpectrumDataset
    from fluxfit.datasets.spectrum_onoff import SpectrumDatasetOnOff
    from fluxfit.irf.kernels import diagonal_edisp_matrix
    from fluxfit.irf.response import EnergyDispersionMatrix

    names = [h.name for h in hdulist]
    label = str(filename) if filename else "HDU list"
    if "COUNTS" not in names:
        raise FormatError(f"{label}: no COUNTS HDU")
    counts_map = _read_map(hdulist, "COUNTS", filename)
    energy_axis = counts_map.geom.axes["energy"]
    counts = _region_values(counts_map)
    if "EXPOSURE" not in names:
        raise FormatError(f"{label}: no EXPOSURE HDU")
    exposure_map = _read_map(hdulist, "EXPOSURE", filename)
    true_axis = exposure_map.geom.axes[0]
    exposure = exposure_map.quantity.to_value("cm2 s").reshape(true_axis.nbin, -1)[:, 0]
    if "EDISP" in names:
        edisp_map = _read_map(hdulist, "EDISP", filename)
        if "migra" in edisp_map.geom.axes.names:
            from fluxfit.irf.kernels import EDispMap

            matrix = EDispMap(edisp_map).get_edisp_kernel(energy_axis)
        else:
            axes = edisp_map.geom.axes.names
            data = np.asarray(edisp_map.data, dtype=float)
            data = data.reshape(data.shape[:2])  # (axes reversed): (n_axis1, n_axis0)
            matrix = data if axes[0] == "energy" else data.T
            true_axis = edisp_map.geom.axes["energy_true"]
    else:
        matrix = diagonal_edisp_matrix(true_axis.edges, energy_axis.edges)
    edisp = EnergyDispersionMatrix(true_axis.edges, energy_axis.edges, matrix)
    out = {"counts": counts, "exposure": exposure, "edisp": edisp}
    for key in ("MASK_SAFE", "MASK_FIT"):
        if key in names:
            out[key.lower()] = _region_values(_read_map(hdulist, key, filename)).astype(bool)
    gti = gti_from_hdu(hdulist["GTI"]) if "GTI" in names else None
    out["gti"] = gti
    out["livetime"] = _gti_livetime(gti)
    livetime = hdulist[0].header.get("LIVETIME")  # fluxfit: the livetime as given
    if isinstance(livetime, float | int) and not isinstance(livetime, bool):
        out["livetime"] = float(livetime)
    out["name"] = _dataset_name(hdulist, name, filename)
    region = counts_map.geom.region
    out["meta"] = {} if region is None else {"region": region}
    if "GROUPING" in names:  # fluxfit: OGIP grouping of the channels
        grouping = _region_values(_read_map(hdulist, "GROUPING", filename))
        if grouping.shape != counts.shape or not np.isin(grouping, (-1, 0, 1)).all():
            raise FormatError(
                f"{label}, HDU GROUPING: expected {counts.shape[0]} values of 1 (group "
                "start), -1 (continuation) or 0"
            )
        out["meta"]["grouping"] = grouping.astype(np.int16)
    out.update(kwargs)
    if "COUNTS_OFF" in names:
        out["counts_off"] = _region_values(_read_map(hdulist, "COUNTS_OFF", filename))
        for key in ("ACCEPTANCE", "ACCEPTANCE_OFF"):
            if key in names:
                out[key.lower()] = _region_values(_read_map(hdulist, key, filename))
        return SpectrumDatasetOnOff(**out)
    if "BACKGROUND" in names:
        out["background"] = _region_values(_read_map(hdulist, "BACKGROUND", filename))
    return SpectrumDataset(**out)


def read_spectrum_dataset_gadf(filename, name=None, checksum=False, **kwargs):
    """Read a spectrum dataset written in the Gammapy (gadf) layout."""
    path = _resolve(filename)
    if not path.is_file():
        raise MissingFileError(f"spectrum dataset file {str(path)!r} does not exist")
    with _open(path, checksum=checksum) as hdulist:
        try:
            return spectrum_dataset_from_hdulist(hdulist, name=name, filename=path, **kwargs)
        except FluxfitError:
            raise
        except (ValueError, TypeError, IndexError, KeyError, fits.VerifyError) as exc:
            raise FormatError(
                f"{path}: not a readable spectrum dataset ({type(exc).__name__}: {exc})"
            ) from exc


def _region_map(values, axis, unit="", region=None, dtype=float):
    from fluxfit.maps import Map, RegionGeom

    geom = RegionGeom(region, axes=[axis])
    data = np.asarray(values).reshape(geom.data_shape).astype(dtype)
    return Map.from_geom(geom, data=data, unit=unit, dtype=dtype)


def spectrum_dataset_to_hdulist(dataset) -> fits.HDUList:
    """HDU list of a `SpectrumDataset` / `SpectrumDatasetOnOff` in the Gammapy layout."""
    from fluxfit.datasets.ogip import set_exact_float
    from fluxfit.maps import Map, MapAxis, RegionGeom

    region = dataset.meta.get("region") if isinstance(dataset.meta, dict) else None
    if region is not None and not hasattr(region, "to_pixel"):
        region = None
    edisp = dataset.edisp
    energy_axis = MapAxis.from_energy_edges(edisp.energy_edges, name="energy")
    true_axis = MapAxis.from_energy_edges(edisp.energy_true_edges, name="energy_true")
    hdus = [_primary(dataset.name)]
    if dataset.livetime is not None:  # the GTI may be absent or not sum to it
        set_exact_float(hdus[0].header, "LIVETIME", u.Quantity(dataset.livetime, "s").value)
    hdus += _map_hdus(_region_map(dataset.counts, energy_axis, region=region), "COUNTS")
    grouping = dataset.meta.get("grouping") if isinstance(dataset.meta, dict) else None
    if grouping is not None:
        hdus += _map_hdus(
            _region_map(grouping, energy_axis, region=region, dtype=np.int16), "GROUPING"
        )
    # cm2 s (Gammapy writes m2 s; both read it by the unit): no conversion, no rounding
    exposure = u.Quantity(dataset.exposure).to_value("cm2 s")
    hdus += _map_hdus(_region_map(exposure, true_axis, "cm2 s", region), "EXPOSURE")
    is_onoff = hasattr(dataset, "counts_off")
    background = None if is_onoff else dataset.background
    if background is not None:
        hdus += _map_hdus(_region_map(background, energy_axis, region=region), "BACKGROUND")
    geom = RegionGeom(region, axes=[energy_axis, true_axis])
    matrix = edisp.to_dense()  # (n_true, n_reco) -> data (n_true, n_reco, 1, 1)
    edisp_map = Map.from_geom(geom, data=matrix.reshape(geom.data_shape), dtype=float)
    hdus += _map_hdus(edisp_map, "EDISP")
    geom_exp = RegionGeom(region, axes=[energy_axis.squash(), true_axis])
    edisp_exposure = Map.from_geom(
        geom_exp, data=exposure.reshape(geom_exp.data_shape), unit="cm2 s", dtype=float
    )
    hdus += _map_hdus(edisp_exposure, "EDISP_EXPOSURE")
    hdus += _map_hdus(
        _region_map(dataset.mask_safe, energy_axis, region=region, dtype=bool), "MASK_SAFE"
    )
    if dataset.mask_fit is not None:
        hdus += _map_hdus(
            _region_map(dataset.mask_fit, energy_axis, region=region, dtype=bool), "MASK_FIT"
        )
    if dataset.gti is not None:
        hdus.append(gti_to_hdu(dataset.gti))
    else:
        hdus.append(gti_to_hdu(None))
    if is_onoff:
        hdus += _map_hdus(_region_map(dataset.counts_off, energy_axis, region=region), "COUNTS_OFF")
        hdus += _map_hdus(_region_map(dataset.acceptance, energy_axis, region=region), "ACCEPTANCE")
        hdus += _map_hdus(
            _region_map(dataset.acceptance_off, energy_axis, region=region), "ACCEPTANCE_OFF"
        )
    creator = _creator_header()
    for hdu in hdus[1:]:
        for key, value in creator.items():
            hdu.header[key] = value
    return fits.HDUList(hdus)


def write_spectrum_dataset_gadf(dataset, filename, overwrite=False, checksum=False) -> None:
    """Write a spectrum dataset as one FITS file in the Gammapy (gadf) layout."""
    if not hasattr(dataset, "edisp") or not hasattr(dataset.edisp, "to_dense"):
        raise DatasetError(f"{dataset!r} is not a spectrum dataset")
    _write(spectrum_dataset_to_hdulist(dataset), filename, overwrite, checksum)
