"""Readers for the generated dataset (vendor parquet, drops, truth, manifest)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from devkit.demo import catalog


def vendor(root: Path, source: str, stream: str) -> pl.DataFrame:
    return pl.read_parquet(root / "vendor" / source / f"{stream}.parquet")


def latest(frame: pl.DataFrame) -> pl.DataFrame:
    """The version of each record the sandbox serves at the dataset end (greatest updated_at)."""
    return frame.unique().sort("updated_at", "record_id").group_by("record_id").last()


def as_text(dtype: pl.DataType) -> pl.DataType:
    """`dtype` with every numeric leaf read as text (Matomo sends numbers as JSON numbers or
    numeric strings, contracts §1.1)."""
    if isinstance(dtype, pl.Struct):
        return pl.Struct({field.name: as_text(field.dtype) for field in dtype.fields})
    if isinstance(dtype, pl.List):
        return pl.List(as_text(dtype.inner))
    return pl.String if dtype.is_numeric() else dtype


def json_decode(text: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """Decode JSON text into `dtype`, a number given as a JSON number or a numeric string."""
    return text.str.json_decode(as_text(dtype)).cast(dtype)


def decoded(frame: pl.DataFrame, fields: dict[str, pl.DataType]) -> pl.DataFrame:
    """Decode the JSON text of `record` into the named top-level fields (a field named like a
    vendor column, e.g. `updated_at`, becomes `record_updated_at`)."""
    record = json_decode(pl.col("record"), pl.Struct(fields))
    names = {name: f"record_{name}" if name in frame.columns else name for name in fields}
    return frame.with_columns(
        record.struct.field(name).alias(alias) for name, alias in names.items()
    )


def is_bot() -> pl.Expr:
    """Contracts §6.1 bot rule on decoded Matomo visits."""
    return pl.col("browserName").is_in(catalog.BOT_BROWSERS) | (
        (pl.col("actions") >= 20) & (pl.col("visitDuration") < pl.col("actions"))
    )


def human_visits(
    root: Path, fields: dict[str, pl.DataType], *, served: bool = False
) -> pl.DataFrame:
    """Decoded Matomo visits that are not bots (`served`: one row per visit, its served version)."""
    frame = vendor(root, "matomo", "visits")
    frame = latest(frame) if served else frame.unique()
    bot_fields = {"browserName": pl.String, "actions": pl.Int64, "visitDuration": pl.Int64}
    return decoded(frame, bot_fields | fields).filter(~is_bot())


def drop(root: Path, stream: str) -> pl.DataFrame:
    return pl.read_csv(sorted((root / "drop" / stream).glob("*.csv")), infer_schema=False)


def truth(root: Path, name: str) -> pl.DataFrame:
    return pl.read_parquet(root / "truth" / f"{name}.parquet")


def manifest(root: Path) -> dict:
    return json.loads((root / "manifest.json").read_text())
