"""Bayesian analysis of seed 000 (3ML's "multiple sources" tutorial) against 3ML's numbers.

The data are 3ML's own simulated spectra; the reference is ``task1_multisource.json``.
UltraNest runs with the reference's settings (400 live points, dlogz 0.5, seed 42: ~6 s).
Tolerances (the acceptance criteria of the issue):

- posterior medians within 0.3 sigma of 3ML's (sigma: half the 16-84 % range);
- ln Z within 0.5 of 3ML's (3ML's own run is 0.28 above the value from importance
  sampling, which our run must match within 3 of its quoted errors);
- fluxes within 2 % of ``independent_fluxes_from_samples`` (exact integrals over 3ML's
  samples with the linked kT propagated), and the same after write/read;
- DIC within 1 and pDIC within 0.5 of 3ML's (3ML's definitions, see fluxfit.results.statistics);
- emcee (50 walkers, 125 + 500 steps from the MLE, seed 5123): medians within 0.3 sigma.
"""

import json

import astropy.units as u
import numpy as np
import pytest

from fluxfit.cli.demo import build_seed000_models
from fluxfit.datasets import Datasets, SpectrumDatasetOnOff
from fluxfit.errors import FitError
from fluxfit.fit.bayes import BayesianAnalysis
from fluxfit.results import AnalysisResults

pytest.importorskip("ultranest")
pytest.importorskip("emcee")
pytest.importorskip("corner")


def threeml_label(key: str) -> str:
    return key.replace("src1.spectrum.main.Blackbody.", "src1.spectral.").replace(
        "src2.spectrum.main.composite.", "src2.spectral."
    )


def reference_label(label: str) -> str:
    label = label.replace("BlackbodySpectralModel", "Blackbody")
    label = label.replace("PowerLawFluxSpectralModel", "Powerlaw_flux")
    return "sum: total" if label == "total" else label


@pytest.fixture(scope="module")
def task1(reference_dir):
    return json.loads((reference_dir / "threeml/task1_multisource.json").read_text())


def read_datasets(reference_dir):
    return Datasets(
        [
            SpectrumDatasetOnOff.read(
                reference_dir / f"threeml/task1_{name}.pha", spectrum_number=1, name=name
            )
            for name in ("s1", "s2")
        ]
    )


@pytest.fixture(scope="module")
def ultranest_run(reference_dir):
    bayes = BayesianAnalysis(build_seed000_models(), read_datasets(reference_dir))
    bayes.sample("ultranest", seed=42, verbose=False, min_num_live_points=400, dlogz=0.5)
    return bayes


def check_medians(results, reference, max_sigma=0.3):
    medians = dict(zip(results.parameter_names, results.median))
    for key, ref in reference.items():
        sigma = 0.5 * (ref["p84"] - ref["p16"])
        pull = (medians[threeml_label(key)] - ref["median"]) / sigma
        assert abs(pull) < max_sigma, (key, pull)


# ------------------------------------------------------------------ set-up
def test_every_free_parameter_needs_a_prior(reference_dir):
    models = build_seed000_models()
    models.parameters["src2.spectral.index_2"].prior = None
    models.parameters["src1.spectral.K"].prior = None
    with pytest.raises(FitError, match=r"src1\.spectral\.K.*src2\.spectral\.index_2"):
        BayesianAnalysis(models, read_datasets(reference_dir))


def test_log_likelihood_is_threeml_normalised(reference_dir, task1):
    """ln L = (C - stat) / 2 equals 3ML's log-likelihood (exact vs Simpson integration: 1e-4)."""
    anchors = task1["loglike_anchors"]
    bayes = BayesianAnalysis(build_seed000_models(), read_datasets(reference_dir))
    values = [anchors["truth_values"][k] for k in anchors["truth_values"]]
    expected = sum(anchors["log_like_at_truth"].values())
    assert bayes.log_like(np.array([values]))[0] == pytest.approx(expected, abs=1e-3)
    # vectorised: k rows at once; outside bounds -inf; prior transform through each ppf
    batch = np.repeat([values], 5, axis=0)
    batch[1, 0] = -1.0  # K < 0: outside the bound
    like = bayes.log_like(batch)
    assert like[1] == -np.inf and np.allclose(like[[0, 2, 3, 4]], like[0])
    assert bayes.log_prior(batch)[1] == -np.inf
    cube = np.full((1, 5), 0.5)
    median = bayes.prior_transform(cube)[0]
    assert median[0] == pytest.approx(1e-7) and median[4] == pytest.approx(-1.0)
    post = bayes.log_posterior(batch)
    assert post[0] == pytest.approx(like[0] + bayes.log_prior(batch)[0])


