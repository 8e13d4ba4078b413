"""Turn executed notebooks into self-contained HTML reports, and write the run's index page.

Reports hide code, embed every chart as PNG, and reference nothing on the network (the
``cx_offline`` template drops nbconvert's CDN scripts), so an executive can open them offline.
"""

from __future__ import annotations

import html
import re
from importlib import metadata
from pathlib import Path

import jinja2
import nbformat
from nbconvert import HTMLExporter

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
 table { border-collapse: collapse; font-size: 0.85rem; } td, th { border-bottom: 1px solid #eee;
 padding: 0.25rem 0.8rem 0.25rem 0; text-align: left; vertical-align: top; }
 code, pre { font-size: 0.8rem; background: #f6f6f6; } pre { padding: 0.6rem; overflow-x: auto; }
 .muted { color: #777; font-size: 0.85rem; }
 .skipped { font-size: 1.1rem; font-weight: bold; color: #888; }
</style></head><body>
<h1>{{ company }}</h1>
<p class="sub">Customer-experience reports, data as of {{ as_of }}; generated {{ generated }}.</p>
<h2>Reports</h2>
{% for r in reports %}<div class="report">{% if r.html %}<a href="{{ r.html }}">{{ r.title }}</a>
<p>{{ r.headline }}</p><p class="muted">ran in {{ "%.1f"|format(r.seconds) }} s</p>
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
    """Write the report index from a run manifest (see :func:`cxlib.runner.run_suite`)."""
    destination.write_text(_INDEX.render(**manifest), encoding="utf-8")
    return destination


def escape(text: str) -> str:
    """HTML-escape data-derived text before it is interpolated into report markup."""
    return html.escape(str(text))


#: Words written in capitals in table headers.
ACRONYMS = {"nps": "NPS", "csat": "CSAT", "rfm": "RFM", "kpi": "KPI", "auc": "AUC", "ci": "CI"}


def header_text(column) -> str:
    """A column name as a table header: ``share_of_revenue`` -> "Share of revenue", ``nps`` -> "NPS"."""
    words = [ACRONYMS.get(w.lower(), w) for w in str(column).replace("_", " ").split(" ")]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def styled(table, formats: dict | None = None, caption: str | None = None):
    """A pandas Styler for report tables: index hidden, values formatted, text HTML-escaped.

    Data-derived text (channel names, plan labels) is escaped so it cannot inject markup into
    the HTML report.
    """
    table = table.rename(columns=header_text)
    formats = {header_text(k): v for k, v in (formats or {}).items()}
    # one format call: a second one resets every column it does not name, escaping included
    styler = table.style.format(formats or None, escape="html", na_rep="–").hide(axis="index")
    text_columns = [c for c in table.columns if table[c].dtype == object]
    styler = styler.set_properties(subset=text_columns, **{"text-align": "left"})
    styler = styler.set_table_styles([{"selector": "th", "props": [("text-align", "left")]}], overwrite=False)
    if caption:
        styler = styler.set_caption(escape(caption))
    return styler
