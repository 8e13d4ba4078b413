"""Report helpers: readable table headers and escaped data-derived text."""

from __future__ import annotations

import pandas as pd

from cxlib.report._html import header_text, styled


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
