"""Credentials from environment variables or the OS keyring, never from files in the repo.

A secret is looked up as the environment variable NAME, then in the keyring under service
"scorebench" and user NAME. Values are pydantic SecretStr, so they never print; a missing one raises
SettingsError listing every place that was looked at.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from pydantic import SecretStr

from scoring.errors import SettingsError

__all__ = ["KEYRING_SERVICE", "secret", "setting", "require_secret"]

KEYRING_SERVICE = "scorebench"


def _keyring_value(name: str) -> str | None:
    try:
        import keyring
        from keyring.errors import KeyringError
    except ImportError:  # pragma: no cover - keyring is a dependency, but a broken backend must not crash
        return None
    try:
        return keyring.get_password(KEYRING_SERVICE, name)
    except (KeyringError, RuntimeError, OSError):
        return None


def setting(name: str, default: str | None = None, environ: Mapping[str, str] | None = None) -> str | None:
    """A non-secret setting (API version, instance URL, domain) from the environment, else `default`."""
    env = os.environ if environ is None else environ
    value = env.get(name, "").strip()
    return value or default


def secret(name: str, environ: Mapping[str, str] | None = None, use_keyring: bool = True) -> SecretStr | None:
    """A secret from the environment variable `name`, else the keyring (service 'scorebench'), else None."""
    env = os.environ if environ is None else environ
    value = env.get(name, "").strip()
    if not value and use_keyring:
        value = (_keyring_value(name) or "").strip()
    return SecretStr(value) if value else None


def require_secret(name: str, purpose: str, environ: Mapping[str, str] | None = None) -> SecretStr:
    """Like secret(), but a missing value is a SettingsError naming every place looked at."""
    found = secret(name, environ)
    if found is None:
        raise SettingsError(
            f"{purpose} needs {name}: looked in the environment variable {name} and in the OS keyring "
            f"(service {KEYRING_SERVICE!r}, user {name!r}); set one, e.g. `export {name}=...` or "
            f"`keyring set {KEYRING_SERVICE} {name}`"
        )
    return found
