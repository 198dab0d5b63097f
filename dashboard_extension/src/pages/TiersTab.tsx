import { Box, Button, Text } from "@saleor/macaw-ui";
import { type FormEvent, lazy, Suspense, useEffect, useState } from "react";

import {
  fetchTierReviewPreview,
  fetchTiers,
  type PanelTier,
  setTier,
  type TierInput,
  type TierMovement,
  type TierReviewPreview,
  type TierSettings,
  updateTierSettings,
} from "../api";
import { useDashboard } from "../bridge";
import { DataTable, Empty, FieldGrid, Form, FormCard, Loaded, useFormState } from "./blocks";
import {
  CheckboxField,
  decimal,
  GroupError,
  lines,
  Loading,
  NUMBER,
  Section,
  SelectField,
  TextAreaField,
  TextField,
  useLoad,
  useSave,
  when,
  WHOLE,
} from "./ui";

const BASES = [
  { value: "SPEND", label: "Money spent" },
  { value: "POINTS", label: "Points earned" },
];
const WINDOWS = [
  { value: "ROLLING", label: "A rolling window of days" },
  { value: "CALENDAR_YEAR", label: "The calendar year" },
];

// -- How tiers qualify -----------------------------------------------------------------------------------------

type SettingsForm = { isActive: boolean; basis: string; windowKind: string; windowDays: string; graceDays: string };

function settingsForm(settings: TierSettings): SettingsForm {
  return { ...settings, windowDays: String(settings.windowDays), graceDays: String(settings.graceDays) };
}

function TierSettingsForm({ token, settings, onSaved }: { token: string | undefined; settings: TierSettings; onSaved: () => void }) {
  const { form, setForm, set } = useFormState<SettingsForm>(() => settingsForm(settings));
  const save = useSave();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!token) return;
    const local: Record<string, string> = {};
    for (const name of ["windowDays", "graceDays"] as const) {
      if (!WHOLE.test(form[name].trim())) local[name] = "Enter a whole number of days.";
    }
    if (Object.keys(local).length) return save.refuse(local);
    const input = {
      isActive: form.isActive,
      basis: form.basis as TierSettings["basis"],
      windowKind: form.windowKind as TierSettings["windowKind"],
      windowDays: Number(form.windowDays.trim()),
      graceDays: Number(form.graceDays.trim()),
    };
    const unchanged = (Object.keys(input) as (keyof typeof input)[]).every((name) => input[name] === settings[name]);
    if (unchanged) {
      save.setErrors({});
      save.setStatus("Nothing changed.");
      return;
    }
    const saved = await save.run(
      { ok: "Tier settings saved", failed: "Tier settings not saved" },
      () => updateTierSettings(token, input),
      () => "Saved. Members move by their next order or the next review.",
    );
    if (saved?.settings) {
      setForm(settingsForm(saved.settings));
      onSaved();
    }
  };

  return (
    <Form
      labelledBy="tier-settings-heading"
      onSubmit={submit}
      save={save}
      submitLabel="Save tier settings"
      statusTestId="tier-settings-status"
    >
      <FieldGrid>
        <SelectField id="tier-settings-basis" label="Tiers are reached by" value={form.basis} options={BASES} onChange={set("basis")} error={save.errors.basis} />
        <SelectField id="tier-settings-windowKind" label="Counted over" value={form.windowKind} options={WINDOWS} onChange={set("windowKind")} error={save.errors.windowKind} />
        <TextField id="tier-settings-windowDays" label="Window (days)" value={form.windowDays} onChange={set("windowDays")} error={save.errors.windowDays} inputMode="numeric" help="With a rolling window." />
        <TextField id="tier-settings-graceDays" label="Grace before a downgrade (days)" value={form.graceDays} onChange={set("graceDays")} error={save.errors.graceDays} inputMode="numeric" help="How long a member may stay below their tier before the review moves them down." />
        <CheckboxField id="tier-settings-isActive" label="Tiers active" checked={form.isActive} onChange={set("isActive")} error={save.errors.isActive} />
      </FieldGrid>
    </Form>
  );
}

