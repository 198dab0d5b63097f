"""Event processing caches a store's configuration per process by its version (issue #10): every writer of the
configuration bumps the version in its own transaction, so the next event reads the change."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from saleor_loyalty.program import config
from saleor_loyalty.program.models import Campaign, ConfigVersion, EarnMultiplier, EarnRule, OrderAward, ProgramSettings
from saleor_loyalty.program.rules import active_campaigns, current_rule, program_settings
from saleor_loyalty.tiers.models import TierSettings
from saleor_loyalty.tiers.queries import active_settings
from saleor_loyalty.webhooks import tasks
from saleor_loyalty.webhooks.models import InboxEvent, InboxStatus
from tests import samples
from tests.factories import make_install

pytestmark = pytest.mark.django_db(transaction=True)  # the cache keeps what a committed transaction read


@pytest.fixture(autouse=True)
def empty_cache():
    config.clear()
    yield
    config.clear()


def version(install) -> int:
    return ConfigVersion.objects.get(install_id=install.pk).version


def read(install, what):
    """``what(install)`` as an event would read it: in a transaction, at the version it would see."""
    with transaction.atomic(), config.known_version(install.pk, version(install)):
        return what(install)


def test_settings_are_read_once_per_version_and_again_after_any_write(django_assert_num_queries):
    install = make_install()
    program_settings(install)  # created (a write: it bumps the version)
    assert read(install, program_settings).default_points_per_unit == Decimal(1)  # read, kept on commit
    with django_assert_num_queries(3):  # BEGIN, the version, COMMIT: the settings come from the cache
        assert read(install, program_settings).default_points_per_unit == Decimal(1)

    before = version(install)
    ProgramSettings.objects.filter(install=install).update(default_points_per_unit=Decimal(7))  # no save(), no signal
    assert version(install) != before
    assert read(install, program_settings).default_points_per_unit == Decimal(7)


def test_rules_campaigns_multipliers_and_tier_settings_bump_the_version_too():
    install = make_install()
    rule = lambda i: current_rule(i, "default-channel", "USD")  # noqa: E731
    now = timezone.now()
    campaigns = lambda i: active_campaigns(i, "default-channel", now, None)  # noqa: E731
    assert read(install, rule).rule_id is None
    assert read(install, campaigns) == ()
    assert read(install, lambda i: active_settings(i.pk)) is None

    earn_rule = EarnRule.objects.create(
        install=install, channel_slug="default-channel", currency="USD", points_per_unit=Decimal(2)
    )
    assert read(install, rule).rule_id == earn_rule.pk
    EarnMultiplier.objects.create(rule=earn_rule, target="product", saleor_id="UHJvZHVjdDox", multiplier=Decimal(2))
    assert read(install, rule).multipliers == {"product:UHJvZHVjdDox": Decimal(2)}
    EarnMultiplier.objects.filter(rule=earn_rule).delete()
    assert read(install, rule).multipliers == {}

    Campaign.objects.create(
        install=install, name="x2", starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=1), multiplier=2
    )
    assert [c.name for c in read(install, campaigns)] == ["x2"]
    TierSettings.objects.create(install=install, is_active=True)
    assert read(install, lambda i: active_settings(i.pk)) is not None


def test_a_read_rolled_back_is_not_kept_and_another_store_is_not_answered_from_it(django_assert_num_queries):
    install, other = make_install(), make_install()
    program_settings(install), program_settings(other)
    with pytest.raises(RuntimeError), transaction.atomic(), config.known_version(install.pk, version(install)):
        program_settings(install)
        raise RuntimeError
    with django_assert_num_queries(4):  # BEGIN, the version, the settings, COMMIT: nothing was kept
        read(install, program_settings)
    with django_assert_num_queries(4):  # another store's version: its own read
        assert read(other, program_settings).install_id == other.pk


def test_the_events_of_one_transaction_read_the_configuration_once_and_a_rollback_keeps_nothing(
    django_assert_num_queries,
):
    install = make_install()
    program_settings(install)
    at = version(install)
    with config.one_transaction(), transaction.atomic():
        with config.known_version(install.pk, at):
            program_settings(install)  # the batch's first event reads it
        with django_assert_num_queries(0), config.known_version(install.pk, at):
            program_settings(install)  # the next one of the same transaction does not
    with django_assert_num_queries(3):  # committed: kept for the next transaction (BEGIN, version, COMMIT)
        read(install, program_settings)

    config.clear()
    with pytest.raises(RuntimeError), config.one_transaction(), transaction.atomic():
        with config.known_version(install.pk, at):
            program_settings(install)
        raise RuntimeError
    with django_assert_num_queries(4):  # rolled back: neither kept nor remembered by the next transaction
        read(install, program_settings)


def paid_order_body(order_id: str) -> str:
    delivery = next(d for d in samples.subscribed() if d.event == "order_fully_paid")
    event = json.loads(delivery.body)
    event["order"]["id"] = order_id
    return json.dumps(event)


def test_settings_changed_between_two_events_apply_to_the_second():
    install = make_install(api_url=samples.SAMPLE_API_URL, jwks=samples.jwks())

    def process(order_id: str) -> OrderAward:
        event = InboxEvent.objects.create(
            install=install, event="order_fully_paid", body=paid_order_body(order_id), body_sha256=order_id.ljust(64)
        )
        assert tasks.process_event(event.pk) == "earned"
        assert InboxEvent.objects.get(pk=event.pk).status == InboxStatus.PROCESSED
        return OrderAward.objects.get(install=install, order_id=order_id)

    first = process("T3JkZXI6MQ==")
    assert process("T3JkZXI6Mg==").exact_points == first.exact_points  # same settings: read from the cache
    ProgramSettings.objects.filter(install=install).update(default_points_per_unit=Decimal(3))
    assert process("T3JkZXI6Mw==").exact_points == 3 * first.exact_points
