import { useWidgetAutoResize } from "@saleor/app-sdk/app-bridge";
import { Box, Text } from "@saleor/macaw-ui";
import { type ReactNode, useRef } from "react";

import {
  type Activity,
  type CustomerLoyalty,
  type CustomerRebates,
  fetchCustomerLoyalty,
  fetchCustomerRebates,
  fetchOrderLoyalty,
  type Money,
  type OrderLoyalty,
  REBATE_PAYOUT_METHODS,
  type RebateProgress,
  type RebateStatement,
} from "../api";
import { contextParam, useCustomerChanged, useDashboard } from "../bridge";
import { AdjustPoints, BalanceFacts, PinTier, pinnedTier, tierLabel } from "./customer";
import { Alert, day, decimal, Fact, type Load, Loading, money, percent, periodLabel, points, useLoad, when } from "./ui";

const ACTIVITY_LABELS: Record<string, string> = {
  EARNED: "Earned",
  UNLOCKED: "Became available",
  CLAWED_BACK: "Taken back",
  CLAWBACK_FORGIVEN: "Debt forgiven",
  DEBT_REPAID: "Debt repaid",
  REDEMPTION_HELD: "Held for a redemption",
  REDEEMED: "Spent",
  REDEMPTION_RELEASED: "Redemption released",
  REDEMPTION_RETURNED: "Returned after a refund",
  EXPIRED: "Expired",
  MERGED: "Merged",
  ADJUSTED: "Adjusted by staff",
};

function activityLabel(kind: string): string {
  return ACTIVITY_LABELS[kind] ?? kind;
}

function signed(value: number): string {
  return value > 0 ? `+${points(value)}` : points(value);
}

/** A details-page widget: its content, named by a heading, and its height reported to the dashboard as it changes.
 * The dashboard heads the widget's card with the extension's label and the app's logo, so the page's own heading is
 * for screen readers only (shown, it would title the card twice), as in the popup. */
function Widget({ title, children }: { title: string; children: ReactNode }) {
  const root = useRef<HTMLDivElement>(null);
  useWidgetAutoResize(root);
  return (
    <Box ref={root} as="main" aria-labelledby="widget-heading" padding={4} display="flex" flexDirection="column" gap={4}>
      <h1 id="widget-heading" className="loyalty-visually-hidden">
        {title}
      </h1>
      {children}
    </Box>
  );
}

function Missing({ what }: { what: string }) {
  return (
    <Text size={2} color="default2">
      Open this card from {what} in the Saleor dashboard.
    </Text>
  );
}

// -- Customer --------------------------------------------------------------------------------------------------

function tierProgress(tier: CustomerLoyalty["tier"]): string | null {
  const progress = tier.progress;
  if (!progress) return null;
  if (!tier.next) return "Top tier reached";
  if (progress.basis === "POINTS") return `${points(progress.pointsToGo ?? 0)} to ${tier.next.name}`;
  return `${progress.amountToGo ?? "0"} ${progress.currency ?? ""} more spend to ${tier.next.name}`.replace("  ", " ");
}

function CustomerDetails({ loyalty }: { loyalty: CustomerLoyalty }) {
  const { locale } = useDashboard();
  const pending = loyalty.account.pendingPoints;
  const last = loyalty.account.history.edges[0]?.node;
  const progress = tierProgress(loyalty.tier);
  return (
    <Box display="flex" flexDirection="column" gap={3}>
      <BalanceFacts balance={loyalty.account.balance} />
      {pending.length > 0 && (
        <Box>
          <Text size={2} color="default2">
            Pending points unlock
          </Text>
          <Box as="ul" margin={0} paddingLeft={4} data-testid="pending-unlocks">
            {pending.map((entry, index) => (
              <li key={`${entry.orderId}-${index}`}>
                <Text size={2}>
                  {points(entry.points)} on {day(entry.unlocksAt, locale)}
                </Text>
              </li>
            ))}
          </Box>
        </Box>
      )}
      <Box as="dl" margin={0} display="flex" flexDirection="column" gap={2}>
        <Fact
          label="Tier"
          value={tierLabel(loyalty.tier)}
          testId="tier"
        />
        {progress && <Fact label="Next tier" value={progress} testId="tier-progress" />}
        <Fact
          label="Last activity"
          value={last ? `${activityLabel(last.kind)} ${signed(last.balanceChange)}, ${day(last.createdAt, locale)}` : "—"}
          testId="last-activity"
        />
      </Box>
    </Box>
  );
}

