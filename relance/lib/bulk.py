"""What the bulk writers below the ORM share (relance.ledger.importers.bulk, relance.dunning.bulk)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from django.db.models import Field
from django.db.models.options import Options
from django.utils import timezone


def default_columns(meta: Options, given: Sequence[Field], connection, *, json_as_text: bool = False,
                    who: str = "the bulk writer") -> tuple[list[Field], tuple]:
    """The fields a caller does not give, and their defaults prepared once for the database.

    Rows then look exactly like rows the ORM would have written (auto_now fields set to now).
    With json_as_text, JSON defaults are dumped to text, like JSON values the caller gives as text.
    """
    now = timezone.now()
    rest, defaults = [], []
    for f in meta.concrete_fields:
        if f.primary_key or f in given:
            continue
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            value = now
        elif f.has_default() or f.null or f.empty_strings_allowed:
            value = f.get_default()
        else:
            raise TypeError(f"{meta.label}.{f.name} has no default: give it to {who}")
        rest.append(f)
        if json_as_text and f.get_internal_type() == "JSONField":
            defaults.append(json.dumps(value, ensure_ascii=False))
        else:
            defaults.append(f.get_db_prep_save(value, connection))
    return rest, tuple(defaults)
