"""The datasets YAML: read and write several datasets with their models (Gammapy layout).

A datasets YAML lists one entry per dataset::

    datasets:
    -   name: Fermi-LAT
        type: MapDataset
        filename: Fermi-LAT.fits

`read_datasets` resolves each ``filename`` (``$VARIABLES`` such as ``$GAMMAPY_DATA``
are expanded from the environment, or, when unset, by finding the rest of the path
above the YAML file; relative names are looked up beside the YAML file), reads the
data file with the reader registered for ``type`` and assigns the models of an
optional models YAML. `write_datasets` writes ``<prefix>_datasets.yaml``,
``<prefix>_models.yaml`` (+ ``_covariance.dat``) and one data file per dataset --
the same files Gammapy 2.1's ``Datasets.write`` produces:

=========================  ===========================  =================================
type                       data file                    format
=========================  ===========================  =================================
``MapDataset``             ``<name>.fits``              Gammapy map dataset (WCS maps)
``SpectrumDatasetOnOff``   ``pha_obs<name>.fits``       Gammapy region maps (``gadf``)
                                                        or OGIP (``onoff_format="ogip"``)
``SpectrumDataset``        ``<name>.fits``              Gammapy region maps
``FluxPointsDataset``      ``<name>.fits``              flux points table + masks
=========================  ===========================  =================================

Other dataset types plug in with `register_dataset_io`.

Examples
--------
>>> from fluxfit.datasets.io import read_datasets
>>> # datasets = read_datasets("$GAMMAPY_DATA/fermi-3fhl-crab/Fermi-LAT-3FHL_datasets.yaml",
>>> #                          "$GAMMAPY_DATA/fermi-3fhl-crab/Fermi-LAT-3FHL_models.yaml")
>>> # write_datasets(datasets, "out", prefix="crab", overwrite=True)
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from fluxfit.errors import (
    DatasetError,
    FluxfitError,
    FormatError,
    MissingFileError,
    OverwriteError,
    PathSafetyError,
    short_repr,
)

log = logging.getLogger(__name__)

__all__ = [
    "read_datasets",
    "write_datasets",
    "register_dataset_io",
    "resolve_filename",
    "DATASET_IO",
]


@dataclass
class DatasetIO:
    """How one dataset type is read and written.

    Attributes
    ----------
    read : callable
        ``read(filename, name) -> dataset``.
    write : callable
        ``write(dataset, filename, overwrite) -> None``.
    filename : callable
        ``filename(dataset) -> str``: the data file name in the written folder.
    """

    read: object
    write: object
    filename: object


def _read_map(filename, name):
    from fluxfit.datasets.map import MapDataset

    return MapDataset.read(filename, name=name)


def _write_map(dataset, filename, overwrite):
    dataset.write(filename, overwrite=overwrite)


def _read_spectrum(filename, name):
    """Gammapy-layout (gadf) spectrum files, or OGIP PHA files."""
    from fluxfit.datasets.map_io import is_gadf_dataset_file, read_spectrum_dataset_gadf

    if is_gadf_dataset_file(filename):
        return read_spectrum_dataset_gadf(filename, name=name)
    from fluxfit.datasets.spectrum_onoff import SpectrumDatasetOnOff

    return SpectrumDatasetOnOff.read(filename, name=name)


def _write_spectrum_gadf(dataset, filename, overwrite):
    from fluxfit.datasets.map_io import write_spectrum_dataset_gadf

    write_spectrum_dataset_gadf(dataset, filename, overwrite=overwrite)


def _read_flux_points(filename, name):
    cls = _flux_points_dataset_class()
    return cls.read(filename, name=name)


def _write_flux_points(dataset, filename, overwrite):
    dataset.write(filename, overwrite=overwrite)


def _flux_points_dataset_class():
    try:
        from fluxfit.datasets import FluxPointsDataset

        return FluxPointsDataset
    except ImportError:
        pass
    try:
        from fluxfit.datasets.flux_points_dataset import FluxPointsDataset

        return FluxPointsDataset
    except ImportError as exc:
        raise DatasetError(
            "FluxPointsDataset is not available in this fluxfit version; cannot read or "
            "write flux points datasets"
        ) from exc


DATASET_IO: dict[str, DatasetIO] = {
    "MapDataset": DatasetIO(_read_map, _write_map, lambda d: f"{d.name}.fits"),
    "SpectrumDatasetOnOff": DatasetIO(
        _read_spectrum, _write_spectrum_gadf, lambda d: f"pha_obs{d.name}.fits"
    ),
    "SpectrumDataset": DatasetIO(_read_spectrum, _write_spectrum_gadf, lambda d: f"{d.name}.fits"),
    "FluxPointsDataset": DatasetIO(
        _read_flux_points, _write_flux_points, lambda d: f"{d.name}.fits"
    ),
}


def register_dataset_io(tag: str, read, write, filename) -> None:
    """Register (or replace) the reader, writer and file naming of a dataset type.

    Parameters
    ----------
    tag : str
        The ``type`` in the datasets YAML (the dataset class's ``tag``).
    read : callable
        ``read(filename, name) -> dataset``.
    write : callable
        ``write(dataset, filename, overwrite)``.
    filename : callable
        ``filename(dataset) -> str``.
    """
    DATASET_IO[tag] = DatasetIO(read, write, filename)


# ---------------------------------------------------------------------- filenames
_VARIABLE = re.compile(r"\$(\w+)|\$\{(\w+)\}")


def resolve_filename(filename, base_dir=None) -> Path:
    """Resolve a file name from a datasets or models YAML.

    ``$VARIABLE`` / ``${VARIABLE}`` are replaced by environment variables; an unset
    variable at the start of the path (e.g. ``$GAMMAPY_DATA/fermi-3fhl-crab/x.fits``)
    is resolved by looking for the rest of the path in ``base_dir`` and its parents.
    Relative paths are taken relative to ``base_dir`` when the file exists there.

    Raises
    ------
    MissingFileError
        When no existing file matches.
    """
    text = str(filename)
    base = Path(base_dir) if base_dir is not None else None
    match = _VARIABLE.match(text)
    if match:
        variable = match.group(1) or match.group(2)
        value = os.environ.get(variable)
        rest = text[match.end() :].lstrip("/\\")
        if value:
            path = Path(value).expanduser() / rest
            if path.exists():
                return path
        if base is not None:
            for folder in [base, *base.resolve().parents]:
                candidate = folder / rest
                if candidate.exists():
                    return candidate
        raise MissingFileError(
            f"cannot resolve {text!r}: ${variable} is "
            f"{'unset' if not value else repr(value)} and {rest!r} is not found above "
            f"{str(base) if base is not None else 'the current folder'}"
        )
    path = Path(os.path.expandvars(text)).expanduser()
    if not path.is_absolute() and base is not None and (base / path).exists():
        return base / path
    if path.exists():
        return path
    raise MissingFileError(f"data file {text!r} not found (looked in {str(base or Path.cwd())!r})")


# --------------------------------------------------------------------------- read
def read_datasets(filename, filename_models=None):
    """Read the datasets listed in a datasets YAML, and their models.

    Parameters
    ----------
    filename : str or Path
        Datasets YAML (``$VARIABLES`` allowed).
    filename_models : str or Path, optional
        Models YAML; its models are assigned to the datasets.

    Returns
    -------
    `~fluxfit.datasets.Datasets`
    """
    from fluxfit.datasets.core import Datasets

    path = resolve_filename(filename)
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise FormatError(f"{path}: not valid YAML ({exc})") from None
    except UnicodeDecodeError as exc:
        raise FormatError(f"{path}: not a UTF-8 text file ({exc})") from None
    except (ValueError, TypeError, KeyError, OverflowError) as exc:  # "!!float abc", "!!bool x"
        raise FormatError(f"{path}: a tagged YAML value cannot be built ({exc})") from None
    except RecursionError:
        raise FormatError(f"{path}: YAML nested too deeply") from None
    if not isinstance(data, dict) or not isinstance(data.get("datasets"), list):
        raise FormatError(f"{path}: expected a mapping with a 'datasets' list")
    datasets = []
    for i, entry in enumerate(data["datasets"]):
        where = f"{path}: datasets[{i}]"
        if not isinstance(entry, dict):
            raise FormatError(f"{where} is not a mapping")
        for key in ("name", "type", "filename"):
            if key not in entry:
                raise FormatError(f"{where}: missing key {key!r}")
        tag = entry["type"]
        if not isinstance(tag, str) or tag not in DATASET_IO:
            raise FormatError(
                f"{where}: unknown dataset type {short_repr(tag)}; known: {sorted(DATASET_IO)}"
            )
        for key in ("name", "filename"):
            if not isinstance(entry[key], str | int | float) or "\x00" in str(entry[key]):
                raise FormatError(f"{where}: key {key!r} = {short_repr(entry[key])} is not a name")
        try:
            data_file = resolve_filename(entry["filename"], path.parent)
        except FluxfitError as exc:
            raise type(exc)(f"{where}: {exc}") from None
        if not data_file.resolve().is_relative_to(path.parent.resolve()):
            # Gammapy's YAMLs name $GAMMAPY_DATA files: allowed, but said
            log.warning(
                "%s: filename %r reads %s, outside the folder of the datasets file",
                where,
                str(entry["filename"]),
                data_file.resolve(),
            )
        try:
            datasets.append(DATASET_IO[tag].read(data_file, str(entry["name"])))
        except FluxfitError as exc:
            raise type(exc)(f"{where} ({tag} {str(data_file)!r}): {exc}") from None
    try:
        datasets = Datasets(datasets)
    except FluxfitError as exc:  # e.g. two datasets of one name
        raise type(exc)(f"{path}: {exc}") from None
    if filename_models is not None:
        from fluxfit.models import Models

        datasets.models = Models.read(resolve_filename(filename_models, path.parent))
    return datasets


# -------------------------------------------------------------------------- write
def _metadata() -> dict:
    from datetime import datetime

    from fluxfit import __version__

    return {"creator": f"fluxfit {__version__}", "date": datetime.now().isoformat(), "origin": None}


def write_datasets(
    datasets,
    path,
    prefix: str = "",
    overwrite: bool = False,
    write_covariance: bool = True,
    onoff_format: str = "gadf",
) -> dict:
    """Write datasets, models and data files into the folder ``path``.

    Parameters
    ----------
    datasets : `~fluxfit.datasets.Datasets`
    path : str or Path
        Folder (created if needed).
    prefix : str
        File name prefix: ``<prefix>_datasets.yaml`` and ``<prefix>_models.yaml``
        (``datasets.yaml`` / ``models.yaml`` without one).
    overwrite : bool
        Replace existing files (else `~fluxfit.errors.OverwriteError`).
    write_covariance : bool
        Also write ``<prefix>_models_covariance.dat``.
    onoff_format : {"gadf", "ogip"}
        ON/OFF spectra as one Gammapy-layout file (default, as Gammapy 2.1) or as
        OGIP files (PHA + BKG + ARF + RMF).

    Returns
    -------
    dict
        ``{"datasets": Path, "models": Path or None (no models), "files": [Path, ...]}``.
    """
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{prefix}_" if prefix else ""
    datasets_path = folder / f"{stem}datasets.yaml"
    models_path = folder / f"{stem}models.yaml"
    entries, files = [], []
    for dataset in datasets:
        tag = dataset.tag
        if tag not in DATASET_IO:
            raise DatasetError(f"write_datasets: no writer for dataset type {tag!r}")
        io = DATASET_IO[tag]
        name = io.filename(dataset)
        target = folder / name
        if Path(name).name != name or target.resolve().parent != folder.resolve():
            raise PathSafetyError(
                f"write_datasets: dataset name {dataset.name!r} gives the file name {name!r}, "
                f"which is not a plain file name inside {str(folder)!r}; rename the dataset"
            )
        if tag == "SpectrumDatasetOnOff" and onoff_format == "ogip":
            dataset.write(target, overwrite=overwrite)
        else:
            if target.exists() and not overwrite:
                raise OverwriteError(f"{target} exists; pass overwrite=True to replace it")
            io.write(dataset, target, overwrite)
        files.append(target)
        entries.append({"name": dataset.name, "type": tag, "filename": name})
    if datasets_path.exists() and not overwrite:
        raise OverwriteError(f"{datasets_path} exists; pass overwrite=True to replace it")
    text = yaml.safe_dump(
        {"datasets": entries, "metadata": _metadata()},
        sort_keys=False,
        indent=4,
        default_flow_style=False,
    )
    datasets_path.write_text(text)
    models = datasets.models
    if len(models) == 0:
        models_path = None
    else:
        models.write(models_path, overwrite=overwrite, write_covariance=write_covariance)
    return {"datasets": datasets_path, "models": models_path, "files": files}
