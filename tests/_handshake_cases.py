"""The providers' endpoint handshakes as HTTP exchanges, for the end-to-end tests of every
adapter (tests/test_handshakes_e2e.py, tests/integrations/test_django_e2e.py).

Each case is a request as the provider sends it (or a forgery of one) and what the adapter must
answer. The app behind the adapter records every request it sees; a handshake must never reach
it, an ordinary delivery of the same provider must. The expected answers are computed here from
the providers' documented rules, not by hookseal.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from _reverse_proxy import send
from hookseal import sign
from hookseal.handshakes import MetaSubscription

SECRETS = {
    "zoom": "zoom-secret-token-e2e",
    "twitch": "twitch-eventsub-secret-e2e",
    "meta": "meta-app-secret-e2e",
    "xero": "xero-webhook-key-e2e",
    "okta": "okta-shared-secret-e2e",
}
META_VERIFY_TOKEN = "meta-verify-token-e2e"
SCHEMES = tuple(SECRETS)
TWITCH_TYPE = "Twitch-Eventsub-Message-Type"


def handshake_option(scheme: str) -> MetaSubscription | None:
    """What an adapter guarding ``scheme`` is given as ``handshake=`` (None: the default)."""
    return MetaSubscription(verify_token=META_VERIFY_TOKEN) if scheme == "meta" else None


Check = Callable[[dict[str, str], bytes], None]


@dataclass
class Case:
    name: str
    scheme: str
    method: str
    query: str
    headers: dict[str, str]
    body: bytes
    status: int
    reaches_app: bool
    check: Check | None = field(default=None, repr=False)


def _zoom_answer(token: str) -> Check:
    def check(headers: dict[str, str], body: bytes) -> None:
        assert headers["content-type"].startswith("application/json")
        expected = hmac.new(SECRETS["zoom"].encode(), token.encode(), hashlib.sha256).hexdigest()
        assert json.loads(body) == {"plainToken": token, "encryptedToken": expected}

    return check


def _text_answer(text: str) -> Check:
    def check(headers: dict[str, str], body: bytes) -> None:
        assert headers["content-type"].startswith("text/plain")
        assert body == text.encode()

    return check


def _okta_answer(challenge: str) -> Check:
    def check(headers: dict[str, str], body: bytes) -> None:
        assert headers["content-type"].startswith("application/json")
        assert json.loads(body) == {"verification": challenge}

    return check


def _no_body(headers: dict[str, str], body: bytes) -> None:
    assert body == b""
    assert headers.get("content-length", "0") == "0"
    assert "set-cookie" not in headers


def _problem(code: str) -> Check:
    def check(headers: dict[str, str], body: bytes) -> None:
        assert headers["content-type"] == "application/problem+json"
        assert json.loads(body)["code"] == code

    return check


def cases() -> list[Case]:
    """Every case, signed now (timestamps must be fresh)."""
    zoom_body = json.dumps(
        {
            "payload": {"plainToken": "qgg8vlvZRS6UYooatFL8Aw"},
            "event_ts": int(time.time() * 1000),
            "event": "endpoint.url_validation",
        }
    ).encode()
    zoom_event = b'{"event":"meeting.started","payload":{"object":{"id":"85746065432"}}}'
    twitch_body = b'{"challenge":"pogchamp-kappa-360noscope-vohiyo","subscription":{"id":"f1c2"}}'
    twitch_event = b'{"subscription":{"type":"channel.follow"},"event":{"user_id":"1337"}}'
    xero_body = (
        b'{"events":[],"firstEventSequence":0,"lastEventSequence":0,"entropy":"S0m3r4Nd0mt3xt"}'
    )
    xero_event = b'{"events":[{"resourceId":"r1","eventType":"UPDATE"}],"firstEventSequence":1}'
    meta_event = b'{"object":"page","entry":[{"id":"1","time":1}]}'
    meta_query = "hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token="
    okta_challenge = "Me_rShK8JHsTnbyYrWXCEoMGbM_zsZ6k0hLPZ_Pg"

    def signed(scheme: str, body: bytes, secret: str | None = None) -> dict[str, str]:
        return sign(body, secret or SECRETS[scheme], scheme=scheme)

    json_type = {"Content-Type": "application/json"}
    return [
        # Zoom: a signed endpoint.url_validation is answered; a forged one is refused.
        Case(
            "zoom validation",
            "zoom",
            "POST",
            "",
            {**signed("zoom", zoom_body), **json_type},
            zoom_body,
            200,
            False,
            _zoom_answer("qgg8vlvZRS6UYooatFL8Aw"),
        ),
        Case(
            "zoom forged validation",
            "zoom",
            "POST",
            "",
            {**signed("zoom", zoom_body, "not-the-secret"), **json_type},
            zoom_body,
            401,
            False,
            _problem("signature_mismatch"),
        ),
        Case("zoom event", "zoom", "POST", "", signed("zoom", zoom_event), zoom_event, 200, True),
        # Twitch: webhook_callback_verification echoes the challenge, after the signature.
        Case(
            "twitch verification",
            "twitch",
            "POST",
            "",
            {**signed("twitch", twitch_body), TWITCH_TYPE: "webhook_callback_verification"},
            twitch_body,
            200,
            False,
            _text_answer("pogchamp-kappa-360noscope-vohiyo"),
        ),
        Case(
            "twitch forged verification",
            "twitch",
            "POST",
            "",
            {
                **signed("twitch", twitch_body, "not-the-secret"),
                TWITCH_TYPE: "webhook_callback_verification",
            },
            twitch_body,
            401,
            False,
            _problem("signature_mismatch"),
        ),
        Case(
            "twitch notification",
            "twitch",
            "POST",
            "",
            {**signed("twitch", twitch_event), TWITCH_TYPE: "notification"},
            twitch_event,
            200,
            True,
        ),
        # Meta: the GET carries the verify token, compared; the POSTs are signed.
        Case(
            "meta subscribe",
            "meta",
            "GET",
            meta_query + META_VERIFY_TOKEN,
            {},
            b"",
            200,
            False,
            _text_answer("1158201444"),
        ),
        Case(
            "meta wrong verify token",
            "meta",
            "GET",
            meta_query + "guessed",
            {},
            b"",
            403,
            False,
            _problem("handshake_refused"),
        ),
        Case("meta event", "meta", "POST", "", signed("meta", meta_event), meta_event, 200, True),
        # Xero: intent to receive, 200 without a body for a good signature, 401 without one.
        Case(
            "xero intent to receive",
            "xero",
            "POST",
            "",
            signed("xero", xero_body),
            xero_body,
            200,
            False,
            _no_body,
        ),
        Case(
            "xero badly signed intent",
            "xero",
            "POST",
            "",
            signed("xero", xero_body, "not-the-key"),
            xero_body,
            401,
            False,
            _no_body,
        ),
        Case("xero event", "xero", "POST", "", signed("xero", xero_event), xero_event, 200, True),
        # Okta: the one-time verification GET, after its shared secret header is checked.
        Case(
            "okta verification",
            "okta",
            "GET",
            "",
            {"Authorization": SECRETS["okta"], "X-Okta-Verification-Challenge": okta_challenge},
            b"",
            200,
            False,
            _okta_answer(okta_challenge),
        ),
        Case(
            "okta verification without the secret",
            "okta",
            "GET",
            "",
            {"Authorization": "guessed", "X-Okta-Verification-Challenge": okta_challenge},
            b"",
            401,
            False,
            _problem("signature_mismatch"),
        ),
        Case(
            "okta event",
            "okta",
            "POST",
            "",
            {"Authorization": SECRETS["okta"], **json_type},
            b'{"eventType":"com.okta.event_hook","data":{"events":[]}}',
            200,
            True,
        ),
    ]


def exchange(port: int, case: Case, calls: list[str], path: str) -> None:
    """Send ``case`` to ``path`` and check the answer and whether the app saw it."""
    before = len(calls)
    target = path + ("?" + case.query if case.query else "")
    headers = {"Host": f"127.0.0.1:{port}", **case.headers}
    status, answer_headers, body = send(port, case.method, target, headers, case.body)
    assert status == case.status, (case.name, body)
    if case.check is not None:
        case.check(answer_headers, body)
    reached = len(calls) > before
    assert reached == case.reaches_app, case.name
    if case.reaches_app:
        assert body == b"app", (case.name, body)
        assert calls[-1] == f"{case.method} {path}"
