"""`python -m pipelines check-connections`: is each configured vendor reachable with these
settings? One cheap authenticated request per vendor, no data read, nothing written.

| source | request | what it tells |
|---|---|---|
| Matomo | `SitesManager.getSiteFromId` for `MATOMO_SITE_ID` (token in the POST body) | the token is known; its user can view the site |
| Mailchimp | `GET /lists/{MAILCHIMP_LIST_ID}` | the API key (and its data centre) is valid; the audience exists |
| Shopify | `GET /admin/oauth/access_scopes.json` | the Admin API token is valid; it has `read_orders` and `read_customers` |
| Zendesk | `GET /api/v2/users/me.json` | the email/token pair is valid; the user is an admin (incremental exports need one) |

Each answer becomes one `ConnectionResult`: ok, or the exact problem — bad credentials,
missing scope (or role), wrong site id, wrong list id, unreachable host, a misconfiguration
(partly set variables, a base URL that is not the vendor's API), not configured. Credentials
never appear in a result: vendor texts are scrubbed of every secret before they are quoted.
File drops (`JOURNEY_DROP_DIR`) are checked too: the folder exists and holds stream folders.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from pipelines.extract.streams import streams_of
from pipelines.settings import SOURCE_VARIABLES, Secret, Settings, SettingsError

SOURCES = ("matomo", "mailchimp", "shopify", "zendesk")
CHECK_TIMEOUT_SECONDS = 15.0
SHOPIFY_SCOPES = {"read_orders": "orders and abandoned checkouts", "read_customers": "customers"}

OK = "ok"
NOT_CONFIGURED = "not configured"
BAD_CREDENTIALS = "bad credentials"
MISSING_SCOPE = "missing scope"
WRONG_SITE = "wrong site id"
WRONG_LIST = "wrong list id"
UNREACHABLE = "unreachable host"
MISCONFIGURED = "misconfigured"
UNEXPECTED = "unexpected answer"


@dataclass(frozen=True)
class ConnectionResult:
    source: str
    outcome: str
    """`ok`, `not configured`, or the problem: bad credentials, missing scope, wrong site id,
    wrong list id, unreachable host, misconfigured, unexpected answer."""
    message: str

    @property
    def failed(self) -> bool:
        return self.outcome not in (OK, NOT_CONFIGURED)


class _Problem(Exception):
    def __init__(self, outcome: str, message: str) -> None:
        super().__init__(message)
        self.outcome = outcome


def _only(source: str, environ: Mapping[str, str]) -> dict[str, str]:
    """The environment with every other vendor's variables removed (checked one by one)."""
    others = {
        name for other, names in SOURCE_VARIABLES.items() if other != source for name in names
    }
    return {name: value for name, value in environ.items() if name not in others}


def check_connections(environ: Mapping[str, str] | None = None) -> list[ConnectionResult]:
    """One result per vendor (in a fixed order) and one for file drops."""
    env = dict(os.environ if environ is None else environ)
    results = [_check_source(source, env) for source in SOURCES]
    results.append(_check_drops(env))
    return results


def _check_source(source: str, env: Mapping[str, str]) -> ConnectionResult:
    try:
        settings = Settings.from_env(_only(source, env))
    except SettingsError as error:
        return ConnectionResult(source, MISCONFIGURED, str(error))
    configured = getattr(settings, source)
    if configured is None:
        return ConnectionResult(
            source, NOT_CONFIGURED, f"set {', '.join(SOURCE_VARIABLES[source])} to pull it"
        )
    timeout = min(settings.http.timeout_seconds, CHECK_TIMEOUT_SECONDS)
    check = CHECKS[source]
    secrets = [value for value in vars(configured).values() if isinstance(value, Secret)]
    try:
        message = check(configured, timeout)
    except _Problem as problem:
        return ConnectionResult(source, problem.outcome, _scrub(str(problem), secrets))
    except requests.Timeout:
        return ConnectionResult(
            source,
            UNREACHABLE,
            f"no answer from {_host(configured.base_url)} within {timeout:g} s; check "
            f"{source.upper()}_BASE_URL and the network (proxy, firewall)",
        )
    except requests.ConnectionError as error:
        return ConnectionResult(
            source,
            UNREACHABLE,
            f"cannot connect to {_host(configured.base_url)} ({_reason(error)}); check "
            f"{source.upper()}_BASE_URL and the network (proxy, firewall)",
        )
    return ConnectionResult(source, OK, _scrub(message, secrets))


