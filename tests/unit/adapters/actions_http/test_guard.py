"""The SSRF guard: internal addresses refused by default, opened only by WFA_HTTP_ALLOW."""

from __future__ import annotations

import pytest

from wfa.adapters.actions.http.guard import AddressGuard, Blocked

INTERNAL = [
    ("127.0.0.1", "127.0.0.0/8"),
    ("127.8.9.10", "127.0.0.0/8"),
    ("::1", "::1"),
    ("10.1.2.3", "10.0.0.0/8"),
    ("172.16.0.1", "172.16.0.0/12"),
    ("172.31.255.254", "172.16.0.0/12"),
    ("192.168.1.1", "192.168.0.0/16"),
    ("169.254.1.1", "169.254.0.0/16"),
    ("fe80::1", "fe80::/10"),
    ("fc00::1", "fc00::/7"),
    ("fd12:3456::1", "fc00::/7"),
    ("100.64.0.1", "100.64.0.0/10"),
    ("0.0.0.0", "0.0.0.0/8"),
    ("0.1.2.3", "0.0.0.0/8"),
    ("::", "::/128"),
    ("224.0.0.1", "224.0.0.0/4"),
    ("239.255.255.250", "224.0.0.0/4"),
    ("ff02::1", "ff00::/8"),
    ("240.0.0.1", "240.0.0.0/4"),
    ("255.255.255.255", "240.0.0.0/4"),
    ("192.0.2.1", "192.0.2.0/24"),
    ("2001:db8::1", "2001:db8::/32"),
    ("::ffff:127.0.0.1", "127.0.0.0/8"),  # IPv4-mapped IPv6
    ("::ffff:10.0.0.1", "10.0.0.0/8"),
    ("2002:7f00:1::", "127.0.0.0/8"),  # 6to4 around loopback
    ("64:ff9b::a9fe:a9fe", "169.254.169.254"),  # NAT64 around the metadata address
    ("2001::1", "2001::/23"),  # Teredo: not global, though in no range listed above
]
METADATA = ["169.254.169.254", "fd00:ec2::254", "100.100.100.200"]
PUBLIC = ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8", "172.32.0.1"]


@pytest.mark.parametrize(("address", "_range"), INTERNAL)
def test_internal_addresses_are_refused_by_default(address: str, _range: str) -> None:
    with pytest.raises(Blocked, match="WFA_HTTP_ALLOW"):
        AddressGuard().vet("example.test", [address])


@pytest.mark.parametrize(("address", "allowed"), INTERNAL)
def test_each_range_is_opened_by_naming_it(address: str, allowed: str) -> None:
    assert AddressGuard([allowed]).vet("example.test", [address]) == [address]


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    assert AddressGuard().vet("example.test", [address]) == [address]


@pytest.mark.parametrize("address", METADATA)
def test_metadata_addresses_are_refused_even_inside_an_allowed_range(address: str) -> None:
    guard = AddressGuard(["169.254.0.0/16", "fc00::/7", "100.64.0.0/10"])

    with pytest.raises(Blocked, match="cloud metadata"):
        guard.vet("example.test", [address])
    assert AddressGuard([address]).vet("example.test", [address]) == [address]


@pytest.mark.parametrize(
    "host", ["metadata.google.internal", "METADATA.google.internal.", "metadata"]
)
def test_metadata_names_are_refused_whatever_they_resolve_to(host: str) -> None:
    with pytest.raises(Blocked, match="cloud metadata endpoint"):
        AddressGuard().vet(host, ["8.8.8.8"])


def test_one_internal_answer_refuses_the_whole_name() -> None:
    with pytest.raises(Blocked, match=r"rebind\.test \(10\.0\.0\.1\) is an internal address"):
        AddressGuard().vet("rebind.test", ["8.8.8.8", "10.0.0.1"])


def test_an_allowed_name_may_resolve_anywhere() -> None:
    guard = AddressGuard(["internal.example", "127.0.0.1", "10.0.0.0/8"])

    assert guard.vet("Internal.Example.", ["192.168.7.7"]) == ["192.168.7.7"]
    assert guard.vet("localhost", ["127.0.0.1"]) == ["127.0.0.1"]
    assert guard.vet("db.internal", ["10.9.8.7"]) == ["10.9.8.7"]
    with pytest.raises(Blocked):
        guard.vet("localhost", ["127.0.0.1", "::1"])  # ::1 was not opened


def test_a_name_that_resolves_to_nothing_or_not_to_addresses_is_refused() -> None:
    with pytest.raises(Blocked, match="resolved to no address"):
        AddressGuard().vet("empty.test", [])
    with pytest.raises(Blocked, match=r"resolved to .elsewhere\.test., which is not an IP"):
        AddressGuard().vet("odd.test", ["elsewhere.test"])


def test_blank_allow_entries_are_ignored() -> None:
    with pytest.raises(Blocked):
        AddressGuard(["", " "]).vet("example.test", ["10.0.0.1"])
