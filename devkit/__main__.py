"""`python -m devkit demo [--persons N] [--seed S] [--out DIR]`: the README's demo.

Generates the demo dataset (or reuses it), serves it as the four vendor APIs on 127.0.0.1,
runs the real nightly job over the whole demo period and prints a summary. The generator and
the sandbox have their own commands: `python -m devkit.demo generate`, `python -m devkit.sandbox`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DEMO_PERSONS = 2000
DEMO_SEED = 7


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devkit", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="build a complete warehouse from generated sample data")
    demo.add_argument("--persons", type=int, default=DEMO_PERSONS)
    demo.add_argument("--seed", type=int, default=DEMO_SEED)
    demo.add_argument("--out", type=Path, default=Path("demo_data"))
    args = parser.parse_args(argv)

    from devkit.demo_run import run_demo

    return run_demo(persons=args.persons, seed=args.seed, out=args.out)


if __name__ == "__main__":
    sys.exit(main())
