"""Table and FITS-header formats of map axes (OGIP, GADF, Fermi-LAT tools).

Formats of a single `~fluxfit.maps.MapAxis`:

``ogip`` / ``ogip-sherpa``
    OGIP ``EBOUNDS``: ``CHANNEL`` (int16), ``E_MIN``, ``E_MAX`` (sherpa: in keV).
``ogip-arf`` / ``ogip-arf-sherpa``
    ARF ``SPECRESP`` axis columns ``ENERG_LO``, ``ENERG_HI`` (true energy).
``gadf-dl3``
    IRF axis columns ``<PREFIX>_LO``, ``<PREFIX>_HI`` stored as one row of arrays,
    prefix from :data:`IRF_DL3_AXES_SPECIFICATION` (``ENERG``, ``THETA``, ``RAD``,
    ``MIGRA``, ``DETX``, ``DETY``).
``fgst-ccube``
    Fermi-LAT counts cube ``EBOUNDS`` (``E_MIN``, ``E_MAX``, keV by default).
``fgst-template`` / ``fgst-bexpcube``
    Fermi-LAT ``ENERGIES`` table with a single ``Energy`` column of nodes in MeV.
``gtpsf``
    Fermi-LAT ``gtpsf`` output: ``Energy`` (MeV) nodes or ``Theta`` (deg) nodes.
``gadf``
    One axis of a Gammapy/GADF ``<NAME>_BANDS`` table, located by the header key
    ``AXCOLS<i>`` (``"E_MIN,E_MAX"`` for edges, ``"ENERGY_TRUE"`` for nodes) and
    interpolated according to ``INTERP<i>``.
``gadf-sed-energy``
    ``e_min``/``e_max`` (or ``e_ref``) columns of flux-point tables.

The ``<NAME>_BANDS`` table of a map (format ``gadf``) has a ``CHANNEL`` column
(0..N-1) and, for every axis, the centre, minimum and maximum columns
(``ENERGY, E_MIN, E_MAX`` for the axis named ``energy``, ``<NAME>, <NAME>_MIN,
<NAME>_MAX`` otherwise) with one row per combination of bins (first axis fastest),
plus header keys ``AXCOLS<i>`` and ``INTERP<i>``.
"""

from __future__ import annotations

import numpy as np
from astropy import units as u
from astropy.io import fits
from astropy.table import Table, hstack

from fluxfit.errors import FormatError, UnitError

from ._utils import edges_from_lo_hi

__all__ = [
    "IRF_DL3_AXES_SPECIFICATION",
    "axis_to_header",
    "axis_to_table",
    "axis_to_table_hdu",
    "axis_from_table",
    "axes_to_header",
    "axes_to_table",
    "axes_to_table_hdu",
    "axes_from_table",
]

#: GADF DL3 IRF axis column prefixes, with the axis name and interpolation they map to.
IRF_DL3_AXES_SPECIFICATION = {
    "THETA": {"name": "offset", "interp": "lin"},
    "ENERG": {"name": "energy_true", "interp": "log"},
    "ETRUE": {"name": "energy_true", "interp": "log"},
    "RAD": {"name": "rad", "interp": "lin"},
    "DETX": {"name": "fov_lon", "interp": "lin"},
    "DETY": {"name": "fov_lat", "interp": "lin"},
    "MIGRA": {"name": "migra", "interp": "lin"},
}

_SINGLE_ENERGY_FORMATS = ("ogip", "ogip-arf", "fgst-ccube", "fgst-template", "fgst-bexpcube")


def _table_label(table):
    name = table.meta.get("EXTNAME")
    return f"table {name!r}" if name else "table"


def _column(table, name):
    if name not in table.colnames:
        raise FormatError(
            f"{_table_label(table)}: missing column {name!r} (columns: {table.colnames})"
        )
    return table[name]


def _column_quantity(table, name, default_unit=""):
    column = _column(table, name)
    unit = column.unit if column.unit is not None else default_unit
    try:
        values = np.asarray(column, dtype=float)
    except (ValueError, TypeError) as exc:
        raise FormatError(
            f"{_table_label(table)}, column {name!r}: values of type {column.dtype} are not numbers"
        ) from exc
    if values.size == 0:
        raise FormatError(f"{_table_label(table)}, column {name!r}: the table has no rows")
    try:
        return u.Quantity(values, unit)
    except (ValueError, TypeError) as exc:
        raise UnitError(f"{_table_label(table)}, column {name!r}: invalid unit {unit!r}") from exc