// -- The tiers -------------------------------------------------------------------------------------------------

function thresholdText(tier: PanelTier): string {
  if (!tier.thresholds.length) return "—";
  return tier.thresholds
    .map((threshold) => {
      const unit = threshold.unit === "PTS" ? "points" : threshold.unit;
      const keep = threshold.retain !== null && decimal(threshold.retain) !== decimal(threshold.qualify) ? ` (keep at ${decimal(threshold.retain)})` : "";
      return `${decimal(threshold.qualify)} ${unit}${keep}`;
    })
    .join("; ");
}

function TiersTable({ tiers, onEdit }: { tiers: PanelTier[]; onEdit: (tier: PanelTier) => void }) {
  if (!tiers.length) return <Empty testId="tiers-empty">No tiers yet: add the first one below.</Empty>;
  return (
    <DataTable columns={["Rank", "Tier", "Reached at (keep at)", "Multiplier", "Bonus", "Members now", ""]} labelledBy="tiers-heading" testId="tiers">
        {tiers.map((tier) => (
          <tr key={tier.name} data-testid={`tier-${tier.name}`}>
            <td>{tier.rank}</td>
            <td>
              {tier.name}
              {!tier.isActive && " (off)"}
              {tier.perks.length > 0 && (
                <Text as="p" size={1} color="default2">
                  {tier.perks.join(" · ")}
                </Text>
              )}
            </td>
            <td>{thresholdText(tier)}</td>
            <td>×{decimal(tier.multiplier)}</td>
            <td>{tier.bonusPoints ? `${tier.bonusPoints.toLocaleString("en-US")} points` : "—"}</td>
            <td>{tier.members.toLocaleString("en-US")}</td>
            <td>
              <Button type="button" variant="secondary" size="small" aria-label={`Edit the tier ${tier.name}`} onClick={() => onEdit(tier)}>
                Edit
              </Button>
            </td>
          </tr>
        ))}
    </DataTable>
  );
}

type ThresholdRow = { unit: string; qualify: string; retain: string };
type TierForm = {
  name: string;
  rank: string;
  thresholds: ThresholdRow[];
  multiplier: string;
  bonusPoints: string;
  perks: string;
  access: string;
  isActive: boolean;
};

function emptyTier(rank: number, unit: string): TierForm {
  return {
    name: "",
    rank: String(rank),
    thresholds: [{ unit, qualify: "", retain: "" }],
    multiplier: "1",
    bonusPoints: "0",
    perks: "",
    access: "",
    isActive: true,
  };
}

function tierForm(tier: PanelTier): TierForm {
  return {
    name: tier.name,
    rank: String(tier.rank),
    thresholds: tier.thresholds.length
      ? tier.thresholds.map((t) => ({ unit: t.unit, qualify: decimal(t.qualify), retain: t.retain === null ? "" : decimal(t.retain) }))
      : [{ unit: "", qualify: "0", retain: "" }],
    multiplier: decimal(tier.multiplier),
    bonusPoints: String(tier.bonusPoints),
    perks: tier.perks.join("\n"),
    access: tier.access.join(", "),
    isActive: tier.isActive,
  };
}

function sameTier(a: TierForm, b: TierForm): boolean {
  const rows = (form: TierForm) =>
    form.thresholds
      .filter((row) => row.unit.trim() || row.qualify.trim() || row.retain.trim())
      .map((row) => [row.unit.trim().toUpperCase(), decimal(row.qualify.trim()), row.retain.trim() ? decimal(row.retain.trim()) : ""].join(" "))
      .sort()
      .join(";");
  return (
    a.name.trim() === b.name.trim() &&
    Number(a.rank) === Number(b.rank) &&
    rows(a) === rows(b) &&
    decimal(a.multiplier.trim()) === decimal(b.multiplier.trim()) &&
    Number(a.bonusPoints) === Number(b.bonusPoints) &&
    lines(a.perks).join("\n") === lines(b.perks).join("\n") &&
    lines(a.access, /[,\n]/).join(",") === lines(b.access, /[,\n]/).join(",") &&
    a.isActive === b.isActive
  );
}

