"""Normalising identifier values and guarding against junk: pure Polars expressions.

`normalise_identifiers` is the one normalisation used everywhere, by the stitcher and by the
evaluation against ground truth (which holds identifiers in their exact export form).
`guard_identifiers` adds the reason an identifier is not a person identifier (or null).
"""

from __future__ import annotations

import polars as pl

from pipelines.identity.rules import IdentityRules

KIND = "identifier_kind"
VALUE = "identifier_value"
BLOCK_REASON = "block_reason"


def _kind_expression(rules: IdentityRules, kind: str, value: pl.Expr) -> pl.Expr:
    for step in rules.kinds[kind].normalise:
        if step == "trim":
            value = value.str.strip_chars()
        elif step == "lower":
            value = value.str.to_lowercase()
        elif step == "digits":
            value = value.str.replace_all(r"[^0-9]", "")
    if kind == "email":
        value = _email_expression(rules, value)
    return value


def _email_expression(rules: IdentityRules, value: pl.Expr) -> pl.Expr:
    """Provider rules on a trimmed, lower-cased address (values without one "@" pass unchanged)."""
    local = value.str.extract(r"^([^@]*)@[^@]*$", 1)
    domain = value.str.extract(r"^[^@]*@([^@]*)$", 1)
    if rules.domain_aliases:
        domain = domain.replace(rules.domain_aliases)
    plus = rules.strip_plus_tag
    if plus == "all":
        local = local.str.replace(r"\+.*$", "")
    elif isinstance(plus, tuple) and plus:
        local = (
            pl.when(domain.is_in(list(plus))).then(local.str.replace(r"\+.*$", "")).otherwise(local)
        )
    if rules.dot_insensitive_domains:
        local = (
            pl.when(domain.is_in(list(rules.dot_insensitive_domains)))
            .then(local.str.replace_all(".", "", literal=True))
            .otherwise(local)
        )
    return (
        pl.when(local.is_not_null())
        .then(pl.concat_str([local, domain], separator="@"))
        .otherwise(value)
    )


def _by_kind(rules: IdentityRules, build) -> pl.Expr:
    """One `when(kind == k)` branch per configured kind; other kinds give null."""
    kinds = list(rules.kinds)
    expression = pl.when(pl.col(KIND) == kinds[0]).then(build(kinds[0]))
    for kind in kinds[1:]:
        expression = expression.when(pl.col(KIND) == kind).then(build(kind))
    return expression


def normalise_expression(rules: IdentityRules) -> pl.Expr:
    return _by_kind(rules, lambda kind: _kind_expression(rules, kind, pl.col(VALUE)))


def normalise_identifiers(frame: pl.DataFrame | pl.LazyFrame, rules: IdentityRules):
    """Replace `identifier_value` by its normalised form, per `identifier_kind`.

    Works on any frame holding `identifier_kind` and `identifier_value` (evidence, ground truth,
    an erasure list). Kinds the rules do not know get a null value.
    """
    return frame.with_columns(
        pl.col(KIND).cast(pl.String), normalise_expression(rules).cast(pl.String).alias(VALUE)
    )


def guard_expression(rules: IdentityRules) -> pl.Expr:
    """The reason a normalised identifier is blocked, or null when it is a person identifier."""
    value = pl.col(VALUE)
    first = value.str.slice(0, 1)
    repeated = (value.str.len_chars() >= rules.repeated_character_min_length) & (
        value.str.strip_chars(first) == ""
    )
    reason = pl.when(
        value.is_null() | value.str.to_lowercase().is_in(list(rules.blocked_values)) | repeated
    ).then(pl.lit("junk_value"))
    for kind, rule in rules.kinds.items():
        if rule.valid_pattern:
            reason = reason.when(
                (pl.col(KIND) == kind) & ~value.str.contains(rule.valid_pattern)
            ).then(pl.lit("invalid_value"))
    for kind, patterns in rules.blocked_patterns.items():
        if patterns:
            combined = "|".join(f"(?:{pattern})" for pattern in patterns)
            label = "test_address" if kind == "email" else "blocked_pattern"
            reason = reason.when((pl.col(KIND) == kind) & value.str.contains(combined)).then(
                pl.lit(label)
            )
    if rules.generic_mailboxes:
        local = value.str.extract(r"^([^@]*)@", 1)
        reason = reason.when(
            (pl.col(KIND) == "email") & local.is_in(list(rules.generic_mailboxes))
        ).then(pl.lit("generic_mailbox"))
    return reason.otherwise(pl.lit(None, dtype=pl.String))


def guard_identifiers(frame: pl.DataFrame | pl.LazyFrame, rules: IdentityRules):
    """Add `block_reason` to a frame of normalised identifiers."""
    return frame.with_columns(guard_expression(rules).alias(BLOCK_REASON))
