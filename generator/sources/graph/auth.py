"""Credentials for Graph: azure-identity's, or a bearer token acquired elsewhere."""

from __future__ import annotations

import time
from typing import Any

from azure.core.credentials import AccessToken
from azure.core.credentials_async import AsyncTokenCredential

from generator.errors import ConfigError
from generator.sources.graph.settings import GraphSettings

STATIC_TOKEN_LIFETIME = 3600  # unknown for a token from outside; long enough for one run


class StaticTokenCredential(AsyncTokenCredential):
    """An async TokenCredential that hands out one pre-acquired bearer token."""

    def __init__(self, token: str) -> None:
        self._token = token

    async def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        """Return the token whatever the scope; Graph decides whether it is good."""
        return AccessToken(self._token, int(time.time()) + STATIC_TOKEN_LIFETIME)

    async def close(self) -> None:
        """Nothing to release."""

    async def __aexit__(self, *exc: object) -> None:
        """Nothing to release."""

    def __repr__(self) -> str:
        return "StaticTokenCredential(token=***)"


def build_credential(settings: GraphSettings) -> AsyncTokenCredential:
    """The credential the settings ask for; DefaultAzureCredential when none is explicit."""
    if settings.token:
        return StaticTokenCredential(settings.token)
    options: dict[str, Any] = {}
    if settings.authority:
        options["authority"] = settings.authority
    tenant_id, client_id = settings.tenant_id or "", settings.client_id or ""
    explicit = settings.client_secret or settings.certificate_path
    if explicit and not (tenant_id and client_id):
        raise ConfigError(
            "a client secret or certificate needs a tenant id and a client id "
            "(AZURE_TENANT_ID, AZURE_CLIENT_ID)"
        )
    if settings.client_secret:
        from azure.identity.aio import ClientSecretCredential

        return ClientSecretCredential(tenant_id, client_id, settings.client_secret, **options)
    if settings.certificate_path:
        from azure.identity.aio import CertificateCredential

        return CertificateCredential(tenant_id, client_id, settings.certificate_path, **options)
    from azure.identity.aio import DefaultAzureCredential

    if settings.client_id:  # a user-assigned managed identity or a federated app registration
        options["managed_identity_client_id"] = settings.client_id
        options["workload_identity_client_id"] = settings.client_id
    if settings.tenant_id:
        options["workload_identity_tenant_id"] = settings.tenant_id
    # Environment, workload identity, managed identity, then developer tools such as `az login`.
    return DefaultAzureCredential(**options)