def _check_drops(env: Mapping[str, str]) -> ConnectionResult:
    try:
        folder = Settings.from_env(_only("filedrop", env)).drop_dir
    except SettingsError as error:
        return ConnectionResult("filedrop", MISCONFIGURED, str(error))
    if folder is None:
        return ConnectionResult(
            "filedrop", NOT_CONFIGURED, "set JOURNEY_DROP_DIR to land file drops"
        )
    if not folder.is_dir():
        return ConnectionResult(
            "filedrop", MISCONFIGURED, f"JOURNEY_DROP_DIR={folder} is not a folder"
        )
    present = [stream for stream in streams_of("filedrop") if (folder / stream).is_dir()]
    if not present:
        return ConnectionResult(
            "filedrop",
            OK,
            f"{folder} exists; no stream folder yet (e.g. {folder}/nps_responses/), "
            "docs/contracts.md §4",
        )
    return ConnectionResult(
        "filedrop", OK, f"{folder}: {len(present)} stream folder(s), {', '.join(present)}"
    )


# ---- vendors -------------------------------------------------------------------------------


def _json(response: requests.Response, source: str) -> Any:
    try:
        return response.json()
    except ValueError:
        kind = response.headers.get("Content-Type", "no content type").split(";")[0]
        raise _Problem(
            MISCONFIGURED,
            f"{_path(response.url)} answered HTTP {response.status_code} with {kind}, not the "
            f"vendor's JSON: check {source.upper()}_BASE_URL",
        ) from None


def _detail(data: Any) -> str:
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict):  # Zendesk's 403: {"error": {"title", "message"}}
            data = error
        parts = [
            str(data[key])
            for key in ("title", "detail", "errors", "error", "message", "description")
            if data.get(key)
        ]
        if parts:
            return ": ".join(parts)[:300]
    return str(data)[:300]


def _refused(
    vendor: str, variables: str, response: requests.Response, detail: str, hint: str
) -> _Problem:
    return _Problem(
        BAD_CREDENTIALS,
        f"{vendor} refused {variables} (HTTP {response.status_code}: {detail}). {hint}",
    )


def _check_matomo(settings, timeout: float) -> str:
    response = requests.post(
        f"{settings.base_url}/index.php",
        params={
            "module": "API",
            "method": "SitesManager.getSiteFromId",
            "idSite": settings.site_id,
            "format": "JSON",
        },
        data={"token_auth": settings.token.reveal()},
        timeout=timeout,
    )
    data = _json(response, "matomo")
    if isinstance(data, dict) and data.get("result") == "error":
        message = str(data.get("message", ""))
        lowered = message.lower()
        if "authenticate" in lowered or "token_auth" in lowered:
            raise _Problem(
                BAD_CREDENTIALS,
                f"Matomo does not know MATOMO_TOKEN ({message}). Create a token under "
                "Administration > Personal > Security",
            )
        if "website id" in lowered or "idsite" in lowered or "access" in lowered:
            raise _Problem(
                WRONG_SITE,
                f"the token's user cannot view site {settings.site_id} ({message}). Check "
                "MATOMO_SITE_ID (Administration > Websites > Manage), or give the user view "
                "access to it",
            )
        raise _Problem(UNEXPECTED, f"Matomo answered with an error: {message}")
    if response.status_code != 200 or not isinstance(data, dict) or "idsite" not in data:
        raise _Problem(
            MISCONFIGURED,
            f"{_path(response.url)} answered HTTP {response.status_code} without a site: check "
            "MATOMO_BASE_URL points at the Matomo root (where index.php is)",
        )
    return (
        f"{settings.base_url}: site {data['idsite']} “{data.get('name', '')}” "
        f"({data.get('main_url', '')}), view access"
    )


def _check_mailchimp(settings, timeout: float) -> str:
    key = settings.api_key.reveal()
    host = urlsplit(settings.base_url).hostname or ""
    centre = key.rsplit("-", 1)[-1] if "-" in key else None
    if host.endswith(".api.mailchimp.com") and centre and not host.startswith(f"{centre}."):
        raise _Problem(
            MISCONFIGURED,
            f"the API key belongs to data centre {centre} but MAILCHIMP_BASE_URL points at "
            f"{host}: use https://{centre}.api.mailchimp.com/3.0",
        )
    response = requests.get(
        f"{settings.base_url}/lists/{settings.list_id}",
        params={"fields": "id,name,stats.member_count"},
        auth=("journey-warehouse", key),
        timeout=timeout,
    )
    data = _json(response, "mailchimp")
    if response.status_code in (401, 403):
        raise _refused(
            "Mailchimp",
            "MAILCHIMP_API_KEY",
            response,
            _detail(data),
            "Create a key under Profile > Extras > API keys; MAILCHIMP_BASE_URL's data centre "
            "must match the key's suffix",
        )
    if response.status_code == 404:
        raise _Problem(
            WRONG_LIST,
            f"no audience {settings.list_id} in this account (HTTP 404: {_detail(data)}). "
            "MAILCHIMP_LIST_ID is the Audience ID under Audience > Settings > Audience name and "
            "defaults",
        )
    if response.status_code != 200 or not isinstance(data, dict):
        raise _Problem(UNEXPECTED, f"HTTP {response.status_code}: {_detail(data)}")
    members = (data.get("stats") or {}).get("member_count")
    return f"audience {data.get('id')} “{data.get('name', '')}” ({members} members)"


