"""The providers that differ only in data: one :class:`HeaderScheme` line each.

Each line states the provider's facts as its documentation (and official SDK, where one exists
and disagrees) gives them; the page is named in ``docs/providers/<name>.md`` and in the test
vector under ``tests/schemes/``. Adding a provider: one line here, one name in
:data:`hookseal.schemes.PROVIDERS`, one vector, one docs page.
"""

from __future__ import annotations

from ._record import HeaderScheme

__all__ = ["RECORDS"]

RECORDS: tuple[HeaderScheme, ...] = (
    # -- HMAC of the body -----------------------------------------------------------------------
    HeaderScheme("bitbucket", "X-Hub-Signature", label="sha256="),
    HeaderScheme("razorpay", "X-Razorpay-Signature"),
    HeaderScheme("paystack", "X-Paystack-Signature", algorithm="sha512"),
    HeaderScheme("xero", "x-xero-signature", encoding="base64"),
    HeaderScheme("typeform", "Typeform-Signature", label="sha256=", encoding="base64"),
    HeaderScheme("intercom", "X-Hub-Signature", label="sha1=", algorithm="sha1"),
    HeaderScheme("vercel", "x-vercel-signature", algorithm="sha1"),
    HeaderScheme("jira", "X-Hub-Signature", label="sha256="),
    HeaderScheme("lemonsqueezy", "X-Signature"),
    HeaderScheme("coinbase", "X-CC-Webhook-Signature"),
    HeaderScheme("woocommerce", "X-WC-Webhook-Signature", encoding="base64"),
    HeaderScheme("meta", "X-Hub-Signature-256", label="sha256="),
    HeaderScheme("pagerduty", "X-PagerDuty-Signature", label="v1=", several=True),
    # -- HMAC of a timestamp (and id) and the body ----------------------------------------------
    HeaderScheme(
        "paddle",
        "Paddle-Signature",
        fields=(";", "ts", "h1"),
        template="{timestamp}:",
        tolerance=5.0,  # paddle-python-sdk's Verifier: maximum_variance=5
    ),
    HeaderScheme(
        "zoom",
        "x-zm-signature",
        label="v0=",
        timestamp_header="x-zm-request-timestamp",
        template="v0:{timestamp}:",
    ),
    HeaderScheme(
        "calendly",
        "Calendly-Webhook-Signature",
        fields=(",", "t", "v1"),
        template="{timestamp}.",
        tolerance=180.0,  # Calendly's page: reject signatures older than three minutes
    ),
    HeaderScheme(
        "twitch",
        "Twitch-Eventsub-Message-Signature",
        label="sha256=",
        timestamp_header="Twitch-Eventsub-Message-Timestamp",
        id_header="Twitch-Eventsub-Message-Id",
        template="{id}{timestamp}",
        stamp="rfc3339",
        tolerance=600.0,  # Twitch's page: reject messages older than 10 minutes
    ),
    # -- public keys ----------------------------------------------------------------------------
    HeaderScheme(
        "discord",
        "X-Signature-Ed25519",
        key="ed25519",
        timestamp_header="X-Signature-Timestamp",
        template="{timestamp}",
    ),
    HeaderScheme(
        "sendgrid",
        "X-Twilio-Email-Event-Webhook-Signature",
        key="ecdsa",
        encoding="base64",
        timestamp_header="X-Twilio-Email-Event-Webhook-Timestamp",
        template="{timestamp}",
    ),
    # -- a shared token, not a signature ---------------------------------------------------------
    HeaderScheme("gitlab", "X-Gitlab-Token", key="token"),
    # Okta event hooks: the value configured as the hook's authScheme (header "Authorization"
    # by default; another name: HeaderScheme("okta", "X-Your-Header", key="token")).
    HeaderScheme("okta", "Authorization", key="token"),
)
