"""What each dbt test checks and what to do when it fails, in words a person can act on.

A test's own `description:` (in its yml; required for `expression_is_true` and singular tests,
whose SQL says nothing by itself) wins. The generic tests that repeat hundreds of times
(`not_null`, `not_null_columns`, `unique`, `accepted_values`, `relationships`,
`unique_combination`, `known_values`) get theirs from one sentence per kind, filled with the model, the column, the
test's arguments and the column's own description: one wording to maintain instead of 500
copies. Read by the Dagster asset checks (their description) and the run report (beside a
failed or warned check). No Dagster here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

KINDS = (
    "not_null",
    "not_null_columns",
    "unique",
    "accepted_values",
    "relationships",
    "unique_combination",
    "known_values",
)


def _ref_name(text: str | None) -> str:
    """`ref('channel_groups')` → `channel_groups` (a source or plain name unchanged)."""
    found = re.search(r"ref\(\s*['\"]([^'\"]+)['\"]", text or "")
    return found.group(1) if found else str(text)


def _values(values: Any) -> str:
    listed = [str(value) for value in values or []]
    shown = ", ".join(f"`{value}`" for value in listed[:12])
    return shown + (f" and {len(listed) - 12} more" if len(listed) > 12 else "")


def describe(node: Mapping[str, Any], manifest: Mapping[str, Any]) -> str | None:
    """The description of the dbt test `node` (a manifest node), or None when it has none."""
    own = (node.get("description") or "").strip()
    if own:
        return own
    metadata = node.get("test_metadata") or {}
    kind = metadata.get("name")
    if kind not in KINDS:
        return None  # expression_is_true, singular and unknown tests must describe themselves
    arguments = metadata.get("kwargs") or {}
    parent = manifest.get("nodes", {}).get(node.get("attached_node") or "") or {}
    model = parent.get("name") or _ref_name(arguments.get("model"))
    where = parent.get("original_file_path") or "its model"
    yml = node.get("original_file_path") or "its yml"
    column = node.get("column_name") or arguments.get("column_name")
    meaning = ""
    if column:
        text = ((parent.get("columns") or {}).get(column) or {}).get("description") or ""
        meaning = f" ({text.strip().rstrip('.')})" if text.strip() else ""
    subject = f"`{model}.{column}`{meaning}"
    if kind == "not_null":
        return (
            f"{subject} is never null. Failing rows lost it on the way: find their source "
            f"record (the sample's keys) in the model's inputs and fix the join or mapping in "
            f"{where}."
        )
    if kind == "not_null_columns":
        columns = ", ".join(f"`{column}`" for column in arguments.get("columns") or [])
        return (
            f"`{model}`'s columns {columns} are never null. A failing row names a column and "
            f"how many rows lack it (the failure count is their sum): find those rows' source "
            f"records in the model's inputs and fix the join or mapping in {where}."
        )
    if kind == "unique":
        return (
            f"{subject} identifies one row of `{model}`. A repeated value means a join fanned "
            f"out or a record was not deduplicated: look up the sample's values in the inputs of "
            f"{where}."
        )
    if kind == "accepted_values" and parent.get("resource_type") == "seed":
        return (
            f"{subject} is one of {_values(arguments.get('values'))}. Another value is in the "
            f"seed: correct the row in {where}, or accept the value in {yml}."
        )
    if kind == "accepted_values":
        return (
            f"{subject} is one of {_values(arguments.get('values'))}. Another value reached "
            f"`{model}`: map it in {where} (or its seed), or accept it in {yml}."
        )
    if kind == "relationships":
        target = _ref_name(arguments.get("to"))
        return (
            f"every {subject} exists in `{target}.{arguments.get('field')}`. A value missing "
            f"there is an orphan: add it to `{target}` (a seed: edit it) or fix {where}."
        )
    if kind == "unique_combination":
        columns = ", ".join(arguments.get("columns") or [])
        return (
            f"one row of `{model}` per ({columns}), its grain. Duplicate rows mean a join "
            f"fanned out or a record was counted twice: look up the sample's keys in {where}."
        )
    known = _values(arguments.get("values"))
    if arguments.get("to"):
        seed = f"`{_ref_name(arguments.get('to'))}.{arguments.get('field')}`"
        known = f"{seed}" + (f" or {known}" if known else "")
    return (
        f"{subject} takes known values ({known}). A new value (listed with its rows) still "
        f"flows through as `other` where a closed set is needed: add it to the mapping if it "
        f"should count as something."
    )


def describe_all(manifest: Mapping[str, Any]) -> dict[str, str | None]:
    """Every dbt test's description by test name (None: the test lacks one)."""
    return {
        node["name"]: describe(node, manifest)
        for node in manifest.get("nodes", {}).values()
        if node.get("resource_type") == "test"
    }


def descriptions_from(manifest_path: Path) -> dict[str, str | None]:
    return describe_all(json.loads(Path(manifest_path).read_text(encoding="utf-8")))
