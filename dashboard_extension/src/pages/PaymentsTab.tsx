// The Payments tab: the store's Stripe connection (keys in, never out: the mode, the secret key's last four
// characters and the webhook URL to enter in Stripe), the paid plans that sell a tier as a Stripe subscription (list,
// create, edit, archive — never delete), where Stripe Checkout may send shoppers back to, and the change log's
// entries for them.
import { Box, Button, Text } from "@saleor/macaw-ui";
import { type FormEvent, useEffect, useState } from "react";

import {
  archivePaidPlan,
  connectStripe,
  createPaidPlan,
  disconnectStripe,
  fetchPaidPlans,
  fetchSettingsChanges,
  fetchStoreChannels,
  fetchStripeConnection,
  PAID_PLAN_INTERVALS,
  type PaidPlan,
  type PaidPlanBenefitKind,
  type PaidPlanInput,
  type PaidPlanInterval,
  type StoreChannel,
  type StripeConnection,
  updateMembershipSettings,
  updatePaidPlan,
} from "../api";
import { useDashboard } from "../bridge";
import { Empty, Loaded, RowActions } from "./blocks";
import { changedFields, useEditor } from "./CatalogTabs";
import { ChangeLog } from "./ProgramTab";
import {
  Card,
  CheckboxField,
  type Column,
  decimal,
  Fact,
  FormCard,
  GroupError,
  lines,
  type Load,
  money,
  NUMBER,
  ReadOnlyField,
  RecordsTable,
  RowButton,
  Section,
  SelectField,
  Status,
  TextAreaField,
  TextField,
  useLoad,
  useSave,
  when,
  WHOLE,
} from "./ui";

// -- Stripe ----------------------------------------------------------------------------------------------------

type KeysForm = { secretKey: string; webhookSecret: string; publishableKey: string };
const NO_KEYS: KeysForm = { secretKey: "", webhookSecret: "", publishableKey: "" };

/** The keys' form: secrets are typed, sent once and forgotten (the form empties once they are stored; a refused
 * key keeps them, to fix the one named). */
function KeysForm({ token, connected, onSaved, onCancel }: {
  token: string | undefined;
  connected: boolean;
  onSaved: () => void;
  onCancel?: () => void;
}) {
  const [form, setForm] = useState<KeysForm>(NO_KEYS);
  const save = useSave();
  const set = (name: keyof KeysForm) => (value: string) => setForm((current) => ({ ...current, [name]: value }));
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!token) return;
    const local: Record<string, string> = {};
    if (!form.secretKey.trim()) local.secretKey = "Paste the secret key (sk_… or a restricted rk_…) from Stripe → Developers → API keys.";
    if (!form.webhookSecret.trim()) local.webhookSecret = "Paste the endpoint's signing secret (whsec_…) from Stripe → Developers → Webhooks.";
    if (Object.keys(local).length) return save.refuse(local);
    const payload = await save.run(
      { ok: connected ? "Stripe keys replaced" : "Stripe connected", failed: "Stripe not connected" },
      () =>
        connectStripe(token, {
          secretKey: form.secretKey.trim(),
          webhookSecret: form.webhookSecret.trim(),
          ...(form.publishableKey.trim() ? { publishableKey: form.publishableKey.trim() } : {}),
        }),
      (answer) => `Connected in ${answer.connection?.mode === "LIVE" ? "live" : "test"} mode (secret key ending ${answer.connection?.secretKeyEnding ?? ""}).`,
    );
    if (payload) {
      setForm(NO_KEYS); // the secrets do not linger in the page once stored
      onSaved();
    }
  };
  const errors = save.errors;
  return (
    <FormCard
      id="stripe-form"
      heading={connected ? "Replace the keys" : "Connect Stripe"}
      note="From your Stripe dashboard, Developers: the secret key (or a restricted key) and the signing secret of the webhook endpoint below. The app stores them encrypted and never shows them again."
      onSubmit={submit}
      formError={errors[""]}
      submitLabel={connected ? "Replace keys" : "Connect Stripe"}
      busy={save.busy}
      status={save.status}
      statusTestId="stripe-status"
      onCancel={onCancel}
      cancelLabel="Keep the current keys"
    >
      <TextField id="stripe-secretKey" label="Secret key" type="password" autoComplete="off" value={form.secretKey} onChange={set("secretKey")} error={errors.secretKey} help="sk_test_… / sk_live_…, or a restricted key rk_…." required />
      <TextField id="stripe-webhookSecret" label="Webhook signing secret" type="password" autoComplete="off" value={form.webhookSecret} onChange={set("webhookSecret")} error={errors.webhookSecret} help="whsec_…: the endpoint's, under Webhooks." required />
      <TextField id="stripe-publishableKey" label="Publishable key (optional)" autoComplete="off" value={form.publishableKey} onChange={set("publishableKey")} error={errors.publishableKey} help="pk_test_… / pk_live_…, of the same mode: kept for your storefront." />
    </FormCard>
  );
}

