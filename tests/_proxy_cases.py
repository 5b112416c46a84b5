"""A Twilio delivery (signed by the twilio SDK's own RequestValidator) to a public URL, sent
through the reverse proxy of tests/_reverse_proxy.py, or straight to a backend; shared by the
proxy end-to-end tests of every adapter (tests/test_proxy_e2e.py, and Django's in
tests/integrations/test_django_e2e.py)."""

from __future__ import annotations

import hashlib
import json
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

from _reverse_proxy import ProxyConfig, Style, reverse_proxy, send

TOKEN = "twilio-auth-token-for-e2e"
PUBLIC_HOST = "hooks.example.com"
PREFIX = "/public"
TARGET = "/twilio/sms?tenant=7&note=a%20b"
PARAMS = {"From": "+15551234567", "To": "+15557654321", "Body": "Hello from behind a proxy"}
BODY = urlencode(PARAMS).encode()
FORM = "application/x-www-form-urlencoded"


def twilio_headers(url: str, host: str) -> dict[str, str]:
    """What Twilio sends for ``url``: its SDK's signature over the URL and the sorted form."""
    signature = RequestValidator(TOKEN).compute_signature(url, PARAMS)
    return {"Host": host, "Content-Type": FORM, "X-Twilio-Signature": signature}


def body_sha(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def via_proxy(backend: int, style: Style = "x-forwarded") -> tuple[int, dict[str, str], bytes]:
    """Twilio's delivery to the public URL, through the proxy to ``backend``."""
    config = ProxyConfig(backend, style=style, prefix=PREFIX)
    headers = twilio_headers(f"https://{PUBLIC_HOST}{PREFIX}{TARGET}", PUBLIC_HOST)
    with reverse_proxy(config) as port:
        return send(port, "POST", PREFIX + TARGET, headers, BODY)


def spoofed(backend: int) -> tuple[int, dict[str, str], bytes]:
    """The same signed delivery sent straight to the backend (from 127.0.0.1, not the proxy),
    with the headers the proxy would have added: they must count for nothing."""
    headers = twilio_headers(f"https://{PUBLIC_HOST}{PREFIX}{TARGET}", f"127.0.0.1:{backend}")
    headers.update(
        {
            "X-Forwarded-For": "198.51.100.7",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": PUBLIC_HOST,
            "X-Forwarded-Prefix": PREFIX,
        }
    )
    return send(backend, "POST", TARGET, headers, BODY)


def direct(backend: int) -> tuple[int, dict[str, str], bytes]:
    """A delivery signed for the backend's own URL, sent straight to it."""
    host = f"127.0.0.1:{backend}"
    return send(backend, "POST", TARGET, twilio_headers(f"http://{host}{TARGET}", host), BODY)


def accepted(answer: tuple[int, dict[str, str], bytes]) -> None:
    status, _, body = answer
    assert status == 200, body
    assert json.loads(body) == {"sha": body_sha(BODY), "scheme": "twilio"}


def refused(answer: tuple[int, dict[str, str], bytes], status: int, code: str) -> None:
    found, headers, body = answer
    assert found == status, body
    assert headers["content-type"] == "application/problem+json"
    assert json.loads(body)["code"] == code