def _check_shopify(settings, timeout: float) -> str:
    response = requests.get(
        f"{settings.base_url}/oauth/access_scopes.json",
        headers={"X-Shopify-Access-Token": settings.access_token.reveal()},
        timeout=timeout,
    )
    data = _json(response, "shopify")
    if response.status_code in (401, 403):
        raise _refused(
            "Shopify",
            "SHOPIFY_ACCESS_TOKEN",
            response,
            _detail(data),
            "Use the Admin API access token of a custom app installed on this shop",
        )
    if response.status_code == 404:
        raise _Problem(
            MISCONFIGURED,
            f"{_path(response.url)} does not exist (HTTP 404): SHOPIFY_BASE_URL must be "
            "https://<shop>.myshopify.com/admin",
        )
    scopes = {item.get("handle") for item in (data or {}).get("access_scopes", [])}
    if response.status_code != 200 or not scopes:
        raise _Problem(UNEXPECTED, f"HTTP {response.status_code}: {_detail(data)}")
    missing = [scope for scope in SHOPIFY_SCOPES if scope not in scopes]
    if missing:
        needed = ", ".join(f"{scope} ({SHOPIFY_SCOPES[scope]})" for scope in missing)
        raise _Problem(
            MISSING_SCOPE,
            f"the token lacks {needed}. Add the scope(s) to the app's Admin API access scopes "
            "and install the app again",
        )
    note = (
        ""
        if "read_all_orders" in scopes
        else "; without read_all_orders only the last 60 days of orders can be read"
    )
    return f"token with {', '.join(sorted(scopes))}{note}"


def _check_zendesk(settings, timeout: float) -> str:
    response = requests.get(
        f"{settings.base_url}/api/v2/users/me.json",
        auth=(f"{settings.email}/token", settings.api_token.reveal()),
        timeout=timeout,
    )
    data = _json(response, "zendesk")
    user = (data or {}).get("user") if isinstance(data, dict) else None
    if response.status_code in (401, 403) or (
        response.status_code == 200 and not (user or {}).get("id")
    ):
        raise _refused(
            "Zendesk",
            "ZENDESK_EMAIL / ZENDESK_API_TOKEN",
            response,
            _detail(data) if response.status_code != 200 else "signed in as an anonymous user",
            "Create a token under Admin Center > Apps and integrations > Zendesk API, with token "
            "access enabled",
        )
    if response.status_code != 200 or not isinstance(user, dict):
        raise _Problem(
            MISCONFIGURED,
            f"{_path(response.url)} answered HTTP {response.status_code}: check ZENDESK_BASE_URL "
            "is https://<subdomain>.zendesk.com",
        )
    role = user.get("role")
    if role != "admin":
        raise _Problem(
            MISSING_SCOPE,
            f"{user.get('email', settings.email)} is an {role}: Zendesk's incremental exports "
            "(tickets, users) need an admin. Use an admin's email and API token",
        )
    return f"{user.get('email', settings.email)} (admin)"


CHECKS: dict[str, Callable[[Any, float], str]] = {
    "matomo": _check_matomo,
    "mailchimp": _check_mailchimp,
    "shopify": _check_shopify,
    "zendesk": _check_zendesk,
}


# ---- helpers -------------------------------------------------------------------------------


def _host(url: str) -> str:
    parts = urlsplit(url)
    return parts.netloc.rsplit("@", 1)[-1] or url


def _path(url: str) -> str:
    return urlsplit(url).path or "/"


def _reason(error: requests.ConnectionError) -> str:
    text = str(error)
    for reason in ("Name or service not known", "Connection refused", "No route to host",
                   "Temporary failure in name resolution", "certificate verify failed"):  # fmt: skip
        if reason in text:
            return reason.lower()
    return type(error).__name__


def _scrub(text: str, secrets: list[Secret]) -> str:
    for secret in secrets:
        if secret.reveal():
            text = text.replace(secret.reveal(), "***")
    return text


def render(results: list[ConnectionResult]) -> str:
    """One line per source, then the verdict."""
    width = max(len(result.outcome) for result in results)
    lines = [
        f"{result.source:<10} {result.outcome:<{width}}  {result.message}" for result in results
    ]
    configured = [result for result in results if result.outcome != NOT_CONFIGURED]
    failed = [result for result in results if result.failed]
    if not configured:
        lines.append("\nNothing is configured: see docs/getting-started.md.")
    elif failed:
        lines.append(f"\n{len(failed)} of {len(configured)} configured source(s) failed.")
    else:
        lines.append(f"\nAll {len(configured)} configured source(s) answered.")
    return "\n".join(lines)


def exit_code(results: list[ConnectionResult]) -> int:
    """1 if a configured source failed or none is configured, else 0."""
    if any(result.failed for result in results):
        return 1
    return 0 if any(result.outcome == OK for result in results) else 1


__all__ = ["ConnectionResult", "check_connections", "exit_code", "render"]