function Connection({ token, connection, onChanged }: { token: string | undefined; connection: StripeConnection; onChanged: () => void }) {
  const { locale } = useDashboard();
  const [replacing, setReplacing] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const save = useSave();
  const disconnect = async () => {
    if (!token) return;
    const payload = await save.run({ ok: "Stripe disconnected", failed: "Stripe not disconnected" }, () => disconnectStripe(token), () => "Stripe disconnected: the keys are forgotten.");
    setConfirming(false);
    if (payload) onChanged();
  };
  return (
    <>
      <Card data-testid="stripe-connection" aria-label="Stripe connection">
        <Box display="flex" gap={2} alignItems="baseline" flexWrap="wrap">
          <Text size={4} fontWeight="bold" color={connection.mode === "LIVE" ? "success1" : "default1"}>
            ✓ Connected, {connection.mode === "LIVE" ? "live mode" : "test mode"}
          </Text>
          <Text size={2} color="default2">
            since {when(connection.connectedAt, locale)}
            {Date.parse(connection.updatedAt) - Date.parse(connection.connectedAt) > 1000 ? ` · keys replaced ${when(connection.updatedAt, locale)}` : ""}
          </Text>
        </Box>
        <Box as="dl" margin={0} display="grid" gridTemplateColumns={{ mobile: 1, desktop: 2 }} gap={3}>
          <Fact label="Secret key" value={`••••${connection.secretKeyEnding}`} testId="stripe-secret-ending" />
          <Fact label="Publishable key" value={connection.publishableKey || "—"} testId="stripe-publishable-key" />
        </Box>
        <Box display="flex" flexDirection="column" gap={1}>
          <Text size={2} fontWeight="bold">
            Webhook endpoint
          </Text>
          <code className="loyalty-key loyalty-url" data-testid="stripe-webhook-url">
            {connection.webhookUrl}
          </code>
          <Text size={1} color="default2">
            In Stripe, Developers → Webhooks: add this URL with the events charge.refunded, refund.updated (rebates) and checkout.session.completed, customer.subscription.updated, customer.subscription.deleted, invoice.payment_failed (paid plans).
          </Text>
        </Box>
        {confirming ? (
          <RowActions label="Confirm disconnecting Stripe">
            <Text size={2}>Disconnect? Stripe payouts and new paid memberships stop until you connect again.</Text>
            <Button type="button" variant="error" size="small" disabled={save.busy} onClick={disconnect}>
              Yes, disconnect
            </Button>
            <Button type="button" variant="secondary" size="small" onClick={() => setConfirming(false)}>
              Stay connected
            </Button>
          </RowActions>
        ) : (
          <Box display="flex" gap={2} alignItems="center">
            {!replacing && (
              <Button type="button" variant="secondary" onClick={() => setReplacing(true)}>
                Replace keys
              </Button>
            )}
            <Button type="button" variant="tertiary" onClick={() => setConfirming(true)}>
              Disconnect
            </Button>
            <Status testId="stripe-disconnect-status">{save.status}</Status>
          </Box>
        )}
      </Card>
      {replacing && (
        <KeysForm
          token={token}
          connected
          onSaved={() => {
            setReplacing(false);
            onChanged();
          }}
          onCancel={() => setReplacing(false)}
        />
      )}
    </>
  );
}

