"""FITS I/O of maps in the Gammapy / GADF layout and the Fermi-LAT tool layouts.

Layouts read and written:

* WCS maps: an image HDU (celestial WCS in axes 1-2, ``BUNIT``, ``META`` JSON,
  ``WCSSHAPE``, ``BANDSHDU``) plus a ``<NAME>_BANDS`` table describing the non-spatial
  axes (``AXCOLS<i>``/``INTERP<i>`` keys, see `fluxfit.maps.axis_tables`). Sparse
  tables (``PIX``/``CHANNEL``/``VALUE``) are read too.
* Fermi-LAT cubes: ``EBOUNDS`` (gtbin counts cubes, format ``fgst-ccube``) or
  ``ENERGIES`` (exposure cubes and diffuse templates, ``fgst-template``).
* Region maps: a binary table ``<NAME>`` with ``CHANNEL`` and ``DATA`` columns (one
  value per row, first axis fastest, or one row per outer bin), ``<NAME>_BANDS`` and an
  optional ``<NAME>_REGION`` table (regions FITS serialisation plus WCS keys).
* ``gtpsf`` PSF tables (``PSF`` with ``Energy``/``Exposure``/``Psf`` and ``THETA``).

`read_map_hdus` reads every map of a file (e.g. a MapDataset file: COUNTS,
EXPOSURE, BACKGROUND, EDISP, PSF, MASK_SAFE...) and `write_map_hdus` writes them back
with the same HDU names, data types and values.

Examples
--------
>>> import tempfile, pathlib
>>> from fluxfit.maps import Map, MapAxis, read_map_hdus, write_map_hdus
>>> axis = MapAxis.from_energy_bounds("10 GeV", "1 TeV", 3)
>>> counts = Map.create(npix=(5, 4), binsz=0.1, axes=[axis], dtype="int32")
>>> path = pathlib.Path(tempfile.mkdtemp()) / "maps.fits"
>>> write_map_hdus(path, {"COUNTS": counts})
>>> maps = read_map_hdus(path)
>>> list(maps), maps["COUNTS"].data.dtype.name
(['COUNTS'], 'int32')
"""

from __future__ import annotations

import contextlib
import json
import warnings
import zlib
from pathlib import Path

import numpy as np
from astropy import units as u
from astropy.io import fits
from astropy.io.registry import IORegistryError
from astropy.table import QTable, Table
from astropy.utils.exceptions import AstropyUserWarning
from astropy.wcs import WCS, FITSFixedWarning

from fluxfit._files import check_fits_sizes, check_output
from fluxfit.errors import FluxfitError, FormatError, MissingFileError, UnitError

__all__ = [
    "read_map",
    "write_map",
    "map_from_hdulist",
    "map_to_hdulist",
    "read_map_hdus",
    "write_map_hdus",
    "read_gtpsf",
    "write_gtpsf",
    "write_hdulist",
    "open_fits",
]


# ---------------------------------------------------------------------------- helpers
def _native(array):
    """Native byte order copy of a FITS array (same kind and item size)."""
    array = np.asarray(array)
    if array.dtype.byteorder not in ("=", "|") and array.dtype.byteorder != (
        "<" if np.little_endian else ">"
    ):
        return array.astype(array.dtype.newbyteorder("="))
    return np.array(array)


def _label(filename, hdu=None):
    parts = [f"file {str(filename)!r}"] if filename is not None else []
    if hdu is not None:
        parts.append(f"HDU {hdu!r}")
    return ", ".join(parts) if parts else "HDU list"


#: What astropy (FITS, tables, WCS, units), gzip and zlib raise on damaged content; readers
#: turn them into `~fluxfit.errors.FormatError` naming the file and the HDU (`_reading`).
READ_ERRORS = (
    OSError,
    EOFError,
    ValueError,
    TypeError,
    IndexError,
    KeyError,
    zlib.error,
    fits.VerifyError,
    AstropyUserWarning,
    IORegistryError,
    u.UnitsError,
)


