"""The tier review: one SQL statement that decides every member's tier and records the changes.

For each install with active tier settings it sums every member's qualifying amount per unit (a currency, or
``PTS`` on the points basis) from ``program_order_award`` by ``first_paid_at``, finds the highest tier whose
qualify threshold any unit meets (``qualify_rank``) and the highest whose retain threshold any unit meets
(``retain_rank``), then:

* upgrades at once when ``qualify_rank`` is above the member's tier;
* keeps the tier while ``retain_rank`` (or the merchant's pin) still covers it, and clears the grace clock;
* otherwise starts the grace clock (``below_since``) and, once ``grace_days`` have passed, moves the member
  down to ``retain_rank`` — never below a pinned tier, nor below the tier a paid membership holds them at
  (``paid_tier``: the floor is the higher of the two);
* ``released_rank`` (one member, when their paid membership ends: ``tiers/paid.py``): a member at or below that
  rank moves at once to what they earn (``qualify_rank`` / ``retain_rank``, never below the pin), without grace —
  the paid tier was never earned, and the membership had its own grace on failed payments;
* writes a ``tiers_change`` row for each change; side effects (bonus, email, Saleor metadata) are applied from
  those rows afterwards (``effects.py``).

Only rows that change are written, so a second run at the same moment writes nothing: the review is
idempotent. The same statement, limited to one member and to upgrades (``upgrades_only``), is what an order
runs (``receivers.py``), so both paths agree on what qualifies.

Merged guest members: their orders count for the member they were merged into (merges are one level deep).
A base tier (rank 1, every threshold 0) takes no part: members below every other tier are in it by definition,
so it never needs a stored state, a change row or side effects.
PostgreSQL only (FILTER, date_trunc, make_interval, data-modifying CTEs).
"""

from collections.abc import Sequence
from datetime import datetime

from django.db import connection

from .models import ChangeReason

