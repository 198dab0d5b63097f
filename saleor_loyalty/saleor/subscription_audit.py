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

A store upgraded to a newer Saleor line keeps the documents it was installed with, which are ours but miss what
the manifest now gives that line (3.23's order events carry each payment's gift-card details, without which store
credit spent on an order would earn). When nothing else differs, the audit brings them up to date itself: an app
may update its own webhooks (``webhookUpdate``, AUTHENTICATED_APP), so the store need not reinstall the app.

Audited every ``SUBSCRIPTION_AUDIT_SECONDS`` by beat, and on demand with the ``audit_subscriptions`` command.
"""

import logging
from urllib.parse import urlsplit

from django.utils import timezone
from graphql import GraphQLError, parse, print_ast

from saleor_loyalty.installs.models import Install

from .client import SaleorClient, SaleorError
from .subscriptions import SUBSCRIPTIONS, Subscription, subscription_for_path

logger = logging.getLogger(__name__)
WEBHOOK_PATH_PREFIX = "/api/webhooks/"  # under APP_URL, whatever host or prefix it had at install


def canonical(document: str) -> str:
    """A document without comments and layout, so only a change of meaning counts as a change."""
    return print_ast(parse(document))


def _endpoint(webhook: dict[str, object]) -> tuple[str, Subscription | None]:
    """The path a webhook delivers to, and the manifest's subscription of that endpoint (None: not one of ours)."""
    path = urlsplit(str(webhook.get("targetUrl") or "")).path
    _, marker, endpoint = path.rpartition(WEBHOOK_PATH_PREFIX)
    return path, subscription_for_path(endpoint) if marker else None


def problems_in(webhooks: list[dict[str, object]]) -> list[str]:
    """What differs between the app's webhooks in the store and the manifest's: a document edited, a webhook
    aimed elsewhere, or one switched off, deleted or without one of the manifest's events (then a forged delivery
    from another app's webhook would be the only one of its kind to arrive). Events added are not a difference:
    the endpoints refuse events not theirs. Every webhook listed is this app's own, wherever it points."""
    found, active, reported = [], set(), set()
    for webhook in webhooks:
        name = str(webhook.get("name") or "?")
        path, subscription = _endpoint(webhook)
        if subscription is None:
            found.append(f"webhook {name!r} delivers to {path or '?'}, which the manifest does not have")
            continue
        try:
            query = canonical(str(webhook.get("subscriptionQuery") or ""))
            same = any(query == canonical(document) for document in subscription.queries)
        except GraphQLError:
            same = False
        listed = webhook.get("asyncEvents")
        events = {str(e.get("eventType")) for e in listed if isinstance(e, dict)} if isinstance(listed, list) else set()
        missing = [event for event in subscription.events if event not in events]
        documents = " or ".join((subscription.document, *(document for _, document in subscription.newer)))
        if not same:
            found.append(f"webhook {name!r}: its subscription document is none of the manifest's ({documents})")
            reported.add(subscription.path)
        elif missing:  # an event taken off is as good as switched off for that event
            found.append(f"webhook {name!r} no longer subscribes to {', '.join(missing)}")
            reported.add(subscription.path)
        elif webhook.get("isActive") is True:
            active.add(subscription.path)
    found += [
        f"the manifest's {subscription.document} webhook is inactive or missing"
        for subscription in SUBSCRIPTIONS
        if subscription.path not in active | reported
    ]
    return found


def outdated(webhooks: list[dict[str, object]], saleor_version: str | None) -> list[tuple[str, str, Subscription]]:
    """The webhooks that carry one of our documents but not the one the store's Saleor line now gets from the
    manifest: (webhook id, its name, its subscription)."""
    found = []
    for webhook in webhooks:
        _, subscription = _endpoint(webhook)
        if subscription is None or not webhook.get("id"):
            continue
        try:
            current = canonical(str(webhook.get("subscriptionQuery") or ""))
        except GraphQLError:
            continue
        if current != canonical(subscription.query_for(saleor_version)):
            found.append((str(webhook["id"]), str(webhook.get("name") or "?"), subscription))
    return found


def _upgrade(client: SaleorClient, install: Install, webhooks: list[dict[str, object]], version: str | None) -> None:
    """Give each outdated webhook the document the store's line gets (``outdated``). A refusal is logged and left
    for the next audit: the webhook still carries one of our documents, so nothing is held meanwhile."""
    for webhook_id, name, subscription in outdated(webhooks, version):
        variables = {"id": webhook_id, "query": subscription.query_for(version), "events": list(subscription.events)}
        data = client.execute("webhook_update", variables)
        payload = data.get("webhookUpdate") if isinstance(data.get("webhookUpdate"), dict) else {}
        errors = payload.get("errors") if isinstance(payload, dict) else None
        extra = {"install_id": install.pk, "webhook": name, "saleor_version": version}
        if errors or not isinstance(payload, dict) or not payload.get("webhook"):
            logger.error("webhook document not upgraded", extra={"data": {**extra, "errors": errors}})
        else:
            logger.warning("webhook document upgraded for the store's Saleor line", extra={"data": extra})


def audit_subscriptions(install: Install) -> str:
    """Read the store's webhooks, record what differs (``""`` when nothing), and return it; when nothing does,
    upgrade the documents of a store whose Saleor line has newer ones. Saleor errors propagate (``SaleorError``):
    an unreachable store changes nothing recorded."""
    client = SaleorClient(install.saleor_api_url, install.auth_token)
    data = client.execute("app_webhooks")
    app = data.get("app") if isinstance(data.get("app"), dict) else {}
    listed = app.get("webhooks") if isinstance(app, dict) else None
    webhooks = [w for w in listed or [] if isinstance(w, dict)]
    shop = data.get("shop") if isinstance(data.get("shop"), dict) else {}
    version = str((shop or {}).get("schemaVersion") or "") or None
    problem = "; ".join(problems_in(webhooks))
    if problem != install.subscription_problem:
        log = logger.error if problem else logger.warning
        log(
            "webhook subscriptions altered" if problem else "webhook subscriptions are ours again",
            extra={"data": {"install_id": install.pk, "problem": problem}},
        )
    seen = {"subscription_problem": problem, "subscriptions_checked_at": timezone.now()}
    if version and version[:32] != install.saleor_version:  # kept for operators: the store's line as last seen
        seen["saleor_version"] = install.saleor_version = version[:32]
    Install.objects.filter(pk=install.pk).update(**seen)
    install.subscription_problem = problem
    if not problem:
        try:
            _upgrade(client, install, webhooks, version)
        except SaleorError as exc:  # the finding stands; the next audit tries again
            logger.error("webhook document not upgraded", extra={"data": {"install_id": install.pk, "error": str(exc)}})
    return problem
