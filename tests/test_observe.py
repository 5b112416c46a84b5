"""An observed verifier keeps the whole Verifier API: url= and method= for the schemes that sign
the request (their pending verifications have another layout), finish(now=), and one count per
outcome. Before the fix, begin() on an observed Twilio verifier raised TypeError (layout) and
verify(url=...) a TypeError (unexpected keyword)."""

from __future__ import annotations

import asyncio
import time

import pytest

from hookseal import SignatureMismatch, Verifier, sign
from hookseal.errors import PayloadTooLarge
from hookseal.observe import count_refusal
from hookseal.schemes.mailgun import signed_body

URL = "https://example.com/twilio/sms?x=1"
BODY = b"From=%2B15551234567&Body=Hi"


class Observer:
    def __init__(self) -> None:
        self.events: list[str] = []

    def verified(self, scheme: str, secret_id: str) -> None:
        self.events.append(f"verified {scheme}")

    def refused(self, scheme: str, code: str) -> None:
        self.events.append(f"refused {code}")


@pytest.mark.parametrize("scheme", ["twilio", "hubspot", "mailgun", "signature"])
def test_every_call_of_an_observed_verifier_counts_once(scheme: str) -> None:
    observer = Observer()
    verifier = Verifier("tok", scheme=scheme, observer=observer)
    if scheme == "mailgun":  # the signature is in the body (a general, needs_body scheme)
        body = signed_body({"event": "delivered"}, "tok", timestamp=int(time.time()), token="t1")
        headers: dict[str, str] = {"Content-Type": "application/json"}
    else:
        body = BODY
        headers = sign(body, "tok", scheme=scheme, url=URL)
    verifier.verify(body, headers, url=URL, method="POST")
    pending = verifier.begin(headers, url=URL, method="POST")
    pending.update(body)
    pending.finish(now=None)

    async def flow() -> None:
        await verifier.averify(body, headers, url=URL, method="POST")
        started = await verifier.abegin(headers, url=URL, method="POST")
        started.update(body)
        await started.afinish()

    asyncio.run(flow())
    assert observer.events == [f"verified {scheme}"] * 4


def test_an_observed_refusal_counts_once_and_an_adapters_own_too() -> None:
    observer = Observer()
    verifier = Verifier("tok", scheme="twilio", observer=observer)
    with pytest.raises(SignatureMismatch) as refused:
        verifier.verify(BODY, sign(BODY, "other", scheme="twilio", url=URL), url=URL)
    count_refusal(verifier, refused.value)  # an adapter passing the verifier's error on
    count_refusal(verifier, PayloadTooLarge())  # an adapter's own refusal
    assert observer.events == ["refused signature_mismatch", "refused payload_too_large"]


def test_the_observed_verify_takes_exactly_verifier_verifys_parameters() -> None:
    """ObservedVerifier.verify spells its parameters out (the hot path); a parameter added to
    Verifier.verify and not here would be refused or dropped for observed verifiers."""
    import inspect

    from hookseal.verifier import Verifier as Base

    observed = type(Verifier("tok", observer=Observer()))
    assert observed is not Base
    mine = inspect.signature(observed.verify).parameters
    theirs = inspect.signature(Base.verify).parameters
    assert [(p.name, p.kind, p.default) for p in mine.values()] == [
        (p.name, p.kind, p.default) for p in theirs.values()
    ]


def test_an_observed_verifier_keeps_the_fused_check_of_the_default_scheme() -> None:
    """The fused check (C, or its Python twin) decides an observed verifier's requests too, and
    the observer is told once."""
    observer = Observer()
    verifier = Verifier("tok", observer=observer)
    assert verifier._fast is not None
    body = b'{"n": 1}'
    headers = sign(body, "tok")
    assert verifier._fast(verifier, body, headers) is not None  # decided, not declined
    assert verifier.verify(body, headers).scheme == "signature"
    assert observer.events == ["verified signature"]
