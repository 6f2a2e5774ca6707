"""The whole pipeline, file source to the real local broker, against the reference stack, in one run.

Run: .venv/bin/python benchmarks/bench_pipeline.py [--events N] [--repeat N] [--output all|kafka|files]
     [--big] [--skip-reference] [--skip-floor]

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

Each side runs in its own process (so its peak RSS and CPU time are its own). With ``--repeat N``
the sides take turns for N rounds (ours, floor: client, floor: ours, reference, ref cached, ours,
...): each figure is reported as its median and range (min-max) over the rounds, and each ratio is
computed within a round, under the load both sides shared, before its median and range are taken.
CPU time includes librdkafka's threads.

``--output files`` (part of the default ``all``) runs ours with ``--output files:DIR`` and the
reference writing the same streams to files, no broker: each on N events and on one event, in a
fresh process each time, and the steady-state CPU per event is the difference of the two
whole-process CPU times (start-up, imports and schema loading cancel out) divided by N - 1 (with
a few hundred events that difference is within the noise, and can even come out negative).

The run ends with the issue's targets next to the measured medians and ranges, MET or NOT MET. With
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

from benchmarks.figures import Spread, Target, interleaved, spread, targets_table  # noqa: E402

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


class _KafkaSink:
    """The reference's outputs on the broker: the same DeliveryProducer calls as ours (tracker, headers, keys)."""

    def __init__(self, cfg: Any) -> None:
        from toolkit.kafka import DeliveryProducer
        from toolkit.pipeline.delivery import DeliveryTracker

        kafka = cfg.require_kafka()
        self.topics = {s: f"{kafka.topic_prefix}.{s}" for s in ("raw", "enriched", "bad", "derived.checkout.v1")}
        self.tracker = DeliveryTracker(cfg.delivery.max_in_flight)
        self.producer = DeliveryProducer(kafka.bootstrap_servers, kafka.producer_settings(), tracker=self.tracker)

    def begin(self, number: int, outputs: int) -> None:
        while not self.tracker.has_capacity():
            self.producer.poll(0.05)
        self.tracker.track("input", number, outputs)

    def emit(self, stream: str, value: bytes, key: bytes | None, headers: list[tuple[str, bytes]],
             number: int) -> None:
        self.producer.produce(self.topics[stream], value, key=key, headers=headers, record=("input", number))

    def poll(self) -> None:
        self.producer.poll(0)

    def finish(self) -> bool:
        return self.producer.flush(300) == 0


class _FilesSink:
    """The reference's outputs as files, one per stream, one value per line (what ``--output files:`` writes)."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.files = {s: open(directory / f"{s}.out", "wb", buffering=1 << 20)  # noqa: SIM115
                      for s in ("raw", "enriched", "bad", "derived.checkout.v1")}

    def begin(self, number: int, outputs: int) -> None:
        return None

    def emit(self, stream: str, value: bytes, key: bytes | None, headers: list[tuple[str, bytes]],
             number: int) -> None:
        f = self.files[stream]
        f.write(value)
        f.write(b"\n")

    def poll(self) -> None:
        return None

    def finish(self) -> bool:
        for f in self.files.values():
            f.close()
        return True


def run_reference(cfg_path: Path, cached: bool) -> dict[str, Any]:
    from jsonschema import Draft4Validator
    from snowplow_analytics_sdk.event_transformer import transform
    from snowplow_analytics_sdk.snowplow_event_transformation_exception import SnowplowEventTransformationException

    from toolkit.config.loading import load_config

    cfg = load_config(cfg_path)
    target = cfg.output.target
    sink: _KafkaSink | _FilesSink = (_KafkaSink(cfg) if target.kind == "kafka"
                                     else _FilesSink(target.directory))  # type: ignore[arg-type]
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
            sink.begin(number, 1 + len(outputs))
            sink.emit("raw", raw, key, headers, number)
            for stream, value, k in outputs:
                sink.emit(stream, value, k, headers, number)
                counts["bad" if stream == "bad" else stream.split(".")[0] if stream != "derived.checkout.v1"
                       else "derived"] += 1
            counts["events"] += 1
            if number % 500 == 0:
                sink.poll()
    confirmed = sink.finish()
    wall1, cpu1 = usage()
    return {**counts, "wall_s": wall1 - wall0, "cpu_s": cpu1 - cpu0, "confirmed": confirmed,
            "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


# --------------------------------------------------------------------------------------------
# The parent: inputs, topics, children, the table
# --------------------------------------------------------------------------------------------


def child(side: str, cfg_path: Path) -> dict[str, Any]:
    """Run one side in a fresh process; its result, plus the whole process's CPU time (start-up included)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen([sys.executable, __file__, "--child", side, "--config", str(cfg_path)],
                                   stdout=out, stderr=err, text=True, cwd=ROOT)
        _, status, rusage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if process.returncode != 0:
            sys.exit(f"{side} failed:\n{err.read()[-4000:]}")
        result: dict[str, Any] = json.loads(out.read().strip().splitlines()[-1])
    result["process_cpu_s"] = rusage.ru_utime + rusage.ru_stime
    return result


