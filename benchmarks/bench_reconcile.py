"""Reconcile N vs N events in DuckDB with 100 scattered differences; time and peak memory, side by side.

The two sides are generated directly in one DuckDB file with SQL (schemas ``legacy``
and ``kafka``, the project's own ``atomic.events`` DDL, a context column on every
row). Each measured run is a fresh child process, so its peak RSS is its own:

* ``checksums``: the engine as shipped (per-window checksums, key-level diff only
  in windows that differ);
* ``full-diff``: the key-level diff over every window (what the checksums save).

Both must find exactly the 100 planted differences. Usage::

    .venv/bin/python benchmarks/bench_reconcile.py                  # 200k vs 200k
    .venv/bin/python benchmarks/bench_reconcile.py --events 10000000 # the issue's target: < 60 s, < 2 GB
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from connectors.warehouse.columns import Dialect, events_ddl  # noqa: E402

DAYS = 30
DIFFERENCES = {"only_legacy": 34, "only_new": 33, "modified": 33}


def generate(path: Path, events: int, seed: int) -> dict[str, list[str]]:
    """Write both sides into ``path`` and return the planted differences by bucket."""
    import duckdb

    con = duckdb.connect(str(path))
    for schema in ("legacy", "kafka"):
        for statement in events_ddl(schema, Dialect.DUCKDB, ("contexts_com_acme_page_1",)):
            con.execute(statement)
    span_us = DAYS * 86_400_000_000
    con.execute(f"""
        INSERT INTO legacy.events (event_id, collector_tstamp, etl_tstamp, dvce_created_tstamp, app_id, platform,
            event, event_vendor, event_name, event_format, event_version, event_fingerprint, v_collector, v_etl,
            domain_userid, domain_sessionid, domain_sessionidx, page_url, page_title, useragent, br_lang,
            geo_country, geo_latitude, tr_total, br_cookies, load_tstamp, load_file, load_line, row_fingerprint,
            synthetic_duplicate, contexts_com_acme_page_1)
        SELECT uuid_from(i) AS event_id,
               make_timestamp(1714521600000000 + (hash(i) % {span_us})::BIGINT) AS collector_tstamp,
               make_timestamp(1714521600000000 + (hash(i) % {span_us})::BIGINT + 2000000),
               make_timestamp(1714521600000000 + (hash(i) % {span_us})::BIGINT - 1000),
               ['shop', 'blog', 'app'][1 + i % 3], ['web', 'mob'][1 + i % 2],
               CASE WHEN i % 10 = 0 THEN 'transaction' WHEN i % 4 = 0 THEN 'unstruct' ELSE 'page_view' END,
               'com.snowplowanalytics.snowplow',
               CASE WHEN i % 10 = 0 THEN 'transaction' WHEN i % 4 = 0 THEN 'link_click' ELSE 'page_view' END,
               'jsonschema', '1-0-0', md5(i::VARCHAR), 'ssc-3.0.0', 'enrich-4.0.0',
               'user-' || (i % 100000), 'session-' || (i % 1000000), i % 50,
               'https://example.com/p/' || (i % 5000), 'Page ' || (i % 5000),
               'Mozilla/5.0 (X11; Linux x86_64) Firefox/' || (i % 120), 'en-GB', 'GB', 51.5 + (i % 100) / 1000.0,
               CASE WHEN i % 10 = 0 THEN (i % 997) / 10.0 END, TRUE,
               TIMESTAMP '2024-06-01 00:00:00', 'legacy.tsv', i, md5(i::VARCHAR), FALSE,
               json_array(json_object('id', i % 5000, 'section', ['news', 'sport', 'shop'][1 + i % 3]))
        FROM (SELECT range AS i FROM range({events}))
    """.replace("uuid_from(i)", "(substr(md5(i::VARCHAR), 1, 8) || '-' || substr(md5(i::VARCHAR), 9, 4) || '-4' || "
                                 "substr(md5(i::VARCHAR), 14, 3) || '-8' || substr(md5(i::VARCHAR), 18, 3) || '-' || "
                                 "substr(md5(i::VARCHAR), 21, 12))"))
    con.execute("INSERT INTO kafka.events SELECT * FROM legacy.events")
    rng = random.Random(seed)
    picked = rng.sample(range(events), DIFFERENCES["only_legacy"] + DIFFERENCES["modified"])
    removed, modified = picked[: DIFFERENCES["only_legacy"]], picked[DIFFERENCES["only_legacy"]:]
    ids = {i: con.execute("SELECT event_id FROM legacy.events WHERE load_line = ?", [i]).fetchone()[0] for i in picked}
    con.execute("DELETE FROM kafka.events WHERE load_line IN (SELECT unnest(?))", [removed])
    con.execute("UPDATE kafka.events SET page_title = page_title || ' (changed)' WHERE load_line IN "
                "(SELECT unnest(?))", [modified])
    extra = []
    for n in range(DIFFERENCES["only_new"]):
        line = events + n
        con.execute("""INSERT INTO kafka.events SELECT * REPLACE (? AS event_id, ? AS load_line,
                       'extra-' || ? AS row_fingerprint) FROM legacy.events WHERE load_line = ?""",
                    [f"eeeeeeee-0000-4000-8000-{n:012d}", line, n, rng.randrange(events)])
        extra.append(f"eeeeeeee-0000-4000-8000-{n:012d}")
    con.execute("CHECKPOINT")
    con.close()
    return {"only_legacy": sorted(ids[i] for i in removed), "modified": sorted(ids[i] for i in modified),
            "only_new": sorted(extra)}


def child(db: str, mode: str, memory_limit: str) -> None:
    """One measured reconciliation (run in a fresh process by the parent)."""
    from migration.reconcile.config import ReconcileConfig
    from migration.reconcile.engine import reconcile
    from migration.sources import open_workspace, parse_source

    config = ReconcileConfig(sample_size=200, lookback_us=0)
    if mode == "full-diff":
        config = replace(config, max_window_filter=0)
    started = time.perf_counter()
    with open_workspace(parse_source(f"duckdb:{db}?schema=legacy"), parse_source(f"duckdb:{db}?schema=kafka"),
                        memory_limit=memory_limit) as workspace:
        rec = reconcile(workspace, config)
    elapsed = time.perf_counter() - started
    print(json.dumps({"seconds": elapsed, "verdict": rec.verdict, "error": rec.error,
                      "windows": len(rec.windows), "windows_diffed": rec.windows_diffed,
                      "found": {b: sorted(rec.bucket(b).sample) for b in DIFFERENCES},
                      "counts": {b: rec.bucket(b).count for b in DIFFERENCES}}))


def measure(db: Path, mode: str, memory_limit: str) -> dict[str, object]:
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, __file__, "--child", mode, "--db", str(db),
                                "--memory-limit", memory_limit], stdout=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    output = process.stdout.read() if process.stdout else ""
    if status != 0:
        raise SystemExit(f"the {mode} run failed (status {status}): {output}")
    result = json.loads(output)
    result.update(wall=wall, peak_rss_mb=usage.ru_maxrss / 1024)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200_000, help="events per side (the full run: 10000000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--memory-limit", default="1GB", help="DuckDB memory limit of the engine")
    parser.add_argument("--skip-full-diff", action="store_true", help="measure only the shipped strategy")
    parser.add_argument("--child", choices=("generate", "checksums", "full-diff"), help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "generate":
        print(json.dumps(generate(Path(args.db), args.events, args.seed)))
        return
    if args.child:
        child(args.db, args.child, args.memory_limit)
        return
    with tempfile.TemporaryDirectory(prefix="sptk-bench-") as tmp:
        db = Path(tmp) / "bench.duckdb"
        started = time.perf_counter()
        # generated in a child too: a forked child's peak RSS starts from its parent's, so the parent stays small
        planted = json.loads(subprocess.run(
            [sys.executable, __file__, "--child", "generate", "--db", str(db), "--events", str(args.events),
             "--seed", str(args.seed)], check=True, capture_output=True, text=True).stdout)
        print(f"generated {args.events:,} vs {args.events:,} events over {DAYS} days in "
              f"{time.perf_counter() - started:.1f}s ({db.stat().st_size / 2**20:.0f} MiB), 100 differences planted")
        modes = ["checksums"] + ([] if args.skip_full_diff else ["full-diff"])
        results = {mode: measure(db, mode, args.memory_limit) for mode in modes}
    print(f"{'strategy':<10} {'seconds':>8} {'peak RSS':>10} {'events/s':>12}  windows diffed  all 100 found")
    for mode, r in results.items():
        found = all(r["found"][b] == planted[b] for b in DIFFERENCES) and r["counts"] == DIFFERENCES
        rate = 2 * args.events / r["wall"]
        print(f"{mode:<10} {r['wall']:>8.1f} {r['peak_rss_mb']:>8.0f}MB {rate:>12,.0f}  "
              f"{r['windows_diffed']:>5} of {r['windows']:<6} {'yes' if found else 'NO: ' + str(r['counts'])}")
    if "full-diff" in results:
        ratio = results["full-diff"]["wall"] / results["checksums"]["wall"]
        print(f"ratio full-diff / checksums: {ratio:.2f}x time, "
              f"{results['full-diff']['peak_rss_mb'] / results['checksums']['peak_rss_mb']:.2f}x peak RSS")
    target = results["checksums"]
    print(f"target (10M vs 10M): under 60 s and 2 GB -> this run: {target['wall']:.1f} s, "
          f"{target['peak_rss_mb'] / 1024:.2f} GB")


if __name__ == "__main__":
    main()
