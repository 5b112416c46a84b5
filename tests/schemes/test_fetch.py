"""The production fetchers of the fetched-key schemes: https only, and no redirect followed
(a redirect could lead anywhere, and the host was checked on purpose)."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from _key_server import Route, key_server
from hookseal import ConfigurationError
from hookseal.schemes._fetch import _NoRedirect, https_get, https_post_json


@pytest.mark.parametrize("url", ["http://127.0.0.1:1/x.pem", "file:///etc/passwd", "ftp://x/y"])
def test_only_https_is_fetched(url: str) -> None:
    with pytest.raises(ConfigurationError):
        https_get(url)
    with pytest.raises(ConfigurationError):
        https_post_json(url, {"key_id": "k"})


def test_a_redirect_is_not_followed() -> None:
    with key_server() as server:
        server.routes["/moved.pem"] = Route(b"", 302, headers={"Location": "/elsewhere.pem"})
        server.routes["/elsewhere.pem"] = Route(b"reached")
        request = urllib.request.Request(server.base_url + "/moved.pem")  # noqa: S310
        with urllib.request.build_opener().open(request, timeout=5) as followed:
            assert followed.read() == b"reached"  # what urllib does unless told otherwise
        assert server.count("/elsewhere.pem") == 1
        opener = urllib.request.build_opener(_NoRedirect)
        with pytest.raises(urllib.error.HTTPError) as caught:
            opener.open(request, timeout=5)
        caught.value.close()
        assert caught.value.code == 302
        assert server.count("/elsewhere.pem") == 1  # not reached again
