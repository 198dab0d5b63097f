// The Rebates tab: each channel's rebate program (create and edit: bands, tier rates, product and category rates,
// the frequency bonus, the return window and payout), a period's totals with the audit against the ledger, the
// period's CSV downloads, and the change log's entries for rebates. One form creates and edits (Edit copies a program
// into it; only the fields changed are sent).
import { Box, Button, Text } from "@saleor/macaw-ui";
import { type FormEvent, type ReactNode, useRef, useState } from "react";

import {
  createRebateProgram,
  downloadRebateCsv,
  fetchRebatePeriod,
  fetchRebatePrograms,
  fetchSettingsChanges,
  type Money,
  REBATE_PAYOUT_METHODS,
  type RebateAudit,
  type RebateLineTarget,
  type RebateProgram,
  type RebateProgramInput,
  type RebateTotals,
  searchCategories,
  searchProducts,
  updateRebateProgram,
} from "../api";
import { useDashboard } from "../bridge";
import { DataTable, Empty, FieldGrid, Loaded } from "./blocks";
import { changedFields, useEditor } from "./CatalogTabs";
import { ChangeLog } from "./ProgramTab";
import {
  Card,
  CheckboxField,
  type Column,
  decimal,
  FormCard,
  GroupError,
  type Load,
  money,
  notify,
  NUMBER,
  percent,
  periodLabel,
  type PickedItem,
  ReadOnlyField,
  RecordsTable,
  RowButton,
  Section,
  SelectField,
  Status,
  StorePicker,
  TextField,
  useLoad,
  when as dateTime,
  WHOLE,
} from "./ui";

// The labels are the change log's (rebates/configuration.py's EDITABLE), so the form and the log say the same.
const PERIODS = [
  { value: "MONTHLY", label: "Monthly (calendar months)" },
  { value: "QUARTERLY", label: "Quarterly (calendar quarters)" },
];

/** The IANA time zones the browser knows, UTC first; the program's own kept even if this browser lacks it. */
function timeZoneOptions(current: string): { value: string; label: string }[] {
  const intl = Intl as typeof Intl & { supportedValuesOf?: (key: "timeZone") => string[] };
  const known: string[] = intl.supportedValuesOf ? intl.supportedValuesOf("timeZone") : [];
  const zones = ["UTC", ...known.filter((zone) => zone !== "UTC")];
  if (current && !zones.includes(current)) zones.splice(1, 0, current);
  return zones.map((zone) => ({ value: zone, label: zone.replace(/_/g, " ") }));
}
const THRESHOLD_MODES = [
  { value: "WHOLE", label: "All of the period's spend" },
  { value: "MARGINAL", label: "Only the spend above its threshold" },
];
const TIER_MODES = [
  { value: "BONUS", label: "Added to every rate" },
  { value: "OVERRIDE", label: "Instead of the band rate" },
];
const RECOVERY_POLICIES = [
  { value: "NET", label: "Owed by the shopper: deducted from their next payout" },
  { value: "WRITE_OFF", label: "Written off: the store absorbs it" },
];

const label = (choices: { value: string; label: string }[], value: string) => choices.find((c) => c.value === value)?.label ?? value;

// -- The form --------------------------------------------------------------------------------------------------

type BandRow = { threshold: string; rate: string };
type TierRow = { tier: string; rate: string; mode: string };
type LineRow = { target: RebateLineTarget; item: PickedItem; rate: string };
type ProgramForm = {
  channel: string;
  currency: string;
  isActive: boolean;
  includeTax: boolean;
  includeShipping: boolean;
  period: string;
  timeZone: string;
  thresholdMode: string;
  bands: BandRow[];
  tierRates: TierRow[];
  lineRates: LineRow[];
  frequencyNth: string;
  frequencyBonusAmount: string;
  frequencyBonusRate: string;
  minimumPayout: string;
  returnWindowDays: string;
  recoveryPolicy: string;
  payoutMethod: string;
};

const EMPTY_PROGRAM: ProgramForm = {
  channel: "",
  currency: "",
  isActive: true,
  includeTax: false,
  includeShipping: false,
  period: "MONTHLY",
  timeZone: "UTC",
  thresholdMode: "WHOLE",
  bands: [{ threshold: "", rate: "" }],
  tierRates: [],
  lineRates: [],
  frequencyNth: "",
  frequencyBonusAmount: "0",
  frequencyBonusRate: "0",
  minimumPayout: "0",
  returnWindowDays: "14",
  recoveryPolicy: "NET",
  payoutMethod: "STORE_CREDIT",
};

