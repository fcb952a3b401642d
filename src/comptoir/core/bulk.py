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
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.expressions import RawSQL
from django.utils import timezone

M = TypeVar("M", bound=models.Model)

# Fields whose Python value is already what every supported driver stores.
_PLAIN = (
    models.CharField,  # FileField is not one: it goes through its own preparation
    models.TextField,
    models.IntegerField,  # the small, positive and big variants derive from it
    models.BooleanField,
)


def _as_is(value: Any) -> Any:
    return value


def _preparer(field: models.Field[Any, Any], db: BaseDatabaseWrapper) -> Callable[[Any], Any]:
    if isinstance(field, models.ForeignKey):
        return _as_is  # rows give `<name>_id`, the key itself
    if isinstance(field, _PLAIN) and not isinstance(field, models.FileField):
        return _as_is
    if isinstance(field, models.FileField):  # a name: what FileField.get_prep_value does
        return lambda value: None if value is None else str(value)
    if isinstance(field, models.UUIDField):  # what UUIDField.get_db_prep_value does
        native = db.features.has_native_uuid_field

        def prepare_uuid(value: Any) -> Any:
            if value is None:
                return None
            if not isinstance(value, uuid.UUID):
                value = field.to_python(value)
            return value if native else value.hex

        return prepare_uuid
    last: list[Any] = [object(), None]  # rows often share a value (a timestamp): once

    def prepare(value: Any) -> Any:
        if value is not last[0]:
            last[0], last[1] = value, field.get_db_prep_save(value, db)
        return last[1]

    return prepare


def _new_uuids(count: int, native: bool) -> Iterator[uuid.UUID | str]:
    """`count` random (version 4) UUIDs, as uuid.uuid4 makes them, from one read of the
    system's random source instead of one each; ready for the database: UUIDs where it
    has the type, else their 32 hex digits (what Django stores), made without a UUID
    object each."""
    pool = bytearray(os.urandom(16 * count))
    for start in range(0, 16 * count, 16):
        pool[start + 6] = (pool[start + 6] & 0x0F) | 0x40  # version 4
        pool[start + 8] = (pool[start + 8] & 0x3F) | 0x80  # RFC 4122 variant
        raw = bytes(pool[start : start + 16])
        yield uuid.UUID(bytes=raw) if native else raw.hex()


