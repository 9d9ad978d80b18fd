"""The compressed row layout of OGIP response matrices (CAL/GEN/92-002), vectorised.

Each row ``i`` (true-energy bin) of an OGIP MATRIX table stores ``N_GRP[i]``
groups of consecutive channels: group ``g`` starts at channel ``F_CHAN[i][g]``
and spans ``N_CHAN[i][g]`` channels; the row's MATRIX entry holds the values of
all its groups one after the other. Channel numbers start at the ``TLMIN`` of
the F_CHAN column (the "first channel", often 0 or 1).

Columns come in three shapes (variable-length arrays, fixed-length vectors,
scalars). Readers pass each column here as a *ragged* pair ``(flat, lengths)``:
the concatenation of the per-row values and the number of values per row. Only
the first ``N_GRP[i]`` groups and the first ``sum(N_CHAN[i])`` values of a row
are used (fixed-length columns are padded).

`unpack_groups` builds a `scipy.sparse.csr_matrix` with no Python loop over
rows; `pack_groups` does the reverse for writers, one group per run of
consecutive non-zero channels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from fluxfit.errors import FormatError

__all__ = ["RaggedColumn", "PackedGroups", "take_row_prefix", "unpack_groups", "pack_groups"]


@dataclass(frozen=True)
class RaggedColumn:
    """Per-row values of a table column: ``flat`` concatenated, ``lengths`` per row."""

    flat: np.ndarray
    lengths: np.ndarray

    @classmethod
    def from_fixed(cls, values) -> RaggedColumn:
        """From a scalar column ``(n_rows,)`` or a fixed-length vector column ``(n_rows, m)``."""
        values = np.asarray(values)
        n_rows = values.shape[0]
        if values.ndim == 1:
            return cls(values, np.ones(n_rows, dtype=np.int64))
        per_row = values.reshape(n_rows, -1)
        return cls(per_row.ravel(), np.full(n_rows, per_row.shape[1], dtype=np.int64))

    @classmethod
    def from_rows(cls, rows) -> RaggedColumn:
        """From a sequence of 1-D arrays (one per row)."""
        lengths = np.fromiter((len(row) for row in rows), dtype=np.int64, count=len(rows))
        if lengths.sum() == 0:
            flat = np.zeros(0, dtype=np.asarray(rows[0]).dtype if len(rows) else np.float64)
        else:
            flat = np.concatenate([np.asarray(row).ravel() for row in rows])
        return cls(flat, lengths)


def _starts(lengths: np.ndarray) -> np.ndarray:
    starts = np.zeros(len(lengths), dtype=np.int64)
    if len(lengths) > 1:
        np.cumsum(lengths[:-1], out=starts[1:])
    return starts


def take_row_prefix(column: RaggedColumn, take: np.ndarray) -> np.ndarray:
    """The first ``take[i]`` values of each row ``i``, concatenated.

    The caller checks ``take <= column.lengths``.
    """
    take = np.asarray(take, dtype=np.int64)
    if np.array_equal(take, column.lengths):
        return column.flat
    total = int(take.sum())
    within = np.arange(total, dtype=np.int64) - np.repeat(_starts(take), take)
    return column.flat[np.repeat(_starts(column.lengths), take) + within]


def _first_row_where(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _channel_numbers(values: np.ndarray, name: str, where: str) -> np.ndarray:
    """F_CHAN / N_CHAN values as int64; non-integer or huge values raise `FormatError`."""
    values = np.asarray(values)
    if values.dtype.kind in "iub":
        return values.astype(np.int64)
    if values.dtype.kind != "f":
        raise FormatError(f"{where}: column {name} holds {values.dtype} values, expected integers")
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(values) | (values != np.round(values)) | (np.abs(values) > 2.0**62)
    if np.any(bad):
        index = int(np.flatnonzero(bad)[0])
        raise FormatError(
            f"{where}: column {name} value {index} (in row order) is {float(values[index])!r}, "
            "not an integer channel number"
        )
    return values.astype(np.int64)


def unpack_groups(
    n_grp,
    f_chan: RaggedColumn,
    n_chan: RaggedColumn,
    matrix: RaggedColumn,
    first_channel: int,
    n_channels: int,
    where: str = "MATRIX",
) -> sp.csr_matrix:
    """Build the ``(n_rows, n_channels)`` CSR matrix from OGIP groups.

    Parameters
    ----------
    n_grp : array-like
        N_GRP per row.
    f_chan, n_chan, matrix : `RaggedColumn`
        F_CHAN, N_CHAN and MATRIX columns.
    first_channel : int
        Channel number of the first channel (TLMIN of F_CHAN).
    n_channels : int
        Number of channels (DETCHANS).
    where : str
        "file, HDU" prefix for error messages.
    """
    n_grp = np.asarray(n_grp, dtype=np.int64).ravel()
    n_rows = n_grp.size
    for name, column in (("F_CHAN", f_chan), ("N_CHAN", n_chan), ("MATRIX", matrix)):
        if column.lengths.size != n_rows:
            raise FormatError(
                f"{where}: column {name} has {column.lengths.size} rows, N_GRP has {n_rows}"
            )
    if np.any(n_grp < 0):
        row = _first_row_where(n_grp < 0)
        raise FormatError(f"{where}: column N_GRP row {row} is negative ({n_grp[row]})")
    for name, column in (("F_CHAN", f_chan), ("N_CHAN", n_chan)):
        short = column.lengths < n_grp
        if np.any(short):
            row = _first_row_where(short)
            raise FormatError(
                f"{where}: column {name} row {row} holds {column.lengths[row]} values but "
                f"N_GRP = {n_grp[row]}"
            )
    group_first = _channel_numbers(take_row_prefix(f_chan, n_grp), "F_CHAN", where)
    group_first -= int(first_channel)
    group_size = _channel_numbers(take_row_prefix(n_chan, n_grp), "N_CHAN", where)
    group_row = np.repeat(np.arange(n_rows, dtype=np.int64), n_grp)
    outside = (group_first < 0) | (group_first + group_size > n_channels)
    bad = (group_size < 0) | (outside & (group_size > 0))
    if np.any(bad):
        index = _first_row_where(bad)
        raise FormatError(
            f"{where}: row {group_row[index]} has a group F_CHAN = "
            f"{group_first[index] + first_channel}, N_CHAN = {group_size[index]} outside the "
            f"channels {first_channel}..{first_channel + n_channels - 1} (TLMIN of F_CHAN = "
            f"{first_channel}, DETCHANS = {n_channels})"
        )
    values_per_row = np.bincount(group_row, weights=group_size, minlength=n_rows).astype(np.int64)
    short = matrix.lengths < values_per_row
    if np.any(short):
        row = _first_row_where(short)
        raise FormatError(
            f"{where}: column MATRIX row {row} holds {matrix.lengths[row]} values but its "
            f"groups need {values_per_row[row]}"
        )
    values = take_row_prefix(matrix, values_per_row).astype(np.float64)
    if not np.all(np.isfinite(values)):
        first = _first_row_where(~np.isfinite(values))
        row = int(np.searchsorted(np.cumsum(values_per_row), first, side="right"))
        raise FormatError(f"{where}: column MATRIX row {row} holds a non-finite value")
    n_values = values.size
    index_dtype = np.int32 if max(n_values, n_channels) < 2**31 - 1 else np.int64
    # channel of each value: its group's first channel + its position in the group
    columns = np.arange(n_values, dtype=index_dtype)
    columns -= np.repeat((_starts(group_size) - group_first).astype(index_dtype), group_size)
    indptr = np.zeros(n_rows + 1, dtype=index_dtype)
    np.cumsum(values_per_row, out=indptr[1:])
    csr = sp.csr_matrix((values, columns, indptr), shape=(n_rows, int(n_channels)))
    return csr


@dataclass(frozen=True)
class PackedGroups:
    """OGIP groups of a matrix: N_GRP per row, F_CHAN/N_CHAN/MATRIX as ragged columns."""

    n_grp: np.ndarray
    f_chan: RaggedColumn
    n_chan: RaggedColumn
    matrix: RaggedColumn

    @property
    def numgrp(self) -> int:
        """Total number of groups (the NUMGRP keyword)."""
        return int(self.n_grp.sum())

    @property
    def numelt(self) -> int:
        """Total number of matrix elements (the NUMELT keyword)."""
        return int(self.matrix.flat.size)


def _is_canonical(csr: sp.csr_matrix) -> bool:
    return bool(csr.has_canonical_format) and not np.any(csr.data == 0)


def pack_groups(matrix, first_channel: int) -> PackedGroups:
    """Compress a matrix into OGIP groups: one per run of consecutive non-zero channels.

    A canonical float64 CSR matrix (sorted, no duplicates, no explicit zeros) is
    used as is, without a copy; anything else is converted first.
    """
    csr = matrix if sp.isspmatrix_csr(matrix) and matrix.dtype == np.float64 else None
    if csr is None or not _is_canonical(csr):
        csr = sp.csr_matrix(matrix, dtype=np.float64, copy=True)
        csr.sum_duplicates()
        csr.eliminate_zeros()
        csr.sort_indices()
    n_rows = csr.shape[0]
    indptr = csr.indptr.astype(np.int64)
    per_row = np.diff(indptr)
    indices = csr.indices
    # a group starts where the channel does not follow the previous one, or a row starts
    is_start = np.ones(indices.size, dtype=bool)
    if indices.size > 1:
        np.not_equal(indices[1:], indices[:-1] + 1, out=is_start[1:])
    is_start[indptr[:-1][per_row > 0]] = True
    starts = np.flatnonzero(is_start)
    del is_start
    group_size = np.diff(np.append(starts, indices.size))
    group_row = np.searchsorted(indptr, starts, side="right") - 1
    n_grp = np.bincount(group_row, minlength=n_rows).astype(np.int64)
    return PackedGroups(
        n_grp=n_grp,
        f_chan=RaggedColumn(indices[starts].astype(np.int64) + int(first_channel), n_grp),
        n_chan=RaggedColumn(group_size.astype(np.int64), n_grp),
        matrix=RaggedColumn(csr.data, per_row),
    )
