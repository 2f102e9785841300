"""Reading and checking the stitcher's inputs: the evidence, and the previous run's tables.

`prepare_evidence` checks the contract cheaply (columns, kinds, nulls) and keys every row in one
streaming pass (keys.py); `prepare_previous` and `prepare_previous_links` type and check the
previous identity_map, identity_edges and identity_rejected_edges. A broken input raises
`EvidenceError` saying what, where and what to do.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from pipelines.identity.contract import (
    EVIDENCE_SCHEMA,
    IDENTIFIER,
    KIND,
    LINK_COLUMNS,
    MAP_SCHEMA,
    PROVENANCE,
    RECORD,
    EvidenceError,
)
from pipelines.identity.keys import SEEDS, mixed_hash, raw_key
from pipelines.identity.rules import KNOWN_KINDS, IdentityRules

READ_OFTEN = {"record_key", "observed_at", "record_id", *PROVENANCE}


@dataclass
class Prepared:
    """Typed evidence: the lazy source (read again to rehash) and its rows keyed under SEEDS[0]."""

    source: pl.LazyFrame
    rows: pl.DataFrame | None

    def take(self, attempt: int) -> pl.DataFrame:
        """The keyed rows under SEEDS[attempt]; the first call hands over the rows hashed already."""
        if attempt == 0 and self.rows is not None:
            rows, self.rows = self.rows, None
            return rows
        return keyed_rows(self.source, attempt)


def _typed(frame: pl.LazyFrame, schema: pl.Schema) -> pl.LazyFrame:
    observed = pl.col("observed_at")
    observed_type = schema["observed_at"]
    if isinstance(observed_type, pl.Datetime) and observed_type.time_zone is not None:
        observed = observed.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
    return (
        frame.select(list(EVIDENCE_SCHEMA))
        .with_columns(observed.alias("observed_at"))
        .cast(EVIDENCE_SCHEMA)
    )


def keyed_rows(source: pl.LazyFrame, attempt: int) -> pl.DataFrame:
    """One streaming pass: per row its hash keys, time, anchor flag and small provenance columns.

    Each key comes with a fingerprint, the key xor a second, independent hash of the same
    columns: two different strings sharing a key show up as more distinct fingerprints than
    keys (`_check`).
    """
    seed, check_seed = SEEDS[attempt]
    rows = (
        source.with_columns(
            mixed_hash(RECORD, seed).alias("record_key"),
            mixed_hash(RECORD, check_seed).alias("record_check"),
            raw_key(seed).alias("raw_key"),
            mixed_hash(IDENTIFIER, check_seed).alias("raw_check"),
        )
        .select(
            "record_key",
            (pl.col("record_key") ^ pl.col("record_check")).alias("record_print"),
            "raw_key",
            (pl.col("raw_key") ^ pl.col("raw_check")).alias("raw_print"),
            "observed_at",
            "is_anchor",
            pl.col("identifier_kind").cast(KIND, strict=False),
            pl.col(PROVENANCE).cast(pl.Categorical),
            "record_id",
        )
        .collect(engine="streaming")
    )
    # one contiguous buffer for the columns read many times (gathers on many small chunks are
    # several times slower), column by column so that only one column is ever held twice; the
    # provenance columns once they are one byte per row (below)
    rows = pl.DataFrame(
        [
            rows.drop_in_place(name).rechunk()
            if name in READ_OFTEN and name not in PROVENANCE
            else rows.drop_in_place(name)
            for name in list(rows.columns)
        ]
    )
    # sources, streams and rules, kept until the tables are built, as Enums of their values: one
    # byte per row instead of four (the three columns at once, in parallel)
    present = rows.select(pl.col(PROVENANCE).unique().drop_nulls().cast(pl.String).implode())
    rows = rows.with_columns(
        pl.col(name).cast(pl.Enum(sorted(present[name][0].to_list())))  # a handful of values
        for name in PROVENANCE
    )
    return rows.with_columns(rows[name].rechunk() for name in PROVENANCE)


def prepare_evidence(evidence: pl.DataFrame | pl.LazyFrame, rules: IdentityRules) -> Prepared:
    """Typed evidence with hash keys per row; cheap contract checks (columns, kinds, nulls)."""
    frame = evidence.lazy()
    schema = frame.collect_schema()
    missing = [column for column in EVIDENCE_SCHEMA if column not in schema.names()]
    if missing:
        raise EvidenceError(
            f"identity evidence lacks columns {missing} (contracts §5.2 requires "
            f"{list(EVIDENCE_SCHEMA)}); fix the int_identity_evidence model"
        )
    source = _typed(frame, schema)
    rows = keyed_rows(source, 0)
    present = rows["identifier_kind"].unique().drop_nulls().cast(pl.String).to_list()
    if rows["identifier_kind"].null_count() or any(kind not in rules.kinds for kind in present):
        _raise_unknown_kinds(source, rules)
    nulls = rows.select(pl.col("source", "stream", "record_id", "is_anchor").null_count()).row(
        0, named=True
    )
    for column, count in nulls.items():
        if count:
            raise EvidenceError(
                f"identity evidence has {count} rows with a null {column}; fix int_identity_evidence"
            )
    return Prepared(source, rows)


def _raise_unknown_kinds(source: pl.LazyFrame, rules: IdentityRules) -> None:
    known = pl.col("identifier_kind").is_in(list(rules.kinds))
    unknown_rows = source.filter(~known | pl.col("identifier_kind").is_null())
    kinds = unknown_rows.select(pl.col("identifier_kind").unique()).collect()["identifier_kind"]
    unknown = sorted(kinds.to_list(), key=lambda kind: (kind is None, kind or ""))
    example = unknown_rows.head(1).collect().row(0, named=True)
    raise EvidenceError(
        f"identity evidence holds unknown identifier kinds {unknown} (e.g. record "
        f"{example['source']}/{example['stream']}/{example['record_id']}); add the kind to "
        f"config/identity.yml or fix int_identity_evidence"
    )


def prepare_previous(previous_map: pl.DataFrame | None) -> pl.DataFrame | None:
    """The previous identity_map, typed and checked, with columns `kind, value, person_id, ...`."""
    if previous_map is None:
        return None
    missing = [column for column in MAP_SCHEMA if column not in previous_map.columns]
    if missing:
        raise EvidenceError(f"previous identity_map lacks columns {missing} (contracts §5.3)")
    previous = _as_utc(
        previous_map.select(list(MAP_SCHEMA)), ["first_seen_at", "last_seen_at"]
    ).cast(MAP_SCHEMA)
    unknown = previous.filter(~pl.col("identifier_kind").is_in(list(KNOWN_KINDS)))
    if unknown.height:
        raise EvidenceError(
            f"previous identity_map holds {unknown.height} rows of unknown identifier kinds "
            f"{sorted(unknown['identifier_kind'].unique().drop_nulls().to_list())}; contracts §5.1 "
            f"lists the kinds"
        )
    doubled = previous.filter(pl.struct("identifier_kind", "identifier_value").is_duplicated())
    if doubled.height:
        raise EvidenceError(
            f"previous identity_map holds {doubled.height} rows for identifiers listed twice, e.g. "
            f"{doubled.head(2).rows()}; it must have one row per identifier"
        )
    return previous.rename({"identifier_kind": "kind", "identifier_value": "value"})


def prepare_previous_links(
    edges: pl.DataFrame | None, rejected: pl.DataFrame | None
) -> pl.DataFrame:
    """The identifier pairs decided before an incremental run, one row per stored edge:
    `left_kind, left_value, right_kind, right_value, reason` (null: accepted); limits.prior_pairs
    makes them one row per node pair.

    `edges` and `rejected` are identity_edges and identity_rejected_edges (contracts §5.3) of
    every run the previous map stands for: they say which links each identifier already had
    and which were refused, which the map alone does not.
    """
    frames = []
    for name, frame in (("identity_edges", edges), ("identity_rejected_edges", rejected)):
        if frame is None:
            raise ValueError(
                f"an incremental run needs the previous {name} (previous_{name[9:]}=...)"
            )
        needed = [*LINK_COLUMNS, *(["reason"] if name == "identity_rejected_edges" else [])]
        missing = [column for column in needed if column not in frame.columns]
        if missing:
            raise EvidenceError(f"previous {name} lacks columns {missing} (contracts §5.3)")
        reason = pl.col("reason") if "reason" in needed else pl.lit(None)
        frames.append(
            frame.select(
                pl.col(LINK_COLUMNS).cast(pl.String), reason.cast(pl.String).alias("reason")
            )
        )
    return pl.concat(frames)


def _as_utc(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """Timestamps as UTC without time zone (the contract's convention), from naive or aware input."""
    casts = []
    for column in columns:
        dtype = frame.schema[column]
        expression = pl.col(column)
        if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
            expression = expression.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        casts.append(expression.cast(pl.Datetime("us")))
    return frame.with_columns(casts)
