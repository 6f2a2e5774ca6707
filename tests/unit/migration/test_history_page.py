"""`sptk reconcile history --html FILE`: the cutover history as a self-contained page, over the week of real
reports test_cutover makes (the browser test renders the same page in Chromium:
tests/integration/migration/test_html_report_browser.py)."""

from __future__ import annotations

import hashlib
import re
from datetime import date, timedelta
from pathlib import Path

import orjson
from click.testing import Result

from tests.unit.migration.test_cutover import DAYS, FAILING_DAY, WARN_DAY, sptk

EVIL_OWNER = "<script>alert('owner')</script>"
EVIL_NOTE = "<img src=x onerror=alert(1)> & \"agreed\""


def history_page(reports_dir: Path, *args: str) -> tuple[Result, str]:
    page = reports_dir.parent / "history.html"
    result = sptk("history", str(reports_dir), *args, "--html", str(page))
    assert page.exists(), result.output
    return result, page.read_text()


def section(html: str, title: str) -> str:
    found = re.search(rf"<h2[^>]*>{re.escape(title)}</h2>(.*?)(?=<h2|</body>)", html, re.S)
    assert found, f"the page has no section {title!r}"
    return found.group(1)


def cells(row: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td>(.*?)</td>", row, re.S)]


def test_the_page_has_a_day_strip_the_streak_a_row_per_day_and_the_same_exit_code(reports: Path) -> None:
    text = sptk("history", str(reports), "--allow-warn", "--require-streak", "4")
    result, html = history_page(reports, "--allow-warn", "--require-streak", "4")
    assert result.exit_code == text.exit_code == 1, result.output
    assert result.stdout == text.stdout + f"html report: {reports.parent / 'history.html'}\n"
    strip = re.search(r"<svg[^>]*aria-label=\"verdict per day[^\"]*\"[^>]*>(.*?)</svg>", html, re.S)
    assert strip and "viewBox=" in strip.group(0)
    days = dict(re.findall(r'<rect data-day="([\d-]+)" data-verdict="(\w+)"', strip.group(1)))
    assert list(days) == DAYS
    assert days[FAILING_DAY] == "fail" and days[WARN_DAY] == "warn" and days[DAYS[0]] == "parity"
    assert re.findall(r'data-streak="([\d-]+)"', strip.group(1)) == DAYS[4:]
    assert "3 of 4 passing days" in html and "GATE NOT MET" in html
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", section(html, "Days"), re.S)[1:]
    by_day = {cells(r)[0]: cells(r) for r in rows}
    assert list(by_day) == DAYS
    assert by_day[FAILING_DAY][1:3] == ["no", "fail"] and "only_legacy 3" in by_day[FAILING_DAY]
    assert "3/4 ok (page_views off)" in by_day[FAILING_DAY] and f"{FAILING_DAY}.json" in by_day[FAILING_DAY]


def rewrite(report: Path, **changes: object) -> None:
    document = orjson.loads(report.read_bytes())
    document.update(changes)
    report.write_bytes(orjson.dumps(document, option=orjson.OPT_SORT_KEYS))


def test_freshness_p95_of_each_side_is_shown_when_the_reports_carry_it(reports: Path) -> None:
    rewrite(reports / f"{DAYS[2]}.json", freshness={"legacy": {"p50_s": 30.0, "p95_s": 61.5, "p99_s": 70.0},
                                                    "new": {"p50_s": 40.0, "p95_s": 95.0, "p99_s": 99.0}})
    rewrite(reports / f"{DAYS[3]}.json", freshness={"legacy": {"p50_s": 1, "p95_s": 750.0, "p99_s": 800.0},
                                                    "new": {"p50_s": 1, "p95_s": 11520.0, "p99_s": 12000.0}})
    rewrite(reports / f"{DAYS[0]}.json", freshness={"legacy": None, "new": None})  # jsonl sides: no load_tstamp
    first = orjson.loads((reports / f"{DAYS[1]}.json").read_bytes())
    del first["freshness"]  # a sptk-reconcile/1 report has no freshness at all
    (reports / f"{DAYS[1]}.json").write_bytes(orjson.dumps(dict(first, format="sptk-reconcile/1")))
    _, html = history_page(reports)
    rows = {cells(r)[0]: cells(r) for r in re.findall(r"<tr[^>]*>(.*?)</tr>", section(html, "Days"), re.S)[1:]}
    assert "61.5 s / 95 s" in rows[DAYS[2]]
    assert "12.5 min / 3.2 h" in rows[DAYS[3]]
    assert "- / -" in rows[DAYS[0]] and "- / -" in rows[DAYS[1]]


def test_sign_offs_show_owner_note_time_hash_and_day_all_escaped(reports: Path) -> None:
    signed = reports / f"{DAYS[-1]}.json"
    assert sptk("signoff", "--report", str(signed), "--owner", EVIL_OWNER, "--note", EVIL_NOTE).exit_code == 0
    assert sptk("signoff", "--report", str(reports / f"{DAYS[1]}.json"), "--owner", "bob").exit_code == 0
    _, html = history_page(reports, "--require-signoff", EVIL_OWNER)
    assert "<script" not in html and "<img" not in html
    body = section(html, "Sign-offs")
    rows = [cells(r) for r in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)[1:]]
    assert [r[0] for r in rows] == ["bob", "&lt;script&gt;alert(&#x27;owner&#x27;)&lt;/script&gt;"]
    evil = rows[1]
    assert "&lt;img src=x onerror=alert(1)&gt; &amp; &quot;agreed&quot;" in evil
    assert hashlib.sha256(signed.read_bytes()).hexdigest() in evil
    assert DAYS[-1] in evil and f"{DAYS[-1]}.json" in evil and "parity" in evil
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", evil[2])
    assert "GATE MET" in html


