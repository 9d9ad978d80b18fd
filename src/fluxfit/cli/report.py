"""``fluxfit report RESULTS_DIR``: one self-contained HTML page of an analysis.

The page holds the fit summary, the datasets, the parameter table and every figure of the
results folder (see `fluxfit.cli.results_dir` for the layout), embedded as base64 PNG so the
file can be mailed or archived on its own. Figures listed in ``fit.json`` are used as they
are; missing standard figures are drawn from the data files when possible (SED from the
models and ``flux_points.fits``, light curve from ``lightcurve.fits``, flux profile and its
likelihood profiles from ``profile.fits``, corner plot from ``bayes_results.fits``). An inline script sets ``data-images-loaded`` on ``<body>`` once
every image has loaded with a non-zero size (used by the browser test).
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

from fluxfit._files import check_output
from fluxfit.errors import FormatError

__all__ = ["build_report", "write_report"]

_STYLE = """
body { font-family: sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; }
table { border-collapse: collapse; margin: .5em 0 1.5em 0; }
th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: right; }
th { background: #f0f0f0; } td.l, th.l { text-align: left; }
figure { margin: 1em 0; } img { max-width: 100%; border: 1px solid #eee; }
figcaption { color: #555; font-size: .9em; } .ok { color: #080; } .bad { color: #b00; }
"""

_CHECK_SCRIPT = """
window.addEventListener("load", function () {
  var images = Array.prototype.slice.call(document.images);
  var ok = images.every(function (img) { return img.complete && img.naturalWidth > 0; });
  document.body.setAttribute("data-images-loaded", ok ? "all" : "missing");
  document.body.setAttribute("data-image-count", String(images.length));
});
"""


def _fmt(value, spec=".4g") -> str:
    if value is None:
        return "&ndash;"
    if isinstance(value, float):
        return format(value, spec)
    return html.escape(str(value))


def _table(header, rows, left=1) -> str:
    head = "".join(
        f'<th class="{"l" if i < left else ""}">{html.escape(h)}</th>' for i, h in enumerate(header)
    )
    body = "".join(
        "<tr>"
        + "".join(f'<td class="{"l" if i < left else ""}">{c}</td>' for i, c in enumerate(row))
        + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _img(path: Path, caption: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    alt = html.escape(caption)
    return (
        f'<figure><img alt="{alt}" src="data:image/png;base64,{data}">'
        f"<figcaption>{alt}</figcaption></figure>"
    )


def _missing_figures(
    folder: Path, summary: dict, problems: list | None = None
) -> list[tuple[str, str]]:
    """Draw standard figures that the folder lacks but whose data are there.

    What cannot be drawn is logged as a warning and appended to ``problems`` (dicts with
    ``figure``, ``what``, ``reason``), which the report lists.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from fluxfit.cli.results_dir import PLOT_ERRORS, figure_problem, save_figure

    problems = [] if problems is None else problems

    have = {Path(f["file"]).stem for f in summary.get("figures", [])}
    files = summary.get("files", {})
    made = []
    if "sed" not in have and "flux_points" in files:
        from fluxfit.datasets import FluxPoints

        points = FluxPoints.read(folder / files["flux_points"])
        fig, ax = plt.subplots(figsize=(7, 5))
        if "models" in files:
            from fluxfit.models import Models

            for model in Models.read(folder / files["models"]):
                spectral = model.spectral_model
                bounds = (
                    points.energy_axis.edges[[0, -1]] if hasattr(points, "energy_axis") else None
                )
                try:
                    spectral.plot_error(bounds, ax=ax, sed_type="e2dnde")
                except PLOT_ERRORS as exc:
                    figure_problem(problems, "sed", f"1-sigma band of model {model.name!r}", exc)
                spectral.plot(bounds, ax=ax, sed_type="e2dnde", label=model.name)
        points.plot(ax=ax, sed_type="e2dnde", label="flux points")
        ax.legend()
        made.append((save_figure(fig, folder, "sed"), "SED with flux points"))
    if "lightcurve" not in have and "lightcurve" in files:
        from fluxfit.datasets import FluxPoints

        curve = FluxPoints.read(folder / files["lightcurve"], format="lightcurve")
        fig, ax = plt.subplots(figsize=(7, 4))
        curve.plot(ax=ax, axis_name="time", sed_type="flux")
        made.append((save_figure(fig, folder, "lightcurve"), "Light curve"))
    if "profile" in files and "profile" not in have:  # the writer draws profile_ts with it
        from fluxfit.cli.results_dir import plot_profile, plot_profile_ts
        from fluxfit.datasets import FluxPoints

        profile = FluxPoints.read(folder / files["profile"], format="profile")
        sed_type = profile.sed_type_init or "dnde"
        drawers = [("profile", plot_profile, "Flux profile")]
        if profile.has_stat_profiles:
            drawers.append(("profile_ts", plot_profile_ts, "Flux profile, likelihood profiles"))
        for name, draw, caption in drawers:
            try:
                made.append((save_figure(draw(profile, sed_type), folder, name), caption))
            except PLOT_ERRORS as exc:
                plt.close("all")
                figure_problem(problems, name, "flux profile figure", exc)
    if "corner" not in have and "bayes" in files:
        try:
            from fluxfit.results import AnalysisResults
        except ImportError:
            return made
        fig = AnalysisResults.read(folder / files["bayes"]).corner_plot()
        made.append((save_figure(fig, folder, "corner"), "Posterior (corner plot)"))
    return made


def build_report(folder) -> str:
    """The HTML text of the report of a results folder."""
    folder = Path(folder)
    path = folder / "fit.json"
    if not path.is_file():
        raise FormatError(f"{folder}: no fit.json; is this a fluxfit results folder?")
    try:
        summary = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise FormatError(f"{path}: not valid JSON ({exc})") from None
    figures = [(f["file"], f.get("caption", "")) for f in summary.get("figures", [])]
    problems = list(summary.get("figure_problems", []))
    figures += _missing_figures(folder, summary, problems)
    title = html.escape(summary.get("title", "fluxfit analysis"))
    parts = [f"<h1>{title}</h1>"]
    parts.append(
        f"<p>fluxfit {_fmt(summary.get('fluxfit_version'))}, created "
        f"{_fmt(summary.get('created'))} UTC, folder <code>{html.escape(str(folder))}</code></p>"
    )
    fit = summary.get("fit")
    if fit:
        status = (
            '<span class="ok">success</span>'
            if fit.get("success")
            else ('<span class="bad">failed</span>')
        )
        parts.append("<h2>Fit summary</h2>")
        parts.append(
            _table(
                ["quantity", "value"],
                [
                    ["status", status],
                    ["message", _fmt(fit.get("message"))],
                    ["total statistic", _fmt(fit.get("total_stat"), ".3f")],
                    ["function calls", _fmt(fit.get("nfev"))],
                ],
            )
        )
    if summary.get("bayes"):
        parts.append("<h2>Bayesian run</h2>")
        rows = [[html.escape(k), _fmt(v)] for k, v in summary["bayes"].items()]
        parts.append(_table(["measure", "value"], rows))
    if summary.get("datasets"):
        parts.append("<h2>Datasets</h2>")
        rows = [
            [
                _fmt(d.get("name")),
                _fmt(d.get("type")),
                _fmt(d.get("counts"), ".0f"),
                _fmt(d.get("counts_off"), ".0f"),
                _fmt(d.get("livetime_s"), ".1f"),
            ]
            for d in summary["datasets"]
        ]
        parts.append(_table(["name", "type", "counts", "OFF counts", "livetime (s)"], rows, 2))
    if summary.get("parameters"):
        parts.append("<h2>Parameters</h2>")
        rows = [
            [
                _fmt(p.get("model")),
                _fmt(p.get("name")),
                _fmt(p.get("value")),
                "" if p.get("frozen") else _fmt(p.get("error"), ".2g"),
                _fmt(p.get("unit")),
                "frozen" if p.get("frozen") else "free",
            ]
            for p in summary["parameters"]
        ]
        parts.append(_table(["model", "parameter", "value", "error", "unit", ""], rows, 2))
    missing = [f for f, _ in figures if not (folder / f).is_file()]
    if figures:
        parts.append("<h2>Figures</h2>")
        for file, caption in figures:
            image = folder / file
            if image.is_file():
                parts.append(_img(image, caption))
    if problems or missing:
        parts.append("<h2>Figures not drawn</h2>")
        rows = [
            [_fmt(p.get("figure")), _fmt(p.get("what")), _fmt(p.get("reason"))]
            for p in problems
            if isinstance(p, dict)
        ]
        rows += [[_fmt(Path(f).stem), "figure file", f"{_fmt(f)} not found"] for f in missing]
        parts.append(_table(["figure", "what", "why"], rows, 3))
    body = "\n".join(parts)
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{title}</title><style>{_STYLE}</style>"
        f"<script>{_CHECK_SCRIPT}</script></head>\n<body>\n{body}\n</body></html>\n"
    )


def write_report(folder, filename: str = "report.html", overwrite: bool = False) -> Path:
    """Write ``report.html`` into the results folder; returns its path.

    An existing report is replaced only with ``overwrite=True`` (`fluxfit report --overwrite`);
    the check comes before any figure is drawn.
    """
    folder = Path(folder)
    path = check_output(folder / filename, overwrite, "report")
    text = build_report(folder)
    path.write_text(text, encoding="utf-8")
    return path
