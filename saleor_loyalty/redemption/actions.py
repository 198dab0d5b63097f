"""The named writes of redemption: redeem, cancel, capture on order, return on refund, expire when abandoned.

Order of operations for a redemption, so that a failure anywhere leaves the shopper every point:
0. claim the checkout (``locks.checkout_claim``): one redeem or cancel at a time per checkout, across all the
   steps below; a concurrent request waits, then sees or replaces the result, or gets ALREADY_IN_PROGRESS;
1. ask Saleor, with the shopper's token, for the checkout (proves the token and the ownership);
2. hold the points in the ledger (a pending transfer) and record the redemption with the code its voucher will
   have — one DB transaction, committed before the voucher exists, so every code the app gives Saleor is on record;
3. create a single-use voucher for exactly that value, list it in the checkout's channel, attach its code — each
   write back only while the redemption is still PLACING (``_advance``);
4. on any Saleor failure: delete the voucher if it exists, void the hold, mark the redemption failed; if the
   redemption was undone meanwhile, or a local write fails, delete the voucher just made (never leave it live).
The abandoned-redemption sweep also deletes vouchers of redemptions no longer open that are still in the store
(``delete_orphan_vouchers``): a worker that died mid-way, a delete Saleor refused.
"""

import logging
import math
import re
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from saleor_loyalty.core.logging import log_context
from saleor_loyalty.core.ratelimit import RateLimited, hit
from saleor_loyalty.installs.models import Install
from saleor_loyalty.ledger import actions as ledger
from saleor_loyalty.ledger.errors import InsufficientBalance
from saleor_loyalty.ledger.queries import member_balances
from saleor_loyalty.members.actions import member_for_user
from saleor_loyalty.members.models import Member
from saleor_loyalty.program.models import ProgramSettings
from saleor_loyalty.program.rules import program_settings
from saleor_loyalty.saleor.client import SaleorError
from saleor_loyalty.saleor.tokens import Shopper

from . import locks, pricing, saleor_calls
from .errors import RedemptionError
from .models import OPEN_STATUSES, Redemption, RedemptionStatus, Reward
from .rewards import check_limit, reward_offer
from .terms import terms_for

logger = logging.getLogger(__name__)
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: codes may be read aloud
CODE_PREFIX = "LOYALTY-"
_CODE = re.compile(rf"{CODE_PREFIX}[{CODE_ALPHABET}]{{16}}")
# Redemptions whose voucher must not stay in the store: given back, never to be used.
CLOSED_STATUSES = (RedemptionStatus.CANCELLED, RedemptionStatus.EXPIRED, RedemptionStatus.FAILED)
ORPHAN_SWEEP_EVERY = 600  # seconds: each install's store is searched for left-over vouchers at most this often
ORPHAN_SWEEP_PAGES = 10  # pages of 100 vouchers per install and sweep


@dataclass(frozen=True)
class RedeemRequest:
    checkout_id: str
    idempotency_key: str
    points: int | None = None
    amount: Decimal | None = None
    reward_id: int | None = None


def new_code() -> str:
    """An unguessable code: 16 characters from 32, 80 bits of entropy."""
    return CODE_PREFIX + "".join(secrets.choice(CODE_ALPHABET) for _ in range(16))


class _Superseded(Exception):
    """The redemption being placed was undone meanwhile (cancelled, replaced, swept)."""


def _replayed(install: Install, member: Member, request: RedeemRequest) -> Redemption | None:
    existing = Redemption.objects.filter(install=install, idempotency_key=request.idempotency_key).first()
    if existing is None:
        return None
    same_request = (existing.member_id, existing.checkout_id, existing.reward_id) == (
        member.pk,
        request.checkout_id,
        request.reward_id,
    ) and (request.points is None or existing.points == request.points)
    if not same_request:
        raise RedemptionError(
            "IDEMPOTENCY_CONFLICT", "this idempotency key was used for another redemption", "idempotencyKey"
        )
    return existing


def _checkout(shopper: Shopper, checkout_id: str) -> saleor_calls.CheckoutInfo:
    try:
        checkout = saleor_calls.shopper_checkout(shopper, checkout_id)
    except SaleorError as exc:
        raise RedemptionError("SALEOR_ERROR", f"could not read the checkout from the store: {exc}") from exc
    if checkout is None or checkout.user_id != shopper.user_id:
        raise RedemptionError("NOT_FOUND", "no such checkout for this shopper", "checkoutId")
    return checkout


