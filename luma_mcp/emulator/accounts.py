"""API keys and the accounts behind them: who a request is, or the contract's 401/403."""

from __future__ import annotations

from .errors import ApiError
from .state import Account, EmulatorState, KeyState
from .wire import fingerprint

KEY_PREFIX = "luma-api-"


class Accounts:
    """The accounts of one emulator, by key fingerprint (the key itself is never kept)."""

    def __init__(self, state: EmulatorState) -> None:
        self._state = state

    def of_key(self, key: str) -> Account:
        """The account of `key`, made on first sight."""
        fp = fingerprint(key)
        if fp not in self._state.accounts:
            self._state.accounts[fp] = Account(fp)
        return self._state.accounts[fp]

    def set_key(self, key: str, state: KeyState, *, credits_usd: float | None) -> None:
        account = self.of_key(key)
        account.state = state
        account.credits_micro = None if credits_usd is None else round(credits_usd * 1_000_000)

    def authenticate(self, authorization: str | None) -> Account:
        """The account behind an `Authorization` header, or the contract's 401/403."""
        scheme, _, key = (authorization or "").partition(" ")
        if scheme != "Bearer" or not key.startswith(KEY_PREFIX) or len(key) <= len(KEY_PREFIX):
            raise ApiError(401, "Missing or invalid API key")
        known = fingerprint(key) in self._state.accounts
        api_keys = self._state.config.api_keys
        if not known and api_keys is not None and key not in api_keys:
            raise ApiError(401, "Invalid API key")
        account = self.of_key(key)
        match account.state:
            case "invalid":
                raise ApiError(401, "Invalid API key")
            case "revoked":
                raise ApiError(401, "API key has been revoked")
            case "expired":
                raise ApiError(401, "API key has expired")
            case "suspended":
                raise ApiError(403, "API client is suspended")
            case "active":
                return account
