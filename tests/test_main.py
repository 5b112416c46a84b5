"""The command line, run in-process through main() and once as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hookseal import verify
from hookseal.__main__ import main

BODY = b'{"event":"invoice.paid","amount":4200}'


@pytest.fixture
def body_file(tmp_path: Path) -> Path:
    path = tmp_path / "body.json"
    path.write_bytes(BODY)
    return path


@pytest.fixture(autouse=True)
def secret_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBHOOK_SECRET", "s3cr3t")
    monkeypatch.setenv("OLD_SECRET", "0ld-s3cr3t")


def sign_headers(
    capsys: pytest.CaptureFixture[str], body_file: Path, *extra: str
) -> dict[str, str]:
    assert (
        main(
            [
                "sign",
                "--secret-env",
                "WEBHOOK_SECRET",
                "--body-file",
                str(body_file),
                "--json",
                *extra,
            ]
        )
        == 0
    )
    return dict(json.loads(capsys.readouterr().out))


@pytest.mark.parametrize(
    "scheme", ["signature", "github", "standard", "stripe", "slack", "shopify"]
)
def test_sign_prints_headers_that_verify(
    capsys: pytest.CaptureFixture[str], body_file: Path, scheme: str
) -> None:
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" if scheme == "standard" else "s3cr3t"
    assert (
        main(
            [
                "sign",
                "--secret",
                secret,
                "--scheme",
                scheme,
                "--body-file",
                str(body_file),
                "--json",
            ]
        )
        == 0
    )
    headers = json.loads(capsys.readouterr().out)
    assert verify(BODY, headers, secret, scheme=scheme).scheme == scheme


def test_sign_plain_output_is_header_lines(
    capsys: pytest.CaptureFixture[str], body_file: Path
) -> None:
    assert (
        main(
            [
                "sign",
                "--secret-env",
                "WEBHOOK_SECRET",
                "--scheme",
                "github",
                "--body-file",
                str(body_file),
            ]
        )
        == 0
    )
    line = capsys.readouterr().out.strip()
    name, _, value = line.partition(": ")
    assert name == "X-Hub-Signature-256"
    assert verify(BODY, {name: value}, "s3cr3t", scheme="github")


def test_verify_explains_success_and_names_the_secret(
    capsys: pytest.CaptureFixture[str], body_file: Path
) -> None:
    headers = sign_headers(capsys, body_file, "--scheme", "stripe")
    code = main(
        [
            "verify",
            "--scheme",
            "stripe",
            "--secret-env",
            "OLD_SECRET",
            "--secret-env",
            "WEBHOOK_SECRET",
            "--body-file",
            str(body_file),
            "-H",
            f"Stripe-Signature: {headers['Stripe-Signature']}",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "result: VERIFIED" in out
    assert "no match" in out
    assert "MATCHED" in out
    assert "s3cr3t" not in out


def test_verify_explains_timestamp_skew(
    capsys: pytest.CaptureFixture[str], body_file: Path
) -> None:
    headers = sign_headers(capsys, body_file, "--scheme", "slack", "--timestamp", "1000000")
    hdr_args = [a for k, v in headers.items() for a in ("-H", f"{k}: {v}")]
    code = main(
        [
            "verify",
            "--scheme",
            "slack",
            "--secret-env",
            "WEBHOOK_SECRET",
            "--body-file",
            str(body_file),
            "--now",
            "1000900",
            *hdr_args,
        ]
    )
    out = capsys.readouterr().out
    assert code == 1
    assert "900 s old; tolerance 300 s" in out
    assert "timestamp_too_old" in out


def test_verify_reports_a_missing_header(
    capsys: pytest.CaptureFixture[str], body_file: Path
) -> None:
    code = main(
        [
            "verify",
            "--scheme",
            "github",
            "--secret-env",
            "WEBHOOK_SECRET",
            "--body-file",
            str(body_file),
        ]
    )
    out = capsys.readouterr().out
    assert code == 1
    assert "header X-Hub-Signature-256: MISSING" in out
    assert "missing_signature" in out


def test_verify_reads_a_headers_file_copied_from_a_log(
    capsys: pytest.CaptureFixture[str], body_file: Path, tmp_path: Path
) -> None:
    headers = sign_headers(capsys, body_file, "--scheme", "standard")
    log = tmp_path / "headers.txt"
    log.write_text(
        "POST /webhooks HTTP/1.1\nHost: example\n"
        + "".join(f"{k}: {v}\n" for k, v in headers.items())
    )
    code = main(
        [
            "verify",
            "--scheme",
            "standard",
            "--secret-env",
            "WEBHOOK_SECRET",
            "--body-file",
            str(body_file),
            "--headers-file",
            str(log),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "header webhook-id: present" in out
    assert "result: VERIFIED" in out


def test_tampered_body_is_refused(
    capsys: pytest.CaptureFixture[str], body_file: Path, tmp_path: Path
) -> None:
    headers = sign_headers(capsys, body_file)
    other = tmp_path / "other.json"
    other.write_bytes(BODY.replace(b"4200", b"9999"))
    code = main(
        [
            "verify",
            "--secret-env",
            "WEBHOOK_SECRET",
            "--body-file",
            str(other),
            "-H",
            f"Signature: {headers['Signature']}",
        ]
    )
    assert code == 1
    assert "signature_mismatch" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        ["sign", "--body-file", "x"],  # no secret
        ["sign", "--secret-env", "NOT_SET_ANYWHERE"],
        ["verify", "--secret", "s", "-H", "no colon here", "--body-file", "x"],
    ],
)
def test_usage_errors_exit_2(
    argv: list[str],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x").write_bytes(b"{}")
    assert main(argv) == 2
    assert "hookseal:" in capsys.readouterr().err


def test_missing_body_file_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["sign", "--secret", "s", "--body-file", str(tmp_path / "nope")]) == 2
    assert "nope" in capsys.readouterr().err


def test_generate_makes_usable_secrets(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", "--scheme", "standard"]) == 0
    whsec = capsys.readouterr().out.strip()
    assert whsec.startswith("whsec_")
    from hookseal import sign

    headers = sign(BODY, whsec, scheme="standard", timestamp=1700000000, message_id="msg_1")
    assert verify(BODY, headers, whsec, scheme="standard", now=1700000000)
    assert main(["generate", "--ed25519"]) == 0
    private, public = capsys.readouterr().out.split()
    signed = sign(BODY, private, scheme="standard", timestamp=1700000000, message_id="m")
    assert verify(BODY, signed, public, scheme="standard", now=1700000000)


def test_fingerprint_is_stable_and_hides_the_value(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fingerprint", "--secret-env", "WEBHOOK_SECRET"]) == 0
    first = capsys.readouterr().out.strip()
    assert main(["fingerprint", "--secret", "s3cr3t"]) == 0
    assert capsys.readouterr().out.strip() == first
    assert first.startswith("fp-")
    assert "s3cr3t" not in first


def test_schemes_lists_every_scheme(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schemes"]) == 0
    out = capsys.readouterr().out
    for header in (
        "X-Hub-Signature-256",
        "Stripe-Signature",
        "webhook-signature",
        "X-Slack-Signature",
        "X-Shopify-Hmac-Sha256",
        "Signature",
        "X-Twilio-Signature",
        "X-Signature-Ed25519",
    ):
        assert header in out
    listed = [line.split()[0] for line in out.splitlines()[3:] if line.strip()]
    assert len(listed) >= 30
    assert {"twilio", "square", "hubspot", "mailgun", "discord", "sendgrid", "gitlab"} <= set(
        listed
    )


def test_runs_as_a_module_in_a_real_process(body_file: Path) -> None:
    signed = subprocess.run(
        [sys.executable, "-m", "hookseal", "sign", "--secret-env", "WEBHOOK_SECRET"],
        input=BODY,
        capture_output=True,
        check=True,
    )
    header = signed.stdout.decode().strip()
    checked = subprocess.run(
        [
            sys.executable,
            "-m",
            "hookseal",
            "verify",
            "--secret-env",
            "WEBHOOK_SECRET",
            "-H",
            header,
        ],
        input=BODY,
        capture_output=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert b"VERIFIED" in checked.stdout


# -- pasted input (issue 10, item 8) and one whitespace rule (item 7) ------------------------------


def stripe_headers(capsys: pytest.CaptureFixture[str], body_file: Path) -> str:
    assert (
        main(
            [
                "sign",
                "--scheme",
                "stripe",
                "--secret-env",
                "WEBHOOK_SECRET",
                "--timestamp",
                "1700000000",
                "--body-file",
                str(body_file),
            ]
        )
        == 0
    )
    return capsys.readouterr().out


def verify_stripe(body_file: Path, headers_file: Path, *extra: str) -> int:
    return main(
        [
            "verify",
            "--scheme",
            "stripe",
            "--secret-env",
            "WEBHOOK_SECRET",
            "--body-file",
            str(body_file),
            "--headers-file",
            str(headers_file),
            *extra,
        ]
    )


def test_curl_verbose_headers_are_read_and_its_other_lines_reported(
    capsys: pytest.CaptureFixture[str], body_file: Path, tmp_path: Path
) -> None:
    """Before: '> Name: value' lines were ignored and the header reported missing."""
    header = stripe_headers(capsys, body_file).strip()
    pasted = tmp_path / "curl.txt"
    pasted.write_text(
        "*   Trying 127.0.0.1:8000...\n"
        "* Connected to 127.0.0.1 (127.0.0.1) port 8000\n"
        "> POST /webhooks/stripe HTTP/1.1\n"
        "> Host: 127.0.0.1:8000\n"
        f"> {header}\n"
        ">\n"
        "< HTTP/1.1 401 Unauthorized\n"
        "< content-type: application/problem+json\n"
    )
    code = verify_stripe(body_file, pasted, "--now", "1700000010")
    out = capsys.readouterr().out
    assert code == 0, out
    assert "header Stripe-Signature: present" in out
    assert "skipped 4 line(s) of curl -v output" in out


def test_a_line_that_is_not_a_header_is_reported_not_dropped(
    capsys: pytest.CaptureFixture[str], body_file: Path, tmp_path: Path
) -> None:
    header = stripe_headers(capsys, body_file).strip()
    pasted = tmp_path / "headers.txt"
    pasted.write_text(f"{header}\nStripe Signature t=1\n")
    assert verify_stripe(body_file, pasted, "--now", "1700000010") == 0
    assert "skipped (not a 'Name: value' request header): Stripe Signature t=1" in (
        capsys.readouterr().out
    )


@pytest.mark.parametrize(
    ("now", "age"),
    [
        ("2023-11-14T22:14:00Z", "40 s old"),
        ("2023-11-14T23:14:00+01:00", "40 s old"),
        ("1700000040", "40 s old"),
        ("1700000040.5", "40 s old"),
    ],
)
def test_now_takes_iso_8601_or_epoch_seconds(
    capsys: pytest.CaptureFixture[str], body_file: Path, tmp_path: Path, now: str, age: str
) -> None:
    headers = tmp_path / "headers.txt"
    headers.write_text(stripe_headers(capsys, body_file))
    assert verify_stripe(body_file, headers, "--now", now) == 0
    assert age in capsys.readouterr().out


@pytest.mark.parametrize(
    ("now", "message"),
    [
        ("1700000040000", "looks like milliseconds"),
        ("2023-11-14T22:14:00", "needs a timezone"),
        ("yesterday", "not an ISO-8601 time or epoch seconds"),
    ],
)
def test_a_bad_now_is_a_usage_error_that_says_why(
    capsys: pytest.CaptureFixture[str], body_file: Path, tmp_path: Path, now: str, message: str
) -> None:
    headers = tmp_path / "headers.txt"
    headers.write_text(stripe_headers(capsys, body_file))
    assert verify_stripe(body_file, headers, "--now", now) == 2
    assert message in capsys.readouterr().err


def test_a_millisecond_timestamp_is_named_as_such(
    capsys: pytest.CaptureFixture[str], body_file: Path, tmp_path: Path
) -> None:
    headers = tmp_path / "headers.txt"
    headers.write_text(stripe_headers(capsys, body_file).replace("t=1700000000", "t=1700000000000"))
    assert verify_stripe(body_file, headers, "--now", "1700000010") == 1
    assert "looks like milliseconds since the epoch" in capsys.readouterr().out


@pytest.mark.parametrize("value", [" s3cr3t", "s3cr3t\n", "\ts3cr3t \r\n"])
def test_the_cli_and_the_app_agree_on_whitespace_around_a_secret(
    capsys: pytest.CaptureFixture[str],
    body_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    value: str,
) -> None:
    """Before: the CLI stripped the secret and said VERIFIED; the app, given the same str,
    answered 401."""
    headers = sign_headers(capsys, body_file)  # signed with "s3cr3t"
    monkeypatch.setenv("PADDED_SECRET", value)
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text(value)
    for option in (["--secret-env", "PADDED_SECRET"], ["--secret-file", str(secret_file)]):
        argv = ["verify", *option, "--body-file", str(body_file)]
        argv += ["-H", f"Signature: {headers['Signature']}"]
        assert main(argv) == 0
        assert "VERIFIED" in capsys.readouterr().out
    assert verify(BODY, headers, value).secret_id == verify(BODY, headers, "s3cr3t").secret_id


def test_the_console_script_runs(body_file: Path) -> None:
    script = Path(sys.executable).with_name("hookseal")
    if not script.exists():
        pytest.skip("no hookseal console script beside this interpreter")
    done = subprocess.run([script, "--version"], capture_output=True, text=True, check=True)
    from hookseal import __version__

    assert done.stdout.strip() == f"hookseal {__version__}"