function Stripe({ token, onChanged }: { token: string | undefined; onChanged: () => void }) {
  const { result, reload: reloadConnection } = useLoad(token, fetchStripeConnection);
  const reload = () => {
    reloadConnection();
    onChanged(); // the change log below lists it
  };
  return (
    <Section id="stripe" title="Stripe" description="Your store's Stripe account: rebates paid back onto shoppers' cards and paid plans are charged through it.">
      <Loaded result={result} what="the Stripe connection" failed="The Stripe connection could not be loaded">
        {(connection) =>
          connection ? (
            <Connection key={connection.updatedAt} token={token} connection={connection} onChanged={reload} />
          ) : (
            <>
              <Empty testId="stripe-not-connected">Stripe is not connected: rebates are paid as store credit only, and paid plans cannot be sold.</Empty>
              <KeysForm token={token} connected={false} onSaved={reload} />
            </>
          )
        }
      </Loaded>
    </Section>
  );
}

// -- Paid plans ------------------------------------------------------------------------------------------------

type BenefitRow = { kind: PaidPlanBenefitKind; channelId: string; value: string };
type PlanForm = {
  name: string;
  tier: string;
  amount: string;
  currency: string;
  interval: PaidPlanInterval;
  intervalCount: string;
  stripePriceId: string;
  graceDays: string;
  benefits: BenefitRow[];
  isActive: boolean;
};

const EMPTY_PLAN: PlanForm = {
  name: "",
  tier: "",
  amount: "",
  currency: "",
  interval: "MONTH",
  intervalCount: "1",
  stripePriceId: "",
  graceDays: "7",
  benefits: [],
  isActive: true,
};
const BENEFIT_KINDS = [
  { value: "FREE_SHIPPING", label: "Free shipping" },
  { value: "FIXED_AMOUNT", label: "An amount off the order" },
];
const PLAN_EDITABLE: (keyof PaidPlanInput)[] = ["name", "tier", "amount", "currency", "interval", "intervalCount", "stripePriceId", "graceDays", "benefits", "isActive"];

function planForm(plan: PaidPlan): PlanForm {
  return {
    name: plan.name,
    tier: plan.tier,
    amount: decimal(plan.price.amount),
    currency: plan.price.currency,
    interval: plan.interval,
    intervalCount: String(plan.intervalCount),
    stripePriceId: plan.stripePriceId,
    graceDays: String(plan.graceDays),
    benefits: plan.benefits.map((benefit) => ({ kind: benefit.kind, channelId: benefit.channelId, value: benefit.value ? decimal(benefit.value.amount) : "" })),
    isActive: plan.isActive,
  };
}

/** The form as the API's input, or the fields it refuses before asking (in `local`); the rules are the server's. */
function planInput(form: PlanForm, local: Record<string, string>): PaidPlanInput {
  if (!NUMBER.test(form.amount.trim())) local.amount = "Enter the price as a number, e.g. 9.99.";
  if (!/^[A-Za-z]{3}$/.test(form.currency.trim())) local.currency = "Enter a three-letter currency code, e.g. USD.";
  if (!WHOLE.test(form.intervalCount.trim())) local.intervalCount = "Enter a whole number (1: every interval).";
  if (!WHOLE.test(form.graceDays.trim())) local.graceDays = "Enter a whole number of days.";
  if (form.benefits.some((row) => !row.channelId.trim() || (row.kind === "FIXED_AMOUNT" && !NUMBER.test(row.value.trim())))) {
    local.benefits = "Each benefit needs its channel's id, and an amount off for an amount.";
  }
  return {
    name: form.name.trim(),
    tier: form.tier,
    amount: form.amount.trim(),
    currency: form.currency.trim().toUpperCase(),
    interval: form.interval,
    intervalCount: Number(form.intervalCount.trim()),
    stripePriceId: form.stripePriceId.trim(),
    graceDays: Number(form.graceDays.trim()),
    benefits: form.benefits.map((row) => ({ kind: row.kind, channelId: row.channelId.trim(), value: row.kind === "FIXED_AMOUNT" ? row.value.trim() : null })),
    isActive: form.isActive,
  };
}

