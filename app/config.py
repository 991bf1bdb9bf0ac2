"""Settings: read once from TOML (optional) plus the environment for secrets, frozen.

Nothing here reads the environment at import time; ``load_settings`` does, once, and
the resulting ``Settings`` is passed down. Unknown keys and wrong types are errors that
name the key, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from analysis.taxonomy import Taxonomy
from domain.errors import ConfigError
from feeds.webread import SourceSpec

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_FEEDS: tuple[str, ...] = tuple(
    str(PACKAGE_ROOT / "feeds" / "samples" / name)
    for name in ("czt-sample.xml", "czt-gbk.xml", "czt-atom.xml")
)
DEFAULT_TAXONOMY = str(PACKAGE_ROOT / "domain" / "data" / "taxonomy.toml")


@dataclass(frozen=True)
class DatabaseSettings:
    path: str = "data/czt.db"


@dataclass(frozen=True)
class FeedSettings:
    urls: tuple[str, ...] = SAMPLE_FEEDS
    poll_minutes: int = 30
    jitter_seconds: int = 120
    timeout_seconds: float = 20.0
    max_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5
    max_failures: int = 10
    user_agent: str = "CZTDigest/0.1 (+https://github.com/czt-digest)"
    # Networks or host names a fetch may reach although internal (SSRF policy).
    allow_private: tuple[str, ...] = ()


@dataclass(frozen=True)
class SourcePage:
    """A web source: a column page or e-paper layout page (see feeds/webread.py)."""

    name: str = ""
    url: str = ""  # may hold {date:FORMAT}, filled in the digest time zone
    links: str = ""  # regex an article URL must match ("" = the heuristic)
    pages: str = ""  # regex of further list pages to follow, one level
    encoding: str = ""  # override of the detected charset
    filter: tuple[str, ...] = ("integration",)  # "integration", "none" or keywords
    selector: str = ""  # CSS selector of the text when the extractor finds too little

    def spec(self) -> SourceSpec:
        """How ``feeds.webread`` reads this page (validated by ``SourceSpec.checked``)."""
        return SourceSpec(
            url=self.url,
            name=self.name,
            links=self.links,
            pages=self.pages,
            encoding=self.encoding,
            filter=self.filter,
            selector=self.selector,
        )


@dataclass(frozen=True)
class SourcesSettings:
    delay_seconds: float = 2.0  # the least time between two requests to one host
    max_new: int = 50  # new articles per source per run
    poll_minutes: int = 720
    robots: bool = True  # honour robots.txt
    pages: tuple[SourcePage, ...] = ()


@dataclass(frozen=True)
class AnalysisSettings:
    taxonomy: str = DEFAULT_TAXONOMY
    merge_threshold: float = 0.5
    keywords: int = 8
    display_script: str = "simplified"  # or "original": the script stories are shown in
    search_half_life_days: float = 90.0


@dataclass(frozen=True)
class TelegramSettings:
    token: str = field(default="", repr=False)
    api_base_url: str = ""
    admin_ids: tuple[int, ...] = ()
    mode: str = "polling"
    webhook_url: str = ""
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = 8443
    webhook_secret: str = field(default="", repr=False)
    paid_broadcast: bool = False  # allow_paid_broadcast: up to 1,000 messages/s, paid in Stars


@dataclass(frozen=True)
class DigestSettings:
    day: str = "mon"
    time: str = "09:00"
    timezone: str = "Asia/Shanghai"
    empty_week: str = "notice"
    lookback_days: int = 7
    chart: bool = True
    max_stories: int = 12  # stories listed; the rest are counted
    max_figures: int = 8  # key figures in the condensed block
    alerts_per_day: int = 3  # instant keyword alerts per chat and day, at most
    retention_days: int = 30  # sent parts' bodies and charts are purged after this
    max_messages: int = 2  # per digest, chart included; 0: as many as the stories need


@dataclass(frozen=True)
class RobotSettings:
    """A WeCom group robot: a delivery target with its own subscriptions and schedule."""

    name: str = ""
    key_env: str = ""  # the environment variable holding the webhook key
    subscriptions: tuple[str, ...] = ()  # "湘潭", "交通", "株洲 产业"
    digest: str = "mon 09:00"  # day and time
    timezone: str = "Asia/Shanghai"
    key: str = field(default="", repr=False)  # filled from key_env, never from the file


@dataclass(frozen=True)
class WeComSettings:
    api_base_url: str = "https://qyapi.weixin.qq.com"
    robots: tuple[RobotSettings, ...] = ()
    per_minute: int = 20


@dataclass(frozen=True)
class WeChatSettings:
    """The WeChat Official Account / WeCom app callback server (interactive queries)."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 8081
    path: str = "/wechat"
    app_id: str = ""  # AppID (Official Account) or CorpID (WeCom app), for encrypted mode
    replay_window: int = 300  # seconds a request's timestamp may differ from our clock
    # Plain mode signs no body: a captured query string can carry any message until the
    # genuine one arrives. Refused unless allowed here; use WECHAT_AES_KEY instead.
    allow_plain: bool = False
    token: str = field(default="", repr=False)  # from WECHAT_TOKEN
    aes_key: str = field(default="", repr=False)  # from WECHAT_AES_KEY (EncodingAESKey)


