"""An agent reaches the internet and the model endpoint, and nothing of the platform (issue 8, item 1).

The attack of the issue, repeated from a real agent cell (the real Claude
Code CLI, scripted by the fake model, running Bash): a script signs in to a
real JupyterHub's dev login on 127.0.0.1 as another person and makes a token
for them. With the network contained it is refused, through the proxy and
around it; with ``CLAUDE_KERNEL_NETWORK=off`` the same script succeeds,
which shows the test attacks something real. Then the lock's and the
proxy's parts on their own: direct connections, sockets Landlock does not
see, and the proxy's refusals by resolved address.

Every address on this machine is loopback or private, so the "internet" a
positive control fetches is a local HTTP server made reachable through the
allow-list setting (``CLAUDE_KERNEL_NETWORK_ALLOW``): the closest honest
equivalent of a public address here. That public addresses pass is shown by
the policy's own tests (tests/test_network_policy.py).
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from claude_kernel import network, network_proxy
from claude_kernel.network import AgentNetwork, platform_ports
from claude_kernel.network_lock import landlock_abi
from claude_kernel.network_policy import model_endpoint_rule, parse_allow_entry
from claude_kernel.agent import SETTINGS_ENV
from claude_kernel.network_proxy import PIPE_SIZE, PIPE_SIZE_FLOOR, AgentProxy, grow_pipe
from claude_kernel.sandbox import SandboxUnavailable, bwrap_command, proxied_environment, system_layout
from tests.fake_model import say, use_tool
from tests.test_agent_isolation import tool_results

LAUNCHER = Path(__file__).parent.parent / "claude_kernel" / "sandbox.py"
INTERNET_PAGE = "hello from the internet: fig-93"
DOWNLOAD = os.urandom(24 << 20)  # larger than any pipe or socket buffer on the way
log = logging.getLogger("test")
F_GETPIPE_SZ = 1032

lock_problem = network.probe()
needs_lock = pytest.mark.skipif(lock_problem is not None, reason=f"no network lock here: {lock_problem}")

# What the attacker ran: sign in through the dev login as someone else, then make them a token.
ATTACK = r'''
import http.cookiejar, json, sys, urllib.parse, urllib.request
hub, victim = sys.argv[1], sys.argv[2]
jar = http.cookiejar.CookieJar()
web = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
def xsrf():
    return next(c.value for c in jar if c.name == "_xsrf" and c.path.rstrip("/") == "/hub")
try:
    web.open(hub + "/hub/login", timeout=10).read()
    form = urllib.parse.urlencode({"username": victim, "password": "", "_xsrf": xsrf()}).encode()
    web.open(hub + "/hub/login", form, timeout=10).read()
    ask = urllib.request.Request(f"{hub}/hub/api/users/{victim}/tokens", json.dumps({"note": "mine"}).encode(),
                                 {"X-XSRFToken": xsrf(), "Content-Type": "application/json"})
    print("GOT A TOKEN", len(json.load(web.open(ask, timeout=10))["token"]))
except Exception as err:
    print("FAILED", type(err).__name__, err)
'''

# Direct connections, around the proxy: what a tool that ignores HTTP(S)_PROXY would do.
DIRECT = r'''
import ctypes, json, socket, sys
def attempt(make, address, send=None):
    try:
        sock = make()
        sock.settimeout(3)
        if send:
            sock.sendto(b"GET / HTTP/1.0\r\n\r\n", socket.MSG_FASTOPEN, address)
        else:
            sock.connect(address)
        return "CONNECTED"
    except OSError as err:
        return f"refused: {err.strerror}"
results = {}
for port in map(int, sys.argv[1:]):
    results[f"tcp {port}"] = attempt(socket.socket, ("127.0.0.1", port))
    results[f"tcp6 {port}"] = attempt(lambda: socket.socket(socket.AF_INET6), ("::ffff:127.0.0.1", port))
    results[f"mptcp {port}"] = attempt(lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM, 262), ("127.0.0.1", port))
    results[f"fastopen {port}"] = attempt(socket.socket, ("127.0.0.1", port), send=True)
try:
    socket.socket().bind(("127.0.0.1", 0))
    results["bind"] = "BOUND"
except OSError as err:
    results["bind"] = f"refused: {err.strerror}"
try:
    socket.socket(socket.AF_UNIX).connect("\0" + "outside-the-sandbox")
    results["abstract unix"] = "CONNECTED"
except OSError as err:
    results["abstract unix"] = f"refused: {err.strerror}"
libc = ctypes.CDLL(None, use_errno=True)
results["io_uring"] = "refused" if libc.syscall(425, 1, ctypes.create_string_buffer(120)) < 0 else "RING"
print(json.dumps(results))
'''


class _Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        body = {"/big": b"x" * 1_000_000, "/download": DOWNLOAD}.get(self.path, INTERNET_PAGE.encode())
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:  # noqa: N802
        if self.headers.get("Transfer-Encoding") == "chunked":
            body = b""
            while size := int(self.rfile.readline(), 16):
                body += self.rfile.read(size)
                self.rfile.readline()
            self.rfile.readline()
        else:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        answer = f"{INTERNET_PAGE}, got {body.decode()}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def internet():
    """A web server standing for the internet (on loopback, so it needs the allow-list)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def platform_hub(tmp_path_factory, fake_model):
    """A real JupyterHub with its proxy and the agents service, dev login on 127.0.0.1."""
    from tests.hub.conftest import Hub

    hub = Hub(tmp_path_factory.mktemp("hub"), fake_model.client_environment())
    yield hub
    hub.stop()


