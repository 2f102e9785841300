"""Every command in the README is run as printed by some test (tests/readme.py: TESTED_BY)."""

from __future__ import annotations

from pipelines.settings import PROJECT_ROOT
from tests.readme import TESTED_BY, readme_commands


def test_every_readme_command_is_run_by_a_test():
    untested = [
        command.text
        for command in readme_commands()
        if not any((command.text + " ").startswith(prefix) for prefix in TESTED_BY)
    ]
    assert untested == []


def test_each_registered_test_runs_the_readme_command_it_is_registered_for():
    """The test named for a command takes it from the README (`readme_command("<prefix>")`, or
    the e2e pipeline's `.readme(...)` / `.readme_run(...)`)."""
    for prefix, where in TESTED_BY.items():
        path = where.split("::")[0].split(" ")[0]
        if not path.startswith("tests/"):
            continue  # CI runs `make test`
        source = (PROJECT_ROOT / path).read_text()
        if prefix.startswith("make "):
            assert f'"{prefix.split()[1]}"' in source or prefix in source, (prefix, path)
        else:
            literal = prefix.replace("\n", "\\n")  # as a Python string literal spells it
            calls = (
                f'readme_command("{literal}")',
                f'.readme("{literal}"',
                f'.readme_run("{literal}"',
            )
            assert any(call in source for call in calls), (prefix, path)


def test_the_commands_in_the_readme_exist():
    texts = [command.text for command in readme_commands()]
    assert sum(text.startswith(".venv/bin/python -m pipelines run") for text in texts) == 4
    assert any("check-connections" in text for text in texts)
