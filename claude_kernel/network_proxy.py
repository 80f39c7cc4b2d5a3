"""The agent's only way out: a forward proxy on a loopback port, one per kernel.

Claude Code and the agent's tools reach it through ``HTTPS_PROXY`` /
``HTTP_PROXY`` (the launcher sets them, and ``network_lock`` leaves them no
other TCP port to connect to). It understands ``CONNECT host:port`` (https
and other tunnels) and absolute-URI requests (``GET http://host/path``), and
for each resolves the name once, asks ``network_policy.decide`` and connects
to exactly the address it allowed. A refusal is a 403 whose status line and
body say why in one line, and a warning in the kernel's log.

It runs on threads of the kernel process (one to accept, one or two per
connection), not as a process of its own: it lives and dies with the kernel
that owns the agent, needs no supervision and no memory of its own, and a
kernel's refusals land in that kernel's log. Bytes are relayed with
``splice`` (in the kernel, without the GIL, about two calls per MB), and the
agent's side of each connection is sent without pacing, so a download
through it runs at nearly the rate of a direct one.

A plain-http request is forwarded with ``Connection: close`` and its body
framed here, so each connection carries exactly one checked request: a
second request on a kept-alive connection could otherwise name another
path of a host allowed for one path only.
"""

from __future__ import annotations

import errno
import fcntl
import ipaddress
import os
import socket
import threading
from urllib.parse import urlsplit

from .network_policy import AllowRule, decide, own_address

HEAD_LIMIT = 64 * 1024
HEAD_TIMEOUT = 30.0
CONNECT_TIMEOUT = 10.0
MAX_CONNECTIONS = 64
# A relay's pipe: the larger, the fewer splice calls per MB and the less CPU (measured at full loopback
# speed, the proxy's CPU per MB: ~250 us at 1 MiB, 2 calls; ~470 us at 256 KiB, 9; ~610 us at 64 KiB,
# 34). 1 MiB is Linux's default /proc/sys/fs/pipe-max-size for unprivileged processes. A pipe's pages
# count against its user's pipe budget (/proc/sys/fs/pipe-user-pages-soft, 64 MiB by default) whether
# full or not, hence pipes grow only for bulk traffic.
PIPE_SIZE = 1 << 20
PIPE_SIZE_FLOOR = 1 << 16  # what every pipe has
# A move at least this large is bulk traffic (a 64 KiB pipe holds 16 pieces of what arrived, which
# off a real network may be single 1448-byte packets: a full pipe is not always 64 KiB).
BULK_MOVE = 16 << 10
_F_SETPIPE_SZ = 1031
# The agent's side of each connection is loopback: nothing to control congestion for, and where the
# system's default is BBR, its pacing holds a download's bytes back on timers (measured at full
# loopback speed on 2 cores: 64-78% of the direct rate with BBR on this side, 91% with reno, and
# less CPU). Reno is built into every Linux and open to unprivileged processes. The upstream side
# keeps the system's choice: it crosses real networks.
AGENT_SIDE_CONGESTION_CONTROL = b"reno"
_HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "proxy-authorization", "proxy-authenticate",
               "te", "trailer", "upgrade", "host"}


class BadRequest(Exception):
    """The client's request cannot be proxied; ``status`` and the message go back to it."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class _Reader:
    """Buffered reads from the client, for the request head and a framed body."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def _fill(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise BadRequest(400, "the request ended early")
        self.buffer += data

    def head(self) -> bytes:
        while b"\r\n\r\n" not in self.buffer:
            if len(self.buffer) > HEAD_LIMIT:
                raise BadRequest(431, "the request head is too large")
            self._fill()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        return head

    def line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            if len(self.buffer) > 4096:
                raise BadRequest(400, "a chunk header is too long")
            self._fill()
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def exactly(self, size: int):
        """Yield ``size`` bytes in pieces."""
        while size > 0:
            if not self.buffer:
                self._fill()
            piece, self.buffer = self.buffer[:size], self.buffer[size:]
            size -= len(piece)
            yield piece