def hub_ports(hub) -> list[int]:
    """The hub's proxy, the hub itself and the agents service."""
    return [hub.port, int(hub.env["OMA_HUB_INTERNAL_PORT"]), int(hub.env["OMA_SERVICE_PORT"])]


def exists(hub, name: str) -> bool:
    from tests.hub.conftest import ADMIN

    admin = hub.token_for(hub.sign_in(ADMIN))
    return hub.api(admin, "GET", f"/hub/api/users/{name}").status_code == 200


def run_bash(start_kernel, model, agent_dir: Path, *commands: str):
    Path(os.environ[SETTINGS_ENV]).write_text(json.dumps({"allowed_tools": ["Bash", "Read", "Write"]}))
    kernel = start_kernel()
    model.script(*(use_tool("Bash", {"command": command}) for command in commands), say("Done."))
    run = kernel.run("Try the network")
    assert run.status == "ok", run.error
    results = tool_results(model)
    assert len(results) == len(commands), results
    return results


# -- from a real agent cell ---------------------------------------------------------
@needs_lock
def test_an_agents_script_cannot_sign_in_to_the_hub_as_someone_else(platform_hub, start_kernel, model, agent_dir):
    (agent_dir / "attack.py").write_text(ATTACK)
    victim = f"victim-{agent_dir.parent.parent.name[-6:]}@example.org".lower()
    hub = platform_hub.url
    through_proxy, around_proxy, curl_direct = run_bash(
        start_kernel, model, agent_dir,
        f"python3 attack.py {hub} {victim}",
        f"http_proxy= HTTP_PROXY= python3 attack.py {hub} {victim}",
        f"curl -sS -m 5 --noproxy '*' -d username={victim} {hub}/hub/login 2>&1",
    )
    assert "FAILED" in through_proxy and "403" in through_proxy and "loopback" in through_proxy
    assert "FAILED" in around_proxy and "Permission denied" in around_proxy
    assert "Couldn't connect" in curl_direct or "Failed to connect" in curl_direct
    assert not exists(platform_hub, victim)


def test_without_containment_the_same_script_signs_in_as_someone_else(platform_hub, monkeypatch, start_kernel,
                                                                      model, agent_dir):
    """Why the containment matters: the issue's attack works with CLAUDE_KERNEL_NETWORK=off."""
    monkeypatch.setenv("CLAUDE_KERNEL_NETWORK", "off")
    (agent_dir / "attack.py").write_text(ATTACK)
    victim = f"victim-{agent_dir.parent.parent.name[-6:]}@example.org".lower()
    [said] = run_bash(start_kernel, model, agent_dir, f"python3 attack.py {platform_hub.url} {victim}")
    assert "GOT A TOKEN" in said
    assert exists(platform_hub, victim)


@needs_lock
def test_no_port_of_the_platform_is_reachable_around_the_proxy(platform_hub, start_kernel, model, agent_dir):
    (agent_dir / "direct.py").write_text(DIRECT)
    ports = [*hub_ports(platform_hub), model.port]
    [said] = run_bash(start_kernel, model, agent_dir, f"python3 direct.py {' '.join(map(str, ports))}")
    results = json.loads(said.strip().splitlines()[-1])
    assert len(results) == 4 * len(ports) + 3
    for attempt, outcome in results.items():
        assert outcome.startswith("refused"), (attempt, outcome)
    assert results[f"tcp {platform_hub.port}"] == "refused: Permission denied"  # Landlock
    assert results[f"mptcp {platform_hub.port}"] == "refused: Protocol not supported"  # the socket filter