const EDITABLE: (keyof RebateProgramInput)[] = [
  "isActive",
  "includeTax",
  "includeShipping",
  "period",
  "timeZone",
  "thresholdMode",
  "bands",
  "tierRates",
  "lineRates",
  "frequencyNth",
  "frequencyBonusAmount",
  "frequencyBonusRate",
  "minimumPayout",
  "returnWindowDays",
  "recoveryPolicy",
  "payoutMethod",
];

/** A product or category of a saved rate: as this page picked it, else as the app read it from the store (its name,
 * null when the store no longer has it or could not be asked: the row then shows its kind and Saleor id; and where it
 * sits, a product's category or a category's parent). */
function lineItem(entry: RebateProgram["lineRates"][number], names: Record<string, PickedItem>): PickedItem {
  return names[entry.saleorId] ?? { id: entry.saleorId, name: entry.name, detail: entry.detail };
}

function programForm(program: RebateProgram, names: Record<string, PickedItem> = {}): ProgramForm {
  return {
    channel: program.channel,
    currency: program.currency,
    isActive: program.isActive,
    includeTax: program.includeTax,
    includeShipping: program.includeShipping,
    period: program.period,
    timeZone: program.timeZone,
    thresholdMode: program.thresholdMode,
    bands: program.bands.length
      ? program.bands.map((band) => ({ threshold: decimal(band.threshold.amount), rate: decimal(band.rate) }))
      : [{ threshold: "", rate: "" }],
    tierRates: program.tierRates.map((entry) => ({ tier: entry.tier, rate: decimal(entry.rate), mode: entry.mode })),
    lineRates: program.lineRates.map((entry) => ({ target: entry.target, item: lineItem(entry, names), rate: decimal(entry.rate) })),
    frequencyNth: program.frequencyNth === null ? "" : String(program.frequencyNth),
    frequencyBonusAmount: decimal(program.frequencyBonusAmount),
    frequencyBonusRate: decimal(program.frequencyBonusRate),
    minimumPayout: decimal(program.minimumPayout),
    returnWindowDays: String(program.returnWindowDays),
    recoveryPolicy: program.recoveryPolicy,
    payoutMethod: program.payoutMethod,
  };
}

/** The form as the API's input, or the fields it refuses before asking (in `local`); ranges are the server's. */
function programInput(form: ProgramForm, local: Record<string, string>): RebateProgramInput {
  const bands = form.bands.filter((row) => row.threshold.trim() || row.rate.trim());
  if (bands.some((row) => !NUMBER.test(row.threshold.trim()) || !NUMBER.test(row.rate.trim()))) {
    local.bands = "Each band needs a spend it starts from and a rate (%), both numbers.";
  }
  if (form.tierRates.some((row) => !row.tier || !NUMBER.test(row.rate.trim()))) {
    local.tierRates = "Each tier rate needs a tier and a rate (%) that is a number.";
  }
  if (form.lineRates.some((row) => !NUMBER.test(row.rate.trim()))) {
    local.lineRates = "Give each product and category a rate (%) that is a number.";
  }
  if (form.frequencyNth.trim() && !WHOLE.test(form.frequencyNth.trim())) local.frequencyNth = "Enter a whole number, or leave it empty for no bonus.";
  for (const name of ["frequencyBonusAmount", "frequencyBonusRate", "minimumPayout"] as const) {
    if (!NUMBER.test(form[name].trim())) local[name] = "Enter a number (0 for none).";
  }
  if (!WHOLE.test(form.returnWindowDays.trim())) local.returnWindowDays = "Enter a whole number of days.";
  return {
    isActive: form.isActive,
    includeTax: form.includeTax,
    includeShipping: form.includeShipping,
    period: form.period as RebateProgramInput["period"],
    timeZone: form.timeZone,
    thresholdMode: form.thresholdMode as RebateProgramInput["thresholdMode"],
    bands: bands.map((row) => ({ threshold: row.threshold.trim(), rate: row.rate.trim() })),
    tierRates: form.tierRates.map((row) => ({ tier: row.tier, rate: row.rate.trim(), mode: row.mode as "BONUS" | "OVERRIDE" })),
    lineRates: form.lineRates.map((row) => ({ target: row.target, saleorId: row.item.id, rate: row.rate.trim() })),
    frequencyNth: form.frequencyNth.trim() ? Number(form.frequencyNth.trim()) : null,
    frequencyBonusAmount: form.frequencyBonusAmount.trim(),
    frequencyBonusRate: form.frequencyBonusRate.trim(),
    minimumPayout: form.minimumPayout.trim(),
    returnWindowDays: Number(form.returnWindowDays.trim()),
    recoveryPolicy: form.recoveryPolicy as RebateProgramInput["recoveryPolicy"],
    payoutMethod: form.payoutMethod as RebateProgramInput["payoutMethod"],
  };
}