def insert_rows(model: type[models.Model], rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT `rows` (attribute names: `dossier_id`, not `dossier`) into `model`'s table.

    A field a row leaves out takes its default (a callable default is called per row,
    as the ORM does). Integrity errors surface as Django's `IntegrityError`.
    """
    Insert(model, rows).run()


class Insert:
    """`insert_rows` in two steps: the values are prepared when it is made, without the
    database, and written by `run`. What needs no database can so be done before a write
    lock is taken; a column known only then (the keys of rows inserted just before) is
    given with `set`.
    """

    def __init__(self, model: type[models.Model], rows: Sequence[Mapping[str, Any]]) -> None:
        fields = [
            field
            for field in model._meta.concrete_fields
            if not (field.primary_key and isinstance(field, models.AutoField))
        ]
        self.db = db = connections[DEFAULT_DB_ALIAS]  # once: `connection` is a per-use proxy
        self.count = count = len(rows)
        # (attribute, preparer, default, called per row, the default's values are prepared)
        columns: list[tuple[str, Callable[[Any], Any], Any, bool, bool]] = []
        for field in fields:
            default: Any = None
            per_row = prepared = False
            if field.has_default():
                per_row = callable(field.default)
                default = field.default if per_row else field.get_default()
                if field.default is uuid.uuid4:
                    native = db.features.has_native_uuid_field
                    default = functools.partial(next, _new_uuids(count, native))
                    prepared = True
            elif not field.null and not isinstance(field, models.ForeignKey):
                default = field.get_default()  # "" for a blank text field
            columns.append((field.attname, _preparer(field, db), default, per_row, prepared))
        table = db.ops.quote_name(model._meta.db_table)
        names = ", ".join(db.ops.quote_name(str(field.column)) for field in fields)
        marks = ", ".join("%s" for _ in fields)
        self.sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608 - model names
        self._preparers = {attname: prepare for attname, prepare, *_rest in columns}
        self._index = {attname: index for index, (attname, *_rest) in enumerate(columns)}
        # Column by column (one loop per column, none per value for the plain ones), then
        # zipped into rows: for 10,000 rows this is a fraction of a loop over each value.
        self.values: list[list[Any]] = []
        # The columns every row gives, and those some row gives (set operations, in C:
        # not a test per row and column)
        every = set(rows[0]).intersection(*rows[1:]) if rows else set()
        some = set().union(*rows)
        for attname, prepare, default, per_row, prepared in columns:
            if attname in every:
                given = [row[attname] for row in rows]
                self.values.append(given if prepare is _as_is else list(map(prepare, given)))
            elif attname not in some and not per_row:
                self.values.append([prepare(default)] * count)
            else:
                self.values.append(
                    [
                        prepare(row[attname])
                        if attname in row
                        else default()
                        if prepared
                        else prepare(default() if per_row else default)
                        for row in rows
                    ]
                )

    def set(self, attname: str, values: Iterable[Any]) -> None:
        """Give column `attname` (`dossier_id`) its values, one per row, in row order."""
        given = list(values)
        if len(given) != self.count:
            raise ValueError(f"{len(given)} values for {self.count} rows")
        prepare = self._preparers[attname]
        self.values[self._index[attname]] = given if prepare is _as_is else [*map(prepare, given)]

    def run(self) -> None:
        if not self.count:
            return
        with self.db.cursor() as cursor:
            cursor.executemany(self.sql, list(zip(*self.values, strict=True)))


def object_rows(model: type[M], objects: Sequence[M]) -> list[dict[str, Any]]:
    """The rows of unsaved instances, for `insert_rows` or `Insert`: what `bulk_create`
    would write, its `pre_save` done (auto_now dates are set on the instances too)."""
    fields = [
        field
        for field in model._meta.concrete_fields
        if not (field.primary_key and isinstance(field, models.AutoField))
    ]
    # pre_save, as bulk_create: auto_now dates are set (one instant for the whole batch,
    # not a clock reading and a settings lookup per field of each instance), files
    # committed
    now = timezone.now()
    stamped = [
        f for f in fields if isinstance(f, models.DateTimeField) and (f.auto_now or f.auto_now_add)
    ]
    others = [f for f in fields if f not in stamped]
    rows = []
    for obj in objects:
        row = {f.attname: f.pre_save(obj, True) for f in others}
        for f in stamped:
            setattr(obj, f.attname, now)
            row[f.attname] = now
        rows.append(row)
    return rows


def give_keys(model: type[M], objects: Sequence[M], key: str) -> None:
    """Give inserted instances their primary keys, read back in one query by `key`, a
    unique field every instance has a value for."""
    if not objects:
        return
    unique = model._meta.get_field(key)
    assert isinstance(unique, models.Field), f"{key} is not a field of {model.__name__}"
    wanted = [unique.to_python(getattr(obj, key)) for obj in objects]
    if isinstance(unique, models.UUIDField):
        values: Any = one_of_uuids(wanted)
    elif isinstance(unique, (models.CharField, models.TextField)):
        values = one_of(wanted)
    else:
        values = wanted
    found = dict(model._default_manager.filter(**{f"{key}__in": values}).values_list(key, "pk"))
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


def one_of_uuids(values: Iterable[Any]) -> RawSQL:
    """`one_of` for a UUID field: UUIDs or their text; a text that is no UUID matches
    nothing (Django would refuse the whole query)."""
    parsed: list[uuid.UUID] = []
    for value in values:
        if isinstance(value, uuid.UUID):
            parsed.append(value)
            continue
        try:
            parsed.append(uuid.UUID(str(value)))
        except ValueError:
            continue
    if connection.vendor == "postgresql":
        return RawSQL("SELECT unnest(%s::uuid[])", ([str(u) for u in parsed],))
    return RawSQL("SELECT value FROM json_each(%s)", (json.dumps([u.hex for u in parsed]),))