@needs_lock
def test_through_the_proxy_the_platform_the_metadata_server_and_private_addresses_are_refused(
        platform_hub, start_kernel, model, agent_dir):
    hub_port, internal, service = hub_ports(platform_hub)
    targets = [
        (f"http://127.0.0.1:{hub_port}/hub/login", "loopback"),
        (f"http://127.0.0.1:{service}/services/agents/api/openapi.json", "loopback"),
        (f"http://localhost:{internal}/hub/api", "loopback"),  # a name that resolves to loopback
        (f"http://2130706433:{hub_port}/hub/login", "loopback"),  # 127.0.0.1 spelt as a number
        (f"https://127.0.0.1:{hub_port}/", "loopback"),  # CONNECT
        (f"https://[::ffff:127.0.0.1]:{hub_port}/", "stands for 127.0.0.1"),
        ("http://169.254.169.254/computeMetadata/v1/", "metadata"),
        ("http://10.20.30.40:8081/hub/api", "private"),
        ("http://100.100.1.1/", "carrier-grade NAT"),
        (f"http://127.0.0.1:{model.port}/hub/login", None),  # the model endpoint is allowed (a path under it)
    ]
    said = run_bash(start_kernel, model, agent_dir,
                    *(f"curl -sS -m 5 -v {url} 2>&1 | grep -E '^< HTTP|^Refused|policy' | head -3" for url, _ in targets))
    for (url, why), shown in zip(targets, said):
        if why is None:
            assert "404" in shown, (url, shown)  # the fake model's answer: reached
            continue
        assert "403" in shown and "Refused by the agent's network policy" in shown and why in shown, (url, shown)


@needs_lock
def test_an_agent_still_reaches_the_internet_the_model_and_its_own_folder(monkeypatch, internet, start_kernel, model,
                                                                         agent_dir):
    monkeypatch.setenv("CLAUDE_KERNEL_NETWORK_ALLOW", internet)
    (agent_dir / "notes.txt").write_text("own note: kiwi-42")
    curl, python, env, folder = run_bash(
        start_kernel, model, agent_dir,
        f"curl -sS -m 5 http://{internet}/page; echo; curl -sS -m 5 -o /dev/null -w '%{{size_download}}' http://{internet}/big",
        f"python3 -c \"import urllib.request; print(urllib.request.urlopen('http://{internet}/page').read().decode())\"",
        "env | grep -i _proxy | sort",
        "cat notes.txt && echo written > new.txt && cat new.txt",
    )
    assert INTERNET_PAGE in curl and "1000000" in curl
    assert INTERNET_PAGE in python
    assert "HTTPS_PROXY=http://127.0.0.1:" in env and "no_proxy" not in env.lower()
    assert "own note: kiwi-42" in folder and "written" in folder
    assert (agent_dir / "new.txt").read_text() == "written\n"
    assert len(model.requests) == 5  # every model request went through the proxy and back


# -- the lock on its own -----------------------------------------------------------
def locked(port: int, *command: str, bwrap: Path | None = None) -> subprocess.CompletedProcess:
    argv = list(command)
    if bwrap is not None:
        readonly, links = system_layout(str(bwrap), sys.executable)
        argv = bwrap_command(shutil.which("bwrap") or "bwrap", str(bwrap), argv, readonly=readonly, links=links)
    return subprocess.run([sys.executable, "-I", "-S", str(LAUNCHER), f"--network-port={port}", "--environment=all",
                           *argv], capture_output=True, text=True, timeout=30)


@pytest.fixture
def listeners():
    socks = []
    for _ in range(2):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        socks.append(sock)
    yield [sock.getsockname()[1] for sock in socks]
    for sock in socks:
        sock.close()


@pytest.fixture
def abstract_socket():
    """An abstract Unix socket made outside the sandbox: it lives in the network namespace the agent shares."""
    sock = socket.socket(socket.AF_UNIX)
    sock.bind("\0outside-the-sandbox")
    sock.listen()
    yield
    sock.close()