/** A list field of rows (bands, tier rates): a fieldset with its legend, its rows, one error and an Add button. */
function RowsField({ id, legend, help, error, addLabel, onAdd, canAdd = true, children }: {
  id: string;
  legend: string;
  help: string;
  error?: string;
  addLabel?: string;
  onAdd?: () => void;
  canAdd?: boolean;
  children: ReactNode;
}) {
  return (
    <Box as="fieldset" borderStyle="none" padding={0} margin={0} display="flex" flexDirection="column" gap={3} aria-describedby={error ? `${id}-error` : undefined} data-testid={id}>
      <Box as="legend" marginBottom={2}>
        <Text size={3} fontWeight="bold">
          {legend}
        </Text>
        <Text as="p" size={2} color="default2">
          {help}
        </Text>
      </Box>
      {children}
      <GroupError id={id} error={error} />
      {onAdd && addLabel && (
        <Box>
          <Button type="button" variant="secondary" size="small" disabled={!canAdd} onClick={onAdd}>
            {addLabel}
          </Button>
        </Box>
      )}
    </Box>
  );
}

function RemoveButton({ label: text, onClick }: { label: string; onClick: () => void }) {
  return (
    <Button type="button" variant="tertiary" size="small" aria-label={text} onClick={onClick}>
      Remove
    </Button>
  );
}