@dataclass(frozen=True)
class Settings:
    database: DatabaseSettings = DatabaseSettings()
    feeds: FeedSettings = FeedSettings()
    sources: SourcesSettings = SourcesSettings()
    analysis: AnalysisSettings = AnalysisSettings()
    telegram: TelegramSettings = TelegramSettings()
    digest: DigestSettings = DigestSettings()
    wecom: WeComSettings = WeComSettings()
    wechat: WeChatSettings = WeChatSettings()
    log_level: str = "INFO"

    def secrets(self) -> tuple[str, ...]:
        """Every secret value in force, for log redaction."""
        values = [
            self.telegram.token,
            self.telegram.webhook_secret,
            self.wechat.token,
            self.wechat.aes_key,
            *(r.key for r in self.wecom.robots),
        ]
        return tuple(v for v in values if v)


# Secrets come from the environment only: (section, key) -> variable name.
_SECRET_ENV = {
    ("telegram", "token"): "TELEGRAM_BOT_TOKEN",
    ("telegram", "webhook_secret"): "TELEGRAM_WEBHOOK_SECRET",
    ("wechat", "token"): "WECHAT_TOKEN",
    ("wechat", "aes_key"): "WECHAT_AES_KEY",
}
# Plain settings that the environment may override.
_ENV_OVERRIDES = {
    ("telegram", "api_base_url"): "TELEGRAM_API_BASE_URL",
    ("database", "path"): "CZT_DB",
}
_CHOICES = {
    "telegram.mode": ("polling", "webhook"),
    "digest.day": ("mon", "tue", "wed", "thu", "fri", "sat", "sun"),
    "digest.empty_week": ("notice", "skip"),
    "analysis.display_script": ("simplified", "original"),
    "log_level": ("DEBUG", "INFO", "WARNING", "ERROR"),
}