@contextlib.contextmanager
def _reading(filename, hdu=None):
    """Name the file and HDU in every error raised while reading a map.

    fluxfit errors that do not name the file yet get the ``file 'x', HDU 'Y':`` prefix (same
    class); what astropy, regions or numpy raise on damaged content (a truncated data block,
    an unparsable card, a table where an image is expected ...) becomes a `FormatError`.
    """
    label = _label(filename, hdu)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("error", message=".*truncated", category=AstropyUserWarning)
            yield
    except FluxfitError as exc:
        if filename is None or str(filename) in str(exc):
            raise
        raise type(exc)(f"{label}: {exc}") from exc
    except READ_ERRORS as exc:
        raise FormatError(
            f"{label}: cannot be read as a map ({type(exc).__name__}: {exc})"
        ) from exc


def open_fits(filename, checksum=False):
    """Open a FITS file fully in memory, raising fluxfit errors for bad input.

    Raises
    ------
    MissingFileError
        The file does not exist.
    FormatError
        The file is not a readable FITS file.
    """
    path = Path(str(filename)).expanduser()
    if not path.exists():
        raise MissingFileError(f"file {str(path)!r} does not exist")
    check_fits_sizes(path, label=f"file {str(path)!r}")  # impossible NAXIS / data sizes
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("error", message=".*truncated", category=AstropyUserWarning)
            return fits.open(path, memmap=False, checksum=checksum, lazy_load_hdus=False)
    except READ_ERRORS as exc:
        raise FormatError(
            f"file {str(path)!r} is not a readable FITS file: {type(exc).__name__}: {exc}"
        ) from exc


def write_hdulist(hdulist, filename, overwrite=False, checksum=False):
    """Write an HDU list, raising `~fluxfit.errors.OverwriteError` for existing files."""
    path = check_output(filename, overwrite)
    hdulist.writeto(path, overwrite=overwrite, checksum=checksum)


def _hdu_name(hdulist, hdu):
    return hdulist[hdu].name


def _get_hdu(hdulist, hdu, filename):
    try:
        return hdulist[hdu]
    except (KeyError, IndexError) as exc:
        names = [h.name for h in hdulist]
        raise FormatError(f"{_label(filename)}: missing HDU {hdu!r} (HDUs: {names})") from exc


def _first_data_hdu(hdulist, filename):
    for hdu in hdulist:
        if hdu.data is not None and not hdu.name.endswith("_BANDS"):
            return hdu
    raise FormatError(f"{_label(filename)}: no HDU with data")


def _unit_from_header(header, filename, hdu_name):
    unit = header.get("BUNIT", "")
    if unit is None:
        return u.Unit("")
    unit = str(unit).strip()
    if unit.upper() in ("COUNTS", "COUNT"):
        unit = ""
    try:
        return u.Unit(unit, format="fits") if unit else u.Unit("")
    except ValueError:
        try:
            return u.Unit(unit)
        except ValueError as exc:
            raise UnitError(
                f"{_label(filename, hdu_name)}, key 'BUNIT': invalid unit {unit!r}"
            ) from exc


def _meta_from_header(header, filename, hdu_name):
    if "META" not in header:
        return {}
    try:
        meta = json.loads(header["META"])
    except (TypeError, ValueError) as exc:
        raise FormatError(
            f"{_label(filename, hdu_name)}, key 'META': not valid JSON: {header['META']!r}"
        ) from exc
    return meta if isinstance(meta, dict) else {"META": meta}


def find_bands_hdu(hdulist, hdu):
    """Name of the BANDS table of a map HDU (``BANDSHDU`` key, else EBOUNDS/ENERGIES)."""
    if "BANDSHDU" in hdu.header:
        return str(hdu.header["BANDSHDU"]).strip()
    is_cube = isinstance(hdu, fits.ImageHDU | fits.PrimaryHDU) and hdu.header.get("NAXIS") == 3
    is_table = isinstance(hdu, fits.BinTableHDU) and len(hdu.columns) > 1
    if is_cube or is_table:
        for name in ("EBOUNDS", "ENERGIES"):
            if name in hdulist:
                return name
    return None


def _identify_format(hdu_bands):
    if hdu_bands is None:
        return "gadf"
    if hdu_bands.name == "ENERGIES":
        return "fgst-template"
    if hdu_bands.name == "EBOUNDS":
        return "fgst-ccube"
    return "gadf"


