"""The agent's address policy: the public internet passes, the platform's ranges do not, by address."""

from __future__ import annotations

import ipaddress

import pytest

from claude_kernel.network_policy import (
    AllowRule,
    BadAllowEntry,
    decide,
    model_endpoint_rule,
    own_address,
    parse_allow_entry,
    refusal,
    within_path,
)

ip = ipaddress.ip_address


@pytest.mark.parametrize(("address", "why"), [
    ("127.0.0.1", "loopback"), ("127.8.9.10", "loopback"), ("::1", "loopback"),
    ("0.0.0.0", "unspecified"), ("::", "unspecified"),
    ("10.0.0.1", "private"), ("172.16.5.4", "private"), ("172.31.255.255", "private"), ("192.168.0.1", "private"),
    ("100.64.0.1", "carrier-grade NAT"), ("100.127.255.254", "carrier-grade NAT"),
    ("169.254.169.254", "metadata server"), ("fe80::1", "link-local"),
    ("fd00::1", "unique local"), ("fc00::5", "unique local"), ("fec0::1", "site-local"),
    ("224.0.0.251", "multicast"), ("ff02::1", "multicast"), ("239.1.2.3", "multicast"),
    ("240.0.0.1", "reserved"), ("255.255.255.255", "reserved"), ("192.0.0.8", "reserved"),
    ("192.0.2.1", "documentation"), ("2001:db8::1", "documentation"), ("198.18.0.1", "benchmarking"),
    ("100::1", "discard"), ("64:ff9b:1::a00:1", "local NAT64"),
    # IPv6 spellings of refused IPv4 addresses
    ("::ffff:127.0.0.1", "stands for 127.0.0.1, a loopback"),
    ("::ffff:169.254.169.254", "stands for 169.254.169.254, a link-local"),
    ("64:ff9b::a00:1", "stands for 10.0.0.1, a private"),
    ("2002:a00:1::1", "stands for 10.0.0.1, a private"),
    ("::a00:1", "stands for 10.0.0.1, a private"),
    ("2001::1", "not a public internet address"),  # Teredo
])
def test_the_platforms_ranges_are_refused_with_their_name(address, why):
    said = refusal(ip(address))
    assert said is not None and said.startswith(str(ip(address))) and why in said


@pytest.mark.parametrize("address", [
    "8.8.8.8", "1.1.1.1", "151.101.1.69", "34.120.0.1", "100.63.255.255", "100.128.0.1", "172.15.0.1", "172.32.0.1",
    "2606:4700::1111", "2a00:1450:4001::200e", "::ffff:8.8.8.8", "64:ff9b::808:808",
])
def test_public_addresses_pass(address):
    assert refusal(ip(address)) is None


@pytest.mark.parametrize(("entry", "rule"), [
    ("10.0.0.5", AllowRule(network=ipaddress.ip_network("10.0.0.5/32"), label="10.0.0.5")),
    ("10.0.0.5:3128", AllowRule(network=ipaddress.ip_network("10.0.0.5/32"), port=3128, label="10.0.0.5:3128")),
    ("10.8.0.0/16", AllowRule(network=ipaddress.ip_network("10.8.0.0/16"), label="10.8.0.0/16")),
    ("[fd00::1]:443", AllowRule(network=ipaddress.ip_network("fd00::1/128"), port=443, label="[fd00::1]:443")),
    ("fd00::/8", AllowRule(network=ipaddress.ip_network("fd00::/8"), label="fd00::/8")),
    ("Mirror.Internal.", AllowRule(host="mirror.internal", label="Mirror.Internal.")),
    ("pypi-mirror.internal:443", AllowRule(host="pypi-mirror.internal", port=443, label="pypi-mirror.internal:443")),
])
def test_allow_list_entries(entry, rule):
    assert parse_allow_entry(entry) == rule


