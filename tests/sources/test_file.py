"""FileSource: JSON, TOML and plain files, change detection (incl. the Kubernetes symlink swap),
watching, and rotation end to end through a Keyring and a Verifier."""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hookseal import Keyring, Secret, SignatureMismatch, Verifier
from hookseal.sources import FileSource, SourceError
from hookseal.testing import ManualClock, signed_request

WALL0 = 1_700_000_000.0


Clock = ManualClock


def write_json(path: Path, secrets: list[dict[str, Any]]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"secrets": secrets}))
    os.replace(tmp, path)  # atomic, like any careful writer


# -- formats -----------------------------------------------------------------------------------


def test_plain_file_is_one_stripped_secret(tmp_path: Path) -> None:
    path = tmp_path / "webhook"
    path.write_bytes(b"  s3cr3t-value\n")
    secrets = FileSource(path).fetch().secrets
    assert [s.reveal() for s in secrets] == [b"s3cr3t-value"]


def test_json_file_list_or_object(tmp_path: Path) -> None:
    listed = tmp_path / "a.json"
    listed.write_text(json.dumps(["one-value", {"id": "k1", "value": "two-value"}]))
    assert FileSource(listed).fetch().secrets.ids[1] == "k1"
    wrapped = tmp_path / "b.json"
    wrapped.write_text(json.dumps({"secrets": [{"id": "k2", "secret": "x-value"}]}))
    assert FileSource(wrapped).fetch().secrets.ids == ("k2",)


def test_toml_file_with_native_and_string_times(tmp_path: Path) -> None:
    path = tmp_path / "secrets.toml"
    path.write_text(
        "[[secrets]]\n"
        'id = "k2"\nvalue = "new-value"\nnot_before = 2026-01-01T00:00:00Z\n'
        "[[secrets]]\n"
        'id = "k1"\nsecret = "old-value"\nrotate_at = "2026-02-01T00:00:00Z"\n'
    )
    secrets = FileSource(path).fetch().secrets
    assert secrets.ids == ("k2", "k1")
    k1 = secrets.get("k1")
    assert k1 is not None
    assert k1.expires_at == dt.datetime(2026, 2, 1, tzinfo=dt.timezone.utc).timestamp()


