"""An open set of codes: a `str` whose values are the ones registered, each with its
Chinese and English label. Categories and destinations are such sets, so that adding
one is one registry entry rather than an edit of an enum and of everything that
enumerates it.

    class Colour(Code): ...
    RED = Colour.register("red", "红", "red")
    Colour("red") is RED            # the registered instance
    Colour("blue")                  # ValueError: not registered
    list(Colour)                    # [RED], in registration order
    RED == "red", RED.value, RED.label_zh

Pydantic validates a field of such a type against the codes registered at the time,
and its JSON Schema lists them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar, Self

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic_core import core_schema


class _Registry(type):
    """Iterating the class (or `in`) goes over its registered members."""

    def __iter__(cls) -> Iterator[Any]:
        return iter(list(cls._members.values()))  # type: ignore[attr-defined]

    def __len__(cls) -> int:
        return len(cls._members)  # type: ignore[attr-defined]

    def __contains__(cls, value: object) -> bool:
        return str(value) in cls._members  # type: ignore[attr-defined]


class Code(str, metaclass=_Registry):
    _members: ClassVar[dict[str, Any]]
    label_zh: str
    label_en: str

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._members = {}

    def __new__(cls, value: object) -> Self:
        member = cls._members.get(str(value))
        if member is None:
            raise ValueError(f"{value!r} is not a {cls.__name__.lower()} this service knows")
        return member  # type: ignore[no-any-return]

    @classmethod
    def register(cls, code: str, label_zh: str, label_en: str) -> Self:
        """The member `code`; registering a code twice gives the same member."""
        if code in cls._members:
            return cls._members[code]  # type: ignore[no-any-return]
        member = str.__new__(cls, code)
        member.label_zh, member.label_en = label_zh, label_en
        cls._members[code] = member
        return member

    @classmethod
    def admit(cls, member: Self) -> Self:
        """Register `member` itself again (after `unregister`), so that it stays the one."""
        cls._members[member.value] = member
        return member

    @classmethod
    def unregister(cls, code: str) -> None:
        """For tests that register a member of their own."""
        cls._members.pop(code, None)

    @property
    def value(self) -> str:
        return str.__str__(self)

    def __str__(self) -> str:
        return str.__str__(self)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str.__str__(self)!r})"

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: type[Any], handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(
            cls,
            core_schema.str_schema(),
            serialization=core_schema.plain_serializer_function_ser_schema(str),
            ref=cls.__name__,
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        return {"type": "string", "enum": [str(m) for m in cls], "title": cls.__name__}
