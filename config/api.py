"""The REST API v1: one NinjaAPI with every app's router (wiring only)."""

from ninja import NinjaAPI

from posdesk.accounts.api import api_auth
from posdesk.accounts.api import router as accounts_router
from posdesk.channels.api import router as channels_router
from posdesk.core.api import install_error_handlers
from posdesk.incidents.api import router as incidents_router
from posdesk.knowledge.api import router as knowledge_router
from posdesk.merchants.api import router as merchants_router
from posdesk.terminals.api import router as terminals_router
from posdesk.tickets.api import router as tickets_router
from posdesk.tickets.api import sla_router
from posdesk.triage.api import router as triage_router

api = NinjaAPI(
    title="posdesk API",
    version="1",
    description=(
        "REST API v1 of posdesk, the after-sales service platform for POS terminals (POS 售后服务平台).\n\n"
        "Authenticate with `Authorization: Bearer <token>` (`posdesk issue_token <username-or-mobile>`). "
        "Errors are `{\"code\", \"message\", \"detail\"}`; `message` is in zh-Hans, or English with "
        "`Accept-Language: en`. Creates accept an `Idempotency-Key` header."
    ),
    auth=api_auth,
    urls_namespace="api-v1",
)
install_error_handlers(api)
api.add_router("", accounts_router)
api.add_router("", tickets_router)
api.add_router("", sla_router)
api.add_router("", merchants_router)
api.add_router("", terminals_router)
api.add_router("", channels_router)
api.add_router("", knowledge_router)
api.add_router("", incidents_router)
api.add_router("", triage_router)