function TierEditor({ token, form, setForm, existing, onSaved }: {
  token: string | undefined;
  form: TierForm;
  existing: PanelTier | undefined; // the saved tier of the form's name, if there is one
  setForm: (update: (current: TierForm) => TierForm) => void;
  onSaved: () => void;
}) {
  const save = useSave();
  const set = (name: keyof TierForm) => (value: string | boolean) => setForm((current) => ({ ...current, [name]: value }));
  const setRow = (index: number, name: keyof ThresholdRow) => (value: string) =>
    setForm((current) => ({
      ...current,
      thresholds: current.thresholds.map((row, i) => (i === index ? { ...row, [name]: value } : row)),
    }));

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!token) return;
    const local: Record<string, string> = {};
    if (!WHOLE.test(form.rank.trim())) local.rank = "Enter a whole number: 1 is the lowest tier.";
    if (!NUMBER.test(form.multiplier.trim())) local.multiplier = "Enter a number, e.g. 1 or 1.5.";
    if (!WHOLE.test(form.bonusPoints.trim())) local.bonusPoints = "Enter a whole number of points.";
    const rows = form.thresholds.filter((row) => row.unit.trim() || row.qualify.trim() || row.retain.trim());
    if (!rows.length) local.thresholds = "Add at least one threshold: a currency (or PTS) and the amount that reaches the tier.";
    for (const row of rows) {
      if (!row.unit.trim() || !NUMBER.test(row.qualify.trim()) || (row.retain.trim() && !NUMBER.test(row.retain.trim()))) {
        local.thresholds = "Each threshold needs a currency (or PTS) and amounts that are numbers.";
      }
    }
    if (Object.keys(local).length) return save.refuse(local);
    if (existing && sameTier(form, tierForm(existing))) {
      save.setErrors({});
      save.setStatus("Nothing changed.");
      return;
    }
    const input: TierInput = {
      name: form.name.trim(),
      rank: Number(form.rank.trim()),
      thresholds: rows.map((row) => ({
        unit: row.unit.trim().toUpperCase(),
        qualify: row.qualify.trim(),
        retain: row.retain.trim() || null,
      })),
      multiplier: form.multiplier.trim(),
      bonusPoints: Number(form.bonusPoints.trim()),
      perks: lines(form.perks),
      access: lines(form.access, /[,\n]/),
      isActive: form.isActive,
    };
    const saved = await save.run(
      { ok: "Tier saved", failed: "Tier not saved" },
      () => setTier(token, input),
      (payload) => `Saved the tier ${payload.tier?.name ?? input.name}.`,
    );
    if (saved) onSaved();
  };

  return (
    <FormCard
      id="tier-form"
      title="Add or change a tier"
      description="Saving a tier with the name of an existing one replaces it. Members move by their next order or the next review."
      onSubmit={submit}
      save={save}
      submitLabel="Save tier"
      statusTestId="tier-status"
    >
        <FieldGrid>
          <TextField id="tier-name" label="Tier name" value={form.name} onChange={set("name")} error={save.errors.name} required />
          <TextField id="tier-rank" label="Rank" value={form.rank} onChange={set("rank")} error={save.errors.rank} inputMode="numeric" help="1 is the lowest tier." />
        </FieldGrid>
        <Box as="fieldset" borderStyle="none" padding={0} margin={0} display="flex" flexDirection="column" gap={3} aria-describedby={save.errors.thresholds ? "tier-thresholds-error" : undefined}>
          <Box as="legend" marginBottom={2}>
            <Text size={3} fontWeight="bold">
              Thresholds
            </Text>
            <Text as="p" size={2} color="default2">
              Reaching any one of them qualifies. Keep at: staying above this keeps the tier (empty: the same amount).
            </Text>
          </Box>
          {form.thresholds.map((row, index) => (
            <Box key={index} display="grid" __gridTemplateColumns="1fr 1fr 1fr auto" gap={3} alignItems="center" data-testid="threshold-row">
              <TextField id={`tier-threshold-${index}-unit`} label={`Currency ${index + 1} (or PTS)`} value={row.unit} onChange={setRow(index, "unit")} />
              <TextField id={`tier-threshold-${index}-qualify`} label={`Reached at ${index + 1}`} value={row.qualify} onChange={setRow(index, "qualify")} inputMode="decimal" />
              <TextField id={`tier-threshold-${index}-retain`} label={`Keep at ${index + 1}`} value={row.retain} onChange={setRow(index, "retain")} inputMode="decimal" />
              <Button
                type="button"
                variant="tertiary"
                size="small"
                aria-label={`Remove threshold ${index + 1}`}
                disabled={form.thresholds.length === 1}
                onClick={() => setForm((current) => ({ ...current, thresholds: current.thresholds.filter((_, i) => i !== index) }))}
              >
                Remove
              </Button>
            </Box>
          ))}
          <GroupError id="tier-thresholds" error={save.errors.thresholds} />
          <Box>
            <Button
              type="button"
              variant="secondary"
              size="small"
              onClick={() => setForm((current) => ({ ...current, thresholds: [...current.thresholds, { unit: "", qualify: "", retain: "" }] }))}
            >
              Add a threshold
            </Button>
          </Box>
        </Box>
        <FieldGrid>
          <TextField id="tier-multiplier" label="Earn multiplier" value={form.multiplier} onChange={set("multiplier")} error={save.errors.multiplier} inputMode="decimal" help="Members earn this many times the points." />
          <TextField id="tier-bonusPoints" label="Bonus on reaching it (points)" value={form.bonusPoints} onChange={set("bonusPoints")} error={save.errors.bonusPoints} inputMode="numeric" help="Given once per qualification period." />
          <TextAreaField id="tier-perks" label="Perks (one per line)" value={form.perks} onChange={set("perks")} error={save.errors.perks} help="Shown to shoppers." />
          <TextField id="tier-access" label="Access flags" value={form.access} onChange={set("access")} error={save.errors.access} help="Comma-separated, e.g. early_access. Set in the member's Saleor metadata." />
          <CheckboxField id="tier-isActive" label="Tier active" checked={form.isActive} onChange={set("isActive")} error={save.errors.isActive} />
        </FieldGrid>
    </FormCard>
  );
}

