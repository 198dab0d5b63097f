// The staff GraphQL API the pages read and write, at the app's /dashboard/graphql/, authenticated with the
// dashboard's app token from the AppBridge handshake. Queries and field names live here so they change in one place.

// The bundle is served from <app>/app/assets/, so the API is two levels up whatever prefix the app is mounted under.
export const STAFF_GRAPHQL_URL = new URL(/* @vite-ignore */ "../../dashboard/graphql/", import.meta.url).toString();

export class StaffApiError extends Error {}

export async function staffQuery<T>(token: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  let response: Response;
  try {
    response = await fetch(STAFF_GRAPHQL_URL, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
  } catch {
    throw new StaffApiError("The loyalty app could not be reached.");
  }
  let body: { data?: T | null; errors?: { message: string }[] } | null = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (body?.errors?.length) {
    throw new StaffApiError(body.errors.map((error) => error.message).join("; "));
  }
  if (!response.ok || !body?.data) {
    throw new StaffApiError(`The loyalty app answered HTTP ${response.status}.`);
  }
  return body.data;
}

/** A mutation's `errors { field code message }`: `field` is the input field in camelCase (null: the whole form). */
export type FieldError = { field: string | null; code: string; message: string };

// -- Program settings ------------------------------------------------------------------------------------------

type Choice = { value: string; label: string };

export const EXPIRY_POLICIES: Choice[] = [
  { value: "NONE", label: "Points never expire" },
  { value: "AFTER_EARNING", label: "A fixed time after earning" },
  { value: "AFTER_INACTIVITY", label: "After a period without activity" },
];
export const CLAWBACK_POLICIES: Choice[] = [
  { value: "NEGATIVE_BALANCE", label: "Take them back (the balance may go negative)" },
  { value: "WRITE_OFF", label: "Write them off (the store absorbs them)" },
];
export const GUEST_ORDER_POLICIES: Choice[] = [
  { value: "EARN", label: "Earn points" },
  { value: "IGNORE", label: "Earn nothing" },
];

export type SettingKind =
  | { type: "boolean" }
  | { type: "integer"; optional?: boolean }
  | { type: "decimal" }
  | { type: "text" }
  | { type: "choice"; choices: Choice[] };

export type SettingField = { name: string; label: string; help?: string } & SettingKind;

/** Every field of `programSettings`, grouped as the Program tab shows them. */
export const PROGRAM_SETTINGS_GROUPS: { title: string; fields: SettingField[] }[] = [
  {
    title: "Earning",
    fields: [
      { name: "isActive", label: "Program active", type: "boolean", help: "Off: nothing new is earned; balances stay spendable." },
      { name: "defaultPointsPerUnit", label: "Points per currency unit (default)", type: "decimal", help: "For channels without an earn rule of their own." },
      { name: "returnWindowDays", label: "Return window (days)", type: "integer", help: "Points stay pending this long after payment." },
      { name: "earnOnRedeemedValue", label: "The part paid with points earns too", type: "boolean" },
    ],
  },
  {
    title: "Expiry",
    fields: [
      { name: "expiryPolicy", label: "Points expiry policy", type: "choice", choices: EXPIRY_POLICIES },
      { name: "pointsExpireAfterDays", label: "Points expire after (days)", type: "integer", optional: true, help: "With “a fixed time after earning”." },
      { name: "inactivityExpiryDays", label: "Inactivity before expiry (days)", type: "integer", help: "With “after a period without activity”." },
      { name: "expiryReminderDays", label: "Reminder before expiry (days)", type: "integer" },
      { name: "expiryGraceDays", label: "Grace after expiry (days)", type: "integer" },
    ],
  },
  {
    title: "Refunds and guests",
    fields: [
      { name: "clawbackPolicy", label: "When spent points are refunded", type: "choice", choices: CLAWBACK_POLICIES },
      { name: "returnPointsOnRefund", label: "Give redeemed points back on refund", type: "boolean" },
      { name: "guestOrders", label: "Guest orders", type: "choice", choices: GUEST_ORDER_POLICIES },
      { name: "registeredEmailGuestOrders", label: "Guest orders with a customer's email", type: "choice", choices: GUEST_ORDER_POLICIES },
    ],
  },
  {
    title: "Redemption",
    fields: [
      { name: "redemptionHoldMinutes", label: "Redemption hold (minutes)", type: "integer", help: "Unfinished redemptions are voided after." },
      { name: "redemptionRateLimitPerMinute", label: "Redemptions per shopper per minute", type: "integer" },
    ],
  },
  {
    title: "Bonuses",
    fields: [
      { name: "signupBonusPoints", label: "Sign-up bonus (points)", type: "integer" },
      { name: "firstOrderBonusPoints", label: "First-order bonus (points)", type: "integer" },
      { name: "birthdayBonusPoints", label: "Birthday bonus (points)", type: "integer" },
      { name: "birthdayMetadataKey", label: "Birthday metadata key", type: "text", help: "The customer metadata key that holds the birthday." },
    ],
  },
];

export const PROGRAM_SETTINGS_FIELDS: SettingField[] = PROGRAM_SETTINGS_GROUPS.flatMap((group) => group.fields);

export type SettingValue = string | number | boolean | null;
export type ProgramSettings = Record<string, SettingValue>;

const SETTINGS_SELECTION = PROGRAM_SETTINGS_FIELDS.map((field) => field.name).join(" ");

export const PROGRAM_SETTINGS_QUERY = `query ProgramSettings { programSettings { ${SETTINGS_SELECTION} } }`;

export async function fetchProgramSettings(token: string): Promise<ProgramSettings> {
  const data = await staffQuery<{ programSettings: ProgramSettings }>(token, PROGRAM_SETTINGS_QUERY);
  return data.programSettings;
}

const UPDATE_SETTINGS = `mutation UpdateProgramSettings($input: ProgramSettingsInput!) {
  updateProgramSettings(input: $input) { settings { ${SETTINGS_SELECTION} } errors { field code message } }
}`;

export async function updateProgramSettings(
  token: string,
  input: ProgramSettings,
): Promise<{ settings: ProgramSettings; errors: FieldError[] }> {
  const data = await staffQuery<{ updateProgramSettings: { settings: ProgramSettings; errors: FieldError[] } }>(
    token,
    UPDATE_SETTINGS,
    { input },
  );
  return data.updateProgramSettings;
}

// -- Earn rules ------------------------------------------------------------------------------------------------

export type EarnRule = {
  channel: string;
  currency: string;
  pointsPerUnit: string;
  includesTax: boolean;
  includesShipping: boolean;
  minOrderAmount: string;
  isActive: boolean;
  multipliers: { target: string; saleorId: string; multiplier: string }[];
};

const RULE_SELECTION =
  "channel currency pointsPerUnit includesTax includesShipping minOrderAmount isActive multipliers { target saleorId multiplier }";

export const EARN_RULES_QUERY = `query EarnRules { earnRules { ${RULE_SELECTION} } }`;

export async function fetchEarnRules(token: string): Promise<EarnRule[]> {
  return (await staffQuery<{ earnRules: EarnRule[] }>(token, EARN_RULES_QUERY)).earnRules;
}

export type EarnRuleInput = {
  channel: string;
  currency: string;
  pointsPerUnit: string;
  includesTax: boolean;
  includesShipping: boolean;
  minOrderAmount: string;
};

const SET_EARN_RULE = `mutation SetEarnRule($input: EarnRuleInput!) {
  setEarnRule(input: $input) { rule { ${RULE_SELECTION} } errors { field code message } }
}`;
const DEACTIVATE_EARN_RULE = `mutation DeactivateEarnRule($channel: String!, $currency: String!) {
  deactivateEarnRule(channel: $channel, currency: $currency) { rule { ${RULE_SELECTION} } errors { field code message } }
}`;

type RulePayload = { rule: EarnRule | null; errors: FieldError[] };

export async function setEarnRule(token: string, input: EarnRuleInput): Promise<RulePayload> {
  return (await staffQuery<{ setEarnRule: RulePayload }>(token, SET_EARN_RULE, { input })).setEarnRule;
}

export async function deactivateEarnRule(token: string, channel: string, currency: string): Promise<RulePayload> {
  const data = await staffQuery<{ deactivateEarnRule: RulePayload }>(token, DEACTIVATE_EARN_RULE, { channel, currency });
  return data.deactivateEarnRule;
}

// -- Change log ------------------------------------------------------------------------------------------------

/** One changed value as the server writes it out: labelled, choices by their label, names instead of codes (null:
 * none); date-times stay ISO 8601 for the page to show in the dashboard's locale. */
export type SettingsChangeValue = { field: string; label: string; before: string | null; after: string | null; isDateTime: boolean };

export type SettingsChange = {
  id: string;
  subject: string;
  title: string; // what changed, by name: "Program settings", "Campaign Double week"
  actor: string;
  values: SettingsChangeValue[];
  changedAt: string;
};

export const SETTINGS_CHANGES_QUERY =
  "query SettingsChanges { settingsChanges(first: 50) { id subject title actor values { field label before after isDateTime } changedAt } }";

export async function fetchSettingsChanges(token: string): Promise<SettingsChange[]> {
  return (await staffQuery<{ settingsChanges: SettingsChange[] }>(token, SETTINGS_CHANGES_QUERY)).settingsChanges;
}

// -- Referral review -------------------------------------------------------------------------------------------

export type ReviewedReferral = {
  id: string;
  status: string;
  flags: string[];
  referrerEmail: string | null;
  refereeEmail: string | null;
  orderId: string | null;
  orderNumber: string | null;
  referrerPoints: number;
  refereePoints: number;
  createdAt: string;
  reviewedBy: string | null;
  reviewedAt: string | null;
  reviewNote: string | null;
};

const REFERRAL_SELECTION =
  "id status flags referrerEmail refereeEmail orderId orderNumber referrerPoints refereePoints createdAt reviewedBy reviewedAt reviewNote";

export const REFERRAL_REVIEW_QUERY = `query ReferralReview {
  referralsToReview(first: 50) { ${REFERRAL_SELECTION} }
  referralDecisions(first: 50) { ${REFERRAL_SELECTION} }
}`;

export async function fetchReferralReview(
  token: string,
): Promise<{ referralsToReview: ReviewedReferral[]; referralDecisions: ReviewedReferral[] }> {
  return staffQuery(token, REFERRAL_REVIEW_QUERY);
}

type ReviewPayload = { referral: ReviewedReferral | null; errors: FieldError[] };

export async function reviewReferral(
  token: string,
  decision: "approve" | "reject",
  id: string,
  note: string,
): Promise<ReviewPayload> {
  const field = decision === "approve" ? "approveReferral" : "rejectReferral";
  const query = `mutation Review($id: ID!, $note: String) { ${field}(id: $id, note: $note) {
    referral { ${REFERRAL_SELECTION} } errors { field code message } } }`;
  const data = await staffQuery<Record<string, ReviewPayload>>(token, query, { id, note });
  return data[field];
}

// -- Customer widget -------------------------------------------------------------------------------------------

export type Balance = { available: number; pending: number; held: number; owed: number; net: number };
export type Activity = { id: string; kind: string; points: number; balanceChange: number; orderId: string | null; createdAt: string };

export type CustomerLoyalty = {
  account: {
    email: string | null;
    balance: Balance;
    pendingPoints: { points: number; unlocksAt: string | null; orderId: string | null }[];
    history: { edges: { node: Activity }[] };
  };
  tier: {
    current: { name: string; multiplier: string; pinned: boolean } | null;
    next: { name: string } | null;
    progress: {
      basis: "SPEND" | "POINTS";
      amount: string;
      amountToGo: string | null;
      currency: string | null;
      pointsToGo: number | null;
    } | null;
  };
};

const BALANCE_SELECTION = "available pending held owed net";
const ACTIVITY_SELECTION = "id kind points balanceChange orderId createdAt";

export const CUSTOMER_LOYALTY_QUERY = `query CustomerLoyalty($customerId: ID!) {
  customerLoyalty(customerId: $customerId) {
    account {
      email
      balance { ${BALANCE_SELECTION} }
      pendingPoints { points unlocksAt orderId }
      history(first: 5) { edges { node { ${ACTIVITY_SELECTION} } } }
    }
    tier {
      current { name multiplier pinned }
      next { name }
      progress { basis amount amountToGo currency pointsToGo }
    }
  }
}`;

export async function fetchCustomerLoyalty(token: string, customerId: string): Promise<CustomerLoyalty | null> {
  const data = await staffQuery<{ customerLoyalty: CustomerLoyalty | null }>(token, CUSTOMER_LOYALTY_QUERY, {
    customerId,
  });
  return data.customerLoyalty;
}

const ADJUST_POINTS = `mutation AdjustPoints($customerId: ID!, $points: Int!, $reason: String!, $idempotencyKey: String!) {
  adjustPoints(customerId: $customerId, points: $points, reason: $reason, idempotencyKey: $idempotencyKey) {
    balance { ${BALANCE_SELECTION} }
    errors { field code message }
  }
}`;

export async function adjustPoints(
  token: string,
  customerId: string,
  points: number,
  reason: string,
  idempotencyKey: string,
): Promise<{ balance: Balance | null; errors: FieldError[] }> {
  const data = await staffQuery<{ adjustPoints: { balance: Balance | null; errors: FieldError[] } }>(
    token,
    ADJUST_POINTS,
    { customerId, points, reason, idempotencyKey },
  );
  return data.adjustPoints;
}

// -- Order widget ----------------------------------------------------------------------------------------------

export type OrderLoyalty = {
  orderNumber: string;
  customerEmail: string | null;
  points: number;
  earned: number;
  clawedBack: number;
  redeemed: number;
  spend: string;
  placement: string;
  rule: string | null; // JSON: the rule frozen at the order's first award
  activity: Activity[];
};

export const ORDER_LOYALTY_QUERY = `query OrderLoyalty($orderId: ID!) {
  orderLoyalty(orderId: $orderId) {
    orderNumber customerEmail points earned clawedBack redeemed spend placement rule
    activity { ${ACTIVITY_SELECTION} }
  }
}`;

export async function fetchOrderLoyalty(token: string, orderId: string): Promise<OrderLoyalty | null> {
  return (await staffQuery<{ orderLoyalty: OrderLoyalty | null }>(token, ORDER_LOYALTY_QUERY, { orderId })).orderLoyalty;
}

/** A fresh idempotency key per adjustment (`crypto.randomUUID` needs a secure context: fall back to random bytes). */
export function freshKey(): string {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** One field of an answer; an answer without it (an older app, a proxy's page) is an error, not a crash. */
function pick<T>(data: Record<string, unknown>, name: string): T {
  const value = data[name];
  if (value === undefined) throw new StaffApiError(`The loyalty app's answer has no ${name}: is the app up to date?`);
  return value as T;
}

/** A mutation's answer: what it changed (null when refused) and its field errors. */
type Payload<K extends string, T> = { [key in K]: T | null } & { errors: FieldError[] };

async function mutate<T>(token: string, field: string, query: string, variables: Record<string, unknown>): Promise<T> {
  return pick<T>(await staffQuery<Record<string, unknown>>(token, query, variables), field);
}

// -- Tiers -----------------------------------------------------------------------------------------------------

export type TierThreshold = { unit: string; qualify: string; retain: string | null };
export type PanelTier = {
  name: string;
  rank: number;
  multiplier: string;
  bonusPoints: number;
  perks: string[];
  access: string[];
  isActive: boolean;
  thresholds: TierThreshold[];
  members: number;
};
export type TierSettings = {
  isActive: boolean;
  basis: "SPEND" | "POINTS";
  windowKind: "ROLLING" | "CALENDAR_YEAR";
  windowDays: number;
  graceDays: number;
};
export type TierMovement = { week: string; upgrades: number; downgrades: number };
export type TierMove = { customerId: string | null; email: string; fromTier: string | null; toTier: string | null; isUpgrade: boolean };
export type TierReviewPreview = { at: string; upgrades: number; downgrades: number; moves: TierMove[] };

const TIER_SELECTION = "name rank multiplier bonusPoints perks access isActive thresholds { unit qualify retain } members";
const TIER_SETTINGS_SELECTION = "isActive basis windowKind windowDays graceDays";

export const TIERS_QUERY = `query Tiers {
  tiers { ${TIER_SELECTION} }
  tierSettings { ${TIER_SETTINGS_SELECTION} }
  tierMovements(weeks: 12) { week upgrades downgrades }  # 12: MovementsChart's MOVEMENT_WEEKS
}`;
export const TIER_REVIEW_PREVIEW_QUERY = `query TierReviewPreview {
  tierReviewPreview { at upgrades downgrades moves { customerId email fromTier toTier isUpgrade } }
}`;

export async function fetchTiers(
  token: string,
): Promise<{ tiers: PanelTier[]; tierSettings: TierSettings; tierMovements: TierMovement[] }> {
  const data = await staffQuery<Record<string, unknown>>(token, TIERS_QUERY);
  return { tiers: pick(data, "tiers"), tierSettings: pick(data, "tierSettings"), tierMovements: pick(data, "tierMovements") };
}

export async function fetchTierReviewPreview(token: string): Promise<TierReviewPreview> {
  return pick(await staffQuery(token, TIER_REVIEW_PREVIEW_QUERY), "tierReviewPreview");
}

export type TierInput = {
  name: string;
  rank: number;
  thresholds: { unit: string; qualify: string; retain: string | null }[];
  multiplier: string;
  bonusPoints: number;
  perks: string[];
  access: string[];
  isActive: boolean;
};

const SET_TIER = `mutation SetTier($input: TierInput!) { setTier(input: $input) { tier { ${TIER_SELECTION} } errors { field code message } } }`;

export function setTier(token: string, input: TierInput): Promise<Payload<"tier", PanelTier>> {
  return mutate(token, "setTier", SET_TIER, { input });
}

const UPDATE_TIER_SETTINGS = `mutation UpdateTierSettings($input: TierProgramSettingsInput!) {
  updateTierSettings(input: $input) { settings { ${TIER_SETTINGS_SELECTION} } errors { field code message } }
}`;

export function updateTierSettings(token: string, input: Partial<TierSettings>): Promise<Payload<"settings", TierSettings>> {
  return mutate(token, "updateTierSettings", UPDATE_TIER_SETTINGS, { input });
}

const PIN_TIER = `mutation PinTier($customerId: ID!, $tier: String!, $reason: String!) {
  pinTier(customerId: $customerId, tier: $tier, reason: $reason) { tier pinnedTier errors { field code message } }
}`;
const UNPIN_TIER = `mutation UnpinTier($customerId: ID!) { unpinTier(customerId: $customerId) { tier pinnedTier errors { field code message } } }`;

export type PinPayload = { tier: string | null; pinnedTier: string | null; errors: FieldError[] };

export function pinTier(token: string, customerId: string, tier: string, reason: string): Promise<PinPayload> {
  return mutate(token, "pinTier", PIN_TIER, { customerId, tier, reason });
}

export function unpinTier(token: string, customerId: string): Promise<PinPayload> {
  return mutate(token, "unpinTier", UNPIN_TIER, { customerId });
}

// -- Referral program ------------------------------------------------------------------------------------------

export type ReferralProgram = {
  isActive: boolean;
  storefrontUrl: string;
  refereeRewardPoints: number;
  referrerRewardPoints: number;
  maxRewardedPerPeriod: number | null;
  capPeriodDays: number;
  maxRewardedTotal: number | null;
};
export type ReferralFunnel = { codesShared: number; signUps: number; firstOrders: number; rewarded: number };
export type TopReferrer = { customerId: string | null; email: string; referrals: number; rewarded: number };

const REFERRAL_PROGRAM_SELECTION =
  "isActive storefrontUrl refereeRewardPoints referrerRewardPoints maxRewardedPerPeriod capPeriodDays maxRewardedTotal";

export const REFERRAL_PROGRAM_QUERY = `query ReferralProgram { referralProgram { ${REFERRAL_PROGRAM_SELECTION} } }`;
export const REFERRAL_STATS_QUERY = `query ReferralStats {
  referralFunnel { codesShared signUps firstOrders rewarded }
  topReferrers(first: 10) { customerId email referrals rewarded }
}`;

export async function fetchReferralProgram(token: string): Promise<ReferralProgram> {
  return pick(await staffQuery(token, REFERRAL_PROGRAM_QUERY), "referralProgram");
}

export async function fetchReferralStats(token: string): Promise<{ referralFunnel: ReferralFunnel; topReferrers: TopReferrer[] }> {
  const data = await staffQuery<Record<string, unknown>>(token, REFERRAL_STATS_QUERY);
  return { referralFunnel: pick(data, "referralFunnel"), topReferrers: pick(data, "topReferrers") };
}

const UPDATE_REFERRAL_PROGRAM = `mutation UpdateReferralProgram($input: ReferralProgramInput!) {
  updateReferralProgram(input: $input) { program { ${REFERRAL_PROGRAM_SELECTION} } errors { field code message } }
}`;

export function updateReferralProgram(
  token: string,
  input: Partial<ReferralProgram>,
): Promise<{ program: ReferralProgram; errors: FieldError[] }> {
  return mutate(token, "updateReferralProgram", UPDATE_REFERRAL_PROGRAM, { input });
}

// -- Earning actions and API keys ------------------------------------------------------------------------------

export type EarningAction = {
  code: string;
  name: string;
  points: number;
  maxPerPeriod: number | null;
  periodDays: number;
  isActive: boolean;
};
export type ApiKey = { id: string; name: string; prefix: string; createdAt: string; revokedAt: string | null };

const ACTION_SELECTION = "code name points maxPerPeriod periodDays isActive";
const API_KEY_SELECTION = "id name prefix createdAt revokedAt";

export const EARNING_ACTIONS_QUERY = `query EarningActions { earningActions { ${ACTION_SELECTION} } }`;
export const API_KEYS_QUERY = `query ApiKeys { apiKeys { ${API_KEY_SELECTION} } }`;

export async function fetchEarningActions(token: string): Promise<EarningAction[]> {
  return pick(await staffQuery(token, EARNING_ACTIONS_QUERY), "earningActions");
}

export async function fetchApiKeys(token: string): Promise<ApiKey[]> {
  return pick(await staffQuery(token, API_KEYS_QUERY), "apiKeys");
}

const SET_EARNING_ACTION = `mutation SetEarningAction(
  $code: String!, $name: String!, $points: Int!, $maxPerPeriod: Int, $periodDays: Int, $isActive: Boolean
) {
  setEarningAction(code: $code, name: $name, points: $points, maxPerPeriod: $maxPerPeriod, periodDays: $periodDays, isActive: $isActive) {
    action { ${ACTION_SELECTION} } errors { field code message }
  }
}`;

export function setEarningAction(token: string, action: EarningAction): Promise<Payload<"action", EarningAction>> {
  return mutate(token, "setEarningAction", SET_EARNING_ACTION, action);
}

const CREATE_API_KEY = `mutation CreateApiKey($name: String!) {
  createApiKey(name: $name) { key apiKey { ${API_KEY_SELECTION} } errors { field code message } }
}`;
const REVOKE_API_KEY = `mutation RevokeApiKey($id: ID!) { revokeApiKey(id: $id) { apiKey { ${API_KEY_SELECTION} } errors { field code message } } }`;

export function createApiKey(token: string, name: string): Promise<{ key: string | null; apiKey: ApiKey | null; errors: FieldError[] }> {
  return mutate(token, "createApiKey", CREATE_API_KEY, { name });
}

export function revokeApiKey(token: string, id: string): Promise<Payload<"apiKey", ApiKey>> {
  return mutate(token, "revokeApiKey", REVOKE_API_KEY, { id });
}

// -- Emails ----------------------------------------------------------------------------------------------------

export type EmailSettings = { fromEmail: string; fromName: string; kinds: { kind: string; label: string; enabled: boolean }[] };
export type EmailPreview = { sender: string; subject: string; text: string; html: string };

const EMAIL_SETTINGS_SELECTION = "fromEmail fromName kinds { kind label enabled }";

export const EMAIL_SETTINGS_QUERY = `query EmailSettings { emailSettings { ${EMAIL_SETTINGS_SELECTION} } }`;
export const EMAIL_PREVIEW_QUERY = "query EmailPreview($kind: NotificationKind!) { emailPreview(kind: $kind) { sender subject text html } }";

export async function fetchEmailSettings(token: string): Promise<EmailSettings> {
  return pick(await staffQuery(token, EMAIL_SETTINGS_QUERY), "emailSettings");
}

export async function fetchEmailPreview(token: string, kind: string): Promise<EmailPreview> {
  return pick(await staffQuery(token, EMAIL_PREVIEW_QUERY, { kind }), "emailPreview");
}

const UPDATE_EMAIL_SETTINGS = `mutation UpdateEmailSettings($input: EmailSettingsInput!) {
  updateEmailSettings(input: $input) { settings { ${EMAIL_SETTINGS_SELECTION} } errors { field code message } }
}`;

export function updateEmailSettings(
  token: string,
  input: { disabledKinds: string[]; fromEmail: string; fromName: string },
): Promise<{ settings: EmailSettings; errors: FieldError[] }> {
  return mutate(token, "updateEmailSettings", UPDATE_EMAIL_SETTINGS, { input });
}

// -- Rewards and campaigns -------------------------------------------------------------------------------------

export type RewardKind = "FIXED_AMOUNT" | "PERCENTAGE" | "FREE_SHIPPING" | "FREE_PRODUCT";
export type CatalogReward = {
  id: string;
  name: string;
  description: string;
  kind: RewardKind;
  pointsCost: number;
  channel: string;
  value: string | null;
  maxAmount: string | null;
  variantId: string | null;
  startsAt: string | null;
  endsAt: string | null;
  perShopperLimit: number | null;
  isActive: boolean;
  currency: string | null; // the channel's, when the app knows it (read only)
};
export type RewardInput = Omit<CatalogReward, "id" | "isActive" | "currency">;
/** What may change in a reward (left out: unchanged; null: cleared). Never its kind or channel. */
export type RewardUpdateInput = Partial<Omit<RewardInput, "kind" | "channel">>;
/** A product or category of the store, named as Saleor names it now (null: unknown to the store). */
export type StoreItem = { id: string; name: string | null; detail: string };
/** SCHEDULED: not started; RUNNING; ENDED; STOPPED (switched off). Decides what can still be edited. */
export type CampaignStatus = "SCHEDULED" | "RUNNING" | "ENDED" | "STOPPED";
export type Campaign = {
  id: string;
  name: string;
  startsAt: string;
  endsAt: string;
  multiplier: string;
  fixedBonus: number;
  channel: string | null;
  productIds: string[];
  categoryIds: string[];
  products: StoreItem[];
  categories: StoreItem[];
  tiers: string[];
  isActive: boolean;
  status: CampaignStatus;
};
export type CampaignInput = Omit<Campaign, "id" | "isActive" | "status" | "products" | "categories">;
/** What may change in a campaign (left out: unchanged; null: cleared). */
export type CampaignUpdateInput = Partial<CampaignInput>;

const REWARD_SELECTION = "id name description kind pointsCost channel value maxAmount variantId startsAt endsAt perShopperLimit isActive currency";
const CAMPAIGN_SELECTION =
  "id name startsAt endsAt multiplier fixedBonus channel productIds categoryIds products { id name detail } categories { id name detail } tiers isActive status";

export const CATALOG_REWARDS_QUERY = `query CatalogRewards { catalogRewards { ${REWARD_SELECTION} } }`;
export const CAMPAIGNS_QUERY = `query Campaigns { campaigns { ${CAMPAIGN_SELECTION} } }`;

export async function fetchRewards(token: string): Promise<CatalogReward[]> {
  return pick(await staffQuery(token, CATALOG_REWARDS_QUERY), "catalogRewards");
}

export async function fetchCampaigns(token: string): Promise<Campaign[]> {
  return pick(await staffQuery(token, CAMPAIGNS_QUERY), "campaigns");
}

const CREATE_REWARD = `mutation CreateReward($input: RewardInput!) { createReward(input: $input) { reward { ${REWARD_SELECTION} } errors { field code message } } }`;
const DEACTIVATE_REWARD = `mutation DeactivateReward($id: ID!) { deactivateReward(id: $id) { reward { ${REWARD_SELECTION} } errors { field code message } } }`;
const CREATE_CAMPAIGN = `mutation CreateCampaign($input: CampaignInput!) { createCampaign(input: $input) { campaign { ${CAMPAIGN_SELECTION} } errors { field code message } } }`;
const DEACTIVATE_CAMPAIGN = `mutation DeactivateCampaign($id: ID!) { deactivateCampaign(id: $id) { campaign { ${CAMPAIGN_SELECTION} } errors { field code message } } }`;

export function createReward(token: string, input: RewardInput): Promise<Payload<"reward", CatalogReward>> {
  return mutate(token, "createReward", CREATE_REWARD, { input });
}

export function deactivateReward(token: string, id: string): Promise<Payload<"reward", CatalogReward>> {
  return mutate(token, "deactivateReward", DEACTIVATE_REWARD, { id });
}

export function createCampaign(token: string, input: CampaignInput): Promise<Payload<"campaign", Campaign>> {
  return mutate(token, "createCampaign", CREATE_CAMPAIGN, { input });
}

export function deactivateCampaign(token: string, id: string): Promise<Payload<"campaign", Campaign>> {
  return mutate(token, "deactivateCampaign", DEACTIVATE_CAMPAIGN, { id });
}

const UPDATE_REWARD = `mutation UpdateReward($id: ID!, $input: RewardUpdateInput!) { updateReward(id: $id, input: $input) { reward { ${REWARD_SELECTION} } errors { field code message } } }`;
const UPDATE_CAMPAIGN = `mutation UpdateCampaign($id: ID!, $input: CampaignUpdateInput!) { updateCampaign(id: $id, input: $input) { campaign { ${CAMPAIGN_SELECTION} } errors { field code message } } }`;

export function updateReward(token: string, id: string, input: RewardUpdateInput): Promise<Payload<"reward", CatalogReward>> {
  return mutate(token, "updateReward", UPDATE_REWARD, { id, input });
}

export function updateCampaign(token: string, id: string, input: CampaignUpdateInput): Promise<Payload<"campaign", Campaign>> {
  return mutate(token, "updateCampaign", UPDATE_CAMPAIGN, { id, input });
}

export const SEARCH_PRODUCTS_QUERY = "query SearchProducts($search: String!) { searchProducts(search: $search, first: 20) { id name detail } }";
export const SEARCH_CATEGORIES_QUERY = "query SearchCategories($search: String!) { searchCategories(search: $search, first: 20) { id name detail } }";

/** The store's products matching `search` (the app asks Saleor; empty: the first ones). */
export async function searchProducts(token: string, search: string): Promise<StoreItem[]> {
  return pick(await staffQuery(token, SEARCH_PRODUCTS_QUERY, { search }), "searchProducts");
}

export async function searchCategories(token: string, search: string): Promise<StoreItem[]> {
  return pick(await staffQuery(token, SEARCH_CATEGORIES_QUERY, { search }), "searchCategories");
}

// -- Rebates ---------------------------------------------------------------------------------------------------

export type Money = { amount: string; currency: string };
export type RebatePeriodKind = "MONTHLY" | "QUARTERLY";
export type RebateThresholdMode = "WHOLE" | "MARGINAL";
export type RebateTierRateMode = "OVERRIDE" | "BONUS";
export type RebateLineTarget = "PRODUCT" | "CATEGORY";
export type RebateRecoveryPolicy = "NET" | "WRITE_OFF";
export type RebatePayoutMethod = "STORE_CREDIT" | "STRIPE";
export const REBATE_PAYOUT_METHODS: { value: RebatePayoutMethod; label: string }[] = [
  { value: "STORE_CREDIT", label: "Store credit (a Saleor gift card)" },
  { value: "STRIPE", label: "Stripe" },
];

export type RebateProgram = {
  id: string;
  channel: string;
  currency: string;
  isActive: boolean;
  includeTax: boolean;
  includeShipping: boolean;
  period: RebatePeriodKind;
  /** The calendar periods follow: an IANA zone ("Asia/Tokyo"); a month starts at midnight there. */
  timeZone: string;
  thresholdMode: RebateThresholdMode;
  bands: { threshold: Money; rate: string }[];
  tierRates: { tier: string; rate: string; mode: RebateTierRateMode }[];
  /** `name`: the product's or category's name in the store now (null: unknown, or the store could not be asked). */
  lineRates: { target: RebateLineTarget; saleorId: string; name: string | null; detail: string; rate: string }[];
  frequencyNth: number | null;
  frequencyBonusAmount: string;
  frequencyBonusRate: string;
  minimumPayout: string;
  returnWindowDays: number;
  recoveryPolicy: RebateRecoveryPolicy;
  payoutMethod: RebatePayoutMethod;
  updatedAt: string;
};

/** What `createRebateProgram` / `updateRebateProgram` take: the fields given change; lists replace the whole list. */
export type RebateProgramInput = Partial<{
  isActive: boolean;
  includeTax: boolean;
  includeShipping: boolean;
  period: RebatePeriodKind;
  timeZone: string;
  thresholdMode: RebateThresholdMode;
  bands: { threshold: string; rate: string }[];
  tierRates: { tier: string; rate: string; mode: RebateTierRateMode }[];
  lineRates: { target: RebateLineTarget; saleorId: string; rate: string }[];
  frequencyNth: number | null;
  frequencyBonusAmount: string;
  frequencyBonusRate: string;
  minimumPayout: string;
  returnWindowDays: number;
  recoveryPolicy: RebateRecoveryPolicy;
  payoutMethod: RebatePayoutMethod;
}>;

/** A program's period for the whole store (from the period rows; `isReconciled`: the ledger agrees to the cent). */
export type RebateTotals = {
  period: string;
  channel: string;
  currency: string;
  members: number;
  accrued: Money;
  reversed: Money;
  rebate: Money;
  pending: Money;
  payable: Money;
  paid: Money;
  netted: Money;
  owed: Money;
  writtenOff: Money;
  isReconciled: boolean;
};
export type RebateAuditFigure = { name: string; rows: Money; ledger: Money; difference: Money };
export type RebateAudit = {
  period: string;
  /** When the period's transfers were last read: kept while its records stay as they were, a day at most. */
  checkedAt: string;
  isReconciled: boolean;
  problems: string[];
  ledgerProblems: string[];
  programs: { totals: { channel: string; currency: string }; figures: RebateAuditFigure[]; problems: string[] }[];
};

const MONEY = "{ amount currency }";
const REBATE_PROGRAM_SELECTION = `id channel currency isActive includeTax includeShipping period timeZone thresholdMode
  bands { threshold ${MONEY} rate } tierRates { tier rate mode } lineRates { target saleorId name detail rate }
  frequencyNth frequencyBonusAmount frequencyBonusRate minimumPayout returnWindowDays recoveryPolicy payoutMethod updatedAt`;
const REBATE_TOTALS_SELECTION = `period channel currency members isReconciled
  accrued ${MONEY} reversed ${MONEY} rebate ${MONEY} pending ${MONEY} payable ${MONEY}
  paid ${MONEY} netted ${MONEY} owed ${MONEY} writtenOff ${MONEY}`;

// The programs, the store's tiers (the tier-rate picker) and the periods with rebates (the totals' picker).
export const REBATE_PROGRAMS_QUERY = `query RebatePrograms {
  rebatePrograms { ${REBATE_PROGRAM_SELECTION} }
  tiers { name }
  rebatePeriods(first: 24)
}`;
export const REBATE_PERIOD_QUERY = `query RebatePeriod($period: String!, $refresh: Boolean) {
  rebateTotals(period: $period, refresh: $refresh) { ${REBATE_TOTALS_SELECTION} }
  rebateAudit(period: $period, refresh: $refresh) {
    period checkedAt isReconciled problems ledgerProblems
    programs { totals { channel currency } figures { name rows ${MONEY} ledger ${MONEY} difference ${MONEY} } problems }
  }
}`;

export async function fetchRebatePrograms(
  token: string,
): Promise<{ programs: RebateProgram[]; tiers: string[]; periods: string[] }> {
  const data = await staffQuery<Record<string, unknown>>(token, REBATE_PROGRAMS_QUERY);
  return {
    programs: pick(data, "rebatePrograms"),
    tiers: pick<{ name: string }[]>(data, "tiers").map((tier) => tier.name),
    periods: pick(data, "rebatePeriods"),
  };
}

/** A period's totals and audit; `refresh`: read the ledger's transfers now, not the figures kept from the last time. */
export async function fetchRebatePeriod(token: string, period: string, refresh = false): Promise<{ totals: RebateTotals[]; audit: RebateAudit }> {
  const data = await staffQuery<Record<string, unknown>>(token, REBATE_PERIOD_QUERY, { period, refresh });
  return { totals: pick(data, "rebateTotals"), audit: pick(data, "rebateAudit") };
}

const CREATE_REBATE_PROGRAM = `mutation CreateRebateProgram($channel: String!, $currency: String!, $input: RebateProgramInput!) {
  createRebateProgram(channel: $channel, currency: $currency, input: $input) { program { ${REBATE_PROGRAM_SELECTION} } errors { field code message } }
}`;
const UPDATE_REBATE_PROGRAM = `mutation UpdateRebateProgram($id: ID!, $input: RebateProgramInput!) {
  updateRebateProgram(id: $id, input: $input) { program { ${REBATE_PROGRAM_SELECTION} } errors { field code message } }
}`;

export function createRebateProgram(
  token: string,
  channel: string,
  currency: string,
  input: RebateProgramInput,
): Promise<Payload<"program", RebateProgram>> {
  return mutate(token, "createRebateProgram", CREATE_REBATE_PROGRAM, { channel, currency, input });
}

export function updateRebateProgram(token: string, id: string, input: RebateProgramInput): Promise<Payload<"program", RebateProgram>> {
  return mutate(token, "updateRebateProgram", UPDATE_REBATE_PROGRAM, { id, input });
}

// -- Payments: the Stripe connection and paid plans -------------------------------------------------------------

/** The store's Stripe connection as the app shows it: never a secret, only the secret key's last four characters. */
export type StripeConnection = {
  mode: "TEST" | "LIVE";
  publishableKey: string;
  secretKeyEnding: string;
  webhookUrl: string;
  connectedAt: string;
  updatedAt: string;
};
export type StripeKeysInput = { secretKey: string; webhookSecret: string; publishableKey?: string };

const STRIPE_SELECTION = "mode publishableKey secretKeyEnding webhookUrl connectedAt updatedAt";
export const STRIPE_CONNECTION_QUERY = `query StripeConnection { stripeConnection { ${STRIPE_SELECTION} } }`;
const CONNECT_STRIPE = `mutation ConnectStripe($input: StripeKeysInput!) {
  connectStripe(input: $input) { connection { ${STRIPE_SELECTION} } errors { field code message } }
}`;
const DISCONNECT_STRIPE = "mutation DisconnectStripe { disconnectStripe { connection { mode } errors { field code message } } }";

export async function fetchStripeConnection(token: string): Promise<StripeConnection | null> {
  return pick(await staffQuery<Record<string, unknown>>(token, STRIPE_CONNECTION_QUERY), "stripeConnection");
}

export function connectStripe(token: string, input: StripeKeysInput): Promise<Payload<"connection", StripeConnection>> {
  return mutate(token, "connectStripe", CONNECT_STRIPE, { input });
}

export function disconnectStripe(token: string): Promise<Payload<"connection", StripeConnection>> {
  return mutate(token, "disconnectStripe", DISCONNECT_STRIPE, {});
}

export type PaidPlanInterval = "DAY" | "WEEK" | "MONTH" | "YEAR";
export type PaidPlanBenefitKind = "FREE_SHIPPING" | "FIXED_AMOUNT";
export const PAID_PLAN_INTERVALS: { value: PaidPlanInterval; label: string }[] = [
  { value: "DAY", label: "Day" },
  { value: "WEEK", label: "Week" },
  { value: "MONTH", label: "Month" },
  { value: "YEAR", label: "Year" },
];
export type PaidPlan = {
  id: string;
  name: string;
  tier: string;
  price: Money;
  interval: PaidPlanInterval;
  intervalCount: number;
  stripePriceId: string;
  graceDays: number;
  benefits: { kind: PaidPlanBenefitKind; channelId: string; value: Money | null }[];
  isActive: boolean;
  members: { active: number; pastDue: number; canceled: number; holdingTier: number };
};
/** What `createPaidPlan` takes; `updatePaidPlan` takes any part of it (the fields given change). */
export type PaidPlanInput = {
  name: string;
  tier: string;
  amount: string;
  currency: string;
  interval: PaidPlanInterval;
  intervalCount: number;
  stripePriceId: string;
  graceDays: number;
  benefits: { kind: PaidPlanBenefitKind; channelId: string; value: string | null }[];
  isActive: boolean;
};

const PAID_PLAN_SELECTION = `id name tier price ${MONEY} interval intervalCount stripePriceId graceDays isActive
  benefits { kind channelId value ${MONEY} } members { active pastDue canceled holdingTier }`;
// The plans, the store's tiers (the plan's tier picker) and where Checkout may return.
export const PAID_PLANS_QUERY = `query PaidPlans {
  paidPlans { ${PAID_PLAN_SELECTION} }
  tiers { name isActive isBase }
  membershipSettings { returnOrigins }
}`;
const CREATE_PAID_PLAN = `mutation CreatePaidPlan($input: PaidPlanInput!) {
  createPaidPlan(input: $input) { plan { ${PAID_PLAN_SELECTION} } errors { field code message } }
}`;
const UPDATE_PAID_PLAN = `mutation UpdatePaidPlan($id: ID!, $input: PaidPlanUpdateInput!) {
  updatePaidPlan(id: $id, input: $input) { plan { ${PAID_PLAN_SELECTION} } errors { field code message } }
}`;
const ARCHIVE_PAID_PLAN = `mutation ArchivePaidPlan($id: ID!) {
  archivePaidPlan(id: $id) { plan { ${PAID_PLAN_SELECTION} } errors { field code message } }
}`;
const UPDATE_MEMBERSHIP_SETTINGS = `mutation UpdateMembershipSettings($returnOrigins: [String!]!) {
  updateMembershipSettings(returnOrigins: $returnOrigins) { settings { returnOrigins } errors { field code message } }
}`;

/** A channel of the store, as Saleor has it (the channel pickers). */
export type StoreChannel = { id: string; slug: string; name: string; currency: string; isActive: boolean };
const STORE_CHANNELS_QUERY = `query StoreChannels { storeChannels { id slug name currency isActive } }`;

export async function fetchStoreChannels(token: string): Promise<StoreChannel[]> {
  return pick(await staffQuery<Record<string, unknown>>(token, STORE_CHANNELS_QUERY), "storeChannels");
}

export async function fetchPaidPlans(token: string): Promise<{ plans: PaidPlan[]; tiers: string[]; returnOrigins: string[] }> {
  const data = await staffQuery<Record<string, unknown>>(token, PAID_PLANS_QUERY);
  return {
    plans: pick(data, "paidPlans"),
    // what a plan can sell: an active tier that is not the base (everyone is in it already)
    tiers: pick<{ name: string; isActive: boolean; isBase: boolean }[]>(data, "tiers")
      .filter((tier) => tier.isActive && !tier.isBase)
      .map((tier) => tier.name),
    returnOrigins: pick<{ returnOrigins: string[] }>(data, "membershipSettings").returnOrigins,
  };
}

export function createPaidPlan(token: string, input: PaidPlanInput): Promise<Payload<"plan", PaidPlan>> {
  return mutate(token, "createPaidPlan", CREATE_PAID_PLAN, { input });
}

export function updatePaidPlan(token: string, id: string, input: Partial<PaidPlanInput>): Promise<Payload<"plan", PaidPlan>> {
  return mutate(token, "updatePaidPlan", UPDATE_PAID_PLAN, { id, input });
}

export function archivePaidPlan(token: string, id: string): Promise<Payload<"plan", PaidPlan>> {
  return mutate(token, "archivePaidPlan", ARCHIVE_PAID_PLAN, { id });
}

export function updateMembershipSettings(token: string, returnOrigins: string[]): Promise<Payload<"settings", { returnOrigins: string[] }>> {
  return mutate(token, "updateMembershipSettings", UPDATE_MEMBERSHIP_SETTINGS, { returnOrigins });
}

/** A CSV of a period (`statements` or `audit`), fetched with the dashboard token: a link cannot carry the header,
 * and the app never takes a token in a URL. Answers the file's name and content, or throws with the app's reason. */
export async function downloadRebateCsv(token: string, period: string, kind: "statements" | "audit"): Promise<{ name: string; blob: Blob }> {
  const url = new URL(/* @vite-ignore */ `../../dashboard/rebates/${encodeURIComponent(period)}/${kind}.csv`, import.meta.url);
  let response: Response;
  try {
    response = await fetch(url, { headers: { Authorization: `Bearer ${token}` } });
  } catch {
    throw new StaffApiError("The loyalty app could not be reached.");
  }
  if (!response.ok) {
    let reason = `The loyalty app answered HTTP ${response.status}.`;
    try {
      const body = (await response.json()) as { errors?: { message: string }[] };
      if (body.errors?.length) reason = body.errors.map((error) => error.message).join("; ");
    } catch {
      // not JSON: keep the status
    }
    throw new StaffApiError(reason);
  }
  const disposition = response.headers.get("Content-Disposition") ?? "";
  const name = /filename="?([^";]+)"?/.exec(disposition)?.[1] ?? `rebates-${period}-${kind}.csv`;
  return { name, blob: await response.blob() };
}

// -- The customer widget's rebates -----------------------------------------------------------------------------

export type RebatePayout = {
  period: string;
  amount: Money;
  method: RebatePayoutMethod;
  state: "CREATED" | "PAID" | "FAILED";
  reference: string;
  createdAt: string;
  settledAt: string | null;
};
export type RebateProgress = {
  period: string;
  currency: string;
  spend: Money;
  rate: string;
  nextThreshold: Money | null;
  nextRate: string | null;
  spendToNext: Money | null;
  accrued: Money;
  pending: Money;
  payable: Money;
  paid: Money;
  owed: Money;
  payouts: RebatePayout[];
  storeCredit: { card: string; credited: Money } | null;
};
export type RebateStatement = {
  period: string;
  channel: string;
  currency: string;
  spend: Money;
  rebate: Money;
  paid: Money;
  owed: Money;
  orders: { orderId: string; orderNumber: string; accrued: Money; reversed: Money }[];
};
export type CustomerRebates = { progress: RebateProgress[]; periods: string[]; period: string | null; statements: RebateStatement[] };

// The progress in each active program carries this period's figures and the latest payouts, and the statements
// are the newest period's (the API reads them either way): the widget's one extra request beside customerLoyalty,
// sent at the same time.
export const CUSTOMER_REBATES_QUERY = `query CustomerRebates($customerId: ID!) {
  customerRebates(customerId: $customerId) {
    periods
    period
    statements {
      period channel currency spend ${MONEY} rebate ${MONEY} paid ${MONEY} owed ${MONEY}
      orders { orderId orderNumber accrued ${MONEY} reversed ${MONEY} }
    }
    progress {
      period currency spend ${MONEY} rate nextThreshold ${MONEY} nextRate spendToNext ${MONEY}
      accrued ${MONEY} pending ${MONEY} payable ${MONEY} paid ${MONEY} owed ${MONEY}
      payouts { period amount ${MONEY} method state reference createdAt settledAt }
      storeCredit { card credited ${MONEY} }
    }
  }
}`;

export async function fetchCustomerRebates(token: string, customerId: string): Promise<CustomerRebates | null> {
  return pick(await staffQuery(token, CUSTOMER_REBATES_QUERY, { customerId }), "customerRebates");
}
