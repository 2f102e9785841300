"""The identity tables as a mapping whose large tables are built from integer columns on demand.

Tens of millions of rows of strings (values, record ids, person ids) would be the largest thing
the stitcher ever holds, so the large tables are not kept as frames: each is a `Gathered`
table, a row count plus a function that builds any slice of rows by gathering strings by
integer position. `Tables[name]` builds the whole frame (each access anew; keep the frame if you
need it twice), and `write_table` streams a table to one Parquet file slice by slice, so the
strings of one slice at a time are in memory. Small tables are plain frames.

Columns of few distinct values (kinds, sources, streams, rules) are built as Categorical or
Enum and written as Parquet dictionary pages straight from their codes; every reader (Polars,
DuckDB, and `Tables[name]`) sees them as strings.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

SLICE_ROWS = 2_000_000
# long strings with (nearly) one value per row: no min/max statistics (costly, never selective);
# they are the only columns compressed (LZ4 takes them to 20-80 %), as timestamps and dictionary
# pages barely shrink (90-100 %) and compressing them costs time for nothing
MANY_VALUES = {"identifier_value", "left_value", "right_value", "record_id", "person_id"}


def strings(frame: pl.DataFrame) -> pl.DataFrame:
    """Categorical and Enum columns as String (what the tables hold)."""
    coded = [
        name for name, dtype in frame.schema.items() if isinstance(dtype, pl.Categorical | pl.Enum)
    ]
    return frame.with_columns(pl.col(coded).cast(pl.String)) if coded else frame


@dataclass
class Gathered:
    """A table of `height` rows whose slice [start, stop) is built by `build(start, stop)`."""

    height: int
    build: Callable[[int, int], pl.DataFrame]

    def frame(self) -> pl.DataFrame:
        return strings(self.build(0, self.height))

    def slices(self, rows: int) -> Iterator[pl.DataFrame]:
        if self.height == 0:
            yield self.build(0, 0)
        for start in range(0, self.height, rows):  # a loop over slices, each one columnar
            yield self.build(start, min(start + rows, self.height))


@dataclass
class Held:
    """A table held as a frame."""

    table: pl.DataFrame

    @property
    def height(self) -> int:
        return self.table.height

    def frame(self) -> pl.DataFrame:
        return self.table

    def slices(self, rows: int) -> Iterator[pl.DataFrame]:
        yield self.table


class Tables(MutableMapping[str, pl.DataFrame]):
    """Identity tables by name (`str -> pl.DataFrame`); assigning a frame replaces a table."""

    def __init__(self, tables: dict[str, Gathered | Held]) -> None:
        self._tables = dict(tables)

    def __getitem__(self, name: str) -> pl.DataFrame:
        return self._tables[name].frame()

    def __setitem__(self, name: str, frame: pl.DataFrame) -> None:
        self._tables[name] = Held(frame)

    def __delitem__(self, name: str) -> None:
        del self._tables[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._tables)

    def __len__(self) -> int:
        return len(self._tables)

    def height(self, name: str) -> int:
        """Rows of a table, without building it."""
        return self._tables[name].height

    def slices(self, name: str, rows: int = SLICE_ROWS) -> Iterator[pl.DataFrame]:
        """The table in slices of at most `rows` rows, in table order."""
        return self._tables[name].slices(rows)


def sink_table(frame: pl.LazyFrame, target: Path) -> None:
    """Stream a lazy frame to one Parquet file, atomically (a temporary file, then a rename):
    rows go from the frame's sources to the file without being held all at once."""
    descriptor, temporary = tempfile.mkstemp(
        prefix=f".{target.stem}.", suffix=".parquet.tmp", dir=target.parent
    )
    os.close(descriptor)
    try:
        frame.sink_parquet(temporary, compression="lz4")
        os.replace(temporary, target)
    finally:
        Path(temporary).unlink(missing_ok=True)


def write_table(slices: Iterator[pl.DataFrame], target: Path) -> None:
    """Write slices as one Parquet file, atomically (a temporary file, then a rename).

    A slice is written by a second thread while the next one is built (both release the GIL),
    so at most two slices are in memory. Dictionary encoding only for the columns of few
    distinct values (kinds, sources, streams, rules, reasons); compression only for the long
    strings.
    """
    descriptor, temporary = tempfile.mkstemp(
        prefix=f".{target.stem}.", suffix=".parquet.tmp", dir=target.parent
    )
    os.close(descriptor)
    writer = None
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = None
            for piece in slices:  # one slice at a time: bounded memory
                arrow = _arrow(piece)
                del piece
                if writer is None:
                    writer = pq.ParquetWriter(
                        temporary,
                        arrow.schema,
                        compression={
                            field.name: "lz4" if field.name in MANY_VALUES else "none"
                            for field in arrow.schema
                        },
                        use_dictionary=[
                            field.name
                            for field in arrow.schema
                            if pa.types.is_dictionary(field.type)
                        ],
                        write_statistics=[
                            field.name for field in arrow.schema if field.name not in MANY_VALUES
                        ],
                        store_schema=False,
                    )
                if pending is not None:
                    pending.result()
                pending = pool.submit(writer.write_table, arrow)
                del arrow
            if pending is not None:
                pending.result()
        assert writer is not None  # callers yield at least one slice (an empty table: one empty)
        writer.close()
        os.replace(temporary, target)
    except BaseException:
        if writer is not None:
            writer.close()
        Path(temporary).unlink(missing_ok=True)
        raise


def _arrow(piece: pl.DataFrame) -> pa.Table:
    """A slice as Arrow: strings as offsets and bytes (Polars' conversion from its string views
    is quicker than the Parquet writer's: 10-20 % off each large table), coded columns as
    dictionaries of strings."""
    table = piece.to_arrow(compat_level=pl.CompatLevel.oldest())
    columns = [
        pa.chunked_array(
            [
                pa.DictionaryArray.from_arrays(chunk.indices, chunk.dictionary.cast(pa.string()))
                for chunk in column.chunks
            ],
            type=pa.dictionary(column.type.index_type, pa.string()),
        )
        if pa.types.is_dictionary(column.type)
        else column
        for column in table.columns
    ]
    return pa.table(columns, names=table.column_names)