def prepare(tmp: Path, broker: str, input_path: Path, resolver: Path, output: str = "kafka") -> Path:
    """A config with a fresh topic prefix; its topics created on the broker, or (``files``) a fresh directory."""
    import yaml

    from toolkit.config.loading import load_config
    from toolkit.kafka.topics import Action, Plan, apply_plan, read_plan

    prefix = f"bench.pipeline.{uuid.uuid4().hex[:8]}"
    cfg_path = tmp / f"{prefix}.yaml"
    settings = config(prefix, broker, input_path, resolver)
    if output == "files":
        settings["output"] = {"target": f"files:{tmp / prefix}"}
    cfg_path.write_text(yaml.safe_dump(settings))
    if output == "files":
        return cfg_path
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
    return (f"  {name:<16} {r['events']:>9,} events  {r['wall_s']:7.2f} s  {per_s:>9,.0f} events/s  "
            f"{r['cpu_s'] / r['events'] * 1e6:7.1f} µs CPU/event  {per_core:>9,.0f} events/s per core  "
            f"peak RSS {r['maxrss_mb']:6.1f} MB  (enriched {r['enriched']:,}, bad {r['bad']:,}, "
            f"derived {r['derived']:,}; delivery confirmed: {r['confirmed']})")


#: the Kafka run's sides, in the order each round runs them, and their labels
KAFKA_SIDES = {"ours": "ours", "floor-bare": "floor: client", "floor-ours": "floor: ours",
               "reference": "reference", "reference-cached": "ref cached"}
#: the files run's sides: each side on N events and on one event (steady-state CPU is the difference)
FILES_SIDES = {"ours-files": "ours", "reference-files": "reference"}


def summarise(label: str, results: list[dict[str, Any]]) -> str:
    """One side over the rounds: medians and ranges of its figures."""
    events = results[0]["events"]
    wall = spread(r["wall_s"] for r in results)
    rate = spread(r["events"] / r["wall_s"] for r in results)
    cpu = spread(r["cpu_s"] / r["events"] * 1e6 for r in results)
    rss = spread(r["maxrss_mb"] for r in results)
    confirmed = all(r["confirmed"] for r in results)
    return (f"  {label:<13} {events:>9,} events  {wall.show('.2f', ' s')}  {rate.show(',.0f')} events/s  "
            f"{cpu.show('.1f')} µs CPU/event  peak RSS {rss.show('.1f', ' MB')}  delivery confirmed: {confirmed}")


def kafka_rounds(args: argparse.Namespace, tmp: Path, broker: str, input_path: Path,
                 resolver: Path) -> dict[str, Spread]:
    """The sides on the broker, interleaved; per-round ratios. Returns the figures the targets judge."""
    sides = [s for s in KAFKA_SIDES if not (args.skip_floor and s.startswith("floor"))
             and not (args.skip_reference and s.startswith("reference"))]

    def run(side: str, number: int) -> dict[str, Any]:
        result = child(side, prepare(tmp, broker, input_path, resolver))
        print(line_of(f"{KAFKA_SIDES[side]} #{number + 1}", result), flush=True)
        return result

    print(f"kafka output: {args.repeat} round(s), sides interleaved in the order {', '.join(sides)}")
    results = interleaved(sides, args.repeat, run)
    print(f"medians (min-max) over {args.repeat} round(s):")
    for side in sides:
        print(summarise(KAFKA_SIDES[side], results[side]))
    ours = results["ours"]
    figures: dict[str, Spread] = {}
    print("ratios, computed within each round: median (min-max)")
    if "floor-bare" in results:
        bare = results["floor-bare"]
        work = spread((o["cpu_s"] - b["cpu_s"]) / o["events"] * 1e6 for o, b in zip(ours, bare, strict=True))
        floor = spread(b["cpu_s"] / b["events"] * 1e6 for b in bare)
        share = spread(b["cpu_s"] / o["cpu_s"] * 100 for o, b in zip(ours, bare, strict=True))
        figures["work"] = work
        print(f"  client floor: {floor.show()} µs CPU/event, {share.show('.0f')}% of ours' CPU; pipeline work on "
              f"top of it: {work.show()} µs CPU/event")
    for side in ("reference", "reference-cached"):
        if side in results:
            pairs = list(zip(results[side], ours, strict=True))
            throughput = spread(r["wall_s"] / o["wall_s"] for r, o in pairs)
            cpu = spread(r["cpu_s"] / o["cpu_s"] for r, o in pairs)
            figures.setdefault("end_to_end", throughput)
            print(f"  ours vs {KAFKA_SIDES[side]}: {throughput.show()}x the throughput, {cpu.show()}x less CPU "
                  "per event")
    return figures


