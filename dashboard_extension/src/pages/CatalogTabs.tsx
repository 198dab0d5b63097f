// The Rewards and Campaigns tabs: list, create, edit in place, switch off. One form per tab does both creating and
// editing (Edit copies a row into it; only the fields changed are sent). Products and categories are picked by
// searching the store (the staff API asks Saleor), shown by name, sent as Saleor ids.
import { Box, Text } from "@saleor/macaw-ui";
import { type FormEvent, useState } from "react";

import {
  type Campaign,
  type CampaignInput,
  type CampaignStatus,
  type CatalogReward,
  createCampaign,
  createReward,
  deactivateCampaign,
  deactivateReward,
  fetchCampaigns,
  fetchRewards,
  type RewardInput,
  type RewardKind,
  searchCategories,
  searchProducts,
  type StoreItem,
  updateCampaign,
  updateReward,
} from "../api";
import { useDashboard } from "../bridge";
import {
  Alert,
  type Column,
  day,
  decimal,
  FormCard,
  fromLocalInput,
  lines,
  Loading,
  localInput,
  money,
  NUMBER,
  type PickedItem,
  ReadOnlyField,
  RecordsTable,
  RowButton,
  Section,
  SelectField,
  StorePicker,
  TextField,
  useLoad,
  useSave,
  when,
  WHOLE,
} from "./ui";

const REWARD_KINDS: { value: RewardKind; label: string }[] = [
  { value: "FIXED_AMOUNT", label: "An amount off" },
  { value: "PERCENTAGE", label: "A percentage off" },
  { value: "FREE_SHIPPING", label: "Free shipping" },
  { value: "FREE_PRODUCT", label: "A free product" },
];

const CAMPAIGN_STATUS: Record<CampaignStatus, string> = { SCHEDULED: "Scheduled", RUNNING: "Running", ENDED: "Ended", STOPPED: "Stopped" };

function windowText(startsAt: string | null, endsAt: string | null, locale: string): string {
  if (!startsAt && !endsAt) return "Always";
  return `${startsAt ? day(startsAt, locale) : "now"} – ${endsAt ? day(endsAt, locale) : "no end"}`;
}

function rewardValue(reward: CatalogReward, locale: string): string {
  const amount = (value: string | null) => (value === null ? "—" : money(value, reward.currency ?? undefined, locale));
  if (reward.kind === "FIXED_AMOUNT") return `${amount(reward.value)} off`;
  if (reward.kind === "PERCENTAGE") return `${decimal(reward.value)}% off${reward.maxAmount ? ` (at most ${amount(reward.maxAmount)})` : ""}`;
  if (reward.kind === "FREE_PRODUCT") return `A free product (variant ${reward.variantId ?? "—"})`;
  return "Free shipping";
}

/** A window's two fields; both in the browser's time zone. */
function checkWindow(startsAt: string, endsAt: string, local: Record<string, string>): { startsAt: string | null; endsAt: string | null } {
  const starts = fromLocalInput(startsAt);
  const ends = fromLocalInput(endsAt);
  if (starts === undefined) local.startsAt = "Enter a date and time.";
  if (ends === undefined) local.endsAt = "Enter a date and time.";
  return { startsAt: starts ?? null, endsAt: ends ?? null };
}

/** The fields of `input` whose value differs from `before` (what an edit sends: the server keeps the rest). */
export function changedFields<T extends Record<string, unknown>>(input: T, before: T, editable: (keyof T)[]): Partial<T> {
  const changes: Partial<T> = {};
  for (const key of editable) {
    if (JSON.stringify(input[key]) !== JSON.stringify(before[key])) changes[key] = input[key];
  }
  return changes;
}

/** The form shared by creating and editing one kind of record: what is being edited (null: a new one), and the
 * form's values. */