def _map_type(hdu):
    header = hdu.header
    if header.get("PIXTYPE", "") == "HEALPIX":
        return "hpx"
    if "CTYPE1" in header:
        return "wcs"
    return "region"


# ---------------------------------------------------------------------------- WCS maps
def _wcs_map_from_hdulist(hdulist, hdu, hdu_bands, format, filename):
    from .wcs import WcsGeom
    from .wcs_map import WcsNDMap

    hdu_obj = (
        _first_data_hdu(hdulist, filename) if hdu is None else _get_hdu(hdulist, hdu, filename)
    )
    name = hdu_obj.name
    if hdu_bands is None:
        hdu_bands = find_bands_hdu(hdulist, hdu_obj)
    bands = None
    if hdu_bands is not None:
        if hdu_bands not in hdulist:
            raise FormatError(
                f"{_label(filename, name)}: BANDS table {hdu_bands!r} named by key 'BANDSHDU' "
                "is missing"
            )
        bands = hdulist[hdu_bands]
    if format is None:
        format = _identify_format(bands)
    try:
        geom = WcsGeom.from_header(hdu_obj.header, bands, format=format)
    except FormatError as exc:
        where = f"{_label(filename, name)}" + (f", BANDS {hdu_bands!r}" if hdu_bands else "")
        raise FormatError(f"{where}: {exc}") from exc
    if (
        len(geom.axes) == 0
        and hdu_obj.header.get("NAXIS", 2) > 2
        and isinstance(hdu_obj, fits.ImageHDU | fits.PrimaryHDU)
    ):
        raise FormatError(
            f"{_label(filename, name)}: {hdu_obj.header['NAXIS']}D image without a BANDS table"
        )
    meta = _meta_from_header(hdu_obj.header, filename, name)
    unit = _unit_from_header(hdu_obj.header, filename, name)
    if isinstance(hdu_obj, fits.BinTableHDU):
        m = WcsNDMap(geom, meta=meta, unit=unit)
        columns = hdu_obj.columns.names
        if "PIX" not in columns or "VALUE" not in columns:
            raise FormatError(f"{_label(filename, name)}: sparse map needs PIX and VALUE columns")
        nx, ny = geom.npix
        pix = np.unravel_index(np.asarray(hdu_obj.data["PIX"]), (ny, nx))
        values = np.asarray(hdu_obj.data["VALUE"])
        if "CHANNEL" in columns and len(geom.axes):
            chan = np.unravel_index(np.asarray(hdu_obj.data["CHANNEL"]), geom.axes.shape[::-1])
            index = chan + pix
        else:
            index = pix
        m.data[index] = values
    else:
        data = _native(hdu_obj.data)
        if data.shape != geom.data_shape:
            raise FormatError(
                f"{_label(filename, name)}: data shape {data.shape} does not match the geometry "
                f"shape {geom.data_shape} (WCSSHAPE and BANDS table)"
            )
        if any(key in name.lower() for key in ("mask", "is_ul", "success")):
            data = data.astype(bool)
        m = WcsNDMap(geom, data=data, meta=meta, unit=unit)
    if m.unit == u.Unit("") and format == "fgst-template":
        m._unit = u.Unit("cm2 s") if "GTI" in hdulist else u.Unit("cm-2 s-1 MeV-1 sr-1")
    return m


def _wcs_map_to_hdulist(m, hdu=None, hdu_bands=None, format="gadf"):
    hdu = "PRIMARY" if hdu is None else str(hdu).upper()
    if format in ("fgst-ccube", "fgst-template"):
        if len(m.geom.axes) != 1 or m.geom.axes[0].name not in ("energy", "energy_true"):
            raise FormatError(f"Format {format!r} supports a single energy axis only")
    if hdu_bands is None:
        hdu_bands = f"{hdu}_BANDS"
    header = m.geom.to_header()
    bands_hdu = None
    if len(m.geom.axes):
        bands_hdu = m.geom.to_bands_hdu(hdu_bands=hdu_bands, format=format)
        header["BANDSHDU"] = bands_hdu.name
    data = m.data.astype(np.int64) if m.is_mask else m.data
    if hdu == "PRIMARY":
        hdu_out = fits.PrimaryHDU(data, header=header)
    else:
        hdu_out = fits.ImageHDU(data, header=header, name=hdu)
    hdu_out.header["META"] = json.dumps(m.meta, default=str)
    hdu_out.header["BUNIT"] = m.unit.to_string("fits")
    hdus = [hdu_out] if hdu == "PRIMARY" else [fits.PrimaryHDU(), hdu_out]
    if bands_hdu is not None:
        hdus.append(bands_hdu)
    return fits.HDUList(hdus)