def test_options_are_checked(reference_dir):
    bayes = BayesianAnalysis(build_seed000_models(), read_datasets(reference_dir))
    with pytest.raises(FitError, match="unknown sampler"):
        bayes.sample("dynesty")
    with pytest.raises(FitError, match="unknown option"):
        bayes.sample("ultranest", verbose=False, n_live=100)
    with pytest.raises(FitError, match="unknown option"):
        bayes.sample("emcee", verbose=False, nsteps=10)
    with pytest.raises(FitError, match="start"):
        bayes.sample("emcee", verbose=False, start="somewhere")
    with pytest.raises(FitError, match="corner_plot"):
        bayes.corner_plot()


def test_seeded_runs_are_reproducible(reference_dir, capsys):
    np.random.seed(123)  # noqa: NPY002 (UltraNest uses the global state)
    state = np.random.get_state()  # noqa: NPY002
    draws = []
    for _ in range(2):
        bayes = BayesianAnalysis(build_seed000_models(), read_datasets(reference_dir))
        results = bayes.sample(
            "ultranest",
            seed=7,
            verbose=False,
            min_num_live_points=40,
            dlogz=5.0,
            frac_remain=0.5,
            max_num_improvement_loops=0,
        )
        draws.append(results.samples)
    assert np.array_equal(draws[0], draws[1])
    # the global random state is restored after a seeded run
    after = np.random.get_state()  # noqa: NPY002
    assert all(np.array_equal(a, b) for a, b in zip(after[1:3], state[1:3]))
    chains = []
    for _ in range(2):
        bayes = BayesianAnalysis(build_seed000_models(), read_datasets(reference_dir))
        bayes.models.parameters["src2.spectral.kT_1"].value = 500.0
        results = bayes.sample("emcee", seed=3, verbose=False, n_walkers=12, n_iterations=20)
        chains.append(results.samples)
    assert np.array_equal(chains[0], chains[1])
    assert chains[0].shape == (12 * 20, 5)
    assert capsys.readouterr().out == ""


# ------------------------------------------------------------ the seed run
def test_ultranest_posterior_matches_threeml(ultranest_run, task1):
    reference = task1["ultranest_default"]
    results = ultranest_run.results
    assert results.is_bayesian and results.meta["sampler"] == "ultranest"
    check_medians(results, reference["sample_summary"])
    assert results.measures["ln(Z)"] == pytest.approx(reference["runs"][0]["logz_ln"], abs=0.5)
    measures = reference["statistical_measures"]
    assert results.measures["DIC"] == pytest.approx(measures["DIC"], abs=1.0)
    assert results.measures["pDIC"] == pytest.approx(measures["PDIC"], abs=0.5)
    # AIC/BIC from ln L at the MAP (3ML adds the log prior once per dataset: see statistics)
    n_datasets = results.measures["n_datasets"]
    threeml_aic = results.measures["AIC"] - 2 * n_datasets * results.measures["log_prior_at_map"]
    assert threeml_aic == pytest.approx(measures["AIC"], abs=1.0)
    # -log(posterior) per dataset at the MAP: 3ML's values, with the sign its label states
    frame = results.get_statistic_frame()
    ref_frame = reference["statistic_frame_minus_log_posterior_at_map"]
    for name in ("s1", "s2"):
        row = frame[list(frame["dataset"]).index(name)]
        assert row["-log(posterior)"] == pytest.approx(-ref_frame[name]["-log(posterior)"], abs=0.5)
    # the models are left at the MAP sample, as 3ML does
    values = [p.value for p in results.parameters]
    assert np.allclose(values, results.best_fit)
    live = ultranest_run.models.parameters
    assert np.allclose([live[n].value for n in results.parameter_names], results.best_fit)


