import { Box, Button, Text } from "@saleor/macaw-ui";
import { type FormEvent, useEffect, useState } from "react";

import {
  deactivateEarnRule,
  type EarnRule,
  type EarnRuleInput,
  fetchEarnRules,
  fetchProgramSettings,
  fetchSettingsChanges,
  PROGRAM_SETTINGS_FIELDS,
  PROGRAM_SETTINGS_GROUPS,
  type ProgramSettings,
  type SettingField,
  type SettingsChange,
  type SettingValue,
  setEarnRule,
  updateProgramSettings,
} from "../api";
import { useDashboard } from "../bridge";
import { EmailsSection } from "./EmailsSection";
import {
  Alert,
  Card,
  CheckboxField,
  decimal,
  errorsByField,
  type Load,
  Loading,
  notify,
  SelectField,
  Section,
  TextField,
  useLoad,
  when,
} from "./ui";

type FormValues = Record<string, string | boolean>;

const WHOLE = /^-?\d+$/;
const NUMBER = /^-?\d+(\.\d+)?$/;

function toForm(field: SettingField, value: SettingValue | undefined): string | boolean {
  if (field.type === "boolean") return Boolean(value);
  if (field.type === "decimal" && typeof value === "string") return decimal(value);
  return value === null || value === undefined ? "" : String(value);
}

function formOf(settings: ProgramSettings): FormValues {
  return Object.fromEntries(PROGRAM_SETTINGS_FIELDS.map((field) => [field.name, toForm(field, settings[field.name])]));
}

/** Only the changed fields, typed for `ProgramSettingsInput`; or the fields the page itself can tell are wrong. */
function changedInput(form: FormValues, settings: ProgramSettings): { input: ProgramSettings; errors: Record<string, string> } {
  const input: ProgramSettings = {};
  const errors: Record<string, string> = {};
  for (const field of PROGRAM_SETTINGS_FIELDS) {
    const value = form[field.name];
    if (value === toForm(field, settings[field.name])) continue;
    if (field.type === "integer") {
      const text = String(value).trim();
      if (text === "" && field.optional) input[field.name] = null;
      else if (WHOLE.test(text)) input[field.name] = Number(text);
      else errors[field.name] = "Enter a whole number.";
    } else if (field.type === "decimal") {
      const text = String(value).trim();
      if (NUMBER.test(text)) input[field.name] = text;
      else errors[field.name] = "Enter a number, e.g. 1 or 2.5.";
    } else {
      input[field.name] = value;
    }
  }
  return { input, errors };
}

function SettingInput({ field, value, error, onChange }: {
  field: SettingField;
  value: string | boolean;
  error?: string;
  onChange: (value: string | boolean) => void;
}) {
  const id = `program-${field.name}`;
  if (field.type === "boolean") {
    return <CheckboxField id={id} label={field.label} checked={value === true} onChange={onChange} error={error} help={field.help} />;
  }
  if (field.type === "choice") {
    return (
      <SelectField id={id} label={field.label} value={String(value)} options={field.choices} onChange={onChange} error={error} help={field.help} />
    );
  }
  return (
    <TextField
      id={id}
      label={field.label}
      value={String(value)}
      onChange={onChange}
      error={error}
      help={field.help}
      inputMode={field.type === "integer" ? "numeric" : field.type === "decimal" ? "decimal" : "text"}
    />
  );
}

