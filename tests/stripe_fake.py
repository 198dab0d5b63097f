"""The fake Stripe the tests talk to: localstripe, with a thin stand-in on top. Run by tests/stripe_server.py as
``python -m tests.stripe_fake --fd N`` (a listening socket handed over by the parent, so there is no port race).

What is real **localstripe** (the package, unchanged): customers, payment methods (``pm_card_visa`` and the other
test cards), PaymentIntents (create, confirm, capture, cancel), charges, refunds (create on a charge or a
PaymentIntent, list, retrieve), plans, products, subscriptions, invoices, events, and its webhook deliveries signed
with an endpoint secret (``POST /_config/webhooks/<id>``). Its state lives in this process only (its pickle file
under /tmp is switched off, so parallel runs never share or clobber it).

What the **stand-in** adds (this module):

- every request to an endpoint in ``VALIDATED`` is first checked against the stripe library's own typed
  parameters (tests/stripe_params.py) and refused as Stripe would (400, ``invalid_request_error``,
  ``parameter_unknown`` / ``parameter_missing`` / ``parameter_invalid``);
- Prices, which localstripe lacks: ``GET /v1/prices/<id>`` shows the localstripe plan of that id as a recurring
  Price (its amount, currency, interval, active);
- Checkout Sessions, which localstripe lacks: create, retrieve, expire, and a test helper that completes one
  (``POST /_config/standin/checkout/sessions/<id>/complete``) and sends ``checkout.session.completed``; in
  subscription mode it subscribes the session's customer with localstripe (the line item's ``price`` naming a
  localstripe plan: localstripe has no Prices), paying with ``payment_method`` (``pm_card_visa`` by default);
- subscription renewals, which localstripe never makes (it has no clock): ``POST
  /_config/standin/subscriptions/<id>/renew`` moves the subscription into its next period and sends
  ``customer.subscription.updated`` (localstripe sends no ``updated``), paid (``active``) or, with ``fail=true``,
  declined: ``past_due`` and ``invoice.payment_failed`` first; ``.../pay`` settles a past-due one (``active``);
- refunds: one larger than what is left on the charge is refused (localstripe accepts it); a created refund
  sends ``refund.created`` and ``charge.refunded`` (localstripe sends neither); a test helper fails one
  (``POST /_config/standin/refunds/<id>/fail``) and sends ``refund.updated`` and ``refund.failed``;
- a log of every request (method, path, ``Idempotency-Key``, ``Stripe-Version``, status) at
  ``GET /_config/standin/requests``, and injectable faults (``POST /_config/standin/faults``): hang before or
  after handling the next matching request, or answer it with a 500 after handling it.

Neither honours ``Idempotency-Key``: the app must not rely on it to avoid paying twice (payments/refunds.py).
"""

import argparse
import asyncio
import json
import re
import socket
import time
from typing import Any

import stripe.params
import stripe.params.checkout
from aiohttp import web
from aiohttp.typedefs import Handler
from localstripe import resources, server
from localstripe.errors import UserError
from localstripe.resources import Charge, Customer, Event, PaymentIntent, Plan, Refund, StripeObject, Subscription
from localstripe.webhooks import schedule_webhook

from tests.stripe_params import InvalidParams, check

resources.Store.dump_to_disk = lambda self: None  # state in memory, per process

VALIDATED: list[tuple[str, re.Pattern[str], type]] = [
    (method, re.compile(path), params)
    for method, path, params in [
        ("POST", r"/v1/payment_intents", stripe.params.PaymentIntentCreateParams),
        ("GET", r"/v1/payment_intents/[^/]+", stripe.params.PaymentIntentRetrieveParams),
        ("POST", r"/v1/payment_intents/[^/]+/confirm", stripe.params.PaymentIntentConfirmParams),
        ("POST", r"/v1/refunds", stripe.params.RefundCreateParams),
        ("GET", r"/v1/refunds", stripe.params.RefundListParams),
        ("GET", r"/v1/refunds/[^/]+", stripe.params.RefundRetrieveParams),
        ("POST", r"/v1/customers", stripe.params.CustomerCreateParams),
        ("GET", r"/v1/customers/[^/]+", stripe.params.CustomerRetrieveParams),
        ("POST", r"/v1/subscriptions", stripe.params.SubscriptionCreateParams),
        ("GET", r"/v1/subscriptions/[^/]+", stripe.params.SubscriptionRetrieveParams),
        ("POST", r"/v1/subscriptions/[^/]+", stripe.params.SubscriptionUpdateParams),
        ("DELETE", r"/v1/subscriptions/[^/]+", stripe.params.SubscriptionCancelParams),
        ("POST", r"/v1/checkout/sessions", stripe.params.checkout.SessionCreateParams),
        ("GET", r"/v1/checkout/sessions/[^/]+", stripe.params.checkout.SessionRetrieveParams),
        ("GET", r"/v1/prices/[^/]+", stripe.params.PriceRetrieveParams),
        ("POST", r"/v1/checkout/sessions/[^/]+/expire", stripe.params.checkout.SessionExpireParams),
    ]
]
requests_seen: list[dict[str, Any]] = []
faults: list[dict[str, Any]] = []