const INTERVAL_WORDS: Record<PaidPlanInterval, [string, string]> = { DAY: ["day", "days"], WEEK: ["week", "weeks"], MONTH: ["month", "months"], YEAR: ["year", "years"] };

/** "$9.99 a month", "$25.00 every 3 months". */
function priceText(plan: PaidPlan, locale: string): string {
  const [one, many] = INTERVAL_WORDS[plan.interval];
  const price = money(plan.price.amount, plan.price.currency, locale);
  return plan.intervalCount === 1 ? `${price} a ${one}` : `${price} every ${plan.intervalCount} ${many}`;
}

function benefitsText(plan: PaidPlan, locale: string): string {
  if (!plan.benefits.length) return "None";
  return plan.benefits
    .map((benefit) => (benefit.kind === "FREE_SHIPPING" ? "Free shipping" : `${money(benefit.value?.amount ?? "0", plan.price.currency, locale)} off`))
    .join(" · ");
}

function membersText(plan: PaidPlan): string {
  const { active, pastDue, canceled } = plan.members;
  if (!active && !pastDue && !canceled) return "None yet";
  return [`${active} active`, pastDue ? `${pastDue} past due` : "", canceled ? `${canceled} canceled` : ""].filter(Boolean).join(" · ");
}

/** Members the plan's tier and currency are fixed for (the server's rule; it decides). */
function subscribed(plan: PaidPlan): number {
  return plan.members.active + plan.members.pastDue + Math.max(0, plan.members.holdingTier - plan.members.active - plan.members.pastDue);
}

/** The store's channels to pick from, by name and currency; a saved id the store no longer has stays, as its id. */
function channelOptions(channels: StoreChannel[], current: string): { value: string; label: string }[] {
  const options = channels.map((channel) => ({ value: channel.id, label: `${channel.name} (${channel.currency})${channel.isActive ? "" : " · inactive"}` }));
  if (current && !channels.some((channel) => channel.id === current)) options.unshift({ value: current, label: `Unknown channel ${current}` });
  return current ? options : [{ value: "", label: "Choose a channel" }, ...options];
}

