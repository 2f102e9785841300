"""Is a pseudonymisation key strong enough? (Read by `pipelines.settings`, so it imports
nothing of the project.)

A key a person could guess or brute-force is refused: shorter than 32 characters, under about
128 bits of estimated entropy (length × the Shannon entropy of its characters), a repeated
pattern, or a long run of consecutive characters (`abcdef…`, `0123…`). The message names the
variable and says how to make a good key; it never shows the key.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter

MIN_KEY_LENGTH = 32
MIN_KEY_BITS = 128
MAX_CONSECUTIVE_RUN = 8
GENERATE_HINT = (
    "generate one with `python -c 'import secrets; print(secrets.token_urlsafe(32))'` and keep "
    "it safe (it cannot be recovered from the warehouse)"
)


def estimated_bits(value: str) -> float:
    """Length × Shannon entropy of the value's characters (an upper estimate for random keys,
    low for repeated characters)."""
    if not value:
        return 0.0
    counts = Counter(value)
    per_char = -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())
    return per_char * len(value)


def _longest_consecutive_run(value: str) -> int:
    longest, run, step = 1, 1, 0
    for previous, current in itertools.pairwise(value):
        delta = ord(current) - ord(previous)
        if delta in (1, -1) and (run == 1 or delta == step):
            run, step = run + 1, delta
        else:
            run, step = 1, 0
        longest = max(longest, run)
    return longest


def _is_periodic(value: str) -> bool:
    return (value + value).find(value, 1) < len(value)


def weak_key_message(value: str, variable: str) -> str | None:
    """Why `value` is not a strong key (a message naming `variable`), or None when it is."""
    problems = []
    if len(value) < MIN_KEY_LENGTH:
        problems.append(f"{len(value)} characters, at least {MIN_KEY_LENGTH} are needed")
    if _is_periodic(value):
        problems.append("it repeats a shorter pattern")
    bits = estimated_bits(value)
    if bits < MIN_KEY_BITS:
        problems.append(
            f"about {bits:.0f} bits of entropy, at least {MIN_KEY_BITS} are needed "
            "(too few different characters)"
        )
    run = _longest_consecutive_run(value)
    if run > MAX_CONSECUTIVE_RUN:
        problems.append(f"it holds a run of {run} consecutive characters (like abcdef or 1234)")
    if not problems:
        return None
    return f"{variable} is too weak: {'; '.join(problems)}; {GENERATE_HINT}"
