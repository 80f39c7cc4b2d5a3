"""Where an agent's network traffic may go: the internet and the model endpoint, nothing of the platform.

Decided by the address a name resolves to, never by the name: the proxy
resolves once, asks ``decide``, and connects to exactly the address that was
allowed (a name that resolves to 127.0.0.1, or re-resolves differently a
moment later, gets nothing). Refused: every range that is not the public
internet, among them loopback (the hub, its proxy, the agents service and
the user servers on one machine), private and shared ranges (the cluster's
pods and services), link-local (the cloud's metadata server), and IPv6
forms that carry one of those IPv4 addresses inside.

Exceptions are explicit ``AllowRule``s: the model endpoint (only its own
port, and for a plain-http endpoint only requests under its path, since a
gateway behind the hub's proxy shares an address with the hub) and the
destinations an admin lists (``CLAUDE_KERNEL_NETWORK_ALLOW``), e.g. an
internal package mirror.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

_REFUSED = [(ipaddress.ip_network(net), why) for net, why in [
    ("0.0.0.0/8", "an unspecified address (it reaches this machine)"),
    ("127.0.0.0/8", "a loopback address (this machine: the platform's own services)"),
    ("10.0.0.0/8", "a private address (the platform's internal network)"),
    ("172.16.0.0/12", "a private address (the platform's internal network)"),
    ("192.168.0.0/16", "a private address (the platform's internal network)"),
    ("100.64.0.0/10", "a shared (carrier-grade NAT) address, used inside clusters"),
    ("169.254.0.0/16", "a link-local address (the cloud's metadata server lives there)"),
    ("192.0.0.0/24", "a reserved address"),
    ("192.0.2.0/24", "a documentation address"),
    ("198.51.100.0/24", "a documentation address"),
    ("203.0.113.0/24", "a documentation address"),
    ("198.18.0.0/15", "a benchmarking address"),
    ("224.0.0.0/4", "a multicast address"),
    ("240.0.0.0/4", "a reserved address"),
    ("::/128", "an unspecified address (it reaches this machine)"),
    ("::1/128", "a loopback address (this machine: the platform's own services)"),
    ("fe80::/10", "a link-local address"),
    ("fec0::/10", "a site-local address"),
    ("fc00::/7", "a unique local address (the platform's internal network)"),
    ("ff00::/8", "a multicast address"),
    ("2001:db8::/32", "a documentation address"),
    ("100::/64", "a discard address"),
    ("64:ff9b:1::/48", "a local NAT64 address"),
]]


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for: mapped (::ffff:a.b.c.d), NAT64 (64:ff9b::a.b.c.d),
    6to4 (2002:AABB:CCDD::) and the old compatible form (::a.b.c.d)."""
    if address.ipv4_mapped:
        return address.ipv4_mapped
    if address.sixtofour:
        return address.sixtofour
    value = int(address)
    if address in ipaddress.ip_network("64:ff9b::/96") or (value >> 32) == 0:
        return ipaddress.IPv4Address(value & 0xFFFFFFFF)
    return None


def refusal(address: Address) -> str | None:
    """Why the public-internet rule refuses ``address`` (one line), or None when it is public."""
    for network, why in _REFUSED:
        if address.version == network.version and address in network:
            return f"{address} is {why}"
    if isinstance(address, ipaddress.IPv6Address):
        inner = _embedded_ipv4(address)
        if inner is not None:
            why = refusal(inner)
            return f"{address} stands for {inner}, {why.split(' is ', 1)[1]}" if why else None
    if not address.is_global:
        return f"{address} is not a public internet address"
    return None


@dataclass(frozen=True)
class AllowRule:
    """A destination allowed even though it is not on the public internet."""

    host: str | None = None  # a name, matched as the agent asked for it (its addresses are trusted)
    network: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None
    port: int | None = None  # None: any port
    path: str | None = None  # plain-http requests only, under this path (a tunnel cannot be checked)
    tunnel: bool = True  # CONNECT (https) allowed
    label: str = ""

    def matches(self, host: str, address: Address, port: int) -> bool:
        if self.port is not None and port != self.port:
            return False
        if self.network is not None:
            return address in self.network
        return host.lower().rstrip(".") == self.host

    def permits(self, tunnel: bool, path: str | None) -> bool:
        if tunnel:
            return self.tunnel
        return self.path is None or within_path(path or "", self.path)