// -- The customer's rebates (a section of the customer widget) ------------------------------------------------

const PAYOUT_STATES: Record<string, string> = { CREATED: "on its way", PAID: "paid", FAILED: "failed (payable again)" };

function nextBand(progress: RebateProgress, locale: string): string {
  if (progress.nextRate === null || !progress.spendToNext) return Number(progress.rate) ? "Top band reached" : "—";
  return `${percent(progress.nextRate)} after ${money(progress.spendToNext.amount, progress.currency, locale)} more`;
}

function ProgressFacts({ progress, locale }: { progress: RebateProgress; locale: string }) {
  const amount = (value: Money) => money(value.amount, progress.currency, locale);
  return (
    <Box as="dl" margin={0} display="flex" flexDirection="column" gap={2} data-testid={`rebate-progress-${progress.currency}`}>
      <Fact label={`Spend, ${periodLabel(progress.period, locale)}`} value={amount(progress.spend)} testId="rebate-spend" />
      <Fact label="Rate now" value={percent(progress.rate)} testId="rebate-rate" />
      <Fact label="Next band" value={nextBand(progress, locale)} testId="rebate-next" />
      <Fact label="Rebate this period" value={amount(progress.accrued)} testId="rebate-accrued" />
      <Fact
        label="Of which"
        value={`${amount(progress.pending)} pending · ${amount(progress.payable)} payable · ${amount(progress.paid)} paid`}
        testId="rebate-split"
      />
      {Number(progress.owed.amount) > 0 && <Fact label="Owed after a refund" value={amount(progress.owed)} testId="rebate-owed" />}
      {progress.storeCredit && (
        <Fact label="Store credit" value={`${progress.storeCredit.card}, ${amount(progress.storeCredit.credited)} credited`} testId="rebate-card" />
      )}
    </Box>
  );
}