def _lo_hi_edges(lo, hi, table, names) -> u.Quantity:
    """Edges from lower bounds and the last upper bound, converting ``hi`` to ``lo``'s unit."""
    try:
        last = hi.to_value(lo.unit)[-1]
    except u.UnitConversionError as exc:
        raise UnitError(
            f"{_table_label(table)}: columns {names[0]!r} ({lo.unit}) and {names[1]!r} "
            f"({hi.unit}) have incompatible units"
        ) from exc
    return np.append(lo.value, last) * lo.unit


# ---------------------------------------------------------------------------- one axis
def axis_to_header(axis, format="ogip", idx=0):
    """FITS header keys describing one axis.

    Parameters
    ----------
    axis : `~fluxfit.maps.MapAxis`
    format : {"ogip", "ogip-sherpa", "gadf", "fgst-ccube", "fgst-template"}
        ``ogip`` gives the ``EBOUNDS`` keys (``EXTNAME``, ``HDUCLASS``, ``DETCHANS``...),
        the others ``AXCOLS<idx>`` and ``INTERP<idx>``.
    idx : int
        Index used in the key names (1-based in BANDS tables).
    """
    header = fits.Header()
    if format in ("ogip", "ogip-sherpa"):
        header["EXTNAME"] = "EBOUNDS", "Name of this binary table extension"
        header["TELESCOP"] = "DUMMY", "Mission/satellite name"
        header["INSTRUME"] = "DUMMY", "Instrument/detector"
        header["FILTER"] = "None", "Filter information"
        header["CHANTYPE"] = "PHA", "Type of channels (PHA, PI etc)"
        header["DETCHANS"] = axis.nbin, "Total number of detector PHA channels"
        header["HDUCLASS"] = "OGIP", "Organisation devising file format"
        header["HDUCLAS1"] = "RESPONSE", "File relates to response of instrument"
        header["HDUCLAS2"] = "EBOUNDS", "This is an EBOUNDS extension"
        header["HDUVERS"] = "1.2.0", "Version of file format"
    elif format in ("gadf", "fgst-ccube", "fgst-template"):
        name = axis.name.upper()
        if axis.name == "energy" and axis.node_type == "edges":
            value = "E_MIN,E_MAX"
        elif axis.name == "energy" and axis.node_type == "center":
            value = "ENERGY"
        elif axis.node_type == "edges":
            value = f"{name}_MIN,{name}_MAX"
        else:
            value = name
        header[f"AXCOLS{idx}"] = value
        header[f"INTERP{idx}"] = axis.interp
    else:
        raise FormatError(f"Unknown axis header format {format!r}")
    return header


def axis_to_table(axis, format="ogip"):
    """Table of one axis in the given format (see module docstring).

    Examples
    --------
    >>> from fluxfit.maps import MapAxis
    >>> axis = MapAxis.from_energy_bounds("1 TeV", "10 TeV", 2, name="energy_true")
    >>> axis.to_table(format="ogip-arf").colnames
    ['ENERG_LO', 'ENERG_HI']
    """
    table = Table()
    edges = axis.edges
    if format in ("ogip", "ogip-sherpa"):
        axis.assert_name("energy")
        if format == "ogip-sherpa":
            edges = edges.to("keV")
        table["CHANNEL"] = np.arange(axis.nbin, dtype=np.int16)
        table["E_MIN"] = edges[:-1]
        table["E_MAX"] = edges[1:]
    elif format in ("ogip-arf", "ogip-arf-sherpa"):
        axis.assert_name("energy_true")
        if format == "ogip-arf-sherpa":
            edges = edges.to("keV")
        table["ENERG_LO"] = edges[:-1]
        table["ENERG_HI"] = edges[1:]
    elif format == "gadf-sed":
        if axis.is_energy_axis:
            table["e_ref"] = axis.center
            table["e_min"] = axis.edges_min
            table["e_max"] = axis.edges_max
    elif format == "gadf-dl3":
        if axis.name == "energy":
            prefix = "ENERG"
        else:
            prefixes = [k for k, v in IRF_DL3_AXES_SPECIFICATION.items() if v["name"] == axis.name]
            if not prefixes:
                raise FormatError(f"Axis {axis.name!r} has no 'gadf-dl3' column prefix")
            prefix = prefixes[0]
        if axis.node_type == "edges":
            lo, hi = edges[:-1], edges[1:]
        else:
            lo, hi = axis.center, axis.center
        table[f"{prefix}_LO"] = lo[np.newaxis]
        table[f"{prefix}_HI"] = hi[np.newaxis]
    elif format == "gtpsf":
        if axis.name == "energy_true":
            table["Energy"] = axis.center.to("MeV")
        elif axis.name == "rad":
            table["Theta"] = axis.center.to("deg")
        else:
            raise FormatError(f"Format 'gtpsf' supports 'energy_true' and 'rad', got {axis.name!r}")
    else:
        raise FormatError(f"Unknown axis table format {format!r}")
    return table


