"""Why are two identifiers one person? The shortest chain of accepted evidence between them.

`explain_link` works on an `identity_edges` frame; `explain_in_warehouse` reads the published
tables from a DuckDB file (read-only). `EXPLAIN_SQL` is the same question as a SQL recipe
(README "Explain a link"); a test runs it against the Python answer.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import polars as pl
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import breadth_first_order, dijkstra

from pipelines.identity.normalise import normalise_identifiers
from pipelines.identity.rules import IdentityRules
from pipelines.identity.stitch import publish_values
from pipelines.settings import Secret

HOP_COLUMNS = [
    "hop",
    "from_kind",
    "from_value",
    "to_kind",
    "to_value",
    "source",
    "stream",
    "record_id",
    "rule",
    "observed_at",
]

# Parameters: $from_kind, $from_value, $to_kind, $to_value, $max_hops. One row per hop of the
# shortest chain (earliest evidence per link). Restricted to the person of the first identifier.
EXPLAIN_SQL = """
with recursive
person_edges as (
    select edges.*
    from identity_edges as edges
    inner join identity_map as map
        on map.identifier_kind = edges.left_kind and map.identifier_value = edges.left_value
    where map.person_id = (
        select person_id from identity_map
        where identifier_kind = $from_kind and identifier_value = $from_value
    )
),
links as (
    select left_kind as from_kind, left_value as from_value, right_kind as to_kind,
        right_value as to_value, source, stream, record_id, rule, observed_at
    from person_edges
    union all
    select right_kind, right_value, left_kind, left_value, source, stream, record_id, rule, observed_at
    from person_edges
),
first_links as (
    select row_number() over () as link_id, *
    from links
    qualify row_number() over (
        partition by from_kind, from_value, to_kind, to_value
        order by observed_at, source, stream, record_id, rule
    ) = 1
),
walk (node, visited, hops) as (
    select $from_kind || ':' || $from_value, [$from_kind || ':' || $from_value], []::bigint[]
    union all
    select
        links.to_kind || ':' || links.to_value,
        list_append(walk.visited, links.to_kind || ':' || links.to_value),
        list_append(walk.hops, links.link_id)
    from walk
    inner join first_links as links on walk.node = links.from_kind || ':' || links.from_value
    where not list_contains(walk.visited, links.to_kind || ':' || links.to_value)
        and len(walk.hops) < $max_hops
        and not list_contains(walk.visited, $to_kind || ':' || $to_value)
),
chain as (
    select visited, hops from walk
    where node = $to_kind || ':' || $to_value
    order by len(hops), visited
    limit 1
),
chain_hops as (
    select unnest(generate_series(1, len(hops))) as hop, unnest(hops) as link_id from chain
)
select chain_hops.hop, links.from_kind, links.from_value, links.to_kind, links.to_value,
    links.source, links.stream, links.record_id, links.rule, links.observed_at
