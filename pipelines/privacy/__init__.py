"""Privacy: what must never leave the build, and the keys that protect the rest.

Modules (none imports Dagster):

* `secrets` — every form a credential can take in text (raw, URL-encoded, base64 of a basic-auth
  pair) and a `Scrubber` that removes them from anything the project logs, reports or posts.
* `keys` — the pseudonymisation key: strength, fingerprint stored with the warehouse, rotation.
* `samples` — failed-check samples pseudonymised like the published tables (masked without a key).
"""