def _status(code: int, reason: str, body: str) -> bytes:
    data = (body + "\n").encode()
    return (f"HTTP/1.1 {code} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n"
            f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n").encode() + data


def grow_pipe(write_end: int, size: int) -> int:
    """Make a pipe as large as allowed, up to PIPE_SIZE, and return its size: where pipe-max-size is
    lower, or this user's pipe budget is nearly spent (many connections at once), the largest size
    still granted; ``size`` (its present one) when none is."""
    wanted = PIPE_SIZE
    while wanted > size:
        try:
            return fcntl.fcntl(write_end, _F_SETPIPE_SZ, wanted)
        except OSError:  # EPERM: above pipe-max-size or beyond the budget
            wanted //= 2
    return size


def _relay(src: socket.socket, dst: socket.socket) -> None:
    """Copy src to dst until src ends, then end dst's sending side.

    Bytes go socket -> pipe -> socket with splice: the kernel moves page references, never copying
    the data, and each call runs without the GIL. The pipe starts at the size every pipe has and
    grows at the first bulk move: a download then moves about 1 MiB per call, while the quiet side
    of a connection (a request, a stream of small events) keeps its user's budget small. What
    remains of the proxy's cost is the kernel's TCP work for the second connection.
    """
    try:
        try:
            read_end, write_end = os.pipe()
        except OSError:
            read_end = write_end = -1
        capacity, grown = PIPE_SIZE_FLOOR, False
        try:
            while True:
                if read_end >= 0:
                    try:
                        size = os.splice(src.fileno(), write_end, capacity)
                    except OSError as err:
                        if err.errno != errno.EINVAL:
                            raise
                        os.close(read_end), os.close(write_end)
                        read_end = write_end = -1
                        continue
                    if size == 0:
                        break
                    moved = size
                    while size:
                        size -= os.splice(read_end, dst.fileno(), size)
                    if moved >= BULK_MOVE and not grown:  # bulk traffic: larger moves from now on
                        capacity, grown = grow_pipe(write_end, capacity), True
                else:
                    data = src.recv(1 << 18)
                    if not data:
                        break
                    dst.sendall(data)
        finally:
            if read_end >= 0:
                os.close(read_end)
                os.close(write_end)
        dst.shutdown(socket.SHUT_WR)
    except OSError:  # either side went away: end both
        for sock in (src, dst):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def _relay_answer(upstream: socket.socket, client: socket.socket) -> None:
    """Pass a forwarded request's answer back, its head saying ``Connection: close``: the client
    must not reuse a connection this proxy ends after one answer (it would retry, with a delay)."""
    reader = _Reader(upstream)
    try:
        while True:
            status_line, *lines = reader.head().split(b"\r\n")
            code = status_line.split(b" ", 2)[1:2]
            if code and code[0].startswith(b"1"):  # 100 Continue and the like: more heads follow
                client.sendall(b"\r\n".join([status_line, *lines]) + b"\r\n\r\n")
                continue
            kept = [line for line in lines if line.split(b":", 1)[0].strip().lower()
                    not in (b"connection", b"keep-alive", b"proxy-connection")]
            client.sendall(b"\r\n".join([status_line, *kept, b"Connection: close"]) + b"\r\n\r\n" + reader.buffer)
            break
    except (BadRequest, OSError):
        for sock in (upstream, client):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        return
    _relay(upstream, client)


def _authority(target: str) -> tuple[str, int]:
    host, sep, port = target.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise BadRequest(400, f"CONNECT needs host:port, not {target!r}")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not host:
        raise BadRequest(400, f"CONNECT needs host:port, not {target!r}")
    return host, int(port)


class AgentProxy:
    """The proxy of one kernel's agent; ``start`` returns its port on 127.0.0.1."""

    def __init__(self, rules: list[AllowRule], log, *, label: str, avoid_ports: frozenset[int] = frozenset(),
                 max_connections: int = MAX_CONNECTIONS) -> None:
        self.rules = list(rules)
        self.log = log
        self.label = label
        self.avoid_ports = avoid_ports
        self.port = 0
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.max_connections = max_connections
        self._slots = threading.BoundedSemaphore(max_connections)
        self._thread: threading.Thread | None = None

    def start(self) -> int:
        refused = []
        while True:
            listener = socket.socket()
            listener.bind(("127.0.0.1", 0))
            # Landlock's rule is a port number on every address: never one the platform serves on.
            if listener.getsockname()[1] not in self.avoid_ports:
                break
            refused.append(listener)
        for sock in refused:
            sock.close()
        listener.listen(128)
        self._listener = listener
        self.port = listener.getsockname()[1]
        self._thread = threading.Thread(target=self._accept, name=f"agent-proxy-{self.port}", daemon=True)
        self._thread.start()
        return self.port

    def stop(self) -> None:
        listener, self._listener = self._listener, None
        if listener is None:
            return
        try:
            listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread
        except OSError:
            pass
        listener.close()
        with self._lock:
            for sock in list(self._open):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        if self._thread:
            self._thread.join(2)

    def _accept(self) -> None:
        while self._listener is not None:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if not self._slots.acquire(blocking=False):
                self.log.warning("Agent network (%s): more than %d connections at once; refusing more",
                                 self.label, self.max_connections)
                try:
                    client.sendall(_status(503, "Too many connections", "Too many connections through the "
                                           "agent's proxy at once; close some and retry."))
                finally:
                    client.close()
                continue
            threading.Thread(target=self._serve, args=(client,), name="agent-proxy-connection", daemon=True).start()

    def _track(self, *socks: socket.socket, drop: bool = False) -> None:
        with self._lock:
            for sock in socks:
                (self._open.discard if drop else self._open.add)(sock)

    def _serve(self, client: socket.socket) -> None:
        upstream = None
        self._track(client)
        try:
            client.settimeout(HEAD_TIMEOUT)
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                client.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, AGENT_SIDE_CONGESTION_CONTROL)
            except OSError:  # not offered here: the system's default then
                pass
            reader = _Reader(client)
            try:
                upstream = self._handle(client, reader)
            except BadRequest as err:
                client.sendall(_status(err.status, "Bad request" if err.status == 400 else "Refused", str(err)))
        except OSError:
            pass
        finally:
            self._track(client, drop=True)
            if upstream is not None:
                self._track(upstream, drop=True)
                upstream.close()
            client.close()
            self._slots.release()

    def _handle(self, client: socket.socket, reader: _Reader) -> socket.socket | None:
        head = reader.head()
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        try:
            method, target, version = request_line.split(" ")
        except ValueError:
            raise BadRequest(400, "not an HTTP request") from None
        headers = []
        for line in header_lines:
            name, sep, value = line.partition(":")
            if not sep or not name or name != name.strip():
                raise BadRequest(400, "a malformed header line")
            headers.append((name, value.strip()))
        if method == "CONNECT":
            host, port = _authority(target)
            path = None
            what = f"CONNECT {target}"
        else:
            parts = urlsplit(target)
            if parts.scheme != "http" or not parts.hostname:
                raise BadRequest(400, "this proxy takes CONNECT (for https) and http:// URLs only")
            try:
                host, port = parts.hostname, parts.port or 80
            except ValueError:
                raise BadRequest(400, f"a bad port in {target!r}") from None
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            what = f"{method} http://{parts.netloc}{parts.path or '/'}"
        upstream = self._open_upstream(client, host, port, tunnel=path is None, path=path, what=what)
        if upstream is None:
            return None
        self._track(upstream)
        if path is None:
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            if reader.buffer:
                upstream.sendall(reader.buffer)
            client.settimeout(None)
            back = threading.Thread(target=_relay, args=(upstream, client), daemon=True)
            back.start()
            _relay(client, upstream)
            back.join()
        else:
            authority = urlsplit(target).netloc.rpartition("@")[2]  # never pass on a user:password@
            self._forward(client, reader, upstream, method, path, version, headers, authority)
        return upstream

    def _open_upstream(self, client: socket.socket, host: str, port: int, *, tunnel: bool, path: str | None,
                       what: str) -> socket.socket | None:
        try:
            found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
        except (socket.gaierror, UnicodeError) as err:
            client.sendall(_status(502, "Name not resolved", f"The proxy could not resolve {host}: {err}"))
            return None
        addresses = []
        for *_, sockaddr in found:
            address = ipaddress.ip_address(sockaddr[0].split("%", 1)[0])
            if address not in addresses:
                addresses.append(address)
        verdict = decide(host, port, addresses, self.rules, tunnel=tunnel, path=path, own_address=own_address)
        if verdict.address is None:
            self.log.warning("Agent network (%s): refused %s: %s", self.label, what, verdict.reason)
            reason = f"Refused by the agent's network policy: {verdict.reason}"
            client.sendall(_status(403, reason, reason + ". Agents reach the internet and the model endpoint, "
                                   "not the platform; an admin can allow more with CLAUDE_KERNEL_NETWORK_ALLOW."))
            return None
        self.log.debug("Agent network (%s): %s to %s (%s)", self.label, what, verdict.address, verdict.reason)
        try:
            upstream = socket.create_connection((str(verdict.address), port), timeout=CONNECT_TIMEOUT)
        except OSError as err:
            client.sendall(_status(502, "Connection failed",
                                   f"The proxy could not connect to {host} ({verdict.address}) port {port}: {err}"))
            return None
        upstream.settimeout(None)  # blocking from now on: splice needs it, and streams may idle for long
        # a streamed answer's small pieces go on at once (Nagle with delayed acks costs 40 ms a piece)
        upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return upstream

    def _forward(self, client: socket.socket, reader: _Reader, upstream: socket.socket, method: str, path: str,
                 version: str, headers: list[tuple[str, str]], authority: str) -> None:
        lengths = [value for name, value in headers if name.lower() == "content-length"]
        encodings = [value.lower() for name, value in headers if name.lower() == "transfer-encoding"]
        if encodings and (lengths or encodings != ["chunked"]):
            raise BadRequest(400, "a request body must be either chunked or of one Content-Length")
        if len(set(lengths)) > 1 or (lengths and not lengths[0].isdigit()):
            raise BadRequest(400, "a bad Content-Length")
        kept = [f"{name}: {value}" for name, value in headers if name.lower() not in _HOP_BY_HOP]
        head = [f"{method} {path} {version}", f"Host: {authority}", *kept, "Connection: close"]
        if encodings:
            head.append("Transfer-Encoding: chunked")
        upstream.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        client.settimeout(None)  # blocking, as splice needs (the body is the client's own pace)
        # The answer flows back while the body goes out (a server may answer 100-continue, or early).
        back = threading.Thread(target=_relay_answer, args=(upstream, client), daemon=True)
        back.start()
        try:
            if lengths:
                for piece in reader.exactly(int(lengths[0])):
                    upstream.sendall(piece)
            elif encodings:
                while True:
                    size_text = reader.line().split(b";", 1)[0].strip()
                    try:
                        size = int(size_text, 16)
                    except ValueError:
                        raise BadRequest(400, "a bad chunk size") from None
                    upstream.sendall(b"%x\r\n" % size)
                    if size == 0:
                        while reader.line():  # trailers are dropped
                            pass
                        upstream.sendall(b"\r\n")
                        break
                    for piece in reader.exactly(size):
                        upstream.sendall(piece)
                    if reader.line():
                        raise BadRequest(400, "a chunk longer than its size")
                    upstream.sendall(b"\r\n")
        except (BadRequest, OSError):
            upstream.shutdown(socket.SHUT_RDWR)
        back.join()
