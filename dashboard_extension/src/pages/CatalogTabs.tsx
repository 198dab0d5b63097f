// The Rewards and Campaigns tabs: list, create (fields that depend on the kind), switch off. Editing in place is
// not offered by the API: switch one off and create the new one. Product, variant and category ids are typed as
// Saleor ids for now (pickers that search the store come later).
import { Box, Button, Text } from "@saleor/macaw-ui";
import { type FormEvent, useState } from "react";

import {
  type Campaign,
  type CampaignInput,
  type CatalogReward,
  createCampaign,
  createReward,
  deactivateCampaign,
  deactivateReward,
  fetchCampaigns,
  fetchRewards,
  type RewardInput,
  type RewardKind,
} from "../api";
import { useDashboard } from "../bridge";
import {
  Alert,
  Card,
  day,
  decimal,
  fromLocalInput,
  lines,
  Loading,
  NUMBER,
  Section,
  SelectField,
  Status,
  TextField,
  useLoad,
  useSave,
  WHOLE,
} from "./ui";

const REWARD_KINDS: { value: RewardKind; label: string }[] = [
  { value: "FIXED_AMOUNT", label: "An amount off" },
  { value: "PERCENTAGE", label: "A percentage off" },
  { value: "FREE_SHIPPING", label: "Free shipping" },
  { value: "FREE_PRODUCT", label: "A free product" },
];

function windowText(startsAt: string | null, endsAt: string | null, locale: string): string {
  if (!startsAt && !endsAt) return "Always";
  return `${startsAt ? day(startsAt, locale) : "now"} – ${endsAt ? day(endsAt, locale) : "no end"}`;
}