# ---------------------------------------------------------------------------- region maps
def _region_from_hdulist(hdulist, region_hdu, filename):
    if region_hdu not in hdulist:
        return None, None
    from regions import Regions

    from .regions_helpers import regions_to_compound_region

    try:
        table = QTable.read(hdulist[region_hdu])
        regions_pix = Regions.parse(table, format="fits")
    except Exception as exc:  # regions raises several types for malformed tables
        raise FormatError(
            f"{_label(filename, region_hdu)}: cannot parse region table: {exc}"
        ) from exc
    header = fits.Header()
    for key, value in table.meta.items():
        if isinstance(value, str | int | float | bool) and len(key) <= 8:
            header[key] = value
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FITSFixedWarning)
        wcs = WCS(header, naxis=2)
    regions = []
    for region_pix in regions_pix:
        region_pix.meta["include"] = True
        regions.append(region_pix.to_sky(wcs))
    return regions_to_compound_region(regions), wcs


def _region_map_from_hdulist(hdulist, hdu, hdu_bands, format, filename, ogip_column=None):
    from .axes import MapAxes
    from .region import RegionGeom
    from .region_map import RegionNDMap

    format = "gadf" if format is None else format
    defaults = {
        "gadf": ("SKYMAP", "DATA"),
        "ogip": ("SPECTRUM", "COUNTS"),
        "ogip-arf": ("SPECRESP", "SPECRESP"),
    }
    if format not in defaults:
        raise FormatError(f"Unknown region map format {format!r}")
    hdu = defaults[format][0] if hdu is None else hdu
    column = defaults[format][1] if ogip_column is None else ogip_column
    hdu_obj = _get_hdu(hdulist, hdu, filename)
    name = hdu_obj.name
    if format == "gadf":
        region_hdu = f"{name}_REGION"
        hdu_bands = f"{name}_BANDS" if hdu_bands is None else hdu_bands
    else:
        region_hdu = "REGION"
        hdu_bands = ("EBOUNDS" if format == "ogip" else name) if hdu_bands is None else hdu_bands
    if hdu_bands not in hdulist:
        raise FormatError(f"{_label(filename, name)}: missing BANDS table {hdu_bands!r}")
    region, wcs = _region_from_hdulist(hdulist, region_hdu, filename)
    try:
        axes = MapAxes.from_table_hdu(hdulist[hdu_bands], format=format)
    except FormatError as exc:
        raise FormatError(f"{_label(filename, hdu_bands)}: {exc}") from exc
    geom = RegionGeom(region=region, axes=axes, wcs=wcs)
    table = Table.read(hdu_obj)
    if column not in table.colnames:
        raise FormatError(f"{_label(filename, name)}: missing column {column!r} ({table.colnames})")
    col = table[column]
    data = _native(np.asarray(col))
    if data.size != int(np.prod(geom.data_shape)):
        raise FormatError(
            f"{_label(filename, name)}, column {column!r}: {data.size} values do not match the "
            f"BANDS axes shape {geom.data_shape}"
        )
    data = data.reshape(geom.data_shape)
    unit = col.unit if col.unit is not None else ""
    if column == "QUALITY":
        data, unit = np.logical_not(data.astype(bool)), ""
    elif any(key in name.lower() for key in ("mask", "is_ul", "success")):
        data = data.astype(bool)
    meta = {k: v for k, v in table.meta.items() if k not in ("EXTNAME",)}
    return RegionNDMap(geom=geom, data=data, unit=unit, meta=meta)


