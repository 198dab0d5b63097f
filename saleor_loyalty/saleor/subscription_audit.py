"""Checking that the webhooks a store runs for us still carry our subscription documents.

A webhook body is signed by the store, but its *shape* comes from the webhook's subscription document, which
staff with MANAGE_APPS can edit in Saleor. An edited document can alias one field as another (``chargeStatus:
authorizeStatus``) and every body it shapes still verifies. So the app reads its own webhooks (``app {
webhooks }``: an app may read its own) and compares them with the manifest's: every document unchanged but for
comments and layout (any one of the subscription's documents: the manifest gives a newer Saleor line a document
made for it, and a store upgraded since keeps the one it was installed with), every one active. A store where they
differ is marked (``Install.subscription_problem``) and its deliveries are held, not processed, until they match
again; an operator then decides about what arrived meanwhile.

What this cannot see: a webhook of *another* app aimed at our endpoints. Saleor signs every app's deliveries
with the same store key and names no app in them, and an app cannot list other apps' webhooks without
MANAGE_APPS. While our own webhooks are active, Saleor's genuine deliveries arrive too and state-based
processing follows whichever comes last (docs/security.md).

Audited every ``SUBSCRIPTION_AUDIT_SECONDS`` by beat, and on demand with the ``audit_subscriptions`` command.
"""

import logging
from urllib.parse import urlsplit

from django.utils import timezone
from graphql import GraphQLError, parse, print_ast

from saleor_loyalty.installs.models import Install

from .client import SaleorClient
from .subscriptions import SUBSCRIPTIONS, subscription_for_path

logger = logging.getLogger(__name__)
WEBHOOK_PATH_PREFIX = "/api/webhooks/"  # under APP_URL, whatever host or prefix it had at install


def canonical(document: str) -> str:
    """A document without comments and layout, so only a change of meaning counts as a change."""
    return print_ast(parse(document))


def problems_in(webhooks: list[dict[str, object]]) -> list[str]:
    """What differs between the app's webhooks in the store and the manifest's: a document edited, a webhook
    aimed elsewhere, or one switched off or deleted (then a forged delivery from another app's webhook would be
    the only one of its kind to arrive). Every webhook listed is this app's own, wherever it points."""
    found, active = [], set()
    for webhook in webhooks:
        name = str(webhook.get("name") or "?")
        path = urlsplit(str(webhook.get("targetUrl") or "")).path
        _, marker, endpoint = path.rpartition(WEBHOOK_PATH_PREFIX)
        subscription = subscription_for_path(endpoint) if marker else None
        if subscription is None:
            found.append(f"webhook {name!r} delivers to {path or '?'}, which the manifest does not have")
            continue
        try:
            query = canonical(str(webhook.get("subscriptionQuery") or ""))
            same = any(query == canonical(document) for document in subscription.queries)
        except GraphQLError:
            same = False
        if not same:
            found.append(f"webhook {name!r}: its subscription document is not the manifest's {subscription.document}")
        elif webhook.get("isActive") is True:
            active.add(subscription.path)
    found += [
        f"the manifest's {subscription.document} webhook is inactive or missing"
        for subscription in SUBSCRIPTIONS
        if subscription.path not in active
    ]
    return found


def audit_subscriptions(install: Install) -> str:
    """Read the store's webhooks, record what differs (``""`` when nothing), and return it. Saleor errors
    propagate (``SaleorError``): an unreachable store changes nothing recorded."""
    data = SaleorClient(install.saleor_api_url, install.auth_token).execute("app_webhooks")
    app = data.get("app") if isinstance(data.get("app"), dict) else {}
    webhooks = app.get("webhooks") if isinstance(app, dict) else None
    problem = "; ".join(problems_in([w for w in webhooks or [] if isinstance(w, dict)]))
    if problem != install.subscription_problem:
        log = logger.error if problem else logger.warning
        log(
            "webhook subscriptions altered" if problem else "webhook subscriptions are ours again",
            extra={"data": {"install_id": install.pk, "problem": problem}},
        )
    Install.objects.filter(pk=install.pk).update(subscription_problem=problem, subscriptions_checked_at=timezone.now())
    install.subscription_problem = problem
    return problem
