"""Report helpers: readable table headers, escaped data-derived text, and the frame of every report."""

from __future__ import annotations

import datetime as dt

import nbformat
import pandas as pd
import pytest

from cxlib.data._load import CustomerData
from cxlib.report._html import (
    EVENT_DATES,
    ReportHeader,
    arrange_cells,
    data_period,
    header_text,
    render_html,
    report_header,
    styled,
)


def test_header_text_is_sentence_case_with_acronyms_in_capitals():
    assert header_text("share_of_revenue") == "Share of revenue"
    assert header_text("nps") == "NPS"
    assert header_text("csat") == "CSAT"
    assert header_text("RFM segment") == "RFM segment"
    assert header_text("recency score") == "Recency score"


def test_styled_table_escapes_data_and_applies_formats_to_renamed_headers():
    table = pd.DataFrame({"channel": ["<script>x</script>"], "share_of_revenue": [0.1234]})
    html = styled(table, {"share_of_revenue": "{:.1%}"}).to_html()
    assert "<script>x" not in html and "&lt;script&gt;x" in html
    assert "12.3%" in html
    assert "Share of revenue" in html


# --- the report frame: header band, findings first, methods last, plumbing left out (issue 14) ---

COMPANY = "<script>alert(1)</script> & Co"


def _shown(text: str, tags=()) -> nbformat.NotebookNode:
    """A code cell that displayed ``text`` as Markdown, as papermill leaves it."""
    cell = nbformat.v4.new_code_cell("display(Markdown(text))", metadata={"tags": list(tags)})
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/markdown": text, "text/plain": text})]
    return cell


def _markdown(text: str, tags=()) -> nbformat.NotebookNode:
    return nbformat.v4.new_markdown_cell(text, metadata={"tags": list(tags)})


@pytest.fixture(scope="module")
def framed(tmp_path_factory):
    """A tiny executed notebook in code order (findings and methods where they ran), rendered once."""
    folder = tmp_path_factory.mktemp("frame")
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("config_path = 'x'", metadata={"tags": ["injected-parameters"]}),
            _markdown("# Title of the report\n\nIntro paragraph."),
            _markdown("## Section A"),
            _shown("Body of section A."),
            _markdown("## Notes on method", tags=["methods"]),
            _shown("Method text.", tags=["methods"]),
            _markdown("## Section B"),
            _shown("Body of section B."),
            _markdown("## Findings", tags=["findings"]),
            _shown("Finding one.", tags=["findings", "nbval-check-output"]),
            _markdown("## Outputs for later notebooks", tags=["remove-cell"]),
            _shown("Saved plumbing for later notebooks.", tags=["remove-cell", "nbval-check-output"]),
        ]
    )
    executed = folder / "00_tiny.ipynb"
    nbformat.write(notebook, executed)
    before = executed.read_bytes()
    header = ReportHeader(COMPANY, "5 Jan 2026", "1 Jan 2023 to 31 Dec 2025", "my_config.yaml")
    html = render_html(executed, folder / "00_tiny.html", header).read_text()
    body = html[html.index("<body") :]
    return body, executed, before


def test_the_header_band_shows_every_value_escaped(framed):
    body, _, _ = framed
    band = body[body.index('<header class="cx-header">') : body.index("</header>")]
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in band
    assert "<script>alert(1)" not in body
    for value in ("5 Jan 2026", "1 Jan 2023 to 31 Dec 2025", "my_config.yaml"):
        assert value in band
    assert body.index("</header>") < body.index("Title of the report")


def test_findings_come_right_after_the_title_and_methods_at_the_end(framed):
    body, _, _ = framed
    order = ["Intro paragraph.", "Finding one.", "Body of section A.", "Body of section B.", "Method text."]
    positions = [body.index(text) for text in order]
    assert positions == sorted(positions)
    assert body.index(">Findings<") < body.index(">Section A<")
    assert body.index("Body of section B.") < body.index(">Notes on method<") < body.index("Method text.")


def test_plumbing_cells_are_left_out_and_the_executed_notebook_is_unchanged(framed):
    body, executed, before = framed
    assert "Outputs for later notebooks" not in body and "Saved plumbing" not in body
    assert executed.read_bytes() == before


def test_arranging_cells_keeps_tags_and_order_within_each_group():
    cells = [_markdown("# T"), _shown("a", ["findings"]), _shown("b"), _shown("c", ["findings"])]
    arranged = arrange_cells(nbformat.v4.new_notebook(cells=cells))
    assert [
        c.outputs[0].data["text/plain"] if c.cell_type == "code" else c.source for c in arranged.cells
    ] == [
        "# T",
        "a",
        "c",
        "b",
    ]
    assert arranged.cells[1].metadata.tags == ["findings"]


def test_the_data_period_runs_over_the_event_tables_not_the_signup_dates(small_config, small_data):
    header = report_header(small_config, small_data, dt.date(2026, 1, 5))
    events = [small_data[t][c] for t, c in EVENT_DATES.items() if small_data.has(t)]
    first, last = min(d.min() for d in events), max(d.max() for d in events)
    assert header == ReportHeader(
        company="Demo Retail Co (synthetic)",
        run_date="5 Jan 2026",
        data_period=f"{first.day} {first:%b %Y} to {last.day} {last:%b %Y}",
        config_name="demo_small.yaml",
    )
    assert small_data["customers"]["signup_date"].min() < first  # signups reach back further: not used


def test_customers_alone_give_a_snapshot_and_derived_event_dates_do_not_count():
    customers = pd.DataFrame(
        {"customer_id": ["a", "b"], "signup_date": pd.to_datetime(["2019-03-01", "2024-06-30"])}
    )
    as_of = pd.Timestamp("2025-03-31")
    assert data_period(CustomerData({"customers": customers}, as_of)) == "customer snapshot as of 31 Mar 2025"
    orders = pd.DataFrame(
        {"customer_id": ["a"], "order_date": pd.to_datetime(["2020-01-01"]), "amount": [1.0]}
    )
    surveys = pd.DataFrame({"customer_id": ["a", "b"], "date": pd.to_datetime(["2024-02-05", "2025-03-09"])})
    data = CustomerData(
        {"customers": customers, "transactions": orders, "surveys": surveys},
        as_of,
        derived_columns={"transactions.order_date": "Tenure (years)"},
    )
    assert data_period(data) == "5 Feb 2024 to 9 Mar 2025"


def test_report_helpers_do_not_import_the_renderer():
    """The kernels use the formatting helpers of ``cxlib.report._html``; nbformat and nbconvert
    (seconds of imports: jsonschema compiles grammars) are imported only by the rendering itself."""
    import subprocess
    import sys

    code = (
        "import sys, cxlib.report._html, cxlib.value._report, cxlib.experience._report;"
        "print(sorted(m for m in ('nbformat', 'nbconvert') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