function PlanEditor({ token, tiers, editor, onSaved }: {
  token: string | undefined;
  tiers: string[];
  editor: ReturnType<typeof useEditor<PaidPlan, PlanForm>>;
  onSaved: () => void;
}) {
  const { editing, form, set, save, reset } = editor;
  const channels = useLoad(token, fetchStoreChannels); // the benefit's channel picker (its id typed, without them)
  const tier = form.tier || tiers[0] || "";
  const setBenefit = (index: number, field: keyof BenefitRow) => (value: string) =>
    set("benefits")(form.benefits.map((row, i) => (i === index ? { ...row, [field]: value } : row)) as never);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!token) return;
    const local: Record<string, string> = {};
    const input = planInput({ ...form, tier }, local);
    if (!tier) local.tier = "Add a tier to sell on the Tiers tab first.";
    if (Object.keys(local).length) return save.refuse(local);
    if (editing) {
      const changes = changedFields(input, planInput(planForm(editing), {}), PLAN_EDITABLE);
      if (!Object.keys(changes).length) return save.setStatus("Nothing to save: no field changed.");
      const payload = await save.run(
        { ok: "Paid plan saved", failed: "Paid plan not saved" },
        () => updatePaidPlan(token, editing.id, changes),
        (answer) => `Saved ${answer.plan?.name ?? editing.name}. Members keep their subscription; a new price applies to new subscribers.`,
      );
      if (payload) {
        reset();
        onSaved();
      }
      return;
    }
    const payload = await save.run(
      { ok: "Paid plan created", failed: "Paid plan not created" },
      () => createPaidPlan(token, input),
      () => `${input.name} is ${input.isActive ? "on sale" : "saved, not on sale"}.`,
    );
    if (payload) {
      reset();
      onSaved();
    }
  };
  const errors = save.errors;
  const members = editing ? subscribed(editing) : 0;
  const fixed = members ? `${members === 1 ? "One member subscribes" : `${members} members subscribe`}: this cannot change (archive the plan and create a new one instead).` : undefined;
  const currency = form.currency.trim().toUpperCase() || "the plan's currency";
  return (
    <FormCard
      id="plan-form"
      heading={editing ? `Edit ${editing.name}` : "Sell a tier"}
      note={
        editing
          ? "Members keep their subscription and what Stripe charges them; a new Price, amount or interval applies to new subscribers."
          : "First create the recurring Price in Stripe (Product catalogue → a product → Add a price) and copy its id (price_…): Stripe charges what the Price says, the price below is what shoppers are shown."
      }
      onSubmit={submit}
      formError={errors[""] ?? errors.id}
      submitLabel={editing ? "Save plan" : "Create plan"}
      busy={save.busy}
      status={save.status}
      statusTestId="plan-status"
      onCancel={editing ? reset : undefined}
      cancelLabel="Cancel editing"
    >
      <TextField id="plan-name" label="Plan name" value={form.name} onChange={set("name")} error={errors.name} help="Shown to shoppers, e.g. VIP monthly." required />
      {tiers.length ? (
        <SelectField id="plan-tier" label="Tier it sells" value={tier} options={(tiers.includes(tier) ? tiers : [tier, ...tiers]).map((name) => ({ value: name, label: name }))} onChange={set("tier")} error={errors.tier} help={fixed ?? "Members hold it (at least) while they pay. Not the base tier."} />
      ) : (
        <ReadOnlyField id="plan-tier" label="Tier it sells" value="No tiers yet" help="Add the tier to sell on the Tiers tab first." />
      )}
      <TextField id="plan-amount" label="Price" value={form.amount} onChange={set("amount")} error={errors.amount} inputMode="decimal" help={`In ${currency}, as the Stripe Price charges it.`} required />
      <TextField id="plan-currency" label="Currency" value={form.currency} onChange={set("currency")} error={errors.currency} help={fixed ?? "ISO 4217, e.g. USD: the Stripe Price's currency."} required />
      <SelectField id="plan-interval" label="Billed every" value={form.interval} options={PAID_PLAN_INTERVALS} onChange={(value) => set("interval")(value as PaidPlanInterval)} error={errors.interval} />
      <TextField id="plan-intervalCount" label="Number of intervals" value={form.intervalCount} onChange={set("intervalCount")} error={errors.intervalCount} inputMode="numeric" help="1–12: 3 with Month bills every quarter." />
      <TextField id="plan-stripePriceId" label="Stripe Price" value={form.stripePriceId} onChange={set("stripePriceId")} error={errors.stripePriceId} help="The Price's id, price_…" required />
      <TextField id="plan-graceDays" label="Grace after a failed payment (days)" value={form.graceDays} onChange={set("graceDays")} error={errors.graceDays} inputMode="numeric" help="0–60: the tier is kept this long while Stripe retries." />
      <CheckboxField id="plan-isActive" label="On sale" checked={form.isActive} onChange={set("isActive")} error={errors.isActive} help="Off: not sold; members keep theirs." />
      <Box __gridColumn="1 / -1" as="fieldset" borderStyle="none" padding={0} margin={0} display="flex" flexDirection="column" gap={3} aria-describedby={errors.benefits ? "plan-benefits-error" : undefined} data-testid="plan-benefits">
        <Box as="legend" marginBottom={2}>
          <Text size={3} fontWeight="bold">
            Benefits per paid period
          </Text>
          <Text as="p" size={2} color="default2">
            A single-use voucher each, issued once per paid period, valid until it ends, in the channel chosen: free shipping, or an amount off in {currency}.
            {channels.result.state === "error" ? " Your store's channels could not be read: type the channel's Saleor id (Configuration → Channels: the id in the channel's address)." : ""}
          </Text>
        </Box>
        {form.benefits.map((row, index) => (
          <Box key={index} display="grid" __gridTemplateColumns="1fr 1fr 1fr auto" gap={3} alignItems="center" data-testid="benefit-row">
            <SelectField id={`plan-benefit-${index}-kind`} label={`Benefit ${index + 1}`} value={row.kind} options={BENEFIT_KINDS} onChange={setBenefit(index, "kind")} />
            {channels.result.state === "ready" ? (
              <SelectField id={`plan-benefit-${index}-channel`} label={`Benefit ${index + 1}: channel`} value={row.channelId} options={channelOptions(channels.result.data, row.channelId)} onChange={setBenefit(index, "channelId")} />
            ) : (
              <TextField id={`plan-benefit-${index}-channel`} label={`Benefit ${index + 1}: channel id`} value={row.channelId} onChange={setBenefit(index, "channelId")} />
            )}
            {row.kind === "FIXED_AMOUNT" ? (
              <TextField id={`plan-benefit-${index}-value`} label={`Benefit ${index + 1}: amount off`} value={row.value} onChange={setBenefit(index, "value")} inputMode="decimal" />
            ) : (
              <span />
            )}
            <Button type="button" variant="tertiary" size="small" aria-label={`Remove benefit ${index + 1}`} onClick={() => set("benefits")(form.benefits.filter((_, i) => i !== index) as never)}>
              Remove
            </Button>
          </Box>
        ))}
        <GroupError id="plan-benefits" error={errors.benefits} />
        <Box>
          <Button type="button" variant="secondary" size="small" onClick={() => set("benefits")([...form.benefits, { kind: "FREE_SHIPPING", channelId: "", value: "" }] as never)}>
            Add a benefit
          </Button>
        </Box>
      </Box>
    </FormCard>
  );
}

