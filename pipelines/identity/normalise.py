"""Normalising identifier values and guarding against junk: pure Polars expressions.

`normalise_identifiers` is the one normalisation used everywhere, by the stitcher and by the
evaluation against ground truth (which holds identifiers in their exact export form).
`guard_identifiers` adds the reason an identifier is not a person identifier (or null).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from pipelines.identity.columnar import order_by
from pipelines.identity.rules import WHITESPACE, IdentityRules

KIND = "identifier_kind"
VALUE = "identifier_value"
BLOCK_REASON = "block_reason"
BLOCK_REASONS = (
    "junk_value",
    "invalid_value",
    "test_address",
    "blocked_pattern",
    "generic_mailbox",
)


LOCAL = "__identity_local"
DOMAIN = "__identity_domain"


def _kind_expression(rules: IdentityRules, kind: str, value: pl.Expr) -> pl.Expr:
    """The kind's own steps (trim, lower, digits); e-mail provider rules follow (`_email_rules`)."""
    for step in rules.kinds[kind].normalise:
        if step == "trim":
            value = value.str.strip_chars(WHITESPACE)
        elif step == "lower":
            value = value.str.to_lowercase()
        elif step == "digits":
            value = value.str.replace_all(r"[^0-9]", "")
    return value


def _email_rules(frame, rules: IdentityRules, is_email: pl.Expr):
    """E-mail provider rules on the trimmed, lower-cased VALUE of the rows `is_email`.

    The local part and domain are columns computed once, each rule a step on them; values
    without exactly one "@" pass unchanged.
    """
    value = pl.col(VALUE)
    local, domain = pl.col(LOCAL), pl.col(DOMAIN)
    frame = frame.with_columns(
        value.str.extract(r"^([^@]*)@[^@]*$", 1).alias(LOCAL),
        value.str.extract(r"^[^@]*@([^@]*)$", 1).alias(DOMAIN),
    )
    if rules.domain_aliases:
        frame = frame.with_columns(domain.replace(rules.domain_aliases).alias(DOMAIN))
    plus = rules.strip_plus_tag
    if plus == "all":
        frame = frame.with_columns(local.str.replace(r"\+.*$", "").alias(LOCAL))
    elif isinstance(plus, tuple) and plus:
        frame = frame.with_columns(
            pl.when(domain.is_in(list(plus)))
            .then(local.str.replace(r"\+.*$", ""))
            .otherwise(local)
            .alias(LOCAL)
        )
    if rules.dot_insensitive_domains:
        frame = frame.with_columns(
            pl.when(domain.is_in(list(rules.dot_insensitive_domains)))
            .then(local.str.replace_all(".", "", literal=True))
            .otherwise(local)
            .alias(LOCAL)
        )
    return frame.with_columns(
        pl.when(is_email & local.is_not_null())
        .then(pl.concat_str([local, domain], separator="@"))
        .otherwise(value)
        .alias(VALUE)
    ).drop(LOCAL, DOMAIN)


def _by_kind(rules: IdentityRules, build) -> pl.Expr:
    """One `when(kind == k)` branch per configured kind; other kinds give null."""
    kinds = list(rules.kinds)
    expression = pl.when(pl.col(KIND) == kinds[0]).then(build(kinds[0]))
    for kind in kinds[1:]:
        expression = expression.when(pl.col(KIND) == kind).then(build(kind))
    return expression


def normalise_identifiers(frame: pl.DataFrame | pl.LazyFrame, rules: IdentityRules):
    """Replace `identifier_value` by its normalised form, per `identifier_kind`.

    Works on any frame holding `identifier_kind` and `identifier_value` (evidence, ground truth,
    an erasure list). Kinds the rules do not know get a null value.
    """
    frame = frame.with_columns(
        pl.col(KIND).cast(pl.String),
        _by_kind(rules, lambda kind: _kind_expression(rules, kind, pl.col(VALUE)))
        .cast(pl.String)
        .alias(VALUE),
    )
    if "email" in rules.kinds:
        frame = _email_rules(frame, rules, pl.col(KIND) == "email")
    return frame


