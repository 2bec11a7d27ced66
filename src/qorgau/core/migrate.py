"""Run Alembic programmatically (`qorgau db upgrade`), so no alembic.ini is needed at run time.

Each domain keeps its own branch of migrations (branch label = domain name) rooted at the
foundation revision; `upgrade heads` applies them all, so domains evolve independently.
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from qorgau.core.config import PACKAGE_DIR, get_settings


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(PACKAGE_DIR / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url or get_settings().sqlalchemy_url)
    return cfg


def upgrade(url: str | None = None, revision: str = "heads") -> None:
    command.upgrade(alembic_config(url), revision)


def current_heads(url: str | None = None) -> list[str]:
    from alembic.script import ScriptDirectory

    return list(ScriptDirectory.from_config(alembic_config(url)).get_heads())
