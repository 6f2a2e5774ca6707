"""The HTTP source over real HTTP: 200 only after every record is durably produced, 503 otherwise."""

from __future__ import annotations

import gzip
import http.client
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from connectors.sidecar import HttpServer
from connectors.sources import HttpSource, Position
from tests.integration.pipeline_infra.conftest import read_all
from tests.integration.pipeline_infra.relay import Relay
from toolkit.kafka import DeliveryProducer
from toolkit.pipeline.delivery import DeliveryTracker


def post(port: int, body: bytes, headers: dict[str, str] | None = None,
         path: str = "/v1/enriched") -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("POST", path, body=body, headers=headers or {})
    response = conn.getresponse()
    payload = json.loads(response.read() or b"{}")
    conn.close()
    return response.status, payload


class Call:
    """A POST running in the background, so the test can act while the request waits."""

    def __init__(self, port: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.result: tuple[int, dict] | None = None
        self.done = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(port, body, headers), daemon=True)
        self._thread.start()

    def _run(self, port: int, body: bytes, headers: dict[str, str] | None) -> None:
        try:
            self.result = post(port, body, headers)
        except (OSError, http.client.HTTPException) as exc:  # the server went away mid-request
            self.result = (0, {"error": f"{type(exc).__name__}: {exc}"})
        self.done.set()

    def wait(self, timeout_s: float = 30) -> tuple[int, dict]:
        assert self.done.wait(timeout_s), "the request never completed"
        assert self.result is not None
        return self.result


@pytest.fixture
def serve() -> Iterator[Callable[..., tuple[HttpSource, int]]]:
    servers: list[HttpServer] = []

    def make(**options: object) -> tuple[HttpSource, int]:
        source = HttpSource(**options)  # type: ignore[arg-type]
        server = HttpServer("127.0.0.1", 0)
        source.mount(server)
        server.start()
        servers.append(server)
        return source, server.port

    yield make
    for s in servers:
        s.stop()


def wait_for_records(source: HttpSource, n: int) -> list:
    got: list = []
    deadline = time.monotonic() + 10
    while len(got) < n and time.monotonic() < deadline:
        got += source.read(n - len(got), 0.2)
    return got


