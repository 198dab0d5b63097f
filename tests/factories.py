"""Builders for domain objects in tests (not Saleor payloads: those come from the contract harness)."""

import itertools
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.test import Client

from saleor_loyalty.core import crypto
from saleor_loyalty.installs.models import Install
from saleor_loyalty.program.snapshots import LineSnapshot, OrderSnapshot
from saleor_loyalty.rebates.models import RebateProgram
from tests.saleor_harness import FakeSaleor

_seq = itertools.count(1)
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def make_install(
    api_url: str | None = None, jwks: dict | None = None, app_id: str = "QXBwOjE=", token: str | None = None
) -> Install:
    n = next(_seq)
    install = Install(
        saleor_api_url=api_url or f"https://shop-{n}.example/graphql/",
        app_id=app_id,
        jwks=jwks or {"keys": []},
    )
    install.set_auth_token(token or f"token-{n}")
    install.save()
    return install


def line(
    line_id: str = "line-1",
    quantity: int = 1,
    unit: str = "100.00",
    net_unit: str | None = None,
    product_id: str = "UHJvZHVjdDox",
    category_id: str = "Q2F0ZWdvcnk6MQ==",
    variant_id: str = "UHJvZHVjdFZhcmlhbnQ6MQ==",
) -> LineSnapshot:
    unit_gross = Decimal(unit)
    unit_net = Decimal(net_unit) if net_unit else unit_gross
    return LineSnapshot(
        id=line_id,
        quantity=quantity,
        variant_id=variant_id,
        product_id=product_id,
        category_id=category_id,
        unit_gross=unit_gross,
        total_gross=unit_gross * quantity,
        total_net=unit_net * quantity,
    )


def order(
    order_id: str = "T3JkZXI6MQ==",
    *,
    lines: tuple[LineSnapshot, ...] | None = None,
    user_id: str | None = "VXNlcjox",
    email: str = "shopper@example.com",
    shipping: str = "0.00",
    charged: str | None = None,
    refunded: str = "0.00",
    status: str = "UNFULFILLED",
    charge_status: str | None = None,
    currency: str = "USD",
    channel: str = "default-channel",
    version: int = 0,
    refunded_quantities: dict[str, int] | None = None,
) -> OrderSnapshot:
    lines = lines if lines is not None else (line(),)
    total = sum((entry.total_gross for entry in lines), Decimal(0)) + Decimal(shipping)
    total_net = sum((entry.total_net for entry in lines), Decimal(0)) + Decimal(shipping)
    charged_amount = Decimal(charged) if charged is not None else total - Decimal(refunded)
    if charge_status is None:
        charge_status = "FULL" if charged_amount >= total else ("PARTIAL" if charged_amount > 0 else "NONE")
    return OrderSnapshot(
        id=order_id,
        number=str(next(_seq)),
        status=status,
        channel_slug=channel,
        currency=currency,
        user_id=user_id,
        user_email=email,
        created=T0,
        updated_at=T0 + timedelta(seconds=version),
        total_gross=total,
        total_net=total_net,
        shipping_gross=Decimal(shipping),
        shipping_net=Decimal(shipping),
        total_charged=charged_amount,
        total_refunded=Decimal(refunded),
        charge_status=charge_status,
        voucher_code=None,
        lines=lines,
        refunded_quantities=refunded_quantities or {},
    )


def later(snapshot: OrderSnapshot, seconds: int = 1, **changes: object) -> OrderSnapshot:
    return replace(snapshot, updated_at=snapshot.updated_at + timedelta(seconds=seconds), **changes)  # type: ignore[arg-type]


def rebate_program(install: Install, **fields: object) -> RebateProgram:
    """A rebate program for the default channel in USD: 2 % from 500, 3 % from 1,000 of a month's spend."""
    defaults: dict[str, object] = {
        "channel_slug": "default-channel",
        "currency": "USD",
        "bands": [{"threshold": "500", "rate": "2"}, {"threshold": "1000", "rate": "3"}],
    }
    return RebateProgram.objects.create(install=install, **{**defaults, **fields})


__all__ = ["T0", "crypto", "later", "line", "make_install", "order", "rebate_program"]


def installed_from(saleor: FakeSaleor) -> Install:
    """Install the app from ``saleor`` the way Saleor does (its token POST to /api/register); the stored install."""
    response = Client().post(
        "/api/register",
        data=json.dumps({"auth_token": saleor.app_token}),
        content_type="application/json",
        headers=saleor.install_headers(),
    )
    assert response.status_code == 200, response.content
    return Install.objects.get(saleor_api_url=saleor.api_url)
