"""`LabelMapAxis`: an axis of named bins (e.g. one bin per dataset in flux points).

Examples
--------
>>> from fluxfit.maps import LabelMapAxis
>>> axis = LabelMapAxis(["fermi", "hess", "hawc"], name="dataset")
>>> axis.nbin, axis.coord_to_idx(["hess"]).tolist()
(3, [1])
>>> axis.squash().center.tolist()
['fermi...hawc']
"""

from __future__ import annotations

import numpy as np
from astropy import units as u
from astropy.io import fits

from fluxfit.errors import DatasetError, FormatError

from ._utils import INVALID_INDEX

__all__ = ["LabelMapAxis"]


class LabelMapAxis:
    """Axis whose bins are labels (strings) instead of intervals.

    Parameters
    ----------
    labels : list of str
        Unique labels, in bin order.
    name : str
        Axis name, e.g. ``"dataset"``.
    """

    node_type = "label"
    interp = "lin"

    def __init__(self, labels, name=""):
        labels = np.array(labels)
        if len(np.unique(labels)) != len(labels):
            raise DatasetError(
                f"LabelMapAxis {name!r}: labels must be unique, got {labels.tolist()}"
            )
        self._labels = labels
        self._name = name

    @property
    def name(self):
        """Axis name."""
        return self._name

    @property
    def unit(self):
        """Always dimensionless."""
        return u.Unit("")

    @property
    def nbin(self):
        """Number of labels."""
        return len(self._labels)

    @property
    def center(self):
        """The labels (array of str)."""
        return self._labels

    @property
    def edges(self):
        raise DatasetError(f"LabelMapAxis {self.name!r} has no edges")

    @property
    def edges_min(self):
        """The labels (for table layouts)."""
        return self._labels

    @property
    def edges_max(self):
        """The labels (for table layouts)."""
        return self._labels

    @property
    def bin_width(self):
        """Unit widths."""
        return np.ones(self.nbin)

    @property
    def as_plot_center(self):
        """Bin positions 0..n-1 for plotting."""
        return np.arange(self.nbin)

    @property
    def as_plot_edges(self):
        """Bin edges for plotting."""
        return np.arange(self.nbin + 1) - 0.5

    @property
    def as_plot_xerr(self):
        """Half-bin x errors."""
        return 0.5 * np.ones(self.nbin)

    @property
    def as_plot_labels(self):
        """Labels as a list."""
        return self._labels.tolist()

    def format_plot_xaxis(self, ax):
        """Put the labels on a matplotlib x axis."""
        ax.set_xticks(self.as_plot_center)
        ax.set_xticklabels(self.as_plot_labels, rotation=30, ha="right", rotation_mode="anchor")
        return ax

    def coord_to_idx(self, coord, **kwargs):
        """Index of each label (raises `~fluxfit.errors.DatasetError` for unknown labels)."""
        coord = np.array(coord)[..., np.newaxis]
        is_equal = coord == self._labels
        found = np.any(is_equal, axis=-1)
        if not np.all(found):
            raise DatasetError(
                f"LabelMapAxis {self.name!r}: unknown label(s) {coord[~found].ravel().tolist()}"
            )
        return np.argmax(is_equal, axis=-1)

    def coord_to_pix(self, coord):
        """Pixel (= index, as float) of each label."""
        return self.coord_to_idx(coord).astype(float)

    def pix_to_coord(self, pix):
        """Label at each (rounded) pixel."""
        return self._labels[np.round(pix).astype(int)]

    def pix_to_idx(self, pix, clip=False):
        """Clip or flag out-of-range pixels."""
        pix = np.asarray(pix)
        if clip:
            return np.clip(pix, 0, self.nbin - 1)
        return np.where((pix < 0) | (pix >= self.nbin), INVALID_INDEX, pix)

    def assert_name(self, required_name):
        """Raise `~fluxfit.errors.DatasetError` if the name differs."""
        if self.name != required_name:
            raise DatasetError(
                f"Unexpected axis name: expected {required_name!r}, got {self.name!r}"
            )

    def copy(self, **kwargs):
        """Copy, overriding ``labels`` or ``name``."""
        args = {"labels": self._labels.copy(), "name": self._name}
        args.update(kwargs)
        return self.__class__(**args)

    def slice(self, idx):
        """Sub-axis of a slice of labels."""
        if isinstance(idx, int | np.integer):
            idx = slice(int(idx), int(idx) + 1)
        return self.__class__(self._labels[idx], name=self.name)

    def squash(self):
        """Single label ``"first...last"``."""
        return self.__class__([f"{self._labels[0]}...{self._labels[-1]}"], name=self.name)

    def concatenate(self, axis):
        """Append the labels of another label axis with the same name."""
        if not isinstance(axis, LabelMapAxis) or axis.name != self.name:
            raise DatasetError(f"Cannot concatenate {axis!r} to LabelMapAxis {self.name!r}")
        return self.__class__(np.append(self._labels, axis.center), name=self.name)

    @classmethod
    def from_stack(cls, axes):
        """Concatenate several label axes."""
        stacked = axes[0]
        for axis in axes[1:]:
            stacked = stacked.concatenate(axis)
        return stacked

    def upsample(self, *args, **kwargs):
        raise DatasetError("A LabelMapAxis cannot be upsampled: its bins are labels")

    def downsample(self, *args, **kwargs):
        raise DatasetError("A LabelMapAxis cannot be downsampled: its bins are labels")

    def pad(self, *args, **kwargs):
        raise DatasetError("A LabelMapAxis cannot be padded: its bins are labels")

    def is_allclose(self, other, **kwargs):
        """Same name (case-insensitive) and labels."""
        if not isinstance(other, LabelMapAxis) or self.nbin != other.nbin:
            return False
        return bool(self.name.upper() == other.name.upper() and np.all(self.center == other.center))

    def __eq__(self, other):
        return self.is_allclose(other)

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        return id(self)

    def __repr__(self):
        return f"LabelMapAxis(name={self.name!r}, labels={self._labels.tolist()})"

    def to_header(self, format="gadf", idx=0):
        """``AXCOLS<idx>`` key (the label column name)."""
        if format != "gadf":
            raise FormatError(f"LabelMapAxis header format must be 'gadf', got {format!r}")
        header = fits.Header()
        header[f"AXCOLS{idx}"] = self.name.upper()
        return header

    @classmethod
    def from_table(cls, table, format="gadf", idx=0):
        """Label axis from the string column named by ``AXCOLS<idx + 1>``."""
        if format != "gadf":
            raise FormatError(f"LabelMapAxis table format must be 'gadf', got {format!r}")
        colname = table.meta.get(f"AXCOLS{idx + 1}")
        if colname is None or colname not in table.colnames:
            raise FormatError(f"label axis table: missing column {colname!r}")
        column = table[colname]
        if column.dtype.kind not in ("U", "S"):
            raise FormatError(
                f"label axis column {colname!r} must hold strings, got {column.dtype}"
            )
        labels = np.array(column.data).astype(str)
        _, first = np.unique(labels, return_index=True)
        return cls(labels=labels[np.sort(first)], name=colname.lower())
