"""Command line: `python -m pipelines.identity explain --warehouse PATH KIND:VALUE KIND:VALUE`.

Prints the shortest chain of accepted evidence linking the two identifiers (one line per hop),
reading the published identity tables read-only. For two identifiers of different persons it
says so, names both person ids and prints the nearest evidence between them: the chain with
the fewest refused links, each refused hop with the guard's reason (`identity_rejected_edges`).
Identifiers are typed as a person would (`email:" Ann@Example.com"` is normalised first); when
JOURNEY_PSEUDONYMIZE_KEY is set they are hashed with it, like the published tables.
Exit status: 0 linked, 1 not linked (different persons, or no person), 2 bad arguments.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import polars as pl

from pipelines.identity.explain import (
    DifferentPersonsError,
    NotLinkedError,
    explain_in_warehouse,
    parse_identifier,
)
from pipelines.identity.rules import load_rules
from pipelines.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipelines.identity", description=__doc__.splitlines()[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    explain = commands.add_parser(
        "explain", help="show the chain of evidence linking two identifiers"
    )
    explain.add_argument(
        "--warehouse", type=Path, help="DuckDB file (default: JOURNEY_WAREHOUSE_PATH)"
    )
    explain.add_argument("--rules", type=Path, help="rules file (default: config/identity.yml)")
    explain.add_argument("start", help="KIND:VALUE, e.g. email:ann@example.com")
    explain.add_argument("end", help="KIND:VALUE, e.g. web_visitor_id:5f2a9c0d1e3b4a67")
    arguments = parser.parse_args(argv)

    settings = Settings.from_env()
    warehouse = arguments.warehouse or settings.warehouse_path
    if not warehouse.exists():
        print(f"warehouse {warehouse} does not exist; pass --warehouse PATH", file=sys.stderr)
        return 2
    try:
        start, end = parse_identifier(arguments.start), parse_identifier(arguments.end)
        hops = explain_in_warehouse(
            warehouse, start, end, load_rules(arguments.rules), settings.pseudonymize_key
        )
    except ValueError as error:
        print(str(error), file=sys.stderr)
        return 2
    except DifferentPersonsError as error:
        print(f"not linked: {error}")
        if error.evidence.height:
            print("Nearest evidence between them (status rejected: the link a guard refused):")
            _print(error.evidence)
        return 1
    except NotLinkedError as error:
        print(f"not linked: {error}", file=sys.stderr)
        return 1
    print(f"{arguments.start} and {arguments.end} are one person, linked in {hops.height} hop(s):")
    _print(hops)
    return 0


def _print(frame: pl.DataFrame) -> None:
    with pl.Config(
        tbl_rows=-1,
        tbl_cols=-1,
        fmt_str_lengths=80,
        tbl_width_chars=240,
        tbl_hide_dataframe_shape=True,
    ):
        print(frame)


if __name__ == "__main__":
    sys.exit(main())