export function useEditor<R, F>(empty: F, toForm: (record: R) => F, formId: string) {
  const [editing, setEditing] = useState<R | null>(null);
  const [form, setForm] = useState<F>(empty);
  // A new form (a record opened, a reset after saving or cancelling) starts its pickers afresh: no stale search.
  const [session, setSession] = useState(0);
  const save = useSave();
  const set = (name: keyof F) => (value: F[keyof F]) => {
    setForm((current) => ({ ...current, [name]: value }));
    // What the last save did no longer describes the form once it is changed (a refusal stays, beside its fields).
    if (!Object.keys(save.errors).length) save.setStatus("");
  };
  const edit = (record: R) => {
    setEditing(record);
    setForm(toForm(record));
    setSession((n) => n + 1);
    save.setErrors({});
    save.setStatus("");
    window.requestAnimationFrame(() => {
      document.getElementById(formId)?.scrollIntoView({ block: "start" });
      document.querySelector<HTMLElement>(`#${formId} input, #${formId} select`)?.focus();
    });
  };
  const reset = () => {
    setEditing(null);
    setForm(empty);
    setSession((n) => n + 1);
  };
  return { editing, form, set, save, edit, reset, session };
}

// -- Rewards ---------------------------------------------------------------------------------------------------

type RewardForm = Record<"name" | "description" | "kind" | "pointsCost" | "channel" | "value" | "maxAmount" | "variantId" | "startsAt" | "endsAt" | "perShopperLimit", string>;

const EMPTY_REWARD: RewardForm = {
  name: "",
  description: "",
  kind: "FIXED_AMOUNT",
  pointsCost: "",
  channel: "",
  value: "",
  maxAmount: "",
  variantId: "",
  startsAt: "",
  endsAt: "",
  perShopperLimit: "",
};

const REWARD_EDITABLE: (keyof RewardInput)[] = ["name", "description", "pointsCost", "value", "maxAmount", "variantId", "startsAt", "endsAt", "perShopperLimit"];

function rewardForm(reward: CatalogReward): RewardForm {
  return {
    name: reward.name,
    description: reward.description,
    kind: reward.kind,
    pointsCost: String(reward.pointsCost),
    channel: reward.channel,
    value: reward.value === null ? "" : decimal(reward.value),
    maxAmount: reward.maxAmount === null ? "" : decimal(reward.maxAmount),
    variantId: reward.variantId ?? "",
    startsAt: localInput(reward.startsAt),
    endsAt: localInput(reward.endsAt),
    perShopperLimit: reward.perShopperLimit === null ? "" : String(reward.perShopperLimit),
  };
}

/** The form as the API's input, or the fields it refuses before asking (in `local`). */
function rewardInput(form: RewardForm, local: Record<string, string>): RewardInput {
  const kind = form.kind as RewardKind;
  if (!WHOLE.test(form.pointsCost.trim())) local.pointsCost = "Enter a whole number of points.";
  if ((kind === "FIXED_AMOUNT" || kind === "PERCENTAGE") && !NUMBER.test(form.value.trim())) local.value = "Enter a number.";
  if (kind === "PERCENTAGE" && form.maxAmount.trim() && !NUMBER.test(form.maxAmount.trim())) local.maxAmount = "Enter a number, or leave it empty.";
  if (form.perShopperLimit.trim() && !WHOLE.test(form.perShopperLimit.trim())) local.perShopperLimit = "Enter a whole number, or leave it empty.";
  return {
    name: form.name.trim(),
    description: form.description.trim(),
    kind,
    pointsCost: Number(form.pointsCost.trim()),
    channel: form.channel.trim(),
    value: kind === "FIXED_AMOUNT" || kind === "PERCENTAGE" ? form.value.trim() : null,
    maxAmount: kind === "PERCENTAGE" && form.maxAmount.trim() ? form.maxAmount.trim() : null,
    variantId: kind === "FREE_PRODUCT" ? form.variantId.trim() : null,
    ...checkWindow(form.startsAt, form.endsAt, local),
    perShopperLimit: form.perShopperLimit.trim() ? Number(form.perShopperLimit.trim()) : null,
  };
}

