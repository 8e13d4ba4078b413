r"""Make text from the data or the config safe wherever it reaches a report.

Company names, currencies, segment names, category values (plan, region, channel), column
names and file names come from the user's files. Reports are HTML, so such text must never be
read as markup: interpolated into HTML it is escaped with :func:`escape_text`, interpolated into
Markdown (which nbconvert turns into HTML, passing raw HTML and ``[links](javascript:...)``
through) with :func:`md_text`. :func:`md_plain` turns a Markdown sentence built this way back
into plain text, e.g. for the index page, whose template escapes it again. Charts are PNG:
:func:`cxlib.report._charts.set_theme` turns mathtext off, so a ``$`` in a label cannot break one.

Examples
--------
>>> escape_text('<img src=x onerror=alert(1)>')
'&lt;img src=x onerror=alert(1)&gt;'
>>> md_text("[x](javascript:alert(1)) <b>")
'\\[x\\](javascript:alert(1)) &lt;b&gt;'
>>> md_plain(md_text("a_b <b>"))
'a_b <b>'
"""

from __future__ import annotations

import html
import re

#: Markdown characters escaped with a backslash: links and images (``[``, ``]``), emphasis
#: (``*``, ``_``), code spans and math. HTML's own specials are entity-escaped instead, and
#: characters common in ordinary text (``.``, ``-``, ``(``, ``)``, ``#``, ``+``) are left as they
#: are: inside a sentence they build no markup.
MARKDOWN_SPECIALS = "\\`*_[]$"
_MARKDOWN_SPECIAL = re.compile("([" + re.escape(MARKDOWN_SPECIALS) + "])")
_MARKDOWN_ESCAPED = re.compile(r"\\([" + re.escape(MARKDOWN_SPECIALS) + "])")
_LINE_BREAK = re.compile(r"\s*[\r\n]+\s*")


def escape_text(value) -> str:
    """Text from the data or the config, ready to be placed in HTML (element content or attribute).

    Escapes ``&``, ``<``, ``>``, ``"`` and ``'``.

    Parameters
    ----------
    value : object
        Anything; it is turned into text with ``str``.

    Returns
    -------
    str

    Examples
    --------
    >>> escape_text('"><svg onload=alert(1)>')
    '&quot;&gt;&lt;svg onload=alert(1)&gt;'
    """
    return html.escape(str(value), quote=True)


def md_text(value) -> str:
    r"""Text from the data or the config, ready to be interpolated into a Markdown sentence.

    Markdown specials that build markup (``[ ] * _ ` $ \``) get a backslash, HTML specials become
    entities (so raw HTML, ``<autolinks>`` and ``[links](javascript:...)`` cannot form), and line
    breaks become spaces (a value cannot start a heading, list or link definition of its own).
    Ordinary text (letters, digits, ``. , - ( ) : %``) is unchanged.

    Parameters
    ----------
    value : object
        Anything; it is turned into text with ``str``.

    Returns
    -------
    str
        Markdown source that renders as exactly ``str(value)`` (line breaks aside).

    Examples
    --------
    >>> md_text("High-value frequent customers (2)")
    'High-value frequent customers (2)'
    >>> md_text("<script>alert(1)</script>")
    '&lt;script&gt;alert(1)&lt;/script&gt;'
    """
    text = _LINE_BREAK.sub(" ", str(value))
    return escape_text(_MARKDOWN_SPECIAL.sub(r"\\\1", text))


def md_plain(markdown: str) -> str:
    r"""Plain text of a Markdown sentence built with :func:`md_text`: bold marks, escapes and entities removed.

    Parameters
    ----------
    markdown : str

    Returns
    -------
    str
        Text to be escaped again where it is placed (e.g. by the index page's template).

    Examples
    --------
    >>> md_plain("**Plan: a\\_b** &lt;b&gt;")
    'Plan: a_b <b>'
    """
    text = markdown.replace("**", "")
    return html.unescape(_MARKDOWN_ESCAPED.sub(r"\1", text))