// -- Movements -------------------------------------------------------------------------------------------------

// The chart library is a chunk of its own, fetched when the Tiers tab shows the chart.
const MovementsChart = lazy(() => import("./MovementsChart"));

function Movements({ moved }: { moved: TierMovement[] }) {
  if (!moved.length) return <Empty testId="movements-empty">No member has moved between tiers yet.</Empty>;
  return (
    <Suspense fallback={<Loading what="the chart" />}>
      <MovementsChart moved={moved} />
    </Suspense>
  );
}

// -- The next review -------------------------------------------------------------------------------------------

function ReviewPreview({ token, generation }: { token: string | undefined; generation: number }) {
  const { locale } = useDashboard();
  const { result, reload } = useLoad(token, fetchTierReviewPreview);
  useEffect(() => {
    if (generation) reload();
  }, [generation, reload]);
  return (
    <Section
      id="review-preview"
      title="The next review"
      description="Who the tier review would move if it ran now. Nothing changes by looking."
      actions={
        <Button type="button" variant="secondary" size="small" onClick={reload}>
          Refresh
        </Button>
      }
    >
      <Loaded result={result} what="the preview" failed="The preview could not be loaded">
        {(preview) => <PreviewResult preview={preview} locale={locale} />}
      </Loaded>
    </Section>
  );
}