export function RewardsTab({ token }: { token: string | undefined }) {
  const { locale } = useDashboard();
  const { result, reload } = useLoad(token, fetchRewards);
  const { editing, form, set, save, edit, reset } = useEditor<CatalogReward, RewardForm>(EMPTY_REWARD, rewardForm, "reward-form");
  const kind = form.kind as RewardKind;
  const frozen = editing !== null && !editing.isActive; // a switched-off reward: name and description only

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!token) return;
    const local: Record<string, string> = {};
    const input = rewardInput(form, local);
    if (Object.keys(local).length) return save.refuse(local);
    if (editing) {
      const changes = changedFields(input, rewardInput(rewardForm(editing), {}), frozen ? ["name", "description"] : REWARD_EDITABLE);
      if (!Object.keys(changes).length) return save.setStatus("Nothing to save: no field changed.");
      const payload = await save.run(
        { ok: "Reward saved", failed: "Reward not saved" },
        () => updateReward(token, editing.id, changes),
        () => `Saved the reward ${input.name}; redemptions already made keep what they were priced at.`,
      );
      if (payload) {
        reset();
        reload();
      }
      return;
    }
    const payload = await save.run(
      { ok: "Reward created", failed: "Reward not created" },
      () => createReward(token, input),
      () => `Created the reward ${input.name}.`,
    );
    if (payload) {
      reset();
      reload();
    }
  };

  const switchOff = async (reward: CatalogReward) => {
    if (!token) return;
    const payload = await save.run(
      { ok: "Reward switched off", failed: "Reward not switched off" },
      () => deactivateReward(token, reward.id),
      () => `${reward.name} is no longer offered; vouchers already on checkouts stay.`,
    );
    if (payload) reload();
  };

  const columns: Column<CatalogReward>[] = [
    { header: "Reward", cell: (reward) => reward.name },
    { header: "Gives", cell: (reward) => rewardValue(reward, locale) },
    { header: "Cost", cell: (reward) => `${reward.pointsCost.toLocaleString("en-US")} points` },
    { header: "Channel", cell: (reward) => reward.channel },
    {
      header: "When",
      cell: (reward) => `${windowText(reward.startsAt, reward.endsAt, locale)}${reward.perShopperLimit !== null ? ` · ${reward.perShopperLimit} per shopper` : ""}`,
    },
    { header: "Status", cell: (reward) => (reward.isActive ? "Active" : "Off") },
  ];

  return (
    <Box display="flex" flexDirection="column" gap={10} __maxWidth="880px">
      <Section id="rewards" title="Rewards catalog" description="What shoppers can spend points on, per channel. Edit changes a reward from now on; redemptions already made keep their price.">
        {result.state === "loading" && <Loading what="rewards" />}
        {result.state === "error" && <Alert title="Rewards could not be loaded" message={result.message} />}
        {result.state === "ready" &&
          (result.data.length ? (
            <RecordsTable
              labelledBy="rewards-heading"
              testId="rewards"
              columns={columns}
              rows={result.data}
              rowKey={(reward) => reward.id}
              rowTestId={(reward) => `reward-${reward.name}`}
              actions={(reward) => (
                <>
                  <RowButton label={`Edit the reward ${reward.name}`} busy={save.busy} onClick={() => edit(reward)}>
                    Edit
                  </RowButton>
                  {reward.isActive && (
                    <RowButton label={`Switch off the reward ${reward.name}`} busy={save.busy} onClick={() => switchOff(reward)}>
                      Switch off
                    </RowButton>
                  )}
                </>
              )}
            />
          ) : (
            <Text size={2} color="default2">
              No rewards yet: add the first one below.
            </Text>
          ))}
        <FormCard
          id="reward-form"
          heading={editing ? `Edit the reward ${editing.name}` : "Add a reward"}
          note={frozen ? "This reward is switched off: only its name and description can change." : undefined}
          onSubmit={submit}
          formError={save.errors[""] ?? save.errors.id}
          submitLabel={editing ? "Save reward" : "Create reward"}
          busy={save.busy}
          status={save.status}
          statusTestId="reward-status"
          onCancel={editing ? reset : undefined}
          cancelLabel="Cancel editing"
        >
          <TextField id="reward-name" label="Reward name" value={form.name} onChange={set("name")} error={save.errors.name} required />
          {editing ? (
            <ReadOnlyField id="reward-kind" label="Gives" value={REWARD_KINDS.find((option) => option.value === kind)?.label} help="A reward's kind and channel don't change: switch it off and add a new one." />
          ) : (
            <SelectField id="reward-kind" label="Gives" value={form.kind} options={REWARD_KINDS} onChange={set("kind")} error={save.errors.kind} />
          )}
          {!frozen && <TextField id="reward-pointsCost" label="Cost (points)" value={form.pointsCost} onChange={set("pointsCost")} error={save.errors.pointsCost} inputMode="numeric" />}
          {editing ? (
            <ReadOnlyField id="reward-channel" label="Channel" value={form.channel} />
          ) : (
            <TextField id="reward-channel" label="Channel (slug)" value={form.channel} onChange={set("channel")} error={save.errors.channel} />
          )}
          {!frozen && kind === "FIXED_AMOUNT" && <TextField id="reward-value" label="Amount off" value={form.value} onChange={set("value")} error={save.errors.value} inputMode="decimal" help="In the channel's currency." />}
          {!frozen && kind === "PERCENTAGE" && (
            <>
              <TextField id="reward-value" label="Percent off" value={form.value} onChange={set("value")} error={save.errors.value} inputMode="decimal" />
              <TextField id="reward-maxAmount" label="At most (amount)" value={form.maxAmount} onChange={set("maxAmount")} error={save.errors.maxAmount} inputMode="decimal" help="Empty: no cap." />
            </>
          )}
          {!frozen && kind === "FREE_PRODUCT" && (
            <TextField id="reward-variantId" label="Product variant (Saleor id)" value={form.variantId} onChange={set("variantId")} error={save.errors.variantId ?? save.errors.value} help="The variant's id from Saleor, e.g. UHJvZHVjdFZhcmlhbnQ6MjA=." />
          )}
          {!frozen && (
            <>
              <TextField id="reward-startsAt" label="Offered from" type="datetime-local" value={form.startsAt} onChange={set("startsAt")} error={save.errors.startsAt} help="Empty: now." />
              <TextField id="reward-endsAt" label="Offered until" type="datetime-local" value={form.endsAt} onChange={set("endsAt")} error={save.errors.endsAt} help="Empty: no end." />
              <TextField id="reward-perShopperLimit" label="Times per shopper" value={form.perShopperLimit} onChange={set("perShopperLimit")} error={save.errors.perShopperLimit} inputMode="numeric" help="Empty: no limit." />
            </>
          )}
          <TextField id="reward-description" label="Description" value={form.description} onChange={set("description")} error={save.errors.description} help="Shown to shoppers." />
        </FormCard>
      </Section>
    </Box>
  );
}

