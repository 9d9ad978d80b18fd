"""``fluxfit info FILE``: describe any file fluxfit reads, as readable tables.

The kind of file is recognised from its content (HDU names, header keywords,
YAML keys), not from its name: OGIP spectra (PHA I/II), backgrounds, ARF,
RMF/RSP, GADF DL3 index tables and event lists, map datasets and maps, flux
points, model and dataset YAML files, saved analysis results.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy.table import Table

from fluxfit.errors import FormatError, MissingFileError

__all__ = ["describe"]


def _table_text(rows, names) -> str:
    table = Table(rows=rows, names=names) if rows else Table(names=names)
    return "\n".join(table.pformat(max_lines=-1, max_width=-1))


def _hdu_summary(hdulist) -> str:
    rows = []
    for index, hdu in enumerate(hdulist):
        shape = "" if hdu.data is None else str(getattr(hdu.data, "shape", ""))
        rows.append((index, hdu.name, type(hdu).__name__, shape))
    return _table_text(rows, ("index", "name", "type", "shape"))


def describe(path) -> str:
    """A text description of the file at ``path`` (raises fluxfit errors for bad files)."""
    path = Path(path)
    if not path.exists():
        raise MissingFileError(f"{path} does not exist")
    if path.is_dir():
        return _describe_folder(path)
    name = path.name.lower()
    if name.endswith((".yaml", ".yml")):
        return _describe_yaml(path)
    if name.endswith(".ecsv"):
        return _describe_flux_points(path)
    return _describe_fits(path)


def _describe_folder(path: Path) -> str:
    files = sorted(p.name for p in path.iterdir())
    lines = [f"{path}: folder with {len(files)} entries"]
    lines += [f"  {name}" for name in files[:50]]
    return "\n".join(lines)


def _describe_yaml(path: Path) -> str:
    import yaml

    try:
        data = yaml.safe_load(path.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise FormatError(f"{path}: not a YAML file ({exc})") from None
    if isinstance(data, dict) and "components" in data:
        from fluxfit.models import Models

        models = Models.read(path)
        return f"{path}: models YAML\n\n{models}"
    if isinstance(data, dict) and "datasets" in data:
        rows = [
            (d.get("name", ""), d.get("type", ""), d.get("filename", ""))
            for d in data["datasets"]
            if isinstance(d, dict)
        ]
        return f"{path}: datasets YAML\n\n" + _table_text(rows, ("name", "type", "filename"))
    raise FormatError(f"{path}: YAML without 'components' or 'datasets': not a fluxfit file")


def _describe_flux_points(path: Path) -> str:
    from fluxfit.datasets import FluxPoints

    points = FluxPoints.read(path)
    return f"{path}: flux points\n\n{points}"


def _describe_fits(path: Path) -> str:
    from astropy.io import fits

    from fluxfit._files import check_fits_sizes

    check_fits_sizes(path)  # NAXIS out of range, data declared beyond the file's end
    try:
        hdulist = fits.open(path, memmap=False)
    except (OSError, ValueError) as exc:
        raise FormatError(f"{path}: cannot be read as FITS ({exc})") from None
    with hdulist:
        names = {hdu.name for hdu in hdulist}
        header = hdulist[1].header if len(hdulist) > 1 else hdulist[0].header
        lines = []
        if "SPECTRUM" in names:
            lines.append(_describe_pha(path, hdulist))
        elif "SPECRESP" in names and "MATRIX" not in names:
            lines.append(_describe_arf(path))
        elif {"MATRIX", "SPECRESP MATRIX"} & names:
            lines.append(_describe_rmf(path))
        elif "HDU_INDEX" in names or "OBS_INDEX" in names:
            lines.append(_describe_index(path, hdulist))
        elif "EVENTS" in names:
            lines.append(_describe_events(path, hdulist))
        elif "COUNTS" in names and "COUNTS_BANDS" in names:
            lines.append(_describe_map_dataset(path, hdulist))
        elif _looks_like_flux_points(hdulist):
            lines.append(_describe_flux_points(path))
        elif "ANALYSIS_RESULTS" in names or header.get("FFTYPE") == "AnalysisResults":
            lines.append(_describe_results(path))
        else:
            lines.append(f"{path}: FITS file of a kind fluxfit does not recognise")
        lines += ["", "HDUs:", _hdu_summary(hdulist)]
    return "\n".join(lines)


def _looks_like_flux_points(hdulist) -> bool:
    if len(hdulist) < 2 or not hasattr(hdulist[1], "columns"):
        return False
    columns = {c.lower() for c in hdulist[1].columns.names}
    return "SED_TYPE" in hdulist[1].header or bool({"e_ref", "e_min", "x_min"} & columns)


def _describe_pha(path, hdulist) -> str:
    from fluxfit.datasets.ogip import read_pha

    spectrum_hdu = hdulist["SPECTRUM"]
    n_rows = len(spectrum_hdu.data)
    column = "COUNTS" if "COUNTS" in spectrum_hdu.columns.names else "RATE"
    is_type2 = column in spectrum_hdu.columns.names and spectrum_hdu.data[column].ndim > 1
    pha_type = "II" if is_type2 else "I"
    spectrum = read_pha(path, spectrum_number=1 if pha_type == "II" else None)
    kind = "background" if spectrum.is_background else "spectrum"
    rows = [
        ("channels", spectrum.n_channels),
        ("counts (sum)", float(np.sum(spectrum.counts))),
        ("exposure (s)", spectrum.exposure),
        ("BACKSCAL", np.mean(spectrum.backscal)),
        ("AREASCAL", np.mean(spectrum.areascal)),
        ("good channels (QUALITY 0)", int(np.sum(spectrum.quality == 0))),
        ("Poisson errors", spectrum.is_poisson),
    ]
    for key, value in spectrum.filenames.items():
        if value:
            rows.append((key, value))
    for key in ("TELESCOP", "INSTRUME", "OBJECT"):
        if spectrum.meta.get(key):
            rows.append((key, spectrum.meta[key]))
    text = f"{path}: OGIP PHA type {pha_type} {kind}"
    if pha_type == "II":
        text += f" ({n_rows} spectra; row 1 shown)"
    rows = [(k, str(v)) for k, v in rows]
    return text + "\n\n" + _table_text(rows, ("field", "value"))


def _describe_arf(path) -> str:
    from fluxfit.datasets.ogip import read_arf

    arf = read_arf(path)
    area = arf.effective_area
    edges = area.energy_true_edges
    rows = [
        ("true-energy bins", area.n_true),
        ("energy range", f"{edges[0]:.4g} - {edges[-1]:.4g}"),
        ("max area", f"{area.area.max():.4g}"),
    ]
    return f"{path}: OGIP ARF\n\n" + _table_text([(k, str(v)) for k, v in rows], ("field", "value"))


def _describe_rmf(path) -> str:
    from fluxfit.datasets.ogip import count_response_matrices, read_rmf

    rmf = read_rmf(path)
    edisp = rmf.edisp
    rows = [
        ("matrices", count_response_matrices(path)),
        ("true-energy bins x channels", f"{edisp.n_true} x {edisp.n_channels}"),
        ("true energies", f"{edisp.energy_true_edges[0]:.4g} - {edisp.energy_true_edges[-1]:.4g}"),
        ("channel energies", f"{edisp.energy_edges[0]:.4g} - {edisp.energy_edges[-1]:.4g}"),
        ("effective area included (RSP)", rmf.includes_effective_area),
        ("storage", f"{edisp.storage} (density {edisp.density:.3f})"),
        ("first channel", rmf.first_channel),
    ]
    kind = "RSP" if rmf.includes_effective_area else "RMF"
    return f"{path}: OGIP {kind}\n\n" + _table_text(
        [(k, str(v)) for k, v in rows], ("field", "value")
    )


def _describe_index(path, hdulist) -> str:
    name = "HDU_INDEX" if "HDU_INDEX" in {h.name for h in hdulist} else "OBS_INDEX"
    table = Table.read(hdulist[name])
    text = f"{path}: GADF DL3 {name.lower().replace('_', ' ')} table, {len(table)} rows"
    if "OBS_ID" in table.colnames:
        text += f", {len(np.unique(table['OBS_ID']))} observations"
    columns = [c for c in table.colnames][:8]
    return text + "\n\n" + "\n".join(table[columns][:10].pformat(max_width=-1))


def _describe_events(path, hdulist) -> str:
    events = hdulist["EVENTS"]
    header = events.header
    n = len(events.data)
    rows = [("events", n)]
    for key in ("OBS_ID", "TELESCOP", "OBJECT", "RA_PNT", "DEC_PNT", "LIVETIME", "ONTIME", "DEADC"):
        if key in header:
            rows.append((key, header[key]))
    if "ENERGY" in events.columns.names and n:
        energy = events.data["ENERGY"]
        rows.append(
            (
                "energy range",
                f"{energy.min():.4g} - {energy.max():.4g} {events.columns['ENERGY'].unit or ''}",
            )
        )
    return f"{path}: GADF DL3 event list\n\n" + _table_text(
        [(k, str(v)) for k, v in rows], ("field", "value")
    )


def _describe_map_dataset(path, hdulist) -> str:
    rows = []
    for hdu in hdulist[1:]:
        if hdu.name.endswith("_BANDS") or hdu.data is None:
            continue
        data = hdu.data
        if hasattr(data, "columns"):
            rows.append((hdu.name, "table", len(data), ""))
        else:
            rows.append((hdu.name, "image", str(data.shape), f"{np.nansum(data):.6g}"))
    return f"{path}: map dataset (Gammapy layout)\n\n" + _table_text(
        rows, ("HDU", "kind", "shape", "sum")
    )


def _describe_results(path) -> str:
    try:
        from fluxfit.results import AnalysisResults
    except ImportError:  # pragma: no cover - results layer absent
        return f"{path}: saved analysis results"
    results = AnalysisResults.read(path)
    return f"{path}: saved analysis results\n\n{results}"
