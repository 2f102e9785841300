"""The project's own error type: a failure the user can act on, said in one line.

`python -m pipelines` prints a `JourneyError` as one line (what, where, what to do) and exits
non-zero; anything else is a bug and keeps its traceback.
"""


class JourneyError(Exception):
    """A failure with a message that says what went wrong, where, and what to do."""