function ReturnOrigins({ token, origins, onSaved }: { token: string | undefined; origins: string[]; onSaved: () => void }) {
  const saved = origins.join("\n");
  const [text, setText] = useState(saved);
  useEffect(() => setText(saved), [saved]); // the addresses as saved (normalised), keeping the save's status below
  const save = useSave();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!token) return;
    const payload = await save.run(
      { ok: "Return addresses saved", failed: "Return addresses not saved" },
      () => updateMembershipSettings(token, lines(text)),
      (answer) => (answer.settings?.returnOrigins.length ? `Checkout may return to ${answer.settings.returnOrigins.join(", ")}.` : "Checkout may return nowhere: no plan can be bought."),
    );
    if (payload) onSaved();
  };
  return (
    <FormCard
      id="origins-form"
      heading="Where Checkout returns shoppers"
      note="Your storefront's address (https, scheme and host, e.g. https://shop.example.com), one per line. Stripe sends shoppers back only there after paying or going back: never anywhere else."
      onSubmit={submit}
      formError={save.errors[""]}
      submitLabel="Save return addresses"
      busy={save.busy}
      status={save.status}
      statusTestId="origins-status"
    >
      <TextAreaField id="plan-returnOrigins" label="Storefront addresses" value={text} onChange={setText} error={save.errors.returnOrigins} help="Empty: no plan can be bought." />
    </FormCard>
  );
}

