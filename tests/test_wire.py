"""fedlab.wire.Relay: exact byte counts on loopback, errors, closing. No TensorFlow needed."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fedlab import wire

REPLY_FACTOR = 3  # the test server answers every byte it reads with 3 bytes


class ReplyServer:
    """A TCP server on 127.0.0.1 that answers each chunk it reads with the chunk 3 times."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.received = 0
        self.open_connections = 0
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        with self._lock:
            self.open_connections += 1
        try:
            while data := conn.recv(65536):
                with self._lock:
                    self.received += len(data)
                conn.sendall(data * REPLY_FACTOR)
        except OSError:
            pass
        finally:
            conn.close()
            with self._lock:
                self.open_connections -= 1

    def close(self):
        self.sock.close()


@pytest.fixture
def server():
    srv = ReplyServer()
    yield srv
    srv.close()


def connect(address: str) -> socket.socket:
    host, port = wire._parse_address(address)
    sock = socket.create_connection((host, port), timeout=10)
    return sock


def exchange(sock: socket.socket, payload: bytes) -> bytes:
    """Sends `payload` and reads the whole answer (REPLY_FACTOR times as long)."""
    sock.sendall(payload)
    expected, answer = len(payload) * REPLY_FACTOR, b""
    while len(answer) < expected:
        chunk = sock.recv(expected - len(answer))
        assert chunk, "the connection closed before the whole answer arrived"
        answer += chunk
    return answer


def test_relay_counts_exact_bytes_in_both_directions(server):
    with wire.Relay(server.address) as relay:
        assert relay.address.startswith("127.0.0.1:") and relay.target == server.address
        assert relay.counts() == {"to_target": 0, "from_target": 0}
        with connect(relay.address) as sock:
            answer = exchange(sock, b"a" * 300_003)  # several 64 kB chunks
            assert answer == b"a" * 300_003 * REPLY_FACTOR
            # exact right after the exchange: no waiting
            assert relay.counts() == {"to_target": 300_003, "from_target": 900_009}
            exchange(sock, b"x")
            assert relay.counts() == {"to_target": 300_004, "from_target": 900_012}
        assert relay.connections == 1
        relay.check()  # no error recorded
        assert relay.errors == []


def test_reset_returns_the_counts_and_zeroes_them(server):
    with wire.Relay(server.address) as relay, connect(relay.address) as sock:
        exchange(sock, b"12345")
        assert relay.reset() == {"to_target": 5, "from_target": 15}
        assert relay.counts() == {"to_target": 0, "from_target": 0}
        exchange(sock, b"67")
        assert relay.counts() == {"to_target": 2, "from_target": 6}


def test_several_connections_at_once_add_up(server):
    sizes = [1, 10, 1000, 70_000, 5]
    with wire.Relay(server.address) as relay:
        socks = [connect(relay.address) for _ in sizes]
        threads = [threading.Thread(target=exchange, args=(s, b"z" * n))
                   for s, n in zip(socks, sizes)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert relay.counts() == {"to_target": sum(sizes),
                                  "from_target": REPLY_FACTOR * sum(sizes)}
        assert relay.connections == len(sizes)
        assert server.received == sum(sizes)
        for s in socks:
            s.close()


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=200_000), min_size=1, max_size=5))
def test_counts_equal_the_bytes_sent_for_any_sizes(sizes):
    srv = ReplyServer()
    try:
        with wire.Relay(srv.address) as relay, connect(relay.address) as sock:
            for n in sizes:
                exchange(sock, b"q" * n)
            assert relay.counts() == {"to_target": sum(sizes),
                                      "from_target": REPLY_FACTOR * sum(sizes)}
    finally:
        srv.close()


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_closing_the_client_closes_the_upstream_connection(server):
    with wire.Relay(server.address) as relay:
        with connect(relay.address) as sock:
            exchange(sock, b"hello")
            assert wait_for(lambda: server.open_connections == 1)
        assert wait_for(lambda: server.open_connections == 0)
        relay.check()


def test_close_while_a_connection_is_open_ends_it(server):
    relay = wire.Relay(server.address)
    sock = connect(relay.address)
    exchange(sock, b"before")
    assert wait_for(lambda: server.open_connections == 1)
    relay.close()
    sock.settimeout(10)
    try:  # the client sees the end of the stream (or a reset)
        assert sock.recv(10) == b""
    except ConnectionResetError:
        pass
    sock.close()
    assert wait_for(lambda: server.open_connections == 0)
    assert relay.closed
    assert relay.counts() == {"to_target": 6, "from_target": 18}
    with pytest.raises(OSError):  # nobody listens at the address any more
        connect(relay.address).close()
    relay.close()  # idempotent
    relay.check()  # closing is not an error
    # the relay's threads end
    assert wait_for(lambda: not [t for t in threading.enumerate()
                                 if t.name.startswith(f"relay {relay.address}")])


def closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    return port


def test_relay_to_a_closed_port_closes_the_client_and_check_raises():
    target = f"127.0.0.1:{closed_port()}"
    with wire.Relay(target) as relay:
        relay.check()  # nothing tried yet
        with connect(relay.address) as sock:
            sock.settimeout(10)
            try:
                assert sock.recv(10) == b""  # the relay closed the connection
            except ConnectionResetError:
                pass
        assert wait_for(lambda: relay.errors)
        assert relay.connections == 1
        assert target in relay.errors[0] and "refused" in relay.errors[0].lower()
        with pytest.raises(ConnectionError, match=rf"^relay to {target}: .*refused"):
            relay.check()
        assert relay.counts() == {"to_target": 0, "from_target": 0}


@pytest.mark.parametrize("target", ["", "localhost", "127.0.0.1:", ":80", "127.0.0.1:http",
                                    "127.0.0.1:0", "127.0.0.1:65536", 8000, None])
def test_bad_target_is_a_value_error_naming_target(target):
    with pytest.raises(ValueError, match="target"):
        wire.Relay(target)


@pytest.mark.parametrize("target, expected", [
    ("127.0.0.1:8000", ("127.0.0.1", 8000)),
    (" example.org:1 ", ("example.org", 1)),
    ("[::1]:65535", ("::1", 65535)),
])
def test_parse_address_splits_host_and_port(target, expected):
    assert wire._parse_address(target) == expected


def test_repr_shows_the_route_and_counts(server):
    relay = wire.Relay(server.address)
    assert server.address in repr(relay) and "open" in repr(relay)
    relay.close()
    assert "closed" in repr(relay)


def test_errors_are_kept_up_to_a_limit(monkeypatch):
    monkeypatch.setattr(wire, "MAX_ERRORS", 3)
    with wire.Relay(f"127.0.0.1:{closed_port()}") as relay:
        for _ in range(5):
            with connect(relay.address) as sock:
                sock.settimeout(10)
                try:
                    sock.recv(1)
                except ConnectionResetError:
                    pass
        assert relay.connections == 5
        assert wait_for(lambda: len(relay.errors) == 3)
        time.sleep(0.2)
        assert len(relay.errors) == 3
        with pytest.raises(ConnectionError, match=r"\(and 2 more\)"):
            relay.check()
