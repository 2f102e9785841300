"""Typed configuration: the one place that reads the environment.

Every setting the project honours is declared here, with its environment variable and its
default, and documented in README.md ("Configuration") and `.env.example`. Nothing reads the
environment at import time: call `Settings.from_env()` when a run starts.

Secrets (tokens, API keys, the pseudonymisation key) are held in `Secret`, whose repr and str
never show the value, so they cannot leak into logs, run metadata or exception messages.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pipelines.errors import JourneyError
from pipelines.privacy.secrets import Scrubber, secret_forms, url_secret_forms
from pipelines.privacy.strength import weak_key_message

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"


# The variables that configure each vendor source (all set: pulled; none set: skipped).
SOURCE_VARIABLES = {
    "matomo": ("MATOMO_BASE_URL", "MATOMO_TOKEN", "MATOMO_SITE_ID"),
    "mailchimp": ("MAILCHIMP_BASE_URL", "MAILCHIMP_API_KEY", "MAILCHIMP_LIST_ID"),
    "shopify": ("SHOPIFY_BASE_URL", "SHOPIFY_ACCESS_TOKEN"),
    "zendesk": ("ZENDESK_BASE_URL", "ZENDESK_EMAIL", "ZENDESK_API_TOKEN"),
}


ENGINES = ("duckdb", "spark")
"""JOURNEY_ENGINE: where dbt builds the warehouse (docs/scale-out.md)."""

DEFAULT_DUCKDB_MEMORY_LIMIT = "2GB"
"""JOURNEY_DUCKDB_MEMORY_LIMIT's default; dbt_project/profiles.yml repeats it for dbt runs that
do not go through `dbt_environment` (tests/test_settings.py keeps the two equal)."""

_MEMORY_SIZE = re.compile(r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$", re.IGNORECASE)


@dataclass(frozen=True)
class DuckdbLimits:
    """What a heavy DuckDB connection of the pipeline may hold in memory, and where it spills.

    Without a limit DuckDB takes up to 80 % of the machine's memory (7.1 GB peak at 100k
    persons, issue 17); with one it spills hash tables and sorts to `temp_directory`."""

    memory_limit: str
    temp_directory: Path

    def apply(self, con: _Executes) -> None:
        """Set the limits on an open DuckDB connection (DuckDB creates the spill folder when it
        first spills, but not its parents). The folder is set only when it differs: a database
        that has spilled refuses any later `SET temp_directory`, even to the same folder, and
        connections to one file in one process share its database."""
        self.temp_directory.parent.mkdir(parents=True, exist_ok=True)
        folder = str(self.temp_directory)
        con.execute(f"SET memory_limit = '{self.memory_limit}'")
        current = con.execute("select current_setting('temp_directory')").fetchone()
        if current is None or current[0] != folder:
            con.execute("SET temp_directory = '{}'".format(folder.replace("'", "''")))


class _Executes(Protocol):
    def execute(self, query: str, /) -> Any: ...


class SettingsError(JourneyError, ValueError):
    """A setting is present but unusable (the message names the variable)."""


@dataclass(frozen=True)
class Secret:
    """A credential. Its value is only reachable through `.reveal()`."""

    value: str = field(repr=False)

    def reveal(self) -> str:
        return self.value

    def __str__(self) -> str:
        return "***"

    def __repr__(self) -> str:
        return "Secret(***)"

    def __bool__(self) -> bool:
        return bool(self.value)


@dataclass(frozen=True)
class MatomoSettings:
    base_url: str
    token: Secret
    site_id: str


@dataclass(frozen=True)
class MailchimpSettings:
    base_url: str
    api_key: Secret
    list_id: str
    window_days: int = 30
    """Campaigns sent this many days before a night's window (and automations) have their
    recipients, activity and unsubscribes pulled again (JOURNEY_MAILCHIMP_WINDOW_DAYS)."""

    @property
    def basic_auth(self) -> tuple[str, Secret]:
        """HTTP Basic auth: any user name, the API key as password."""
        return ("journey-warehouse", self.api_key)


@dataclass(frozen=True)
class ShopifySettings:
    base_url: str
    access_token: Secret
    api_version: str


@dataclass(frozen=True)
class ZendeskSettings:
    base_url: str
    email: str
    api_token: Secret

    @property
    def basic_auth(self) -> tuple[str, Secret]:
        """HTTP Basic auth with an API token: `{email}/token` and the token."""
        return (f"{self.email}/token", self.api_token)


@dataclass(frozen=True)
class HttpSettings:
    timeout_seconds: float = 30.0
    max_retries: int = 5
    backoff_base_seconds: float = 0.5
    backoff_max_seconds: float = 60.0
    page_size: int | None = None
    """Records per request for every connector (capped at each vendor's maximum); None uses
    the vendor maximum. For tests and troubleshooting."""


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    warehouse_path: Path
    build_dir: Path
    export_dir: Path
    docs_dir: Path
    report_dir: Path
    drop_dir: Path | None
    erasure_file: Path | None
    lookback_days: int
    quarantine_max_share: float
    """Share of a stream's records one night may quarantine and still publish (0..1)."""
    partitions_start: date
    schedule_cron: str
    schedule_timezone: str
    failure_webhook_url: Secret | None
    """The whole URL is a secret: chat webhooks carry their token in the path."""
    pseudonymize_key: Secret | None
    http: HttpSettings
    matomo: MatomoSettings | None
    mailchimp: MailchimpSettings | None
    shopify: ShopifySettings | None
    zendesk: ZendeskSettings | None
    postgres_url: Secret | None = None
    """PostgreSQL target of the analyst surface (libpq URL; off when None)."""
    engine: str = "duckdb"
    """Where dbt builds the warehouse (JOURNEY_ENGINE): `duckdb`, or `spark` through dbt-spark
    (docs/scale-out.md); publishing makes the same surfaces from either."""
    spark_master: str = "local[2]"
    """The Spark master of an engine `spark` build (JOURNEY_SPARK_MASTER): local[N] or a cluster URL."""
    duckdb_memory_limit: str = DEFAULT_DUCKDB_MEMORY_LIMIT
    """Memory DuckDB may use inside dbt and in the heavy queries of checks and publishing
    (JOURNEY_DUCKDB_MEMORY_LIMIT, e.g. `2GB`); beyond it DuckDB spills to `duckdb_limits`'
    temp folder."""
    spark_driver_memory: str = "2g"
    """The Spark driver's heap (JOURNEY_SPARK_DRIVER_MEMORY): dbt's profile and the identity step."""
    spark_shuffle_partitions: int = 4
    """`spark.sql.shuffle.partitions` (JOURNEY_SPARK_SHUFFLE_PARTITIONS); the identity step deals
    its components into as many groups (pipelines/spark/identity.py)."""

    def yesterday(self, now: datetime | None = None) -> date:
        """The data day a night covers by default: yesterday in the schedule's time zone."""
        return yesterday_in(self.schedule_timezone, now)

    @property
    def landing_dir(self) -> Path:
        return self.data_dir / "landing"

    @property
    def quarantine_dir(self) -> Path:
        return self.data_dir / "quarantine"

    @property
    def state_dir(self) -> Path:
        return self.data_dir / "state"

    @property
    def build_warehouse_path(self) -> Path:
        return self.build_dir / self.warehouse_path.name

    @property
    def build_identity_dir(self) -> Path:
        return self.build_dir / "identity"

    @property
    def duckdb_limits(self) -> DuckdbLimits:
        """The memory limit and spill folder (`<JOURNEY_BUILD_DIR>/duckdb_spill`, beside the
        staging warehouse) of dbt's DuckDB and our heavy connections."""
        return DuckdbLimits(self.duckdb_memory_limit, self.build_dir / "duckdb_spill")

    @property
    def spark_dir(self) -> Path:
        """An engine `spark` build's Parquet tables (`warehouse/`) and its Derby metastore."""
        return self.build_dir / "spark"

    @property
    def previous_warehouse_path(self) -> Path:
        return self.warehouse_path.with_name(
            self.warehouse_path.stem + ".previous" + self.warehouse_path.suffix
        )

    def scrubber(self) -> Scrubber:
        """Removes every credential these settings hold, in every form, from a text."""
        forms: set[str] = set()
        for source in (self.matomo, self.shopify):
            if source is not None:
                token = source.token if isinstance(source, MatomoSettings) else source.access_token
                forms |= secret_forms(token.reveal())
        for basic in (self.mailchimp, self.zendesk):
            if basic is not None:
                user, secret = basic.basic_auth
                forms |= secret_forms(secret.reveal(), basic_auth_users=[user])
        if self.pseudonymize_key:
            forms |= secret_forms(self.pseudonymize_key.reveal())
        if self.failure_webhook_url:
            forms |= url_secret_forms(self.failure_webhook_url.reveal())
        return Scrubber.of(forms)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ

        def get(name: str, default: str | None = None) -> str | None:
            value = env.get(name)
            if value is None or value.strip() == "":
                return default
            return value.strip()

        def text(name: str, default: str) -> str:
            return get(name) or default

        def optional_path(name: str) -> Path | None:
            value = get(name)
            if value is None:
                return None
            candidate = Path(value).expanduser()
            return candidate if candidate.is_absolute() else (Path.cwd() / candidate)

        def path(name: str, default: Path) -> Path:
            return optional_path(name) or default

        def integer(name: str, default: int) -> int:
            value = get(name)
            if value is None:
                return default
            try:
                return int(value)
            except ValueError as error:
                raise SettingsError(f"{name} must be an integer, got {value!r}") from error

        def number(name: str, default: float) -> float:
            value = get(name)
            if value is None:
                return default
            try:
                return float(value)
            except ValueError as error:
                raise SettingsError(f"{name} must be a number, got {value!r}") from error

        data_dir = path("JOURNEY_DATA_DIR", Path.cwd() / "data")
        warehouse_path = path("JOURNEY_WAREHOUSE_PATH", Path.cwd() / "warehouse" / "journey.duckdb")
        warehouse_dir = warehouse_path.parent

        start = text("JOURNEY_PARTITIONS_START", "2025-01-01")
        try:
            partitions_start = date.fromisoformat(start)
        except ValueError as error:
            raise SettingsError(
                f"JOURNEY_PARTITIONS_START must be a date (YYYY-MM-DD), got {start!r}"
            ) from error

        schedule_timezone = text("JOURNEY_SCHEDULE_TIMEZONE", "UTC")
        try:
            ZoneInfo(schedule_timezone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise SettingsError(
                "JOURNEY_SCHEDULE_TIMEZONE must be an IANA time zone like Europe/Berlin or UTC, "
                f"got {schedule_timezone!r}"
            ) from error

        lookback_days = integer("JOURNEY_LOOKBACK_DAYS", 3)
        if lookback_days < 0:
            raise SettingsError(f"JOURNEY_LOOKBACK_DAYS must be >= 0, got {lookback_days}")

        mailchimp_window_days = integer("JOURNEY_MAILCHIMP_WINDOW_DAYS", 30)
        if mailchimp_window_days < 0:
            raise SettingsError(
                f"JOURNEY_MAILCHIMP_WINDOW_DAYS must be >= 0, got {mailchimp_window_days}"
            )

        quarantine_max_share = _share(get("JOURNEY_QUARANTINE_MAX_SHARE", "1%") or "")

        page_size = integer("JOURNEY_HTTP_PAGE_SIZE", 0)
        if page_size < 0:
            raise SettingsError(f"JOURNEY_HTTP_PAGE_SIZE must be >= 1 (or unset), got {page_size}")

        key = get("JOURNEY_PSEUDONYMIZE_KEY")
        postgres_url = get("JOURNEY_POSTGRES_URL")
        if postgres_url and not postgres_url.startswith(("postgresql://", "postgres://")):
            raise SettingsError(
                "JOURNEY_POSTGRES_URL must be a URL postgresql://user:password@host:port/database"
            )
        engine = text("JOURNEY_ENGINE", "duckdb")
        if engine not in ENGINES:
            raise SettingsError(
                f"JOURNEY_ENGINE must be one of {', '.join(ENGINES)}, got {engine!r}"
            )
        memory_limit = text("JOURNEY_DUCKDB_MEMORY_LIMIT", DEFAULT_DUCKDB_MEMORY_LIMIT)
        if not _MEMORY_SIZE.match(memory_limit):
            raise SettingsError(
                "JOURNEY_DUCKDB_MEMORY_LIMIT must be a size like 2GB or 1500MiB, "
                f"got {memory_limit!r}"
            )
        weak = weak_key_message(key, "JOURNEY_PSEUDONYMIZE_KEY") if key else None
        if weak:
            raise SettingsError(weak)

        return cls(
            data_dir=data_dir,
            warehouse_path=warehouse_path,
            build_dir=path("JOURNEY_BUILD_DIR", warehouse_dir / ".build"),
            export_dir=path("JOURNEY_EXPORT_DIR", warehouse_dir / "exports"),
            docs_dir=path("JOURNEY_DOCS_DIR", warehouse_dir / "docs"),
            report_dir=path("JOURNEY_REPORT_DIR", warehouse_dir / "reports"),
            drop_dir=optional_path("JOURNEY_DROP_DIR"),
            erasure_file=optional_path("JOURNEY_ERASURE_FILE"),
            lookback_days=lookback_days,
            quarantine_max_share=quarantine_max_share,
            partitions_start=partitions_start,
            schedule_cron=text("JOURNEY_SCHEDULE_CRON", "0 2 * * *"),
            schedule_timezone=schedule_timezone,
            failure_webhook_url=_secret(get("JOURNEY_FAILURE_WEBHOOK_URL")),
            pseudonymize_key=Secret(key) if key else None,
            http=HttpSettings(
                timeout_seconds=number("JOURNEY_HTTP_TIMEOUT_SECONDS", 30.0),
                max_retries=integer("JOURNEY_HTTP_MAX_RETRIES", 5),
                backoff_base_seconds=number("JOURNEY_HTTP_BACKOFF_SECONDS", 0.5),
                backoff_max_seconds=number("JOURNEY_HTTP_BACKOFF_MAX_SECONDS", 60.0),
                page_size=page_size or None,
            ),
            matomo=_source(
                get,
                ("MATOMO_BASE_URL", "MATOMO_TOKEN", "MATOMO_SITE_ID"),
                lambda url, token, site: MatomoSettings(url.rstrip("/"), Secret(token), site),
            ),
            mailchimp=_source(
                get,
                ("MAILCHIMP_BASE_URL", "MAILCHIMP_API_KEY", "MAILCHIMP_LIST_ID"),
                lambda url, key, list_id: MailchimpSettings(
                    url.rstrip("/"), Secret(key), list_id, mailchimp_window_days
                ),
            ),
            shopify=_source(
                get,
                ("SHOPIFY_BASE_URL", "SHOPIFY_ACCESS_TOKEN"),
                lambda url, token: ShopifySettings(
                    url.rstrip("/"), Secret(token), get("SHOPIFY_API_VERSION", "2024-10") or ""
                ),
            ),
            zendesk=_source(
                get,
                ("ZENDESK_BASE_URL", "ZENDESK_EMAIL", "ZENDESK_API_TOKEN"),
                lambda url, email, token: ZendeskSettings(url.rstrip("/"), email, Secret(token)),
            ),
            postgres_url=Secret(postgres_url) if postgres_url else None,
            engine=engine,
            spark_master=text("JOURNEY_SPARK_MASTER", "local[2]"),
            duckdb_memory_limit=memory_limit,
            spark_driver_memory=text("JOURNEY_SPARK_DRIVER_MEMORY", "2g"),
            spark_shuffle_partitions=integer("JOURNEY_SPARK_SHUFFLE_PARTITIONS", 4),
        )


def yesterday_in(timezone: str, now: datetime | None = None) -> date:
    """Yesterday's date on the wall clock of `timezone` at `now` (default: this instant).

    One rule for "the night's data day" everywhere (the schedule, a run without day tags, the
    CLI's default): at 00:30 in Berlin it is already the next day there, while UTC is still on
    the previous one. A naive `now` is taken as UTC.
    """
    instant = datetime.now(UTC) if now is None else now
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return instant.astimezone(ZoneInfo(timezone)).date() - timedelta(days=1)


def _share(text: str) -> float:
    """`1%` or `0.01` -> 0.01; between 0 and 1 (100 %)."""
    name = "JOURNEY_QUARANTINE_MAX_SHARE"
    try:
        share = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError as error:
        raise SettingsError(f"{name} must be a share like 1% or 0.01, got {text!r}") from error
    if not 0 <= share <= 1:
        raise SettingsError(f"{name} must be between 0% and 100%, got {text!r}")
    return share


def _secret(value: str | None) -> Secret | None:
    return Secret(value) if value else None


def _source(get, names, build):
    """A source is configured when all its variables are set, skipped when none are.

    Setting only some of them is a mistake worth stopping for: the error names the missing ones.
    """
    values = [get(name) for name in names]
    if all(value is None for value in values):
        return None
    missing = [name for name, value in zip(names, values, strict=True) if value is None]
    if missing:
        raise SettingsError(
            f"{', '.join(missing)} not set while {names[0].split('_')[0]} is partly configured; "
            f"set all of {', '.join(names)} or none of them"
        )
    return build(*values)


@contextmanager
def temporary_environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for what runs inside the block (a dbt subprocess, a demo
    run, a test), then restore exactly what was there before."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