function PreviewResult({ preview, locale }: { preview: TierReviewPreview; locale: string }) {
  return (
    <Box display="flex" flexDirection="column" gap={3} data-testid="review-preview">
      <Text size={3} data-testid="review-counts">
        {preview.upgrades} {preview.upgrades === 1 ? "upgrade" : "upgrades"}, {preview.downgrades}{" "}
        {preview.downgrades === 1 ? "downgrade" : "downgrades"}
        <Text size={2} color="default2">
          {" "}
          · as of {when(preview.at, locale)}
        </Text>
      </Text>
      {preview.moves.length > 0 ? (
        <DataTable columns={["Customer", "From → to", "Move"]} label="Members the next review would move">
            {preview.moves.map((move, index) => (
              <tr key={`${move.customerId ?? move.email}-${index}`} data-testid="review-move">
                <td>{move.email || move.customerId || "—"}</td>
                <td>
                  {move.fromTier ?? "No tier"} → {move.toTier ?? "No tier"}
                </td>
                <td>{move.isUpgrade ? "Upgrade" : "Downgrade"}</td>
              </tr>
            ))}
        </DataTable>
      ) : (
        <Empty>Nobody would move.</Empty>
      )}
      {preview.upgrades + preview.downgrades > preview.moves.length && (
        <Text size={2} color="default2">
          The first {preview.moves.length} are listed.
        </Text>
      )}
    </Box>
  );
}

/** The Tiers tab: how tiers qualify, the tiers with their members, movements over time, and the next review. */
export function TiersTab({ token }: { token: string | undefined }) {
  const { result, reload } = useLoad(token, fetchTiers);
  const [form, setForm] = useState<TierForm>(emptyTier(1, "USD"));
  const [generation, setGeneration] = useState(0);
  const refresh = () => {
    reload();
    setGeneration((value) => value + 1);
  };
  const saved = () => {
    setForm((current) => emptyTier(Number(current.rank) + 1 || 1, current.thresholds[0]?.unit || "USD"));
    refresh();
  };
  useEffect(() => {
    if (result.state === "ready" && !form.name) {
      const unit = result.data.tierSettings.basis === "POINTS" ? "PTS" : result.data.tiers[0]?.thresholds[0]?.unit ?? "USD";
      const rank = Math.max(0, ...result.data.tiers.map((tier) => tier.rank)) + 1;
      setForm(emptyTier(rank, unit));
    }
    // only when the tiers arrive: not while the merchant types
  }, [result]);
  return (
    <Box display="flex" flexDirection="column" gap={10} __maxWidth="880px">
      <Loaded result={result} what="tiers" failed="Tiers could not be loaded">
        {(data) => (
        <>
          <Section id="tier-settings" title="How tiers are reached" description="What counts toward a tier, over which period, and how long a member keeps a tier they fell below.">
            <TierSettingsForm token={token} settings={data.tierSettings} onSaved={refresh} />
          </Section>
          <Section id="tiers" title="Tiers" description="Lowest first, with how many members each holds now (the base tier counts everyone in no higher tier).">
            <TiersTable
              tiers={data.tiers}
              onEdit={(tier) => {
                setForm(tierForm(tier));
                document.getElementById("tier-name")?.focus();
              }}
            />
            <TierEditor
              token={token}
              form={form}
              setForm={setForm}
              existing={data.tiers.find((tier) => tier.name === form.name.trim())}
              onSaved={saved}
            />
          </Section>
          <Section id="movements" title="Upgrades and downgrades" description="Members moving between tiers, per week, over the last 12 weeks.">
            <Movements moved={data.tierMovements} />
          </Section>
        </>
        )}
      </Loaded>
      <ReviewPreview token={token} generation={generation} />
    </Box>
  );
}