def _region_table_hdu(geom, name):
    from regions import Regions

    from .wcs import WcsGeom

    table = Regions([r.to_pixel(geom.wcs) for r in geom.regions]).serialize(format="fits")
    header = WcsGeom(geom.wcs).to_header()
    for key, value in header.items():
        table.meta[key] = value
    return fits.BinTableHDU(table, name=name)


def _region_map_to_hdulist(m, hdu=None, hdu_bands=None, format="gadf", hdu_region=None):
    hdu = "SKYMAP" if hdu is None else str(hdu).upper()
    table = m.to_table(format=format)
    hdus = [fits.PrimaryHDU()]
    if format == "gadf":
        hdu_bands = f"{hdu}_BANDS" if hdu_bands is None else hdu_bands
        hdu_region = f"{hdu}_REGION" if hdu_region is None else hdu_region
        data_hdu = fits.BinTableHDU(table, name=hdu)
        data_hdu.header.update(m.geom.axes.to_header(format="gadf"))
        hdus.append(data_hdu)
        hdus.append(m.geom.axes.to_table_hdu(format="gadf", hdu_bands=hdu_bands))
    elif format in ("ogip", "ogip-sherpa"):
        hdus.append(fits.BinTableHDU(table))
        hdus.append(m.geom.axes.to_table_hdu(format=format))
        hdu_region = "REGION"
    elif format in ("ogip-arf", "ogip-arf-sherpa"):
        hdus.append(fits.BinTableHDU(table))
        return fits.HDUList(hdus)
    else:
        raise FormatError(f"Unknown region map format {format!r}")
    if m.geom.region is not None:
        hdus.append(_region_table_hdu(m.geom, hdu_region))
    return fits.HDUList(hdus)


# ---------------------------------------------------------------------------- public API
def map_from_hdulist(
    hdulist, hdu=None, hdu_bands=None, map_type="auto", format=None, filename=None
):
    """Read one map from an open HDU list.

    Parameters
    ----------
    hdulist : `~astropy.io.fits.HDUList`
    hdu : str or int, optional
        Map HDU; default the first HDU with data.
    hdu_bands : str, optional
        BANDS table; default from ``BANDSHDU`` / ``<HDU>_BANDS`` / ``EBOUNDS`` / ``ENERGIES``.
    map_type : {"auto", "wcs", "region"}
    format : {None, "gadf", "fgst-ccube", "fgst-template", "ogip", "ogip-arf"}
    filename : str, optional
        Used in error messages.
    """
    if map_type == "auto":
        hdu_obj = (
            _first_data_hdu(hdulist, filename) if hdu is None else _get_hdu(hdulist, hdu, filename)
        )
        map_type = _map_type(hdu_obj)
        hdu = hdu_obj.name if hdu is None else hdu
    if map_type == "wcs":
        return _wcs_map_from_hdulist(hdulist, hdu, hdu_bands, format, filename)
    if map_type == "region":
        return _region_map_from_hdulist(hdulist, hdu, hdu_bands, format, filename)
    raise FormatError(f"{_label(filename, hdu)}: map type {map_type!r} is not supported")


def map_to_hdulist(m, hdu=None, hdu_bands=None, format="gadf", **kwargs):
    """HDU list of a map: ``[PRIMARY, <HDU>, <HDU>_BANDS (, <HDU>_REGION)]``.

    WCS maps default to the PRIMARY image (``hdu=None``), region maps to ``SKYMAP``.
    Boolean maps are written as int64 images (as Gammapy).
    """
    from .region_map import RegionNDMap

    if isinstance(m, RegionNDMap):
        return _region_map_to_hdulist(m, hdu=hdu, hdu_bands=hdu_bands, format=format, **kwargs)
    return _wcs_map_to_hdulist(m, hdu=hdu, hdu_bands=hdu_bands, format=format)


