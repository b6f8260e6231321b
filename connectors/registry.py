"""Open a CRM connector by name: the local SQLite CRM, Salesforce or HubSpot (credentials from env/keyring)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from connectors.local import LocalCRM
from connectors.protocol import CRMConnector
from scoring.errors import SettingsError

__all__ = ["CRM_NAMES", "DEFAULT_JOURNAL", "require_crm", "open_connector", "journal_path"]

DEFAULT_JOURNAL = Path(".scorebench") / "journal.sqlite"
"""Where pushes to a remote CRM are journaled unless --journal says otherwise (relative to the cwd)."""


def _local(db: Path) -> CRMConnector:
    if not db.is_file():
        raise SettingsError(f"local CRM {db} does not exist; run `scorebench demo` or pass --db PATH")
    return LocalCRM(db)


def _salesforce(db: Path) -> CRMConnector:
    from connectors.salesforce import SalesforceCRM

    return SalesforceCRM.from_environment()


def _hubspot(db: Path) -> CRMConnector:
    from connectors.hubspot import HubSpotCRM

    return HubSpotCRM.from_environment()


_OPENERS: dict[str, Callable[[Path], CRMConnector]] = {"local": _local, "salesforce": _salesforce, "hubspot": _hubspot}
CRM_NAMES: tuple[str, ...] = tuple(_OPENERS)


def require_crm(crm: str) -> str:
    """`crm` when it names a known CRM, else a SettingsError listing the known ones."""
    if crm not in _OPENERS:
        raise SettingsError(f"unknown CRM {crm!r}; choose one of {', '.join(CRM_NAMES)}")
    return crm


def open_connector(crm: str, db: Path) -> CRMConnector:
    """A connector for `crm` ('local' reads the SQLite file `db`; the others read credentials)."""
    return _OPENERS[require_crm(crm)](db)


def journal_path(crm: str, db: Path, journal: Path | None) -> Path:
    """The push journal: --journal when given; the local CRM's own file; else .scorebench/journal.sqlite."""
    if journal is not None:
        return journal
    if crm == "local":
        return db
    DEFAULT_JOURNAL.parent.mkdir(parents=True, exist_ok=True)
    return DEFAULT_JOURNAL