function ProgramEditor({ token, tiers, editor, names, remember, onSaved }: {
  token: string | undefined;
  tiers: string[];
  editor: ReturnType<typeof useEditor<RebateProgram, ProgramForm>>;
  names: Record<string, PickedItem>;
  remember: (items: PickedItem[]) => void;
  onSaved: () => void;
}) {
  const { editing, form, set, save, reset, session } = editor;
  const setRow = <K extends "bands" | "tierRates" | "lineRates">(list: K, index: number, field: string) => (value: string) =>
    set(list)(form[list].map((row, i) => (i === index ? { ...row, [field]: value } : row)) as never);
  const removeRow = (list: "bands" | "tierRates" | "lineRates", index: number) => set(list)(form[list].filter((_, i) => i !== index) as never);

  const picked = (target: RebateLineTarget) => form.lineRates.filter((row) => row.target === target).map((row) => row.item);
  const pick = (target: RebateLineTarget) => (items: PickedItem[]) => {
    remember(items);
    const kept = form.lineRates.filter((row) => row.target !== target || items.some((item) => item.id === row.item.id));
    const added = items
      .filter((item) => !kept.some((row) => row.target === target && row.item.id === item.id))
      .map((item) => ({ target, item, rate: "" }));
    set("lineRates")([...kept, ...added]);
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!token) return;
    const local: Record<string, string> = {};
    const input = programInput(form, local);
    if (!editing) {
      if (!form.channel.trim()) local.channel = "Enter the channel's slug, e.g. default-channel.";
      if (!/^[A-Za-z]{3}$/.test(form.currency.trim())) local.currency = "Enter a three-letter currency code, e.g. USD.";
    }
    if (Object.keys(local).length) return save.refuse(local);
    if (editing) {
      const changes = changedFields(input, programInput(programForm(editing, names), {}), EDITABLE);
      if (!Object.keys(changes).length) return save.setStatus("Nothing to save: no field changed.");
      const payload = await save.run(
        { ok: "Rebate program saved", failed: "Rebate program not saved" },
        () => updateRebateProgram(token, editing.id, changes),
        () => `Saved the rebates of ${editing.channel} (${editing.currency}). Periods and orders keep the terms they accrued under.`,
      );
      if (payload) {
        reset();
        onSaved();
      }
      return;
    }
    const channel = form.channel.trim();
    const currency = form.currency.trim().toUpperCase();
    const payload = await save.run(
      { ok: "Rebate program created", failed: "Rebate program not created" },
      () => createRebateProgram(token, channel, currency, input),
      () => `Started rebates in ${channel} (${currency}).`,
    );
    if (payload) {
      reset();
      onSaved();
    }
  };

  const errors = save.errors;
  const currency = (editing?.currency ?? form.currency.trim().toUpperCase()) || "the currency";
  return (
    <FormCard
      id="rebate-form"
      heading={editing ? `Edit the rebates of ${editing.channel} (${editing.currency})` : "Start rebates in a channel"}
      note={editing ? "Changes apply from now on: a period keeps the bands, mode and bonus it started with, an order its rates and tier." : undefined}
      onSubmit={submit}
      formError={errors[""] ?? errors.id}
      submitLabel={editing ? "Save rebate program" : "Create rebate program"}
      busy={save.busy}
      status={save.status}
      statusTestId="rebate-status"
      onCancel={editing ? reset : undefined}
      cancelLabel="Cancel editing"
    >
      {editing ? (
        <>
          <ReadOnlyField id="rebate-channel" label="Channel" value={editing.channel} help="A program is one channel's rebates in one currency." />
          <ReadOnlyField id="rebate-currency" label="Currency" value={editing.currency} />
        </>
      ) : (
        <>
          <TextField id="rebate-channel" label="Channel (slug)" value={form.channel} onChange={set("channel")} error={errors.channel} required />
          <TextField id="rebate-currency" label="Currency" value={form.currency} onChange={set("currency")} error={errors.currency} help="ISO 4217, e.g. USD: one program per channel and currency." required />
        </>
      )}
      <CheckboxField id="rebate-isActive" label="Rebates active" checked={form.isActive} onChange={set("isActive")} error={errors.isActive} help="Off: new orders do not join; orders already in it still settle." />
      <SelectField id="rebate-payoutMethod" label="Paid as" value={form.payoutMethod} options={REBATE_PAYOUT_METHODS} onChange={set("payoutMethod")} error={errors.payoutMethod} />
      <CheckboxField id="rebate-includeTax" label="Tax counts towards spend" checked={form.includeTax} onChange={set("includeTax")} error={errors.includeTax} />
      <CheckboxField id="rebate-includeShipping" label="Shipping counts towards spend" checked={form.includeShipping} onChange={set("includeShipping")} error={errors.includeShipping} help="Shipping then earns the band rate too." />
      <SelectField id="rebate-period" label="Period" value={form.period} options={PERIODS} onChange={set("period")} error={errors.period} help="An order belongs to the period it was placed in." />
      <SelectField id="rebate-timeZone" label="Periods' time zone" value={form.timeZone} options={timeZoneOptions(form.timeZone)} onChange={set("timeZone")} error={errors.timeZone} help="A month starts at midnight in this zone. A change shapes the periods opened after it; an open period keeps its dates." />
      <SelectField id="rebate-thresholdMode" label="A rate reached applies to" value={form.thresholdMode} options={THRESHOLD_MODES} onChange={set("thresholdMode")} error={errors.thresholdMode} help="All: 3% from 1,000 pays 3% of the whole 1,200. Above: 3% of the 200 above 1,000 only." />
      <Box __gridColumn="1 / -1" display="flex" flexDirection="column" gap={6}>
        <RowsField
          id="rebate-bands"
          legend="Rates by spend in the period"
          help={`The rate from each amount of the period's spend, in ${currency}, by rising amount. Below the first, nothing: add a band from 0 for a base rate.`}
          error={errors.bands}
          addLabel="Add a band"
          onAdd={() => set("bands")([...form.bands, { threshold: "", rate: "" }])}
        >
          {form.bands.map((row, index) => (
            <Box key={index} display="grid" __gridTemplateColumns="1fr 1fr auto" gap={3} alignItems="center" data-testid="band-row">
              <TextField id={`rebate-band-${index}-threshold`} label={`Band ${index + 1}: from (spend)`} value={row.threshold} onChange={setRow("bands", index, "threshold")} inputMode="decimal" />
              <TextField id={`rebate-band-${index}-rate`} label={`Band ${index + 1}: rate (%)`} value={row.rate} onChange={setRow("bands", index, "rate")} inputMode="decimal" />
              <RemoveButton label={`Remove band ${index + 1}`} onClick={() => removeRow("bands", index)} />
            </Box>
          ))}
        </RowsField>
        <RowsField
          id="rebate-tierRates"
          legend="Tier rates"
          help={tiers.length ? "A tier's members earn this rate: added to every rate, or instead of the band rate." : "No tiers yet: add them on the Tiers tab first."}
          error={errors.tierRates}
          addLabel="Add a tier rate"
          canAdd={tiers.length > 0}
          onAdd={() => set("tierRates")([...form.tierRates, { tier: tiers.find((name) => !form.tierRates.some((row) => row.tier === name)) ?? tiers[0], rate: "", mode: "BONUS" }])}
        >
          {form.tierRates.map((row, index) => (
            <Box key={index} display="grid" __gridTemplateColumns="1fr 1fr 1fr auto" gap={3} alignItems="center" data-testid="tier-rate-row">
              <SelectField
                id={`rebate-tier-${index}-tier`}
                label={`Tier ${index + 1}`}
                value={row.tier}
                options={(tiers.includes(row.tier) ? tiers : [row.tier, ...tiers]).map((name) => ({ value: name, label: name }))}
                onChange={setRow("tierRates", index, "tier")}
              />
              <TextField id={`rebate-tier-${index}-rate`} label={`Tier ${index + 1}: rate (%)`} value={row.rate} onChange={setRow("tierRates", index, "rate")} inputMode="decimal" />
              <SelectField id={`rebate-tier-${index}-mode`} label={`Tier ${index + 1}: the rate is`} value={row.mode} options={TIER_MODES} onChange={setRow("tierRates", index, "mode")} />
              <RemoveButton label={`Remove the rate of ${row.tier}`} onClick={() => removeRow("tierRates", index)} />
            </Box>
          ))}
        </RowsField>
        <RowsField
          id="rebate-lineRates"
          legend="Product and category rates"
          help="Lines of a product (else of a category) earn this rate instead of the band rate; their spend still counts towards the bands."
          error={errors.lineRates}
        >
          {token && (
            <FieldGrid>
              <StorePicker key={`products-${session}`} id="rebate-products" label="Add products" noun="product" picked={picked("PRODUCT")} onChange={pick("PRODUCT")} search={(text) => searchProducts(token, text)} showPicked={false} help="Type to search your store." />
              <StorePicker key={`categories-${session}`} id="rebate-categories" label="Add categories" noun="category" picked={picked("CATEGORY")} onChange={pick("CATEGORY")} search={(text) => searchCategories(token, text)} showPicked={false} help="Type to search your store." />
            </FieldGrid>
          )}
          {form.lineRates.map((row, index) => {
            const kind = row.target === "PRODUCT" ? "product" : "category";
            const name = row.item.name ?? `${kind} ${row.item.id}`;
            return (
              <Box key={`${row.target}-${row.item.id}`} display="grid" __gridTemplateColumns="2fr 1fr auto" gap={3} alignItems="center" data-testid="line-rate-row">
                <Box display="flex" flexDirection="column">
                  <Text size={3}>{name}</Text>
                  <Text size={1} color="default2">
                    {kind === "product" ? "Product" : "Category"}
                    {row.item.detail ? ` · ${row.item.detail}` : ""}
                  </Text>
                </Box>
                <TextField id={`rebate-line-${index}-rate`} label={`Rate for ${name} (%)`} value={row.rate} onChange={setRow("lineRates", index, "rate")} inputMode="decimal" />
                <RemoveButton label={`Remove the rate of ${name}`} onClick={() => removeRow("lineRates", index)} />
              </Box>
            );
          })}
        </RowsField>
      </Box>
      <TextField id="rebate-frequencyNth" label="Bonus on every Nth order" value={form.frequencyNth} onChange={set("frequencyNth")} error={errors.frequencyNth} inputMode="numeric" help="The Nth, 2Nth, … paid order of a period earns the bonus. Empty: no bonus." />
      <TextField id="rebate-frequencyBonusAmount" label="Bonus per Nth order (amount)" value={form.frequencyBonusAmount} onChange={set("frequencyBonusAmount")} error={errors.frequencyBonusAmount} inputMode="decimal" help={`In ${currency}.`} />
      <TextField id="rebate-frequencyBonusRate" label="Bonus per Nth order (rate, %)" value={form.frequencyBonusRate} onChange={set("frequencyBonusRate")} error={errors.frequencyBonusRate} inputMode="decimal" help="An extra rate on that order's own spend." />
      <TextField id="rebate-returnWindowDays" label="Return window (days)" value={form.returnWindowDays} onChange={set("returnWindowDays")} error={errors.returnWindowDays} inputMode="numeric" help="Rebates stay pending this long after the period's latest accrual, then become payable." />
      <TextField id="rebate-minimumPayout" label="Pay out before the period ends from" value={form.minimumPayout} onChange={set("minimumPayout")} error={errors.minimumPayout} inputMode="decimal" help={`Paid at the period's end, or as soon as the payable reaches this (in ${currency}). 0: at the period's end only.`} />
      <SelectField id="rebate-recoveryPolicy" label="Money reversed after payout" value={form.recoveryPolicy} options={RECOVERY_POLICIES} onChange={set("recoveryPolicy")} error={errors.recoveryPolicy} help="A late refund of an order whose rebate was already paid." />
    </FormCard>
  );
}

