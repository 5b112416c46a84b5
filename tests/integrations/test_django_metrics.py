"""The Django decorator counts its own refusals through the verifier's observer (the other
adapters: tests/test_adapter_metrics.py)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from hookseal import Verifier, sign
from hookseal.integrations.django import verify_webhook

SECRET = "metrics-adapter-secret"
BODY = b'{"event":"counted"}'
LIMIT = 64


class Observer:
    def __init__(self) -> None:
        self.codes: list[str] = []
        self.accepted = 0

    def verified(self, scheme: str, secret_id: str) -> None:
        self.accepted += 1

    def refused(self, scheme: str, code: str) -> None:
        self.codes.append(code)


def meta(secret: str) -> dict[str, str]:
    return {"HTTP_" + k.upper().replace("-", "_"): v for k, v in sign(BODY, secret).items()}


def test_django_decorator_counts_its_own_refusals() -> None:
    observer = Observer()
    verifier = Verifier(SECRET, observer=observer)

    @verify_webhook(verifier=verifier, max_body_size=LIMIT)
    def hook(request: HttpRequest) -> HttpResponse:
        return HttpResponse("ok")

    factory = RequestFactory()
    headers = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in sign(BODY, SECRET).items()}
    big = factory.post(
        "/hooks", data=b"x" * (LIMIT + 1), content_type="application/json", **headers
    )
    assert hook(big).status_code == 413
    forged = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in sign(BODY, "no").items()}
    wrong = factory.post("/hooks", data=BODY, content_type="application/json", **forged)
    assert hook(wrong).status_code == 401
    right = factory.post("/hooks", data=BODY, content_type="application/json", **headers)
    assert hook(right).status_code == 200
    assert observer.codes == ["payload_too_large", "signature_mismatch"]
    assert observer.accepted == 1