def read_map(filename, hdu=None, hdu_bands=None, map_type="auto", format=None, checksum=False):
    """Read one map from a FITS file (see `map_from_hdulist`).

    Raises
    ------
    MissingFileError, FormatError, UnitError
        With the file, HDU and key/column in the message.
    """
    with open_fits(filename, checksum=checksum) as hdulist, _reading(filename, hdu):
        return map_from_hdulist(
            hdulist,
            hdu=hdu,
            hdu_bands=hdu_bands,
            map_type=map_type,
            format=format,
            filename=filename,
        )


def write_map(
    m, filename, overwrite=False, hdu=None, hdu_bands=None, format="gadf", checksum=False
):
    """Write one map (see `fluxfit.maps.Map.write`)."""
    write_hdulist(
        map_to_hdulist(m, hdu=hdu, hdu_bands=hdu_bands, format=format),
        filename,
        overwrite,
        checksum,
    )


def _is_gtpsf(hdulist):
    if "PSF" not in hdulist or "THETA" not in hdulist:
        return False
    hdu = hdulist["PSF"]
    return isinstance(hdu, fits.BinTableHDU) and "Psf" in hdu.columns.names


def _auxiliary_names(hdulist):
    """Names of BANDS / REGION / EBOUNDS tables that belong to a map HDU."""
    names = set()
    for hdu in hdulist:
        if "BANDSHDU" in hdu.header:
            names.add(str(hdu.header["BANDSHDU"]).strip())
        if isinstance(hdu, fits.BinTableHDU) and "AXCOLS1" in hdu.header:
            names.add(f"{hdu.name}_BANDS")
        names.add(f"{hdu.name}_REGION")
    for hdu in hdulist:
        if hdu.name in ("EBOUNDS", "ENERGIES") and any(
            h.header.get("NAXIS", 0) == 3 for h in hdulist if h.is_image
        ):
            names.add(hdu.name)
    return names


def read_map_hdus(filename, include_tables=False, checksum=False):
    """Read every map of a FITS file, in file order.

    Parameters
    ----------
    filename : str or `~pathlib.Path`
        E.g. a Gammapy MapDataset file, a Fermi counts/exposure cube, a diffuse model
        template or a ``gtpsf`` file.
    include_tables : bool
        Also return other tables (e.g. ``GTI``) as `~astropy.table.Table`, so that
        `write_map_hdus` can reproduce the whole file.
    checksum : bool
        Verify checksums.

    Returns
    -------
    maps : dict
        HDU name -> `WcsNDMap` / `RegionNDMap` (and Table if ``include_tables``). For a
        ``gtpsf`` file: ``{"PSF": psf_map, "PSF_EXPOSURE": exposure_map}``.
    """
    out = {}
    with open_fits(filename, checksum=checksum) as hdulist:
        with _reading(filename):
            if _is_gtpsf(hdulist):
                psf, exposure = _gtpsf_from_hdulist(hdulist, filename)
                return {"PSF": psf, "PSF_EXPOSURE": exposure}
            auxiliary = _auxiliary_names(hdulist)
        for idx, hdu in enumerate(hdulist):
            name = hdu.name
            if name in auxiliary:
                continue
            with _reading(filename, name):
                if name in out:
                    raise FormatError(
                        f"{_label(filename, name)}: two HDUs have this name (HDU {idx} repeats "
                        "it); maps are returned by name"
                    )
                if hdu.is_image:
                    if hdu.header.get("NAXIS", 0) == 0:
                        continue
                    out[name] = _wcs_map_from_hdulist(hdulist, idx, None, None, filename)
                elif isinstance(hdu, fits.BinTableHDU):
                    columns = hdu.columns.names
                    if "AXCOLS1" in hdu.header and "DATA" in columns:
                        out[name] = _region_map_from_hdulist(hdulist, name, None, "gadf", filename)
                    elif "CTYPE1" in hdu.header and "PIX" in columns:
                        out[name] = _wcs_map_from_hdulist(hdulist, idx, None, None, filename)
                    elif include_tables:
                        out[name] = Table.read(hdu)
    return out