def _price(
    install: Install, member: Member, checkout: saleor_calls.CheckoutInfo, request: RedeemRequest
) -> tuple[int, Decimal, saleor_calls.VoucherSpec, Reward | None]:
    if request.reward_id is not None:
        offer = reward_offer(install, member, checkout, request.reward_id)
        return offer.points, offer.value, offer.spec, offer.reward
    terms = terms_for(install, checkout.channel_slug, checkout.currency)
    if (request.points is None) == (request.amount is None):
        raise RedemptionError("INVALID", "give either points or amount", "points")
    if request.points is not None:
        points, field = pricing.parse_points(request.points), "points"
    else:
        points, field = pricing.points_for_amount(terms, request.amount), "amount"
    value = pricing.check(terms, points, checkout.subtotal, field)
    return points, value, saleor_calls.VoucherSpec(type="ENTIRE_ORDER", value_type="FIXED", value=value), None


MAX_CHECKOUT_ID_LENGTH = 255  # the column's; Saleor's checkout ids are far shorter


def _check_checkout_id(checkout_id: str) -> None:
    if not checkout_id or len(checkout_id) > MAX_CHECKOUT_ID_LENGTH:
        raise RedemptionError("INVALID", "checkoutId is not a checkout id", "checkoutId")


def redeem(shopper: Shopper, request: RedeemRequest) -> Redemption:
    """Turn points into a discount on the shopper's checkout. Raises ``RedemptionError``; keeps every point then."""
    _check_checkout_id(request.checkout_id)
    install = shopper.install
    with log_context(install_id=install.pk, checkout_id=request.checkout_id):
        member = member_for_user(install, shopper.user_id, shopper.email)
        replay = _replayed(install, member, request)
        if replay is not None and replay.status != RedemptionStatus.PLACING:
            return replay
        program = program_settings(install)
        try:
            hit(f"redeem:{install.pk}:{member.pk}", program.redemption_rate_limit_per_minute, 60)
        except RateLimited as exc:
            raise RedemptionError("RATE_LIMITED", "too many redemption attempts; try again in a minute") from exc
        with locks.checkout_claim(install, request.checkout_id):
            replay = _replayed(install, member, request)  # the same request may have finished while this one waited
            if replay is not None:
                return replay
            checkout = _checkout(shopper, request.checkout_id)
            current = _open_redemption(install, member, checkout.id)  # the one this request would replace
            points, value, spec, reward = _price(install, member, _without_discount_of(current, checkout), request)
            _check_affordable(member, points, current)
            if current is not None:
                _cancel(current, reason="replaced")
            redemption = _hold(
                install, member, checkout, request, points, value, reward, program.redemption_hold_minutes
            )
            _place_voucher(redemption, checkout, spec)
            return redemption


def _open_redemption(install: Install, member: Member, checkout_id: str) -> Redemption | None:
    return Redemption.objects.filter(
        install=install, member=member, checkout_id=checkout_id, status__in=OPEN_STATUSES
    ).first()


def _without_discount_of(current: Redemption | None, checkout: saleor_calls.CheckoutInfo) -> saleor_calls.CheckoutInfo:
    """The checkout as a replacement should see it. Saleor spreads an entire-order voucher over the lines, so the
    subtotal it reports is already net of the points redemption being replaced; priced on that, every replacement
    would shrink the percentage cap. (Only a points redemption — a fixed amount off the whole order — whose code
    is on the checkout.)"""
    if current is None or current.reward_id is not None or not checkout.voucher_code:
        return checkout
    if current.voucher_code != checkout.voucher_code:
        return checkout
    return replace(checkout, subtotal=checkout.subtotal + current.amount)


def _check_affordable(member: Member, points: int, current: Redemption | None) -> None:
    """Refuse before touching the checkout's current redemption: a replacement the shopper cannot afford must
    leave the discount they already have. The points held for this checkout count, since replacing frees them.
    (The ledger's hold is still the authority: a balance spent elsewhere meanwhile fails there.)"""
    available = member_balances(member).available + (current.points if current is not None else 0)
    if points > available:
        raise RedemptionError("INSUFFICIENT_POINTS", f"only {available} points are available", "points")


