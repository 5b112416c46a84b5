"""hookseal.diagnose names the usual mistake behind a refused delivery, and never leaks the
expected signature (issue 10, items 6 and 8).

Each case makes one mistake on the sender's or the receiver's side; the diagnosis must name it
with the right finding code, and no output (explain(), repr, the CLI's) may contain the digest
that would have verified the body as given, in hex or base64, nor a secret value.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from hookseal import Secret, sign
from hookseal.__main__ import main
from hookseal._mistakes import scheme_key
from hookseal.diagnose import Diagnosis, diagnose
from hookseal.schemes import by_name
from hookseal.secrets import SecretsLike

NOW = 1_700_000_060
STAMP = 1_700_000_000
EVENT = {"id": "evt_1", "type": "invoice.paid", "amount": 4200, "note": "café/été"}
COMPACT = json.dumps(EVENT, separators=(",", ":"), ensure_ascii=False).encode()
STANDARD_SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


@dataclass(frozen=True)
class Case:
    """What the app verifies (body, headers, its secrets, scheme) and the finding expected."""

    body: bytes
    headers: dict[str, str]
    secrets: SecretsLike
    scheme: str
    code: str
    confirmed: bool = True
    now: float = NOW


def stripe(body: bytes, key: bytes | str = "whsec_test", stamp: int = STAMP) -> dict[str, str]:
    """Stripe's header as a sender with ``key`` as its raw HMAC key would build it."""
    raw = key.encode() if isinstance(key, str) else key
    digest = hmac.new(raw, f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {"Stripe-Signature": f"t={stamp},v1={digest}"}


def github(body: bytes, key: bytes) -> dict[str, str]:
    return {"X-Hub-Signature-256": "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()}


def standard_with_raw_key(body: bytes, key: bytes) -> dict[str, str]:
    digest = hmac.new(key, f"msg_1.{STAMP}.".encode() + body, hashlib.sha256).digest()
    return {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(STAMP),
        "webhook-signature": "v1," + base64.b64encode(digest).decode(),
    }


def reencoded(**options: object) -> bytes:
    return json.dumps(json.loads(COMPACT), **options).encode()  # type: ignore[arg-type]


SORTED = json.dumps(EVENT, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
PHP_STYLE = COMPACT.replace(b"/", b"\\/")
CRLF = b"line one\r\nline two\r\n"

CASES: dict[str, Callable[[], Case]] = {
    "json indented": lambda: Case(reencoded(indent=2), stripe(COMPACT), "whsec_test", "stripe",
                                  "body_reserialised"),
    "json spaced and escaped": lambda: Case(reencoded(), stripe(COMPACT), "whsec_test", "stripe",
                                            "body_reserialised"),
    "json slash unescaped": lambda: Case(COMPACT, stripe(PHP_STYLE), "whsec_test", "stripe",
                                         "body_reserialised"),
    "json keys reordered": lambda: Case(COMPACT, stripe(SORTED), "whsec_test", "stripe",
                                        "body_reserialised"),
    "json order lost": lambda: Case(SORTED, stripe(COMPACT), "whsec_test", "stripe",
                                    "body_maybe_reserialised", confirmed=False),
    "newline added": lambda: Case(COMPACT + b"\n", stripe(COMPACT), "whsec_test", "stripe",
                                  "body_trailing_newline"),
    "newline lost": lambda: Case(COMPACT, stripe(COMPACT + b"\n"), "whsec_test", "stripe",
                                 "body_trailing_newline"),
    "crlf to lf": lambda: Case(CRLF.replace(b"\r\n", b"\n"), stripe(CRLF), "whsec_test",
                               "stripe", "body_line_endings"),
    "sender secret with newline": lambda: Case(COMPACT, github(COMPACT, b"s3cr3t\n"), "s3cr3t",
                                               "github", "secret_whitespace"),
    "app bytes secret with space": lambda: Case(COMPACT, github(COMPACT, b"s3cr3t"),
                                                b"s3cr3t ", "github", "secret_whitespace"),
    "sender decodes base64": lambda: Case(
        COMPACT,
        github(COMPACT, base64.b64decode(STANDARD_SECRET.removeprefix("whsec_"))),
        STANDARD_SECRET, "github", "secret_encoding"),
    "sender decodes hex": lambda: Case(COMPACT, github(COMPACT, bytes.fromhex("00ff" * 16)),
                                       "00ff" * 16, "github", "secret_encoding"),
    "standard keyed on text": lambda: Case(
        COMPACT, standard_with_raw_key(COMPACT, STANDARD_SECRET.encode()), STANDARD_SECRET,
        "standard", "secret_encoding"),
    "whsec_ dropped by the sender": lambda: Case(COMPACT, stripe(COMPACT, "abc123"),
                                                 "whsec_abc123", "stripe", "secret_prefix"),
    "whsec_ dropped by the app": lambda: Case(COMPACT, stripe(COMPACT, "whsec_abc123"),
                                              "abc123", "stripe", "secret_prefix"),
    "another scheme": lambda: Case(COMPACT, stripe(COMPACT), "whsec_test", "signature",
                                   "other_scheme"),
    "milliseconds": lambda: Case(COMPACT, stripe(COMPACT, stamp=STAMP * 1000), "whsec_test",
                                 "stripe", "timestamp_milliseconds", confirmed=False),
    "too old": lambda: Case(COMPACT, stripe(COMPACT), "whsec_test", "stripe", "clock_skew",
                            now=STAMP + 900),
    "in the future": lambda: Case(COMPACT, stripe(COMPACT), "whsec_test", "stripe",
                                  "clock_skew", now=STAMP - 900),
    "secret retired": lambda: Case(COMPACT, stripe(COMPACT),
                                   [Secret("whsec_test", id="k1", expires_at=STAMP - 3600),
                                    Secret("whsec_new", id="k2")], "stripe", "secret_window"),
    "unknown secret": lambda: Case(COMPACT, stripe(COMPACT, "whsec_other"), "whsec_test",
                                   "stripe", "unknown_secret", confirmed=False),
}  # fmt: skip


def secret_values(secrets: SecretsLike) -> list[bytes]:
    items = secrets if isinstance(secrets, list) else [secrets]
    return [s.reveal() if isinstance(s, Secret) else Secret(s).reveal() for s in items]  # type: ignore[arg-type]


def forbidden(case: Case) -> list[str]:
    """Every encoding of a digest that would verify the body as given (under each scheme's
    signed prefix and each way of keying), and the secret values themselves."""
    prefixes = [b"", f"{STAMP}.".encode(), f"{STAMP * 1000}.".encode(),
                f"msg_1.{STAMP}.".encode(), f"v0:{STAMP}:".encode()]  # fmt: skip
    found: list[str] = []
    for value in secret_values(case.secrets):
        keys = {value, scheme_key(by_name("standard"), value) or value}
        for key in keys:
            for prefix in prefixes:
                digest = hmac.new(key, prefix + case.body, hashlib.sha256).digest()
                found += [digest.hex(), digest.hex().upper(), base64.b64encode(digest).decode(),
                          base64.urlsafe_b64encode(digest).decode().rstrip("=")]  # fmt: skip
        found.append(value.decode("utf-8", "replace").strip())
    return [f for f in found if f]


def run(case: Case) -> Diagnosis:
    return diagnose(case.body, case.headers, case.secrets, scheme=case.scheme, now=case.now)


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_usual_mistake_is_named(name: str) -> None:
    case = CASES[name]()
    diagnosis = run(case)
    assert not diagnosis.ok
    codes = [(f.code, f.confirmed) for f in diagnosis.findings]
    assert (case.code, case.confirmed) in codes, diagnosis.explain()
    if case.confirmed:
        assert diagnosis.cause is not None
        assert diagnosis.findings[0].confirmed  # confirmed ones come first
    text = diagnosis.explain()
    assert ("cause: " if case.confirmed else "hint: ") in text


@pytest.mark.parametrize("name", sorted(CASES))
def test_no_output_leaks_the_expected_signature_or_a_secret(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case = CASES[name]()
    diagnosis = run(case)
    outputs = [diagnosis.explain(), repr(diagnosis), *(str(f) for f in diagnosis.findings)]
    if all(isinstance(v, str) for v in secret_values(case.secrets)) and not isinstance(
        case.secrets, list
    ):
        body_file, headers_file = tmp_path / "body", tmp_path / "headers.json"
        body_file.write_bytes(case.body)
        headers_file.write_text(json.dumps(case.headers))
        value = case.secrets.decode() if isinstance(case.secrets, bytes) else str(case.secrets)
        code = main(["verify", "--scheme", case.scheme, "--secret", value, "--now",
                     str(case.now), "--body-file", str(body_file),
                     "--headers-file", str(headers_file)])  # fmt: skip
        captured = capsys.readouterr()
        assert code == 1
        outputs += [captured.out, captured.err]
    for output in outputs:
        for secret_thing in forbidden(case):
            assert secret_thing not in output, (name, output)


def test_a_verified_delivery_has_no_findings() -> None:
    headers = sign(COMPACT, "whsec_test", scheme="stripe", timestamp=STAMP)
    diagnosis = diagnose(COMPACT, headers, "whsec_test", scheme="stripe", now=NOW)
    assert diagnosis.ok
    assert diagnosis.findings == []
    assert diagnosis.cause is None
    assert "result: VERIFIED" in diagnosis.explain()


def test_other_scheme_points_at_the_scheme_that_verifies() -> None:
    case = CASES["another scheme"]()
    text = run(case).explain()
    assert "a Stripe-Signature header is present: try --scheme stripe" in text
    assert "with it the delivery verifies" in text


def test_a_matching_secret_outside_its_window_is_reported_as_such() -> None:
    text = run(CASES["secret retired"]()).explain()
    assert "secret k1: expired, would match, but is not valid now" in text


def test_milliseconds_are_named_as_such() -> None:
    text = run(CASES["milliseconds"]()).explain()
    assert "looks like milliseconds since the epoch (2023-11-14T22:13:20Z)" in text


def test_a_delivery_from_a_log_suggests_now() -> None:
    headers = sign(COMPACT, "whsec_test", scheme="stripe", timestamp=STAMP)
    text = diagnose(COMPACT, headers, "whsec_test", scheme="stripe").explain()
    assert "pass that time with --now" in text


def test_headers_in_any_accepted_shape() -> None:
    headers = stripe(COMPACT)
    pairs = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    assert diagnose(COMPACT, pairs, "whsec_test", scheme="stripe", now=NOW).ok


def test_a_scheme_that_signs_the_url_is_diagnosed_with_the_url() -> None:
    """The catalogue's request-signing schemes verify in the diagnosis when given the URL,
    and are refused with the reason when the URL differs (a proxy in between, say)."""
    url = "https://example.com/hooks/sms?x=1"
    body = b"From=%2B15550001111&Body=hi"
    headers = dict(sign(body, "twilio-token", scheme="twilio", url=url))
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    assert diagnose(body, headers, "twilio-token", scheme="twilio", url=url).ok
    refused = diagnose(body, headers, "twilio-token", scheme="twilio", url=url + "&y=2")
    assert not refused.ok
    assert refused.error is not None
    assert refused.error.code == "signature_mismatch"


def test_another_catalogue_scheme_is_named_even_when_it_is_a_data_record() -> None:
    """The 'try --scheme X' hint looks at every scheme of the catalogue by name (the data
    records share one class), skipping those that need a URL nobody gave."""
    body = b'{"event": "charge.success"}'
    headers = sign(body, "sk_paystack", scheme="paystack")
    found = diagnose(body, headers, "sk_paystack")
    assert not found.ok
    assert any("--scheme paystack" in f.message and f.confirmed for f in found.findings)


def test_no_scheme_is_suggested_when_its_proof_is_absent_too() -> None:
    """A delivery with no signature at all gets no 'try --scheme X' hint for a scheme whose
    proof would sit in the body (mailgun, linear): that proof is missing as well."""
    found = diagnose(b'{"event": "x"}', {"Content-Type": "application/json"}, "s3cr3t")
    assert not found.ok
    assert not [f for f in found.findings if "--scheme" in f.message]


@pytest.mark.parametrize("skew", [400.6, -897.6])
def test_the_refusal_and_its_cause_give_the_same_number_of_seconds(skew: float) -> None:
    """The refusal says ``int(skew)`` s; the timestamp line and the cause must not round the
    same skew to one second more (a newcomer saw "897 s in the future" over "898 s ahead")."""
    diagnosis = diagnose(COMPACT, stripe(COMPACT), "whsec_test", scheme="stripe", now=STAMP + skew)
    seconds = int(abs(skew))
    assert diagnosis.error is not None
    assert f"{seconds} s" in str(diagnosis.error.detail)
    assert diagnosis.cause is not None
    assert diagnosis.cause.code == "clock_skew"
    assert f"is {seconds} s " in diagnosis.cause.message
    assert f"{seconds - 300} s beyond" in diagnosis.cause.message
    assert f"({seconds} s " in diagnosis.explain()


def test_schemes_of_one_format_are_named_in_one_finding() -> None:
    """GitHub's header is also Meta's: one finding naming both, not two rival causes; and "an
    X-Hub-Signature-256 header", not "a X-..." (both seen by a newcomer)."""
    headers = github(COMPACT, b"gh-secret")
    diagnosis = diagnose(COMPACT, headers, "gh-secret")
    others = [f for f in diagnosis.findings if f.code == "other_scheme"]
    assert len(others) == 1, others
    assert others[0].confirmed
    assert others[0].message.startswith("an X-Hub-Signature-256 header is present: ")
    message = others[0].message
    assert 'try --scheme github (or meta: the same format; scheme="github" in code)' in message
    assert "with it the delivery verifies" in message