function SettingsForm({ token, onSaved }: { token: string | undefined; onSaved: () => void }) {
  const { result } = useLoad(token, fetchProgramSettings);
  const [settings, setSettings] = useState<ProgramSettings | null>(null);
  const [form, setForm] = useState<FormValues>({});
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [saving, setSaving] = useState(false);
  const [status, setStatus] = useState("");

  useEffect(() => {
    if (result.state === "ready") {
      setSettings(result.data);
      setForm(formOf(result.data));
    }
  }, [result]);

  if (result.state === "loading") return <Loading what="program settings" />;
  if (result.state === "error") return <Alert title="Program settings could not be loaded" message={result.message} />;
  if (!settings) return null;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!token || saving) return;
    const { input, errors: local } = changedInput(form, settings);
    if (Object.keys(local).length) {
      setErrors(local);
      setStatus("Not saved: check the highlighted fields.");
      return;
    }
    if (!Object.keys(input).length) {
      setErrors({});
      setStatus("Nothing changed.");
      return;
    }
    setSaving(true);
    try {
      const payload = await updateProgramSettings(token, input);
      if (payload.errors.length) {
        setErrors(errorsByField(payload.errors));
        setStatus("Not saved: check the highlighted fields.");
        notify("error", "Program settings not saved", payload.errors.map((error) => error.message).join(" "));
      } else {
        setErrors({});
        setSettings(payload.settings);
        setForm(formOf(payload.settings));
        setStatus("Saved.");
        notify("success", "Program settings saved");
        onSaved();
      }
    } catch (error) {
      setStatus(`Not saved: ${(error as Error).message}`);
      notify("error", "Program settings not saved", (error as Error).message);
    } finally {
      setSaving(false);
    }
  };

  return (
    <Box as="form" aria-labelledby="program-heading" onSubmit={submit} display="flex" flexDirection="column" gap={6} noValidate>
      {errors[""] && <Alert title="Not saved" message={errors[""]} />}
      {PROGRAM_SETTINGS_GROUPS.map((group) => (
        <Box as="fieldset" key={group.title} borderStyle="none" padding={0} margin={0} display="flex" flexDirection="column" gap={3}>
          <Box as="legend" marginBottom={3}>
            <Text size={4} fontWeight="bold">
              {group.title}
            </Text>
          </Box>
          <Box display="grid" gridTemplateColumns={{ mobile: 1, desktop: 2 }} gap={4}>
            {group.fields.map((field) => (
              <SettingInput
                key={field.name}
                field={field}
                value={form[field.name] ?? ""}
                error={errors[field.name]}
                onChange={(value) => setForm((current) => ({ ...current, [field.name]: value }))}
              />
            ))}
          </Box>
        </Box>
      ))}
      <Box display="flex" gap={3} alignItems="center">
        <Button type="submit" variant="primary" disabled={saving}>
          {saving ? "Saving…" : "Save settings"}
        </Button>
        <Text size={2} color="default2" aria-live="polite" data-testid="settings-status">
          {status}
        </Text>
      </Box>
    </Box>
  );
}

// -- Earn rules ------------------------------------------------------------------------------------------------

type RuleForm = { channel: string; currency: string; pointsPerUnit: string; minOrderAmount: string; includesTax: boolean; includesShipping: boolean };

const EMPTY_RULE: RuleForm = { channel: "", currency: "", pointsPerUnit: "1", minOrderAmount: "0", includesTax: false, includesShipping: false };

function ruleForm(rule: EarnRule): RuleForm {
  return {
    channel: rule.channel,
    currency: rule.currency,
    pointsPerUnit: decimal(rule.pointsPerUnit),
    minOrderAmount: decimal(rule.minOrderAmount),
    includesTax: rule.includesTax,
    includesShipping: rule.includesShipping,
  };
}

function yesNo(value: boolean): string {
  return value ? "Yes" : "No";
}