@needs_lock
@pytest.mark.parametrize("inside_bwrap", [False, True], ids=["alone", "inside-bwrap"])
def test_the_lock_leaves_one_port_and_nothing_around_it(listeners, abstract_socket, tmp_path, inside_bwrap):
    allowed, other = listeners
    (tmp_path / "direct.py").write_text(DIRECT)
    done = locked(allowed, sys.executable, str(tmp_path / "direct.py"), str(allowed), str(other),
                  bwrap=tmp_path if inside_bwrap else None)
    assert done.returncode == 0, done.stderr  # bwrap still mounts under a network-only Landlock domain
    results = json.loads(done.stdout)
    assert results[f"tcp {allowed}"] == results[f"tcp6 {allowed}"] == "CONNECTED"
    assert {results[f"tcp {other}"], results[f"tcp6 {other}"]} == {"refused: Permission denied"}
    assert results[f"mptcp {other}"] == results[f"mptcp {allowed}"] == "refused: Protocol not supported"
    assert results[f"fastopen {other}"] == "refused: Operation not supported"
    assert results["bind"] == "refused: Permission denied"
    assert results["io_uring"] == "refused"
    if landlock_abi() >= 6:  # Landlock's scopes
        assert results["abstract unix"] == "refused: Operation not permitted"


@needs_lock
@pytest.mark.parametrize(("family", "kind", "protocol", "created"), [
    (socket.AF_INET, socket.SOCK_STREAM, 0, True), (socket.AF_INET6, socket.SOCK_DGRAM, 0, True),
    (socket.AF_UNIX, socket.SOCK_STREAM, 0, True), (socket.AF_INET, socket.SOCK_STREAM | socket.SOCK_NONBLOCK, 6, True),
    (socket.AF_INET, socket.SOCK_STREAM, 262, False),  # MPTCP
    (socket.AF_INET, socket.SOCK_SEQPACKET, 132, False),  # SCTP
    (socket.AF_INET, socket.SOCK_STREAM, 256, False),  # SMC over IP
    (43, socket.SOCK_STREAM, 0, False),  # AF_SMC
    (40, socket.SOCK_STREAM, 0, False),  # vsock
    (socket.AF_PACKET, socket.SOCK_DGRAM, 0, False),
])
def test_the_socket_filter_lets_through_only_sockets_landlock_accounts_for(family, kind, protocol, created):
    script = (f"import socket\ntry:\n    socket.socket({family}, {kind}, {protocol}); print('created')\n"
              "except OSError as err:\n    print(err.strerror)")
    done = locked(1, sys.executable, "-c", script)
    assert (done.stdout.strip() == "created") is created, done.stdout + done.stderr