def within_path(path: str, prefix: str) -> bool:
    """Whether a request path stays under ``prefix``: no dot segments or backslashes, encoded or not,
    that a server behind might resolve to somewhere else."""
    decoded = unquote(path.split("?", 1)[0])
    if "\\" in decoded or any(part in (".", "..") for part in decoded.split("/")):
        return False
    prefix = prefix if prefix.endswith("/") else prefix + "/"
    return decoded.startswith(prefix) or decoded == prefix.rstrip("/")


class BadAllowEntry(ValueError):
    """An allow-list entry that is neither an address, a network nor a name (with an optional port)."""


def _split_port(entry: str) -> tuple[str, int | None]:
    if entry.startswith("["):
        host, bracket, rest = entry[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise BadAllowEntry(entry)
        port_text = rest[1:] if rest else ""
    elif entry.count(":") == 1:
        host, port_text = entry.split(":")
    else:
        host, port_text = entry, ""
    if not port_text:
        return host, None
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise BadAllowEntry(entry)
    return host, int(port_text)


def parse_allow_entry(entry: str) -> AllowRule:
    """``10.0.0.5``, ``10.0.0.5:3128``, ``10.8.0.0/16``, ``[fd00::1]:443``, ``mirror.internal:443``."""
    text = entry.strip()
    if "/" in text and not text.startswith("["):
        try:
            return AllowRule(network=ipaddress.ip_network(text, strict=False), label=text)
        except ValueError:
            raise BadAllowEntry(entry) from None
    host, port = _split_port(text)
    try:
        return AllowRule(network=ipaddress.ip_network(host), port=port, label=text)
    except ValueError:
        pass
    name = host.lower().rstrip(".")
    if not name or not all(part and len(part) < 64 and part.replace("-", "").replace("_", "").isalnum()
                           for part in name.split(".")):
        raise BadAllowEntry(entry)
    return AllowRule(host=name, port=port, label=text)


def model_endpoint_rule(url: str) -> AllowRule:
    """The rule for a model endpoint URL (ANTHROPIC_BASE_URL): its host, its port, and for plain
    http its path only, as requests (not tunnels)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadAllowEntry(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    host = parts.hostname.lower().rstrip(".")
    try:
        network = ipaddress.ip_network(host)
        host_rule: dict = {"network": network}
    except ValueError:
        host_rule = {"host": host}
    if parts.scheme == "https":
        return AllowRule(**host_rule, port=port, label=f"the model endpoint {url}")
    return AllowRule(**host_rule, port=port, path=parts.path or "/", tunnel=False, label=f"the model endpoint {url}")


@dataclass(frozen=True)
class Verdict:
    address: Address | None  # where to connect, when allowed
    reason: str  # why not (one line), or which rule allowed it


def decide(host: str, port: int, addresses: list[Address], rules: list[AllowRule], *,
           tunnel: bool, path: str | None, own_address=lambda address: False) -> Verdict:
    """Pick the first of ``addresses`` (what ``host`` resolved to) that may be reached on ``port``.

    ``own_address`` tells whether an address belongs to this machine (a server listening on all
    interfaces is reachable on the machine's public address too)."""
    reasons = []
    for address in addresses:
        rule = next((r for r in rules if r.matches(host, address, port)), None)
        if rule is not None:
            if rule.permits(tunnel, path):
                return Verdict(address, f"allowed as {rule.label}")
            reasons.append(f"{rule.label} allows only " + (
                "https (CONNECT)" if rule.tunnel else f"plain-http requests under {rule.path}"))
            continue
        why = refusal(address)
        if why is None and own_address(address):
            why = f"{address} is an address of this machine (the platform's own services)"
        if why is None:
            return Verdict(address, "a public internet address")
        reasons.append(why)
    return Verdict(None, reasons[0] if reasons else f"{host} has no address")


def own_address(address: Address) -> bool:
    """Whether ``address`` is assigned to this machine: binding a UDP socket to it succeeds only then."""
    family = socket.AF_INET if address.version == 4 else socket.AF_INET6
    with socket.socket(family, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind((str(address), 0))
            return True
        except OSError:
            return False