@pytest.mark.parametrize("entry", ["http://mirror/", "mirror:0", "mirror:99999", "mirror:x", "10.0.0.0/33", "a b",
                                   "[fd00::1", "", "under_score!.internal"])
def test_bad_allow_list_entries_are_refused(entry):
    with pytest.raises(BadAllowEntry):
        parse_allow_entry(entry)


@pytest.mark.parametrize(("url", "rule"), [
    ("https://api.anthropic.com", AllowRule(host="api.anthropic.com", port=443,
                                            label="the model endpoint https://api.anthropic.com")),
    ("http://127.0.0.1:4000", AllowRule(network=ipaddress.ip_network("127.0.0.1/32"), port=4000, path="/",
                                        tunnel=False, label="the model endpoint http://127.0.0.1:4000")),
    ("http://proxy-public/services/gateway", AllowRule(
        host="proxy-public", port=80, path="/services/gateway", tunnel=False,
        label="the model endpoint http://proxy-public/services/gateway")),
])
def test_the_model_endpoint_is_allowed_on_its_own_port_and_for_plain_http_its_own_path(url, rule):
    assert model_endpoint_rule(url) == rule


@pytest.mark.parametrize(("path", "inside"), [
    ("/services/gateway/v1/messages?beta=true", True), ("/services/gateway", True), ("/services/gateway/", True),
    ("/services/gatewayx/v1", False), ("/hub/login", False), ("/services/gateway/../../hub/api", False),
    ("/services/gateway/%2e%2E/hub", False), ("/services/gateway/./v1", False), ("/services/gateway/..%2fhub", False),
    ("/services/gateway/%5c..%5chub", False),
])
def test_requests_under_the_model_endpoints_path(path, inside):
    assert within_path(path, "/services/gateway") is inside


GATEWAY = model_endpoint_rule("http://10.1.0.9:8000/services/gateway")
MIRROR = parse_allow_entry("mirror.internal:443")


@pytest.mark.parametrize(("host", "port", "addresses", "tunnel", "path", "allowed", "reason"), [
    ("example.org", 443, ["93.184.215.14"], True, None, "93.184.215.14", "public"),
    ("example.org", 443, ["127.0.0.1"], True, None, None, "loopback"),  # a name resolving to loopback
    ("mixed.example", 443, ["10.0.0.1", "93.184.215.14"], True, None, "93.184.215.14", "public"),
    ("10.1.0.9", 8000, ["10.1.0.9"], False, "/services/gateway/v1/messages", "10.1.0.9", "the model endpoint"),
    ("10.1.0.9", 8000, ["10.1.0.9"], False, "/hub/api/users", None, "under /services/gateway"),
    ("10.1.0.9", 8000, ["10.1.0.9"], True, None, None, "under /services/gateway"),  # a tunnel: paths unseen
    ("10.1.0.9", 8081, ["10.1.0.9"], False, "/services/gateway/", None, "private"),  # another port
    ("mirror.internal", 443, ["10.2.0.4"], True, None, "10.2.0.4", "mirror.internal:443"),
    ("mirror.internal", 80, ["10.2.0.4"], False, "/", None, "private"),
    ("other.internal", 443, ["10.2.0.4"], True, None, None, "private"),  # same address, name not listed
    ("nothing.example", 443, [], True, None, None, "no address"),
])
def test_decide_connects_only_to_an_address_it_checked(host, port, addresses, tunnel, path, allowed, reason):
    verdict = decide(host, port, [ip(a) for a in addresses], [GATEWAY, MIRROR], tunnel=tunnel, path=path)
    assert verdict.address == (ip(allowed) if allowed else None)
    assert reason in verdict.reason


def test_an_address_of_this_machine_is_refused_even_when_public():
    verdict = decide("me.example", 8000, [ip("93.184.215.14")], [], tunnel=True, path=None,
                     own_address=lambda address: True)
    assert verdict.address is None and "an address of this machine" in verdict.reason
    assert own_address(ip("127.0.0.1")) and not own_address(ip("192.0.2.77"))
