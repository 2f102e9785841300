"""Erasure (right to be forgotten): the erasure list, and which persons and records it removes.

The list is a CSV `identifier_kind, identifier_value, requested_at` (settings
`erasure_file`, JOURNEY_ERASURE_FILE). Values are normalised like evidence, so any export form
of an address erases it. Every person holding a listed identifier is removed from all identity
outputs, and every record carrying one of that person's identifiers is listed in
`identity_suppressed_records`. The list is re-applied on every run, so re-pulled records stay out.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipelines.identity.contract import KIND, EvidenceError
from pipelines.identity.published import published_identifiers
from pipelines.identity.rules import IdentityRules
from pipelines.settings import Secret

ERASURE_COLUMNS = ["identifier_kind", "identifier_value", "requested_at"]


def read_erasure_file(path: Path | None) -> pl.DataFrame | None:
    """The erasure list, or None when no file is configured. A missing or malformed file is an error."""
    if path is None:
        return None
    path = Path(path)
    if not path.exists():
        raise EvidenceError(
            f"erasure file {path} (JOURNEY_ERASURE_FILE) does not exist; create it or unset the setting"
        )
    frame = pl.read_csv(path, infer_schema=False)
    missing = [column for column in ERASURE_COLUMNS if column not in frame.columns]
    if missing:
        raise EvidenceError(
            f"erasure file {path} lacks columns {missing}; the header must be {','.join(ERASURE_COLUMNS)}"
        )
    return frame.select(
        "identifier_kind",
        "identifier_value",
        pl.col("requested_at")
        .str.to_datetime(time_zone="UTC", strict=False)
        .dt.replace_time_zone(None),
    )


def erased_persons(
    node_info: pl.DataFrame,
    erasures: pl.DataFrame | None,
    rules: IdentityRules,
    key: Secret | None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Nodes of erased persons, and every (kind, value) to keep out of the outputs."""
    empty_keys = pl.DataFrame(schema={"kind": pl.String, "value": pl.String})
    if erasures is None or erasures.is_empty():
        return pl.DataFrame(schema={"node": pl.UInt32}), empty_keys
    missing = [c for c in ("identifier_kind", "identifier_value") if c not in erasures.columns]
    if missing:
        raise EvidenceError(
            f"erasure list lacks columns {missing}; expected identifier_kind, identifier_value, requested_at"
        )
    requested = erasures.select(
        pl.col("identifier_kind").cast(pl.String), pl.col("identifier_value").cast(pl.String)
    )
    unknown = requested.filter(~pl.col("identifier_kind").is_in(list(rules.kinds)))
    if unknown.height:
        raise EvidenceError(
            f"erasure list names unknown identifier kinds {sorted(unknown['identifier_kind'].unique().to_list())}; "
            f"use one of {list(rules.kinds)}"
        )
    requested_keys = (
        published_identifiers(
            requested.rename({"identifier_kind": "kind", "identifier_value": "raw_value"}),
            rules,
            key,
        )
        .select("kind", "value")
        .unique()
    )
    seeds = node_info.join(
        requested_keys.with_columns(pl.col("kind").cast(KIND)), on=["kind", "value"], how="semi"
    )
    erased_nodes = node_info.join(seeds.select("cluster").unique(), on="cluster", how="semi")
    keys = pl.concat(
        [requested_keys, erased_nodes.select(pl.col("kind").cast(pl.String), "value")]
    ).unique()
    return erased_nodes.select("node"), keys


def drop_erased_values(frame: pl.DataFrame, keys: pl.DataFrame) -> pl.DataFrame:
    if keys.is_empty():
        return frame
    for side in ("left", "right"):
        frame = frame.join(
            keys.rename({"kind": f"{side}_kind", "value": f"{side}_value"}),
            on=[f"{side}_kind", f"{side}_value"],
            how="anti",
            nulls_equal=True,
        )
    return frame
