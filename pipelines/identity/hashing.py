"""Vectorised SHA-256 and HMAC-SHA256 of a string column, computed by DuckDB.

HMAC(K, m) = SHA256((K ^ opad) || SHA256((K ^ ipad) || m)) (RFC 2104) is composed from DuckDB's
`sha256` over blobs, so a whole column is hashed in one query, never row by row in Python.
The key only ever travels as a query parameter (into a session variable of a private
connection); it is never logged or put into an error.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import duckdb
import polars as pl

from pipelines.settings import Secret

BLOCK_SIZE = 64  # SHA-256 block size in bytes


def _pads(key: Secret) -> tuple[bytes, bytes]:
    raw = key.reveal().encode("utf-8")
    if len(raw) > BLOCK_SIZE:
        raw = hashlib.sha256(raw).digest()
    raw = raw.ljust(BLOCK_SIZE, b"\0")
    return bytes(b ^ 0x36 for b in raw), bytes(b ^ 0x5C for b in raw)


def hash_hex(
    values: pl.Series | pl.DataFrame,
    key: Secret | None = None,
    digits: int = 64,
    prefix: str = "",
) -> pl.Series:
    """Hex SHA-256 (no key) or HMAC-SHA256 (with key) of each string; nulls stay null.

    `values` is a string column, or a frame whose columns (as strings) are hashed joined by
    ":" (`a:b`; null when any part is). The result has the input's length and order, named
    after the column (or the frame's first column); `digits` keeps only the first hex digits
    and `prefix` goes in front (both in DuckDB, on all its threads: the full digests and the
    joined texts never cross into Polars).
    """
    parts = values.to_frame() if isinstance(values, pl.Series) else values
    name = parts.columns[0]
    frame = parts.select(
        pl.col(column).cast(pl.String).alias(f"part_{index}")
        for index, column in enumerate(parts.columns)
    )
    value = " || ':' || ".join(f"part_{index}" for index in range(frame.width))
    head = "'" + prefix.replace("'", "''") + "' || " if prefix else ""
    cut = int(digits)
    # DuckDB reads the values from a private temporary Parquet file: scanning a Python (Arrow)
    # object would first import pyarrow.dataset and pandas (0.7 s), and its scan of one large
    # batch runs on a single thread
    with tempfile.TemporaryDirectory(prefix="identity-hash-") as folder:
        source = Path(folder) / "values.parquet"
        frame.write_parquet(source, compression="uncompressed", statistics=False)
        scan = "read_parquet('{}')".format(str(source).replace("'", "''"))
        connection = duckdb.connect()
        try:
            # a plain projection keeps row order (preserve_insertion_order, DuckDB's default)
            connection.execute("set preserve_insertion_order = true")
            if key is None:
                query = f"select {head}left(sha256(encode({value})), {cut}) as hashed from {scan}"
            else:
                inner, outer = _pads(key)
                # the pads travel as parameters into session variables of this private connection
                connection.execute("set variable identity_ipad = $pad", {"pad": inner})
                connection.execute("set variable identity_opad = $pad", {"pad": outer})
                query = (
                    f"select {head}left(sha256(getvariable('identity_opad')::blob || unhex("
                    f"sha256(getvariable('identity_ipad')::blob || encode({value})))), {cut}) "
                    f"as hashed from {scan}"
                )
            # a relation without parameters, materialised as Arrow, runs on all threads (a
            # query with parameters, or `execute(...).pl()`, runs on one)
            result = pl.from_arrow(connection.sql(query).to_arrow_table())
        finally:
            connection.close()
    # one buffer: DuckDB hands over one chunk per vector of rows, and callers gather from it
    assert isinstance(result, pl.DataFrame)
    return result["hashed"].rechunk().alias(name)
