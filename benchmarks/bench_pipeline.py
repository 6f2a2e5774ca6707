"""The whole pipeline, file source to the real local broker, against the reference stack, in one run.

Run: .venv/bin/python benchmarks/bench_pipeline.py [--events N] [--big] [--skip-reference]

Both sides read the same enriched TSV file and produce, with delivery confirmed, the raw line,
the enriched JSON and one derived stream (checkout steps, projected) to fresh topics on the
broker in ``.run/kafka/bootstrap`` (or ``KAFKA_BOOTSTRAP_SERVERS``):

* ours: ``sptk pipeline run`` wiring (file source, decode, validation of every
  self-describing JSON through the Iglu resolver, routing, DeliveryProducer with tracked
  acknowledgement), built by :func:`connectors.pipeline_app.build` and run in-process;
* reference: what a team writes with the usual libraries: ``snowplow_analytics_sdk``
  ``transform`` per line, ``json.loads`` of the three JSON fields and a
  ``jsonschema.Draft4Validator`` per entity (schemas read once from the example registry,
  no resolver, no format checks), ``json.dumps``, the same DeliveryProducer calls (tracker,
  headers, keys). Two variants: as specified, a validator built for each entity; and a
  stronger one that keeps one validator per schema.

Two floors show what any pipeline built on this Kafka client pays before doing any work: the
exact messages ours produced (computed before the clock starts), sent again to fresh topics,
once through the bare confluent-kafka producer (one delivery callback per message, nothing
else) and once through ours (DeliveryProducer with the tracker, as the runner drives it).
"Pipeline work" is ours minus the client floor.

Each side runs in its own process (so its peak RSS and CPU time are its own) one after the
other; the figures that matter are the ratios. CPU time includes librdkafka's threads. With
``--big`` ours also runs on 100,000 and 1,000,000 events to show that peak RSS does not grow
with the input. This is a benchmark, not a test: it asserts nothing about time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

EXAMPLES = ROOT / "examples" / "iglu"
DERIVED = {"name": "checkout", "version": 1, "owner": "bench",
           "filter": {"schema": "iglu:com.acme/checkout_step/jsonschema/1-*-*"},
           "projection": ["event_id", "collector_tstamp", "domain_userid",
                          "unstruct_event_com_acme_checkout_step_1.step", "contexts_com_acme_consent_1[].analytics"]}


def bootstrap() -> str:
    env = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if env:
        return env
    path = ROOT / ".run" / "kafka" / "bootstrap"
    if not path.exists():
        sys.exit("no broker: start one with scripts/kafka-local start, or set KAFKA_BOOTSTRAP_SERVERS")
    return path.read_text().strip()


def write_input(path: Path, events: int, fixtures: Path | None) -> dict[str, int]:
    """Sample events (1% unparsable, 1% invalid) plus, for realism, Snowplow's own fixture lines."""
    from toolkit.contract.samples import SampleSpec, SampleStats, generate

    stats = SampleStats()
    base = min(events, 50_000)  # longer inputs cycle through the same events: the work per line is the same
    lines = [x.encode() for x in generate(SampleSpec(events=base, seed=1), stats)]
    extra = []
    if fixtures is not None and fixtures.is_dir():
        extra = [raw for f in sorted(fixtures.glob("*.tsv")) for raw in f.read_bytes().splitlines() if raw]
    written = 0
    with open(path, "wb", buffering=1 << 20) as f:
        while written < events:
            for i, raw in enumerate(lines):
                if written >= events:
                    break
                f.write(raw)
                f.write(b"\n")
                written += 1
                if extra and i % 1000 == 999 and written < events:
                    f.write(extra[(i // 1000) % len(extra)])
                    f.write(b"\n")
                    written += 1
    return {"lines": written, "fixture_lines": bool(extra)}


def config(prefix: str, broker: str, input_path: Path, resolver: Path) -> dict[str, Any]:
    return {
        "kafka": {"bootstrap_servers": broker, "topic_prefix": prefix},
        "topics": {"defaults": {"partitions": 3, "replication": 1}},
        "source": {"kind": "file", "file": {"paths": [str(input_path)]}},
        "iglu": {"resolver_config": str(resolver)},
        "output": {"target": "kafka"},
        "derived": [DERIVED],
        "delivery": {"max_in_flight": 20_000, "drain_timeout_s": 300},
    }


def resolver_config(path: Path, iglu_central: Path | None) -> Path:
    """The example schemas, and Iglu Central (embedded, from disk) for the fixture lines when present."""
    repos = [{"name": "examples", "priority": 0, "vendorPrefixes": ["com.acme"],
              "connection": {"embedded": {"path": str(EXAMPLES)}}}]
    if iglu_central is not None and iglu_central.is_dir():
        repos.append({"name": "iglu-central", "priority": 1, "vendorPrefixes": [],
                      "connection": {"embedded": {"path": str(iglu_central)}}})
    path.write_text(json.dumps({"schema": "iglu:com.snowplowanalytics.iglu/resolver-config/jsonschema/1-0-3",
                                "data": {"cacheSize": 1000, "cacheTtl": 600, "repositories": repos}}))
    return path


def usage() -> tuple[float, float]:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return time.perf_counter(), r.ru_utime + r.ru_stime


# --------------------------------------------------------------------------------------------
# The two sides (each in a child process)
# --------------------------------------------------------------------------------------------


def run_ours(cfg_path: Path) -> dict[str, Any]:
    from connectors.pipeline_app import build
    from toolkit.config.loading import load_config

    app = build(load_config(cfg_path), serve=False)
    wall0, cpu0 = usage()
    app.runner.run(threading.Event())
    confirmed = app.runner.drain(300)
    wall1, cpu1 = usage()
    summary = app.summary
    return {"events": summary["in"], "enriched": summary["enriched"], "bad": summary["bad"],
            "derived": sum(summary["derived"].values()), "wall_s": wall1 - wall0, "cpu_s": cpu1 - cpu0,
            "confirmed": confirmed, "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def run_floor(cfg_path: Path, bare: bool) -> dict[str, Any]:
    """Produce the messages ours would produce, computed before timing: the cost of delivery alone."""
    from toolkit.config.loading import load_config
    from toolkit.kafka import DeliveryProducer, idempotent_producer
    from toolkit.pipeline.delivery import DeliveryTracker
    from toolkit.pipeline.fanout import Pipeline, stream_topics

    cfg = load_config(cfg_path)
    kafka = cfg.require_kafka()
    pipeline = Pipeline.from_config(cfg, limits={s: 1_000_000 for s in stream_topics(cfg)})
    path = cfg.source.file.paths[0]  # type: ignore[union-attr]
    records = []
    counts = {"events": 0, "enriched": 0, "bad": 0, "derived": 0}
    with open(path, "rb") as f:
        for number, raw in enumerate(f, 1):
            outcome = pipeline.process(raw.rstrip(b"\n"), f"file:{path}:{number}")
            records.append(outcome.outputs)
            counts["events"] += 1
            for out in outcome.outputs:
                stream = out.stream.split(".")[0]
                if stream in counts:
                    counts[stream] += 1
    wall0, cpu0 = usage()
    if bare:
        producer = idempotent_producer(kafka.bootstrap_servers, kafka.producer_settings())
        confirmed = [0]

        def delivered(err: Any, msg: Any) -> None:
            confirmed[0] += err is None

        for number, outs in enumerate(records, 1):
            for o in outs:
                while True:
                    try:
                        producer.produce(o.topic, o.value, o.key, headers=o.headers, on_delivery=delivered)
                        break
                    except BufferError:
                        producer.poll(0.05)
            if number % 500 == 0:
                producer.poll(0)
        left = producer.flush(300)
        ok = left == 0 and confirmed[0] == sum(map(len, records))
    else:
        tracker = DeliveryTracker(cfg.delivery.max_in_flight)
        ours = DeliveryProducer(kafka.bootstrap_servers, kafka.producer_settings(), tracker=tracker)
        for number, outs in enumerate(records, 1):
            while not tracker.has_capacity():
                ours.poll(0.05)
            tracker.track("input", number, len(outs))
            ours.produce_record(outs, ("input", number))
            if number % 500 == 0:
                ours.poll(0)
        ok = ours.flush(300) == 0 and tracker.in_flight == 0
    wall1, cpu1 = usage()
    return {**counts, "wall_s": wall1 - wall0, "cpu_s": cpu1 - cpu0, "confirmed": ok,
            "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def run_reference(cfg_path: Path, cached: bool) -> dict[str, Any]:
    from jsonschema import Draft4Validator
    from snowplow_analytics_sdk.event_transformer import transform
    from snowplow_analytics_sdk.snowplow_event_transformation_exception import SnowplowEventTransformationException

    from toolkit.config.loading import load_config
    from toolkit.kafka import DeliveryProducer
    from toolkit.pipeline.delivery import DeliveryTracker

    cfg = load_config(cfg_path)
    kafka = cfg.require_kafka()
    prefix = kafka.topic_prefix
    tracker = DeliveryTracker(cfg.delivery.max_in_flight)
    producer = DeliveryProducer(kafka.bootstrap_servers, kafka.producer_settings(), tracker=tracker)
    topics = {s: f"{prefix}.{s}" for s in ("raw", "enriched", "bad", "derived.checkout.v1")}
    schemas: dict[str, Any] = {}
    validators: dict[str, Any] = {}
    pipeline_header = b"reference"

    def validator(uri: str) -> Any:
        if cached and uri in validators:
            return validators[uri]
        if uri not in schemas:
            vendor, name, fmt, version = uri[len("iglu:"):].split("/")
            path = EXAMPLES / "schemas" / vendor / name / fmt / version
            schemas[uri] = json.loads(path.read_text()) if path.exists() else None
        schema = schemas[uri]
        v = validators[uri] = None if schema is None else Draft4Validator(schema)
        return v

    def problems(fields: list[str]) -> list[str]:
        out = []
        for position in (52, 58, 122):
            if not fields[position]:
                continue
            wrapper = json.loads(fields[position])
            items = [wrapper] + (wrapper["data"] if isinstance(wrapper["data"], list) else [wrapper["data"]])
            for item in items:
                v = validator(item["schema"])
                if v is None:
                    out.append(f"{item['schema']}: not found")
                else:
                    out.extend(e.message for e in v.iter_errors(item["data"]))
        return out

    wall0, cpu0 = usage()
    counts = {"events": 0, "enriched": 0, "bad": 0, "derived": 0}
    with open(cfg.source.file.paths[0], "rb") as f:  # type: ignore[union-attr]
        for number, raw in enumerate(f, 1):
            raw = raw.rstrip(b"\n")
            while not tracker.has_capacity():
                producer.poll(0.05)
            text = raw.decode("utf-8", "replace")
            fields = text.split("\t")
            outputs: list[tuple[str, bytes, bytes | None]] = []
            key = None
            try:
                event = transform(text)
                key = (event.get("domain_userid") or event.get("network_userid") or event["event_id"]).encode()
                errors = problems(fields)
                if errors:
                    outputs.append(("bad", json.dumps({"errors": errors, "line": text}).encode(), key))
                else:
                    outputs.append(("enriched", json.dumps(event).encode(), key))
                    if event.get("unstruct_event_com_acme_checkout_step_1") is not None:
                        projected = {k: event[k] for k in ("event_id", "collector_tstamp", "domain_userid")
                                     if k in event}
                        projected["unstruct_event_com_acme_checkout_step_1"] = {
                            "step": event["unstruct_event_com_acme_checkout_step_1"].get("step")}
                        projected["contexts_com_acme_consent_1"] = [
                            {"analytics": c.get("analytics")} for c in event.get("contexts_com_acme_consent_1", [])]
                        outputs.append(("derived.checkout.v1", json.dumps(projected).encode(), key))
            except (SnowplowEventTransformationException, ValueError, KeyError, IndexError, TypeError) as exc:
                outputs.append(("bad", json.dumps({"errors": [str(exc)], "line": text}).encode(), None))
            headers = [("sp.event_id", fields[6].encode() if len(fields) > 6 else b""), ("sp.schema", b""),
                       ("sp.collector_tstamp", b""), ("sp.source", f"input:{number}".encode()),
                       ("sp.pipeline", pipeline_header), ("sp.trace_id", uuid.uuid4().hex.encode())]
            tracker.track("input", number, 1 + len(outputs))
            producer.produce(topics["raw"], raw, key=key, headers=headers, record=("input", number))
            for stream, value, k in outputs:
                producer.produce(topics[stream], value, key=k, headers=headers, record=("input", number))
                counts["bad" if stream == "bad" else stream.split(".")[0] if stream != "derived.checkout.v1"
                       else "derived"] += 1
            counts["events"] += 1
            if number % 500 == 0:
                producer.poll(0)
    left = producer.flush(300)
    wall1, cpu1 = usage()
    return {**counts, "wall_s": wall1 - wall0, "cpu_s": cpu1 - cpu0, "confirmed": left == 0,
            "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


# --------------------------------------------------------------------------------------------
# The parent: inputs, topics, children, the table
# --------------------------------------------------------------------------------------------


def child(side: str, cfg_path: Path) -> dict[str, Any]:
    done = subprocess.run([sys.executable, __file__, "--child", side, "--config", str(cfg_path)],
                          capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        sys.exit(f"{side} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def prepare(tmp: Path, broker: str, input_path: Path, resolver: Path) -> Path:
    import yaml

    from toolkit.config.loading import load_config
    from toolkit.kafka.topics import Action, Plan, apply_plan, read_plan

    prefix = f"bench.pipeline.{uuid.uuid4().hex[:8]}"
    cfg_path = tmp / f"{prefix}.yaml"
    cfg_path.write_text(yaml.safe_dump(config(prefix, broker, input_path, resolver)))
    cfg = load_config(cfg_path, environ={})
    plan = read_plan(cfg)
    apply_plan(cfg, Plan(tuple(t for t in plan.topics if t.action is Action.CREATE)))
    deadline = time.monotonic() + 15
    while read_plan(cfg).missing and time.monotonic() < deadline:
        time.sleep(0.2)
    return cfg_path


def line_of(name: str, r: dict[str, Any]) -> str:
    per_s = r["events"] / r["wall_s"]
    per_core = r["events"] / r["cpu_s"]
    return (f"  {name:<13} {r['events']:>9,} events  {r['wall_s']:7.2f} s  {per_s:>9,.0f} events/s  "
            f"{r['cpu_s'] / r['events'] * 1e6:7.1f} µs CPU/event  {per_core:>9,.0f} events/s per core  "
            f"peak RSS {r['maxrss_mb']:6.1f} MB  (enriched {r['enriched']:,}, bad {r['bad']:,}, "
            f"derived {r['derived']:,}; delivery confirmed: {r['confirmed']})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20_000, help="events in the side-by-side run (20,000)")
    parser.add_argument("--big", action="store_true",
                        help="100,000 events side by side, and ours on 100,000 and 1,000,000 for peak RSS")
    parser.add_argument("--skip-reference", action="store_true", help="run ours only")
    parser.add_argument("--skip-floor", action="store_true", help="do not measure the Kafka client floors")
    parser.add_argument("--child", choices=["ours", "reference", "reference-cached", "floor-bare", "floor-ours"],
                        help=argparse.SUPPRESS)
    parser.add_argument("--config", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        if args.child == "ours":
            result = run_ours(args.config)
        elif args.child.startswith("floor"):
            result = run_floor(args.config, bare=args.child == "floor-bare")
        else:
            result = run_reference(args.config, cached=args.child == "reference-cached")
        print(json.dumps(result))
        return
    broker = bootstrap()
    shared = ROOT.parent / "shared"
    events = 100_000 if args.big and args.events == 20_000 else args.events
    with tempfile.TemporaryDirectory(prefix="sptk-bench-") as name:
        tmp = Path(name)
        resolver = resolver_config(tmp / "resolver.json", shared / "iglu-central")
        input_path = tmp / "input.tsv"
        info = write_input(input_path, events, shared / "fixtures" / "enriched")
        print(f"input: {info['lines']:,} lines ({input_path.stat().st_size / 2**20:,.1f} MiB)"
              f"{', with Snowplow fixture lines mixed in' if info['fixture_lines'] else ''}; broker {broker}; "
              f"{os.cpu_count()} CPUs")
        ours = child("ours", prepare(tmp, broker, input_path, resolver))
        print(line_of("ours", ours))
        if not args.skip_floor:
            floors = {}
            for side, label in (("floor-bare", "floor: client"), ("floor-ours", "floor: ours")):
                floors[side] = child(side, prepare(tmp, broker, input_path, resolver))
                print(line_of(label, floors[side]))
            bare = floors["floor-bare"]
            work = (ours["cpu_s"] - bare["cpu_s"]) / ours["events"] * 1e6
            print(f"  the client floor is {bare['cpu_s'] / ours['cpu_s']:.0%} of ours' CPU; pipeline work on top of "
                  f"it: {work:.1f} µs CPU/event. Targets of 50,000 events/s per core mean 20 µs CPU/event in all; "
                  f"the floor alone is {bare['cpu_s'] / bare['events'] * 1e6:.1f} µs")
        if not args.skip_reference:
            for side, label in (("reference", "reference"), ("reference-cached", "ref cached")):
                ref = child(side, prepare(tmp, broker, input_path, resolver))
                print(line_of(label, ref))
                print(f"  ours vs {label}: {ref['wall_s'] / ours['wall_s']:.1f}x the throughput, "
                      f"{ref['cpu_s'] / ours['cpu_s']:.1f}x less CPU per event")
        if args.big:
            input_path.unlink()
            rss = {}
            for size in (100_000, 1_000_000):
                path = tmp / f"input-{size}.tsv"
                write_input(path, size, shared / "fixtures" / "enriched")
                result = child("ours", prepare(tmp, broker, path, resolver))
                rss[size] = result["maxrss_mb"]
                print(line_of(f"ours {size // 1000}k", result))
                path.unlink()
            print(f"  peak RSS with 10x the input: {rss[100_000]:.1f} MB -> {rss[1_000_000]:.1f} MB "
                  f"({rss[1_000_000] / rss[100_000]:.2f}x; delivery.max_in_flight bounds what is held)")


if __name__ == "__main__":
    main()
