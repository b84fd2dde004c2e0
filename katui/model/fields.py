"""``__dataclass_fields__`` and a repr for the model's compiled classes, so that
:func:`dataclasses.replace`, ``fields`` and ``asdict`` work on them as on the dataclasses they
replace."""

from __future__ import annotations

import dataclasses


def dataclass_fields(names: tuple[str, ...]) -> dict[str, dataclasses.Field]:
    """The ``__dataclass_fields__`` of a class whose constructor takes ``names`` (all of them by
    keyword), made by the dataclass machinery itself on a stand-in class. The stand-in gets no
    generated methods (each would cost a ``compile`` at import): only its fields are kept."""
    stand_in = type("Fields", (), {"__annotations__": dict.fromkeys(names, "object")})
    return dataclasses.dataclass(stand_in, init=False, repr=False, eq=False).__dataclass_fields__


def fields_repr(obj: object, names: tuple[str, ...]) -> str:
    """``Name(field=value, ...)`` as a dataclass's repr says it."""
    return f"{type(obj).__name__}({', '.join(f'{name}={getattr(obj, name)!r}' for name in names)})"