function Payouts({ progress, locale }: { progress: RebateProgress; locale: string }) {
  const latest = progress.payouts.slice(0, 3);
  if (!latest.length) return null;
  const method = (value: string) => REBATE_PAYOUT_METHODS.find((choice) => choice.value === value)?.label.replace(/ \(.*\)$/, "") ?? value;
  return (
    <table className="loyalty-table" aria-label={`Latest rebate payouts (${progress.currency})`} data-testid="rebate-payouts">
      <thead>
        <tr>
          <th scope="col">Paid</th>
          <th scope="col">How</th>
          <th scope="col">Reference</th>
        </tr>
      </thead>
      <tbody>
        {latest.map((payout, index) => (
          <tr key={`${payout.period}-${index}`}>
            <td>
              {money(payout.amount.amount, progress.currency, locale)}
              <Text as="p" size={1} color="default2">
                {periodLabel(payout.period, locale)}, {PAYOUT_STATES[payout.state] ?? payout.state} {day(payout.settledAt ?? payout.createdAt, locale)}
              </Text>
            </td>
            <td>{method(payout.method)}</td>
            <td>{payout.reference || "—"}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Statement({ statement, locale }: { statement: RebateStatement; locale: string }) {
  const amount = (value: Money) => money(value.amount, statement.currency, locale);
  return (
    <details data-testid="rebate-statement">
      <summary>
        <Text size={2}>
          Statement, {periodLabel(statement.period, locale)} ({statement.channel}): {amount(statement.rebate)} rebate, {amount(statement.paid)} paid
        </Text>
      </summary>
      {statement.orders.length ? (
        <table className="loyalty-table" aria-label={`Orders in the statement of ${periodLabel(statement.period, locale)}`}>
          <thead>
            <tr>
              <th scope="col">Order</th>
              <th scope="col">Accrued</th>
              <th scope="col">Reversed</th>
            </tr>
          </thead>
          <tbody>
            {statement.orders.map((order) => (
              <tr key={order.orderId}>
                <td>#{order.orderNumber}</td>
                <td>{amount(order.accrued)}</td>
                <td>{Number(order.reversed.amount) ? amount(order.reversed) : "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <Text size={2} color="default2">
          No orders.
        </Text>
      )}
    </details>
  );
}

/** The customer's rebates under their points: this period's progress in each program, the latest payouts, and the
 * newest statement folded away. Nothing at all for a store or customer without rebates. */
function CustomerRebatesSection({ result }: { result: Load<CustomerRebates | null> }) {
  const { locale } = useDashboard();
  if (result.state === "loading") return null; // a store without rebates shows no section: no placeholder either
  if (result.state === "error") return <Alert title="The customer's rebates could not be loaded" message={result.message} />;
  const rebates = result.data;
  if (!rebates || (!rebates.progress.length && !rebates.periods.length)) return null;
  return (
    <Box
      as="section"
      aria-labelledby="rebates-heading"
      display="flex"
      flexDirection="column"
      gap={3}
      paddingTop={3}
      borderTopStyle="solid"
      borderTopWidth={1}
      borderColor="default1"
      data-testid="customer-rebates"
    >
      <Text as="h2" id="rebates-heading" size={3} fontWeight="bold">
        Rebates
      </Text>
      {rebates.progress.map((progress) => (
        <Box key={progress.currency} display="flex" flexDirection="column" gap={3}>
          <ProgressFacts progress={progress} locale={locale} />
          <Payouts progress={progress} locale={locale} />
        </Box>
      ))}
      {!rebates.progress.length && (
        <Text size={2} color="default2">
          No active rebate program now.
        </Text>
      )}
      {rebates.statements.map((statement) => (
        <Statement key={`${statement.channel}-${statement.currency}`} statement={statement} locale={locale} />
      ))}
    </Box>
  );
}

export function CustomerWidget() {
  const { token } = useDashboard();
  const customerId = contextParam("customerId");
  const { result, reload } = useLoad(token, (t) => (customerId ? fetchCustomerLoyalty(t, customerId) : Promise.resolve(null)));
  // the rebates: one more request, sent beside the account's (not after it), shown in a section of their own
  const rebates = useLoad(token, (t) => (customerId ? fetchCustomerRebates(t, customerId) : Promise.resolve(null)));
  useCustomerChanged(customerId, reload); // a save in the more-actions popup: read the account again
  return (
    <Widget title="Loyalty">
      {!customerId ? (
        <Missing what="a customer's page" />
      ) : (
        <>
          {result.state === "loading" && <Loading what="the loyalty account" />}
          {result.state === "error" && <Alert title="The loyalty account could not be loaded" message={result.message} />}
          {result.state === "ready" &&
            (result.data ? (
              <CustomerDetails loyalty={result.data} />
            ) : (
              <Text size={2} color="default2" data-testid="no-activity">
                No loyalty activity yet: this customer has not earned any points.
              </Text>
            ))}
          <CustomerRebatesSection result={rebates.result} />
          {result.state !== "error" && <AdjustPoints token={token} customerId={customerId} onAdjusted={reload} />}
          {result.state === "ready" && (
            <PinTier
              token={token}
              customerId={customerId}
              pinned={pinnedTier(result.data)}
              onChanged={reload}
            />
          )}
        </>
      )}
    </Widget>
  );
}

// -- Order -----------------------------------------------------------------------------------------------------

type FrozenRule = {
  currency?: string;
  points_per_unit?: string;
  include_tax?: boolean;
  include_shipping?: boolean;
  min_order_amount?: string;
  tier_multiplier?: string;
  tier?: string | null;
  campaigns?: { name: string; multiplier: string; fixed_bonus: number }[];
};

function parseRule(json: string | null): FrozenRule | null {
  if (!json) return null;
  try {
    return JSON.parse(json) as FrozenRule;
  } catch {
    return null;
  }
}


function RuleFacts({ rule }: { rule: FrozenRule }) {
  const campaigns = rule.campaigns ?? [];
  return (
    <Box as="dl" margin={0} display="flex" flexDirection="column" gap={2} data-testid="rule">
      <Fact label="Rate" value={`${decimal(rule.points_per_unit)} per ${rule.currency ?? "unit"}`} testId="rule-rate" />
      <Fact
        label="Counts"
        value={[rule.include_tax ? "tax included" : "tax excluded", rule.include_shipping ? "shipping included" : "shipping excluded"].join(", ")}
      />
      <Fact label="Tier multiplier" value={`×${decimal(rule.tier_multiplier ?? "1")}${rule.tier ? ` (${rule.tier})` : ""}`} />
      <Fact
        label="Campaigns"
        value={
          campaigns.length
            ? campaigns.map((c) => `${c.name} ×${decimal(c.multiplier)}${c.fixed_bonus ? ` +${c.fixed_bonus}` : ""}`).join("; ")
            : "None"
        }
      />
    </Box>
  );
}

function Transfers({ activity }: { activity: Activity[] }) {
  const { locale } = useDashboard();
  if (!activity.length) return null;
  return (
    <table className="loyalty-table" aria-label="Ledger transfers" data-testid="transfers">
      <thead>
        <tr>
          <th scope="col">What</th>
          <th scope="col">Points</th>
          <th scope="col">When</th>
        </tr>
      </thead>
      <tbody>
        {activity.map((entry) => (
          <tr key={entry.id}>
            <td>{activityLabel(entry.kind)}</td>
            <td>{signed(entry.balanceChange)}</td>
            <td>{when(entry.createdAt, locale)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function OrderDetails({ order }: { order: OrderLoyalty }) {
  const { locale } = useDashboard();
  const rule = parseRule(order.rule);
  return (
    <Box display="flex" flexDirection="column" gap={4}>
      <Box as="dl" margin={0} display="flex" flexDirection="column" gap={2}>
        <Fact label="Earned" value={points(order.earned)} testId="order-earned" />
        <Fact label="Clawed back" value={points(order.clawedBack)} testId="order-clawed-back" />
        <Fact label="Redeemed on it" value={points(order.redeemed)} testId="order-redeemed" />
        <Fact label="Held now" value={points(order.points)} testId="order-points" />
        <Fact label="Spend (net of refunds)" value={money(order.spend, rule?.currency, locale)} testId="order-spend" />
        {order.customerEmail && <Fact label="Customer" value={order.customerEmail} />}
      </Box>
      {rule && (
        <Box display="flex" flexDirection="column" gap={2}>
          <Text as="h3" size={3} fontWeight="bold">
            The rule it earned under
          </Text>
          <RuleFacts rule={rule} />
        </Box>
      )}
      <Transfers activity={order.activity} />
    </Box>
  );
}

export function OrderWidget() {
  const { token } = useDashboard();
  const orderId = contextParam("orderId");
  const { result } = useLoad(token, (t) => (orderId ? fetchOrderLoyalty(t, orderId) : Promise.resolve(null)));
  return (
    <Widget title="Loyalty points">
      {!orderId ? (
        <Missing what="an order's page" />
      ) : (
        <>
          {result.state === "loading" && <Loading what="the order's points" />}
          {result.state === "error" && <Alert title="The order's points could not be loaded" message={result.message} />}
          {result.state === "ready" &&
            (result.data ? (
              <OrderDetails order={result.data} />
            ) : (
              <Text size={2} color="default2" data-testid="order-unknown">
                The app has not seen this order: it earned and spent no points.
              </Text>
            ))}
        </>
      )}
    </Widget>
  );
}
