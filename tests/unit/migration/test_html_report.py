"""The HTML report, second edition, over reports the real `sptk reconcile` makes (the browser test renders these
same pages in Chromium: tests/integration/migration/test_html_report_browser.py)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.unit.migration.scenario import clone, eid, event, events, run, write_jsonl

EVIL = "<script>alert('x')</script> & \"quoted\""


def reconcile_html(tmp: Path, legacy: list[dict[str, Any]], new: list[dict[str, Any]], *args: str) -> str:
    sources = ["jsonl:" + write_jsonl(tmp / f"{name}.jsonl", rows) for name, rows in (("legacy", legacy),
                                                                                        ("new", new))]
    page = tmp / "report.html"
    result = run("--legacy", sources[0], "--new", sources[1], "--lookback", "0s", "--html", str(page), *args)
    assert result.exit_code in (0, 1, 2), result.output
    return page.read_text()


def differing_pair() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Two hours of events: one lost, one added, one page title changed to a script."""
    legacy = events(120)
    new = clone(legacy)
    new[21]["page_title"] = EVIL
    del new[10]
    new.append(event(500, minute=100))
    return legacy, new


def test_a_script_in_a_page_title_is_escaped_and_shown_next_to_the_legacy_value(tmp_path: Path) -> None:
    html = reconcile_html(tmp_path, *differing_pair())
    assert "<script" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;quoted&quot;" in html
    sample = re.search(r"<h2[^>]*>Sample modified events</h2>(.*?)</table>", html, re.S)
    assert sample, "the page has no sample of modified events"
    row = re.search(r"<tr>(.*?page_title.*?)</tr>", sample.group(1), re.S)
    assert row and "Page 21" in row.group(1) and "&lt;script&gt;" in row.group(1)
    assert eid(21) in sample.group(1)


def test_the_same_report_gives_byte_identical_html(tmp_path: Path) -> None:
    first = reconcile_html(tmp_path, *differing_pair())
    assert reconcile_html(tmp_path, *differing_pair()) == first


def test_the_page_is_self_contained_and_responsive(tmp_path: Path) -> None:
    html = reconcile_html(tmp_path, *differing_pair())
    assert not re.search(r"(src|href)\s*=|@import|url\(", html)
    assert "<meta name=\"viewport\"" in html
    svgs = re.findall(r"<svg[^>]*>", html)
    assert len(svgs) >= 2 and all("viewBox=" in s and "width=" not in s.replace("stroke-width", "") for s in svgs)


def test_the_differences_chart_has_axes_and_a_series_per_bucket(tmp_path: Path) -> None:
    html = reconcile_html(tmp_path, *differing_pair())
    chart = re.search(r'<svg[^>]*aria-label="differences per window[^"]*"[^>]*>(.*?)</svg>', html, re.S)
    assert chart, "no differences-per-window chart"
    body = chart.group(1)
    assert len(re.findall(r'class="tick"', body)) >= 4  # y ticks and x ticks, each with a label
    assert "2024-05-01 10:00" in body
    for bucket in ("only_legacy", "only_new", "modified"):
        assert f'data-bucket="{bucket}"' in body
    assert "events" in body and "window" in body  # axis titles


def test_every_differing_window_is_explained_with_rows_next_to_events(tmp_path: Path) -> None:
    legacy, new = differing_pair()
    html = reconcile_html(tmp_path, legacy, new)
    section = re.search(r"<h2[^>]*>Windows that differ</h2>(.*?)</table>", html, re.S)
    assert section, "no table of differing windows"
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", section.group(1), re.S)[1:]
    assert len(rows) == 2
    first = re.sub(r"<[^>]+>", "|", rows[0])
    assert "2024-05-01 10:00" in first and "60 events / 60 rows" in first and "59 events / 59 rows" in first
    assert "only_legacy 1" in first and "modified 1" in first


@pytest.mark.parametrize("windows", [600])
def test_hundreds_of_windows_are_binned_and_the_chart_says_so(tmp_path: Path, windows: int) -> None:
    legacy = [event(i, minute=i) for i in range(windows)]
    new = clone(legacy)
    for i in range(0, windows, 37):
        new[i]["page_title"] = "changed"
    html = reconcile_html(tmp_path, legacy, new, "--window", "1m")
    chart = re.search(r'<svg[^>]*aria-label="differences per window[^"]*"[^>]*>(.*?)</svg>', html, re.S)
    assert chart
    bars = re.findall(r"<rect[^>]*data-bucket=", chart.group(1))
    assert 0 < len(bars) <= 150
    assert re.search(r"600 windows in \d+ bins of \d+ windows", html)
