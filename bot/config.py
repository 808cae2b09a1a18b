"""Settings read from the environment, in one place.

Modelled on starlette's ``Config``: the environment is injectable so tests pass
``Config(environ={...})`` instead of patching ``os.environ``.  Secrets are wrapped
in :class:`Secret`, whose ``repr`` never shows the value, so a stray log line or
traceback cannot leak a token.
"""
from __future__ import annotations

import os
from typing import Any, Callable, Mapping, Optional, TypeVar

T = TypeVar("T")

_UNSET: Any = object()


class ConfigError(Exception):
    """A required setting is missing or cannot be cast."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"{key}: {reason}")
        self.key = key
        self.reason = reason


class Secret:
    """A string whose value is hidden from ``repr`` and ``str``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def to_bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"not a boolean: {value!r}")


class Config:
    """Reads settings from a mapping (``os.environ`` unless one is given)."""

    def __init__(self, environ: Optional[Mapping[str, str]] = None) -> None:
        self.environ: Mapping[str, str] = os.environ if environ is None else environ

    def __call__(
        self,
        key: str,
        cast: Optional[Callable[[str], T]] = None,
        default: Any = _UNSET,
    ) -> Any:
        raw = self.environ.get(key)
        if raw is None or raw == "":
            if default is _UNSET:
                raise ConfigError(key, "is required but not set")
            return default
        if cast is None:
            return raw
        if cast is bool:
            cast = to_bool  # type: ignore[assignment]
        try:
            return cast(raw)  # type: ignore[misc]
        except (TypeError, ValueError) as exc:
            raise ConfigError(key, f"cannot be read as {getattr(cast, '__name__', cast)}: {exc}") from None


config = Config()
"""The process-wide configuration (reads ``os.environ`` at call time)."""


def data_dir(cfg: Config = config) -> str:
    """Where Majlis keeps its local files (SQLite databases); created on demand."""
    path = cfg("MAJLIS_DATA_DIR", default=os.path.join(os.getcwd(), "var"))
    os.makedirs(path, exist_ok=True)
    return path


def database_url(cfg: Config = config) -> str:
    """SQLAlchemy URL of Majlis' own store: SQLite by default, PostgreSQL in production."""
    return cfg("MAJLIS_DATABASE_URL", default=f"sqlite:///{os.path.join(data_dir(cfg), 'majlis.sqlite')}")


def positive(cast: Callable[[str], Any]) -> Callable[[str], Any]:
    """A ``cast=`` for :class:`Config` that also rejects zero and negative values."""

    def read(raw: str) -> Any:
        value = cast(raw)
        if value <= 0:
            raise ValueError("must be positive")
        return value

    read.__name__ = f"positive {getattr(cast, '__name__', cast)}"
    return read


def with_credentials(
    credentials: Optional[Mapping[str, Any]], key_map: Mapping[str, str], environ: Optional[Mapping[str, str]] = None
) -> Config:
    """The environment, overridden by the non-empty credentials.yml values of a channel.

    Args:
        credentials: the channel's section of credentials.yml (Rasa has already expanded ``${VAR}``).
        key_map: credentials key -> environment variable name.
        environ: the environment (``os.environ`` unless given).
    """
    import json

    merged: dict = dict(Config(environ).environ)
    for key, value in (credentials or {}).items():
        if key in key_map and value not in (None, ""):
            merged[key_map[key]] = value if isinstance(value, str) else json.dumps(value)
    return Config(merged)