REVIEW_SQL = """
WITH cfg AS (
    SELECT s.install_id, s.basis, s.grace_days,
           CASE WHEN s.window_kind = 'calendar_year'
                THEN date_trunc('year', %(now)s::timestamptz AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
                ELSE %(now)s::timestamptz - make_interval(days => s.window_days) END AS qualify_from,
           -- calendar year: a tier earned last year is kept through this one (retain on the better year)
           CASE WHEN s.window_kind = 'calendar_year'
                THEN (date_trunc('year', %(now)s::timestamptz AT TIME ZONE 'UTC') - interval '1 year')
                     AT TIME ZONE 'UTC'
                ELSE %(now)s::timestamptz - make_interval(days => s.window_days) END AS retain_from
    FROM tiers_settings s
    JOIN installs_install i ON i.id = s.install_id AND i.is_active
    WHERE s.is_active AND (%(install)s::bigint IS NULL OR s.install_id = %(install)s::bigint)
),
amounts AS (
    SELECT COALESCE(m.merged_into_id, m.id) AS member_id, c.install_id,
           CASE WHEN c.basis = 'points' THEN 'PTS' ELSE a.currency END AS unit,
           COALESCE(SUM(CASE WHEN c.basis = 'points' THEN a.points ELSE a.spend END)
                    FILTER (WHERE a.first_paid_at >= c.qualify_from), 0) AS current_amount,
           COALESCE(SUM(CASE WHEN c.basis = 'points' THEN a.points ELSE a.spend END)
                    FILTER (WHERE a.first_paid_at < c.qualify_from), 0) AS previous_amount
    FROM cfg c
    JOIN program_order_award a ON a.install_id = c.install_id
    JOIN members_member m ON m.id = a.member_id
    WHERE a.first_paid_at >= c.retain_from AND a.first_paid_at <= %(now)s::timestamptz
      AND (%(members)s::bigint[] IS NULL OR a.member_id IN (
            SELECT mm.id FROM members_member mm
            WHERE mm.id = ANY(%(members)s::bigint[]) OR mm.merged_into_id = ANY(%(members)s::bigint[])))
    GROUP BY 1, 2, 3
),
reached AS (
    SELECT am.member_id, am.install_id,
           COALESCE(MAX(t.rank) FILTER (WHERE am.current_amount >= th.qualify), 0) AS qualify_rank,
           COALESCE(MAX(t.rank) FILTER (
               WHERE GREATEST(am.current_amount, am.previous_amount) >= COALESCE(th.retain, th.qualify)), 0
           ) AS retain_rank
    FROM amounts am
    JOIN tiers_tier t ON t.install_id = am.install_id AND t.is_active
    -- a base tier (thresholds at 0) is never stored: a member in no tier is in it (tiers.queries.base_tier)
    JOIN tiers_threshold th ON th.tier_id = t.id AND th.unit = am.unit AND th.qualify > 0
    GROUP BY 1, 2
),
states AS (
    SELECT mt.* FROM tiers_member_tier mt JOIN cfg ON cfg.install_id = mt.install_id
    WHERE %(members)s::bigint[] IS NULL OR mt.member_id = ANY(%(members)s::bigint[])
),
candidates AS (
    SELECT COALESCE(st.member_id, r.member_id) AS member_id,
           c.install_id,
           st.member_id IS NOT NULL AS has_state,
           st.tier_id AS old_tier_id,
           st.pinned_tier_id,
           st.paid_tier_id,
           st.below_since,
           COALESCE(cur.rank, 0) AS current_rank,
           COALESCE(pin.rank, 0) AS pin_rank,
           COALESCE(paid.rank, 0) AS paid_rank,
           GREATEST(COALESCE(pin.rank, 0), COALESCE(paid.rank, 0)) AS floor_rank,
           COALESCE(r.qualify_rank, 0) AS qualify_rank,
           COALESCE(r.retain_rank, 0) AS retain_rank,
           c.grace_days
    FROM states st
    FULL JOIN reached r ON r.member_id = st.member_id
    JOIN cfg c ON c.install_id = COALESCE(st.install_id, r.install_id)
    LEFT JOIN tiers_tier cur ON cur.id = st.tier_id
    LEFT JOIN tiers_tier pin ON pin.id = st.pinned_tier_id
    LEFT JOIN tiers_tier paid ON paid.id = st.paid_tier_id
),
ranked AS (
    SELECT cd.*,
           GREATEST(cd.floor_rank, CASE
               WHEN cd.qualify_rank > cd.current_rank THEN cd.qualify_rank
               WHEN %(released_rank)s::int IS NOT NULL AND cd.current_rank <= %(released_rank)s::int
                   THEN GREATEST(cd.retain_rank, cd.qualify_rank)
               WHEN %(upgrades_only)s THEN cd.current_rank
               WHEN cd.retain_rank >= cd.current_rank OR cd.floor_rank >= cd.current_rank THEN cd.current_rank
               WHEN COALESCE(cd.below_since, %(now)s::timestamptz) + make_interval(days => cd.grace_days)
                    <= %(now)s::timestamptz
                   THEN GREATEST(cd.retain_rank, cd.qualify_rank)
               ELSE cd.current_rank
           END) AS new_rank
    FROM candidates cd
),
decided AS (
    SELECT rk.*,
           CASE WHEN rk.new_rank = rk.current_rank THEN rk.old_tier_id
                WHEN rk.new_rank = rk.pin_rank THEN rk.pinned_tier_id
                WHEN rk.new_rank = rk.paid_rank THEN rk.paid_tier_id
                ELSE (SELECT t.id FROM tiers_tier t WHERE t.install_id = rk.install_id AND t.rank = rk.new_rank)
           END AS new_tier_id,
           CASE WHEN rk.new_rank <> rk.current_rank THEN NULL
                WHEN %(upgrades_only)s
                     AND NOT COALESCE(rk.current_rank <= %(released_rank)s::int, FALSE) THEN rk.below_since
                WHEN rk.retain_rank >= rk.current_rank OR rk.floor_rank >= rk.current_rank THEN NULL
                ELSE COALESCE(rk.below_since, %(now)s::timestamptz)
           END AS new_below_since
    FROM ranked rk
),
updated AS (
    UPDATE tiers_member_tier mt
    SET tier_id = d.new_tier_id,
        tier_since = CASE WHEN d.new_tier_id IS DISTINCT FROM d.old_tier_id THEN %(now)s::timestamptz
                          ELSE mt.tier_since END,
        below_since = d.new_below_since,
        updated_at = statement_timestamp()
    FROM decided d
    WHERE d.has_state AND mt.member_id = d.member_id
      AND (d.new_tier_id IS DISTINCT FROM d.old_tier_id OR d.new_below_since IS DISTINCT FROM d.below_since)
      AND mt.tier_id IS NOT DISTINCT FROM d.old_tier_id  -- changed meanwhile (an order, a pin): next run decides
    RETURNING mt.member_id, mt.install_id, d.old_tier_id, mt.tier_id AS new_tier_id,
              d.new_rank > d.current_rank AS is_upgrade
),
inserted AS (
    INSERT INTO tiers_member_tier (member_id, install_id, tier_id, tier_since, below_since, pinned_tier_id,
                                   pin_reason, pinned_by, pinned_at, updated_at)
    SELECT d.member_id, d.install_id, d.new_tier_id, %(now)s::timestamptz, NULL, NULL, '', '', NULL,
           statement_timestamp()
    FROM decided d
    WHERE NOT d.has_state AND d.new_tier_id IS NOT NULL
    ON CONFLICT (member_id) DO NOTHING  -- created meanwhile: the next run decides
    RETURNING member_id, install_id, NULL::bigint AS old_tier_id, tier_id AS new_tier_id, TRUE AS is_upgrade
)
INSERT INTO tiers_change (install_id, member_id, from_tier_id, to_tier_id, is_upgrade, reason, note, at,
                          effects_applied)
SELECT ch.install_id, ch.member_id, ch.old_tier_id, ch.new_tier_id, ch.is_upgrade, %(reason)s, '',
       %(now)s::timestamptz, FALSE
FROM (SELECT * FROM updated UNION ALL SELECT * FROM inserted) ch
WHERE ch.old_tier_id IS DISTINCT FROM ch.new_tier_id
RETURNING id
"""


class UnsupportedDatabase(RuntimeError):
    pass


def run(
    *,
    now: datetime,
    install_id: int | None = None,
    member_ids: Sequence[int] | None = None,
    upgrades_only: bool = False,
    reason: str = ChangeReason.REVIEW,
    released_rank: int | None = None,
) -> list[int]:
    """Decide tiers (all members of all installs, or those given) as of ``now``; returns the new change ids.

    ``released_rank``: a paid floor at that rank just ended for ``member_ids``: a member at or below it moves to what
    they earn at once (``tiers/paid.py``).

    Call inside ``transaction.atomic``; apply the changes' effects afterwards (``effects.apply_changes``).
    """
    if connection.vendor != "postgresql":
        raise UnsupportedDatabase("tier reviews need PostgreSQL")
    with connection.cursor() as cursor:
        # The review sorts every award in the window by member: keep that sort in memory (this transaction only).
        cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute(
            REVIEW_SQL,
            {
                "now": now,
                "install": install_id,
                "members": list(member_ids) if member_ids is not None else None,
                "upgrades_only": upgrades_only,
                "reason": str(reason),
                "released_rank": released_rank,
            },
        )
        return [row[0] for row in cursor.fetchall()]