class CheckoutSession(StripeObject):
    """A Checkout Session: the fields the app reads; payment pages are not simulated."""

    object = "checkout.session"
    _id_prefix = "cs_test_"

    def __init__(self, base_url: str, **params: Any) -> None:
        if params.get("mode") not in ("payment", "setup", "subscription"):
            raise InvalidParams("parameter_missing", "mode", "Missing required param: mode.")
        if params["mode"] != "setup" and not params.get("line_items"):
            raise InvalidParams("parameter_missing", "line_items", "Missing required param: line_items.")
        if params.get("ui_mode", "hosted") == "hosted" and not params.get("success_url"):
            raise InvalidParams("parameter_missing", "success_url", "Missing required param: success_url.")
        super().__init__()
        self.mode = params["mode"]
        self.status = "open"
        self.payment_status = "unpaid"
        self.url = f"{base_url}/checkout/pay/{self.id}"
        self.success_url = params.get("success_url")
        self.cancel_url = params.get("cancel_url")
        self.client_reference_id = params.get("client_reference_id")
        self.customer = params.get("customer")
        self.customer_email = params.get("customer_email")
        self.metadata = params.get("metadata") or {}
        self.subscription = None
        self.payment_intent = None
        self.expires_at = int(params.get("expires_at") or time.time() + 24 * 3600)
        self._line_items = params.get("line_items") or []
        self._subscription_metadata = (params.get("subscription_data") or {}).get("metadata") or {}


async def _params(request: web.Request) -> Any:
    """The request's parameters, decoded as localstripe decodes them (an empty body is no parameters)."""
    if request.method in ("GET", "DELETE"):
        return server.unflatten_data(request.query)
    return await server.get_post_data(request) or {}


@web.middleware
async def record_and_inject_faults(request: web.Request, handler: Handler) -> web.StreamResponse:
    entry: dict[str, Any] = {
        "method": request.method,
        "path": request.path,
        "idempotency_key": request.headers.get("Idempotency-Key"),
        "stripe_version": request.headers.get("Stripe-Version"),
        "status": None,
    }
    if not request.path.startswith("/_config/"):
        requests_seen.append(entry)
    fault = next((f for f in faults if f["method"] == request.method and f["path"] == request.path), None)
    if fault is not None:
        faults.remove(fault)
        if fault["mode"] == "hang_before":
            await asyncio.sleep(fault["seconds"])
            raise web.HTTPGatewayTimeout()
    response = await handler(request)
    entry["status"] = response.status
    if fault is not None and fault["mode"] == "hang_after":
        await asyncio.sleep(fault["seconds"])
    if fault is not None and fault["mode"] == "error_after":
        body = {"error": {"type": "api_error", "message": "An unknown error occurred"}}
        return web.json_response(body, status=500)
    return response


@web.middleware
async def validate_params(request: web.Request, handler: Handler) -> web.StreamResponse:
    for method, path, params_class in VALIDATED:
        if request.method == method and path.fullmatch(request.path):
            try:
                check(params_class, await _params(request))
            except InvalidParams as exc:
                return web.json_response(exc.body(), status=400)
            break
    if request.method == "POST" and request.path == "/v1/refunds":
        try:
            _check_refund_amount(await _params(request))
        except InvalidParams as exc:
            return web.json_response(exc.body(), status=400)
        response = await handler(request)
        if response.status == 200 and isinstance(response, web.Response) and isinstance(response.body, bytes):
            refund = Refund._api_retrieve(json.loads(response.body)["id"])
            schedule_webhook(Event("refund.created", refund))
            schedule_webhook(Event("charge.refunded", Charge._api_retrieve(refund.charge)))
        return response
    return await handler(request)


