"""Both HTTP servers (``sptk iglu serve`` and the sidecar) against hostile clients, over real sockets.

Each test runs against both servers, started in-process on a free port with short
limits, because they share one hardened base: lengths are checked before a byte of
body is read, a GET body is never read, a half-sent request times out and frees its
thread, and the number of handler threads stays bounded however many clients connect.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from connectors.sidecar import HttpServer, Response
from iglu_registry.http_server import ServerLimits
from iglu_registry.server import make_server

API_KEY = "s3cret"


@dataclass(frozen=True)
class Target:
    name: str
    port: int
    probe: str  # a GET that answers 200
    post: str  # a POST that takes a body
    post_headers: bytes  # what that POST needs besides its body (e.g. the API key)


def start_iglu(tmp_path: Path, limits: ServerLimits, api_key: str = API_KEY) -> Iterator[Target]:
    (tmp_path / "schemas").mkdir(exist_ok=True)
    server = make_server(tmp_path, "127.0.0.1", 0, api_key, limits=limits)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Target("iglu", server.server_address[1], "/api/meta/health", "/api/schemas",
                     f"apikey: {api_key}\r\n".encode())
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def start_sidecar(limits: ServerLimits) -> Iterator[Target]:
    server = HttpServer("127.0.0.1", 0, limits=limits)
    server.route("GET", "/healthz", lambda request: Response(200, b"ok"))
    server.route("POST", "/echo", lambda request: Response(200, request.body), max_body_bytes=1 << 20)
    server.start()
    try:
        yield Target("sidecar", server.port, "/healthz", "/echo", b"")
    finally:
        server.stop()


LIMITS = ServerLimits(request_timeout_s=1.0, max_connections=4)


@pytest.fixture(params=["iglu", "sidecar"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    if request.param == "iglu":
        yield from start_iglu(tmp_path, LIMITS)
    else:
        yield from start_sidecar(LIMITS)


def read_answer(s: socket.socket) -> tuple[int, bytes, bool]:
    """One response from ``s`` (status, body), and whether the server then closed the connection."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        assert chunk, f"the server closed the connection without answering (got {data!r})"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    while len(body) < length:
        chunk = s.recv(65536)
        assert chunk, "the answer was cut short"
        body += chunk
    try:
        closed = s.recv(1) == b""
    except TimeoutError:
        closed = False
    except ConnectionResetError:
        closed = True
    return int(head.split(b" ", 2)[1]), body[:length], closed


def exchange(port: int, request: bytes, *, timeout_s: float = 20.0) -> tuple[int, bytes, bool]:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as s:
        s.sendall(request)
        return read_answer(s)


@pytest.mark.parametrize("length", [b"-1", b"abc", b"1e3", b"+5", b"\xb2", b"5 5"])  # \xb2: a digit to str.isdigit
def test_a_malformed_length_gets_400_before_any_body_is_read(target: Target, length: bytes) -> None:
    """The issue's attack: ``Content-Length: -1`` and a 200 MB stream, without a key, on a GET."""
    with socket.create_connection(("127.0.0.1", target.port), timeout=20) as s:
        s.sendall(f"GET {target.probe} HTTP/1.1\r\nHost: x\r\n".encode() + b"Content-Length: " + length + b"\r\n\r\n")
        sent = [0]

        def stream() -> None:  # 200 MB, as fast as the server takes it
            chunk = b"x" * 65536
            try:
                while sent[0] < 200 << 20:
                    s.sendall(chunk)
                    sent[0] += len(chunk)
            except OSError:
                pass  # the server closed the connection: the point of the test

        sender = threading.Thread(target=stream, daemon=True)
        sender.start()
        status, body, closed = read_answer(s)
        sender.join(30)
    assert status == 400 and b"Content-Length" in body and closed
    assert sent[0] < 200 << 20  # the server stopped taking bytes: it did not read the body


def test_a_get_never_reads_its_body(target: Target) -> None:
    # a declared body that never comes: an answer at once, then the connection closes (its bytes are not a request)
    status, _, closed = exchange(target.port, f"GET {target.probe} HTTP/1.1\r\nHost: x\r\n"
                                              f"Content-Length: 50000000\r\n\r\n".encode())
    assert status == 200 and closed