def test_evidence_against_importance_sampling(ultranest_run):
    """ln Z from a Student-t importance sampler fitted to the posterior (error ~0.005)."""
    from scipy import stats
    from scipy.special import logsumexp

    results = ultranest_run.results
    draws = results.equal_weight_samples()
    mean, scale = draws.mean(0), draws.std(0)
    proposal = stats.multivariate_t(
        np.zeros(5), np.cov(((draws - mean) / scale).T) * 1.5, df=5, seed=1
    )
    z = proposal.rvs(50000)
    log_q = proposal.logpdf(z) - np.log(scale).sum()
    log_w = ultranest_run.log_posterior(mean + z * scale) - log_q
    ln_z = logsumexp(log_w) - np.log(z.shape[0])
    error = results.measures["ln(Z) error"]
    assert results.measures["ln(Z)"] == pytest.approx(ln_z, abs=3 * error)
    assert ln_z == pytest.approx(-1339.407, abs=0.02)


@pytest.mark.parametrize(
    "band, emin, emax, kwargs",
    [
        ("energy_flux_1keV_1MeV", 1 * u.keV, 1 * u.MeV, {"flux_unit": "erg/(cm2 s)"}),
        ("energy_flux_1keV_1MeV", 1 * u.keV, 1 * u.MeV, {"sum_sources": True}),
        ("energy_flux_1keV_1MeV", 1 * u.keV, 1 * u.MeV, {"components": True}),
        (
            "photon_flux_10_500keV",
            10 * u.keV,
            0.5 * u.MeV,
            {"flux_unit": "1/(cm2 s)", "components": True},
        ),
    ],
)
def test_fluxes_and_roundtrip(ultranest_run, task1, tmp_path, band, emin, emax, kwargs):
    reference = task1["ultranest_default"]["independent_fluxes_from_samples"][band]
    results = ultranest_run.results
    path = tmp_path / "seed000.fits"
    results.write(path)
    back = AnalysisResults.read(path)
    for res in (results, back):
        table = res.get_flux(emin, emax, **kwargs)
        for row in table:
            ref = reference[reference_label(row["label"])]
            assert row["flux"].value == pytest.approx(ref["median"], rel=0.02), row["label"]
            assert row["lower_bound"].value == pytest.approx(ref["p16"], rel=0.02)
            assert row["upper_bound"].value == pytest.approx(ref["p84"], rel=0.02)
    first, second = results.get_flux(emin, emax, **kwargs), back.get_flux(emin, emax, **kwargs)
    assert np.array_equal(first["flux"], second["flux"])
    assert np.array_equal(first["upper_bound"], second["upper_bound"])


def test_emcee_matches_threeml(reference_dir, task1):
    models = build_seed000_models()
    for key, value in task1["mle"]["best_fit"].items():  # 3ML starts the walkers at the MLE
        models.parameters[threeml_label(key)].value = value["value"]
    bayes = BayesianAnalysis(models, read_datasets(reference_dir))
    results = bayes.sample("emcee", seed=5123, verbose=False)
    assert results.n_samples == 50 * 500 and results.meta["options"]["n_burn_in"] == 125
    check_medians(results, task1["emcee"]["sample_summary"])
    measures = task1["emcee"]["statistical_measures"]
    assert results.measures["DIC"] == pytest.approx(measures["DIC"], abs=1.0)
    assert 0.4 < results.meta["acceptance_fraction"] < 0.7
    assert "ln(Z)" not in results.measures


def test_plots(ultranest_run):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = ultranest_run.corner_plot(truths={"kT_1": 500.0})
    assert len(fig.axes) == 25
    fig = ultranest_run.results.corner_plot(parameters=["K", "kT_1"])
    assert len(fig.axes) == 4
    fig = ultranest_run.plot_spectrum_counts(min_counts=30)
    spectrum_axes, residual_axes = fig.axes
    assert [t.get_text() for t in spectrum_axes.get_legend().get_texts()] == ["s1", "s2"]
    assert len(residual_axes.lines) + len(residual_axes.collections) > 0
    plt.close("all")
    from fluxfit.plotting.counts import group_min_counts

    assert group_min_counts([5, 5, 5, 6], 10).tolist() == [0, 2]
    assert group_min_counts([5, 5, 5, 1], 10).tolist() == [0]