def test_the_same_reports_and_log_give_byte_identical_html(reports: Path) -> None:
    assert sptk("signoff", "--report", str(reports / f"{DAYS[-1]}.json"), "--owner", "alice").exit_code == 0
    _, first = history_page(reports, "--allow-warn")
    _, again = history_page(reports, "--allow-warn")
    assert first == again
    assert not re.search(r"(src|href)\s*=|@import|url\(", first)  # self-contained


def spread(reports: Path, days: int) -> None:
    """``days`` consecutive days of reports: copies of the week's first report, each on its own as_of day."""
    template = orjson.loads((reports / f"{DAYS[0]}.json").read_bytes())
    for path in reports.glob("*.json"):
        path.unlink()
    start = date(2024, 3, 1)
    for n in range(days):
        day = start + timedelta(days=n)
        failing = {"verdict": "fail", "exit_code": 2} if n % 17 == 5 else {}
        document = dict(template, as_of=f"{day.isoformat()}T23:00:00Z", **failing)
        (reports / f"{day.isoformat()}.json").write_bytes(orjson.dumps(document, option=orjson.OPT_SORT_KEYS))


def test_a_hundred_and_twenty_days_keep_day_cells_as_wide_as_a_week_s(reports: Path) -> None:
    _, week_html = history_page(reports)
    spread(reports, 120)
    _, html = history_page(reports)
    width = {}
    for name, page in (("week", week_html), ("120", html)):
        strip = re.search(r"<svg[^>]*aria-label=\"verdict per day[^\"]*\"[^>]*>(.*?)</svg>", page, re.S)
        assert strip
        widths = {float(w) for w in re.findall(r'<rect data-day="[^"]+"[^>]*width="([\d.]+)"', strip.group(1))}
        width[name] = min(widths)
        if name == "120":
            assert len(re.findall(r"<rect data-day=", strip.group(1))) == 120
            assert re.findall(r">(2024-\d\d)</text>", strip.group(1)) == ["2024-03", "2024-04", "2024-05", "2024-06"]
    assert width["120"] == width["week"] >= 14  # days wrap into month rows instead of shrinking
