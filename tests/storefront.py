"""Test helpers for the storefront API: a running fake store with the app installed, and a GraphQL client."""

import itertools
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.test import Client

from saleor_loyalty.installs.models import Install
from saleor_loyalty.ledger import actions
from saleor_loyalty.members.actions import member_for_user
from saleor_loyalty.members.models import Member
from saleor_loyalty.saleor.manifest import PERMISSIONS
from tests.factories import make_install
from tests.fake_store import FakeStore
from tests.saleor_harness import FakeSaleor

_keys = itertools.count(1)


@dataclass
class Store:
    saleor: FakeSaleor
    shop: FakeStore
    install: Install

    def token(self, user_id: str = "VXNlcjox", email: str = "shopper@example.com", **kwargs: Any) -> str:
        return self.saleor.user_token(user_id, email, **kwargs)

    def member(self, user_id: str = "VXNlcjox") -> Member:
        return member_for_user(self.install, user_id, "shopper@example.com")

    def give_points(self, points: int, user_id: str = "VXNlcjox", **kwargs: Any) -> Member:
        member = self.member(user_id)
        with transaction.atomic():
            actions.earn(member=member, points=points, key=f"gift-{next(_keys)}", source="adjustment", **kwargs)
        return member


@contextmanager
def running_store() -> Iterator[Store]:
    with FakeSaleor(app_permissions=PERMISSIONS) as saleor:  # what the merchant granted when installing
        install = make_install(
            api_url=saleor.api_url, jwks=saleor.keys.jwks(), app_id=saleor.app_id, token=saleor.app_token
        )
        yield Store(saleor=saleor, shop=FakeStore(saleor), install=install)
        saleor.assert_all_documents_valid()


def gql(
    query: str, variables: dict[str, Any] | None = None, token: str | None = None, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    extra = dict(headers or {})
    if token:
        extra["Authorization"] = f"Bearer {token}"
    response = Client().post(
        "/graphql/",
        data=json.dumps({"query": query, "variables": variables or {}}),
        content_type="application/json",
        headers=extra,
    )
    body: dict[str, Any] = response.json()
    return body


REDEEM = """
mutation Redeem($checkoutId: ID!, $points: Int, $amount: Decimal, $key: String!) {
  redeemPoints(checkoutId: $checkoutId, points: $points, amount: $amount, idempotencyKey: $key) {
    redemption { id points status voucherCode discount { amount currency } }
    balance { available held pending owed }
    errors { field code message }
  }
}
"""

CANCEL = """
mutation Cancel($checkoutId: ID!) {
  cancelRedemption(checkoutId: $checkoutId) {
    redemption { status }
    balance { available held }
    errors { field code message }
  }
}
"""

BALANCE = "{ me { balance { available pending held owed net lifetime } } }"