// -- The programs ----------------------------------------------------------------------------------------------

function ratesText(program: RebateProgram, locale: string): string {
  if (!program.bands.length) return "No bands";
  const bands = program.bands.map((band) => `${percent(band.rate)} from ${money(band.threshold.amount, program.currency, locale)}`).join("; ");
  return `${bands} (${program.thresholdMode === "WHOLE" ? "of all the spend" : "above each threshold"})`;
}

function extrasText(program: RebateProgram, locale: string): string {
  const parts = [
    ...program.tierRates.map((entry) => `${entry.tier} ${entry.mode === "BONUS" ? "+" : ""}${percent(entry.rate)}${entry.mode === "OVERRIDE" ? " instead" : ""}`),
    ...program.lineRates.map((entry) => `${entry.name ?? `${entry.target === "PRODUCT" ? "product" : "category"} ${entry.saleorId}`} ${percent(entry.rate)}`),
    program.frequencyNth !== null
      ? `every ${ordinal(program.frequencyNth)} order: ${[
          Number(program.frequencyBonusAmount) ? `+${money(program.frequencyBonusAmount, program.currency, locale)}` : "",
          Number(program.frequencyBonusRate) ? `+${percent(program.frequencyBonusRate)}` : "",
        ]
          .filter(Boolean)
          .join(", ")}`
      : "",
  ];
  return parts.filter(Boolean).join(" · ");
}

