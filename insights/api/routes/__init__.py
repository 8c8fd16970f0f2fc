"""The routes under /demand-insights: each calls one service function, with no try/except (errors: api/app.py).

A route's return annotation is its answer's type (insights/api/*responses.py): the OpenAPI's 200 schema, and what
Powertools validates the service's dict against as it serializes it (the ``cast`` states what that check enforces).
Each area registers its routes from its own module here; this function is the one list of them.
"""

from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver

from insights.api.routes import agents, core, customer360, dashboard, experiments, lifecycle, traits
from insights.api.routes.kit import SECURITY, Recording
from insights.api.runtime import ApiRuntime

__all__ = ["register_routes", "SECURITY"]


def register_routes(resolver: ApiGatewayResolver, runtime: ApiRuntime) -> frozenset[tuple[str, str]]:
    """Add every route to ``resolver`` (HTTP or REST); returns the (method, path) pairs registered."""
    app = Recording(resolver)
    core.register(app, runtime)
    customer360.register(app, runtime)
    dashboard.register(app, runtime)
    traits.register(app, runtime)
    experiments.register(app, runtime)
    agents.register(app, runtime)
    lifecycle.register(app, runtime)
    return frozenset(app.seen)
