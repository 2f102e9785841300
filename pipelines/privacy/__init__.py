"""Privacy: what must never leave the build, and the keys that protect the rest.

Modules (none imports Dagster):

* `secrets` — every form a credential can take in text (raw, URL-encoded, base64 of a basic-auth
  pair) and a `Scrubber` that removes them from anything the project logs, reports or posts.
* `strength` — is a pseudonymisation key strong enough (read by the settings).
* `keys` — the pseudonymisation key's fingerprint, stored with the warehouse, and rotation.
* `samples` — failed-check samples pseudonymised like the published tables (masked without a key).
"""
