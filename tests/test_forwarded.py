"""RequestURL: the URL a provider called, from the request, a public_url, or trusted proxies."""

from __future__ import annotations

from typing import Any

import pytest

from hookseal import ConfigurationError, MalformedHeader
from hookseal.forwarded import RequestURL, parse_forwarded

PROXY = "10.0.0.5"
CLIENT = "203.0.113.9"


def scope(
    path: str = "/hooks/sms",
    *,
    raw_path: bytes | None = None,
    query: bytes = b"",
    headers: list[tuple[bytes, bytes]] | None = None,
    host: bytes | None = b"app.internal:8000",
    scheme: str = "http",
    client: str = PROXY,
    root_path: str = "",
    server: tuple[str, int] | None = ("10.0.0.9", 8000),
) -> dict[str, Any]:
    found = list(headers or [])
    if host is not None:
        found.insert(0, (b"host", host))
    made: dict[str, Any] = {
        "type": "http",
        "method": "POST",
        "scheme": scheme,
        "path": path,
        "query_string": query,
        "root_path": root_path,
        "headers": found,
        "client": (client, 51000),
        "server": server,
    }
    if raw_path is not None:
        made["raw_path"] = raw_path
    return made


def environ(path: str = "/hooks/sms", **extra: Any) -> dict[str, Any]:
    made: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "wsgi.url_scheme": "http",
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "HTTP_HOST": "app.internal:8000",
        "SERVER_NAME": "app.internal",
        "SERVER_PORT": "8000",
        "REMOTE_ADDR": PROXY,
    }
    made.update(extra)
    return made


# -- the request's own URL ---------------------------------------------------------------------


def test_the_request_url_is_scheme_host_raw_path_and_raw_query() -> None:
    found = RequestURL().of_scope(
        scope("/hooks/a b", raw_path=b"/hooks/a%20b", query=b"x=1&y=%2F&z")
    )
    assert found == "http://app.internal:8000/hooks/a%20b?x=1&y=%2F&z"


def test_the_raw_path_is_kept_as_sent_not_re_encoded() -> None:
    # %2F inside a segment and lower-case escapes survive: the provider signed these bytes.
    found = RequestURL().of_scope(scope("/a/b", raw_path=b"/a%2fb%7E"))
    assert found == "http://app.internal:8000/a%2fb%7E"


def test_without_raw_path_the_decoded_path_is_encoded_again() -> None:
    assert RequestURL().of_scope(scope("/hooks/caf\u00e9 x")) == (
        "http://app.internal:8000/hooks/caf%C3%A9%20x"
    )


def test_root_path_is_included_once() -> None:
    # The proxy stripped the prefix; the server was told it (uvicorn --root-path).
    stripped = scope("/api/hooks", raw_path=b"/hooks", root_path="/api")
    assert RequestURL().of_scope(stripped).endswith(":8000/api/hooks")
    # The server received the whole path: raw_path already holds the prefix.
    whole = scope("/api/hooks", raw_path=b"/api/hooks", root_path="/api")
    assert RequestURL().of_scope(whole).endswith(":8000/api/hooks")
    # A path that only starts with the same letters is not the prefix.
    other = scope("/apix", raw_path=b"/apix", root_path="/api")
    assert RequestURL().of_scope(other).endswith(":8000/api/apix")


def test_host_header_kept_as_sent_and_server_used_without_one() -> None:
    assert RequestURL().of_scope(scope(host=b"Example.com")) == "http://Example.com/hooks/sms"
    assert RequestURL().of_scope(scope(host=None)) == "http://10.0.0.9:8000/hooks/sms"
    assert RequestURL().of_scope(scope(host=None, scheme="https", server=("h", 443))) == (
        "https://h/hooks/sms"
    )
    assert (
        RequestURL()
        .of_scope(scope(host=None, server=("::1", 8000)))
        .startswith("http://[::1]:8000/")
    )


@pytest.mark.parametrize(
    "host",
    [b"example.com:99999", b"example.com:80x", b"a b", b"ex\xc3\xa9.com", b"a/b", b"", b"[::1"],
)
def test_a_bad_host_is_a_400(host: bytes) -> None:
    with pytest.raises(MalformedHeader) as refused:
        RequestURL().of_scope(scope(host=host))
    assert refused.value.status == 400