def write_map_hdus(filename, maps, overwrite=False, checksum=False, formats=None):
    """Write maps (and tables) to one FITS file, one ``<NAME>`` (+ ``_BANDS``) per entry.

    Parameters
    ----------
    filename : str or `~pathlib.Path`
    maps : dict
        HDU name -> `Map` or `~astropy.table.Table`; name ``PRIMARY`` puts a WCS map in
        the primary HDU.
    overwrite : bool
        Replace an existing file (else `~fluxfit.errors.OverwriteError`).
    checksum : bool
        Add checksum cards.
    formats : dict, optional
        HDU name -> map format (default ``gadf``); e.g. ``{"PRIMARY": "fgst-ccube"}``
        writes a Fermi counts cube with an ``EBOUNDS`` table, ``"fgst-template"`` an
        ``ENERGIES`` table.
    """
    from .core import Map

    formats = {str(k).upper(): v for k, v in (formats or {}).items()}
    hdus = [fits.PrimaryHDU()]
    for name, item in maps.items():
        name = str(name).upper()
        if isinstance(item, Map):
            hdulist = map_to_hdulist(item, hdu=name, format=formats.get(name, "gadf"))
            if name == "PRIMARY":
                hdus[0] = hdulist[0]
                hdus.extend(hdulist[1:])
            else:
                hdus.extend(hdulist[1:])
        elif isinstance(item, Table):
            hdus.append(fits.BinTableHDU(item, name=name))
        else:
            raise TypeError(
                f"write_map_hdus: entry {name!r} is a {type(item).__name__}, not a Map or Table"
            )
    write_hdulist(fits.HDUList(hdus), filename, overwrite=overwrite, checksum=checksum)


# ---------------------------------------------------------------------------- gtpsf
def _gtpsf_from_hdulist(hdulist, filename):
    from .axes import MapAxis
    from .region import RegionGeom
    from .region_map import RegionNDMap

    theta = Table.read(hdulist["THETA"])
    table = Table.read(hdulist["PSF"])
    for column, hdu in (("Theta", "THETA"), ("Energy", "PSF"), ("Exposure", "PSF"), ("Psf", "PSF")):
        source = theta if hdu == "THETA" else table
        if column not in source.colnames:
            raise FormatError(f"{_label(filename, hdu)}: missing column {column!r}")
    rad_axis = MapAxis.from_table(theta, format="gtpsf")
    energy_axis = MapAxis.from_table(table, format="gtpsf")
    geom = RegionGeom(region=None, axes=[rad_axis, energy_axis])
    psf = RegionNDMap(
        geom, data=_native(np.asarray(table["Psf"])).reshape(geom.data_shape), unit="sr-1"
    )
    geom_exposure = geom.squash("rad")
    exposure = RegionNDMap(
        geom_exposure,
        data=_native(np.asarray(table["Exposure"])).reshape(geom_exposure.data_shape),
        unit="cm2 s",
    )
    return psf, exposure


def read_gtpsf(filename):
    """Read a Fermi-LAT ``gtpsf`` file.

    Returns
    -------
    psf, exposure : `RegionNDMap`, `RegionNDMap`
        PSF in sr-1 on axes ``rad`` (deg nodes) x ``energy_true`` (MeV nodes) and the
        exposure (cm2 s) with the ``rad`` axis squashed.
    """
    with open_fits(filename) as hdulist, _reading(filename):
        if not _is_gtpsf(hdulist):
            raise FormatError(
                f"{_label(filename)}: not a gtpsf file (needs PSF with 'Psf' and THETA)"
            )
        return _gtpsf_from_hdulist(hdulist, filename)


def write_gtpsf(filename, psf, exposure, overwrite=False):
    """Write a PSF and its exposure (as returned by `read_gtpsf`) in the ``gtpsf`` layout."""
    rad_hdu = psf.geom.axes["rad"].to_table_hdu(format="gtpsf")
    table = psf.geom.axes["energy_true"].to_table(format="gtpsf")
    table["Exposure"] = exposure.quantity[..., 0, 0].to("cm2 s").reshape(-1)
    table["Psf"] = psf.quantity[..., 0, 0].to("sr-1")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", u.UnitsWarning)
        psf_hdu = fits.BinTableHDU(table, name="PSF")
    write_hdulist(
        fits.HDUList([fits.PrimaryHDU(), psf_hdu, rad_hdu]), filename, overwrite=overwrite
    )