def _hold(
    install: Install,
    member: Member,
    checkout: saleor_calls.CheckoutInfo,
    request: RedeemRequest,
    points: int,
    value: Decimal,
    reward: Reward | None,
    hold_minutes: int,
) -> Redemption:
    try:
        with transaction.atomic():
            if reward is not None and reward.per_shopper_limit is not None:
                # Concurrent redemptions of a limited reward by one shopper would each pass the count in
                # reward_offer: lock the member (as order reconciliation does, before its accounts), count again.
                Member.objects.select_for_update().filter(pk=member.pk).first()
                check_limit(member, reward)
            redemption = Redemption.objects.create(
                install=install,
                member=member,
                reward=reward,
                idempotency_key=request.idempotency_key,
                checkout_id=checkout.id,
                channel_slug=checkout.channel_slug,
                currency=checkout.currency,
                points=points,
                amount=value,
                voucher_code=new_code(),  # on record before Saleor ever sees it: the sweep knows every code we made
                expires_at=timezone.now() + timedelta(minutes=hold_minutes),
            )
            hold_id = ledger.hold(
                member=member, points=points, key=f"redemption:{redemption.pk}:hold", memo={"checkout_id": checkout.id}
            )
            Redemption.objects.filter(pk=redemption.pk).update(hold_id=hold_id)
            redemption.hold_id = hold_id
    except InsufficientBalance as exc:
        available = member_balances(member).available
        raise RedemptionError("INSUFFICIENT_POINTS", f"only {available} points are available", "points") from exc
    except IntegrityError as exc:
        raise RedemptionError(
            "ALREADY_IN_PROGRESS", "another redemption for this checkout is in progress", "checkoutId"
        ) from exc
    return redemption


def _place_voucher(redemption: Redemption, checkout: saleor_calls.CheckoutInfo, spec: saleor_calls.VoucherSpec) -> None:
    install = redemption.install
    code = redemption.voucher_code
    assert code is not None  # written with the hold
    voucher_id = ""
    try:
        voucher_id = saleor_calls.create_voucher(
            install,
            spec=spec,
            code=code,
            name=f"Loyalty: {redemption.points} points (#{redemption.pk})",
            channel_id=checkout.channel_id,
            ends_at=(redemption.expires_at or timezone.now()) + timedelta(hours=1),
        )
        _advance(redemption, voucher_id=voucher_id)
        redemption.voucher_id = voucher_id
        saleor_calls.list_voucher_in_channel(
            install, voucher_id=voucher_id, channel_id=checkout.channel_id, value=spec.value
        )
        saleor_calls.attach_code(install, checkout_id=checkout.id, code=code)
        _advance(redemption, status=RedemptionStatus.ACTIVE, activated_at=timezone.now())
    except SaleorError as exc:
        _undo(redemption, RedemptionStatus.FAILED, error=("SALEOR_ERROR", str(exc)))
        raise RedemptionError("SALEOR_ERROR", f"the store refused the discount: {exc}") from exc
    except _Superseded as exc:
        if Redemption.objects.filter(pk=redemption.pk, status=RedemptionStatus.CAPTURED).exists():
            redemption.status = RedemptionStatus.CAPTURED  # an order used the code already: the points are spent
            return
        # Undone by someone else while Saleor made the voucher; whoever undid it gave the points back but may not
        # have known this voucher: it must not stay live.
        _delete_voucher(install, voucher_id, redemption)
        logger.warning("redemption undone while being placed", extra={"data": {"redemption_id": redemption.pk}})
        raise RedemptionError(
            "ALREADY_IN_PROGRESS", "the redemption on this checkout changed meanwhile; try again", "checkoutId"
        ) from exc
    except Exception:
        # A local write failed (or anything else) once the voucher may exist: delete it, give the points back.
        _delete_voucher(install, voucher_id, redemption)
        try:
            _undo(redemption, RedemptionStatus.FAILED, error=("INTERNAL", "placing the voucher failed"), voucher_id="")
        except Exception:
            logger.exception("could not undo a failed redemption", extra={"data": {"redemption_id": redemption.pk}})
        raise
    redemption.status = RedemptionStatus.ACTIVE
    logger.info("points redeemed", extra={"data": {"redemption_id": redemption.pk, "points": redemption.points}})


def _advance(redemption: Redemption, **fields: object) -> None:
    """Write ``fields`` only while the redemption is still being placed (one guarded UPDATE); ``_Superseded``
    when it was undone meanwhile — a cancelled redemption must never come back to life with a live voucher."""
    if not Redemption.objects.filter(pk=redemption.pk, status=RedemptionStatus.PLACING).update(**fields):
        raise _Superseded(redemption.pk)


def _delete_voucher(install: Install, voucher_id: str, redemption: Redemption) -> None:
    """Best effort: a voucher Saleor would not delete now is found by the sweep (``delete_orphan_vouchers``)."""
    if not voucher_id:
        return
    try:
        saleor_calls.delete_voucher(install, voucher_id=voucher_id)
    except SaleorError:
        logger.warning("could not delete voucher", extra={"data": {"redemption_id": redemption.pk}})