def _check_refund_amount(data: dict[str, Any]) -> None:
    """Stripe refuses a refund larger than what is left on the charge; localstripe does not."""
    if not isinstance(data.get("payment_intent"), str) or not isinstance(data.get("amount"), str | int):
        return
    try:
        intent = PaymentIntent._api_retrieve(data["payment_intent"])
    except UserError:
        return  # localstripe answers 404 itself
    charge = intent.latest_charge
    if charge is not None and int(data["amount"]) > charge.amount - charge.amount_refunded:
        left = charge.amount - charge.amount_refunded
        raise InvalidParams(
            "amount_too_large", "amount", f"Refund amount ({data['amount']}) is greater than unrefunded amount ({left})"
        )


def _json(stripe_object: Any) -> web.Response:
    return web.json_response(stripe_object)


async def create_session(request: web.Request) -> web.Response:
    data = dict(await _params(request) or {})
    data.pop("expand", None)
    try:
        session = CheckoutSession(f"{request.scheme}://{request.host}", **data)
    except InvalidParams as exc:
        return web.json_response(exc.body(), status=400)
    return _json(session._export())


async def retrieve_session(request: web.Request) -> web.Response:
    return _json(CheckoutSession._api_retrieve(request.match_info["id"])._export())


async def retrieve_price(request: web.Request) -> web.Response:
    """A Price as Stripe shows it, made from the localstripe plan of that id (localstripe has no Prices; a plan is
    what Stripe's legacy Plans were, and Stripe serves them through the Prices API too)."""
    plan = Plan._api_retrieve(request.match_info["id"])
    active = plan.active if isinstance(plan.active, bool) else str(plan.active).lower() == "true"  # form-encoded update
    price = {
        "id": plan.id,
        "object": "price",
        "active": active,
        "currency": plan.currency,
        "unit_amount": plan.amount,
        "product": plan.product,
        "type": "recurring",
        "recurring": {"interval": plan.interval, "interval_count": plan.interval_count or 1, "usage_type": "licensed"},
        "livemode": False,
    }
    return web.json_response(price)


async def expire_session(request: web.Request) -> web.Response:
    session = CheckoutSession._api_retrieve(request.match_info["id"])
    if session.status != "open":
        raise UserError(400, f"Only Checkout Sessions with a status of open can be expired (is {session.status})")
    session.status = "expired"
    schedule_webhook(Event("checkout.session.expired", session))
    return _json(session._export())


async def complete_session(request: web.Request) -> web.Response:
    """Test helper: the shopper paid. In subscription mode ``subscription`` names a subscription the test made
    with localstripe; without it the stand-in subscribes the customer to the line item's ``price``, which must name
    a localstripe plan (localstripe has no Prices)."""
    session = CheckoutSession._api_retrieve(request.match_info["id"])
    data = await server.get_post_data(request) or {}
    session.status, session.payment_status = "complete", "paid"
    session.customer = data.get("customer", session.customer)
    session.subscription = data.get("subscription")
    if session.mode == "subscription" and not session.subscription:
        session.subscription = _subscribe(session, str(data.get("payment_method", "pm_card_visa")))
    schedule_webhook(Event("checkout.session.completed", session))
    return _json(session._export())


def _subscribe(session: CheckoutSession, payment_method: str) -> str:
    """What Checkout does once the shopper paid: the customer gets the card and a subscription to the line item."""
    if not session.customer:
        session.customer = Customer(email=session.customer_email, metadata={}).id
    Customer._api_update(session.customer, invoice_settings={"default_payment_method": payment_method})
    plan = session._line_items[0]["price"]
    subscription = Subscription(
        customer=session.customer, items=[{"plan": plan}], metadata=dict(session._subscription_metadata)
    )
    return str(subscription.id)