def axis_to_table_hdu(axis, format="ogip"):
    """Binary table HDU of one axis (``EBOUNDS`` keys for OGIP, ``THETA`` for gtpsf)."""
    table = axis_to_table(axis, format=format)
    name = "THETA" if format == "gtpsf" else None
    hdu = fits.BinTableHDU(table, name=name)
    if format in ("ogip", "ogip-sherpa"):
        hdu.header.update(axis_to_header(axis, format=format))
    return hdu


def _flat_if_equal(array):
    array = np.asarray(array)
    if array.ndim == 2 and np.all(array == array[0]):
        return array[0]
    return array


def axis_from_table(table, format="ogip", idx=0, column_prefix=""):
    """Read one axis from a table.

    Parameters
    ----------
    table : `~astropy.table.Table`
        Table (``meta`` holds the HDU header for the ``gadf`` format).
    format : str
        See the module docstring.
    idx : int
        0-based axis index for ``gadf`` (reads ``AXCOLS<idx + 1>``).
    column_prefix : str
        Column prefix for ``gadf-dl3`` (e.g. ``"ENERG"``).

    Returns
    -------
    axis : `~fluxfit.maps.MapAxis`

    Raises
    ------
    FormatError
        Missing columns or header keys (the message names the table and column).
    """
    from .axes import MapAxis

    if format in ("ogip", "fgst-ccube"):
        e_min = _column_quantity(table, "E_MIN", default_unit="keV")
        e_max = _column_quantity(table, "E_MAX", default_unit="keV")
        edges = _lo_hi_edges(e_min, e_max, table, ("E_MIN", "E_MAX"))
        return MapAxis.from_edges(edges, name="energy", interp="log")
    if format == "ogip-arf":
        e_lo = _column_quantity(table, "ENERG_LO", default_unit="keV")
        e_hi = _column_quantity(table, "ENERG_HI", default_unit="keV")
        edges = _lo_hi_edges(e_lo, e_hi, table, ("ENERG_LO", "ENERG_HI"))
        return MapAxis.from_edges(edges, name="energy_true", interp="log")
    if format in ("fgst-template", "fgst-bexpcube"):
        for colname in ("Energy", "ENERGY", "energy"):
            if colname in table.colnames:
                nodes = np.asarray(table[colname], dtype=float)
                return MapAxis.from_nodes(nodes, name="energy_true", unit="MeV", interp="log")
        raise FormatError(f"{_table_label(table)}: missing column 'Energy' ({table.colnames})")
    if format == "gadf":
        key = f"AXCOLS{idx + 1}"
        if key not in table.meta:
            raise FormatError(f"{_table_label(table)}: missing header key {key!r}")
        colnames = [c.strip() for c in str(table.meta[key]).split(",")]
        node_type = "edges" if len(colnames) == 2 else "center"
        if colnames[0] == "E_MIN":
            name = "energy"
        else:
            name = colnames[0].replace("_MIN", "").lower()
            if name == "theta":
                name = "rad"
        interp = str(table.meta.get(f"INTERP{idx + 1}", "lin")).strip()
        if node_type == "center":
            nodes = np.unique(_column_quantity(table, colnames[0]))
        else:
            edges_min = np.unique(_column_quantity(table, colnames[0]))
            edges_max = np.unique(_column_quantity(table, colnames[1]))
            nodes = _lo_hi_edges(edges_min, edges_max, table, colnames[:2])
        return MapAxis(nodes=nodes, node_type=node_type, interp=interp, name=name)
    if format == "gadf-dl3":
        if column_prefix not in IRF_DL3_AXES_SPECIFICATION:
            raise FormatError(f"Unknown 'gadf-dl3' column prefix {column_prefix!r}")
        spec = IRF_DL3_AXES_SPECIFICATION[column_prefix]
        name, interp = spec["name"], spec["interp"]
        if table.meta.get("HDUCLAS2") in {"BKG", "RAD_MAX"} and column_prefix == "ENERG":
            name = "energy"
        lo = np.atleast_1d(_column_quantity(table, f"{column_prefix}_LO")[0])
        hi = np.atleast_1d(_column_quantity(table, f"{column_prefix}_HI")[0])
        if np.allclose(hi.value, lo.to_value(hi.unit)):
            return MapAxis.from_nodes(hi, interp=interp, name=name)
        return MapAxis.from_edges(edges_from_lo_hi(lo, hi), interp=interp, name=name)
    if format == "gtpsf":
        if "Energy" in table.colnames:
            nodes = np.asarray(table["Energy"], dtype=float) * u.MeV
            return MapAxis.from_nodes(nodes, name="energy_true", interp="log")
        nodes = np.asarray(_column(table, "Theta"), dtype=float) * u.deg
        return MapAxis.from_nodes(nodes, name="rad")
    if format == "gadf-sed-energy":
        if "e_min" in table.colnames and "e_max" in table.colnames:
            e_min = _flat_if_equal(_column_quantity(table, "e_min"))
            e_max = _flat_if_equal(_column_quantity(table, "e_max"))
            unit = table["e_min"].unit
            edges = edges_from_lo_hi(u.Quantity(e_min, unit), u.Quantity(e_max, unit))
            return MapAxis.from_energy_edges(edges)
        if "e_ref" in table.colnames:
            e_ref = _flat_if_equal(table["e_ref"].quantity)
            return MapAxis.from_nodes(e_ref, name="energy", interp="log")
        raise FormatError(f"{_table_label(table)}: needs 'e_min' and 'e_max' or 'e_ref' columns")
    raise FormatError(f"Unknown axis table format {format!r}")