def _undo(
    redemption: Redemption,
    status: RedemptionStatus,
    *,
    error: tuple[str, str] | None = None,
    detach: bool = False,
    voucher_id: str | None = None,
) -> None:
    """Give the points back and remove the voucher (best effort: the sweep deletes a voucher left behind).

    The voucher is the one on record unless ``voucher_id`` says otherwise ("": already deleted by the caller).
    """
    install = redemption.install
    if voucher_id is None:
        stored = Redemption.objects.filter(pk=redemption.pk).values_list("voucher_id", flat=True).first()
        voucher_id = redemption.voucher_id or stored or ""
    if detach and voucher_id and redemption.voucher_code:
        try:
            saleor_calls.detach_code(install, checkout_id=redemption.checkout_id, code=redemption.voucher_code)
        except SaleorError:
            logger.warning("could not remove voucher from checkout", extra={"data": {"redemption_id": redemption.pk}})
    _delete_voucher(install, voucher_id, redemption)
    with transaction.atomic():
        locked = Redemption.objects.select_for_update().get(pk=redemption.pk)
        if locked.status not in OPEN_STATUSES:
            return
        if locked.hold_id is not None:
            ledger.release(pending_id=locked.hold_id, key=f"redemption:{locked.pk}:release")
        fields: dict[str, str] = {"status": status}
        if error:
            fields.update(error_code=error[0], error_message=error[1][:2000])
        Redemption.objects.filter(pk=locked.pk).update(**fields)
    redemption.status = status


def _cancel(redemption: Redemption, *, reason: str) -> None:
    _undo(redemption, RedemptionStatus.CANCELLED, detach=True)
    logger.info(f"redemption {reason}", extra={"data": {"redemption_id": redemption.pk}})


def cancel(shopper: Shopper, checkout_id: str) -> Redemption:
    """Take the points off the checkout: remove the voucher and void the hold."""
    _check_checkout_id(checkout_id)
    member = member_for_user(shopper.install, shopper.user_id, shopper.email)
    with locks.checkout_claim(shopper.install, checkout_id):
        current = _open_redemption(shopper.install, member, checkout_id)
        if current is None:
            raise RedemptionError("NOT_FOUND", "no points are redeemed on this checkout", "checkoutId")
        _cancel(current, reason="cancelled")
    return current


def checkout_changed(install: Install, *, checkout_id: str, voucher_code: str | None, issued_at: datetime) -> bool:
    """CHECKOUT_UPDATED: if our code is no longer on the checkout, release the points now.

    Only changes made after the code went on count (an older event says nothing about our code), and only for
    active redemptions (one being placed is still ours to finish).
    """
    redemption = Redemption.objects.filter(
        install=install, checkout_id=checkout_id, status=RedemptionStatus.ACTIVE, activated_at__lt=issued_at
    ).first()
    if redemption is None or redemption.voucher_code == voucher_code:
        return False
    _undo(redemption, RedemptionStatus.CANCELLED)
    logger.info("redemption code removed from checkout", extra={"data": {"redemption_id": redemption.pk}})
    return True


def capture_for_order(install: Install, *, order_id: str, voucher_code: str | None) -> Redemption | None:
    """An order used a redemption's code: its points are spent (even if a sweep released them meanwhile)."""
    if not voucher_code:
        return None
    with transaction.atomic():
        redemption = Redemption.objects.select_for_update().filter(install=install, voucher_code=voucher_code).first()
        if redemption is None:
            return None
        if redemption.status == RedemptionStatus.CAPTURED:
            if order_id and not redemption.order_id:  # captured by the sweep before the order arrived
                Redemption.objects.filter(pk=redemption.pk).update(order_id=order_id)
            return redemption
        key = f"redemption:{redemption.pk}"
        if redemption.status in OPEN_STATUSES and redemption.hold_id is not None:
            ledger.capture(pending_id=redemption.hold_id, key=f"{key}:capture", order_id=order_id or None)
        else:  # released before the order arrived: spend again, owing what is no longer there
            hold_id = ledger.spend_owing(
                member=redemption.member, points=redemption.points, key=f"{key}:late", order_id=order_id or None
            )
            redemption.hold_id = hold_id
            logger.warning(
                "redemption code used after its hold was released", extra={"data": {"redemption_id": redemption.pk}}
            )
        Redemption.objects.filter(pk=redemption.pk).update(
            status=RedemptionStatus.CAPTURED, order_id=order_id or None, hold_id=redemption.hold_id
        )
        redemption.status = RedemptionStatus.CAPTURED
        return redemption