from chain_hops
inner join first_links as links on chain_hops.link_id = links.link_id
order by chain_hops.hop
"""


class NotLinkedError(LookupError):
    """The two identifiers are not one person (or one of them is unknown)."""


class DifferentPersonsError(NotLinkedError):
    """The two identifiers belong to two persons: `persons` names them, `evidence` is the
    nearest chain of accepted and refused links between them (`APART_COLUMNS`; empty when no
    evidence connects them)."""

    def __init__(self, message: str, persons: tuple[str, str], evidence: pl.DataFrame) -> None:
        super().__init__(message)
        self.persons = persons
        self.evidence = evidence


APART_COLUMNS = [*HOP_COLUMNS, "status", "reason"]
PROVENANCE = ["source", "stream", "record_id", "rule", "observed_at"]


def _index(edges: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, dict]:
    """Nodes numbered by (kind, value), the edges with their two node numbers, and a lookup."""
    left = edges.select(pl.col("left_kind").alias("kind"), pl.col("left_value").alias("value"))
    right = edges.select(pl.col("right_kind").alias("kind"), pl.col("right_value").alias("value"))
    nodes = pl.concat([left, right]).unique().sort("kind", "value").with_row_index("node")
    indexed = edges.join(
        nodes.rename({"kind": "left_kind", "value": "left_value", "node": "left_node"}),
        on=["left_kind", "left_value"],
    ).join(
        nodes.rename({"kind": "right_kind", "value": "right_value", "node": "right_node"}),
        on=["right_kind", "right_value"],
    )
    lookup = dict(zip(zip(nodes["kind"], nodes["value"], strict=True), nodes["node"], strict=True))
    return nodes, indexed, lookup


def _walk_back(predecessors: np.ndarray, start: int, end: int) -> list[int] | None:
    """The node path start..end from a predecessor array (None: not reachable)."""
    path = [end]
    while path[-1] != start:  # a walk over the hops of one chain, never over rows
        previous = predecessors[path[-1]]
        if previous < 0:
            return None
        path.append(int(previous))
    path.reverse()
    return path


def _hops(path: list[int], indexed: pl.DataFrame, nodes: pl.DataFrame, order: list) -> pl.DataFrame:
    """One row per hop of `path`: the first evidence for the hop's two nodes by `order`."""
    steps = pl.DataFrame(
        {"hop": list(range(1, len(path))), "from_node": path[:-1], "to_node": path[1:]},
        schema={"hop": pl.Int64, "from_node": pl.UInt32, "to_node": pl.UInt32},
    )
    carried = [name for name in indexed.columns if name in (*PROVENANCE, "status", "reason")]
    forward = indexed.select(
        pl.col("left_node").alias("from_node"), pl.col("right_node").alias("to_node"), *carried
    )
    backward = indexed.select(
        pl.col("right_node").alias("from_node"), pl.col("left_node").alias("to_node"), *carried
    )
    names = nodes.select(pl.col("node"), pl.col("kind"), pl.col("value"))
    return (
        steps.join(pl.concat([forward, backward]), on=["from_node", "to_node"])
        .sort(["hop", *order], nulls_last=True)
        .unique(subset="hop", keep="first", maintain_order=True)
        .join(
            names.rename({"node": "from_node", "kind": "from_kind", "value": "from_value"}),
            on="from_node",
        )
        .join(
            names.rename({"node": "to_node", "kind": "to_kind", "value": "to_value"}), on="to_node"
        )
        .sort("hop")
    )


def explain_link(edges: pl.DataFrame, start: tuple[str, str], end: tuple[str, str]) -> pl.DataFrame:
    """The shortest chain of accepted edges from `start` to `end` (`(kind, value)`, published form).

    One row per hop (`HOP_COLUMNS`); where several records support one link, the earliest
    evidence is shown. Raises `NotLinkedError` when no chain exists.
    """
    if start == end:
        return pl.DataFrame(schema=dict.fromkeys(HOP_COLUMNS, pl.String)).cast({"hop": pl.Int64})
    nodes, indexed, lookup = _index(edges)
    for kind, value in (start, end):
        if (kind, value) not in lookup:
            raise NotLinkedError(f"{kind}:{value} has no accepted edge in identity_edges")
    size = nodes.height
    graph = coo_matrix(
        (
            np.ones(indexed.height),
            (indexed["left_node"].to_numpy(), indexed["right_node"].to_numpy()),
        ),
        shape=(size, size),
    ).tocsr()
    _, predecessors = breadth_first_order(
        graph, lookup[start], directed=False, return_predecessors=True
    )
    path = _walk_back(predecessors, lookup[start], lookup[end])
    if path is None:
        raise NotLinkedError(f"{start[0]}:{start[1]} and {end[0]}:{end[1]} are not linked")
    return _hops(path, indexed, nodes, PROVENANCE).select(HOP_COLUMNS)


