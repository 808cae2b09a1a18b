"""Errors shared by every channel and by the delivery layer.

A small hierarchy in the style of pywa's ``WhatsAppError``: exceptions carry data
(code, whether a retry can help, the provider's raw answer) so callers decide by
attribute, never by parsing messages.  Mapping errors to HTTP status codes happens
in exactly one place per web app (each channel's blueprint), not here.
"""
from __future__ import annotations

from typing import Any, Mapping, Optional


class ChannelError(Exception):
    """Base class of every error raised by a Majlis channel or the delivery layer."""


class SignatureError(ChannelError):
    """A webhook request carried no signature, or one that does not match its body."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.reason!r})"


class PayloadError(ChannelError):
    """A webhook body could not be read (not JSON, wrong content type, not an object)."""

    def __init__(self, reason: str, *, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.reason!r}, status={self.status})"


class ProviderAPIError(ChannelError):
    """A provider (Graph API, Twilio, ...) refused or failed a request.

    Args:
        code: the provider's error code (Graph ``error.code`` such as 131047, a
            Twilio error code, or the HTTP status when the body has none; 0 for
            network failures and timeouts).
        message: a short human-readable description, free of personal data.
        is_transient: True when the same request may succeed later (rate limits,
            5xx, timeouts); the delivery layer retries those with backoff.
        raw: the provider's decoded error body, kept for the failure record.
        http_status: the HTTP status of the answer, if there was one.
    """

    def __init__(
        self,
        code: int,
        message: str,
        is_transient: bool,
        raw: Optional[Mapping[str, Any]] = None,
        *,
        http_status: Optional[int] = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.is_transient = is_transient
        self.raw: Mapping[str, Any] = raw or {}
        self.http_status = http_status

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code}, message={self.message!r}, "
            f"is_transient={self.is_transient}, http_status={self.http_status})"
        )


class WindowClosedError(ProviderAPIError):
    """A free-form message was refused because the customer-service window is closed.

    WhatsApp Cloud reports it as 131047, Twilio as 63016.  Never transient: the
    delivery layer records it and sends the channel's approved template instead.
    """

    def __init__(
        self,
        code: int,
        message: str = "customer-service window closed",
        raw: Optional[Mapping[str, Any]] = None,
        *,
        http_status: Optional[int] = None,
    ) -> None:
        super().__init__(code, message, False, raw, http_status=http_status)


class MediaError(ChannelError):
    """A customer's or an agent's file could not be fetched, stored or sent (see the subclasses)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.reason!r})"


class MediaTooLarge(MediaError):
    """The file is larger than the configured limit (its bytes were not kept)."""


class MediaUnavailable(MediaError):
    """The channel cannot fetch this media (no provider reference, or no media support)."""
