"""A source reading a file: JSON, TOML, or a plain file holding one secret.

The file is re-read only when it changed, judged by ``stat``: inode, device, size,
``mtime_ns`` and the fully resolved path. The resolved path is what catches a Kubernetes
secret volume update: the kubelet writes a new ``..<timestamp>`` directory and atomically
swaps the ``..data`` symlink to it, so the visible path stays the same while what it resolves
to changes (and the new file can have the same size and mtime as the old one).

``watch=True`` polls in a daemon thread and tells subscribers (the keyring) to refresh at once.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from collections.abc import Callable
from typing import Any, Literal

from ..errors import ConfigurationError
from ..secrets import Secret, SecretSet
from ._base import Fetched, SecretSource, SourceError, Subscribers, Unsubscribe
from ._parse import secret_set_from_document

__all__ = ["FileSource"]

logger = logging.getLogger("hookseal")

Format = Literal["auto", "json", "toml", "text"]
_Signature = tuple[str, int, int, int, int]  # realpath, device, inode, size, mtime_ns


class FileSource(SecretSource):
    """Secrets from ``path``. ``format="auto"`` picks by suffix: ``.json``, ``.toml``, anything
    else is a plain one-secret file (surrounding whitespace stripped, as secret files from
    ``kubectl create secret`` or ``echo`` often end in a newline)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        format: Format = "auto",
        *,
        watch: bool = False,
        poll_interval: float = 1.0,
        name: str | None = None,
    ) -> None:
        self.path = os.fspath(path)
        if format not in ("auto", "json", "toml", "text"):
            raise ConfigurationError("format must be 'auto', 'json', 'toml' or 'text'")
        if format == "auto":
            suffix = os.path.splitext(self.path)[1].lower()
            format = "json" if suffix == ".json" else "toml" if suffix == ".toml" else "text"
        if isinstance(poll_interval, bool) or not poll_interval > 0:
            raise ConfigurationError("poll_interval must be a positive number of seconds")
        if format == "toml":
            _toml()  # on Python 3.10 without the toml extra: fail here, naming it
        self.format: Format = format
        self.watch = watch
        self.poll_interval = float(poll_interval)
        self.name = name if name is not None else f"file:{self.path}"
        self._lock = threading.Lock()
        self._cached: tuple[_Signature, Fetched] | None = None
        self._subscribers = Subscribers(self.name)
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None

    # -- fetching -----------------------------------------------------------------------------

    def fetch(self) -> Fetched:
        signature = self._signature()
        with self._lock:
            cached = self._cached
        if cached is not None and cached[0] == signature:
            return cached[1]
        real = signature[0]
        try:
            with open(self.path, "rb") as handle:
                opened = os.fstat(handle.fileno())
                data = handle.read()
        except OSError as exc:
            raise SourceError(f"{self.name}: cannot read ({exc.strerror})") from None
        fetched = Fetched(self._parse(data))
        # The signature of what was actually read; a swap between stat and open only costs
        # one more read on the next fetch.
        read = (real, opened.st_dev, opened.st_ino, opened.st_size, opened.st_mtime_ns)
        with self._lock:
            self._cached = (read, fetched)
        return fetched

    def _signature(self) -> _Signature:
        try:
            real = os.path.realpath(self.path)
            st = os.stat(self.path)
        except FileNotFoundError:
            raise SourceError(f"{self.name}: no such file") from None
        except OSError as exc:
            raise SourceError(f"{self.name}: cannot stat ({exc.strerror})") from None
        return (real, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)

    def _parse(self, data: bytes) -> SecretSet:
        if self.format == "text":
            value = data.strip()
            if not value:
                raise SourceError(f"{self.name}: the file is empty")
            return SecretSet((Secret(value),))
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise SourceError(f"{self.name}: not UTF-8") from None
        document: Any
        if self.format == "json":
            try:
                document = json.loads(text)
            except json.JSONDecodeError as exc:
                raise SourceError(
                    f"{self.name}: not valid JSON (line {exc.lineno}, column {exc.colno})"
                ) from None
            except RecursionError:
                raise SourceError(f"{self.name}: JSON nested too deeply to read") from None
        else:
            toml = _toml()
            try:
                document = toml.loads(text)
            except toml.TOMLDecodeError:
                raise SourceError(f"{self.name}: not valid TOML") from None
        return secret_set_from_document(document, self.name)

    # -- watching -----------------------------------------------------------------------------

    def subscribe(self, callback: Callable[[], None]) -> Unsubscribe:
        """With ``watch=True``, call ``callback`` from a poll thread when the file changes."""
        if not self.watch:
            return super().subscribe(callback)
        unsubscribe = self._subscribers.add(callback)
        with self._lock:
            if self._watcher is None and not self._stop.is_set():
                # the baseline is taken now, not when the thread first runs: a change made
                # between subscribing and the thread's start must still be noticed
                self._watcher = threading.Thread(
                    target=self._poll,
                    args=(self._quiet_signature(),),
                    name=f"hookseal-watch-{self.path}",
                    daemon=True,
                )
                self._watcher.start()
        return unsubscribe

    def _poll(self, seen: _Signature | None) -> None:
        while not self._stop.wait(self.poll_interval):
            now = self._quiet_signature()
            if now == seen:
                continue
            seen = now
            self._subscribers.notify()

    def _quiet_signature(self) -> _Signature | None:
        try:
            return self._signature()
        except SourceError:
            return None  # gone for a moment (mid-swap): the next poll sees the new file

    def close(self) -> None:
        self._stop.set()
        watcher = self._watcher
        if watcher is not None and watcher is not threading.current_thread():
            watcher.join()


def _toml() -> Any:
    if sys.version_info >= (3, 11):
        import tomllib

        return tomllib
    from .._extras import require  # pragma: no cover - only on 3.10

    return require("tomli", extra="toml", what="reading TOML on Python 3.10")
