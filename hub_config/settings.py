"""The platform's settings, read from environment variables (defaults for one machine)."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, "").strip() or default


def _list(name: str) -> list[str]:
    return [item.strip().lower() for item in _env(name).split(",") if item.strip()]


@dataclass
class Settings:
    hub_ip: str = field(default_factory=lambda: _env("OMA_HUB_IP", "127.0.0.1"))
    hub_port: int = field(default_factory=lambda: int(_env("OMA_HUB_PORT", "8000")))
    public_url: str = field(default_factory=lambda: _env("OMA_PUBLIC_URL"))
    data_dir: Path = field(default_factory=lambda: Path(_env("OMA_DATA_DIR", str(PROJECT_DIR / ".run" / "hub"))).resolve())
    users_dir: Path = field(default_factory=lambda: Path(_env("OMA_USERS_DIR", str(PROJECT_DIR / ".run" / "users"))).resolve())
    admin_emails: list[str] = field(default_factory=lambda: _list("OMA_ADMIN_EMAILS"))
    beta_group: str = field(default_factory=lambda: _env("OMA_BETA_GROUP", "beta"))
    google_client_id: str = field(default_factory=lambda: _env("OMA_GOOGLE_CLIENT_ID"))
    google_client_secret: str = field(default_factory=lambda: _env("OMA_GOOGLE_CLIENT_SECRET"))
    google_hosted_domains: list[str] = field(default_factory=lambda: _list("OMA_GOOGLE_HOSTED_DOMAINS"))
    google_authorize_url: str = field(default_factory=lambda: _env("OMA_GOOGLE_AUTHORIZE_URL"))
    google_api_url: str = field(default_factory=lambda: _env("OMA_GOOGLE_API_URL"))
    store_url: str = field(default_factory=lambda: _env("OMA_STORE_URL"))
    service_port: int = field(default_factory=lambda: int(_env("OMA_SERVICE_PORT", "10101")))
    spawner: str = field(default_factory=lambda: _env("OMA_SPAWNER", "local"))
    python: str = field(default_factory=lambda: _env("OMA_PYTHON", sys.executable))

    @property
    def google(self) -> bool:
        return bool(self.google_client_id and self.google_client_secret)

    @property
    def hub_url(self) -> str:
        return self.public_url or f"http://{self.hub_ip}:{self.hub_port}"

    @property
    def store(self) -> str:
        return self.store_url or f"sqlite:///{self.data_dir / 'oh-my-agent.sqlite'}"
