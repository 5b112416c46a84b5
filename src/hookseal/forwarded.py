"""The URL a provider called, rebuilt from the request for the schemes that sign it.

Twilio, Square and HubSpot sign the URL they sent the request to. The adapters rebuild it from
the request exactly as it arrived: the scheme, the ``Host`` header (with its port, if any), the
path as sent (percent-encoding kept; the mount point, ``root_path`` or ``SCRIPT_NAME``,
included) and the raw query string. Behind a proxy or a load balancer the app sees another
scheme, host or port than the provider used, so :class:`RequestURL` offers two fixes:

- ``public_url="https://hooks.example.com"``: the base the provider called, to which the
  request's path and query are appended; checked at construction.
- ``trusted_proxies=["10.0.0.0/8"]``: ``Forwarded`` (RFC 7239) or, without it,
  ``X-Forwarded-Proto``/``-Host``/``-Port``, and ``X-Forwarded-Prefix``, are read only when the
  immediate peer is one of these addresses. From any other peer they are ignored: anyone can
  send them. A trusted proxy that sends a malformed one is answered 400 (``MalformedHeader``).

Nothing here runs for the schemes that do not sign the URL.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from typing import Any
from urllib.parse import quote, urlsplit

from .errors import ConfigurationError, MalformedHeader

__all__ = ["RequestURL", "parse_forwarded"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
HeaderGetter = Callable[[str], "str | None"]

_HOST = re.compile(r"(?:\[[0-9A-Fa-f:.]{2,45}\]|[A-Za-z0-9._~!$&'()*+,;=%-]{1,253})(?::(\d{1,5}))?")
"""RFC 3986's host (an IP literal in brackets or a reg-name) and an optional port."""
_PREFIX = re.compile(r"/[!$&'()*+,;=:@/A-Za-z0-9._~%-]*")
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_DEFAULT_PORTS = {"http": "80", "https": "443"}
_PATH_SAFE = "/:@!$&'()*+,;=~"  # RFC 3986 pchar without '%': what a sender leaves unencoded
_MAX_ELEMENTS = 32
_MAX_HEADER = 8192


