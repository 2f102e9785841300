"""Values a stream may not land (issue 18 item 6): each value lands typed or is quarantined.

`landing.py` checks a record's contract fields by JSON type (`streams.py`); this module holds
what a value of the right JSON type may still not be, because a later layer could not type it
or would carry it somewhere it breaks. Landing is append-only and the cursor moves on, so a
value that fails a later night's staging, a blocking check or the PostgreSQL copy fails every
later night too; here it costs one quarantine row whose reason names the field and the value
class instead:

| kind | quarantined as a bad value (the class in the reason) |
|---|---|
| `money` | a number that is not finite (`NaN`, `Infinity`) or does not fit DECIMAL(18, 3), staging's type (15 digits before the point); text that is not a number at all ("12,50") is a wrong type |
| `integral`, `integer` | outside BIGINT, what staging casts it to (`integer_text` beyond it is not an integer's text: a wrong type) |
| `number_text` | not finite |
| `iso` | a year before 1970 or from 2200 on, or a UTC offset beyond ±14:00 (DuckDB reads `+25:00` as a shift of a day and more) |
| (any record) | not valid JSON (a lone surrogate escape such as `\\ud800` has no UTF-8 form; DuckDB's JSON functions raise on it and would fail the whole page) |
| (any record) | a top-level field twice (`{"id": 1, "id": 2}`): DuckDB reads the first, Python and Spark the last |
| (any record) | a NUL character (`\\u0000`) in a value: PostgreSQL text cannot hold it, so the copy of the published warehouse would fail |

Everything else a vendor or file can send lands verbatim and stays inert: other control
characters, U+2028, emoji and right-to-left text, SQL and spreadsheet-formula text, 2 MB
strings. The functions return DuckDB SQL over a value's JSON (`value`) and its text
(`text`, `value ->> '$'`), evaluated on a whole page at once.
"""

from __future__ import annotations

MONEY_TYPE = "DECIMAL(18, 3)"
"""Amounts are typed so in staging (dbt macro `money_amount`): 15 digits before the point."""
YEAR_MIN, YEAR_MAX = 1970, 2199
"""Timestamps a vendor or file may send: the same span as unix seconds (`landing._UNIX_MAX`)."""
OFFSET_MAX_HOURS = 14

NUL_ESCAPE = r"(^|[^\\])(\\\\)*\\u0000"
"""A JSON text holding an escaped NUL (an even number of backslashes before `\\u0000`)."""
BAD_VALUE = "bad value: "
"""The prefix of a value's reason: the field, the check kind, the class, the value."""

_BAD_OFFSET = r"[T ][0-9:.]+[+-]((1[5-9]|[2-9][0-9])(:?[0-9]{2})?|[0-9]{2}:?[6-9][0-9])$"
"""An ISO-8601 text ending in a UTC offset over 14 hours, or with 60 minutes or more."""


def _number(text: str) -> str:
    return f"try_cast(trim({text}) as DOUBLE)"


def money_ok(value: str, text: str) -> str:
    """SQL: a present, non-null `value` has the type of money — a JSON number, or a string
    that is blank (absent) or holds a number."""
    return (
        f"(json_type({value}) in ('BIGINT', 'UBIGINT', 'DOUBLE') or (json_type({value}) = "
        f"'VARCHAR' and (trim({text}) = '' or {_number(text)} is not null)))"
    )


def value_class(kind: str, text: str) -> str | None:
    """SQL giving why a present, non-null value (text `text`) of a type that passes `kind`
    cannot land (a short class such as 'not finite'), or null when it can; None for kinds
    without such values. A value of the wrong type gives null here (its reason is the type)."""
    number = _number(text)
    if kind in ("money", "number_text"):
        # out of range: staging's own cast of the text fails (`money_amount`)
        decimal = f"try_cast(trim({text}) as {MONEY_TYPE})"
        too_large = f"when {number} is not null and {decimal} is null then 'out of range'"
        too_large *= kind == "money"
        return f"case when not isfinite({number}) then 'not finite' {too_large} end"
    if kind in ("integral", "integer"):
        return (
            f"case when isfinite({number}) and try_cast({number} as BIGINT) is null "
            "then 'out of BIGINT range' end"
        )
    if kind == "iso":
        # the year is the text's first four digits; only a text that is a timestamp is judged
        year = f"regexp_extract(trim({text}), '^([0-9]{{4}})-[0-9]', 1)"
        return (
            f"case when regexp_matches(trim({text}), '{_BAD_OFFSET}') "
            f"and try_cast(trim({text}) as TIMESTAMPTZ) is not null then 'offset out of range' "
            f"when {year} not between '{YEAR_MIN}' and '{YEAR_MAX}' "
            f"and try_cast(trim({text}) as TIMESTAMPTZ) is not null then 'year out of range' end"
        )
    return None


def bad_value_reason(name: str, kind: str, value: str, text: str, problem: str) -> str:
    """SQL of the reason for field `name` whose value class is `problem` (SQL, not null)."""
    return (
        f"'{BAD_VALUE}{name} should be {kind} (' || {problem} || '), got ' "
        f"|| left({value}::VARCHAR, 60)"
    )


def record_json(record: str) -> str:
    """SQL: the record text when it is valid JSON, else null (every JSON function of DuckDB
    raises on a lone surrogate escape; on null they return null)."""
    return f"case when json_valid({record}) then {record} end"


INVALID_JSON_REASON = (
    "record is not valid JSON (a lone surrogate escape such as \\ud800, or broken syntax)"
)


def nul_fields_sql(document: str, name: str) -> str:
    """A CTE `name`: per record (`row_number`) holding an escaped NUL, the top-level fields
    whose value holds one (comma-separated, in record order), read from `parsed`."""
    return f"""
        {name} as (
            select row_number, string_agg(field.key, ', ' order by field.id) as nul_fields
            from (select row_number, {document} as document from parsed
                  where contains(record, '\\u0000')
                    and regexp_matches(record, '{NUL_ESCAPE}')) as offending,
                 json_each(offending.document) as field
            where regexp_matches(field.value::VARCHAR, '{NUL_ESCAPE}')
            group by row_number
        )"""


def nul_reason(name: str) -> str:
    """SQL of the reason of a record with NUL characters (CTE `name` of `nul_fields_sql`)."""
    return (
        f"case when {name}.nul_fields is not null then "
        f"'{BAD_VALUE}' || {name}.nul_fields || ' (a NUL character, \\u0000)' end"
    )


def duplicate_fields_reason(keys: str) -> str:
    """SQL of the reason of a record whose top-level fields (`keys`, in record order) repeat a
    name: which of the values counts differs between parsers (DuckDB reads the first, Python and
    Spark the last), so the record has no one meaning."""
    repeated = f"list_distinct(list_filter({keys}, (k, i) -> list_position({keys}, k) < i))"
    return (
        f"case when len({keys}) <> len(list_distinct({keys})) then '{BAD_VALUE}field ' "
        f"|| array_to_string({repeated}, ', ') || ' appears more than once' end"
    )