// -- Campaigns -------------------------------------------------------------------------------------------------

type CampaignForm = Record<"name" | "startsAt" | "endsAt" | "multiplier" | "fixedBonus" | "channel" | "tiers", string> & {
  products: PickedItem[];
  categories: PickedItem[];
};

const EMPTY_CAMPAIGN: CampaignForm = {
  name: "",
  startsAt: "",
  endsAt: "",
  multiplier: "2",
  fixedBonus: "0",
  channel: "",
  products: [],
  categories: [],
  tiers: "",
};

function campaignForm(campaign: Campaign): CampaignForm {
  return {
    name: campaign.name,
    startsAt: localInput(campaign.startsAt),
    endsAt: localInput(campaign.endsAt),
    multiplier: decimal(campaign.multiplier),
    fixedBonus: String(campaign.fixedBonus),
    channel: campaign.channel ?? "",
    products: campaign.products,
    categories: campaign.categories,
    tiers: campaign.tiers.join(", "),
  };
}

/** What can change in a campaign where it stands (the API refuses the rest, and says why). */
function campaignEditable(status: CampaignStatus | undefined): (keyof CampaignInput)[] {
  if (status === "ENDED" || status === "STOPPED") return ["name"];
  const all: (keyof CampaignInput)[] = ["name", "startsAt", "endsAt", "multiplier", "fixedBonus", "channel", "productIds", "categoryIds", "tiers"];
  return status === "RUNNING" ? all.filter((field) => field !== "startsAt") : all;
}

