"""What the API holds across warm invocations: settings, the snapshot cache, the authenticator, the caller."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from insights.api.auth import SCOPE_READ, Authenticator, Principal, authenticator_from_settings
from insights.api.cache import SnapshotCache, SnapshotSource
from insights.api.events import PUBLIC_PATHS, header, request_path
from insights.config import Settings
from insights.pseudonym import Pseudonymizer, pseudonymizer_from_settings
from insights.snapshot.reader import Snapshot

__all__ = ["ApiRuntime"]


class ApiRuntime:
    """Settings, the snapshot cache and the authenticator of one warm container; ``configure`` swaps them."""

    def __init__(self, settings: Settings, *, store: SnapshotSource | None = None,
                 authenticator: Authenticator | None = None) -> None:
        self._principal: ContextVar[Principal | None] = ContextVar("principal", default=None)
        # a route's own metric (CloudWatch, through the app's Powertools Metrics); a no-op until the app sets it
        self.metric: Callable[[str, float], None] = lambda name, value: None
        self.configure(settings, store=store, authenticator=authenticator)

    def configure(self, settings: Settings, *, store: SnapshotSource | None = None,
                  authenticator: Authenticator | None = None) -> None:
        self.settings = settings
        self.cache = SnapshotCache(store, recheck_s=settings.snapshot_recheck_s) if store is not None else \
            SnapshotCache(factory=lambda: _store(settings), recheck_s=settings.snapshot_recheck_s)
        self._auth = authenticator
        self._pseudonyms: tuple[Pseudonymizer | None] | None = None

    @property
    def pseudonyms(self) -> Pseudonymizer | None:
        """The deployment's pseudonymizer (INSIGHTS_PSEUDONYMIZE), None when ids are stored as they are."""
        if self._pseudonyms is None:
            self._pseudonyms = (pseudonymizer_from_settings(self.settings),)
        return self._pseudonyms[0]

    @property
    def authenticator(self) -> Authenticator:
        if self._auth is None:
            self._auth = authenticator_from_settings(self.settings)
        return self._auth

    def snapshot(self) -> Snapshot:
        return self.cache.get()

    def principal(self) -> Principal | None:
        return self._principal.get()

    def authorize(self, event: dict[str, Any]) -> Principal | None:
        """Verify the bearer token of a protected path (raises AuthError / AuthNotConfigured); None when public."""
        self._principal.set(None)
        if request_path(event) in PUBLIC_PATHS:
            return None
        auth = self.authenticator
        principal = auth.authenticate(header(event, "authorization"))
        auth.require(principal, SCOPE_READ)
        self._principal.set(principal)
        return principal


def _store(settings: Settings) -> SnapshotSource:
    from insights.snapshot.stores import store_from_settings  # boto3 for S3 stores: on the first request only

    return store_from_settings(settings)
