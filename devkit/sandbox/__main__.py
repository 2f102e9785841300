"""`python -m devkit.sandbox --dataset DIR [--port 0]`: serve a vendor dataset.

Prints the MATOMO_*/MAILCHIMP_*/SHOPIFY_*/ZENDESK_* lines to point the pipeline at it (e.g.
append them to `.env`), then serves until interrupted.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

from devkit.sandbox.server import SandboxServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devkit.sandbox", description=__doc__)
    parser.add_argument("--dataset", type=Path, required=True, help="the generator's output folder")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: a free one)")
    parser.add_argument(
        "--clock",
        type=datetime.fromisoformat,
        default=None,
        help="serve versions up to this time (ISO-8601; default: the dataset end)",
    )
    args = parser.parse_args(argv)
    if not (args.dataset / "vendor").is_dir():
        parser.error(
            f"{args.dataset} has no vendor/ folder; generate one with "
            f"`python -m devkit.demo generate --out {args.dataset}`"
        )
    server = SandboxServer(args.dataset, port=args.port, clock=args.clock)
    for name, value in server.env().items():
        print(f"{name}={value}")
    print(
        f"# serving {args.dataset} at {server.url} (clock {server.store.clock.isoformat()}); "
        f"Ctrl-C to stop",
        file=sys.stderr,
    )
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