def test_bodies_need_one_exact_length(target: Target) -> None:
    post = f"POST {target.post} HTTP/1.1\r\nHost: x\r\n".encode() + target.post_headers
    status, body, closed = exchange(target.port, post + b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
    assert status == 411 and b"Content-Length" in body and closed
    status, body, closed = exchange(target.port, post + b"Content-Length: 3\r\nContent-Length: 300\r\n\r\nabc")
    assert status == 400 and b"Content-Length" in body and closed
    status, body, closed = exchange(target.port, post + b"Content-Length: 99999999\r\n\r\n")
    assert status == 413 and closed
    with socket.create_connection(("127.0.0.1", target.port), timeout=20) as s:
        s.sendall(post + b"Content-Length: 100\r\n\r\n{\"a\": 1}")
        s.shutdown(socket.SHUT_WR)  # the client is done, 92 bytes short
        status, body, closed = read_answer(s)
    assert status == 400 and b"ended after 8 of the 100 bytes" in body and closed


def live_threads_while(action: threading.Event, baseline: int) -> list[int]:
    counts: list[int] = []
    while not action.is_set():
        counts.append(threading.active_count() - baseline)
        time.sleep(0.01)
    return counts


def test_half_sent_requests_are_bounded_and_time_out(target: Target) -> None:
    baseline = threading.active_count()
    slow = [socket.create_connection(("127.0.0.1", target.port), timeout=30) for _ in range(12)]
    for s in slow:  # a request line and one header, then nothing more
        s.sendall(f"GET {target.probe} HTTP/1.1\r\nHost: x\r\n".encode())
    done = threading.Event()
    counts: list[int] = []
    sampler = threading.Thread(target=lambda: counts.extend(live_threads_while(done, baseline)), daemon=True)
    sampler.start()
    try:
        # a complete request from a thirteenth client is answered once the slow ones time out, in waves of 4
        status, _, _ = exchange(target.port, f"GET {target.probe} HTTP/1.1\r\nHost: x\r\n\r\n".encode(),
                                timeout_s=60)
        assert status == 200
        for s in slow:  # each slow client was answered 408 or cut off: its thread is free again
            data = b""
            while chunk := s.recv(65536):
                data += chunk
            assert data == b"" or data.startswith(b"HTTP/1.1 408"), data
    finally:
        done.set()
        sampler.join(10)
        for s in slow:
            s.close()
    assert max(counts) <= LIMITS.max_connections + 1  # handlers (the sampler thread is the +1)
    assert max(counts) >= LIMITS.max_connections  # the bound was reached, so the test measured it
    deadline = time.monotonic() + 10
    while threading.active_count() > baseline and time.monotonic() < deadline:
        time.sleep(0.05)
    assert threading.active_count() == baseline


def test_a_trickling_client_is_cut_at_the_request_deadline(target: Target) -> None:
    """One byte at a time keeps every single read short; the deadline covers the whole request."""
    request = f"GET {target.probe} HTTP/1.1\r\nHost: x\r\nX-Slow: {'a' * 40}\r\n\r\n".encode()
    interval = LIMITS.request_timeout_s / 4
    sent = 0
    with socket.create_connection(("127.0.0.1", target.port), timeout=30) as s:
        try:
            for byte in request:
                s.sendall(bytes([byte]))
                sent += 1
                time.sleep(interval)
        except OSError:
            pass
        data = b""
        try:
            while chunk := s.recv(65536):
                data += chunk
        except ConnectionResetError:
            pass
    assert sent < len(request) and not data.startswith(b"HTTP/1.1 200")


# -- the registry's own checks ------------------------------------------------------------------


@pytest.fixture
def iglu(tmp_path: Path) -> Iterator[Target]:
    yield from start_iglu(tmp_path, LIMITS, api_key="clé-ü")


def schema(version: str = "1-0-0", depth: int = 1) -> dict:
    inner: dict = {"type": "string"}
    for _ in range(depth):
        inner = {"type": "object", "properties": {"a": inner}}
    return {"$schema": "http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#",
            "description": "x", "self": {"vendor": "com.acme", "name": "deep", "format": "jsonschema",
                                         "version": version},
            "type": "object", "properties": {"a": inner}}


def put(port: int, body: bytes, key: bytes, version: str = "1-0-0") -> tuple[int, dict]:
    head = (f"PUT /api/schemas/com.acme/deep/jsonschema/{version} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            f"Content-Length: {len(body)}\r\n").encode()
    request = head + b"apikey: " + key + b"\r\n\r\n" + body
    status, answer, _ = exchange(port, request)
    return status, json.loads(answer)


def test_any_wrong_key_gets_401_and_a_non_ascii_key_works(iglu: Target) -> None:
    body = json.dumps(schema()).encode()
    for wrong in ("clé-u".encode(), b"\xff\xfe", "ключ".encode(), b"cl\xe9-\xfc"):  # the last: right text, Latin-1
        assert put(iglu.port, body, wrong)[0] == 401, wrong
    status, answer = put(iglu.port, body, "clé-ü".encode())  # the key as UTF-8, as clients send it
    assert status == 201, answer


def test_json_nested_deeper_than_the_limit_gets_400(iglu: Target) -> None:
    key = "clé-ü".encode()
    status, answer = put(iglu.port, json.dumps(schema(depth=450)).encode(), key)  # 903 levels of JSON
    assert status == 400 and "nested deeper than 100" in answer["message"]
    status, answer = put(iglu.port, b"[" * 100_000 + b"]" * 100_000, key)
    assert status == 400 and "nested deeper than 100" in answer["message"]
    # at the limit a schema is still published, and compared with its predecessor, without RecursionError
    assert put(iglu.port, json.dumps(schema(depth=48)).encode(), key)[0] == 201  # 99 levels of JSON
    status, answer = put(iglu.port, json.dumps({"json": schema("1-0-1", depth=48)}).encode(), key, "1-0-1")
    assert status == 201, answer