def test_two_host_headers_or_none_at_all_are_refused() -> None:
    with pytest.raises(MalformedHeader):
        RequestURL().of_scope(scope(headers=[(b"host", b"evil.example")]))
    with pytest.raises(MalformedHeader):
        RequestURL().of_scope(scope(host=None, server=None))


def test_a_path_or_query_that_is_not_utf8_is_a_400() -> None:
    with pytest.raises(MalformedHeader):
        RequestURL().of_scope(scope(raw_path=b"/\xff"))
    with pytest.raises(MalformedHeader):
        RequestURL().of_scope(scope(query=b"a=\xff"))
    with pytest.raises(MalformedHeader):
        RequestURL().of_scope(scope(query=b"a=\x01"))


def test_wsgi_raw_uri_is_preferred_and_script_name_included() -> None:
    assert RequestURL().of_environ(environ("/a/b", RAW_URI="/a%2Fb?x=1", QUERY_STRING="x=1")) == (
        "http://app.internal:8000/a%2Fb?x=1"
    )
    assert (
        RequestURL()
        .of_environ(environ("/hooks", SCRIPT_NAME="/api", REQUEST_URI="/hooks"))
        .endswith(":8000/api/hooks")
    )
    assert (
        RequestURL()
        .of_environ(environ("/hooks", SCRIPT_NAME="/api", REQUEST_URI="/api/hooks"))
        .endswith(":8000/api/hooks")
    )
    # an absolute-form request target (as sent to a proxy)
    assert (
        RequestURL()
        .of_environ(environ("/hooks", REQUEST_URI="http://app.internal:8000/hooks?q"))
        .endswith(":8000/hooks")
    )


def test_wsgi_without_raw_uri_encodes_script_name_and_path_info() -> None:
    # WSGI gives the decoded path as latin-1 text of its bytes (PEP 3333).
    path = "/caf\u00e9".encode().decode("latin-1")
    found = RequestURL().of_environ(environ(path, SCRIPT_NAME="/my app", QUERY_STRING="a=%20"))
    assert found == "http://app.internal:8000/my%20app/caf%C3%A9?a=%20"


def test_wsgi_host_falls_back_to_server_name_and_port() -> None:
    env = environ(HTTP_HOST="", SERVER_NAME="example.com", SERVER_PORT="443")
    env["wsgi.url_scheme"] = "https"
    assert RequestURL().of_environ(env) == "https://example.com/hooks/sms"


# -- public_url ---------------------------------------------------------------------------------


def test_public_url_replaces_scheme_host_and_port_and_keeps_path_and_query() -> None:
    rule = RequestURL(public_url="https://hooks.example.com/base/")
    found = rule.of_scope(scope(raw_path=b"/hooks/sms", query=b"t=7", root_path="/r"))
    assert found == "https://hooks.example.com/base/r/hooks/sms?t=7"
    assert rule.of_environ(environ(QUERY_STRING="t=7")) == (
        "https://hooks.example.com/base/hooks/sms?t=7"
    )


def test_public_url_ignores_forwarded_headers() -> None:
    spoofed = scope(headers=[(b"x-forwarded-host", b"evil.example")])
    assert (
        RequestURL(public_url="https://a.example")
        .of_scope(spoofed)
        .startswith("https://a.example/")
    )


@pytest.mark.parametrize(
    "url",
    [
        "example.com",
        "ftp://example.com",
        "https://",
        "https://example.com?x=1",
        "https://example.com/#frag",
        "https://user:pw@example.com",
        "https://example.com:99999",
        "https://exa mple.com",
        "https://ex\u00e9.com",
        "https://example.com/a b",
        "",
    ],
)
def test_a_bad_public_url_fails_at_construction(url: str) -> None:
    with pytest.raises(ConfigurationError):
        RequestURL(public_url=url)