function Plans({ token, result, onSaved }: { token: string | undefined; result: Load<{ plans: PaidPlan[]; tiers: string[]; returnOrigins: string[] }>; onSaved: () => void }) {
  const { locale } = useDashboard();
  const editor = useEditor<PaidPlan, PlanForm>(EMPTY_PLAN, planForm, "plan-form");
  const [confirming, setConfirming] = useState<string | null>(null);
  const archive = async (plan: PaidPlan) => {
    if (!token) return;
    const payload = await editor.save.run(
      { ok: "Paid plan archived", failed: "Paid plan not archived" },
      () => archivePaidPlan(token, plan.id),
      () => `${plan.name} is no longer sold; its members keep their subscription.`,
    );
    setConfirming(null);
    if (payload) onSaved();
  };
  const columns: Column<PaidPlan>[] = [
    { header: "Plan", cell: (plan) => plan.name },
    { header: "Tier", cell: (plan) => plan.tier },
    {
      header: "Price",
      cell: (plan) => (
        <>
          {priceText(plan, locale)}
          <Text as="p" size={1} color="default2">
            {plan.stripePriceId} · {plan.graceDays} days' grace
          </Text>
        </>
      ),
    },
    { header: "Benefits", cell: (plan) => benefitsText(plan, locale) },
    { header: "Members", cell: membersText },
    { header: "Status", cell: (plan) => (plan.isActive ? "On sale" : "Archived") },
  ];
  return (
    <Section id="paid-plans" title="Paid plans" description="Sell a tier as a Stripe subscription (a VIP tier for a price a month): the shopper pays on Stripe Checkout, and holds the tier while the subscription is paid. Plans are archived, never deleted: members keep what they paid for.">
      <Loaded result={result} what="paid plans" failed="Paid plans could not be loaded">
        {(data) => (
          <>
            {data.plans.length ? (
              <RecordsTable
                labelledBy="paid-plans-heading"
                testId="paid-plans"
                columns={columns}
                rows={data.plans}
                rowKey={(plan) => plan.id}
                rowTestId={(plan) => `paid-plan-${plan.name}`}
                actions={(plan) =>
                  confirming === plan.id ? (
                    <RowActions label={`Confirm archiving ${plan.name}`}>
                      <Text size={2}>Archive? It is no longer sold; members keep theirs.</Text>
                      <Button type="button" variant="error" size="small" disabled={editor.save.busy} onClick={() => archive(plan)}>
                        Yes, archive
                      </Button>
                      <Button type="button" variant="secondary" size="small" onClick={() => setConfirming(null)}>
                        Keep selling
                      </Button>
                    </RowActions>
                  ) : (
                    <>
                      <RowButton label={`Edit ${plan.name}`} busy={editor.save.busy} onClick={() => editor.edit(plan)}>
                        Edit
                      </RowButton>
                      {plan.isActive && (
                        <RowButton label={`Archive ${plan.name}`} busy={editor.save.busy} onClick={() => setConfirming(plan.id)}>
                          Archive
                        </RowButton>
                      )}
                    </>
                  )
                }
              />
            ) : (
              <Empty testId="paid-plans-empty">No paid plans yet: sell a tier below.</Empty>
            )}
            <PlanEditor token={token} tiers={data.tiers} editor={editor} onSaved={onSaved} />
            <ReturnOrigins token={token} origins={data.returnOrigins} onSaved={onSaved} />
          </>
        )}
      </Loaded>
    </Section>
  );
}

// -- The tab ---------------------------------------------------------------------------------------------------

const PAYMENT_CHANGES = ["stripe", "paid_plan:", "membership_settings"];

/** The Payments tab: Stripe, the paid plans with where Checkout returns, and their changes. */
export function PaymentsTab({ token }: { token: string | undefined }) {
  const plans = useLoad(token, fetchPaidPlans);
  const changes = useLoad(token, async (t) => (await fetchSettingsChanges(t)).filter((change) => PAYMENT_CHANGES.some((prefix) => change.subject.startsWith(prefix))));
  const saved = () => {
    plans.reload();
    changes.reload();
  };
  return (
    <Box display="flex" flexDirection="column" gap={10} __maxWidth="880px">
      <Stripe token={token} onChanged={changes.reload} />
      <Plans token={token} result={plans.result} onSaved={saved} />
      <ChangeLog result={changes.result} id="payment-changes" title="Changes to payments" description="Every change to the Stripe connection, the paid plans and where Checkout returns shoppers: who made it, when, and what it changed (the Program tab's change log lists them too). Secrets are never shown, only their last characters." />
    </Box>
  );
}