def explain_apart(
    edges: pl.DataFrame,
    rejected: pl.DataFrame,
    start: tuple[str, str],
    end: tuple[str, str],
) -> pl.DataFrame:
    """The nearest evidence between two identifiers of different persons: the chain over
    accepted *and* refused links (`identity_rejected_edges`) with the fewest refused links,
    then the fewest hops. One row per hop (`APART_COLUMNS`: `status` accepted / rejected, the
    refusal's `reason`); a hop's evidence is its earliest accepted record, else its earliest
    refused one. Empty when no evidence connects the two."""
    empty = pl.DataFrame(schema=dict.fromkeys(APART_COLUMNS, pl.String)).cast({"hop": pl.Int64})
    columns = ["left_kind", "left_value", "right_kind", "right_value", *PROVENANCE]
    links = pl.concat(
        [
            edges.select(columns).with_columns(
                status=pl.lit("accepted"), reason=pl.lit(None, pl.String)
            ),
            rejected.select(
                *columns, status=pl.lit("rejected"), reason=pl.col("reason").cast(pl.String)
            ),
        ],
        how="vertical_relaxed",
    )
    nodes, indexed, lookup = _index(links)
    if start not in lookup or end not in lookup:
        return empty
    # lexicographic (refused links, hops): a refused link outweighs any number of accepted ones
    size = nodes.height
    pairs = (
        indexed.select(
            pl.min_horizontal("left_node", "right_node").alias("low"),
            pl.max_horizontal("left_node", "right_node").alias("high"),
            pl.when(pl.col("status") == "accepted")
            .then(1.0 / (size + 1))
            .otherwise(1.0)
            .alias("weight"),
        )
        .filter(pl.col("low") != pl.col("high"))
        .group_by("low", "high")
        .agg(pl.col("weight").min())
    )
    graph = coo_matrix(
        (pairs["weight"].to_numpy(), (pairs["low"].to_numpy(), pairs["high"].to_numpy())),
        shape=(size, size),
    ).tocsr()
    _, predecessors = dijkstra(
        graph, directed=False, indices=lookup[start], return_predecessors=True
    )
    path = _walk_back(predecessors, lookup[start], lookup[end])
    if path is None:
        return empty
    order = [pl.col("status") != "accepted", *PROVENANCE]
    return _hops(path, indexed, nodes, order).select(APART_COLUMNS)


def parse_identifier(text: str) -> tuple[str, str]:
    kind, separator, value = text.partition(":")
    if not separator or not kind:
        raise ValueError(
            f"identifier {text!r} must be written KIND:VALUE, e.g. email:ann@example.com"
        )
    return kind, value


def published_identifier(
    identifier: tuple[str, str], rules: IdentityRules, key: Secret | None
) -> tuple[str, str]:
    """The identifier as the published tables hold it: normalised, and hashed where configured."""
    kind, value = identifier
    if kind not in rules.kinds:
        raise ValueError(f"unknown identifier kind {kind!r}; use one of {', '.join(rules.kinds)}")
    frame = normalise_identifiers(
        pl.DataFrame({"identifier_kind": [kind], "identifier_value": [value]}), rules
    ).rename({"identifier_kind": "kind", "identifier_value": "value"})
    published = publish_values(frame, rules, key)
    return kind, published["value"][0]


def _table(connection: duckdb.DuckDBPyConnection, name: str) -> str | None:
    rows = connection.execute(
        "select table_schema from information_schema.tables where table_name = ? order by table_schema",
        [name],
    ).fetchall()
    return f'"{rows[0][0]}"."{name}"' if rows else None


def _label(identifier: tuple[str, str]) -> str:
    return f"{identifier[0]}:{identifier[1]}"


def _person(connection, map_table: str, identifier: tuple[str, str]) -> str | None:
    row = connection.execute(
        f"select person_id from {map_table} where identifier_kind = ? and identifier_value = ?",
        list(identifier),
    ).fetchone()
    return row[0] if row else None