def _guard_kind(rules: IdentityRules, kind: str) -> pl.Expr:
    """The reason a normalised identifier of `kind` is blocked, or null (the kind's junk rule)."""
    value = pl.col(VALUE)
    junk = rules.junk[kind]
    is_junk = value.is_null()
    if junk.values:
        is_junk = is_junk | value.str.to_lowercase().is_in(list(junk.values))
    if junk.repeated_character_min_length is not None:
        first = value.str.slice(0, 1)
        is_junk = is_junk | (
            (value.str.len_chars() >= junk.repeated_character_min_length)
            & (value.str.strip_chars(first) == "")
        )
    reason = pl.when(is_junk).then(pl.lit("junk_value"))
    pattern = rules.kinds[kind].valid_pattern
    if pattern:
        reason = reason.when(~value.str.contains(pattern)).then(pl.lit("invalid_value"))
    if junk.patterns:
        combined = "|".join(f"(?:{item})" for item in junk.patterns)
        label = "test_address" if kind == "email" else "blocked_pattern"
        reason = reason.when(value.str.contains(combined)).then(pl.lit(label))
    if kind == "email" and rules.generic_mailboxes:
        local = value.str.extract(r"^([^@]*)@", 1)
        reason = reason.when(local.is_in(list(rules.generic_mailboxes))).then(
            pl.lit("generic_mailbox")
        )
    return reason.otherwise(pl.lit(None, dtype=pl.String))


def guard_expression(rules: IdentityRules) -> pl.Expr:
    """The reason a normalised identifier is blocked, or null when it is a person identifier."""
    return _by_kind(rules, lambda kind: _guard_kind(rules, kind))


def normalise_and_guard(frame: pl.DataFrame, rules: IdentityRules) -> pl.DataFrame:
    """`normalise_identifiers` then `guard_identifiers`, one kind at a time; rows keep their order.

    The same expressions as the public functions, but each kind only runs its own steps (on a
    contiguous slice when the frame is already grouped by kind), evaluated lazily so that shared
    sub-expressions (an e-mail's local part and domain) are computed once. This matters on
    millions of distinct identifiers.
    """
    if frame.is_empty():
        return frame.with_columns(
            pl.lit(None, dtype=pl.String).alias(VALUE),
            pl.lit(None, dtype=pl.String).alias(BLOCK_REASON),
        )
    grouped = frame[KIND].is_sorted()
    order = None if grouped else order_by(frame[KIND])
    ordered = frame if grouped else frame[order]
    kinds = ordered[KIND]
    starts = np.flatnonzero(kinds.ne_missing(kinds.shift(1)).fill_null(True).to_numpy())
    stops = [*starts[1:], len(kinds)]
    parts = []
    for start, stop in zip(starts, stops, strict=True):  # one slice per kind (a handful)
        part = ordered.slice(int(start), int(stop - start))
        kind = part[KIND][0]
        kind = None if kind is None else str(kind)
        if kind not in rules.kinds:
            parts.append(
                part.lazy().with_columns(
                    pl.lit(None, dtype=pl.String).alias(VALUE),
                    pl.lit(None, dtype=pl.String).alias(BLOCK_REASON),
                )
            )
            continue
        normalised = part.lazy().with_columns(
            _kind_expression(rules, kind, pl.col(VALUE)).cast(pl.String).alias(VALUE)
        )
        if kind == "email":
            normalised = _email_rules(normalised, rules, pl.lit(True))
        parts.append(normalised.with_columns(_guard_kind(rules, kind).alias(BLOCK_REASON)))
    # the kinds at once: each slice's string work runs on its own thread
    result = pl.concat(pl.collect_all(parts))
    if grouped:
        return result
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order), dtype=order.dtype)
    return result[inverse]


def guard_identifiers(frame: pl.DataFrame | pl.LazyFrame, rules: IdentityRules):
    """Add `block_reason` to a frame of normalised identifiers."""
    return frame.with_columns(guard_expression(rules).alias(BLOCK_REASON))
