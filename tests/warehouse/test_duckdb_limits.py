"""DuckDB's memory ceiling and spill folder (JOURNEY_DUCKDB_MEMORY_LIMIT, issue 17): the setting,
its reach into dbt's DuckDB (the profile's `settings:`) and into our own connections, and that a
query larger than the ceiling spills instead of failing."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import duckdb
import pytest

from pipelines.settings import DBT_PROJECT_DIR, DEFAULT_DUCKDB_MEMORY_LIMIT, Settings, SettingsError
from pipelines.warehouse.dbt_runner import dbt_environment, dbt_executable

# a hash aggregate and a sort of 600k distinct 32-character strings: well above 32 MB
HEAVY_QUERY = (
    "select count(*) from (select md5(range::varchar) as h, count(*) from range(600000) "
    "group by h order by h)"
)


def settings_for(tmp_path: Path, **environment: str) -> Settings:
    return Settings.from_env(
        {"JOURNEY_WAREHOUSE_PATH": str(tmp_path / "warehouse" / "journey.duckdb"), **environment}
    )


def test_the_limit_defaults_to_the_profiles_default_and_spills_beside_the_build(tmp_path):
    settings = settings_for(tmp_path)
    assert settings.duckdb_limits.memory_limit == DEFAULT_DUCKDB_MEMORY_LIMIT == "2GB"
    assert (
        settings.duckdb_limits.temp_directory == tmp_path / "warehouse" / ".build" / "duckdb_spill"
    )
    profile = (DBT_PROJECT_DIR / "profiles.yml").read_text()
    assert f"env_var('JOURNEY_DUCKDB_MEMORY_LIMIT', '{DEFAULT_DUCKDB_MEMORY_LIMIT}')" in profile
    assert settings_for(tmp_path, JOURNEY_DUCKDB_MEMORY_LIMIT="1500MiB").duckdb_memory_limit == (
        "1500MiB"
    )


@pytest.mark.parametrize("value", ["80%", "2", "lots", "2 GBs"])
def test_a_limit_duckdb_would_refuse_stops_at_the_settings(tmp_path, value):
    with pytest.raises(SettingsError, match="JOURNEY_DUCKDB_MEMORY_LIMIT must be a size"):
        settings_for(tmp_path, JOURNEY_DUCKDB_MEMORY_LIMIT=value)


def test_a_query_larger_than_the_limit_spills_to_the_folder_and_fails_without_it(tmp_path):
    limits = settings_for(tmp_path, JOURNEY_DUCKDB_MEMORY_LIMIT="32MB").duckdb_limits
    with duckdb.connect() as con:
        limits.apply(con)
        con.execute("set threads = 1")
        assert con.execute(HEAVY_QUERY).fetchall() == [(600_000,)]
        assert con.execute("select current_setting('temp_directory')").fetchone() == (
            str(limits.temp_directory),
        )
    with duckdb.connect() as con:  # the same limit with nowhere to spill: the query fails
        con.execute(f"set memory_limit = '{limits.memory_limit}'")
        con.execute("set temp_directory = ''")
        con.execute("set threads = 1")
        with pytest.raises(duckdb.OutOfMemoryException):
            con.execute(HEAVY_QUERY).fetchall()


def test_the_limits_apply_again_to_a_database_that_has_spilled(tmp_path):
    limits = settings_for(tmp_path, JOURNEY_DUCKDB_MEMORY_LIMIT="32MB").duckdb_limits
    with duckdb.connect(str(tmp_path / "spilled.duckdb")) as con:
        limits.apply(con)
        con.execute("set threads = 1")
        assert con.execute(HEAVY_QUERY).fetchall() == [(600_000,)]
        with pytest.raises(duckdb.NotImplementedException, match="temporary directory"):
            con.cursor().execute(f"set temp_directory = '{limits.temp_directory}'")
        cursor = con.cursor()  # what a second connection to the file in this process gets
        limits.apply(cursor)
        assert cursor.execute(HEAVY_QUERY).fetchall() == [(600_000,)]


def test_dbts_duckdb_runs_under_the_settings_limit_and_spill_folder(tmp_path):
    """A real dbt invocation with the pipeline's environment: DuckDB inside dbt reports the
    limit and folder the settings chose."""
    settings = settings_for(tmp_path, JOURNEY_DUCKDB_MEMORY_LIMIT="300MB")
    settings.build_dir.mkdir(parents=True)
    completed = subprocess.run(
        [dbt_executable(), "show", "--output", "json", "--log-format", "json", "--inline",
         "select current_setting('memory_limit') as memory_limit, "
         "current_setting('temp_directory') as temp_directory",
         "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
         "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs")],
        env={**os.environ, **dbt_environment(settings)},
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout[-3000:]
    shown = [
        json.loads(line)["data"]["preview"]
        for line in completed.stdout.splitlines()
        if '"preview"' in line
    ]
    assert len(shown) == 1
    (row,) = json.loads(shown[0])
    # DuckDB shows 300 MB (decimal) as MiB
    assert re.fullmatch(r"286\.\d MiB", row["memory_limit"]), row
    assert row["temp_directory"] == str(settings.build_dir / "duckdb_spill")


def test_models_after_one_that_spilled_still_build(tmp_path):
    """dbt-duckdb opens a cursor per model; a DuckDB that has spilled refuses any later `SET
    temp_directory` (even to the same folder), so the folder must be set when the database is
    opened, not per cursor: a build at 1M persons failed every model after the first spill."""
    settings = settings_for(tmp_path, JOURNEY_DUCKDB_MEMORY_LIMIT="64MB")  # DuckDB's 2 threads
    settings.build_dir.mkdir(parents=True)
    project = tmp_path / "project"
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text(
        "name: spill_check\nversion: '1.0'\nprofile: journey_warehouse\n"
        "models:\n  spill_check:\n    +materialized: table\n"
    )
    spilling = (
        "select md5(range::varchar) as h, count(*) as n from range(2000000) group by h order by h"
    )
    (project / "models" / "spilled.sql").write_text(spilling)
    (project / "models" / "after_the_spill.sql").write_text(
        "select count(*) as hashes from {{ ref('spilled') }}"
    )
    environment = {**os.environ, **dbt_environment(settings)}
    completed = subprocess.run(
        [dbt_executable(), "run", "--threads", "1", "--project-dir", str(project),
         "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(tmp_path / "target"),
         "--log-path", str(tmp_path / "logs")],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout[-3000:]
    with duckdb.connect(environment["JOURNEY_DBT_DUCKDB_PATH"], read_only=True) as con:
        assert con.execute("select hashes from main.after_the_spill").fetchall() == [(2_000_000,)]
    # the first model needs the spill folder at this limit: without one it runs out of memory
    with (
        duckdb.connect(config={"memory_limit": "64MB", "temp_directory": ""}) as con,
        pytest.raises(duckdb.OutOfMemoryException),
    ):
        con.execute(f"create table spilled as {spilling}")
