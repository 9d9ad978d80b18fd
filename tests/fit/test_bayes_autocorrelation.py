"""emcee's autocorrelation time: a chain too short for it is said so (meta data and a
`ConvergenceWarning`), never silently dropped; emcee's own estimate is kept."""

from __future__ import annotations

import numpy as np
import pytest

from fluxfit.errors import ConvergenceWarning
from fluxfit.fit.bayes import _autocorrelation

emcee = pytest.importorskip("emcee")


def _chain(n_steps, seed=1):
    def log_prob(x):
        return -0.5 * np.sum(x**2)

    rng = np.random.default_rng(seed)
    sampler = emcee.EnsembleSampler(8, 2, log_prob)
    sampler.random_state = np.random.RandomState(seed).get_state()
    sampler.run_mcmc(rng.normal(size=(8, 2)), n_steps, progress=False)
    return sampler


def test_short_chain_is_flagged_with_emcee_estimate():
    with pytest.warns(ConvergenceWarning, match="autocorrelation time not reliable"):
        meta = _autocorrelation(_chain(20), emcee)
    assert meta["autocorrelation_converged"] is False
    assert "chain is shorter than 50 times" in meta["autocorrelation_message"]
    assert len(meta["autocorrelation_time"]) == 2
    assert all(np.isfinite(meta["autocorrelation_time"]))


def test_long_chain_has_no_message():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        meta = _autocorrelation(_chain(3000), emcee)
    assert meta["autocorrelation_converged"] is True
    assert meta["autocorrelation_message"] == ""


def test_other_errors_propagate():
    class Broken:
        def get_autocorr_time(self, quiet):
            raise KeyError("a bug")

    with pytest.raises(KeyError):
        _autocorrelation(Broken(), emcee)
