"""The loopback OpenAI server itself: HTTP/1.1 details that every test using it relies on."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from urllib.parse import urlsplit

from tests.toolkit.openai_loopback import OpenAILoopback, Reply


def connect(server: OpenAILoopback) -> http.client.HTTPConnection:
    url = urlsplit(server.base_url)
    return http.client.HTTPConnection(url.hostname or "", url.port, timeout=10)


def post(conn: http.client.HTTPConnection, body: bytes | object, **kwargs: object) -> dict:
    conn.request("POST", "/v1/chat/completions", body=body, **kwargs)  # type: ignore[arg-type]
    response = conn.getresponse()
    assert response.status == 200
    return json.loads(response.read())


def test_a_connection_is_kept_alive_across_requests() -> None:
    with OpenAILoopback([Reply.text("first"), Reply.text("second")]) as server:
        conn = connect(server)
        try:
            assert post(conn, b'{"n": 1}')["choices"][0]["message"]["content"] == "first"
            sock = conn.sock
            assert sock is not None  # http.client drops its socket when the server says it will close
            assert post(conn, b'{"n": 2}')["choices"][0]["message"]["content"] == "second"
            assert conn.sock is sock
        finally:
            conn.close()
        server.assert_complete()
        assert [r.body for r in server.completions] == [{"n": 1}, {"n": 2}]


def test_pipelined_requests_are_answered_in_order_and_connection_close_is_honoured() -> None:
    def request(n: int, extra: str = "") -> bytes:
        body = json.dumps({"n": n}).encode()
        head = f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
        return head.encode() + body

    with OpenAILoopback([Reply.text("first"), Reply.text("second")]) as server:
        url = urlsplit(server.base_url)
        with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
            sock.sendall(request(1) + request(2, "Connection: close\r\n"))
            received = b""
            while chunk := sock.recv(65536):  # ends when the server closes, as the second request asked
                received += chunk
        server.assert_complete()
    assert received.count(b"HTTP/1.1 200 OK") == 2
    assert received.index(b'"content": "first"') < received.index(b'"content": "second"')
    assert b"connection: close" in received.lower()


def test_a_chunked_request_body_is_reassembled() -> None:
    with OpenAILoopback([Reply.text("ok")]) as server:
        conn = connect(server)
        try:
            parts = iter([b'{"model": "m", ', b'"messages": []}'])
            reply = post(conn, parts, encode_chunked=True, headers={"Transfer-Encoding": "chunked"})
        finally:
            conn.close()
        (sent,) = server.completions
    assert reply["choices"][0]["message"]["content"] == "ok"
    assert sent.body == {"model": "m", "messages": []}
    assert sent.headers["transfer-encoding"] == "chunked"


def test_stop_releases_a_held_slow_reply_at_once_and_leaves_no_thread() -> None:
    arrived = threading.Event()

    def hold(body: object) -> Reply:
        arrived.set()
        return Reply.text("too late").slow(60)

    threads_before = set(threading.enumerate())
    server = OpenAILoopback(responder=hold).start()
    url = urlsplit(server.base_url)
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
        assert arrived.wait(10)
        started = time.perf_counter()
        server.stop()
        elapsed = time.perf_counter() - started
        try:
            assert sock.recv(65536) == b""  # closed without an answer
        except ConnectionResetError:
            pass
    assert elapsed < 1.0
    assert set(threading.enumerate()) <= threads_before
