"""A byte-counting TCP relay: a meter on the wire between a program and a server it talks to.

Taught in `notebooks/08_where_data_lives.ipynb`, where it sits between the notebook (TFF's
driver) and TFF's worker process and counts what crosses the process boundary.

    with wire.Relay("127.0.0.1:8000") as relay:   # forwards to 127.0.0.1:8000
        ...connect to relay.address instead of 127.0.0.1:8000...
        relay.counts()   # {"to_target": bytes sent to 8000, "from_target": bytes back}

The relay listens on 127.0.0.1 at a free port and, for every connection it accepts, opens one
to the target and copies bytes both ways, counting them. It counts TCP payload: everything the
two ends send each other (for gRPC: HTTP/2 frames, headers, protobuf), not IP or TCP headers.
A byte is counted when the relay has read it, before it forwards it, so once a request has
been answered the counts include both the request and the answer.

It runs in daemon threads of this process: it needs no process of its own and ends with the
notebook's kernel or the script however that ends. :meth:`Relay.close` (also on leaving a
`with` block) stops it earlier and closes every connection it holds.

If the target cannot be reached, the relay closes the connection it accepted (the client sees
the connection closed) and records the error in :attr:`Relay.errors`; :meth:`Relay.check`
raises it as a `ConnectionError`.
"""

from __future__ import annotations

import socket
import threading

__all__ = ["Relay"]

_CHUNK = 1 << 16
_ACCEPT_POLL_SECONDS = 0.1
_CONNECT_TIMEOUT_SECONDS = 10.0
MAX_ERRORS = 100  # errors kept in Relay.errors; later ones are dropped


def _parse_address(target: str) -> tuple[str, int]:
    """'HOST:PORT' -> (host, port); an IPv6 host may be written in brackets, '[::1]:8000'.

    Raises:
        ValueError: naming `target`, if it is not a string HOST:PORT with a port 1-65535.
    """
    if not isinstance(target, str):
        raise ValueError(f"target must be a string 'HOST:PORT', got {target!r}")
    host, sep, port = target.strip().rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"target must be 'HOST:PORT' with a port from 1 to 65535, got {target!r}")
    return host, int(port)


class Relay:
    """A TCP relay on 127.0.0.1 that forwards to `target` and counts the bytes both ways.

    Taught in `notebooks/08_where_data_lives.ipynb`. A context manager; see the module's
    docstring.

    Args:
        target: "HOST:PORT" to forward every accepted connection to.

    Attributes:
        address: "127.0.0.1:PORT", where the relay listens: connect here instead of `target`.
        target: The target, as given.
        connections: How many connections the relay has accepted.
        errors: One message per failure (a target that refused, a connection that broke),
            the first `MAX_ERRORS` of them.
    """

    def __init__(self, target: str):
        self._target_host, self._target_port = _parse_address(target)
        self.target = target.strip()
        self.connections = 0
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._to_target = 0
        self._from_target = 0
        self._sockets: set[socket.socket] = set()
        self._closed = threading.Event()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            self._listener.bind(("127.0.0.1", 0))
            self._listener.listen(64)
            self._listener.settimeout(_ACCEPT_POLL_SECONDS)
        except BaseException:
            self._listener.close()
            raise
        self.address = f"127.0.0.1:{self._listener.getsockname()[1]}"
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True,
                                          name=f"relay {self.address} -> {self.target}")
        self._acceptor.start()

    # ------------------------------------------------------------------ public

    def counts(self) -> dict[str, int]:
        """Bytes relayed since the start or the last :meth:`reset`: `to_target` (from the
        clients to the target) and `from_target` (back)."""
        with self._lock:
            return {"to_target": self._to_target, "from_target": self._from_target}

    def reset(self) -> dict[str, int]:
        """Returns :meth:`counts` and sets both counters to zero, in one step."""
        with self._lock:
            counts = {"to_target": self._to_target, "from_target": self._from_target}
            self._to_target = self._from_target = 0
            return counts

    def check(self) -> None:
        """Raises `ConnectionError("relay to HOST:PORT: ...")` if any error was recorded."""
        with self._lock:
            errors = list(self.errors)
        if errors:
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            raise ConnectionError(f"relay to {self.target}: {errors[0]}{more}")

    def close(self) -> None:
        """Stops accepting and closes every open connection. Safe to call more than once."""
        if self._closed.is_set():
            return
        self._closed.set()
        self._acceptor.join(timeout=2 * _ACCEPT_POLL_SECONDS + 1)
        try:
            self._listener.close()
        except OSError:
            pass
        with self._lock:
            open_sockets = list(self._sockets)
        for sock in open_sockets:
            _shutdown(sock)

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def __enter__(self) -> "Relay":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"Relay({self.target!r}, address={self.address!r}, {state}, {self.counts()})"

    # ------------------------------------------------------------------ threads

    def _record_error(self, message: str) -> None:
        with self._lock:  # a client that keeps retrying a dead target must not fill memory
            if len(self.errors) < MAX_ERRORS:
                self.errors.append(message)

    def _accept_loop(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                if not self._closed.is_set():
                    self._record_error("the listening socket failed")
                return
            if self._closed.is_set():
                client.close()
                return
            with self._lock:
                self.connections += 1
            threading.Thread(target=self._serve, args=(client,), daemon=True,
                             name=f"relay {self.address} connection").start()

    def _serve(self, client: socket.socket) -> None:
        client.settimeout(None)
        try:
            upstream = socket.create_connection((self._target_host, self._target_port),
                                                timeout=_CONNECT_TIMEOUT_SECONDS)
        except OSError as err:
            self._record_error(f"cannot connect to {self.target}: "
                               f"{type(err).__name__}: {err.strerror or err}")
            client.close()
            return
        upstream.settimeout(None)
        for sock in (client, upstream):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._lock:
            self._sockets.update((client, upstream))
        if self._closed.is_set():  # closed while this connection was being set up
            _shutdown(client)
            _shutdown(upstream)
        back = threading.Thread(target=self._pump, args=(upstream, client, "from_target"),
                                daemon=True, name=f"relay {self.address} from target")
        back.start()
        self._pump(client, upstream, "to_target")
        back.join()
        with self._lock:
            self._sockets.difference_update((client, upstream))
        client.close()
        upstream.close()

    def _pump(self, source: socket.socket, sink: socket.socket, counter: str) -> None:
        """Copies `source` to `sink` until `source` ends, then half-closes `sink`."""
        try:
            while True:
                data = source.recv(_CHUNK)
                if not data:
                    break
                with self._lock:
                    if counter == "to_target":
                        self._to_target += len(data)
                    else:
                        self._from_target += len(data)
                sink.sendall(data)
        except OSError as err:
            if not self._closed.is_set():
                self._record_error(f"connection broke ({counter.replace('_', ' ')}): "
                                   f"{type(err).__name__}: {err.strerror or err}")
            _shutdown(source)
            _shutdown(sink)
            return
        try:
            sink.shutdown(socket.SHUT_WR)  # pass the end of the stream on
        except OSError:
            pass


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