def test_the_response_comes_only_after_every_record_is_produced_and_confirmed(
        serve: Callable[..., tuple[HttpSource, int]], kafka_bootstrap: str, new_topic: Callable[..., str]) -> None:
    source, port = serve()
    topic = new_topic("http")
    tracker = DeliveryTracker()
    relay = Relay(source, DeliveryProducer(kafka_bootstrap, tracker=tracker), tracker, topic)
    call = Call(port, b"line one\tA\nline two\t\xff\nline three\n",
                {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"})
    records = wait_for_records(source, 3)  # accepted and handed to the pipeline...
    assert [r.raw for r in records] == [b"line one\tA", b"line two\t\xff", b"line three"]
    assert records[0].trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert records[2].source.endswith("batch 1 line 3")
    assert not call.done.wait(0.5)  # ...but nothing is produced yet, so no answer
    for r in records:
        tracker.track(r.position.partition, r.position, outputs=1)
        relay.producer.produce(topic, r.raw, record=(r.position.partition, r.position))
    while not call.done.is_set():
        relay.producer.poll(0.1)
        relay.ack()
    assert call.wait() == (200, {"accepted": 3, "acked": 3})
    assert len(read_all(kafka_bootstrap, topic, expect=3)) == 3  # durable before the 200 was sent


def test_concurrent_batches_are_each_answered_when_their_own_records_are_acked(
        serve: Callable[..., tuple[HttpSource, int]]) -> None:
    source, port = serve()
    first = Call(port, b"a\nb\n")
    records = wait_for_records(source, 2)
    second = Call(port, b"c\n")
    records += wait_for_records(source, 1)
    source.ack(records[1].position)
    assert first.wait() == (200, {"accepted": 2, "acked": 2})
    assert not second.done.wait(0.3)
    source.ack(records[2].position)
    assert second.wait() == (200, {"accepted": 1, "acked": 1})


def test_overload_draining_and_timeouts_answer_503_with_counts(
        serve: Callable[..., tuple[HttpSource, int]]) -> None:
    source, port = serve(max_pending_records=3, ack_timeout_s=2.0)
    slow = Call(port, b"1\n2\n")
    records = wait_for_records(source, 2)
    status, body = post(port, b"3\n4\n")
    assert status == 503 and body["accepted"] == 0 and "overloaded: 2 records are waiting" in body["error"]
    source.ack(records[0].position)  # only the first of the two
    assert slow.wait()[0] == 503
    assert slow.result[1]["accepted"] == 2 and slow.result[1]["acked"] == 1
    assert "timed out after 2s" in slow.result[1]["error"]
    source.stop()
    status, body = post(port, b"5\n")
    assert status == 503 and body["accepted"] == 0 and body["error"].startswith("draining")


def test_close_releases_waiting_requests(serve: Callable[..., tuple[HttpSource, int]]) -> None:
    source, port = serve()
    call = Call(port, b"x\n")
    wait_for_records(source, 1)
    source.close()
    status, body = call.wait()
    assert status == 503 and body["accepted"] == 1 and "shut down" in body["error"]


def test_request_errors(serve: Callable[..., tuple[HttpSource, int]]) -> None:
    source, port = serve(max_body_bytes=100)
    assert post(port, b"x" * 101)[0] == 413
    status, body = post(port, gzip.compress(b"x\n" * 100), {"Content-Encoding": "gzip"})
    assert status == 413 and "decompresses to more than 100 bytes" in body["error"]
    assert post(port, b"not gzip", {"Content-Encoding": "gzip"})[0] == 400
    assert post(port, b"x", {"Content-Encoding": "br"})[0] == 415
    assert post(port, b"") == (200, {"accepted": 0, "acked": 0})
    assert post(port, b"x\n", path="/v2/enriched")[0] == 404
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/v1/enriched")
    response = conn.getresponse()
    assert response.status == 405 and response.getheader("Allow") == "POST"
    conn.close()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.putrequest("POST", "/v1/enriched")
    conn.endheaders()
    assert conn.getresponse().status == 411
    conn.close()
    ok = Call(port, gzip.compress(b"g1\ng2"), {"Content-Encoding": "gzip"})
    records = wait_for_records(source, 2)
    assert [r.raw for r in records] == [b"g1", b"g2"]
    source.ack(Position("http", records[-1].position.offset))
    assert ok.wait() == (200, {"accepted": 2, "acked": 2})


def raw_exchange(port: int, request: bytes, *, half_close: bool = True) -> tuple[int, bytes]:
    """Send ``request`` as is over a plain socket (no client library fixing it up) and read the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(request)
        if half_close:
            s.shutdown(socket.SHUT_WR)  # the client is done: what it sent is all there is
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


@pytest.fixture
def relayed(serve: Callable[..., tuple[HttpSource, int]], kafka_bootstrap: str,
            new_topic: Callable[..., str]) -> Iterator[Callable[..., tuple[HttpSource, int, str]]]:
    """An HTTP source whose batches a relay produces to a fresh topic on the real broker."""
    stops: list[tuple[threading.Event, threading.Thread]] = []

    def make(**options: object) -> tuple[HttpSource, int, str]:
        source, port = serve(**options)
        topic = new_topic("http")
        tracker = DeliveryTracker()
        relay = Relay(source, DeliveryProducer(kafka_bootstrap, tracker=tracker), tracker, topic)
        stop = threading.Event()
        thread = threading.Thread(target=relay.run, args=(stop,), daemon=True)
        thread.start()
        stops.append((stop, thread))
        return source, port, topic

    yield make
    for stop, thread in stops:
        stop.set()
        thread.join(10)


def test_gzip_bodies_are_taken_whole_or_not_at_all(relayed: Callable[..., tuple[HttpSource, int, str]],
                                                   kafka_bootstrap: str) -> None:
    source, port, topic = relayed()
    gz = {"Content-Encoding": "gzip"}
    truncated = gzip.compress(b"".join(b"truncated %d\n" % i for i in range(100)))
    status, body = post(port, truncated[: len(truncated) // 2], gz)
    assert status == 400 and body["accepted"] == 0 and "incomplete" in body["error"]
    assert post(port, b"\x1f\x8b\x08\x00garbage", gz)[0] == 400
    member = gzip.compress(b"trailing 0\n")
    status, body = post(port, member + b"not gzip at all", gz)
    assert status == 400 and "after the gzip data" in body["error"]
    status, body = raw_exchange(port, b"POST /v1/enriched HTTP/1.1\r\nHost: x\r\nContent-Length: 200\r\n\r\n"
                                      b"short 0\nshort 1\n")
    assert status == 400 and b"ended after 16 of the 200 bytes" in body
    # RFC 1952: a gzip file may hold several members; every one of them is part of the batch
    lines = [b"member %d" % i for i in range(100)]
    two_members = gzip.compress(b"\n".join(lines[:50]) + b"\n") + gzip.compress(b"\n".join(lines[50:]) + b"\n")
    assert post(port, two_members, gz) == (200, {"accepted": 100, "acked": 100})
    produced = [value for _, _, _, value, _ in read_all(kafka_bootstrap, topic)]
    assert produced == lines  # all of the two-member batch, nothing of the rejected ones
    assert source.accepted_total == 100


def test_the_decompressed_size_limit_counts_every_member(serve: Callable[..., tuple[HttpSource, int]]) -> None:
    source, port = serve(max_body_bytes=100)
    members = gzip.compress(b"a" * 59 + b"\n") + gzip.compress(b"b" * 59 + b"\n")
    status, body = post(port, members, {"Content-Encoding": "gzip"})
    assert status == 413 and "decompresses to more than 100 bytes" in body["error"]
    assert source.accepted_total == 0


def test_a_batch_that_can_never_fit_gets_413_naming_the_limit_not_a_retry(
        serve: Callable[..., tuple[HttpSource, int]]) -> None:
    source, port = serve(max_pending_records=3)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("POST", "/v1/enriched", body=b"1\n2\n3\n4\n")
    response = conn.getresponse()
    body = json.loads(response.read())
    conn.close()
    assert response.status == 413 and response.getheader("Retry-After") is None
    assert body["accepted"] == 0 and "max_pending_records (3)" in body["error"]
    assert source.accepted_total == 0 and source.rejected_batches == 1


def test_two_hundred_clients_connecting_at_once_are_all_answered(
        relayed: Callable[..., tuple[HttpSource, int, str]], kafka_bootstrap: str) -> None:
    source, port, topic = relayed()
    clients = 200
    ready = threading.Barrier(clients)
    results: list[object] = [None] * clients

    def client(i: int) -> None:
        ready.wait()
        try:
            results[i] = post(port, b"client %d\n" % i)
        except OSError as exc:  # ConnectionResetError when the listen backlog overflows
            results[i] = f"{type(exc).__name__}: {exc}"

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    failures = [r for r in results if r != (200, {"accepted": 1, "acked": 1})]
    assert failures == [], f"{len(failures)} of {clients} clients failed, e.g. {failures[:3]}"
    produced = {value for _, _, _, value, _ in read_all(kafka_bootstrap, topic, expect=clients)}
    assert produced == {b"client %d" % i for i in range(clients)}