class FailedInvoice(StripeObject):
    """The declined renewal's invoice, as ``invoice.payment_failed`` carries it (the fields the app reads)."""

    object = "invoice"
    _id_prefix = "in_"

    def __init__(self, subscription: Any) -> None:
        super().__init__()
        self.customer = subscription.customer
        self.subscription = subscription.id  # before API 2025-03
        self.parent = {  # since
            "type": "subscription_details",
            "subscription_details": {"subscription": subscription.id, "metadata": dict(subscription.metadata)},
        }
        self.status = "open"
        self.billing_reason = "subscription_cycle"
        self.attempt_count = 1
        self.period_start = subscription.current_period_start
        self.period_end = subscription.current_period_end


def _updated(subscription: Any, previous: dict[str, Any]) -> None:
    event = Event("customer.subscription.updated", subscription)
    event.data["previous_attributes"] = previous
    schedule_webhook(event)


async def renew_subscription(request: web.Request) -> web.Response:
    """Test helper: the subscription's period ended; Stripe charged the next one (``fail=true``: declined)."""
    subscription = Subscription._api_retrieve(request.match_info["id"])
    data = await server.get_post_data(request) or {}
    previous = {
        "status": subscription.status,
        "current_period_start": subscription.current_period_start,
        "current_period_end": subscription.current_period_end,
    }
    subscription.start_date = subscription.current_period_end  # localstripe derives the period from it
    if str(data.get("fail", "false")) == "true":
        subscription.status = "past_due"
        schedule_webhook(Event("invoice.payment_failed", FailedInvoice(subscription)))
    else:
        subscription.status = "active"
    _updated(subscription, previous)
    return _json(subscription._export())


async def pay_subscription(request: web.Request) -> web.Response:
    """Test helper: a retry of the declined invoice succeeded."""
    subscription = Subscription._api_retrieve(request.match_info["id"])
    previous = {"status": subscription.status}
    subscription.status = "active"
    _updated(subscription, previous)
    return _json(subscription._export())


async def fail_refund(request: web.Request) -> web.Response:
    """Test helper: the bank returned the refund (Stripe reports it later, by webhooks)."""
    refund = Refund._api_retrieve(request.match_info["id"])
    refund.status, refund.failure_reason = "failed", "expired_or_canceled_card"
    schedule_webhook(Event("refund.updated", refund))
    schedule_webhook(Event("refund.failed", refund))
    return _json(refund._export())


async def list_requests(request: web.Request) -> web.Response:
    return web.json_response(requests_seen)


async def clear_requests(request: web.Request) -> web.Response:
    requests_seen.clear()
    return web.json_response([])


async def add_fault(request: web.Request) -> web.Response:
    fault = await request.json()
    if fault.get("mode") not in ("hang_before", "hang_after", "error_after"):
        raise UserError(400, "mode: hang_before, hang_after or error_after")
    faults.append({"method": fault["method"], "path": fault["path"], "mode": fault["mode"],
                   "seconds": float(fault.get("seconds", 30))})  # fmt: skip
    return web.json_response(faults)


def build_app() -> web.Application:
    app: web.Application = server.app
    app.middlewares.insert(0, record_and_inject_faults)
    app.middlewares.append(validate_params)
    # Before localstripe's catch-all routes would see them (aiohttp matches in order of registration for the
    # same path, and these paths are new).
    app.router.add_post("/v1/checkout/sessions", create_session)
    app.router.add_get("/v1/checkout/sessions/{id}", retrieve_session)
    app.router.add_get("/v1/prices/{id}", retrieve_price)
    app.router.add_post("/v1/checkout/sessions/{id}/expire", expire_session)
    app.router.add_post("/_config/standin/checkout/sessions/{id}/complete", complete_session)
    app.router.add_post("/_config/standin/refunds/{id}/fail", fail_refund)
    app.router.add_post("/_config/standin/subscriptions/{id}/renew", renew_subscription)
    app.router.add_post("/_config/standin/subscriptions/{id}/pay", pay_subscription)
    app.router.add_get("/_config/standin/requests", list_requests)
    app.router.add_delete("/_config/standin/requests", clear_requests)
    app.router.add_post("/_config/standin/faults", add_fault)
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fd", type=int, required=True, help="a listening socket's file descriptor")
    args = parser.parse_args()
    sock = socket.socket(fileno=args.fd)
    web.run_app(build_app(), sock=sock, print=None, access_log=None, handle_signals=True)


if __name__ == "__main__":
    main()
