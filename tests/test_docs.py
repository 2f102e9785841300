"""Docs drift is a bug: what the README and .env.example promise exists and answers."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pipelines.settings import PROJECT_ROOT

README = (PROJECT_ROOT / "README.md").read_text()
ENV_EXAMPLE = (PROJECT_ROOT / ".env.example").read_text()
SETTING = re.compile(r'"((?:JOURNEY|MATOMO|MAILCHIMP|SHOPIFY|ZENDESK)_[A-Z_]+)"')
SETTING_NAME = re.compile(r"\b((?:JOURNEY|MATOMO|MAILCHIMP|SHOPIFY|ZENDESK)_[A-Z0-9_]+)\b")


def test_every_setting_is_in_the_readme_and_env_example():
    names = set(SETTING.findall((PROJECT_ROOT / "pipelines" / "settings.py").read_text()))
    assert len(names) >= 25
    assert sorted(n for n in names if n not in README) == []
    assert sorted(n for n in names if n not in ENV_EXAMPLE) == []


# An environment variable as the code names it: a quoted name with one of these prefixes in
# Python (read, or set for a process it starts), `env_var('NAME'` in the dbt project.
PYTHON_VARIABLE = re.compile(
    r"""["']((?:JOURNEY|MATOMO|MAILCHIMP|SHOPIFY|ZENDESK|DAGSTER|DBT|GX|DO_NOT)_[A-Z0-9_]+)["']"""
)
ENVIRON_READ = re.compile(
    r"""(?:environ\.get|environ\.setdefault|environ\.pop|getenv|environ\[)\(?\s*["']([A-Z][A-Z0-9_]*)["']"""
)  # any other name read from os.environ
DBT_VARIABLE = re.compile(r"""env_var\(\s*["']([A-Z0-9_]+)["']""")
DOCUMENTED_ROW = re.compile(r"^\| ((?:`[A-Z0-9_]+`(?:, )?)+) \| ([^|]+) \| ([^|]+) \|$", re.M)


def code_environment_variables() -> dict[str, str]:
    """Every environment variable the product, the test rig, the benchmarks and the dbt project
    name → the first file naming it."""
    found: dict[str, str] = {}
    for folder in ("pipelines", "devkit", "bench"):
        for path in sorted((PROJECT_ROOT / folder).rglob("*.py")):
            text = path.read_text()
            for name in PYTHON_VARIABLE.findall(text) + ENVIRON_READ.findall(text):
                found.setdefault(name, str(path.relative_to(PROJECT_ROOT)))
    dbt = PROJECT_ROOT / "dbt_project"
    paths = [dbt / "dbt_project.yml", dbt / "profiles.yml"]
    for folder in ("models", "macros", "seeds", "tests", "analyses", "snapshots"):
        paths += sorted((dbt / folder).rglob("*.sql")) + sorted((dbt / folder).rglob("*.yml"))
    for path in paths:
        for name in DBT_VARIABLE.findall(path.read_text()):
            found.setdefault(name, str(path.relative_to(PROJECT_ROOT)))
    return found


def readme_environment_variables() -> dict[str, tuple[str, str]]:
    """The README's "Configuration" tables: variable → (default or who sets it, meaning)."""
    section = README.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    documented: dict[str, tuple[str, str]] = {}
    for names, default, meaning in DOCUMENTED_ROW.findall(section):
        for name in re.findall(r"`([A-Z0-9_]+)`", names):
            assert name not in documented, f"{name} is documented twice"
            documented[name] = (default.strip(), meaning.strip())
    return documented


def test_every_environment_variable_the_code_names_is_documented_once_in_the_readme():
    """Settings (pipelines/settings.py), what the pipeline sets for dbt and MetricFlow, what
    the dbt project reads with `env_var(...)`, telemetry and test hooks: each has a row in the
    README's "Configuration" with its default (or who sets it) and its meaning, and no row
    names a variable the code no longer knows."""
    code = code_environment_variables()
    documented = readme_environment_variables()
    assert {"JOURNEY_SCHEDULE_TIMEZONE", "JOURNEY_LANDING_DIR", "MATOMO_TOKEN"} <= set(code)
    assert {name: where for name, where in code.items() if name not in documented} == {}
    assert sorted(set(documented) - set(code)) == []
    assert [
        name for name, (default, meaning) in documented.items() if not default or not meaning
    ] == []