class RequestURL:
    """Rebuilds the URL a provider called; see the module docstring for the three sources.

    Give at most one of ``public_url`` (a base URL: scheme, host, optional port and path
    prefix; no query) and ``trusted_proxies`` (IP addresses or networks, such as
    ``"127.0.0.1"`` or ``"10.0.0.0/8"``). With neither, the URL is the request's own.
    """

    __slots__ = ("_networks", "_public", "public_url", "trusted_proxies")

    def __init__(
        self,
        public_url: str | None = None,
        trusted_proxies: str | Iterable[str] | None = None,
    ) -> None:
        if public_url is not None and trusted_proxies is not None:
            raise ConfigurationError(
                "give public_url or trusted_proxies, not both: a public_url already says "
                "what the provider called"
            )
        self._public = None if public_url is None else _check_public_url(public_url)
        self.public_url = public_url
        self._networks = None if trusted_proxies is None else _networks(trusted_proxies)
        self.trusted_proxies = (
            None if self._networks is None else tuple(str(n) for n in self._networks)
        )

    def __repr__(self) -> str:
        return f"RequestURL(public_url={self.public_url!r}, trusted_proxies={self.trusted_proxies})"

    # -- the two request shapes ----------------------------------------------------------------

    def of_scope(self, scope: Mapping[str, Any]) -> str:
        """The URL of an ASGI ``http`` request (raises ``MalformedHeader`` for a bad one)."""
        path = _scope_path(scope)
        query = _text(scope.get("query_string") or b"", "the query string")
        if self._public is not None:
            return _join(self._public, path, query)
        headers: list[tuple[bytes, bytes]] = scope.get("headers") or []
        scheme = str(scope.get("scheme") or "http")
        host = _scope_host(headers, scope, scheme)
        if self._networks is not None and self._trusts(_address(_client_of(scope))):
            return self._forwarded(_pairs_getter(headers), scheme, host, path, query)
        return _join(f"{scheme}://{_checked_host(host, 'Host')}", path, query)

    def of_environ(self, environ: Mapping[str, Any]) -> str:
        """The URL of a WSGI request (``environ``), as :meth:`of_scope` does for ASGI."""
        path = _environ_path(environ)
        query = _environ_text(environ.get("QUERY_STRING", ""), "the query string")
        if self._public is not None:
            return _join(self._public, path, query)
        scheme = str(environ.get("wsgi.url_scheme") or "http")
        host = _environ_host(environ, scheme)
        if self._networks is not None and self._trusts(_address(environ.get("REMOTE_ADDR"))):
            return self._forwarded(_environ_getter(environ), scheme, host, path, query)
        return _join(f"{scheme}://{_checked_host(host, 'Host')}", path, query)

    # -- trusted proxies -----------------------------------------------------------------------

    def _trusts(self, address: Address | None) -> bool:
        networks = self._networks
        return address is not None and networks is not None and any(address in n for n in networks)

    def _forwarded(
        self, header: HeaderGetter, scheme: str, host: str, path: str, query: str
    ) -> str:
        """The URL as the trusted proxies describe the request they received."""
        forwarded = header("forwarded")
        if forwarded is not None:
            scheme, host = self._from_forwarded(forwarded, scheme, host)
        else:
            scheme, host = self._from_x_forwarded(header, scheme, host)
        prefix = self._pick(header, "x-forwarded-prefix", header("x-forwarded-for"))
        if prefix is not None:
            if not _PREFIX.fullmatch(prefix):
                raise MalformedHeader(
                    "the X-Forwarded-Prefix header is not a path", header="X-Forwarded-Prefix"
                )
            path = prefix.rstrip("/") + path
        return _join(f"{scheme}://{host}", path, query)

    def _from_forwarded(self, value: str, scheme: str, host: str) -> tuple[str, str]:
        """Walk the elements from the right (the immediate peer's) while their ``for`` is a
        trusted proxy: the element where it stops describes the request the provider sent."""
        elements = parse_forwarded(value)
        chosen = elements[-1]
        for element in reversed(elements):
            chosen = element
            if not self._trusts(_node_address(element.get("for"))):
                break
        proto = chosen.get("proto")
        if proto is not None:
            scheme = _checked_proto(proto, "Forwarded")
        found = chosen.get("host")
        if found is None:
            return scheme, _checked_host(host, "Host")
        return scheme, _checked_host(found, "Forwarded")

    def _from_x_forwarded(self, header: HeaderGetter, scheme: str, host: str) -> tuple[str, str]:
        chain = header("x-forwarded-for")
        proto = self._pick(header, "x-forwarded-proto", chain)
        if proto is not None:
            scheme = _checked_proto(proto, "X-Forwarded-Proto")
        forwarded_host = self._pick(header, "x-forwarded-host", chain)
        if forwarded_host is not None:
            host = _checked_host(forwarded_host, "X-Forwarded-Host")
        else:
            host = _checked_host(host, "Host")
        port = self._pick(header, "x-forwarded-port", chain)
        if port is not None:
            if not (port.isascii() and port.isdigit() and 0 < int(port) < 65536):
                raise MalformedHeader(
                    "the X-Forwarded-Port header is not a port", header="X-Forwarded-Port"
                )
            host = _without_port(host)
            if _DEFAULT_PORTS.get(scheme) != str(int(port)):
                host = f"{host}:{int(port)}"
        return scheme, host

    def _pick(self, header: HeaderGetter, name: str, chain: str | None) -> str | None:
        """One value of a comma-separated ``X-Forwarded-*`` header: proxies that append put the
        edge's value as many places from the right as there are trusted proxies in the chain
        (the immediate peer, and each trusted ``X-Forwarded-For`` entry from the right); what is
        left of it came from the sender. A proxy that overwrites leaves a single value."""
        value = header(name)
        if value is None:
            return None
        values = [v.strip() for v in value.split(",")]
        if len(values) == 1:
            return values[0] or None
        hops = 1
        for entry in reversed((chain or "").split(",")):
            if not self._trusts(_node_address(entry.strip())):
                break
            hops += 1
        return values[max(len(values) - hops, 0)] or None


# -- Forwarded (RFC 7239) -------------------------------------------------------------------------


def parse_forwarded(value: str) -> list[dict[str, str]]:
    """The elements of a ``Forwarded`` header, each a dict of its lower-cased parameters.

    Strict: anything that is not ``token=token`` or ``token="quoted string"`` pairs separated
    by ``;``, elements by ``,``, raises ``MalformedHeader`` (a proxy that sends garbage is
    misconfigured; guessing what it meant would be guessing the URL).
    """
    if len(value) > _MAX_HEADER or not value.isascii():
        raise _bad_forwarded("is too long or not ASCII")
    elements: list[dict[str, str]] = []
    element: dict[str, str] = {}
    i, size = 0, len(value)
    while True:
        while i < size and value[i] in " \t":
            i += 1
        match = _TOKEN.match(value, i)
        if match is None or match.end() >= size or value[match.end()] != "=":
            raise _bad_forwarded("holds something that is not a name=value pair")
        name = match.group().lower()
        i = match.end() + 1
        if i < size and value[i] == '"':
            text, i = _quoted(value, i)
        else:
            match = _TOKEN.match(value, i)
            if match is None:
                raise _bad_forwarded(f"has no value for {name}")
            text, i = match.group(), match.end()
        if name in element:
            raise _bad_forwarded(f"repeats {name} in one element")
        element[name] = text
        while i < size and value[i] in " \t":
            i += 1
        if i == size:
            elements.append(element)
            return elements
        if value[i] == ",":
            elements.append(element)
            if len(elements) >= _MAX_ELEMENTS:
                raise _bad_forwarded("has too many elements")
            element = {}
        elif value[i] != ";":
            raise _bad_forwarded("has a stray character")
        i += 1


