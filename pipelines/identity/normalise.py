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


def _guard_kind(rules: IdentityRules, kind: str) -> pl.Expr:
    """The reason a normalised identifier of `kind` is blocked, or null."""
    value = pl.col(VALUE)
    first = value.str.slice(0, 1)
    repeated = (value.str.len_chars() >= rules.repeated_character_min_length) & (
        value.str.strip_chars(first) == ""
    )
    reason = pl.when(
        value.is_null() | value.str.to_lowercase().is_in(list(rules.blocked_values)) | repeated
    ).then(pl.lit("junk_value"))
    pattern = rules.kinds[kind].valid_pattern
    if pattern:
        reason = reason.when(~value.str.contains(pattern)).then(pl.lit("invalid_value"))
    patterns = rules.blocked_patterns.get(kind)
    if patterns:
        combined = "|".join(f"(?:{item})" for item in patterns)
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
    """`normalise_identifiers` then `guard_identifiers`, one kind at a time (rows regrouped by kind).

    The same expressions as the public functions, but each kind only runs its own steps, which
    matters on millions of distinct identifiers.
    """
    parts = []
    for (kind,), part in frame.partition_by(KIND, as_dict=True, maintain_order=False).items():
        if kind not in rules.kinds:
            parts.append(
                part.with_columns(
                    pl.lit(None, dtype=pl.String).alias(VALUE),
                    pl.lit(None, dtype=pl.String).alias(BLOCK_REASON),
                )
            )
            continue
        normalised = part.with_columns(
            _kind_expression(rules, kind, pl.col(VALUE)).cast(pl.String).alias(VALUE)
        )
        parts.append(normalised.with_columns(_guard_kind(rules, kind).alias(BLOCK_REASON)))
    if not parts:
        return frame.with_columns(pl.lit(None, dtype=pl.String).alias(BLOCK_REASON))
    return pl.concat(parts)


def guard_identifiers(frame: pl.DataFrame | pl.LazyFrame, rules: IdentityRules):
    """Add `block_reason` to a frame of normalised identifiers."""
    return frame.with_columns(guard_expression(rules).alias(BLOCK_REASON))
