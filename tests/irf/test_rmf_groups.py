"""OGIP N_GRP/F_CHAN/N_CHAN compression: unpack, pack, round trips and malformed rows."""

import numpy as np
import pytest
import scipy.sparse as sp

from fluxfit.errors import FormatError
from fluxfit.irf.rmf_groups import RaggedColumn, pack_groups, take_row_prefix, unpack_groups

# three rows, six channels: an empty row, one group, two groups
DENSE = np.array(
    [
        [0, 0, 0, 0, 0, 0],
        [0, 0.2, 0.5, 0.3, 0, 0],
        [0.1, 0, 0, 0.4, 0.4, 0.1],
    ]
)


def test_take_row_prefix():
    column = RaggedColumn(np.arange(7), np.array([3, 0, 4]))
    np.testing.assert_array_equal(take_row_prefix(column, np.array([2, 0, 1])), [0, 1, 3])
    np.testing.assert_array_equal(take_row_prefix(column, column.lengths), np.arange(7))


@pytest.mark.parametrize("first_channel", [0, 1, 5])
def test_unpack_ragged_groups_with_channel_offset(first_channel):
    n_grp = np.array([0, 1, 2])
    f_chan = RaggedColumn(np.array([1, 0, 3]) + first_channel, n_grp)
    n_chan = RaggedColumn(np.array([3, 1, 3]), n_grp)
    matrix = RaggedColumn(np.array([0.2, 0.5, 0.3, 0.1, 0.4, 0.4, 0.1]), np.array([0, 3, 4]))
    csr = unpack_groups(n_grp, f_chan, n_chan, matrix, first_channel, 6)
    np.testing.assert_array_equal(csr.toarray(), DENSE)


def test_unpack_fixed_length_padded_columns():
    # fixed-length columns: two group slots per row, MATRIX padded to 4 values
    n_grp = np.array([0, 1, 2])
    f_chan = RaggedColumn.from_fixed(np.array([[9, 9], [2, 0], [1, 4]]))  # 1-based, padded
    n_chan = RaggedColumn.from_fixed(np.array([[0, 0], [3, 0], [1, 3]]))
    matrix = RaggedColumn.from_fixed(
        np.array([[0, 0, 0, 0], [0.2, 0.5, 0.3, 0], [0.1, 0.4, 0.4, 0.1]])
    )
    csr = unpack_groups(n_grp, f_chan, n_chan, matrix, 1, 6)
    np.testing.assert_array_equal(csr.toarray(), DENSE)


def test_empty_groups_like_old_gammapy_rows():
    # old Gammapy writes N_GRP=1, F_CHAN=[0], N_CHAN=[0] for empty rows (TLMIN=1 would put
    # F_CHAN=0 outside the channels, which is fine for a zero-width group)
    n_grp = np.array([1, 1])
    csr = unpack_groups(
        n_grp,
        RaggedColumn(np.array([0, 2]), n_grp),
        RaggedColumn(np.array([0, 2]), n_grp),
        RaggedColumn(np.array([0.5, 0.5]), np.array([0, 2])),
        first_channel=1,
        n_channels=3,
    )
    np.testing.assert_array_equal(csr.toarray(), [[0, 0, 0], [0, 0.5, 0.5]])


@pytest.mark.parametrize("first_channel", [0, 1])
def test_pack_unpack_round_trip(first_channel):
    groups = pack_groups(sp.csr_matrix(DENSE), first_channel)
    np.testing.assert_array_equal(groups.n_grp, [0, 1, 2])
    np.testing.assert_array_equal(groups.f_chan.flat, np.array([1, 0, 3]) + first_channel)
    np.testing.assert_array_equal(groups.n_chan.flat, [3, 1, 3])
    assert groups.numgrp == 3 and groups.numelt == 7
    csr = unpack_groups(groups.n_grp, groups.f_chan, groups.n_chan, groups.matrix, first_channel, 6)
    np.testing.assert_array_equal(csr.toarray(), DENSE)


def test_pack_random_sparse_round_trip():
    matrix = sp.random(300, 200, density=0.05, format="csr", random_state=1)
    groups = pack_groups(matrix, 1)
    csr = unpack_groups(groups.n_grp, groups.f_chan, groups.n_chan, groups.matrix, 1, 200)
    assert (csr != matrix).nnz == 0


def test_pack_does_not_modify_its_input():
    matrix = sp.csr_matrix(DENSE)
    matrix.data[0] = 0.0  # explicit zero: pack must work on a copy
    data = matrix.data.copy()
    pack_groups(matrix, 0)
    np.testing.assert_array_equal(matrix.data, data)


def test_malformed_rows_raise_format_error_naming_the_row():
    n_grp = np.array([1])
    ok_f, ok_n = RaggedColumn(np.array([1]), n_grp), RaggedColumn(np.array([2]), n_grp)
    values = RaggedColumn(np.array([0.5, 0.5]), np.array([2]))
    with pytest.raises(FormatError, match="row 0 has a group F_CHAN = 3, N_CHAN = 2"):
        unpack_groups(n_grp, RaggedColumn(np.array([3]), n_grp), ok_n, values, 1, 3, "f.rmf")
    with pytest.raises(FormatError, match="MATRIX row 0 holds 1 values but its groups need 2"):
        unpack_groups(n_grp, ok_f, ok_n, RaggedColumn(np.array([0.5]), np.array([1])), 1, 3)
    with pytest.raises(FormatError, match="F_CHAN row 0 holds 0 values but N_GRP = 1"):
        unpack_groups(n_grp, RaggedColumn(np.array([]), np.array([0])), ok_n, values, 1, 3)
    with pytest.raises(FormatError, match="N_GRP row 0 is negative"):
        unpack_groups(np.array([-1]), ok_f, ok_n, values, 1, 3)
    with pytest.raises(FormatError, match="non-finite"):
        unpack_groups(n_grp, ok_f, ok_n, RaggedColumn(np.array([0.5, np.inf]), np.array([2])), 1, 3)
