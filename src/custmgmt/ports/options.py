"""Options for one adapter, read and checked by the plugin that offers it.

An application passes them as ``Settings(plugins={"smtp": {"host": "mail.local"}})``
(by adapter name), on the command line as ``--option smtp.host=mail.local``, or, for a
storage back end, as query parameters of its URL (``mydb://host/crm?pool=5``). The
plugin reads them through ``PluginOptions`` so every problem is a ``ValidationError``
naming the option (``plugins.smtp.port``), and ``finish()`` refuses options it did
not read (a typo never passes silently).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Final, TypeVar
from urllib.parse import parse_qsl, urlsplit

from custmgmt.errors import ValidationError

OptionValue = str | int | float | bool | None
"""What an option may hold. Text from a URL or the command line is converted by the
typed readers (``"25"`` reads as the integer 25, ``"yes"`` as True)."""

T = TypeVar("T")


class _Missing:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Final = _Missing()
"""Default of an option that must be given."""

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def option_values(value: object, field: str) -> dict[str, OptionValue]:
    """A copy of ``value`` if it is a mapping of option names to scalar values."""
    if not isinstance(value, Mapping):
        raise ValidationError(field, "must be a mapping of option names to values")
    checked: dict[str, OptionValue] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not key.strip():
            raise ValidationError(field, "option names must be non-empty text")
        if item is not None and not isinstance(item, str | int | float | bool):
            raise ValidationError(f"{field}.{key}", "must be text, a number, true/false or "
                                  f"empty, not {type(item).__name__}")
        checked[key] = item
    return checked


class PluginOptions:
    """The options given to one adapter, with typed readers.

    ``name`` is the adapter's name; errors name the option as
    ``<prefix>.<option>`` (``plugins.smtp.port`` by default).
    """

    def __init__(self, name: str, values: Mapping[str, OptionValue] | None = None,
                 *, prefix: str | None = None) -> None:
        self.name = name
        self.prefix = f"plugins.{name}" if prefix is None else prefix
        self._values = option_values({} if values is None else values, self.prefix)
        self._read: set[str] = set()

    @classmethod
    def from_url(cls, name: str, url: str) -> PluginOptions:
        """The query parameters of a storage URL (``?pool=5&ssl=yes``) as options."""
        try:
            query = urlsplit(url).query
            pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
        except ValueError:
            raise ValidationError("url", "has a malformed query string") from None
        values: dict[str, OptionValue] = {}
        for key, value in pairs:
            if key in values:
                raise ValidationError(f"url.{key}", "is given twice")
            values[key] = value
        return cls(name, values, prefix="url")

    def __repr__(self) -> str:
        # Values may be secrets (passwords, keys): show the names only.
        return f"PluginOptions({self.name!r}, keys={sorted(self._values)!r})"

    def _field(self, key: str) -> str:
        return f"{self.prefix}.{key}"

    def _get(self, key: str, default: object) -> object:
        self._read.add(key)
        value = self._values.get(key)
        if value is None or value == "":
            if isinstance(default, _Missing):
                raise ValidationError(self._field(key), "is required")
            return default
        return value

    def text(self, key: str, default: str | _Missing | None = REQUIRED) -> str | None:
        """A string option; ``default`` (or ValidationError if REQUIRED) when absent."""
        value = self._get(key, default)
        if value is None:
            return None
        if not isinstance(value, str):
            raise ValidationError(self._field(key), "must be text")
        return value

    def required_text(self, key: str) -> str:
        """A string option that must be given."""
        value = self.text(key)
        if value is None:  # text() of a required option never returns None
            raise ValidationError(self._field(key), "is required")
        return value

    def integer(self, key: str, default: int | _Missing | None = REQUIRED, *,
                minimum: int | None = None, maximum: int | None = None) -> int | None:
        """A whole number option (text such as ``"25"`` is accepted), within bounds."""
        value = self._get(key, default)
        if value is None:
            return None
        if isinstance(value, str):
            try:
                value = int(value.strip(), 10)
            except ValueError:
                raise ValidationError(self._field(key), "must be a whole number") from None
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(self._field(key), "must be a whole number")
        if minimum is not None and value < minimum:
            raise ValidationError(self._field(key), f"must be at least {minimum}")
        if maximum is not None and value > maximum:
            raise ValidationError(self._field(key), f"must be at most {maximum}")
        return value

    def number(self, key: str, default: float | _Missing | None = REQUIRED, *,
               minimum: float | None = None) -> float | None:
        """A number option (``"2.5"`` is accepted)."""
        value = self._get(key, default)
        if value is None:
            return None
        if isinstance(value, str):
            try:
                value = float(value.strip())
            except ValueError:
                raise ValidationError(self._field(key), "must be a number") from None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValidationError(self._field(key), "must be a number")
        if not math.isfinite(value):
            raise ValidationError(self._field(key), "must be a finite number")
        if minimum is not None and value < minimum:
            raise ValidationError(self._field(key), f"must be at least {minimum}")
        return float(value)

    def boolean(self, key: str, default: bool | _Missing = REQUIRED) -> bool:
        """true/false (also ``"yes"``/``"no"``, ``"1"``/``"0"``, ``"on"``/``"off"``)."""
        value = self._get(key, default)
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise ValidationError(self._field(key), "must be true or false")

    def choice(self, key: str, choices: Iterable[str],
               default: str | _Missing = REQUIRED) -> str:
        """One of ``choices``."""
        allowed = tuple(choices)
        value = self._get(key, default)
        if not isinstance(value, str) or value not in allowed:
            raise ValidationError(self._field(key), "must be one of " + ", ".join(allowed))
        return value

    def path(self, key: str, default: Path | _Missing | None = REQUIRED) -> Path | None:
        """A file system path (not checked for existence)."""
        value = self._get(key, default)
        if value is None or isinstance(value, Path):
            return value
        if not isinstance(value, str):
            raise ValidationError(self._field(key), "must be a path")
        return Path(value)

    def finish(self) -> None:
        """Refuse every option that no reader asked for (most likely a typo)."""
        unknown = sorted(set(self._values) - self._read)
        if unknown:
            raise ValidationError(self._field(unknown[0]), "is not an option of "
                                  f"{self.name!r}" + (f" (also unknown: {', '.join(unknown[1:])})"
                                                      if unknown[1:] else ""))