def test_explicit_format_overrides_the_suffix(tmp_path: Path) -> None:
    path = tmp_path / "webhook"
    path.write_text(json.dumps([{"id": "k1", "value": "v-value"}]))
    assert FileSource(path, format="json").fetch().secrets.ids == ("k1",)


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("empty", b"\n \n", "empty"),
        ("bad.json", b'{"secrets": [', "JSON"),
        ("bad.toml", b"[[secrets]\nvalue = 'leaky-value'", "TOML"),
        (
            "naive.toml",
            b"[[secrets]]\nvalue = 'leaky-value'\nrotate_at = 2026-01-01T00:00:00\n",
            "timezone",
        ),
        ("latin.json", b'["\xff"]', "UTF-8"),
        ("deep.json", b"[" * 100_000, "JSON"),  # nested deeper than the json module can read
    ],
)
def test_bad_files_are_source_errors_without_values(
    tmp_path: Path, name: str, content: bytes, match: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(SourceError, match=match) as caught:
        FileSource(path).fetch()
    assert "leaky" not in str(caught.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file"):
        FileSource(tmp_path / "absent").fetch()


# -- change detection ----------------------------------------------------------------------


def test_unchanged_file_is_not_reread(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    write_json(path, [{"id": "k1", "value": "v-value"}])
    source = FileSource(path)
    first = source.fetch()
    assert source.fetch() is first
    write_json(path, [{"id": "k2", "value": "w-value"}])
    assert source.fetch().secrets.ids == ("k2",)


def test_same_size_same_mtime_rewrite_in_place_is_seen_by_inode_or_realpath(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.json"
    write_json(path, [{"id": "k1", "value": "aaaa-value"}])
    before = os.stat(path)
    source = FileSource(path)
    assert source.fetch().secrets.ids == ("k1",)
    write_json(path, [{"id": "k9", "value": "bbbb-value"}])  # same length
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert os.stat(path).st_size == before.st_size
    assert source.fetch().secrets.ids == ("k9",)


def kubernetes_volume(root: Path, stamp: str, content: str) -> Path:
    """Lay out a secret volume as the kubelet does: webhook -> ..data/webhook,
    ..data -> ..<stamp>/ (a real directory holding the files)."""
    payload = root / f"..{stamp}"
    payload.mkdir()
    (payload / "webhook").write_text(content)
    os.symlink(payload.name, root / "..data")
    os.symlink("..data/webhook", root / "webhook")
    return root / "webhook"


def swap_kubernetes_volume(root: Path, stamp: str, content: str, mtime_ns: int) -> None:
    """The kubelet's update: write a new timestamped directory, then atomically re-point
    ..data at it with a rename over the old symlink, then delete the old directory."""
    old = os.readlink(root / "..data")
    payload = root / f"..{stamp}"
    payload.mkdir()
    (payload / "webhook").write_text(content)
    os.utime(payload / "webhook", ns=(mtime_ns, mtime_ns))
    os.symlink(payload.name, root / "..data_tmp")
    os.replace(root / "..data_tmp", root / "..data")
    (root / old / "webhook").unlink()
    (root / old).rmdir()


def test_kubernetes_atomic_symlink_swap_is_detected(tmp_path: Path) -> None:
    path = kubernetes_volume(tmp_path, "2026_01_01_00_00_00.1", "first-secret\n")
    source = FileSource(path)
    first = source.fetch()
    assert [s.reveal() for s in first.secrets] == [b"first-secret"]
    mtime = os.stat(path).st_mtime_ns
    # same size and mtime: only the resolved path (and inode) tell the files apart
    swap_kubernetes_volume(tmp_path, "2026_01_01_00_05_00.2", "secnd-secret\n", mtime)
    assert os.path.realpath(path).endswith("..2026_01_01_00_05_00.2/webhook")
    assert [s.reveal() for s in source.fetch().secrets] == [b"secnd-secret"]


# -- watching --------------------------------------------------------------------------------


class Events:
    def __init__(self) -> None:
        self.names: list[str] = []
        self.cond = threading.Condition()

    def __call__(self, name: str, **fields: Any) -> None:
        with self.cond:
            self.names.append(name)
            self.cond.notify_all()

    def wait_for(self, name: str, count: int) -> None:
        with self.cond:
            assert self.cond.wait_for(lambda: self.names.count(name) >= count, timeout=10)


def _threads(prefix: str) -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith(prefix)]


def _until(condition: Callable[[], bool]) -> bool:
    pause = threading.Event()
    for _ in range(200):  # a failure bound of 10 s, never a timing
        if condition():
            return True
        pause.wait(0.05)
    return condition()


def test_watch_notifies_the_keyring_to_refresh_at_once(tmp_path: Path) -> None:
    path = kubernetes_volume(tmp_path, "1", "first-secret\n")
    events = Events()
    source = FileSource(path, watch=True, poll_interval=0.01)
    keyring = Keyring(source, refresh_interval=3600, cooldown=3600, on_event=events).start()
    try:
        # A notice that arrives while the start-up fetch's thread is still winding down is
        # served by a fetch "again" (no source_changed event): let that thread end first.
        assert _until(lambda: not _threads("hookseal-keyring"))
        swap_kubernetes_volume(tmp_path, "2", "second-secret\n", os.stat(path).st_mtime_ns)
        events.wait_for("fetched", 2)
        assert [s.reveal() for s in keyring.secret_set()] == [b"second-secret"]
        events.wait_for("source_changed", 1)  # reported after the fetch was launched
    finally:
        keyring.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("hookseal-")]


def test_without_watch_subscribe_never_calls_back(tmp_path: Path) -> None:
    path = tmp_path / "webhook"
    path.write_text("value-one")
    source = FileSource(path)
    unsubscribe = source.subscribe(lambda: pytest.fail("must not be called"))
    unsubscribe()
    assert not [t for t in threading.enumerate() if t.name.startswith("hookseal-watch")]


def test_keyring_keeps_last_good_while_the_file_is_gone(tmp_path: Path) -> None:
    mono = Clock(0.0)
    path = tmp_path / "webhook"
    path.write_text("value-one")
    with Keyring(FileSource(path), cooldown=0, monotonic=mono) as keyring:
        path.unlink()
        assert keyring.refresh_after_mismatch() is None
        assert [s.reveal() for s in keyring.secret_set()] == [b"value-one"]


# -- rotation end to end ---------------------------------------------------------------------


def test_rotation_end_to_end_no_valid_request_rejected_no_retired_one_accepted(
    tmp_path: Path,
) -> None:
    """The file is rotated while requests keep coming, on injected clocks: the sender moves to
    the new secret at once; stragglers still sign with the old one. Nothing valid is refused;
    nothing signed with the retired secret passes after rotate_at + leeway."""
    wall, mono = Clock(WALL0), Clock(0.0)
    leeway = 60.0
    path = tmp_path / "secrets.json"
    old = Secret("old-secret-value", id="k1")
    new = Secret("new-secret-value", id="k2")
    write_json(path, [{"id": "k1", "value": "old-secret-value"}])
    keyring = Keyring(
        FileSource(path), refresh_interval=60, cooldown=60, clock=wall, monotonic=mono
    ).start()
    verifier = Verifier(keyring, clock=wall, leeway=leeway)
    try:
        body, headers = signed_request({"n": 0}, old, now=wall.now)
        assert verifier.verify(body, headers).secret_id == "k1"

        rotate_at = WALL0 + 600
        write_json(
            path,
            [
                {"id": "k2", "value": "new-secret-value"},
                {"id": "k1", "value": "old-secret-value", "rotate_at": rotate_at},
            ],
        )
        accepted_old_after_deadline = 0
        refused_valid = 0
        for step in range(1, 40):  # 30 s steps through rotate_at + leeway and beyond
            body, headers = signed_request({"n": step}, new, now=wall.now)
            try:
                verifier.verify(body, headers)
            except SignatureMismatch:
                refused_valid += 1
            body, headers = signed_request({"n": step}, old, now=wall.now)
            old_valid = wall.now < rotate_at + leeway
            try:
                verifier.verify(body, headers)
                if not old_valid:
                    accepted_old_after_deadline += 1
            except SignatureMismatch:
                if old_valid:
                    refused_valid += 1
            if step == 25:  # the operator drops the retired secret from the file later on
                write_json(path, [{"id": "k2", "value": "new-secret-value"}])
            wall.advance(30)
            mono.advance(30)
        assert refused_valid == 0
        assert accepted_old_after_deadline == 0
        matches = keyring.stats().matches_by_secret_id
        assert matches["k2"] == 39
        assert matches["k1"] == 1 + 22  # the first request and steps 1..22 (t < rotate_at + 60)
    finally:
        keyring.close()
