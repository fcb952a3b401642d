"""Insert thousands of plain rows with one `executemany`.

`QuerySet.bulk_create` compiles every value of every row through the ORM: for the
10,000 document records of one station push, that compilation costs more than the
database itself. `insert_rows` prepares each column once (plain columns go as they
are, the others through their field's own `get_db_prep_save`) and lets the driver
loop. Same SQL types and defaults as the ORM; no signals, no primary keys returned,
no `save()`: for records written in bulk by services that own them.
"""

from __future__ import annotations

import functools
import json
import os
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.expressions import RawSQL

M = TypeVar("M", bound=models.Model)

# Fields whose Python value is already what every supported driver stores.
_PLAIN = (
    models.CharField,  # FileField is not one: it goes through its own preparation
    models.TextField,
    models.IntegerField,  # the small, positive and big variants derive from it
    models.BooleanField,
)


def _preparer(field: models.Field[Any, Any], db: BaseDatabaseWrapper) -> Callable[[Any], Any]:
    if isinstance(field, models.ForeignKey):
        return lambda value: value  # rows give `<name>_id`, the key itself
    if isinstance(field, _PLAIN) and not isinstance(field, models.FileField):
        return lambda value: value
    last: list[Any] = [object(), None]  # rows often share a value (a timestamp): once

    def prepare(value: Any) -> Any:
        if value is not last[0]:
            last[0], last[1] = value, field.get_db_prep_save(value, db)
        return last[1]

    return prepare


def _new_uuids(count: int) -> Iterator[uuid.UUID]:
    """`count` random (version 4) UUIDs, as uuid.uuid4 makes them, from one read of the
    system's random source instead of one each."""
    pool = os.urandom(16 * count)
    for start in range(0, 16 * count, 16):
        yield uuid.UUID(bytes=pool[start : start + 16], version=4)


def insert_rows(model: type[models.Model], rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT `rows` (attribute names: `dossier_id`, not `dossier`) into `model`'s table.

    A field a row leaves out takes its default (a callable default is called per row,
    as the ORM does). Integrity errors surface as Django's `IntegrityError`.
    """
    if not rows:
        return
    fields = [
        field
        for field in model._meta.concrete_fields
        if not (field.primary_key and isinstance(field, models.AutoField))
    ]
    db = connections[DEFAULT_DB_ALIAS]  # once: `connection` is a proxy looked up per use
    columns: list[tuple[str, Callable[[Any], Any], Any, bool]] = []
    for field in fields:
        default: Any = None
        per_row = False
        if field.has_default():
            per_row = callable(field.default)
            default = field.default if per_row else field.get_default()
            if field.default is uuid.uuid4:
                default = functools.partial(next, _new_uuids(len(rows)))
        elif not field.null and not isinstance(field, models.ForeignKey):
            default = field.get_default()  # "" for a blank text field
        columns.append((field.attname, _preparer(field, db), default, per_row))
    table = db.ops.quote_name(model._meta.db_table)
    names = ", ".join(db.ops.quote_name(str(field.column)) for field in fields)
    marks = ", ".join("%s" for _ in fields)
    sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608 - names from the model
    params = [
        [
            prepare(row[attname] if attname in row else default() if per_row else default)
            for attname, prepare, default, per_row in columns
        ]
        for row in rows
    ]
    with db.cursor() as cursor:
        cursor.executemany(sql, params)


def insert_objects(model: type[M], objects: Sequence[M], key: str) -> None:
    """INSERT unsaved instances with `insert_rows`, then give each its primary key, read
    back in one query by `key`, a unique field every instance has a value for.

    What `bulk_create` does for a model with many fields, without compiling each value
    through the ORM; like it, no `save()` and no signals.
    """
    if not objects:
        return
    fields = [
        field
        for field in model._meta.concrete_fields
        if not (field.primary_key and isinstance(field, models.AutoField))
    ]
    # pre_save, as bulk_create: auto_now dates are set, files committed
    insert_rows(model, [{f.attname: f.pre_save(obj, True) for f in fields} for obj in objects])
    unique = model._meta.get_field(key)
    assert isinstance(unique, models.Field), f"{key} is not a field of {model.__name__}"
    wanted = [unique.to_python(getattr(obj, key)) for obj in objects]
    found = dict(model._default_manager.filter(**{f"{key}__in": wanted}).values_list(key, "pk"))
    for obj, value in zip(objects, wanted, strict=True):
        obj.pk = found[value]
        obj._state.adding = False
        obj._state.db = DEFAULT_DB_ALIAS


def one_of(values: Sequence[str]) -> RawSQL:
    """The right side of `field__in=` for a long list of strings, as one parameter.

    Django binds and prepares each value of an `__in` list (thousands of hashes in a
    push); this passes one JSON array (SQLite) or one text array (PostgreSQL) that
    the database unpacks itself.
    """
    if connection.vendor == "postgresql":
        return RawSQL("SELECT unnest(%s::text[])", (list(values),))
    return RawSQL("SELECT value FROM json_each(%s)", (json.dumps(list(values)),))
