"""The quarantine gate: per stream and night, how much of what the vendor sent was quarantined,
and whether a stream that used to land records vanished. Pure functions (no Dagster); the
blocking asset checks that apply them are `pipelines/assets/gate.py`.

A night is judged per stream on the files the run wrote (contracts §3):
`{landing|quarantine}/{source}/{stream}/load_date=*/{run_id}-*.parquet`. It fails when

* the quarantined share of the stream's records is above `JOURNEY_QUARANTINE_MAX_SHARE`
  (default 1 %), or everything was quarantined (whatever the threshold);
* the stream received nothing at all although, at the rate of the last night that passed, at
  least `VANISHED_MIN_EXPECTED` records were due in tonight's window (a source that silently
  returns nothing). Only streams whose records arrive steadily are judged so: a stream declared
  `arrival: bursty` in its registry file (file drops; Mailchimp's campaign-driven streams) may
  bring nothing for nights on end, and that is a normal night. That night's count and window are kept in
  `{data_dir}/state/quarantine_gate.json`, one entry per stream, written only by nights that
  pass — so a vanished stream keeps failing until someone looks (to accept it, unconfigure the
  source or delete the stream's entry). Streams of an unconfigured source are not judged.

Messages are one line: the stream, the counts, the top reasons and a masked sample (letters
become `a`/`A`, digits `9`: the shape of a value without its content).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from pipelines.quality.frames import landed_files

GATE_CHECK = "quarantine_gate"
STATE_FILE_NAME = "quarantine_gate.json"
VANISHED_MIN_EXPECTED = 20
TOP_REASONS = 3
SAMPLE_RECORDS = 3
SAMPLE_TEXT_LIMIT = 160

# A quarantine reason (pipelines/extract/landing.py, filedrop.py; several are joined by "; ")
# names what is wrong, then the offending value after ", got " (wrong type, bad value) or ": " (the
# others). The kind of a reason is what comes before the value, without a file's line number.
_REASON_KIND_SQL = """
    regexp_replace(
        case when part like 'wrong type:%' or part like 'bad value:%'
             then regexp_replace(part, ', got .*$', '')
             else regexp_replace(part, ': .*$', '') end,
        ' at line [0-9]+', '')
"""


@dataclass(frozen=True)
class StreamNight:
    """What one run did to one stream."""

    source: str
    stream: str
    landed: int
    quarantined: int
    top_reasons: list[tuple[str, int]] = field(default_factory=list)
    sample: list[dict[str, str]] = field(default_factory=list)

    @property
    def received(self) -> int:
        return self.landed + self.quarantined

    @property
    def share(self) -> float:
        return self.quarantined / self.received if self.received else 0.0

    @property
    def label(self) -> str:
        return f"{self.source}/{self.stream}"


@dataclass(frozen=True)
class Verdict:
    passed: bool
    message: str
    metadata: dict[str, Any]


def mask(text: str) -> str:
    """The shape of a value without its content: letters `a`/`A`, digits `9`, the rest kept."""
    out = []
    for character in text:
        if character.isdigit():
            out.append("9")
        elif character.isalpha():
            out.append("A" if character.isupper() else "a")
        else:
            out.append(character)
    return "".join(out)


def masked_reason(reason: str) -> str:
    """A quarantine reason with its offending values masked (what is wrong stays readable)."""
    parts = []
    for part in reason.split("; "):
        typed = part.startswith(("wrong type:", "bad value:"))
        separator = ", got " if typed else ": "
        what, found, value = part.partition(separator)
        parts.append(what + found + mask(value) if found else part)
    return "; ".join(parts)[:SAMPLE_TEXT_LIMIT]


def _masked_record(record: str) -> str:
    """The record's top-level fields with every value masked (field names kept)."""
    try:
        parsed = json.loads(record)
    except ValueError:
        return mask(record)[:SAMPLE_TEXT_LIMIT]
    if not isinstance(parsed, dict):
        return mask(json.dumps(parsed))[:SAMPLE_TEXT_LIMIT]
    masked = {
        key: mask(value if isinstance(value, str) else json.dumps(value))
        for key, value in parsed.items()
    }
    return json.dumps(masked, ensure_ascii=False)[:SAMPLE_TEXT_LIMIT]