def _quoted(value: str, start: int) -> tuple[str, int]:
    """A quoted-string starting at ``value[start] == '"'``: its text and the index after it."""
    out: list[str] = []
    i = start + 1
    while i < len(value):
        char = value[i]
        if char == "\\" and i + 1 < len(value):
            out.append(value[i + 1])
            i += 2
        elif char == '"':
            return "".join(out), i + 1
        elif char.isprintable():
            out.append(char)
            i += 1
        else:
            break
    raise _bad_forwarded("has an unterminated quoted string")


def _bad_forwarded(why: str) -> MalformedHeader:
    return MalformedHeader(f"the Forwarded header {why}", header="Forwarded")


# -- the parts ----------------------------------------------------------------------------------


def _check_public_url(url: object) -> str:
    """``public_url`` as ``scheme://host[:port][/prefix]`` without a trailing slash."""
    if not isinstance(url, str) or not url.isascii() or not url.isprintable() or " " in url:
        raise ConfigurationError("public_url must be an ASCII URL such as 'https://example.com'")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise ConfigurationError(f"public_url {url!r} is not a URL") from None
    if parts.scheme not in _DEFAULT_PORTS or not parts.netloc:
        raise ConfigurationError(f"public_url {url!r} must start with https:// or http://")
    if "@" in parts.netloc or not _HOST.fullmatch(parts.netloc):
        raise ConfigurationError(f"public_url {url!r} has a host that is not a plain host[:port]")
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        raise ConfigurationError(
            f"public_url {url!r} must be a base URL without a query or fragment: the "
            "request's own path and query are appended to it"
        )
    if parts.path and not _PREFIX.fullmatch(parts.path):
        raise ConfigurationError(f"public_url {url!r} has a path that is not a URL path")
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def _networks(proxies: str | Iterable[str]) -> tuple[Network, ...]:
    if isinstance(proxies, str):
        proxies = [proxies]
    found: list[Network] = []
    try:
        for entry in proxies:
            if not isinstance(entry, str):
                raise ConfigurationError("trusted_proxies must be IP addresses or networks (str)")
            try:
                found.append(ipaddress.ip_network(entry.strip(), strict=False))
            except ValueError:
                raise ConfigurationError(
                    f"trusted_proxies: {entry!r} is not an IP address or network "
                    "(such as '127.0.0.1' or '10.0.0.0/8')"
                ) from None
    except TypeError:
        raise ConfigurationError("trusted_proxies must be a list of IP addresses") from None
    if not found:
        raise ConfigurationError(
            "trusted_proxies is empty: leave it out (None) to trust no proxy, or name them"
        )
    return tuple(found)


def _address(peer: object) -> Address | None:
    if not isinstance(peer, str):
        return None
    try:
        return ipaddress.ip_address(peer.split("%", 1)[0])  # an IPv6 zone is not the address
    except ValueError:
        return None


def _node_address(node: str | None) -> Address | None:
    """The address in a ``Forwarded`` ``for`` node or an ``X-Forwarded-For`` entry: an IPv4
    address with an optional port, or an IPv6 address, bare or in brackets with a port.
    ``unknown`` and obfuscated names (``_hidden``) are no address: never trusted."""
    if not node:
        return None
    if node.startswith("["):
        end = node.find("]")
        return None if end < 0 else _address(node[1:end])
    if node.count(":") == 1:
        node = node.split(":", 1)[0]
    return _address(node)


def _client_of(scope: Mapping[str, Any]) -> object:
    client = scope.get("client")
    return client[0] if isinstance(client, (tuple, list)) and client else None


def _pairs_getter(headers: list[tuple[bytes, bytes]]) -> HeaderGetter:
    """Header lookup in an ASGI list; repeated lines of a list header are joined with commas,
    as HTTP allows (``Forwarded``, ``X-Forwarded-For`` split over several lines)."""
    found: MutableMapping[str, list[bytes]] = {}
    for name, value in headers:
        if name[:1] in (b"f", b"F", b"x", b"X"):
            found.setdefault(name.decode("latin-1").lower(), []).append(value)

    def get(name: str) -> str | None:
        values = found.get(name)
        if values is None:
            return None
        return _header_text(b",".join(values).decode("latin-1"), name)

    return get


def _environ_getter(environ: Mapping[str, Any]) -> HeaderGetter:
    def get(name: str) -> str | None:
        value = environ.get("HTTP_" + name.upper().replace("-", "_"))
        return None if not isinstance(value, str) else _header_text(value, name)

    return get