function EarnRules({ token, onSaved }: { token: string | undefined; onSaved: () => void }) {
  const { result, reload } = useLoad(token, fetchEarnRules);
  const [form, setForm] = useState<RuleForm>(EMPTY_RULE);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [status, setStatus] = useState("");
  const [busy, setBusy] = useState(false);
  const set = (name: keyof RuleForm) => (value: string | boolean) => setForm((current) => ({ ...current, [name]: value }));

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!token || busy) return;
    const local: Record<string, string> = {};
    for (const name of ["pointsPerUnit", "minOrderAmount"] as const) {
      if (!NUMBER.test(form[name].trim())) local[name] = "Enter a number, e.g. 1 or 2.5.";
    }
    if (Object.keys(local).length) {
      setErrors(local);
      setStatus("Not saved: check the highlighted fields.");
      return;
    }
    const input: EarnRuleInput = {
      ...form,
      channel: form.channel.trim(),
      currency: form.currency.trim().toUpperCase(),
      pointsPerUnit: form.pointsPerUnit.trim(),
      minOrderAmount: form.minOrderAmount.trim(),
    };
    setBusy(true);
    try {
      const payload = await setEarnRule(token, input);
      if (payload.errors.length) {
        setErrors(errorsByField(payload.errors));
        setStatus("Not saved: check the highlighted fields.");
        notify("error", "Earn rule not saved", payload.errors.map((error) => error.message).join(" "));
      } else {
        setErrors({});
        setForm(EMPTY_RULE);
        setStatus(`Saved the rule of ${input.channel} (${input.currency}).`);
        notify("success", "Earn rule saved", `${input.channel} (${input.currency})`);
        reload();
        onSaved();
      }
    } catch (error) {
      setStatus(`Not saved: ${(error as Error).message}`);
      notify("error", "Earn rule not saved", (error as Error).message);
    } finally {
      setBusy(false);
    }
  };

  const switchOff = async (rule: EarnRule) => {
    if (!token || busy) return;
    setBusy(true);
    try {
      const payload = await deactivateEarnRule(token, rule.channel, rule.currency);
      if (payload.errors.length) {
        setStatus(payload.errors.map((error) => error.message).join(" "));
        notify("error", "Earn rule not switched off", payload.errors.map((error) => error.message).join(" "));
      } else {
        setStatus(`Switched off the rule of ${rule.channel} (${rule.currency}).`);
        notify("success", "Earn rule switched off", `${rule.channel} (${rule.currency}) earns the default rate now.`);
        reload();
        onSaved();
      }
    } catch (error) {
      notify("error", "Earn rule not switched off", (error as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Section
      id="earn-rules"
      title="Earn rules"
      description="How each channel's orders earn, per currency. A channel without an active rule earns the default rate above. Orders already earning keep the rule they earned under."
    >
      {result.state === "loading" && <Loading what="earn rules" />}
      {result.state === "error" && <Alert title="Earn rules could not be loaded" message={result.message} />}
      {result.state === "ready" &&
        (result.data.length ? (
          <table className="loyalty-table" aria-labelledby="earn-rules-heading">
            <thead>
              <tr>
                <th scope="col">Channel</th>
                <th scope="col">Currency</th>
                <th scope="col">Points per unit</th>
                <th scope="col">Includes tax</th>
                <th scope="col">Includes shipping</th>
                <th scope="col">Minimum order</th>
                <th scope="col">Status</th>
                <th scope="col">
                  <span style={{ position: "absolute", left: -9999 }}>Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {result.data.map((rule) => (
                <tr key={`${rule.channel}/${rule.currency}`} data-testid={`earn-rule-${rule.channel}-${rule.currency}`}>
                  <td>{rule.channel}</td>
                  <td>{rule.currency}</td>
                  <td>{decimal(rule.pointsPerUnit)}</td>
                  <td>{yesNo(rule.includesTax)}</td>
                  <td>{yesNo(rule.includesShipping)}</td>
                  <td>{decimal(rule.minOrderAmount)}</td>
                  <td>{rule.isActive ? "Active" : "Off"}</td>
                  <td>
                    <Box display="flex" gap={2} justifyContent="flex-end">
                      <Button
                        type="button"
                        variant="secondary"
                        size="small"
                        aria-label={`Edit the rule of ${rule.channel} (${rule.currency})`}
                        onClick={() => {
                          setForm(ruleForm(rule));
                          setErrors({});
                          document.getElementById("earn-rule-channel")?.focus();
                        }}
                      >
                        Edit
                      </Button>
                      {rule.isActive && (
                        <Button
                          type="button"
                          variant="tertiary"
                          size="small"
                          disabled={busy}
                          aria-label={`Switch off the rule of ${rule.channel} (${rule.currency})`}
                          onClick={() => switchOff(rule)}
                        >
                          Switch off
                        </Button>
                      )}
                    </Box>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <Text size={2} color="default2">
            No channel has a rule of its own: every channel earns the default rate.
          </Text>
        ))}
      <Card>
        <Box as="form" aria-label="Add or change a channel's earn rule" onSubmit={submit} display="flex" flexDirection="column" gap={4} noValidate>
          <Text as="h3" size={4} fontWeight="bold">
            Add or change a channel's rule
          </Text>
          {errors[""] && <Alert title="Not saved" message={errors[""]} />}
          <Box display="grid" gridTemplateColumns={{ mobile: 1, desktop: 2 }} gap={4}>
            <TextField id="earn-rule-channel" label="Channel (slug)" value={form.channel} onChange={set("channel")} error={errors.channel} required />
            <TextField id="earn-rule-currency" label="Currency" value={form.currency} onChange={set("currency")} error={errors.currency} help="ISO 4217, e.g. USD." required />
            <TextField id="earn-rule-pointsPerUnit" label="Points per currency unit" value={form.pointsPerUnit} onChange={set("pointsPerUnit")} error={errors.pointsPerUnit} inputMode="decimal" />
            <TextField id="earn-rule-minOrderAmount" label="Minimum order amount" value={form.minOrderAmount} onChange={set("minOrderAmount")} error={errors.minOrderAmount} inputMode="decimal" help="Smaller orders earn nothing; 0 for no minimum." />
            <CheckboxField id="earn-rule-includesTax" label="Tax earns points" checked={form.includesTax} onChange={set("includesTax")} error={errors.includesTax} />
            <CheckboxField id="earn-rule-includesShipping" label="Shipping earns points" checked={form.includesShipping} onChange={set("includesShipping")} error={errors.includesShipping} />
          </Box>
          {errors.multipliers && <Alert title="Multipliers" message={errors.multipliers} />}
          <Box display="flex" gap={3} alignItems="center">
            <Button type="submit" variant="primary" disabled={busy}>
              Save earn rule
            </Button>
            <Text size={2} color="default2" aria-live="polite" data-testid="earn-rule-status">
              {status}
            </Text>
          </Box>
        </Box>
      </Card>
    </Section>
  );
}

// -- Change log ------------------------------------------------------------------------------------------------

/** A changed value as shown: the server's text, a date-time in the dashboard's locale, "—" for none. */
function shown(value: string | null, isDateTime: boolean, locale: string): string {
  if (value === null) return "—";
  return isDateTime ? when(value, locale) : value;
}

const PROGRAM_CHANGES = "Every change to the program's configuration (settings, earn rules, emails, tiers, referral terms, actions and keys): who made it, when, and what it changed.";

/** The change log (`settingsChanges`), or the part of it another tab shows (`title`, `description`, `id`). */
export function ChangeLog({ result, id = "change-log", title = "Change log", description = PROGRAM_CHANGES }: {
  result: Load<SettingsChange[]>;
  id?: string;
  title?: string;
  description?: string;
}) {
  const { locale } = useDashboard();
  return (
    <Section id={id} title={title} description={description}>
      {result.state === "loading" && <Loading what="the change log" />}
      {result.state === "error" && <Alert title="The change log could not be loaded" message={result.message} />}
      {result.state === "ready" &&
        (result.data.length ? (
          <ol className="loyalty-list" aria-label="Changes, newest first" data-testid={id}>
            {result.data.map((change) => (
              <Box as="li" key={change.id} paddingBottom={3} borderBottomStyle="solid" borderBottomWidth={1} borderColor="default1">
                <Box display="flex" gap={2} flexWrap="wrap" alignItems="baseline">
                  <Text size={3} fontWeight="bold">
                    {change.title}
                  </Text>
                  <Text size={2} color="default2">
                    {when(change.changedAt, locale)} · {change.actor || "unknown"}
                  </Text>
                </Box>
                <Box as="ul" margin={0} paddingLeft={4} marginTop={1}>
                  {change.values.map((value) => (
                    <li key={value.field}>
                      <Text size={2}>
                        {value.label}: {shown(value.before, value.isDateTime, locale)} → {shown(value.after, value.isDateTime, locale)}
                      </Text>
                    </li>
                  ))}
                </Box>
              </Box>
            ))}
          </ol>
        ) : (
          <Text size={2} color="default2">
            No changes yet.
          </Text>
        ))}
    </Section>
  );
}

/** The Program tab: the program's settings, the channels' earn rules and the change log. */
export function ProgramTab({ token }: { token: string | undefined }) {
  const changes = useLoad(token, fetchSettingsChanges);
  return (
    <Box display="flex" flexDirection="column" gap={10} __maxWidth="880px">
      <Section id="program" title="Program settings" description="How orders earn points, when points expire, and the bonuses. Changes apply from now on.">
        <SettingsForm token={token} onSaved={changes.reload} />
      </Section>
      <EarnRules token={token} onSaved={changes.reload} />
      <EmailsSection token={token} onSaved={changes.reload} />
      <ChangeLog result={changes.result} />
    </Box>
  );
}
