"""Insert thousands of plain rows with one `executemany`.

`QuerySet.bulk_create` compiles every value of every row through the ORM: for the
10,000 document records of one station push, that compilation costs more than the
database itself. `insert_rows` prepares each column once (plain columns go as they
are, the others through their field's own `get_db_prep_save`) and lets the driver
loop. Same SQL types and defaults as the ORM; no signals, no primary keys returned,
no `save()`: for records written in bulk by services that own them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from django.db import connection, models
from django.db.models.expressions import RawSQL

# Fields whose Python value is already what every supported driver stores.
_PLAIN = (
    models.CharField,  # FileField is not one: it goes through its own preparation
    models.TextField,
    models.IntegerField,  # the small, positive and big variants derive from it
    models.BooleanField,
)


def _preparer(field: models.Field[Any, Any]) -> Callable[[Any], Any]:
    if isinstance(field, models.ForeignKey):
        return lambda value: value  # rows give `<name>_id`, the key itself
    if isinstance(field, _PLAIN) and not isinstance(field, models.FileField):
        return lambda value: value
    last: list[Any] = [object(), None]  # rows often share a value (a timestamp): once

    def prepare(value: Any) -> Any:
        if value is not last[0]:
            last[0], last[1] = value, field.get_db_prep_save(value, connection)
        return last[1]

    return prepare


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
    columns: list[tuple[str, Callable[[Any], Any], Any, bool]] = []
    for field in fields:
        default: Any = None
        per_row = False
        if field.has_default():
            per_row = callable(field.default)
            default = field.default if per_row else field.get_default()
        elif not field.null and not isinstance(field, models.ForeignKey):
            default = field.get_default()  # "" for a blank text field
        columns.append((field.attname, _preparer(field), default, per_row))
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(str(field.column)) for field in fields)
    marks = ", ".join("%s" for _ in fields)
    sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608 - names from the model
    params = []
    for row in rows:
        values = []
        for attname, prepare, default, per_row in columns:
            if attname not in row:
                values.append(prepare(default() if per_row else default))
                continue
            values.append(prepare(row[attname]))
        params.append(values)
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def one_of(values: Sequence[str]) -> RawSQL:
    """The right side of `field__in=` for a long list of strings, as one parameter.

    Django binds and prepares each value of an `__in` list (thousands of hashes in a
    push); this passes one JSON array (SQLite) or one text array (PostgreSQL) that
    the database unpacks itself.
    """
    if connection.vendor == "postgresql":
        return RawSQL("SELECT unnest(%s::text[])", (list(values),))
    return RawSQL("SELECT value FROM json_each(%s)", (json.dumps(list(values)),))