# ---------------------------------------------------------------------------- all axes
def axes_to_header(axes, format="gadf"):
    """``AXCOLS<i>``/``INTERP<i>`` keys (and the time reference of time axes)."""
    header = fits.Header()
    for idx, axis in enumerate(axes, start=1):
        header.update(axis.to_header(format=format, idx=idx))
    return header


def _axis_columns(axis):
    name = axis.name.upper()
    if name == "ENERGY":
        return ["ENERGY", "E_MIN", "E_MAX"]
    return [name, f"{name}_MIN", f"{name}_MAX"]


def axes_to_table(axes, format="gadf"):
    """BANDS table of a set of axes.

    Parameters
    ----------
    axes : `~fluxfit.maps.MapAxes`
    format : {"gadf", "fgst-ccube", "fgst-template", "gadf-dl3", "ogip", "ogip-sherpa", "ogip-arf"}

    Returns
    -------
    table : `~astropy.table.Table`
        For ``gadf``: ``CHANNEL`` (int64) plus centre/min/max columns of every axis, one
        row per bin combination with the first axis varying fastest (the order of the
        flattened map data).
    """
    from .label_axis import LabelMapAxis
    from .time_axis import TimeMapAxis

    if format == "gadf-dl3":
        return hstack([ax.to_table(format=format) for ax in axes])
    if format in ("ogip", "ogip-sherpa", "ogip-arf"):
        return axes["energy"].to_table(format=format)
    if format not in ("gadf", "fgst-ccube", "fgst-template"):
        raise FormatError(f"Unknown axes table format {format!r}")

    table = Table()
    shape = axes.shape
    table["CHANNEL"] = np.arange(int(np.prod(shape)), dtype=np.int64)
    # indexing="ij" over the reversed axes and ravel (C order) -> first axis fastest
    grids = np.meshgrid(*[np.arange(n) for n in shape[::-1]], indexing="ij")[::-1]
    for axis, grid in zip(axes, grids):
        idx = grid.ravel()
        values = [axis.center, axis.edges_min, axis.edges_max]
        for colname, value in zip(_axis_columns(axis), values):
            if isinstance(axis, LabelMapAxis) and colname != axis.name.upper():
                continue
            table[colname] = value[idx]
        if isinstance(axis, TimeMapAxis):
            from ._utils import time_ref_to_dict

            table.meta.update(time_ref_to_dict(axis.reference_time))
    return table