def files_rounds(args: argparse.Namespace, tmp: Path, broker: str, input_path: Path,
                 resolver: Path) -> dict[str, Spread]:
    """``--output files:``, no broker: whole-process CPU on N events minus on one event, ours and the reference."""
    one = tmp / "input-1.tsv"
    write_input(one, 1, None)
    sides = [s for s in FILES_SIDES if not (args.skip_reference and s.startswith("reference"))]

    def run(side: str, number: int) -> float:
        full = child(side, prepare(tmp, broker, input_path, resolver, "files"))
        single = child(side, prepare(tmp, broker, one, resolver, "files"))
        steady = (full["process_cpu_s"] - single["process_cpu_s"]) / (full["events"] - 1) * 1e6
        print(f"  {FILES_SIDES[side] + ' #' + str(number + 1):<16} {full['events']:>9,} events: whole-process CPU "
              f"{full['process_cpu_s']:.2f} s, on one event {single['process_cpu_s']:.2f} s -> {steady:.1f} µs "
              "CPU/event at steady state", flush=True)
        return steady

    print(f"files output (--output files:, no broker): {args.repeat} round(s), sides interleaved")
    results = interleaved(sides, args.repeat, run)
    print(f"steady-state CPU per event, medians (min-max) over {args.repeat} round(s):")
    for side in sides:
        print(f"  {FILES_SIDES[side]:<13} {spread(results[side]).show()} µs CPU/event")
    if "reference-files" not in results:
        return {}
    ratio = spread(r / o for r, o in zip(results["reference-files"], results["ours-files"], strict=True))
    print(f"  ours vs reference (files): {ratio.show()}x less CPU per event at steady state")
    return {"files": ratio}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20_000, help="events in the side-by-side run (20,000)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="rounds of the interleaved sides; figures are medians and ranges over them (1)")
    parser.add_argument("--output", choices=["all", "kafka", "files"], default="all",
                        help="kafka: to the broker; files: --output files: (no broker, steady-state CPU); all (both)")
    parser.add_argument("--big", action="store_true",
                        help="100,000 events side by side, and ours on 100,000 and 1,000,000 for peak RSS")
    parser.add_argument("--skip-reference", action="store_true", help="run ours only")
    parser.add_argument("--skip-floor", action="store_true", help="do not measure the Kafka client floors")
    parser.add_argument("--child", choices=[*KAFKA_SIDES, *FILES_SIDES], help=argparse.SUPPRESS)
    parser.add_argument("--config", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.repeat < 1 or args.events < 2:
        parser.error("--repeat must be at least 1 and --events at least 2")
    if args.child:
        if args.child.startswith("ours"):
            result = run_ours(args.config)
        elif args.child.startswith("floor"):
            result = run_floor(args.config, bare=args.child == "floor-bare")
        else:
            result = run_reference(args.config, cached=args.child == "reference-cached")
        print(json.dumps(result))
        return
    broker = bootstrap() if args.output != "files" else "127.0.0.1:9"  # files mode never connects
    shared = ROOT.parent / "shared"
    events = 100_000 if args.big and args.events == 20_000 else args.events
    with tempfile.TemporaryDirectory(prefix="sptk-bench-") as name:
        tmp = Path(name)
        resolver = resolver_config(tmp / "resolver.json", shared / "iglu-central")
        input_path = tmp / "input.tsv"
        info = write_input(input_path, events, shared / "fixtures" / "enriched")
        print(f"input: {info['lines']:,} lines ({input_path.stat().st_size / 2**20:,.1f} MiB)"
              f"{', with Snowplow fixture lines mixed in' if info['fixture_lines'] else ''}; broker {broker}; "
              f"{os.cpu_count()} CPUs; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        figures: dict[str, Spread] = {}
        if args.output in ("all", "kafka"):
            figures.update(kafka_rounds(args, tmp, broker, input_path, resolver))
        if args.output in ("all", "files"):
            figures.update(files_rounds(args, tmp, broker, input_path, resolver))
        if args.big and args.output != "files":
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
        print(targets_table([
            Target("pipeline work on top of the client floor", 10, False, " µs/event", figures.get("work")),
            Target("end to end vs the reference (throughput)", 10, True, "x", figures.get("end_to_end")),
            Target("files mode: steady-state CPU vs the reference", 15, True, "x", figures.get("files")),
        ]))


if __name__ == "__main__":
    main()