/** "1st", "2nd", "3rd", "5th", "11th", "22nd". */
function ordinal(n: number): string {
  const teen = n % 100 >= 11 && n % 100 <= 13;
  const suffix = teen ? "th" : ({ 1: "st", 2: "nd", 3: "rd" } as Record<number, string>)[n % 10] ?? "th";
  return `${n}${suffix}`;
}

function payoutText(program: RebateProgram, locale: string): string {
  const method = label(REBATE_PAYOUT_METHODS, program.payoutMethod).replace(/ \(.*\)$/, "");
  const when = Number(program.minimumPayout) ? `from ${money(program.minimumPayout, program.currency, locale)} or at the period's end` : "at the period's end";
  return `${method}, ${when}, after a ${program.returnWindowDays}-day return window`;
}

function Programs({ token, result, onSaved }: {
  token: string | undefined;
  result: Load<{ programs: RebateProgram[]; tiers: string[]; periods: string[] }>;
  onSaved: () => void;
}) {
  const { locale } = useDashboard();
  const [names, setNames] = useState<Record<string, PickedItem>>({});
  const remember = (items: PickedItem[]) => setNames((known) => ({ ...known, ...Object.fromEntries(items.map((item) => [item.id, item])) }));
  const editor = useEditor<RebateProgram, ProgramForm>(EMPTY_PROGRAM, (program) => programForm(program, names), "rebate-form");
  const columns: Column<RebateProgram>[] = [
    { header: "Channel", cell: (program) => `${program.channel} (${program.currency})` },
    {
      header: "Rates",
      cell: (program) => (
        <>
          {ratesText(program, locale)}
          {extrasText(program, locale) && (
            <Text as="p" size={1} color="default2">
              {extrasText(program, locale)}
            </Text>
          )}
        </>
      ),
    },
    { header: "Period", cell: (program) => `${program.period === "MONTHLY" ? "Monthly" : "Quarterly"}, ${program.timeZone.replace(/_/g, " ")}` },
    { header: "Paid", cell: (program) => payoutText(program, locale) },
    { header: "Status", cell: (program) => (program.isActive ? "Active" : "Off") },
  ];
  return (
    <Section id="rebate-programs" title="Rebate programs" description="Money back on what shoppers paid, per channel and currency: a rate by the period's spend, with tier, product and category rates and a bonus on every Nth order. Changes apply from now on.">
      <Loaded result={result} what="rebate programs" failed="Rebate programs could not be loaded">
        {(data) => (
          <>
            {data.programs.length ? (
              <RecordsTable
                labelledBy="rebate-programs-heading"
                testId="rebate-programs"
                columns={columns}
                rows={data.programs}
                rowKey={(program) => program.id}
                rowTestId={(program) => `rebate-program-${program.channel}-${program.currency}`}
                actions={(program) => (
                  <RowButton label={`Edit the rebates of ${program.channel} (${program.currency})`} busy={editor.save.busy} onClick={() => editor.edit(program)}>
                    Edit
                  </RowButton>
                )}
              />
            ) : (
              <Empty testId="rebate-programs-empty">No rebate programs yet: start one below.</Empty>
            )}
            <ProgramEditor token={token} tiers={data.tiers} editor={editor} names={names} remember={remember} onSaved={onSaved} />
          </>
        )}
      </Loaded>
    </Section>
  );
}

// -- Totals by period and the audit ----------------------------------------------------------------------------