def _fermi_bands_hdu(axes, format):
    if len(axes) != 1 or not axes[0].is_energy_axis:
        raise FormatError(f"Format {format!r} needs a single energy axis, got {axes.names}")
    axis = axes[0]
    table = Table()
    if format == "fgst-ccube":
        edges = axis.edges.to("keV")
        table["CHANNEL"] = np.arange(1, axis.nbin + 1, dtype=np.int16)
        table["E_MIN"] = edges[:-1]
        table["E_MAX"] = edges[1:]
        hdu = fits.BinTableHDU(table, name="EBOUNDS")
        for key, value in axis_to_header(axis, format="ogip").items():
            if key != "EXTNAME":
                hdu.header[key] = value
        return hdu
    table["Energy"] = axis.center.to_value("MeV")
    return fits.BinTableHDU(table, name="ENERGIES")


def axes_to_table_hdu(axes, format="gadf", hdu_bands=None):
    """BANDS binary table HDU.

    ``gadf``: ``<hdu_bands>`` (default ``BANDS``) in the layout described above;
    ``fgst-ccube``: Fermi ``EBOUNDS`` (``CHANNEL`` from 1, ``E_MIN``/``E_MAX`` in keV);
    ``fgst-template``: Fermi ``ENERGIES`` (one ``Energy`` column of nodes in MeV);
    ``ogip``: OGIP ``EBOUNDS``.
    """
    if format in ("fgst-ccube", "fgst-template"):
        return _fermi_bands_hdu(axes, format)
    if format in ("ogip", "ogip-sherpa"):
        hdu_bands = "EBOUNDS"
    elif format == "gadf" or format is None:
        format = "gadf"
        hdu_bands = "BANDS" if hdu_bands is None else hdu_bands
    else:
        raise FormatError(f"Unknown BANDS format {format!r}")
    table = axes_to_table(axes, format=format)
    header = axes_to_header(axes, format="ogip" if format.startswith("ogip") else format)
    return fits.BinTableHDU(table, name=hdu_bands, header=header)


def _is_label_axis(table, idx):
    colnames = str(table.meta.get(f"AXCOLS{idx + 1}", "")).split(",")
    return (
        len(colnames) == 1
        and colnames[0] in table.colnames
        and table[colnames[0]].dtype.kind in ("U", "S")
    )


def _is_time_axis(table, idx):
    colnames = str(table.meta.get(f"AXCOLS{idx + 1}", "")).split(",")
    if len(colnames) != 2 or colnames[0] not in table.colnames:
        return False
    unit = table[colnames[0]].unit
    has_ref = "MJDREFI" in table.meta or "MJDREF" in table.meta
    return bool(has_ref and unit is not None and u.Unit(unit).is_equivalent("s"))


def axes_from_table(table, format="gadf"):
    """Read all axes of a BANDS/EBOUNDS/ENERGIES table.

    Parameters
    ----------
    table : `~astropy.table.Table`
    format : {"gadf", "gadf-dl3", "ogip", "ogip-arf", "fgst-ccube", "fgst-template",
              "fgst-bexpcube", "gadf-sed"}

    Returns
    -------
    axes : `~fluxfit.maps.MapAxes`
    """
    from .axes import MapAxes
    from .label_axis import LabelMapAxis
    from .time_axis import TimeMapAxis

    axes = []
    if format in _SINGLE_ENERGY_FORMATS:
        axes.append(axis_from_table(table, format=format))
    elif format == "gadf":
        for idx in range(10):
            if f"AXCOLS{idx + 1}" not in table.meta:
                break
            if _is_label_axis(table, idx):
                axes.append(LabelMapAxis.from_table(table, format="gadf", idx=idx))
            elif _is_time_axis(table, idx):
                axes.append(TimeMapAxis.from_table(table, format="gadf", idx=idx))
            else:
                axes.append(axis_from_table(table, format="gadf", idx=idx))
    elif format == "gadf-dl3":
        for prefix in IRF_DL3_AXES_SPECIFICATION:
            if f"{prefix}_LO" in table.colnames:
                axes.append(axis_from_table(table, format=format, column_prefix=prefix))
    elif format == "gadf-sed":
        if any(c in table.colnames for c in ("e_min", "e_ref")):
            axes.append(axis_from_table(table, format="gadf-sed-energy"))
    else:
        raise FormatError(f"Unknown axes table format {format!r}")
    return MapAxes(axes)
