"""Posterior plots: the corner plot of `AnalysisResults` samples (the corner package).

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> from fluxfit.plotting.bayes import corner_plot
>>> # fig = corner_plot(results)            # or results.corner_plot()
"""

from __future__ import annotations

from fluxfit.errors import FitError

__all__ = ["corner_plot"]


def corner_plot(
    results,
    parameters=None,
    labels=None,
    truths=None,
    quantiles=(0.16, 0.5, 0.84),
    show_titles: bool = True,
    **kwargs,
):
    """Marginal posteriors in one and two dimensions.

    Parameters
    ----------
    results : `~fluxfit.results.AnalysisResults`
        A Bayesian result (weighted samples are resampled to equal weights).
    parameters : list of str, optional
        Labels (or unique tails, e.g. ``"kT_1"``) of the parameters to show; default all.
    labels : list of str, optional
        Axis labels; default the label without ``.spectral`` and the unit below.
    truths : array or dict, optional
        Reference values to mark (array in the order shown, or label -> value).
    quantiles, show_titles, **kwargs
        Passed to ``corner.corner``.

    Returns
    -------
    `~matplotlib.figure.Figure`
    """
    try:
        import corner
    except ImportError:  # pragma: no cover - optional dependency
        raise FitError("corner_plot needs the corner package (pip install corner)") from None
    if results.samples is None:
        raise FitError("corner_plot: the result has no posterior samples (an MLE result)")
    names = results.parameter_names
    if parameters is None:
        index = list(range(len(names)))
    else:
        index = []
        for key in parameters:
            hits = [i for i, n in enumerate(names) if n == key or n.rsplit(".", 1)[-1] == key]
            if len(hits) != 1:
                raise FitError(
                    f"corner_plot: parameter {key!r} not found (or ambiguous) in {names}"
                )
            index.append(hits[0])
    if labels is None:
        units = results.units
        short = [n.replace(".spectral.", ".").replace(".spatial.", ".") for n in names]
        labels = [f"{short[i]}\n[{units[i]}]" if units[i] else short[i] for i in index]
    kwargs.setdefault("title_fmt", ".4g")
    if isinstance(truths, dict):
        truths = [truths.get(names[i], truths.get(names[i].rsplit(".", 1)[-1])) for i in index]
    # equal-weight draws (systematic resampling, as 3ML does): nested-sampling weights span
    # many decades and make corner's weighted contours ragged
    data = results.equal_weight_samples(random_state=0)[:, index]
    return corner.corner(
        data,
        labels=labels,
        truths=truths,
        quantiles=list(quantiles),
        show_titles=show_titles,
        **kwargs,
    )