def test_the_environment_variable_scan_sees_python_and_dbt_reads():
    """The scan itself: a quoted name in Python and an `env_var` in dbt are found; the
    README parser reads a row with several variables."""
    assert PYTHON_VARIABLE.findall('os.environ.get("JOURNEY_NEW_THING")') == ["JOURNEY_NEW_THING"]
    assert PYTHON_VARIABLE.findall('x = "STEP_START"') == []
    assert ENVIRON_READ.findall('os.environ.get("SPARK_HOME")') == ["SPARK_HOME"]
    assert ENVIRON_READ.findall("os.getenv('TZ', 'UTC')") == ["TZ"]
    assert DBT_VARIABLE.findall("{{ env_var( 'JOURNEY_X', 'd') }}") == ["JOURNEY_X"]
    row = "| `A_B`, `C_D` | unset | two |"
    assert DOCUMENTED_ROW.findall(row) == [("`A_B`, `C_D`", "unset", "two")]


@pytest.mark.parametrize(
    "target", sorted(set(re.findall(r"`make ([a-z-]+)`", README)) | {"demo", "test"})
)
def test_every_make_target_the_readme_names_exists(target):
    done = subprocess.run(
        ["make", "-n", target], cwd=PROJECT_ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr


def test_ci_runs_the_lint_and_exactly_the_readme_test_command():
    commands = [
        line.strip()
        for line in (PROJECT_ROOT / ".ci" / "run").read_text().splitlines()
        if line.strip()
        and not line.lstrip().startswith("#")
        and not line.startswith(("set ", "cd "))
    ]
    assert commands == ["make lint", "make test"]
    assert "make test    # install, run the whole test suite" in README


@pytest.mark.parametrize(
    "module",
    ["pipelines", "pipelines.identity", "devkit.demo", "devkit.sandbox", "bench.run",
     "bench.generate_bench", "bench.extract_bench", "bench.identity_bench",
     "bench.warehouse_bench", "bench.nightly_bench", "bench.night_models_bench",
     "bench.backfill_bench", "bench.publish_bench", "bench.report_bench", "bench.engine_bench"],
)  # fmt: skip
def test_every_python_command_the_readme_names_answers_help(module):
    done = subprocess.run(
        [sys.executable, "-m", module, "--help"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "usage" in done.stdout.lower()


def test_make_dev_loads_the_code_location_with_its_job_and_schedule(tmp_path):
    """What `make dev` serves: the workspace loads, the nightly job and schedule exist."""
    done = subprocess.run(
        [str(PROJECT_ROOT / ".venv" / "bin" / "dagster"), "definitions", "validate",
         "-w", "workspace.yaml"],
        cwd=PROJECT_ROOT,
        env={"PATH": "/usr/bin:/bin", "DAGSTER_HOME": str(tmp_path), "DO_NOT_TRACK": "1",
             "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    from pipelines.definitions import defs

    assert defs.resolve_job_def("nightly") is not None
    assert defs.resolve_schedule_def("nightly_schedule").cron_schedule == "0 2 * * *"


def test_the_output_tables_are_the_published_tables_each_with_its_grain():
    """README "Output tables" lists exactly the tables of the published schemas (the golden
    checksums of the demo builds, tests/dbt/golden/published.json, hold the published file's
    tables), each with its grain ("one row per …"). The e2e test_publish_surface checks the same
    list against a published file; this one fails without a build."""
    golden = json.loads((PROJECT_ROOT / "tests" / "dbt" / "golden" / "published.json").read_text())
    published = {table for build in golden.values() for table in build}
    section = README.split("\n## Output tables\n", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| `((?:marts|identity)\.[a-z_]+)` \| ([^|]+) \|$", section, re.M))
    assert len(published) >= 25
    assert sorted(rows) == sorted(published)
    assert [table for table, grain in rows.items() if not grain.startswith("one row")] == []


def test_every_make_target_with_help_is_in_the_readme():
    """`make help` lists the targets with a `## ` comment; the README names each."""
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    targets = re.findall(r"^([a-z-]+):.*## ", makefile, flags=re.M)
    assert {"demo", "test", "dev", "lint"} <= set(targets)
    assert [target for target in targets if f"`make {target}`" not in README] == []


def test_every_cli_command_is_in_the_readme():
    """Each `python -m pipelines <command>` (from its `--help`) is named in the README."""
    done = subprocess.run(
        [sys.executable, "-m", "pipelines", "--help"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    commands = re.search(r"\{([a-z,-]+)\}", done.stdout).group(1).split(",")  # type: ignore[union-attr]
    assert {"run", "report", "rollback", "check-connections"} <= set(commands)
    named = set(re.findall(r"python -m pipelines ([a-z-]+)", README))
    assert sorted(set(commands) - named) == []


def documentation_pages() -> list[Path]:
    """The project's Markdown: README, DECISIONS, docs/ and every folder's README."""
    skip = {"dbt_packages", "target", "node_modules"}
    folders = sorted(
        path
        for path in PROJECT_ROOT.glob("*/**/*.md")
        if not skip & set(path.relative_to(PROJECT_ROOT).parts)
        and not any(part.startswith(".") for part in path.relative_to(PROJECT_ROOT).parts)
        and (path.name == "README.md" or path.parent.name == "docs" or path.parent.name == "bench")
    )
    return [PROJECT_ROOT / "README.md", PROJECT_ROOT / "DECISIONS.md", *folders]


MARKDOWN_LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
CODE_SPAN = re.compile(r"`([A-Za-z0-9_./-]+)`")
REPOSITORY_FOLDERS = ("pipelines/", "dbt_project/", "docs/", "tests/", "config/", "devkit/",
                      "bench/", "expectations/", ".ci/")  # fmt: skip
FILE_SUFFIXES = (".md", ".py", ".sql", ".yml", ".yaml", ".csv", ".json", ".toml")
# what exists only after a run or a benchmark (git-ignored), or is a vendor's URL path
NOT_IN_THE_REPOSITORY = ("warehouse/", "bench/results/", "dbt_project/target/", "/",
                         "incremental/", ".generations/", "data/", "demo_data/")  # fmt: skip


def unresolved_references(page: Path) -> list[str]:
    """Links and code-span paths of `page` that name no file or folder of the repository.
    A code span counts as a path when it starts with a top folder, or has a folder and a
    file suffix; it may be relative to the page, the root, `pipelines/` or `dbt_project/`."""
    text = page.read_text()
    missing = [
        f"link {target}"
        for target in MARKDOWN_LINK.findall(text)
        if not target.startswith(("http://", "https://", "mailto:"))
        and not (page.parent / target).exists()
    ]
    for span in CODE_SPAN.findall(text):
        reference = span.rstrip(".,:")
        is_path = reference.startswith(REPOSITORY_FOLDERS) or (
            "/" in reference and reference.endswith(FILE_SUFFIXES)
        )
        if not is_path or reference.startswith(NOT_IN_THE_REPOSITORY):
            continue
        bases = (
            PROJECT_ROOT,
            page.parent,
            PROJECT_ROOT / "pipelines",
            PROJECT_ROOT / "dbt_project",
        )
        if not any((base / reference).exists() for base in bases):
            missing.append(f"`{reference}`")
    return missing


def test_the_docs_name_only_files_that_exist():
    """Docs drift is a bug: every Markdown link resolves, and every file or folder a page names
    in code (`pipelines/…`, `dbt_project/models/…/x.sql`) exists (what a run writes, under
    `warehouse/`, is not checked)."""
    pages = documentation_pages()
    assert {"README.md", "DECISIONS.md", "docs/operations.md", "dbt_project/README.md"} <= {
        str(page.relative_to(PROJECT_ROOT)) for page in pages
    }
    missing = {
        str(page.relative_to(PROJECT_ROOT)): found
        for page in pages
        if (found := unresolved_references(page))
    }
    assert missing == {}


def test_a_reference_to_a_missing_file_is_found(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "[here](gone.md), [there](page.md), `pipelines/gone.py`, `pipelines/cli.py`, "
        "`warehouse/reports/latest.md`, `quality/docs.py`\n"
    )
    assert unresolved_references(page) == ["link gone.md", "`pipelines/gone.py`"]


def test_the_docs_name_only_environment_variables_the_code_knows():
    """A renamed or removed setting leaves no page naming the old one (DECISIONS.md may name a
    rejected alternative)."""
    code = code_environment_variables()
    pages = [page for page in documentation_pages() if page.name != "DECISIONS.md"]
    stale = {
        str(page.relative_to(PROJECT_ROOT)): unknown
        for page in [*pages, PROJECT_ROOT / ".env.example"]
        if (unknown := sorted(set(SETTING_NAME.findall(page.read_text())) - set(code)))
    }
    assert stale == {}


def test_every_python_module_the_docs_run_exists_and_runs_as_a_script():
    """`python -m <module>` in any page names a module of the repository that runs as a
    script (a `__main__.py`, or an `if __name__ == "__main__"` block)."""
    named = {
        module
        for page in documentation_pages()
        for module in re.findall(r"python -m ([a-z_][a-z0-9_.]*[a-z0-9_])", page.read_text())
        if module.split(".")[0] in {"pipelines", "devkit", "bench", "tests"}
    }
    assert {"pipelines", "bench.run", "pipelines.extract.derive"} <= named

    def runs_as_script(module: str) -> bool:
        path = PROJECT_ROOT.joinpath(*module.split("."))
        if (path / "__main__.py").exists():
            return True
        script = path.with_suffix(".py")
        return script.exists() and '__name__ == "__main__"' in script.read_text()

    assert sorted(module for module in named if not runs_as_script(module)) == []


def test_every_dbt_var_is_in_the_dbt_project_readme():
    """The business rules analysts tune (dbt vars in dbt_project.yml) each have a row in
    dbt_project/README.md's "Vars" table, with its default and meaning."""
    project = yaml.safe_load((PROJECT_ROOT / "dbt_project" / "dbt_project.yml").read_text())
    readme = (PROJECT_ROOT / "dbt_project" / "README.md").read_text()
    section = readme.split("\n## Vars\n", 1)[1].split("\n## ", 1)[0]
    documented = {
        name
        for names, default, meaning in re.findall(
            r"^\| ((?:`[a-z_]+`(?:, )?)+) \| ([^|]+) \| ([^|]+) \|$", section, re.M
        )
        for name in re.findall(r"`([a-z_]+)`", names)
        if default.strip() and meaning.strip()
    }
    assert {"session_max_minutes", "money_scale"} <= set(project["vars"])
    assert sorted(set(project["vars"]) - documented) == []


def test_decisions_holds_one_entry_per_decision_and_no_benchmark_diary():
    """DECISIONS.md: each entry opens with its decision in bold, no two entries have the same
    decision, and no entry is a dated measurement (figures go to bench/FIGURES.md with their
    date and load)."""
    text = (PROJECT_ROOT / "DECISIONS.md").read_text()
    titles = re.findall(r"^\*\*(.+?)\*\*", text, flags=re.M | re.S)
    assert len(titles) >= 80
    normalised = [re.sub(r"[^a-z0-9]+", " ", title.lower()).strip() for title in titles]
    assert sorted({t for t in normalised if normalised.count(t) > 1}) == []
    diary = re.findall(r"\b20\d\d-\d\d-\d\d\b.*|load average.*", text)
    assert diary == []


def test_the_readme_states_each_settings_literal_default():
    """A default written as a literal in pipelines/settings.py (`integer("JOURNEY_LOOKBACK_DAYS",
    3)`) is the one the README's row states; `unset` where the setting has none."""
    source = (PROJECT_ROOT / "pipelines" / "settings.py").read_text()
    defaults = re.findall(
        r'\b(?:text|integer|number|get)\("([A-Z_]+)", ("[^"]*"|[0-9.]+)\)', source
    )
    assert len(defaults) >= 10
    documented = readme_environment_variables()
    wrong = {}
    for name, literal in defaults:
        value = literal.strip('"')
        if not literal.startswith('"'):
            value = f"{float(value):g}"  # 30.0 is written 30
        stated = documented[name][0]
        if value == "0" and name == "JOURNEY_HTTP_PAGE_SIZE":
            continue  # 0: each vendor's own page size, which the row lists
        if f"`{value}`" not in stated:
            wrong[name] = (value, stated)
    assert wrong == {}
    for name in re.findall(r'\b(?:get|optional_path)\("([A-Z_]+)"\)', source):
        assert documented[name][0].startswith("unset"), name


def test_the_dbt_project_readme_lists_the_same_published_tables():
    """dbt_project/README.md's "Output tables" (by schema) names the tables the README lists."""
    readme = (PROJECT_ROOT / "dbt_project" / "README.md").read_text()
    section = readme.split("\n## Output tables\n", 1)[1].split("\n## ", 1)[0]
    listed = {
        f"{schema}.{table}"
        for names, schema in re.findall(
            r"^\| ((?:`[a-z_]+`(?:, )?)+) \| (marts|identity) \|", section, re.M
        )
        for table in re.findall(r"`([a-z_]+)`", names)
    }
    top = README.split("\n## Output tables\n", 1)[1].split("\n## ", 1)[0]
    assert listed == set(re.findall(r"^\| `((?:marts|identity)\.[a-z_]+)` \|", top, re.M))


def test_every_metric_is_named_in_the_readme():
    """The README's "Metrics" section names every MetricFlow metric of the semantic layer."""
    metrics_file = PROJECT_ROOT / "dbt_project" / "models" / "semantic" / "_metrics.yml"
    names = [metric["name"] for metric in yaml.safe_load(metrics_file.read_text())["metrics"]]
    section = README.split("\n## Metrics (the semantic layer)\n", 1)[1].split("\n## ", 1)[0]
    assert len(names) >= 40
    assert [name for name in names if f"`{name}`" not in section] == []


def test_every_module_of_the_product_is_named_where_its_package_is_described():
    """Each module of `pipelines/` and its packages, `devkit/` and `bench/` is named in the
    package's README (or, without one, its `__init__` docstring): the folder's map a newcomer
    reads first."""
    unnamed = []
    packages = [PROJECT_ROOT / "pipelines", *sorted((PROJECT_ROOT / "pipelines").iterdir())]
    for package in [*packages, PROJECT_ROOT / "devkit", PROJECT_ROOT / "bench"]:
        if not (package / "__init__.py").exists():
            continue
        readme = package / "README.md"
        text = readme.read_text() if readme.exists() else (package / "__init__.py").read_text()
        for module in sorted(package.glob("*.py")):
            name = module.stem
            if name not in ("__init__", "__main__") and not re.search(rf"\b{name}\b", text):
                unnamed.append(str(module.relative_to(PROJECT_ROOT)))
    assert unnamed == []


def test_every_makefile_variable_a_user_may_set_is_in_the_readme():
    """The Makefile's overridable variables (`NAME ?= default`) and argument pass-throughs
    (`$(DEMO_ARGS)`) are each named in the README."""
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    names = set(re.findall(r"^(?:export )?([A-Z_]+) \?=", makefile, flags=re.M))
    names |= set(re.findall(r"\$\(([A-Z_]+_ARGS)\)", makefile))
    assert {"DEV_PORT", "DEMO_ARGS", "PYTHON"} <= names
    assert sorted(name for name in names if not re.search(rf"\b{name}\b", README)) == []
