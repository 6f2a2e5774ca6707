"""The HTML report and the history page rendered in headless Chromium (Debian's package; scripts/chromium installs
it) at 1400 and 500 px: they must not overflow horizontally and must not be empty (a chart with bars or day cells,
table rows).

The report itself has no script; the test appends a small one that measures the page on load and writes the
result into the DOM, which ``--dump-dom`` gives back.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import orjson
import pytest

from tests.ci import unavailable
from tests.unit.migration.scenario import clone, event

CHROMIUM = os.environ.get("SPTK_CHROMIUM") or shutil.which("chromium")

CHECK = """<script>window.addEventListener('load', function () {
  var d = document.documentElement, out = document.createElement('pre');
  out.id = 'sptk-check';
  out.textContent = JSON.stringify({scrollWidth: d.scrollWidth, innerWidth: window.innerWidth,
    bars: document.querySelectorAll('svg rect[data-bucket]').length,
    days: document.querySelectorAll('svg rect[data-day]').length,
    dayWidth: Math.min.apply(null, Array.from(document.querySelectorAll('svg rect[data-day]')).map(function (r) {
      return r.getBoundingClientRect().width; }).concat([1e9])),
    rows: document.querySelectorAll('tr').length,
    svgWidth: Math.max.apply(null, Array.from(document.querySelectorAll('svg')).map(function (s) {
      return s.getBoundingClientRect().width; }))});
  document.body.appendChild(out);
});</script>"""


def measure(page: Path, width: int, tmp: Path) -> dict[str, float]:
    if CHROMIUM is None:
        unavailable("chromium is not installed: run scripts/chromium (scripts/setup does, as root)")
    probe = tmp / f"probe-{width}-{page.name}"
    probe.write_text(page.read_text().replace("</body>", CHECK + "</body>"))
    shot = tmp / f"{page.stem}-{width}.png"
    args = [str(CHROMIUM), "--headless", "--disable-gpu", "--no-sandbox", f"--window-size={width},900",
            "--hide-scrollbars", "--virtual-time-budget=3000"]
    subprocess.run([*args, f"--screenshot={shot}", probe.as_uri()], capture_output=True, timeout=120, check=False)
    dom = subprocess.run([*args, "--dump-dom", probe.as_uri()], capture_output=True, text=True, timeout=120,
                         check=True).stdout
    found = re.search(r'<pre id="sptk-check">(.*?)</pre>', dom, re.S)
    assert found, f"the page did not load in chromium: {dom[:500]}"
    return orjson.loads(found.group(1).replace("&quot;", '"'))


def reconcile(tmp: Path, n: int, window: str, name: str) -> Path:
    """A report by the real `sptk reconcile` over two DuckDB warehouses (see test_cutover's loader)."""
    from tests.unit.migration.scenario import run
    from tests.unit.migration.test_cutover import _load

    legacy = [event(i, minute=i, page_title=f"A long page title number {i} " * 3) for i in range(n)]
    new = clone(legacy)
    for i in range(3, n, 7):
        new[i]["page_title"] = "<script>alert(1)</script> changed"
    del new[5]
    db = tmp / f"{name}.duckdb"
    _load(f"duckdb:{db}?schema=legacy", legacy)
    _load(f"duckdb:{db}?schema=kafka", new)
    page = tmp / f"{name}.html"
    result = run("--legacy", f"duckdb:{db}?schema=legacy", "--new", f"duckdb:{db}?schema=kafka", "--window",
                 window, "--lookback", "0s", "--html", str(page))
    assert result.exit_code == 2, result.output
    return page


@pytest.mark.parametrize(("n", "window"), [(120, "1h"), (600, "1m")], ids=["2-windows", "600-windows"])
@pytest.mark.parametrize("width", [1400, 500])
def test_the_report_fits_the_screen_and_is_not_empty(tmp_path: Path, n: int, window: str, width: int) -> None:
    page = reconcile(tmp_path, n, window, f"report-{n}")
    seen = measure(page, width, tmp_path)
    assert seen["scrollWidth"] <= seen["innerWidth"], f"horizontal overflow at {width} px: {seen}"
    assert seen["bars"] > 0 and seen["rows"] > 10, f"an empty page at {width} px: {seen}"
    assert seen["svgWidth"] <= width


@pytest.mark.parametrize("days", [7, 120])
@pytest.mark.parametrize("width", [1400, 500])
def test_the_history_page_fits_the_screen_and_is_not_empty(tmp_path: Path, days: int, width: int) -> None:
    from tests.unit.migration.test_cutover import DAYS, make_week, sptk
    from tests.unit.migration.test_history_page import EVIL_NOTE, EVIL_OWNER, spread

    reports = make_week(tmp_path)
    if days != len(DAYS):
        spread(reports, days)
    latest = sorted(reports.glob("*.json"))[-1]
    assert sptk("signoff", "--report", str(latest), "--owner", EVIL_OWNER, "--note", EVIL_NOTE).exit_code == 0
    page = tmp_path / f"history-{days}.html"
    result = sptk("history", str(reports), "--allow-warn", "--require-streak", "7", "--html", str(page))
    assert result.exit_code in (0, 1), result.output
    seen = measure(page, width, tmp_path)
    assert seen["scrollWidth"] <= seen["innerWidth"], f"horizontal overflow at {width} px: {seen}"
    assert seen["days"] == days and seen["rows"] > days, f"an empty page at {width} px: {seen}"
    assert seen["dayWidth"] >= 8, f"day cells too narrow to read at {width} px: {seen}"
    assert seen["svgWidth"] <= width


@pytest.mark.parametrize("width", [1400, 500])
def test_the_audit_page_fits_the_screen_and_is_not_empty(tmp_path: Path, width: int) -> None:
    """The planted estate of the audit tests plus 30 event types with long names, audited with a registry."""
    from click.testing import CliRunner

    from connectors.warehouse import Warehouse
    from connectors.warehouse.loader import Dedup
    from connectors.warehouse.rows import Provenance
    from tests.unit.migration.test_audit import _event, governance, load_estate, registry
    from toolkit.cli.root import main

    url = f"duckdb:{tmp_path / 'estate.duckdb'}"
    load_estate(url)
    extra = [_event(50 + i, "com.acme.a-rather-long-vendor-name.for-wrapping", f"some_very_long_event_name_{i}" * 2,
                    app=f"app-{i % 4}", collector_tstamp=f"2024-05-01T11:{i:02d}:00Z",
                    **{"contexts_com_acme_a_rather_long_entity_name_for_the_table_1": [{"i": i}]})
             for i in range(30)]
    with Warehouse.open(url) as wh:
        wh.load([(r, Provenance.file_line("more", n + 1)) for n, r in enumerate(extra)], Dedup.NONE)
    page = tmp_path / "audit.html"
    result = CliRunner().invoke(main, ["audit", "--source", url, "--resolver", str(registry(tmp_path)),
                                       "--governance", str(governance(tmp_path)), "--html", str(page)])
    assert result.exit_code == 0, result.output
    seen = measure(page, width, tmp_path)
    assert seen["scrollWidth"] <= seen["innerWidth"], f"horizontal overflow at {width} px: {seen}"
    assert seen["bars"] == 20 and seen["rows"] > 40, f"an empty page at {width} px: {seen}"
    assert seen["svgWidth"] <= width