function campaignInput(form: CampaignForm, local: Record<string, string>): CampaignInput {
  if (!NUMBER.test(form.multiplier.trim())) local.multiplier = "Enter a number, e.g. 2 (1: no multiplier).";
  if (!WHOLE.test(form.fixedBonus.trim())) local.fixedBonus = "Enter a whole number of points.";
  const window = checkWindow(form.startsAt, form.endsAt, local);
  if (!window.startsAt && !local.startsAt) local.startsAt = "When does it start?";
  if (!window.endsAt && !local.endsAt) local.endsAt = "When does it end?";
  return {
    name: form.name.trim(),
    startsAt: window.startsAt ?? "",
    endsAt: window.endsAt ?? "",
    multiplier: form.multiplier.trim(),
    fixedBonus: Number(form.fixedBonus.trim()),
    channel: form.channel.trim() || null,
    productIds: form.products.map((item) => item.id),
    categoryIds: form.categories.map((item) => item.id),
    tiers: lines(form.tiers, /,/),
  };
}

function names(items: StoreItem[], noun: string, plural: string): string {
  if (!items.length) return "";
  const shown = items.map((item) => item.name ?? `unknown ${noun}`).join(", ");
  return `${items.length === 1 ? noun : plural}: ${shown}`;
}

function targets(campaign: Campaign): string {
  const parts = [
    campaign.channel ? `channel ${campaign.channel}` : "every channel",
    names(campaign.products, "product", "products"),
    names(campaign.categories, "category", "categories"),
    campaign.tiers.length ? `tiers ${campaign.tiers.join(", ")}` : "",
  ];
  return parts.filter(Boolean).join(" · ");
}