def _not_a_person(connection, rejected_table: str | None, identifier: tuple[str, str]) -> str:
    """Why an identifier has no person: its refused links' reasons, or nothing known."""
    reasons = []
    if rejected_table is not None:
        reasons = connection.execute(
            f"""
            select reason, count(*) from {rejected_table}
            where (left_kind = $kind and left_value = $value)
               or (right_kind = $kind and right_value = $value)
            group by reason order by count(*) desc, reason
            """,
            {"kind": identifier[0], "value": identifier[1]},
        ).fetchall()
    if reasons:
        listed = ", ".join(f"{reason} ({count} link(s))" for reason, count in reasons)
        return f"{_label(identifier)} is not a person identifier: its links were refused: {listed}"
    return f"{_label(identifier)} is in no record of the warehouse (not in identity_map)"


def explain_in_warehouse(
    warehouse: Path,
    start: tuple[str, str],
    end: tuple[str, str],
    rules: IdentityRules,
    key: Secret | None = None,
) -> pl.DataFrame:
    """`explain_link` over the identity tables of a DuckDB file, opened read-only.

    The identifiers are given as typed by a person; they are normalised (and pseudonymised when
    a key is configured) first. Only the edges of their persons are read (`identity_map`).
    Two identifiers of different persons raise `DifferentPersonsError`, naming both persons and
    carrying the nearest evidence between them (`explain_apart`, with `identity_rejected_edges`:
    the guard or refused link that kept them apart); an identifier without a person raises
    `NotLinkedError` saying why (a refused, blocked value, or unknown).
    """
    start, end = published_identifier(start, rules, key), published_identifier(end, rules, key)
    connection = duckdb.connect(str(warehouse), read_only=True)
    try:
        edges_table = _table(connection, "identity_edges")
        if edges_table is None:
            raise NotLinkedError(
                f"{warehouse} has no identity_edges table; run the nightly job first"
            )
        map_table = _table(connection, "identity_map")
        if map_table is None:
            edges = connection.execute(f"select * from {edges_table}").pl()
            return explain_link(edges, start, end)
        rejected_table = _table(connection, "identity_rejected_edges")
        persons = {
            identifier: _person(connection, map_table, identifier) for identifier in (start, end)
        }
        for identifier, person in persons.items():
            if person is None:
                raise NotLinkedError(_not_a_person(connection, rejected_table, identifier))
        first_person, second_person = str(persons[start]), str(persons[end])
        ids = f"""
            select identifier_kind as kind, identifier_value as value
            from {map_table} where person_id in ($first, $second)
        """
        people = {"first": first_person, "second": second_person}
        edges = connection.execute(
            f"""
            select edges.* from {edges_table} as edges
            semi join ({ids}) as ids on ids.kind = edges.left_kind and ids.value = edges.left_value
            """,
            people,
        ).pl()
        if first_person == second_person:
            return explain_link(edges, start, end)
        rejected = pl.DataFrame(schema={**edges.schema, "reason": pl.String})
        if rejected_table is not None:
            rejected = connection.execute(
                f"""
                select r.* from {rejected_table} as r
                semi join ({ids}) as ids on ids.kind = r.left_kind and ids.value = r.left_value
                union
                select r.* from {rejected_table} as r
                semi join ({ids}) as ids on ids.kind = r.right_kind and ids.value = r.right_value
                """,
                people,
            ).pl()
    finally:
        connection.close()
    evidence = explain_apart(edges, rejected, start, end)
    refused = evidence.filter(pl.col("status") == "rejected")
    message = (
        f"{_label(start)} and {_label(end)} are different persons: "
        f"{first_person} and {second_person}; "
        + (
            f"the nearest evidence between them is {evidence.height} hop(s), "
            f"{refused.height} of them refused ({', '.join(refused['reason'].unique(maintain_order=True))})"
            if evidence.height
            else "no accepted or refused link connects their identifiers"
        )
    )
    raise DifferentPersonsError(message, (first_person, second_person), evidence)
