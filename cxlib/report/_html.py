"""Turn executed notebooks into self-contained HTML reports, and write the run's index page.

Reports hide code, embed every chart as PNG, and reference nothing on the network (the
``cx_offline`` template drops nbconvert's CDN scripts), so an executive can open them offline.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import jinja2
import nbformat
import numpy as np
import pandas as pd
from nbconvert import HTMLExporter

from cxlib.report._safe_text import escape_text, md_plain

TEMPLATES = Path(__file__).parent / "templates"
EXTERNAL_REFERENCE = re.compile(
    r"""<(?:script|link|img|iframe)[^>]+(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.I
)

#: Packages whose versions are recorded with every run.
RECORDED_PACKAGES = (
    "cx-suite",
    "pandas",
    "numpy",
    "scikit-learn",
    "statsmodels",
    "lifelines",
    "seaborn",
    "matplotlib",
    "pandera",
    "papermill",
    "nbconvert",
)


def notebook_title(notebook: nbformat.NotebookNode, fallback: str) -> str:
    """The first markdown heading of a notebook, without the leading #'s."""
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return fallback


def render_html(executed: Path, destination: Path) -> Path:
    """Render an executed notebook to offline HTML with code, prompts and parameters hidden.

    Parameters
    ----------
    executed : Path
        Notebook that papermill executed.
    destination : Path
        HTML file to write.

    Returns
    -------
    Path
        ``destination``.
    """
    notebook = nbformat.read(executed, as_version=4)
    exporter = HTMLExporter(
        template_name="cx_offline",
        extra_template_basedirs=[str(TEMPLATES)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    body, _ = exporter.from_notebook_node(
        notebook, resources={"metadata": {"name": notebook_title(notebook, executed.stem)}}
    )
    external = EXTERNAL_REFERENCE.findall(body)
    if external:
        raise RuntimeError(f"{destination.name}: report would load from the network: {external[:3]}")
    destination.write_text(body, encoding="utf-8")
    return destination


def package_versions() -> dict[str, str]:
    """Installed versions of the packages that shape the numbers."""
    versions = {}
    for name in RECORDED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


_INDEX = jinja2.Environment(autoescape=True, loader=jinja2.BaseLoader()).from_string(
    """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ company }}: customer-experience reports</title>
<style>
 body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; color: #222; max-width: 980px;
        margin: 2rem auto; padding: 0 1.5rem; line-height: 1.45; }
 h1 { font-size: 1.6rem; margin-bottom: 0.2rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
 .sub { color: #666; margin-top: 0; }
 .report { border: 1px solid #ddd; border-radius: 6px; padding: 0.8rem 1rem; margin: 0.8rem 0; }
 .report a { font-size: 1.1rem; font-weight: bold; color: #0b5394; text-decoration: none; }
 .report p { margin: 0.35rem 0 0; }
 .report a.pdf { font-size: 0.85rem; font-weight: normal; margin-left: 0.8rem; }
 table { border-collapse: collapse; font-size: 0.85rem; } td, th { border-bottom: 1px solid #eee;
 padding: 0.25rem 0.8rem 0.25rem 0; text-align: left; vertical-align: top; }
 code, pre { font-size: 0.8rem; background: #f6f6f6; } pre { padding: 0.6rem; overflow-x: auto; }
 td code { overflow-wrap: anywhere; }
 @media print { pre { white-space: pre-wrap; overflow-wrap: anywhere; overflow-x: visible; } }
 .muted { color: #777; font-size: 0.85rem; }
 .skipped { font-size: 1.1rem; font-weight: bold; color: #888; }
</style></head><body>
<h1>{{ company }}</h1>
<p class="sub">Customer-experience reports, data as of {{ as_of }}; generated {{ generated }}.</p>
<h2>Reports</h2>
{% for r in reports %}<div class="report">{% if r.html %}<a href="{{ r.html }}">{{ r.title }}</a>
{% if r.pdf %}<a class="pdf" href="{{ r.pdf }}">PDF (A4, for printing)</a>{% endif %}
<p>{{ r.headline }}</p>{% if r.pdf_note %}<p class="muted">{{ r.pdf_note }}</p>{% endif %}
<p class="muted">ran in {{ "%.1f"|format(r.seconds) }} s</p>
{% else %}<span class="skipped">{{ r.title }}</span><p class="muted">{{ r.headline }}</p>{% endif %}</div>
{% endfor %}
<h2>Data</h2>
<table><tr><th>input file</th><th>SHA-256 fingerprint</th></tr>
{% for name, digest in fingerprints.items() %}<tr><td>{{ name }}</td><td><code>{{ digest }}</code></td></tr>
{% endfor %}</table>
{% if notes %}<p class="muted">What loading did (input files are never changed):</p>
<ul class="muted">{% for note in notes %}<li>{{ note }}</li>{% endfor %}</ul>{% endif %}
<h2>Run</h2>
<table><tr><th>config</th><td><code>{{ config_path }}</code></td></tr>
<tr><th>seed</th><td>{{ seed }}</td></tr><tr><th>total run time</th><td>{{ "%.1f"|format(total_seconds) }} s</td></tr>
{% for name, version in versions.items() %}<tr><th>{{ name }}</th><td>{{ version }}</td></tr>{% endfor %}
</table>
<h2>Configuration used</h2><pre>{{ config_text }}</pre>
<p class="muted">The run record is in <code>run.json</code>. Executed notebooks, per-customer tables and
machine-readable summaries are kept for analysts in the run-data folder, not with these reports.</p>
</body></html>
"""
)


def write_index(destination: Path, manifest: dict) -> Path:
    """Write the report index from a run manifest (see :func:`cxlib.run._runner.run_suite`).

    Every value is escaped by the template; the notebooks' headlines are Markdown sentences
    (text from the data escaped with :func:`cxlib.report._safe_text.md_text`) and are shown as plain text.
    A report entry with ``pdf`` (a file name beside the index) gets a link to its printable PDF;
    one with ``pdf_note`` says why its PDF is not available (see
    :func:`cxlib.run._runner.print_reports`).
    """
    reports = [
        {**report, "headline": md_plain(report.get("headline") or "")} for report in manifest["reports"]
    ]
    destination.write_text(_INDEX.render(**{**manifest, "reports": reports}), encoding="utf-8")
    return destination


#: Words written in capitals in table headers.
ACRONYMS = {"nps": "NPS", "csat": "CSAT", "rfm": "RFM", "kpi": "KPI", "auc": "AUC", "ci": "CI"}


def header_text(column) -> str:
    """A column name as a table header: ``share_of_revenue`` -> "Share of revenue", ``nps`` -> "NPS"."""
    words = [ACRONYMS.get(w.lower(), w) for w in str(column).replace("_", " ").split(" ")]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def _safe_formatter(fmt: str | Callable | None) -> Callable:
    """A Styler formatter whose whole display text is HTML-escaped, format string included.

    pandas' own ``escape="html"`` escapes a text value before formatting, not what a format
    string adds: ``"{:,.0f} " + currency`` would place the currency in the page as markup.
    """
    if isinstance(fmt, str):
        return lambda value: escape_text(fmt.format(value))
    if callable(fmt):
        return lambda value: escape_text(fmt(value))
    precision = pd.get_option("styler.format.precision")

    def default(value) -> str:  # as pandas shows unformatted values
        if isinstance(value, (float, np.floating)):
            return escape_text(f"{value:.{precision}f}")
        return escape_text(value)

    return default


def money_format(currency: str, decimals: int = 0) -> Callable:
    """A table format for amounts followed by the currency, e.g. ``1,234 EUR``.

    Use it instead of building a format string from the currency (``"{:,.0f} " + currency``),
    which a brace in the currency would break. :func:`styled` escapes what it returns.

    Examples
    --------
    >>> money_format("EUR")(1234.5)
    '1,234 EUR'
    """
    return lambda amount: f"{amount:,.{decimals}f} {currency}"


def styled(table: pd.DataFrame, formats: dict | None = None, caption: str | None = None):
    """A pandas Styler for report tables: index hidden, values formatted, all text HTML-escaped.

    Cells, headers, the index and whatever a format string adds (e.g. a currency from the
    config) are escaped with :func:`cxlib.report._safe_text.escape_text`, so text from the data or the
    config cannot inject markup into the HTML report.

    Parameters
    ----------
    table : DataFrame
    formats : dict, optional
        Column -> format string (``"{:,.0f} EUR"``) or callable; other columns as pandas shows them.
    caption : str, optional
        Plain text shown above the table.

    Returns
    -------
    pandas.io.formats.style.Styler
    """
    table = table.rename(columns=header_text)
    formats = {header_text(k): v for k, v in (formats or {}).items()}
    # one format call naming every column: a second one would reset the columns it does not name
    formatters = {column: _safe_formatter(formats.get(column)) for column in table.columns}
    styler = table.style.format(formatters, na_rep="–").hide(axis="index")
    styler = styler.format_index(escape="html", axis=0).format_index(escape="html", axis=1)
    text_columns = [c for c in table.columns if table[c].dtype == object]
    styler = styler.set_properties(subset=text_columns, **{"text-align": "left"})
    styler = styler.set_table_styles([{"selector": "th", "props": [("text-align", "left")]}], overwrite=False)
    if caption:
        styler = styler.set_caption(escape_text(caption))
    return styler