const FIGURES: { key: keyof RebateTotals; label: string; help: string }[] = [
  { key: "accrued", label: "Accrued", help: "every accrual posted" },
  { key: "reversed", label: "Reversed", help: "refunds, cancellations, a band lost" },
  { key: "rebate", label: "Rebate", help: "accrued − reversed" },
  { key: "pending", label: "Pending", help: "in the return window" },
  { key: "payable", label: "Payable", help: "not paid yet" },
  { key: "paid", label: "Paid", help: "paid, or on its way" },
  { key: "netted", label: "Netted", help: "payable used to pay back what was owed" },
  { key: "owed", label: "Owed", help: "reversed after payout, owed back by shoppers" },
  { key: "writtenOff", label: "Written off", help: "reversed after payout, absorbed by the store" },
];
const AUDIT_FIGURES: Record<string, string> = {
  accrued: "Accrued",
  reversed: "Reversed",
  rebate: "Rebate",
  pending: "Pending",
  payable: "Payable",
  paid: "Paid",
  netted: "Netted",
  owed: "Owed",
  written_off: "Written off",
};

function TotalsTable({ totals, period, locale }: { totals: RebateTotals[]; period: string; locale: string }) {
  const amount = (value: Money) => money(value.amount, value.currency || undefined, locale);
  return (
    <DataTable columns={["", ...totals.map((program) => `${program.channel} (${program.currency})`)]} label={`Rebate totals, ${periodLabel(period, locale)}`} testId="rebate-totals">
      <tr data-testid="rebate-total-members">
        <th scope="row">Shoppers</th>
        {totals.map((program) => (
          <td key={program.channel + program.currency}>{program.members.toLocaleString(locale.replace("_", "-"))}</td>
        ))}
      </tr>
      {FIGURES.map((figure) => (
        <tr key={figure.key} data-testid={`rebate-total-${figure.key}`}>
          <th scope="row">
            {figure.label}
            <Text as="p" size={1} color="default2">
              {figure.help}
            </Text>
          </th>
          {totals.map((program) => (
            <td key={program.channel + program.currency}>{amount({ ...(program[figure.key] as Money), currency: program.currency })}</td>
          ))}
        </tr>
      ))}
      <tr data-testid="rebate-total-ledger">
        <th scope="row">Ledger</th>
        {totals.map((program) => (
          <td key={program.channel + program.currency}>{program.isReconciled ? "Agrees" : "Differs"}</td>
        ))}
      </tr>
    </DataTable>
  );
}

function AuditPanel({ audit, locale, onCheck }: { audit: RebateAudit; locale: string; onCheck: () => void }) {
  const name = periodLabel(audit.period, locale);
  return (
    <Box display="flex" flexDirection="column" gap={3}>
      <Box display="flex" gap={3} alignItems="center" flexWrap="wrap">
        <Text size={2} color="default2" data-testid="rebate-audit-checked">
          Ledger's transfers read {dateTime(audit.checkedAt, locale)}; kept while the records stay the same (a day at most).
        </Text>
        <Button type="button" variant="secondary" size="small" onClick={onCheck}>
          Check against the ledger now
        </Button>
      </Box>
      {audit.isReconciled ? (
        <Card data-testid="rebate-audit" aria-label="Audit">
          <Text size={3} fontWeight="bold" color="success1" role="status">
            ✓ Reconciles with the ledger
          </Text>
          <Text size={2} color="default2">
            Every figure of {name} agrees to the cent with the ledger's transfers, and every rebate account's balance with
            the periods' records.
          </Text>
        </Card>
      ) : (
        <Box role="alert" padding={4} borderRadius={4} backgroundColor="critical1" data-testid="rebate-audit">
          <Text size={3} fontWeight="bold" color="critical1">
            Does not reconcile with the ledger
          </Text>
          <Text as="p" size={2} color="critical1">
            {audit.problems.length === 1 ? "One problem" : `${audit.problems.length} problems`} in {name}: the records and the ledger
            disagree. Download the audit and keep it for whoever looks into it; payouts go on meanwhile.
          </Text>
          <Box as="ul" margin={0} paddingLeft={4} data-testid="rebate-audit-problems">
            {audit.problems.map((problem) => (
              <li key={problem}>
                <Text size={2} color="critical1">
                  {problem}
                </Text>
              </li>
            ))}
          </Box>
        </Box>
      )}
      {audit.programs.length > 0 && (
        <details>
          <summary>
            <Text size={2}>Show the audit's figures</Text>
          </summary>
          <Box display="flex" flexDirection="column" gap={4} paddingTop={3}>
            {audit.programs.map((program) => (
              <DataTable
                key={program.totals.channel + program.totals.currency}
                columns={["Figure", "From the rebate records", "From the ledger", "Difference"]}
                label={`Audit of ${program.totals.channel} (${program.totals.currency}), ${name}`}
                testId={`rebate-audit-${program.totals.channel}-${program.totals.currency}`}
              >
                {program.figures.map((figure) => (
                  <tr key={figure.name}>
                    <td>{AUDIT_FIGURES[figure.name] ?? figure.name}</td>
                    <td>{money(figure.rows.amount, program.totals.currency, locale)}</td>
                    <td>{money(figure.ledger.amount, program.totals.currency, locale)}</td>
                    <td>{Number(figure.difference.amount) ? money(figure.difference.amount, program.totals.currency, locale) : "—"}</td>
                  </tr>
                ))}
              </DataTable>
            ))}
          </Box>
        </details>
      )}
    </Box>
  );
}