def test_public_url_and_trusted_proxies_are_not_both_allowed() -> None:
    with pytest.raises(ConfigurationError, match="not both"):
        RequestURL(public_url="https://a.example", trusted_proxies=["10.0.0.1"])


@pytest.mark.parametrize("proxies", [[], ["10.0.0.300"], ["*"], [b"10.0.0.1"], 42])
def test_bad_trusted_proxies_fail_at_construction(proxies: Any) -> None:
    with pytest.raises(ConfigurationError):
        RequestURL(trusted_proxies=proxies)


# -- trusted proxies: X-Forwarded-* ---------------------------------------------------------------

TRUSTED = RequestURL(trusted_proxies=["10.0.0.0/24", "::1"])
FORWARDED_HEADERS = [
    (b"x-forwarded-proto", b"https"),
    (b"x-forwarded-host", b"hooks.example.com"),
    (b"x-forwarded-prefix", b"/api/"),
    (b"x-forwarded-for", CLIENT.encode()),
]


def test_x_forwarded_headers_from_a_trusted_proxy_are_honoured() -> None:
    found = TRUSTED.of_scope(scope(raw_path=b"/hooks/sms", query=b"a=1", headers=FORWARDED_HEADERS))
    assert found == "https://hooks.example.com/api/hooks/sms?a=1"


def test_x_forwarded_headers_from_any_other_peer_are_ignored() -> None:
    spoofed = scope(client=CLIENT, headers=FORWARDED_HEADERS)
    assert TRUSTED.of_scope(spoofed) == "http://app.internal:8000/hooks/sms"
    assert RequestURL().of_scope(scope(headers=FORWARDED_HEADERS)) == (
        "http://app.internal:8000/hooks/sms"
    )
    env = environ(REMOTE_ADDR=CLIENT, HTTP_X_FORWARDED_HOST="evil.example")
    assert TRUSTED.of_environ(env) == "http://app.internal:8000/hooks/sms"


def test_a_peer_that_is_not_an_ip_address_is_never_trusted() -> None:
    assert TRUSTED.of_scope(scope(client="unix-socket", headers=FORWARDED_HEADERS)).startswith(
        "http://app.internal:8000/"
    )


def test_x_forwarded_port_sets_the_port_and_default_ports_are_left_out() -> None:
    def url(*pairs: tuple[bytes, bytes]) -> str:
        return TRUSTED.of_scope(scope(headers=list(pairs)))

    assert url((b"x-forwarded-proto", b"https"), (b"x-forwarded-port", b"443")) == (
        "https://app.internal/hooks/sms"
    )
    assert url((b"x-forwarded-host", b"h.example:80"), (b"x-forwarded-port", b"8443")) == (
        "http://h.example:8443/hooks/sms"
    )
    assert url((b"x-forwarded-host", b"[2001:db8::1]"), (b"x-forwarded-port", b"9000")) == (
        "http://[2001:db8::1]:9000/hooks/sms"
    )


def test_appended_lists_take_the_edge_proxys_value_not_the_senders() -> None:
    # The sender sent "evil" values; the edge (trusted, 10.0.0.7) appended the real ones; the
    # immediate peer (10.0.0.5) appended its own view of the edge's request.
    headers = [
        (b"x-forwarded-for", f"{CLIENT}, 10.0.0.7".encode()),
        (b"x-forwarded-host", b"evil.example, hooks.example.com, app.internal"),
        (b"x-forwarded-proto", b"http, https, http"),
    ]
    assert TRUSTED.of_scope(scope(headers=headers)) == "https://hooks.example.com/hooks/sms"


