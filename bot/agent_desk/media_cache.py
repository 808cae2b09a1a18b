"""Customer and agent files kept on disk for the desk's media proxy, deleted after a retention.

A customer's media is fetched from the provider once and then served from here
(providers' URLs expire, and each fetch costs a Graph/Twilio call); an agent's
upload is kept here until it has been sent and shown.  Files live under
``$MAJLIS_DATA_DIR/desk-media`` (``MAJLIS_DESK_MEDIA_DIR``), named by a key that
is a hash or a random id (never a customer's file name), each with a small JSON
sidecar (type, name, when stored).  :meth:`MediaCache.sweep` deletes files older
than ``MAJLIS_DESK_MEDIA_RETENTION_HOURS`` (default 72); the desk runs it hourly.

Writes go to a temporary file renamed into place, so a reader never sees half a file.
"""
from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable, Dict, Optional

from bot.config import Config, data_dir
from bot.delivery import utcnow
from bot.delivery.ports import MediaFile

logger = logging.getLogger(__name__)

DEFAULT_RETENTION = timedelta(hours=72)
KEY = re.compile(r"^[A-Za-z0-9_-]{16,128}$")


@dataclass(frozen=True, slots=True, kw_only=True)
class Stored:
    """A file in the cache with what was recorded about it."""

    media: MediaFile
    stored_at: datetime
    extra: Dict[str, Any]


class MediaCache:
    """Files by key under ``root``; ``retention`` after which :meth:`sweep` deletes them."""

    def __init__(self, root: Path, retention: timedelta = DEFAULT_RETENTION,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.root, self.retention, self.clock = Path(root), retention, clock

    @classmethod
    def from_config(cls, cfg: Config, clock: Callable[[], datetime] = utcnow) -> "MediaCache":
        root = cfg("MAJLIS_DESK_MEDIA_DIR", default="") or os.path.join(data_dir(cfg), "desk-media")
        hours = cfg("MAJLIS_DESK_MEDIA_RETENTION_HOURS", cast=float, default=DEFAULT_RETENTION.total_seconds() / 3600)
        return cls(Path(root), timedelta(hours=hours), clock)

    def _paths(self, key: str) -> tuple:
        if not KEY.match(key):
            raise ValueError("not a media key")
        return self.root / f"{key}.bin", self.root / f"{key}.json"

    def get(self, key: str) -> Optional[Stored]:
        """The file under ``key``; None when absent or past the retention."""
        data_path, meta_path = self._paths(key)
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            stored_at = datetime.fromisoformat(meta["stored_at"])
            content_type = str(meta["content_type"])
            data = data_path.read_bytes()
        except (OSError, ValueError, KeyError, TypeError):  # absent, half-deleted or unreadable: not cached
            return None
        if self.clock() - stored_at > self.retention:
            return None
        media = MediaFile(data=data, content_type=content_type, filename=meta.get("filename"))
        return Stored(media=media, stored_at=stored_at, extra=meta.get("extra") or {})

    def put(self, key: str, media: MediaFile, **extra: Any) -> None:
        """Store ``media`` under ``key`` (replacing what was there)."""
        data_path, meta_path = self._paths(key)
        self.root.mkdir(parents=True, exist_ok=True)
        meta = {"content_type": media.content_type, "filename": media.filename, "size": len(media.data),
                "stored_at": self.clock().isoformat(), "extra": extra}
        self._write(data_path, media.data)
        self._write(meta_path, json.dumps(meta, ensure_ascii=False).encode("utf-8"))

    def update(self, key: str, **extra: Any) -> None:
        """Add to the recorded ``extra`` of a stored file (no-op when it is gone)."""
        _data_path, meta_path = self._paths(key)
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        meta["extra"] = {**(meta.get("extra") or {}), **extra}
        self._write(meta_path, json.dumps(meta, ensure_ascii=False).encode("utf-8"))

    def _write(self, path: Path, data: bytes) -> None:
        handle, temporary = tempfile.mkstemp(dir=self.root, prefix=".tmp-")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def sweep(self) -> int:
        """Delete files past the retention; how many were deleted."""
        if not self.root.is_dir():
            return 0
        now, deleted = self.clock(), 0
        for meta_path in self.root.glob("*.json"):
            try:
                stored_at = datetime.fromisoformat(json.loads(meta_path.read_text(encoding="utf-8"))["stored_at"])
            except (OSError, ValueError, KeyError):
                stored_at = None
            if stored_at is None or now - stored_at > self.retention:
                meta_path.with_suffix(".bin").unlink(missing_ok=True)
                meta_path.unlink(missing_ok=True)
                deleted += 1
        if deleted:
            logger.info("Desk media: %d file(s) past the retention deleted", deleted)
        return deleted