function PeriodTotals({ token, period }: { token: string | undefined; period: string }) {
  const { locale } = useDashboard();
  const refresh = useRef(false);
  const { result, reload } = useLoad(token, (t) => {
    const now = refresh.current;
    refresh.current = false;
    return fetchRebatePeriod(t, period, now);
  });
  const check = () => {
    refresh.current = true;
    reload();
  };
  return (
    <Loaded result={result} what={`the totals of ${periodLabel(period, locale)}`} failed="The totals could not be loaded">
      {(data) => (
        <Box display="flex" flexDirection="column" gap={4}>
          {data.totals.length ? <TotalsTable totals={data.totals} period={period} locale={locale} /> : <Empty>No rebates in {periodLabel(period, locale)}.</Empty>}
          <AuditPanel audit={data.audit} locale={locale} onCheck={check} />
        </Box>
      )}
    </Loaded>
  );
}

/** Saves a downloaded file: the page's own link to the blob, clicked (the dashboard's frame allows downloads). */
function saveFile(name: string, blob: Blob): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function Downloads({ token, period }: { token: string | undefined; period: string }) {
  const { locale } = useDashboard();
  const [busy, setBusy] = useState(false);
  const [status, setStatus] = useState("");
  const download = async (kind: "statements" | "audit") => {
    if (!token || busy) return;
    setBusy(true);
    setStatus(`Preparing the ${kind} of ${periodLabel(period, locale)}…`);
    try {
      const file = await downloadRebateCsv(token, period, kind);
      saveFile(file.name, file.blob);
      setStatus(`Downloaded ${file.name}.`);
    } catch (error) {
      setStatus(`Not downloaded: ${(error as Error).message}`);
      notify("error", "Download failed", (error as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Box display="flex" gap={3} alignItems="center" flexWrap="wrap">
      <Button type="button" variant="secondary" disabled={busy} onClick={() => download("statements")}>
        Download statements (CSV)
      </Button>
      <Button type="button" variant="secondary" disabled={busy} onClick={() => download("audit")}>
        Download audit (CSV)
      </Button>
      <Status testId="rebate-download-status">{status}</Status>
    </Box>
  );
}

function Totals({ token, result }: { token: string | undefined; result: Load<{ periods: string[] }> }) {
  const { locale } = useDashboard();
  const [chosen, setChosen] = useState<string | null>(null);
  return (
    <Section id="rebate-totals" title="Totals by period" description="What the period's rebates came to in each program, from the records, checked against the ledger to the cent.">
      <Loaded result={result} what="the periods" failed="The periods could not be loaded">
        {(data) => {
          if (!data.periods.length) return <Empty testId="rebate-periods-empty">No rebates yet: totals appear here once orders accrue rebates.</Empty>;
          const period = chosen && data.periods.includes(chosen) ? chosen : data.periods[0];
          return (
            <Box display="flex" flexDirection="column" gap={4}>
              <Box display="grid" __gridTemplateColumns="minmax(200px, 280px) 1fr" gap={4} alignItems="center">
                <SelectField id="rebate-period-picker" label="Totals of" value={period} options={data.periods.map((key) => ({ value: key, label: periodLabel(key, locale) }))} onChange={setChosen} />
                <Downloads token={token} period={period} />
              </Box>
              <PeriodTotals key={period} token={token} period={period} />
            </Box>
          );
        }}
      </Loaded>
    </Section>
  );
}

// -- The tab ---------------------------------------------------------------------------------------------------

const REBATE_CHANGES = "rebate_program:";

/** The Rebates tab: programs (list, create, edit), totals by period with the audit and the CSVs, and the changes. */
export function RebatesTab({ token }: { token: string | undefined }) {
  const programs = useLoad(token, fetchRebatePrograms);
  const changes = useLoad(token, async (t) => (await fetchSettingsChanges(t)).filter((change) => change.subject.startsWith(REBATE_CHANGES)));
  const saved = () => {
    programs.reload();
    changes.reload();
  };
  return (
    <Box display="flex" flexDirection="column" gap={10} __maxWidth="880px">
      <Programs token={token} result={programs.result} onSaved={saved} />
      <Totals token={token} result={programs.result} />
      <ChangeLog result={changes.result} id="rebate-changes" title="Changes to rebates" description="Every change to the rebate programs: who made it, when, and what it changed (the Program tab's change log lists them too)." />
    </Box>
  );
}