def test_headers_split_over_several_lines_are_one_list() -> None:
    headers = [
        (b"x-forwarded-for", CLIENT.encode()),
        (b"x-forwarded-for", b"10.0.0.7"),
        (b"x-forwarded-host", b"evil.example"),
        (b"x-forwarded-host", b"hooks.example.com"),
        (b"x-forwarded-host", b"app.internal"),
    ]
    assert TRUSTED.of_scope(scope(headers=headers)) == "http://hooks.example.com/hooks/sms"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        (b"x-forwarded-proto", b"gopher"),
        (b"x-forwarded-host", b"a/b"),
        (b"x-forwarded-host", b"example.com:0"),
        (b"x-forwarded-port", b"http"),
        (b"x-forwarded-port", b"70000"),
        (b"x-forwarded-prefix", b"no-slash"),
        (b"x-forwarded-prefix", b"/a b"),
        (b"x-forwarded-host", b"ex\x01ample"),
        (b"forwarded", b"proto=https;host"),
        (b"forwarded", b'host="unterminated'),
        (b"forwarded", b"proto=ftp"),
        (b"forwarded", b"host=a/b"),
    ],
)
def test_a_malformed_forwarded_header_from_a_trusted_proxy_is_a_400(
    name: bytes, value: bytes
) -> None:
    with pytest.raises(MalformedHeader) as refused:
        TRUSTED.of_scope(scope(headers=[(name, value)]))
    assert refused.value.status == 400
    assert refused.value.code == "malformed_header"
    # ... and the same header from an untrusted peer is not even read.
    assert TRUSTED.of_scope(scope(client=CLIENT, headers=[(name, value)])).startswith("http://")


def test_malformed_x_forwarded_header_in_wsgi_is_a_400_too() -> None:
    with pytest.raises(MalformedHeader):
        TRUSTED.of_environ(environ(HTTP_X_FORWARDED_PROTO="ftp"))


# -- trusted proxies: Forwarded (RFC 7239) ---------------------------------------------------------


def test_forwarded_is_preferred_to_x_forwarded() -> None:
    headers = [
        (b"forwarded", b'for=203.0.113.9;proto=https;host="hooks.example.com"'),
        (b"x-forwarded-host", b"other.example"),
    ]
    assert TRUSTED.of_scope(scope(headers=headers)) == "https://hooks.example.com/hooks/sms"


def test_forwarded_chain_stops_at_the_first_untrusted_for() -> None:
    # sender's forgery, then the edge's element (for = the sender), then an inner trusted hop.
    value = (
        b"for=10.0.0.1;host=evil.example;proto=http, "
        b"for=203.0.113.9;host=hooks.example.com;proto=https, "
        b'for="10.0.0.7";host=edge.internal;proto=http'
    )
    found = TRUSTED.of_scope(scope(headers=[(b"forwarded", value)]))
    assert found == "https://hooks.example.com/hooks/sms"


def test_forwarded_without_host_or_proto_keeps_the_requests() -> None:
    found = TRUSTED.of_scope(scope(headers=[(b"forwarded", b"for=203.0.113.9")]))
    assert found == "http://app.internal:8000/hooks/sms"


def test_forwarded_ipv6_nodes_and_obfuscated_ones() -> None:
    value = b'for="[::1]:4711";proto=http, for=_hidden;proto=https;host=x.example'
    # the rightmost element's for is _hidden (not an address): it describes the sender's request
    assert TRUSTED.of_scope(scope(headers=[(b"forwarded", value)])).startswith("https://x.example/")


def test_parse_forwarded_reads_quoted_strings_and_case() -> None:
    assert parse_forwarded('For="[2001:db8::1]:80";Proto=HTTPS, for=unknown') == [
        {"for": "[2001:db8::1]:80", "proto": "HTTPS"},
        {"for": "unknown"},
    ]
    assert parse_forwarded('host="a\\"b"') == [{"host": 'a"b'}]


@pytest.mark.parametrize(
    "value",
    ["", "for", "for=", "=x", "for=a;;", "for=a for=b", "for=a,", "for=a;for=b", "x=\u00e9"],
)
def test_parse_forwarded_refuses_anything_else(value: str) -> None:
    with pytest.raises(MalformedHeader):
        parse_forwarded(value)


def test_parse_forwarded_is_bounded() -> None:
    with pytest.raises(MalformedHeader, match="too many"):
        parse_forwarded(",".join(["for=a"] * 100))
    with pytest.raises(MalformedHeader):
        parse_forwarded("for=" + "a" * 9000)


def test_repr_names_the_configuration() -> None:
    assert "10.0.0.0/24" in repr(TRUSTED)
    assert "https://a.example" in repr(RequestURL(public_url="https://a.example"))