def _header_text(value: str, name: str) -> str:
    if len(value) > _MAX_HEADER or not value.isascii() or not value.isprintable():
        raise MalformedHeader(f"the {name} header is not printable ASCII", header=name)
    return value.strip()


def _scope_host(headers: list[tuple[bytes, bytes]], scope: Mapping[str, Any], scheme: str) -> str:
    found: bytes | None = None
    for name, value in headers:
        if len(name) == 4 and name.lower() == b"host":
            if found is not None:
                raise MalformedHeader("the Host header appears more than once", header="Host")
            found = value
    if found is not None:
        return _header_text(found.decode("latin-1"), "Host")
    server = scope.get("server")
    if isinstance(server, (tuple, list)) and len(server) == 2 and server[0]:
        return _server_host(str(server[0]), str(server[1]), scheme)
    raise MalformedHeader("the request has no Host header", header="Host")


def _environ_host(environ: Mapping[str, Any], scheme: str) -> str:
    host = environ.get("HTTP_HOST")
    if isinstance(host, str) and host:
        return _header_text(host, "Host")
    name = environ.get("SERVER_NAME")
    if isinstance(name, str) and name:
        return _server_host(name, str(environ.get("SERVER_PORT", "")), scheme)
    raise MalformedHeader("the request has no Host header", header="Host")


def _server_host(name: str, port: str, scheme: str) -> str:
    if ":" in name and not name.startswith("["):
        name = f"[{name}]"  # an IPv6 address
    return name if not port or _DEFAULT_PORTS.get(scheme) == port else f"{name}:{port}"


def _checked_host(host: str, header: str) -> str:
    match = _HOST.fullmatch(host)
    if match is None or (match.group(1) is not None and not 0 < int(match.group(1)) < 65536):
        raise MalformedHeader(f"the {header} header is not a host[:port]", header=header)
    return host


def _checked_proto(proto: str, header: str) -> str:
    scheme = proto.lower()
    if scheme not in _DEFAULT_PORTS:
        raise MalformedHeader(f"the {header} header names no http(s) scheme", header=header)
    return scheme


def _without_port(host: str) -> str:
    end = host.rfind("]")
    colon = host.rfind(":")
    return host[:colon] if colon > end else host


def _scope_path(scope: Mapping[str, Any]) -> str:
    """The path as sent, with the mount point: ``raw_path`` where the server gives it (else
    the decoded ``path`` encoded again), with ``root_path`` in front when it is not there
    already (a proxy stripped it, or the server does not include it)."""
    raw = scope.get("raw_path")
    root: str = scope.get("root_path") or ""
    if isinstance(raw, bytes) and raw.startswith(b"/"):
        path = _text(raw, "the path")
    else:
        path = quote(str(scope.get("path") or "/"), safe=_PATH_SAFE)
    if root:
        prefix = quote(root, safe=_PATH_SAFE).rstrip("/")
        if path != prefix and not path.startswith(prefix + "/"):
            path = prefix + path
    return path


def _environ_path(environ: Mapping[str, Any]) -> str:
    """The path as sent: ``RAW_URI``/``REQUEST_URI`` where the server gives them (gunicorn,
    uWSGI, Werkzeug), else ``SCRIPT_NAME + PATH_INFO`` encoded again (wsgiref), with
    ``SCRIPT_NAME`` in front when the raw one lacks it."""
    script = _environ_text(environ.get("SCRIPT_NAME", ""), "the path")
    prefix = quote(script, safe=_PATH_SAFE).rstrip("/") if script else ""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if isinstance(raw, str) and raw:
        path = raw.split("?", 1)[0].split("#", 1)[0]
        if not path.startswith("/"):  # the absolute form: http://host/path
            path = "/" + urlsplit(path).path.lstrip("/")
        path = _environ_text(path, "the path")
    else:
        info = _environ_text(environ.get("PATH_INFO", ""), "the path") or "/"
        return prefix + quote(info, safe=_PATH_SAFE)
    if prefix and path != prefix and not path.startswith(prefix + "/"):
        path = prefix + path
    return path


def _environ_text(value: object, what: str) -> str:
    """WSGI's latin-1 text as the bytes it stands for, read as UTF-8 (the URL's encoding)."""
    if not isinstance(value, str):
        return ""
    try:
        return _text(value.encode("latin-1"), what)
    except UnicodeEncodeError:  # a server that decoded it as UTF-8 already
        return value


def _text(raw: bytes, what: str) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedHeader(f"{what} of the request is not UTF-8") from None
    if not text.isprintable():
        raise MalformedHeader(f"{what} of the request holds control characters")
    return text


def _join(base: str, path: str, query: str) -> str:
    return f"{base}{path}?{query}" if query else base + path
