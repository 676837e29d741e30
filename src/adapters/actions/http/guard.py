"""The SSRF guard: which addresses ``http.request`` may connect to.

By default only public addresses: loopback, private, link-local, unique-local, CGNAT,
multicast, reserved and documentation ranges are refused, and so are the cloud metadata
endpoints. IPv4 addresses wrapped in IPv6 (mapped, 6to4, NAT64) are judged by the IPv4
address inside. ``WFA_HTTP_ALLOW`` opens hosts by name, addresses, or CIDR ranges; a
metadata endpoint is opened only by naming it exactly, never by a range around it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

BLOCKED_NETWORKS: tuple[IPNetwork, ...] = tuple(
    ipaddress.ip_network(cidr)
    for cidr in (
        "0.0.0.0/8",  # "this network"
        "10.0.0.0/8",
        "100.64.0.0/10",  # carrier-grade NAT (Alibaba's metadata lives here)
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local, AWS/GCP/Azure metadata
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, and the broadcast address
        "::/128",
        "::1/128",
        "64:ff9b:1::/48",
        "100::/64",
        "2001:db8::/32",
        "fc00::/7",  # unique-local (AWS's IPv6 metadata fd00:ec2::254)
        "fe80::/10",
        "fec0::/10",
        "ff00::/8",
    )
)
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(address)
    for address in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200")
)
METADATA_NAMES = frozenset({"metadata.google.internal", "metadata.goog", "metadata"})


class Blocked(Exception):
    """The request would reach an address the guard refuses."""


def normalized_host(host: str) -> str:
    return host.strip().rstrip(".").lower()


def parse_address(text: str) -> IPAddress | None:
    """``text`` as an IP address (brackets and an IPv6 zone allowed), or None for a name."""
    try:
        return ipaddress.ip_address(text.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, 6to4, NAT64), if any."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class AddressGuard:
    """Decides, for a host and the addresses it resolved to, whether to connect."""

    def __init__(self, allow: Iterable[str] = ()) -> None:
        self._names: set[str] = set()
        self._networks: list[IPNetwork] = []
        for entry in allow:
            entry = entry.strip()
            if not entry:
                continue
            if "/" in entry:
                self._networks.append(ipaddress.ip_network(entry, strict=False))
                continue
            address = parse_address(entry)
            if address is None:
                self._names.add(normalized_host(entry))
            else:
                self._networks.append(ipaddress.ip_network(address))

    def check_name(self, host: str) -> bool:
        """Refuse a metadata host name; True when the name is allowed whatever it resolves to."""
        name = normalized_host(host)
        if name in self._names:
            return True
        if name in METADATA_NAMES:
            raise Blocked(f"{host} is a cloud metadata endpoint")
        return False

    def vet(self, host: str, addresses: Sequence[str]) -> list[str]:
        """The addresses to connect to, in order; refuse them all when any one is blocked.

        One blocked answer refuses the host: a name that resolves to public and internal
        addresses at once is not one to trust with either.
        """
        allowed_by_name = self.check_name(host)
        vetted: list[str] = []
        for text in addresses:
            address = parse_address(text)
            if address is None:
                raise Blocked(f"{host} resolved to {text!r}, which is not an IP address")
            if not allowed_by_name:
                self.check_address(host, address)
            vetted.append(text)
        if not vetted:
            raise Blocked(f"{host} resolved to no address")
        return vetted

    def check_address(self, host: str, address: IPAddress) -> None:
        why = self._refusal(address)
        if why is None:
            return
        shown = host if normalized_host(host) == str(address) else f"{host} ({address})"
        raise Blocked(f"{shown} is {why}; allow it with WFA_HTTP_ALLOW")

    def _refusal(self, address: IPAddress) -> str | None:
        if address in METADATA_ADDRESSES:
            exact = ipaddress.ip_network(address)
            return None if exact in self._networks else "a cloud metadata endpoint"
        if any(address in network for network in self._networks):
            return None
        inner = embedded_ipv4(address)
        if inner is not None:
            why = self._refusal(inner)
            return None if why is None else f"{why} (as IPv4 {inner})"
        if any(address in network for network in BLOCKED_NETWORKS):
            return "an internal address"
        if not address.is_global or address.is_multicast or address.is_reserved:
            return "not a public address"
        return None