def test_the_launcher_points_every_proxy_variable_at_the_agents_proxy():
    environ = proxied_environment({"PATH": "/bin", "NO_PROXY": "*", "no_proxy": "127.0.0.1",
                                   "HTTPS_PROXY": "http://corporate:3128"}, 4567)
    assert environ == {"PATH": "/bin", "NODE_USE_ENV_PROXY": "1", **{
        name: "http://127.0.0.1:4567"
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")}}


# -- the proxy on its own ---------------------------------------------------------
def through(proxy_port: int, *curl_args: str) -> str:
    done = subprocess.run(["curl", "-sS", "-m", "5", "-x", f"http://127.0.0.1:{proxy_port}", *curl_args],
                          capture_output=True, text=True, timeout=30)
    return done.stdout + done.stderr


@pytest.fixture
def proxy(internet, fake_model, caplog):
    gateway = f"http://127.0.0.1:{fake_model.port}/services/gateway"
    proxy = AgentProxy([parse_allow_entry(internet), model_endpoint_rule(gateway)], log, label="alpha")
    proxy.start()
    yield proxy
    proxy.stop()


@pytest.mark.parametrize(("url", "extra", "shown"), [
    ("http://{internet}/page", [], INTERNET_PAGE),
    ("http://{internet}/page", ["-p"], INTERNET_PAGE),  # CONNECT
    ("http://{internet}/page", ["-v"], "< Connection: close"),  # one request per connection, said to the client
    ("http://{internet}/page", ["-d", "a=1"], "got a=1"),  # a body of one Content-Length
    ("http://{internet}/page", ["-H", "Transfer-Encoding: chunked", "-d", "a=1&b=22"], "got a=1&b=22"),
    ("http://{gateway}/services/gateway/v1/x", [], '{}'),  # the model endpoint, under its path
    ("http://{gateway}/hub/api", [], "allows only plain-http requests under /services/gateway"),
    ("http://{gateway}/services/gateway/../../hub/api", ["--path-as-is"], "allows only plain-http"),
    ("http://{gateway}/services/gateway/%2e%2e/%2e%2e/hub/api", ["--path-as-is"], "allows only plain-http"),
    ("http://{gateway}/services/gateway/", ["-p"], "CONNECT tunnel failed, response 403"),
    ("http://localhost:8000/hub/login", [], "127.0.0.1 is a loopback address"),
    ("http://169.254.169.254/computeMetadata/v1/", [], "169.254.169.254 is a link-local address (the cloud's metadata"),
    ("http://192.168.1.1/", [], "192.168.1.1 is a private address"),
    ("http://[fd00::1]/", [], "fd00::1 is a unique local address"),
    ("ftp://example.org/", [], "CONNECT (for https) and http:// URLs only"),
])
def test_the_proxy_forwards_what_is_allowed_and_says_why_it_refuses(proxy, internet, fake_model, url, extra, shown):
    target = url.format(internet=internet, gateway=f"127.0.0.1:{fake_model.port}")
    assert shown in through(proxy.port, *extra, target)


@pytest.mark.parametrize("tunnel", [[], ["-p"]], ids=["forwarded", "CONNECT"])
def test_a_large_download_passes_through_the_proxy_unchanged(proxy, internet, tmp_path, tunnel):
    """Spliced relays, pipes grown on the way: every byte arrives, in order, once."""
    target = tmp_path / "download"
    shown = through(proxy.port, *tunnel, "-o", str(target), "-w", "%{http_code}", f"http://{internet}/download")
    assert shown == "200"
    assert hashlib.sha256(target.read_bytes()).digest() == hashlib.sha256(DOWNLOAD).digest()


@pytest.mark.skipif(shutil.which("ss") is None, reason="no ss (iproute2) to show the connections' TCP settings")
def test_the_agents_side_of_a_connection_is_sent_without_pacing(proxy, internet):
    """Reno on the agent's (loopback) side, where BBR would pace a download on timers; the
    upstream side keeps the system's congestion control."""
    def congestion_control(*ports: str) -> str:
        shown = subprocess.run(["ss", "-tniH", "state", "established", f"( {' and '.join(ports)} )"],
                               capture_output=True, text=True, timeout=10).stdout
        found = re.findall(r"^\s+([a-z0-9_]+) ", shown, re.MULTILINE)
        assert len(found) == 1, shown
        return found[0]

    tunnel = socket.create_connection(("127.0.0.1", proxy.port))
    try:
        tunnel.sendall(f"CONNECT {internet} HTTP/1.1\r\n\r\n".encode())
        assert tunnel.recv(100).startswith(b"HTTP/1.1 200")
        upstream_port = internet.rpartition(":")[2]
        assert congestion_control(f"sport = :{proxy.port}", f"dport = :{tunnel.getsockname()[1]}") == "reno"
        system_default = Path("/proc/sys/net/ipv4/tcp_congestion_control").read_text().strip()
        assert congestion_control(f"dport = :{upstream_port}") == system_default
    finally:
        tunnel.close()


def test_a_relays_pipe_grows_to_the_largest_size_allowed():
    limit = int(Path("/proc/sys/fs/pipe-max-size").read_text())
    expected = PIPE_SIZE
    while expected > max(limit, PIPE_SIZE_FLOOR):
        expected //= 2
    read_end, write_end = os.pipe()
    try:
        assert fcntl.fcntl(write_end, F_GETPIPE_SZ) == PIPE_SIZE_FLOOR
        assert grow_pipe(write_end, PIPE_SIZE_FLOOR) == fcntl.fcntl(write_end, F_GETPIPE_SZ) == expected
    finally:
        os.close(read_end), os.close(write_end)


def test_where_large_pipes_are_refused_a_relay_takes_the_largest_granted(monkeypatch):
    """Beyond pipe-max-size, or once its user's pipe budget is nearly spent, Linux refuses a size
    with EPERM: the relay settles for less, and keeps the pipe it has when nothing more is granted."""
    granted = [PIPE_SIZE // 4]
    real_fcntl = fcntl.fcntl

    def refusing(fd, command, size):
        if size > granted[0]:
            raise PermissionError(errno.EPERM, "Operation not permitted")
        return real_fcntl(fd, command, size)

    monkeypatch.setattr(network_proxy.fcntl, "fcntl", refusing)
    read_end, write_end = os.pipe()
    try:
        assert grow_pipe(write_end, PIPE_SIZE_FLOOR) == real_fcntl(write_end, F_GETPIPE_SZ) == PIPE_SIZE // 4
        granted[0] = 0
        assert grow_pipe(write_end, PIPE_SIZE // 4) == real_fcntl(write_end, F_GETPIPE_SZ) == PIPE_SIZE // 4
    finally:
        os.close(read_end), os.close(write_end)


def test_a_refusal_is_logged_for_the_operator(proxy, caplog):
    with caplog.at_level(logging.WARNING):
        through(proxy.port, "http://169.254.169.254/computeMetadata/v1/")
    assert any("Agent network (alpha): refused GET http://169.254.169.254/computeMetadata/v1/: 169.254.169.254 is a "
               "link-local address" in record.getMessage() for record in caplog.records)


def test_stopping_the_proxy_ends_its_connections(internet):
    proxy = AgentProxy([parse_allow_entry(internet)], log, label="alpha")
    port = proxy.start()
    tunnel = socket.create_connection(("127.0.0.1", port))
    tunnel.sendall(f"CONNECT {internet} HTTP/1.1\r\n\r\n".encode())
    assert tunnel.recv(100).startswith(b"HTTP/1.1 200")
    proxy.stop()
    tunnel.settimeout(5)
    assert tunnel.recv(100) == b""
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2)


def test_an_agent_cannot_tie_up_the_kernel_with_connections(internet):
    proxy = AgentProxy([parse_allow_entry(internet)], log, label="alpha", max_connections=1)
    port = proxy.start()
    try:
        tunnel = socket.create_connection(("127.0.0.1", port))
        tunnel.sendall(f"CONNECT {internet} HTTP/1.1\r\n\r\n".encode())
        assert tunnel.recv(100).startswith(b"HTTP/1.1 200")
        assert "503" in through(port, f"http://{internet}/page", "-w", "%{http_code}")
        tunnel.close()
    finally:
        proxy.stop()


def test_the_proxy_never_listens_on_a_port_of_the_platform():
    avoided = frozenset(range(32768, 61000, 2))  # half of the ports bind hands out
    proxy = AgentProxy([], log, label="alpha", avoid_ports=avoided)
    assert proxy.start() not in avoided
    proxy.stop()
    assert platform_ports({"JUPYTERHUB_API_URL": "http://hub:8081/hub/api", "OMA_AGENTS_SERVICE_URL":
                           "http://127.0.0.1:10101/services/agents/", "JUPYTERHUB_SERVICE_URL": "https://x/user/a/"}
                          ) == {8081, 10101, 443}


# -- the setting -------------------------------------------------------------------
def test_a_bad_network_setting_fails_every_cell_and_says_why(monkeypatch, start_kernel):
    monkeypatch.setenv("CLAUDE_KERNEL_NETWORK", "open")
    kernel = start_kernel()
    for _ in range(2):
        run = kernel.run("Hello")
        assert run.status == "error"
        assert run.error["ename"] == "SandboxUnavailable"
        assert "CLAUDE_KERNEL_NETWORK must be 'proxy' or 'off'" in run.error["evalue"]



def test_an_unknown_network_setting_is_named():
    with pytest.raises(SandboxUnavailable, match="CLAUDE_KERNEL_NETWORK must be 'proxy' or 'off'.*'open'"):
        AgentNetwork("open", [], log, label="alpha").contained()


def test_a_bad_allow_list_entry_is_named():
    with pytest.raises(SandboxUnavailable, match="CLAUDE_KERNEL_NETWORK_ALLOW has 'http://mirror/'"):
        AgentNetwork("proxy", ["10.0.0.5:3128", "http://mirror/"], log, label="alpha").contained()


def test_where_the_lock_cannot_work_a_contained_network_fails_and_says_what_to_do(monkeypatch):
    monkeypatch.setitem(network._probed, "lock", "this Linux kernel's Landlock is ABI version 3, and TCP rules "
                                                 "need version 4 (Linux 6.7 or later)")
    with pytest.raises(SandboxUnavailable, match="ABI version 3.*CLAUDE_KERNEL_NETWORK=off"):
        AgentNetwork("proxy", [], log, label="alpha").contained()
    assert AgentNetwork("off", [], log, label="alpha").contained() is False
