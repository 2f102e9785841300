"""Every dbt test and every Great Expectations expectation says what it checks and what to do
when it fails (issue 21)."""

from __future__ import annotations

import json

from pipelines.quality.dbt_test_descriptions import describe, describe_all
from pipelines.settings import PROJECT_ROOT
from pipelines.warehouse.dbt_runner import ensure_manifest


def test_every_dbt_test_has_a_description():
    manifest = json.loads(ensure_manifest().read_text())
    found = describe_all(manifest)
    assert len(found) > 250  # ~300: a model's never-null columns are one test (issue 17)
    # one not_null_columns test per model, described with its columns
    assert found["not_null_columns_fct_orders"].startswith(
        "`fct_orders`'s columns `order_id`, `source`,"
    )
    assert not any(name.startswith("not_null_fct_") for name in found)
    assert sorted(name for name, text in found.items() if not text) == []
    # what the yml and tests/_singular_tests.yml say themselves wins over the kind's sentence
    assert found["assert_web_action_types_list_other"].startswith("Seed web_action_types has")
    own = [
        n for n in manifest["nodes"].values() if n["resource_type"] == "test" and n["description"]
    ]
    assert len(own) >= 17  # every expression_is_true and singular test


def test_a_dbt_test_without_one_is_found_and_generic_ones_name_model_column_and_meaning():
    manifest = {
        "nodes": {
            "model.p.fct_orders": {
                "name": "fct_orders",
                "original_file_path": "models/marts/commerce/fct_orders.sql",
                "columns": {"order_id": {"description": "Shopify order id."}},
            }
        }
    }
    unique = {
        "resource_type": "test", "name": "unique_fct_orders_order_id", "description": "",
        "attached_node": "model.p.fct_orders", "column_name": "order_id",
        "test_metadata": {"name": "unique", "kwargs": {"column_name": "order_id"}},
    }  # fmt: skip
    text = describe(unique, manifest)
    assert text.startswith("`fct_orders.order_id` (Shopify order id) identifies one row")
    assert "models/marts/commerce/fct_orders.sql" in text
    expression = {**unique, "test_metadata": {"name": "expression_is_true", "kwargs": {}}}
    assert describe(expression, manifest) is None  # must describe itself
    assert describe({**expression, "description": " Say why. "}, manifest) == "Say why."


def test_every_great_expectations_expectation_has_notes():
    missing, count = [], 0
    for path in sorted((PROJECT_ROOT / "expectations").rglob("*.json")):
        for expectation in json.loads(path.read_text()).get("expectations", []):
            count += 1
            if len(str((expectation.get("meta") or {}).get("notes") or "").strip()) < 15:
                missing.append((path.name, expectation["type"], expectation.get("kwargs")))
    assert count > 300 and missing == []
