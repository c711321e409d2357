"""Settings: one declarative registry, read from ``commissioning.toml`` if present.

Every setting has a default; a config file overrides defaults; command-line options
override the file.  The pseudonymisation key is never written in the file: the file
names the environment variable or the key file that holds it.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from commissioning.data.pseudonymise import DEMO_KEY, key_problem

CONFIG_FILE = "commissioning.toml"


class StoreSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: Path = Field(Path("commissioning.duckdb"), description="The store's DuckDB file")


class PseudonymisationSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key_env: str = Field(
        "COMMISSIONING_PSEUDONYMISATION_KEY", description="Environment variable holding the key"
    )
    key_file: Path | None = Field(None, description="File holding the key (first line)")


class LedgerSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key_env: str = Field(
        "COMMISSIONING_LEDGER_KEY",
        description="Environment variable holding the key that authenticates ledger entries",
    )
    key_file: Path | None = Field(None, description="File holding the ledger key (first line)")
    anchor: Path | None = Field(
        None,
        description="File the ledger head is appended to after every posting (default: "
        "beside the store, <store>.ledger-anchor.jsonl); keep it where database users "
        "cannot write",
    )


#: An amount of memory as DuckDB takes it: ``4GiB``, ``8GB``, ``512MB``.
MEMORY_PATTERN = r"^\s*[0-9.]+\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$"


class LoadSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_reject_share: float = Field(
        0.5,
        ge=0,
        le=1,
        description="A file with more than this share of its rows failing their checks is not "
        "loaded (nor is one with no good row); the load exits with an error",
    )
    memory_limit: str = Field(
        "4GiB",
        pattern=MEMORY_PATTERN,
        description="Memory the database may use while a load runs (e.g. 4GiB, 8GB); beyond "
        "it, it spills to disk. A lower limit already set on the store is kept",
    )


class AnalysisSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    memory_limit: str | None = Field(
        None,
        pattern=MEMORY_PATTERN,
        description="Memory the database may use while an analysis runs (e.g. 8GiB); beyond "
        "it, it spills to disk. Unset: DuckDB's own default, 80% of the machine's memory",
    )


class PublicationSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    suppression_threshold: int = Field(
        8, ge=1, description="Counts below this are hidden when published"
    )


class OidcSettingsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    issuer: str = Field(description="The identity provider's issuer address (https://...)")
    client_id: str = Field(description="This workbench's client id at the provider")
    client_secret_env: str = Field(
        "COMMISSIONING_OIDC_CLIENT_SECRET",
        description="Environment variable holding the client secret (never in the file)",
    )
    redirect_uri: str = Field(
        description="This workbench's callback address: https://<host>/sign-in/oidc/callback"
    )
    label: str = Field("Sign in with your organisation", description="The sign-in link's text")


class WebSettingsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    oidc: OidcSettingsFile | None = Field(
        None, description="Sign-in with an OpenID Connect identity provider (optional)"
    )
    reports: Path | None = Field(
        None, description="Folder of the analyses that the population's analysts may open"
    )
    population_org: str | None = Field(
        None, description="The organisation whose population the store holds"
    )


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    store: StoreSettings = StoreSettings()
    pseudonymisation: PseudonymisationSettings = PseudonymisationSettings()
    ledger: LedgerSettings = LedgerSettings()
    load: LoadSettings = LoadSettings()
    analysis: AnalysisSettings = AnalysisSettings()
    publication: PublicationSettings = PublicationSettings()
    web: WebSettingsFile = WebSettingsFile()
    output_folder: Path = Field(Path("out"), description="Where reports are written")


class ConfigError(Exception):
    pass


def load_settings(path: Path | None = None) -> Settings:
    """Settings from ``path`` (or ``./commissioning.toml`` if it exists), else defaults."""
    path = path or (Path(CONFIG_FILE) if Path(CONFIG_FILE).exists() else None)
    if path is None:
        return Settings()
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the config file ({exc})") from exc
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"{path}: {problems}. See docs/configuration.md.") from exc


def _secret(env: str, key_file: Path | None) -> str | None:
    """A secret from the environment variable ``env``, else the first line of ``key_file``;
    a weak one is refused with the reason (never the secret)."""
    value = os.environ.get(env)
    where = env
    if not value and key_file is not None:
        where = str(key_file)
        try:
            value = key_file.read_text().splitlines()[0]
        except (OSError, IndexError):
            value = None
    if not value:
        return None
    problem = key_problem(value)
    if problem is not None:
        raise ConfigError(
            f"the key in {where} is too weak: {problem}. Use a long random secret, e.g. "
            "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
    if value.encode() == DEMO_KEY:
        raise ConfigError(
            f"the key in {where} is the published demo key — use a secret of your own "
            "(the demo key is for synthetic data, with --demo)"
        )
    return value


def pseudonymisation_key(settings: Settings, demo: bool) -> bytes:
    """The key, from the environment or the key file; the fixed demo key in demo mode.

    Outside demo mode there is no default: loading refuses to run without a key.
    """
    if demo:
        return DEMO_KEY
    value = _secret(settings.pseudonymisation.key_env, settings.pseudonymisation.key_file)
    if value is None:
        raise ConfigError(
            "no pseudonymisation key: set the environment variable "
            f"{settings.pseudonymisation.key_env} to a secret of at least 16 characters, or "
            "name a key file under [pseudonymisation] key_file in commissioning.toml. "
            "(For synthetic data only, use --demo.)"
        )
    return value.encode()


def ledger_key(settings: Settings, demo_key: bytes | None) -> bytes:
    """The key that authenticates ledger entries, from the environment or the key file;
    ``demo_key`` (the demo store's) when given. There is no default."""
    if demo_key is not None:
        return demo_key
    value = _secret(settings.ledger.key_env, settings.ledger.key_file)
    if value is None:
        raise ConfigError(
            f"no ledger key: set {settings.ledger.key_env} to a secret of at least 16 "
            "characters that the database's users do not hold, or name a key file under "
            "[ledger] key_file in commissioning.toml (for the demo store only, use --demo)"
        )
    return value.encode()
