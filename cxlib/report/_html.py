"""Turn executed notebooks into self-contained HTML reports, and write the run's index page.

Reports hide code, embed every chart as PNG, and reference nothing on the network (the
``cx_offline`` template drops nbconvert's CDN scripts), so an executive can open them offline.
Every report opens with a header band (:class:`ReportHeader`: company, run date, data period,
config) and reads conclusion first: cells tagged :data:`FINDINGS_TAG` move to the top and cells
tagged :data:`METHODS_TAG` to the end (:func:`arrange_cells`); cells tagged :data:`REMOVE_TAG`
(plumbing: saving tables and summaries for later notebooks) are left out. The executed notebook
itself keeps every cell in the order it ran. The template's print styles lay a report out on A4.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import jinja2
import numpy as np
import pandas as pd

from cxlib.report._safe_text import escape_text, md_plain

if TYPE_CHECKING:  # nbformat and nbconvert are imported by the functions that render: the
    # notebooks' kernels use this module's formatting helpers and would pay seconds for them
    import nbformat

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


#: Cell tag: the report's findings, shown right after the title and introduction (the first markdown cell).
FINDINGS_TAG = "findings"
#: Cell tag: methods, assumptions and notes, shown at the end of the report.
METHODS_TAG = "methods"
#: Cell tag: plumbing (saving tables and summaries for later notebooks), left out of the report.
REMOVE_TAG = "remove-cell"

#: The date column of each dated event table: the data period runs from the first to the last of them.
EVENT_DATES = {
    "transactions": "order_date",
    "interactions": "timestamp",
    "surveys": "date",
    "referrals": "date",
    "programme": "start_date",
}


@dataclass(frozen=True)
class ReportHeader:
    """What the header band of every report shows (plain text; the template escapes it).

    Attributes
    ----------
    company : str
        From the config.
    run_date : str
        When the reports were made, e.g. ``"27 Nov 2025"``.
    data_period : str
        ``"8 Jan 2023 to 31 Dec 2025"``, or ``"customer snapshot as of 31 Dec 2025"`` when no
        table records dated events (see :func:`report_header`).
    config_name : str
        The config's file name, e.g. ``"demo_small.yaml"``.
    """

    company: str
    run_date: str
    data_period: str
    config_name: str


def _day(date) -> str:
    """``1 Jan 2023``: day without a leading zero, month abbreviated."""
    date = pd.Timestamp(date)
    return f"{date.day} {date:%b %Y}"


def data_period(data) -> str:
    """First to last date of the dated event tables present, as a reader sees it.

    Only recorded dates count: a date column that loading derived (e.g. from a tenure,
    :attr:`cxlib.data.CustomerData.derived_columns`) says nothing about when the data was
    recorded, and customers' signup dates are not events of the period.

    Parameters
    ----------
    data : CustomerData
        Validated tables.

    Returns
    -------
    str
        ``"1 Jan 2023 to 31 Dec 2025"``; ``"customer snapshot as of 31 Dec 2025"`` when no event
        table with recorded dates is present.

    Examples
    --------
    >>> data_period(small_data)  # doctest: +SKIP
    '1 Jan 2023 to 31 Dec 2025'
    """
    firsts, lasts = [], []
    for table, column in EVENT_DATES.items():
        if table not in data.tables or column not in data.tables[table] or data.derived(f"{table}.{column}"):
            continue
        dates = pd.to_datetime(data.tables[table][column]).dropna()
        if len(dates):
            firsts.append(dates.min())
            lasts.append(dates.max())
    if firsts:
        return f"{_day(min(firsts))} to {_day(max(lasts))}"
    return f"customer snapshot as of {_day(data.as_of)}"


def report_header(config, data, run_date: dt.date | dt.datetime | str | None = None) -> ReportHeader:
    """The header every report of a run shows: company, run date, data period, config name.

    Parameters
    ----------
    config : Config
        The run's config (:func:`cxlib.data.load_config`).
    data : CustomerData
        The validated data (:func:`cxlib.data.load_data`); its period is :func:`data_period`.
    run_date : date, datetime or str, optional
        When the run was made; default today.

    Returns
    -------
    ReportHeader

    Examples
    --------
    >>> report_header(config, data, dt.date(2026, 1, 5))  # doctest: +SKIP
    ReportHeader(company='Demo Retail Co (synthetic)', run_date='5 Jan 2026',
                 data_period='1 Jan 2023 to 31 Dec 2025', config_name='demo_small.yaml')
    """
    path = getattr(config, "path", None)
    return ReportHeader(
        company=str(config.company),
        run_date=_day(run_date if run_date is not None else dt.date.today()),
        data_period=data_period(data),
        config_name=Path(path).name if path else "config given in code",
    )


def _tags(cell) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def arrange_cells(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``notebook`` in report order: findings first, methods last.

    Cells tagged :data:`FINDINGS_TAG` move right after the first markdown cell (the title and
    introduction), cells tagged :data:`METHODS_TAG` move to the end, each group in its own order.
    Cells tagged :data:`REMOVE_TAG` stay where they are (:func:`render_html` leaves them out with
    nbconvert's ``TagRemovePreprocessor``) and do not count as the first markdown cell.
    ``notebook`` is not changed.

    Parameters
    ----------
    notebook : NotebookNode

    Returns
    -------
    NotebookNode
    """
    arranged = copy.deepcopy(notebook)
    cells = list(arranged.cells)
    findings = [i for i, cell in enumerate(cells) if FINDINGS_TAG in _tags(cell)]
    methods = [i for i, cell in enumerate(cells) if METHODS_TAG in _tags(cell) and i not in findings]
    body = [i for i in range(len(cells)) if i not in findings and i not in methods]
    shown_markdown = (
        n
        for n, i in enumerate(body)
        if cells[i].cell_type == "markdown" and REMOVE_TAG not in _tags(cells[i])
    )
    at = next(shown_markdown, -1) + 1
    order = body[:at] + findings + body[at:] + methods
    arranged.cells = [cells[i] for i in order]
    return arranged


def render_html(executed: Path, destination: Path, header: ReportHeader | None = None) -> Path:
    """Render an executed notebook to offline HTML with code, prompts and parameters hidden.

    The report is arranged by :func:`arrange_cells` (findings first, methods last), cells tagged
    :data:`REMOVE_TAG` are left out, and it opens with ``header``. The executed notebook on disk
    is not changed.

    Parameters
    ----------
    executed : Path
        Notebook that papermill executed.
    destination : Path
        HTML file to write.
    header : ReportHeader, optional
        The header band (:func:`report_header`); none when omitted.

    Returns
    -------
    Path
        ``destination``.
    """
    import nbformat
    from nbconvert import HTMLExporter
    from traitlets.config import Config as ExporterConfig

    notebook = arrange_cells(nbformat.read(executed, as_version=4))
    # a code cell that showed nothing (imports, parameters) would still leave an empty padded box
    notebook.cells = [c for c in notebook.cells if c.cell_type != "code" or c.get("outputs")]
    settings = ExporterConfig()
    # plumbing cells are left out by nbconvert's own tool
    settings.TagRemovePreprocessor.enabled = True
    settings.TagRemovePreprocessor.remove_cell_tags = {REMOVE_TAG}
    exporter = HTMLExporter(
        config=settings,
        template_name="cx_offline",
        extra_template_basedirs=[str(TEMPLATES)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    body, _ = exporter.from_notebook_node(
        notebook,
        resources={"metadata": {"name": notebook_title(notebook, executed.stem)}, "cx_header": header},
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