def settle_returns(
    install: Install, *, order_id: str, kept_share: Fraction, program: ProgramSettings | None = None
) -> int:
    """State-based: after refunds the order keeps ``kept_share`` of its points-paid part; return the rest.

    ``program``: the settings the caller already read (one read per event), else they are read here."""
    if not (program or program_settings(install)).return_points_on_refund:
        return 0
    returned = 0
    for redemption in Redemption.objects.select_for_update().filter(
        install=install, order_id=order_id, status=RedemptionStatus.CAPTURED
    ):
        target = redemption.points - math.floor(redemption.points * kept_share)  # exact: a third of 300 is 100
        delta = target - redemption.points_returned
        if delta > 0 and redemption.hold_id is not None:
            ledger.return_redeemed(
                member=redemption.member,
                hold_id=redemption.hold_id,
                points=delta,
                order_id=order_id,
                key=f"redemption:{redemption.pk}:return:{target}",
            )
            Redemption.objects.filter(pk=redemption.pk).update(points_returned=target)
            returned += delta
    return returned


def expire_abandoned(limit: int = 200) -> int:
    """Void holds on checkouts left alone past the hold time; capture instead if the code was used. Then delete
    vouchers left in the store by redemptions no longer open (``delete_orphan_vouchers``)."""
    moment = timezone.now()
    expired = 0
    for redemption in Redemption.objects.filter(status__in=OPEN_STATUSES, expires_at__lte=moment).select_related(
        "install"
    )[:limit]:
        with log_context(install_id=redemption.install_id, redemption_id=redemption.pk):
            try:
                with locks.checkout_claim(redemption.install, redemption.checkout_id, wait=0):
                    expired += _expire(redemption)
            except RedemptionError:
                logger.info("checkout busy; will retry")  # a redeem or cancel is changing it right now
    locks.forget_lapsed()
    for install in _installs_with_closed_vouchers(moment):
        if cache.add(f"redemption:orphan-sweep:{install.pk}", 1, ORPHAN_SWEEP_EVERY):
            with log_context(install_id=install.pk):
                delete_orphan_vouchers(install)
    return expired


def _expire(redemption: Redemption) -> int:
    redemption.refresh_from_db()
    if redemption.status not in OPEN_STATUSES:
        return 0
    try:
        used = bool(redemption.voucher_id) and saleor_calls.voucher_was_used(
            redemption.install, voucher_id=redemption.voucher_id
        )
    except SaleorError:
        logger.warning("could not check voucher usage; will retry")
        return 0
    if used:
        capture_for_order(redemption.install, order_id="", voucher_code=redemption.voucher_code)
        return 0
    _undo(redemption, RedemptionStatus.EXPIRED, detach=True)
    return 1


def _installs_with_closed_vouchers(moment: datetime) -> list[Install]:
    """Installs with a closed redemption whose voucher could still be usable (it ends an hour after the hold)."""
    installs = Redemption.objects.filter(
        status__in=CLOSED_STATUSES,
        voucher_code__isnull=False,
        expires_at__gt=moment - timedelta(hours=1),
        install__is_active=True,
    ).values("install_id")
    return list(Install.objects.filter(pk__in=installs))


def delete_orphan_vouchers(install: Install) -> int:
    """Delete the vouchers this app made in the install's store that no open or captured redemption owns.

    Saleor is searched for usable vouchers by the app's code prefix; one is the app's when its code is on record
    (every code is recorded with its redemption before the voucher is created), and it goes when that redemption
    was cancelled, expired or failed and the voucher is unused. Vouchers the app has no record of — the
    merchant's, another deployment's — are never touched. Returns how many were deleted.
    """
    deleted = 0
    after = None
    for _ in range(ORPHAN_SWEEP_PAGES):
        try:
            found, after = saleor_calls.search_vouchers(install, search=CODE_PREFIX, after=after)
        except SaleorError:
            logger.warning("could not search the store's vouchers; will retry")
            return deleted
        candidates = [v for v in found if v.used == 0 and len(v.codes) == 1 and _CODE.fullmatch(v.codes[0])]
        closed = set(
            Redemption.objects.filter(
                install=install, voucher_code__in=[v.codes[0] for v in candidates], status__in=CLOSED_STATUSES
            ).values_list("voucher_code", flat=True)
        )
        for voucher in candidates:
            if voucher.codes[0] not in closed:
                continue
            try:
                saleor_calls.delete_voucher(install, voucher_id=voucher.id)
            except SaleorError:
                logger.warning("could not delete a left-over voucher", extra={"data": {"voucher_id": voucher.id}})
                continue
            deleted += 1
            logger.warning("deleted a left-over redemption voucher", extra={"data": {"voucher_id": voucher.id}})
        if after is None:
            break
    return deleted
