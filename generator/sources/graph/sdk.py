"""The parts of msgraph-sdk entraform uses: its middleware pipeline and its request builders.

The builders give the URLs of the pages a read asks for; the pipeline sends them.
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import quote, unquote

import httpx
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_abstractions.method import Method
from kiota_abstractions.request_information import RequestInformation
from kiota_abstractions.response_handler import ResponseHandler
from kiota_http.kiota_client_factory import KiotaClientFactory
from kiota_http.middleware import RetryHandler
from kiota_http.middleware.options import ResponseHandlerOption
from msgraph.graph_request_adapter import GraphRequestAdapter
from msgraph.graph_request_adapter import options as graph_options
from msgraph.graph_service_client import GraphServiceClient
from msgraph_core import GraphClientFactory  # type: ignore[import-untyped]
from msgraph_core.middleware import GraphTelemetryHandler  # type: ignore[import-untyped]
from msgraph_core.middleware.options import (  # type: ignore[import-untyped]
    GraphTelemetryHandlerOption,
)

from generator.sources.graph.pages import Request
from generator.sources.graph.settings import GraphSettings

# Stands for a group id in a URL built once; unreserved characters, so no encoding changes it.
GROUP_SLOT = "entraform-group-id"


class GraphUrls:
    """The first page of each list a read asks for, as a URL relative to the base."""

    def __init__(self, client: GraphServiceClient, settings: GraphSettings) -> None:
        self.client = client
        self.settings = settings
        # Expanding the SDK's URI template costs more CPU than parsing a member page: each
        # per-group URL is built once for GROUP_SLOT and the group id put in its place.
        self._templates: dict[tuple[str, ...], str] = {}

    def groups(self, odata_filter: str | None, select: list[str], subject: str) -> Request:
        """The first page of groups matching an OData filter (all groups when None)."""
        builder = self.client.groups
        advanced = odata_filter is not None and needs_advanced_query(odata_filter)
        params = builder.GroupsRequestBuilderGetQueryParameters(
            filter=odata_filter,
            select=select,
            top=self.settings.page_size,
            count=True if advanced else None,
        )
        info = builder.to_get_request_information(RequestConfiguration(query_parameters=params))
        # ne, not, endswith need ConsistencyLevel on every page, plus $count (kept in next links).
        headers = (("ConsistencyLevel", "eventual"),) if advanced else ()
        return Request(_relative(info), subject, "groups", headers)

    def members(self, group_id: str, select: list[str], subject: str) -> Request:
        """The first page of a group's direct members."""
        return self._group_page("members", group_id, select, subject)

    def owners(self, group_id: str, select: list[str], subject: str) -> Request:
        """The first page of a group's owners."""
        return self._group_page("owners", group_id, select, subject)

    def _group_page(
        self, kind: Literal["members", "owners"], group_id: str, select: list[str], subject: str
    ) -> Request:
        # Built once per kind through the SDK, then the escaped group id put in place.
        key = (kind, *select)
        if key not in self._templates:
            builder = getattr(self.client.groups.by_group_id(GROUP_SLOT), kind)
            query = getattr(builder, f"{kind.title()}RequestBuilderGetQueryParameters")
            params = query(select=select, top=self.settings.page_size)
            config = RequestConfiguration(query_parameters=params)
            self._templates[key] = _relative(builder.to_get_request_information(config))
        return Request(_for_group(self._templates[key], group_id), subject, kind)

    def assignments(self, service_principal_id: str, subject: str) -> Request:
        """The first page of principals assigned to an enterprise application."""
        builder = self.client.service_principals.by_service_principal_id(
            service_principal_id
        ).app_role_assigned_to
        params = builder.AppRoleAssignedToRequestBuilderGetQueryParameters(
            select=["principalType", "principalId", "principalDisplayName"],
            top=self.settings.page_size,
        )
        info = builder.to_get_request_information(RequestConfiguration(query_parameters=params))
        return Request(_relative(info), subject, "assignments")


def needs_advanced_query(odata_filter: str) -> bool:
    """True when Graph only evaluates the filter with ConsistencyLevel: eventual and $count."""
    words = odata_filter.lower().replace("(", " ").replace(")", " ").replace(",", " ").split()
    return any(w in ("ne", "not", "endswith") for w in words)


def http_client(settings: GraphSettings) -> httpx.AsyncClient:
    """The SDK's middleware pipeline minus its retry handler (retries are ours, shared)."""
    timeout = httpx.Timeout(settings.timeout, connect=30.0)
    limits = httpx.Limits(max_connections=max(settings.concurrency, 1) * 2)
    client = httpx.AsyncClient(timeout=timeout, limits=limits, http2=True)
    middleware = [
        m
        for m in KiotaClientFactory.get_default_middleware(graph_options)
        if not isinstance(m, RetryHandler)
    ]
    telemetry = graph_options.get(GraphTelemetryHandlerOption.get_key())
    if isinstance(telemetry, GraphTelemetryHandlerOption):
        middleware.append(GraphTelemetryHandler(options=telemetry))
    result: httpx.AsyncClient = GraphClientFactory.create_with_custom_middleware(
        middleware, client=client
    )
    return result


def _relative(info: RequestInformation) -> str:
    """The builder's URL relative to the base, with `$` spelled plainly in parameter names."""
    info.path_parameters["baseurl"] = ""
    path, _, query = str(info.url).partition("?")
    if not query:
        return path
    params = []
    for param in query.split("&"):
        name, sep, value = param.partition("=")
        params.append(unquote(name) + sep + value)
    return path + "?" + "&".join(params)


def _for_group(template: str, group_id: str) -> str:
    """A URL built once for GROUP_SLOT, for this group: its id escaped as the SDK escapes it."""
    return template.replace(GROUP_SLOT, quote(group_id, safe=""), 1)


class _Native(ResponseHandler):
    """Hands the httpx response back untouched: no model, no exception mapping."""

    async def handle_response_async(self, response: Any, error_map: Any) -> Any:
        return response


_NATIVE = _Native()


async def send(
    adapter: GraphRequestAdapter,
    method: Method,
    url: str,
    headers: tuple[tuple[str, str], ...],
    content: bytes | None = None,
) -> httpx.Response:
    """One HTTP request through the SDK's pipeline (auth, telemetry), its raw response back."""
    info = RequestInformation()
    info.http_method = method
    info.url = url
    info.headers.try_add("Accept", "application/json")
    for name, value in headers:
        info.headers.add(name, value)
    if content is not None:
        info.headers.add("Content-Type", "application/json")
        info.content = content
    info.add_request_options([ResponseHandlerOption(_NATIVE)])
    response: httpx.Response = await adapter.send_primitive_async(info, "bytes", None)
    return response