function rewardValue(reward: CatalogReward): string {
  if (reward.kind === "FIXED_AMOUNT") return `${decimal(reward.value)} off`;
  if (reward.kind === "PERCENTAGE") return `${decimal(reward.value)}% off${reward.maxAmount ? ` (at most ${decimal(reward.maxAmount)})` : ""}`;
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

function SwitchOff({ label, busy, onClick }: { label: string; busy: boolean; onClick: () => void }) {
  return (
    <Button type="button" variant="tertiary" size="small" disabled={busy} aria-label={label} onClick={onClick}>
      Switch off
    </Button>
  );
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

export function RewardsTab({ token }: { token: string | undefined }) {
  const { locale } = useDashboard();
  const { result, reload } = useLoad(token, fetchRewards);
  const [form, setForm] = useState<RewardForm>(EMPTY_REWARD);
  const save = useSave();
  const set = (name: keyof RewardForm) => (value: string) => setForm((current) => ({ ...current, [name]: value }));
  const kind = form.kind as RewardKind;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!token) return;
    const local: Record<string, string> = {};
    if (!WHOLE.test(form.pointsCost.trim())) local.pointsCost = "Enter a whole number of points.";
    if ((kind === "FIXED_AMOUNT" || kind === "PERCENTAGE") && !NUMBER.test(form.value.trim())) local.value = "Enter a number.";
    if (kind === "PERCENTAGE" && form.maxAmount.trim() && !NUMBER.test(form.maxAmount.trim())) local.maxAmount = "Enter a number, or leave it empty.";
    if (form.perShopperLimit.trim() && !WHOLE.test(form.perShopperLimit.trim())) local.perShopperLimit = "Enter a whole number, or leave it empty.";
    const window = checkWindow(form.startsAt, form.endsAt, local);
    if (Object.keys(local).length) return save.refuse(local);
    const input: RewardInput = {
      name: form.name.trim(),
      description: form.description.trim(),
      kind,
      pointsCost: Number(form.pointsCost.trim()),
      channel: form.channel.trim(),
      value: kind === "FIXED_AMOUNT" || kind === "PERCENTAGE" ? form.value.trim() : null,
      maxAmount: kind === "PERCENTAGE" && form.maxAmount.trim() ? form.maxAmount.trim() : null,
      variantId: kind === "FREE_PRODUCT" ? form.variantId.trim() : null,
      ...window,
      perShopperLimit: form.perShopperLimit.trim() ? Number(form.perShopperLimit.trim()) : null,
    };
    const payload = await save.run(
      { ok: "Reward created", failed: "Reward not created" },
      () => createReward(token, input),
      () => `Created the reward ${input.name}.`,
    );
    if (payload) {
      setForm(EMPTY_REWARD);
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

  return (
    <Box display="flex" flexDirection="column" gap={10} __maxWidth="880px">
      <Section id="rewards" title="Rewards catalog" description="What shoppers can spend points on, per channel. To change a reward, switch it off and create the new one.">
        {result.state === "loading" && <Loading what="rewards" />}
        {result.state === "error" && <Alert title="Rewards could not be loaded" message={result.message} />}
        {result.state === "ready" &&
          (result.data.length ? (
            <table className="loyalty-table" aria-labelledby="rewards-heading" data-testid="rewards">
              <thead>
                <tr>
                  <th scope="col">Reward</th>
                  <th scope="col">Gives</th>
                  <th scope="col">Cost</th>
                  <th scope="col">Channel</th>
                  <th scope="col">When</th>
                  <th scope="col">Status</th>
                  <th scope="col">
                    <span className="loyalty-visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {result.data.map((reward) => (
                  <tr key={reward.id} data-testid={`reward-${reward.name}`}>
                    <td>{reward.name}</td>
                    <td>{rewardValue(reward)}</td>
                    <td>{reward.pointsCost.toLocaleString("en-US")} points</td>
                    <td>{reward.channel}</td>
                    <td>
                      {windowText(reward.startsAt, reward.endsAt, locale)}
                      {reward.perShopperLimit !== null && ` · ${reward.perShopperLimit} per shopper`}
                    </td>
                    <td>{reward.isActive ? "Active" : "Off"}</td>
                    <td>{reward.isActive && <SwitchOff label={`Switch off the reward ${reward.name}`} busy={save.busy} onClick={() => switchOff(reward)} />}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <Text size={2} color="default2">
              No rewards yet: add the first one below.
            </Text>
          ))}
        <Card>
          <Box as="form" aria-labelledby="reward-form-heading" onSubmit={submit} display="flex" flexDirection="column" gap={4} noValidate>
            <Text as="h3" id="reward-form-heading" size={4} fontWeight="bold">
              Add a reward
            </Text>
            {(save.errors[""] || save.errors.id) && <Alert title="Not done" message={save.errors[""] ?? save.errors.id} />}
            <Box display="grid" gridTemplateColumns={{ mobile: 1, desktop: 2 }} gap={4}>
              <TextField id="reward-name" label="Reward name" value={form.name} onChange={set("name")} error={save.errors.name} required />
              <SelectField id="reward-kind" label="Gives" value={form.kind} options={REWARD_KINDS} onChange={set("kind")} error={save.errors.kind} />
              <TextField id="reward-pointsCost" label="Cost (points)" value={form.pointsCost} onChange={set("pointsCost")} error={save.errors.pointsCost} inputMode="numeric" />
              <TextField id="reward-channel" label="Channel (slug)" value={form.channel} onChange={set("channel")} error={save.errors.channel} />
              {kind === "FIXED_AMOUNT" && <TextField id="reward-value" label="Amount off" value={form.value} onChange={set("value")} error={save.errors.value} inputMode="decimal" help="In the channel's currency." />}
              {kind === "PERCENTAGE" && (
                <>
                  <TextField id="reward-value" label="Percent off" value={form.value} onChange={set("value")} error={save.errors.value} inputMode="decimal" />
                  <TextField id="reward-maxAmount" label="At most (amount)" value={form.maxAmount} onChange={set("maxAmount")} error={save.errors.maxAmount} inputMode="decimal" help="Empty: no cap." />
                </>
              )}
              {kind === "FREE_PRODUCT" && (
                <TextField id="reward-variantId" label="Product variant (Saleor id)" value={form.variantId} onChange={set("variantId")} error={save.errors.variantId} help="The variant's id from Saleor, e.g. UHJvZHVjdFZhcmlhbnQ6MjA=." />
              )}
              <TextField id="reward-startsAt" label="Offered from" type="datetime-local" value={form.startsAt} onChange={set("startsAt")} error={save.errors.startsAt} help="Empty: now." />
              <TextField id="reward-endsAt" label="Offered until" type="datetime-local" value={form.endsAt} onChange={set("endsAt")} error={save.errors.endsAt} help="Empty: no end." />
              <TextField id="reward-perShopperLimit" label="Times per shopper" value={form.perShopperLimit} onChange={set("perShopperLimit")} error={save.errors.perShopperLimit} inputMode="numeric" help="Empty: no limit." />
              <TextField id="reward-description" label="Description" value={form.description} onChange={set("description")} error={save.errors.description} help="Shown to shoppers." />
            </Box>
            <Box display="flex" gap={3} alignItems="center">
              <Button type="submit" variant="primary" disabled={save.busy}>
                Create reward
              </Button>
              <Status testId="reward-status">{save.status}</Status>
            </Box>
          </Box>
        </Card>
      </Section>
    </Box>
  );
}

// -- Campaigns -------------------------------------------------------------------------------------------------

type CampaignForm = Record<"name" | "startsAt" | "endsAt" | "multiplier" | "fixedBonus" | "channel" | "productIds" | "categoryIds" | "tiers", string>;

const EMPTY_CAMPAIGN: CampaignForm = {
  name: "",
  startsAt: "",
  endsAt: "",
  multiplier: "2",
  fixedBonus: "0",
  channel: "",
  productIds: "",
  categoryIds: "",
  tiers: "",
};

function targets(campaign: Campaign): string {
  const parts = [
    campaign.channel ? `channel ${campaign.channel}` : "every channel",
    campaign.productIds.length ? `${campaign.productIds.length} ${campaign.productIds.length === 1 ? "product" : "products"}` : "",
    campaign.categoryIds.length ? `${campaign.categoryIds.length} ${campaign.categoryIds.length === 1 ? "category" : "categories"}` : "",
    campaign.tiers.length ? `tiers ${campaign.tiers.join(", ")}` : "",
  ];
  return parts.filter(Boolean).join(" · ");
}

export function CampaignsTab({ token }: { token: string | undefined }) {
  const { locale } = useDashboard();
  const { result, reload } = useLoad(token, fetchCampaigns);
  const [form, setForm] = useState<CampaignForm>(EMPTY_CAMPAIGN);
  const save = useSave();
  const set = (name: keyof CampaignForm) => (value: string) => setForm((current) => ({ ...current, [name]: value }));

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!token) return;
    const local: Record<string, string> = {};
    if (!NUMBER.test(form.multiplier.trim())) local.multiplier = "Enter a number, e.g. 2 (1: no multiplier).";
    if (!WHOLE.test(form.fixedBonus.trim())) local.fixedBonus = "Enter a whole number of points.";
    const window = checkWindow(form.startsAt, form.endsAt, local);
    if (!window.startsAt && !local.startsAt) local.startsAt = "When does it start?";
    if (!window.endsAt && !local.endsAt) local.endsAt = "When does it end?";
    if (Object.keys(local).length) return save.refuse(local);
    const input: CampaignInput = {
      name: form.name.trim(),
      startsAt: window.startsAt ?? "",
      endsAt: window.endsAt ?? "",
      multiplier: form.multiplier.trim(),
      fixedBonus: Number(form.fixedBonus.trim()),
      channel: form.channel.trim() || null,
      productIds: lines(form.productIds, /[,\s]+/),
      categoryIds: lines(form.categoryIds, /[,\s]+/),
      tiers: lines(form.tiers, /,/),
    };
    const payload = await save.run(
      { ok: "Campaign created", failed: "Campaign not created" },
      () => createCampaign(token, input),
      () => `Created the campaign ${input.name}.`,
    );
    if (payload) {
      setForm(EMPTY_CAMPAIGN);
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

  return (
    <Box display="flex" flexDirection="column" gap={10} __maxWidth="880px">
      <Section id="campaigns" title="Bonus campaigns" description="Extra points for a while: a multiplier and/or a fixed bonus, by channel, products, categories and tiers. To change one, stop it and create the new one.">
        {result.state === "loading" && <Loading what="campaigns" />}
        {result.state === "error" && <Alert title="Campaigns could not be loaded" message={result.message} />}
        {result.state === "ready" &&
          (result.data.length ? (
            <table className="loyalty-table" aria-labelledby="campaigns-heading" data-testid="campaigns">
              <thead>
                <tr>
                  <th scope="col">Campaign</th>
                  <th scope="col">Bonus</th>
                  <th scope="col">For</th>
                  <th scope="col">When</th>
                  <th scope="col">Status</th>
                  <th scope="col">
                    <span className="loyalty-visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {result.data.map((campaign) => (
                  <tr key={campaign.id} data-testid={`campaign-${campaign.name}`}>
                    <td>{campaign.name}</td>
                    <td>
                      ×{decimal(campaign.multiplier)}
                      {campaign.fixedBonus ? ` +${campaign.fixedBonus} points` : ""}
                    </td>
                    <td>{targets(campaign)}</td>
                    <td>{windowText(campaign.startsAt, campaign.endsAt, locale)}</td>
                    <td>{campaign.isActive ? "Active" : "Stopped"}</td>
                    <td>{campaign.isActive && <SwitchOff label={`Stop the campaign ${campaign.name}`} busy={save.busy} onClick={() => switchOff(campaign)} />}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <Text size={2} color="default2">
              No campaigns yet.
            </Text>
          ))}
        <Card>
          <Box as="form" aria-labelledby="campaign-form-heading" onSubmit={submit} display="flex" flexDirection="column" gap={4} noValidate>
            <Text as="h3" id="campaign-form-heading" size={4} fontWeight="bold">
              Start a campaign
            </Text>
            {(save.errors[""] || save.errors.id) && <Alert title="Not done" message={save.errors[""] ?? save.errors.id} />}
            <Box display="grid" gridTemplateColumns={{ mobile: 1, desktop: 2 }} gap={4}>
              <TextField id="campaign-name" label="Campaign name" value={form.name} onChange={set("name")} error={save.errors.name} required />
              <TextField id="campaign-channel" label="Channel (slug)" value={form.channel} onChange={set("channel")} error={save.errors.channel} help="Empty: every channel." />
              <TextField id="campaign-startsAt" label="Starts" type="datetime-local" value={form.startsAt} onChange={set("startsAt")} error={save.errors.startsAt} />
              <TextField id="campaign-endsAt" label="Ends" type="datetime-local" value={form.endsAt} onChange={set("endsAt")} error={save.errors.endsAt} />
              <TextField id="campaign-multiplier" label="Points multiplier" value={form.multiplier} onChange={set("multiplier")} error={save.errors.multiplier} inputMode="decimal" help="1: no multiplier (then give a fixed bonus)." />
              <TextField id="campaign-fixedBonus" label="Fixed bonus (points)" value={form.fixedBonus} onChange={set("fixedBonus")} error={save.errors.fixedBonus} inputMode="numeric" help="Added to each order with a targeted line." />
              <TextField id="campaign-productIds" label="Products (Saleor ids)" value={form.productIds} onChange={set("productIds")} error={save.errors.productIds} help="Comma-separated. Empty: every product." />
              <TextField id="campaign-categoryIds" label="Categories (Saleor ids)" value={form.categoryIds} onChange={set("categoryIds")} error={save.errors.categoryIds} help="Comma-separated. Empty: every category." />
              <TextField id="campaign-tiers" label="Tiers" value={form.tiers} onChange={set("tiers")} error={save.errors.tiers} help="Comma-separated tier names. Empty: everyone." />
            </Box>
            <Box display="flex" gap={3} alignItems="center">
              <Button type="submit" variant="primary" disabled={save.busy}>
                Create campaign
              </Button>
              <Status testId="campaign-status">{save.status}</Status>
            </Box>
          </Box>
        </Card>
      </Section>
    </Box>
  );
}