def load_settings(
    path: str | Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    db_path: str | None = None,
) -> Settings:
    """Read settings from ``path`` (or built-in defaults) and the environment.

    Raises ``ConfigError`` naming the path or key on a missing file, bad TOML, an
    unknown key, a wrong type or a secret written into the file.
    """
    env = os.environ if environ is None else environ
    data: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {p}") from None
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError(f"cannot read config file {p}: {e.__class__.__name__}") from e
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"invalid TOML in {p}: {e}") from e
    for (section, key), var in _SECRET_ENV.items():
        if key in data.get(section, {}):
            raise ConfigError(
                f"{section}.{key} must come from the environment ({var}), not the file"
            )
    for (section, key), var in {**_ENV_OVERRIDES, **_SECRET_ENV}.items():
        if env.get(var):
            data.setdefault(section, {})[key] = env[var]
    if db_path:
        data.setdefault("database", {})["path"] = db_path
    robots = data.get("wecom", {}).get("robots", [])
    if isinstance(robots, list):
        for i, robot in enumerate(robots):
            if not isinstance(robot, dict):
                continue
            if "key" in robot:
                raise ConfigError(
                    f"wecom.robots[{i}].key must come from the environment"
                    " (name the variable in key_env)"
                )
            key_env = robot.get("key_env")
            if isinstance(key_env, str) and key_env:
                var = key_env
                if not env.get(var):
                    raise ConfigError(f"wecom.robots[{i}]: environment variable {var} is not set")
                robot["key"] = env[var]
    pages = data.get("sources", {}).get("pages", [])
    if isinstance(pages, list):
        for page in pages:
            if isinstance(page, dict) and isinstance(page.get("filter"), str):
                page["filter"] = [page["filter"]]  # "integration" | "none" | [keywords]
    settings = _build(Settings, data, "")
    for key, allowed in _CHOICES.items():
        value = settings
        for part in key.split("."):
            value = getattr(value, part)
        if value not in allowed:
            raise ConfigError(f"{key} must be one of {', '.join(allowed)}, got {value!r}")
    for i, admin in enumerate(settings.telegram.admin_ids):
        if admin <= 0:  # a group's id would make every member of the group an admin
            raise ConfigError(
                f"telegram.admin_ids[{i}] must be a Telegram user id (positive),"
                f" got {admin}: group and channel ids are not allowed"
            )
    if settings.wechat.replay_window <= 0:
        raise ConfigError("wechat.replay_window must be a positive number of seconds")
    if settings.analysis.search_half_life_days <= 0:
        raise ConfigError("analysis.search_half_life_days must be a positive number of days")
    _check_time(settings.digest.time, "digest.time")
    _check_allow(settings.feeds.allow_private)
    _check_sources(settings.sources)
    _check_zone(settings.digest.timezone, "digest.timezone")
    if settings.digest.max_messages < 0:
        raise ConfigError(
            f"digest.max_messages must be 0 or more, got {settings.digest.max_messages}"
        )
    if settings.digest.retention_days < 1:
        raise ConfigError(
            f"digest.retention_days must be at least 1, got {settings.digest.retention_days}"
        )
    for i, robot in enumerate(settings.wecom.robots):
        if not robot.name or not robot.key_env:
            raise ConfigError(f"wecom.robots[{i}] needs name and key_env")
        day, _, at = robot.digest.partition(" ")
        if day not in _CHOICES["digest.day"]:
            raise ConfigError(
                f"wecom.robots[{i}].digest must be like 'mon 09:00', got {robot.digest!r}"
            )
        _check_time(at, f"wecom.robots[{i}].digest")
        _check_zone(robot.timezone, f"wecom.robots[{i}].timezone")
    return settings


def _check_time(value: str, key: str) -> None:
    hh, sep, mm = value.partition(":")
    digits = sep and hh.isascii() and hh.isdigit() and mm.isascii() and mm.isdigit()
    if not digits or not (int(hh) < 24 and int(mm) < 60):
        raise ConfigError(f"{key} must be HH:MM, got {value!r}")


def _check_sources(sources: SourcesSettings) -> None:
    if sources.delay_seconds < 0 or sources.max_new < 1 or sources.poll_minutes < 1:
        raise ConfigError("sources: delay_seconds >= 0, max_new >= 1 and poll_minutes >= 1")
    for i, page in enumerate(sources.pages):
        try:
            page.spec().checked()
        except ValueError as e:
            raise ConfigError(f"sources.pages[{i}]: {e}") from None


def _check_allow(items: tuple[str, ...]) -> None:
    from feeds.netpolicy import AddressPolicy

    try:
        AddressPolicy(allow=items)
    except ValueError as e:
        raise ConfigError(str(e)) from None


def _check_zone(value: str, key: str) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ConfigError(f"{key}: unknown time zone {value!r}") from None


def _build(cls: type[Any], data: Any, prefix: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix.rstrip('.') or 'config'} must be a table")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key not in fields:
            raise ConfigError(f"unknown config key: {prefix}{key}")
        kwargs[key] = _coerce(hints[key], value, f"{prefix}{key}")
    return cls(**kwargs)


def _coerce(hint: Any, value: Any, key: str) -> Any:
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _build(hint, value, key + ".")
    origin = typing.get_origin(hint)
    if origin is tuple:
        (item_type, _) = typing.get_args(hint)
        if not isinstance(value, list):
            raise ConfigError(f"{key} must be a list")
        return tuple(_coerce(item_type, v, f"{key}[{i}]") for i, v in enumerate(value))
    if origin in (typing.Union, types.UnionType):
        raise ConfigError(f"{key}: unsupported type")  # not used by our settings
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint is int and isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)  # environment values arrive as text
    if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
        raise ConfigError(f"{key} must be {hint.__name__}, got {type(value).__name__}")
    return value


def load_taxonomy(path: str | Path) -> Taxonomy:
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"taxonomy file not found: {p}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"invalid TOML in {p}: {e}") from e
    return Taxonomy.from_dict(data, str(p))