def measure_night(
    landing_dir: Path, quarantine_dir: Path, source: str, stream: str, run_id: str
) -> StreamNight:
    """Records the run landed and quarantined for one stream, the top quarantine reasons and a
    masked sample — from the run's files, in DuckDB (no Python loop over records)."""
    landing = landed_files(landing_dir, source, stream, run_id)
    quarantine = landed_files(quarantine_dir, source, stream, run_id)
    con = duckdb.connect()
    try:
        landed = 0
        if landing:
            (landed,) = con.execute(
                "select count(*) from read_parquet(?, union_by_name = true) where _run_id = ?",
                [[str(path) for path in landing], run_id],
            ).fetchone() or (0,)
        if not quarantine:
            return StreamNight(source, stream, landed, 0)
        # a view, not a table: a night that quarantined everything is read in streams
        tonight = con.read_parquet([str(path) for path in quarantine], union_by_name=True).filter(
            duckdb.ColumnExpression("_run_id") == duckdb.ConstantExpression(run_id)
        )
        earlier = [
            str(path) for path in _earlier_quarantine(quarantine_dir, source, stream, run_id)
        ]
        if earlier:
            # a record quarantined by an earlier run, fetched again (the lookback window) with
            # the same content, was judged that night: it does not block every night after it
            tonight.select("_extracted_at").create_view("tonight")
            con.read_parquet(earlier, union_by_name=True).filter(
                "_extracted_at < (select min(_extracted_at) from tonight)"
            ).select("_record_hash").create_view("judged")
            tonight = tonight.filter("_record_hash not in (select _record_hash from judged)")
        tonight.select("_record_hash", "record", "reason").create_view("bad")
        (quarantined,) = con.execute("select count(*) from bad").fetchone() or (0,)
        reasons = con.execute(
            f"""
            select {_REASON_KIND_SQL} as kind, count(*) as records
            from (select trim(unnest(string_split(reason, '; '))) as part from bad)
            where part <> ''
            group by kind order by records desc, kind limit {TOP_REASONS}
            """
        ).fetchall()
        sample = con.execute(
            f"select _record_hash, reason, record from bad "
            f"order by _record_hash limit {SAMPLE_RECORDS}"
        ).fetchall()
    finally:
        con.close()
    return StreamNight(
        source,
        stream,
        landed,
        quarantined,
        top_reasons=[(kind, int(count)) for kind, count in reasons],
        sample=[  # a handful of rows: masked one by one
            {
                "record": f"sha256:{digest[:12]}",
                "reason": masked_reason(reason),
                "fields": _masked_record(record),
            }
            for digest, reason, record in sample
        ],
    )


def _earlier_quarantine(quarantine_dir: Path, source: str, stream: str, run_id: str) -> list[Path]:
    """The stream's quarantine files written by other runs than `run_id` (their rows
    extracted before tonight's are the ones judged already)."""
    mine = set(landed_files(quarantine_dir, source, stream, run_id))
    folder = Path(quarantine_dir) / source / stream
    return [path for path in sorted(folder.glob("load_date=*/*.parquet")) if path not in mine]


def _percent(share: float) -> str:
    return f"{share * 100:.3g} %"


def judge_night(
    night: StreamNight,
    *,
    max_share: float,
    previous: dict[str, Any] | None,
    window_days: int,
    steady: bool = True,
) -> Verdict:
    """Does the stream's night pass the gate? `previous`: the stream's state entry (the last
    night that passed: `landed`, `days`), for the vanished-stream rule, which judges only a
    `steady` stream (registry `arrival`)."""
    metadata: dict[str, Any] = {
        "landed": night.landed,
        "quarantined": night.quarantined,
        "share": round(night.share, 6),
        "max_share": max_share,
        "window_days": window_days,
    }
    if night.top_reasons:
        metadata["top_reasons"] = [
            {"reason": reason, "records": count} for reason, count in night.top_reasons
        ]
    if night.sample:
        metadata["sample"] = night.sample
        metadata["failed_rows"] = night.quarantined
    expected, before = None, previous or {}
    if before.get("landed") and before.get("days"):
        expected = before["landed"] / before["days"] * max(window_days, 1)
        metadata["expected_at_least"] = round(expected, 1)

    if night.quarantined and (night.landed == 0 or night.share > max_share):
        what = "every record" if night.landed == 0 else _percent(night.share)
        reasons = ", ".join(f"{count}× {reason}" for reason, count in night.top_reasons)
        example = night.sample[0] if night.sample else None
        message = (
            f"{GATE_CHECK}: {night.label} quarantined {night.quarantined:,} of "
            f"{night.received:,} records ({what}; at most {_percent(max_share)} may be): "
            f"{reasons}" + (f"; e.g. {example['record']}: {example['reason']}" if example else "")
        )
        return Verdict(False, message, metadata)
    if not steady:
        metadata["arrival"] = "bursty"
    if (
        steady
        and night.received == 0
        and expected is not None
        and expected >= VANISHED_MIN_EXPECTED
    ):
        message = (
            f"{GATE_CHECK}: {night.label} landed nothing although the last night that passed "
            f"landed {before['landed']:,} records in {before['days']} day(s) "
            f"(≈ {expected:,.0f} due in tonight's {window_days} day(s)): the source returned "
            f"nothing — check its settings and account"
        )
        return Verdict(False, message, metadata)
    message = (
        f"{GATE_CHECK}: {night.label} passed: {night.quarantined:,} of {night.received:,} "
        f"records quarantined ({_percent(night.share)}; at most {_percent(max_share)})"
    )
    return Verdict(True, message, metadata)


def read_state(path: Path) -> dict[str, dict[str, Any]]:
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        return {}
    except json.JSONDecodeError as error:
        raise ValueError(
            f"quarantine gate state {path} is not valid JSON ({error}); delete it (the next "
            "night records fresh counts)"
        ) from error


def record_state(path: Path, updates: dict[str, dict[str, Any]]) -> None:
    """Merge the passing streams' counts into the state file (atomic rewrite)."""
    if not updates:
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = read_state(path) if path.exists() else {}
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    state.update({key: {**value, "recorded_at": stamp} for key, value in updates.items()})
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")
    os.replace(temporary, path)
