"""``python -m hookseal``: sign a body, or explain why a delivery does or does not verify.

    python -m hookseal sign --scheme github --secret-env WEBHOOK_SECRET < body.json
    python -m hookseal verify --scheme stripe --secret-env WEBHOOK_SECRET \\
        -H 'Stripe-Signature: t=...,v1=...' --body-file body.json --now 2026-12-01T10:00:00Z
    python -m hookseal schemes
    python -m hookseal generate --scheme standard
    python -m hookseal rotate --kind integrator ...   # see hookseal.rotation.cli

Secrets come from environment variables (``--secret-env``) or files (``--secret-file``) so they
stay out of shell history and the process list; ``--secret`` exists for throwaway test values.
Surrounding whitespace is removed from each, as everywhere else in hookseal. Headers may be
pasted as ``Name: value`` lines, JSON, or ``curl -v`` output (``> Name: value``); lines that are
not request headers are reported, never dropped silently. ``verify`` explains a refusal with the
usual mistake behind it (see :mod:`hookseal.diagnose`).
Exit status: 0 verified (or done), 1 refused, 2 usage or set-up error.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import secrets as stdlib_secrets
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__, schemes
from .diagnose import diagnose
from .errors import ConfigurationError
from .secrets import Secret, SecretSet
from .sources._base import SourceError
from .sources._parse import parse_instant
from .verifier import sign

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except ConfigurationError as exc:
        print(f"hookseal: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(
            f"hookseal: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr
        )
        return 2


def _parser() -> argparse.ArgumentParser:
    invoked = Path(sys.argv[0]).stem if sys.argv and sys.argv[0] else ""
    parser = argparse.ArgumentParser(
        prog="hookseal" if invoked == "hookseal" else "python -m hookseal",
        description="Sign and verify webhooks; explain failures.",
    )
    parser.add_argument("--version", action="version", version=f"hookseal {__version__}")
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    p_sign = sub.add_parser("sign", help="print the headers that sign a body (a file, or stdin)")
    _secret_options(p_sign)
    _scheme_option(p_sign)
    p_sign.add_argument("--body-file", type=Path, help="the body (default: stdin)")
    p_sign.add_argument("--timestamp", type=int, help="signed timestamp (default: now)")
    p_sign.add_argument("--message-id", help="message id (Standard Webhooks)")
    p_sign.add_argument("--json", action="store_true", help="print the headers as JSON")
    p_sign.set_defaults(run=_run_sign)

    p_verify = sub.add_parser("verify", help="verify a delivery and explain the outcome")
    _secret_options(p_verify)
    _scheme_option(p_verify)
    p_verify.add_argument("--body-file", type=Path, help="the body (default: stdin)")
    p_verify.add_argument(
        "-H",
        "--header",
        action="append",
        default=[],
        metavar="'NAME: VALUE'",
        help="a request header (repeatable)",
    )
    p_verify.add_argument(
        "--headers-file",
        type=Path,
        help="request headers: a JSON object, 'Name: value' lines as copied from a log, or "
        "curl -v output ('> Name: value')",
    )
    p_verify.add_argument(
        "--now",
        help="verify as of this moment: ISO-8601 with a zone (2026-12-01T10:00:00Z) or epoch "
        "seconds (default: now); for a delivery copied from a log, the time it arrived",
    )
    p_verify.add_argument(
        "--tolerance",
        type=float,
        default=None,
        help="seconds a signed timestamp may be off (default: the scheme's own)",
    )
    p_verify.add_argument(
        "--url",
        help="the full URL the provider called, for the schemes that sign it (twilio, square, "
        "hubspot)",
    )
    p_verify.add_argument("--method", help="the request's method, for hubspot (default: POST)")
    p_verify.add_argument("--leeway", type=float, default=60.0)
    p_verify.set_defaults(run=_run_verify)

    p_schemes = sub.add_parser("schemes", help="list the schemes and the headers they read")
    p_schemes.set_defaults(run=_run_schemes)

    p_generate = sub.add_parser("generate", help="generate a new random secret")
    _scheme_option(p_generate)
    p_generate.add_argument(
        "--ed25519",
        action="store_true",
        help="Standard Webhooks v1a: print a whsk_ private key and its whpk_ public key",
    )
    p_generate.set_defaults(run=_run_generate)

    p_fp = sub.add_parser("fingerprint", help="print the ids (fingerprints) of secrets")
    _secret_options(p_fp)
    p_fp.set_defaults(run=_run_fingerprint)

    from .rotation.cli import add_parser as add_rotate  # `hookseal rotate`: rotation/cli.py

    add_rotate(sub)
    return parser


def _secret_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("secrets (at least one; repeatable)")
    group.add_argument(
        "--secret-env",
        action="append",
        default=[],
        metavar="VAR",
        help="read a secret from this environment variable",
    )
    group.add_argument(
        "--secret-file",
        action="append",
        default=[],
        type=Path,
        metavar="PATH",
        help="read a secret from this file",
    )
    group.add_argument(
        "--secret",
        action="append",
        default=[],
        metavar="VALUE",
        help="a secret on the command line (visible to other users: tests only)",
    )


def _scheme_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scheme",
        default="signature",
        choices=sorted(set(schemes.names())),
        help="header format (default: signature)",
    )


def _secrets(args: argparse.Namespace) -> SecretSet:
    found: list[Secret] = []
    for var in args.secret_env:
        value = os.environ.get(var, "")
        if not value.strip():
            raise ConfigurationError(f"environment variable {var} is not set or empty")
        found.append(Secret(value))  # str: stripped of surrounding whitespace, as everywhere
    for path in args.secret_file:
        value = path.read_text(encoding="utf-8")
        if not value.strip():
            raise ConfigurationError(f"secret file {path} is empty")
        found.append(Secret(value))
    found.extend(Secret(value) for value in args.secret)
    if not found:
        raise ConfigurationError("give a secret with --secret-env, --secret-file or --secret")
    return SecretSet(found)


def _body(path: Path | None) -> bytes:
    return path.read_bytes() if path is not None else sys.stdin.buffer.read()


def _run_sign(args: argparse.Namespace) -> int:
    headers = sign(
        _body(args.body_file),
        _secrets(args),
        scheme=args.scheme,
        timestamp=args.timestamp,
        message_id=args.message_id,
    )
    if args.json:
        print(json.dumps(headers, indent=2))
    else:
        for name, value in headers.items():
            print(f"{name}: {value}")
    return 0


_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_REQUEST_LINE = re.compile(r"[A-Z]+ \S+ HTTP/[0-9.]+")
_CURL_MARKS = ("<", "*", "{", "}")
_CURL_NOISE = "\0curl"


def _parse_header_lines(text: str, skipped: list[str]) -> list[tuple[str, str]]:
    """``Name: value`` lines, also as ``curl -v`` prints them (``> Name: value``).

    What is not a request header (curl's ``<`` response and ``*`` info lines, a request line,
    anything else) goes to ``skipped`` so the caller can say so: dropped silently, a pasted
    signature header would only be reported missing.
    """
    pairs = []
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith(">"):
            line = line[1:].strip()  # curl -v: "> Name: value" is what was sent
        elif line[:1] in _CURL_MARKS:
            skipped.append(_CURL_NOISE)  # curl -v's response (<) and info (*, {, }) lines
            continue
        if not line or _REQUEST_LINE.fullmatch(line):
            continue
        name, sep, value = line.partition(":")
        if not sep or not _HEADER_NAME.fullmatch(name.strip()):
            skipped.append(raw)
            continue
        pairs.append((name.strip(), value.strip()))
    return pairs


def _headers(args: argparse.Namespace) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    skipped: list[str] = []
    if args.headers_file is not None:
        text = args.headers_file.read_text(encoding="utf-8")
        try:
            data = json.loads(text)
        except ValueError:
            pairs.extend(_parse_header_lines(text, skipped))
        else:
            if not isinstance(data, dict):
                raise ConfigurationError("a JSON headers file must hold an object")
            pairs.extend((str(k), str(v)) for k, v in data.items())
    for line in args.header:
        found = _parse_header_lines(line, skipped)
        if not found:
            raise ConfigurationError(f"a header must look like 'Name: value', got {line!r}")
        pairs.extend(found)
    noise = skipped.count(_CURL_NOISE)
    if noise:
        print(f"skipped {noise} line(s) of curl -v output that are not request headers (<, *)")
    for line in skipped:
        if line != _CURL_NOISE:
            shown = line if len(line) <= 80 else line[:77] + "..."
            print(f"skipped (not a 'Name: value' request header): {shown}")
    return pairs


def _moment(text: str | None) -> float | None:
    """``--now``: epoch seconds or ISO-8601 with a zone; milliseconds are named as such."""
    if text is None:
        return None
    try:
        moment = parse_instant(text, what="--now")
    except SourceError as exc:
        raise ConfigurationError(str(exc)) from None
    if moment >= 1e12:
        raise ConfigurationError(
            f"--now {text.strip()} looks like milliseconds since the epoch; give seconds "
            f"({moment / 1000:.3f}) or an ISO-8601 time"
        )
    return moment


def _run_verify(args: argparse.Namespace) -> int:
    secret_set = _secrets(args)
    now = _moment(args.now)
    headers = _headers(args)
    body = _body(args.body_file)
    result = diagnose(
        body,
        headers,
        secret_set,
        scheme=args.scheme,
        now=now,
        tolerance=args.tolerance,
        leeway=args.leeway,
        url=args.url,
        method=args.method,
    )
    print(f"body: {len(body)} bytes")
    print(result.explain())
    return 0 if result.ok else 1


def _run_schemes(args: argparse.Namespace) -> int:
    aliases: dict[str, list[str]] = {}
    for alias, target in schemes.ALIASES.items():
        aliases.setdefault(target, []).append(alias)
    listed = schemes.schemes()
    print(f"{len(listed)} schemes (use the name as --scheme, scheme= or in settings)\n")
    print(f"{'scheme':14} {'proof':17} {'tolerance':10} headers")
    for scheme in listed:
        tolerance = f"{scheme.default_tolerance:g} s" if scheme.timestamped else "-"
        headers = ", ".join(scheme.header_names) or "(in the body)"
        extra = []
        if scheme.signs_request:
            extra.append("needs url=")
        if scheme.name in aliases:
            extra.append("also: " + ", ".join(sorted(aliases[scheme.name])))
        note = f"  [{'; '.join(extra)}]" if extra else ""
        print(f"{scheme.name:14} {schemes.family(scheme):17} {tolerance:10} {headers}{note}")
    return 0


def _run_generate(args: argparse.Namespace) -> int:
    if args.ed25519:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        from cryptography.hazmat.primitives.serialization import (
            Encoding,
            NoEncryption,
            PrivateFormat,
            PublicFormat,
        )

        private = Ed25519PrivateKey.generate()
        seed = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        print("whsk_" + base64.b64encode(seed).decode())
        print("whpk_" + base64.b64encode(public).decode())
        return 0
    raw = stdlib_secrets.token_bytes(32)
    if args.scheme in ("standard", "standardwebhooks", "standard-webhooks", "svix"):
        print("whsec_" + base64.b64encode(raw).decode())
    else:
        print(raw.hex())
    return 0


def _run_fingerprint(args: argparse.Namespace) -> int:
    for secret in _secrets(args):
        print(secret.id)
    return 0


if __name__ == "__main__":
    sys.exit(main())