export function CampaignsTab({ token }: { token: string | undefined }) {
  const { locale } = useDashboard();
  const { result, reload } = useLoad(token, fetchCampaigns);
  const { editing, form, set, save, edit, reset, session } = useEditor<Campaign, CampaignForm>(EMPTY_CAMPAIGN, campaignForm, "campaign-form");
  const editable = campaignEditable(editing?.status);
  const only = (field: keyof CampaignInput) => editable.includes(field);
  const pick = (name: "products" | "categories") => (items: PickedItem[]) => set(name)(items);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!token) return;
    const local: Record<string, string> = {};
    const input = campaignInput(form, local);
    if (Object.keys(local).length) return save.refuse(local);
    if (editing) {
      const changes = changedFields(input, campaignInput(campaignForm(editing), {}), editable);
      if (!Object.keys(changes).length) return save.setStatus("Nothing to save: no field changed.");
      const payload = await save.run(
        { ok: "Campaign saved", failed: "Campaign not saved" },
        () => updateCampaign(token, editing.id, changes),
        () => `Saved the campaign ${input.name}; orders that already earned by it keep what they earned.`,
      );
      if (payload) {
        reset();
        reload();
      }
      return;
    }
    const payload = await save.run(
      { ok: "Campaign created", failed: "Campaign not created" },
      () => createCampaign(token, input),
      () => `Created the campaign ${input.name}.`,
    );
    if (payload) {
      reset();
      reload();
    }
  };

  const switchOff = async (campaign: Campaign) => {
    if (!token) return;
    const payload = await save.run(
      { ok: "Campaign stopped", failed: "Campaign not stopped" },
      () => deactivateCampaign(token, campaign.id),
      () => `${campaign.name} stopped; orders keep what they earned by it.`,
    );
    if (payload) reload();
  };

  const columns: Column<Campaign>[] = [
    { header: "Campaign", cell: (campaign) => campaign.name },
    { header: "Bonus", cell: (campaign) => `×${decimal(campaign.multiplier)}${campaign.fixedBonus ? ` +${campaign.fixedBonus} points` : ""}` },
    { header: "For", cell: targets },
    { header: "When", cell: (campaign) => windowText(campaign.startsAt, campaign.endsAt, locale) },
    { header: "Status", cell: (campaign) => CAMPAIGN_STATUS[campaign.status] },
  ];
  const note =
    editing?.status === "ENDED" || editing?.status === "STOPPED"
      ? `This campaign ${editing.status === "ENDED" ? "has ended" : "was switched off"}: only its name can change. Add a new campaign for new terms.`
      : editing
        ? "Changes apply to orders from now on; orders that already earned by it keep what they earned."
        : undefined;

  return (
    <Box display="flex" flexDirection="column" gap={10} __maxWidth="880px">
      <Section id="campaigns" title="Bonus campaigns" description="Extra points for a while: a multiplier and/or a fixed bonus, by channel, products, categories and tiers. Edit changes a campaign from now on.">
        {result.state === "loading" && <Loading what="campaigns" />}
        {result.state === "error" && <Alert title="Campaigns could not be loaded" message={result.message} />}
        {result.state === "ready" &&
          (result.data.length ? (
            <RecordsTable
              labelledBy="campaigns-heading"
              testId="campaigns"
              columns={columns}
              rows={result.data}
              rowKey={(campaign) => campaign.id}
              rowTestId={(campaign) => `campaign-${campaign.name}`}
              actions={(campaign) => (
                <>
                  <RowButton label={`Edit the campaign ${campaign.name}`} busy={save.busy} onClick={() => edit(campaign)}>
                    Edit
                  </RowButton>
                  {(campaign.status === "SCHEDULED" || campaign.status === "RUNNING") && (
                    <RowButton label={`Stop the campaign ${campaign.name}`} busy={save.busy} onClick={() => switchOff(campaign)}>
                      Switch off
                    </RowButton>
                  )}
                </>
              )}
            />
          ) : (
            <Text size={2} color="default2">
              No campaigns yet.
            </Text>
          ))}
        <FormCard
          id="campaign-form"
          heading={editing ? `Edit the campaign ${editing.name}` : "Start a campaign"}
          note={note}
          onSubmit={submit}
          formError={save.errors[""] ?? save.errors.id}
          submitLabel={editing ? "Save campaign" : "Create campaign"}
          busy={save.busy}
          status={save.status}
          statusTestId="campaign-status"
          onCancel={editing ? reset : undefined}
          cancelLabel="Cancel editing"
        >
          <TextField id="campaign-name" label="Campaign name" value={form.name} onChange={set("name")} error={save.errors.name} required />
          {only("channel") && <TextField id="campaign-channel" label="Channel (slug)" value={form.channel} onChange={set("channel")} error={save.errors.channel} help="Empty: every channel." />}
          {only("startsAt") && <TextField id="campaign-startsAt" label="Starts" type="datetime-local" value={form.startsAt} onChange={set("startsAt")} error={save.errors.startsAt} />}
          {editing?.status === "RUNNING" && <ReadOnlyField id="campaign-started" label="Started" value={when(editing.startsAt, locale)} help="A running campaign keeps its start." />}
          {only("endsAt") && <TextField id="campaign-endsAt" label="Ends" type="datetime-local" value={form.endsAt} onChange={set("endsAt")} error={save.errors.endsAt} />}
          {only("multiplier") && <TextField id="campaign-multiplier" label="Points multiplier" value={form.multiplier} onChange={set("multiplier")} error={save.errors.multiplier} inputMode="decimal" help="1: no multiplier (then give a fixed bonus)." />}
          {only("fixedBonus") && <TextField id="campaign-fixedBonus" label="Fixed bonus (points)" value={form.fixedBonus} onChange={set("fixedBonus")} error={save.errors.fixedBonus} inputMode="numeric" help="Added to each order with a targeted line." />}
          {only("productIds") && token && (
            <StorePicker key={`products-${session}`} id="campaign-products" label="Products" noun="product" picked={form.products} onChange={pick("products")} search={(text) => searchProducts(token, text)} error={save.errors.productIds} help="Type to search your store. None picked: every product." />
          )}
          {only("categoryIds") && token && (
            <StorePicker key={`categories-${session}`} id="campaign-categories" label="Categories" noun="category" picked={form.categories} onChange={pick("categories")} search={(text) => searchCategories(token, text)} error={save.errors.categoryIds} help="Type to search your store. None picked: every category." />
          )}
          {only("tiers") && <TextField id="campaign-tiers" label="Tiers" value={form.tiers} onChange={set("tiers")} error={save.errors.tiers} help="Comma-separated tier names. Empty: everyone." />}
        </FormCard>
      </Section>
    </Box>
  );
}
