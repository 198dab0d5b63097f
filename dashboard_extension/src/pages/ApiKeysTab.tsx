import { Box, Button, Text } from "@saleor/macaw-ui";
import { type FormEvent, useRef, useState } from "react";

import {
  type ApiKey,
  createApiKey,
  type EarningAction,
  fetchApiKeys,
  fetchEarningActions,
  revokeApiKey,
  setEarningAction,
} from "../api";
import { useDashboard } from "../bridge";
import { DataTable, FieldGrid, FormCard, Loaded, RowActions, useFormState } from "./blocks";
import { CheckboxField, Section, Status, TextField, useLoad, useSave, when, WHOLE } from "./ui";

// -- Earning actions -------------------------------------------------------------------------------------------

type ActionForm = { code: string; name: string; points: string; maxPerPeriod: string; periodDays: string; isActive: boolean };

const EMPTY_ACTION: ActionForm = { code: "", name: "", points: "", maxPerPeriod: "", periodDays: "30", isActive: true };

function actionForm(action: EarningAction): ActionForm {
  return {
    code: action.code,
    name: action.name,
    points: String(action.points),
    maxPerPeriod: action.maxPerPeriod === null ? "" : String(action.maxPerPeriod),
    periodDays: String(action.periodDays),
    isActive: action.isActive,
  };
}

function cap(action: EarningAction): string {
  if (action.maxPerPeriod === null) return "No cap";
  return `${action.maxPerPeriod} per ${action.periodDays} ${action.periodDays === 1 ? "day" : "days"}`;
}

function EarningActions({ token }: { token: string | undefined }) {
  const { result, reload } = useLoad(token, fetchEarningActions);
  const { form, setForm, set } = useFormState<ActionForm>(EMPTY_ACTION);
  const save = useSave();

  const send = async (action: EarningAction, titles: { ok: string; failed: string }, done: string) => {
    if (!token) return;
    const payload = await save.run(titles, () => setEarningAction(token, action), () => done);
    if (payload) {
      setForm(EMPTY_ACTION);
      reload();
    }
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const local: Record<string, string> = {};
    if (!WHOLE.test(form.points.trim())) local.points = "Enter a whole number of points.";
    if (form.maxPerPeriod.trim() && !WHOLE.test(form.maxPerPeriod.trim())) local.maxPerPeriod = "Enter a whole number, or leave it empty for no cap.";
    if (!WHOLE.test(form.periodDays.trim())) local.periodDays = "Enter a whole number of days.";
    if (Object.keys(local).length) return save.refuse(local);
    const action: EarningAction = {
      code: form.code.trim(),
      name: form.name.trim(),
      points: Number(form.points.trim()),
      maxPerPeriod: form.maxPerPeriod.trim() ? Number(form.maxPerPeriod.trim()) : null,
      periodDays: Number(form.periodDays.trim()),
      isActive: form.isActive,
    };
    await send(action, { ok: "Earning action saved", failed: "Earning action not saved" }, `Saved the action ${action.code}.`);
  };

  return (
    <Section
      id="earning-actions"
      title="Earning actions"
      description="Things shoppers do outside an order (a product review, a newsletter sign-up) that your services report with recordEvent and an API key below."
    >
      <Loaded result={result} what="earning actions" failed="Earning actions could not be loaded" empty="No earning actions yet.">
        {(actions) => (
            <DataTable columns={["Code", "Name", "Points", "Cap per customer", "Status", ""]} labelledBy="earning-actions-heading" testId="earning-actions">
              {actions.map((action) => (
                <tr key={action.code} data-testid={`action-${action.code}`}>
                  <td>
                    <code>{action.code}</code>
                  </td>
                  <td>{action.name}</td>
                  <td>{action.points}</td>
                  <td>{cap(action)}</td>
                  <td>{action.isActive ? "Active" : "Off"}</td>
                  <td>
                    <RowActions>
                      <Button
                        type="button"
                        variant="secondary"
                        size="small"
                        aria-label={`Edit the action ${action.code}`}
                        onClick={() => {
                          setForm(actionForm(action));
                          save.setErrors({});
                          document.getElementById("action-name")?.focus();
                        }}
                      >
                        Edit
                      </Button>
                      {action.isActive && (
                        <Button
                          type="button"
                          variant="tertiary"
                          size="small"
                          disabled={save.busy}
                          aria-label={`Switch off the action ${action.code}`}
                          onClick={() =>
                            send(
                              { ...action, isActive: false },
                              { ok: "Earning action switched off", failed: "Earning action not switched off" },
                              `${action.code} earns nothing from now on.`,
                            )
                          }
                        >
                          Switch off
                        </Button>
                      )}
                    </RowActions>
                  </td>
                </tr>
              ))}
            </DataTable>
        )}
      </Loaded>
      <FormCard
        id="action-form"
        title="Add or change an action"
        onSubmit={submit}
        save={save}
        submitLabel="Save action"
        statusTestId="action-status"
      >
        <FieldGrid>
          <TextField id="action-code" label="Code" value={form.code} onChange={set("code")} error={save.errors.code} help="What recordEvent's action names, e.g. product_review." required />
          <TextField id="action-name" label="Action name" value={form.name} onChange={set("name")} error={save.errors.name} required />
          <TextField id="action-points" label="Points per action" value={form.points} onChange={set("points")} error={save.errors.points} inputMode="numeric" />
          <TextField id="action-maxPerPeriod" label="Times per customer per period" value={form.maxPerPeriod} onChange={set("maxPerPeriod")} error={save.errors.maxPerPeriod} inputMode="numeric" help="Empty: no cap." />
          <TextField id="action-periodDays" label="Period (days)" value={form.periodDays} onChange={set("periodDays")} error={save.errors.periodDays} inputMode="numeric" />
          <CheckboxField id="action-isActive" label="Action active" checked={form.isActive} onChange={set("isActive")} error={save.errors.isActive} />
        </FieldGrid>
      </FormCard>
    </Section>
  );
}

// -- API keys --------------------------------------------------------------------------------------------------

/** Whether this frame may write to the clipboard (the permissions policy of the embedding page decides). */
function clipboardWriteAllowed(): boolean {
  const policy = (document as Document & { featurePolicy?: { allowsFeature(name: string): boolean } }).featurePolicy;
  if (policy && !policy.allowsFeature("clipboard-write")) return false;
  return Boolean(navigator.clipboard?.writeText);
}

/** The new key, shown this once, with a copy button (the Clipboard API, else the selection and execCommand: the
 * dashboard's iframe may not allow clipboard-write). */
function NewKey({ name, value, onDone }: { name: string; value: string; onDone: () => void }) {
  const input = useRef<HTMLInputElement>(null);
  const [copied, setCopied] = useState("");
  const copyBySelection = () => {
    input.current?.select();
    const done = document.execCommand?.("copy");
    setCopied(done ? "Copied." : "Select the key and copy it (Ctrl+C / ⌘C).");
  };
  const copy = async () => {
    // The Saleor Dashboard's iframe does not allow clipboard-write: asking anyway logs a policy violation.
    if (!clipboardWriteAllowed()) {
      copyBySelection();
      return;
    }
    try {
      await navigator.clipboard.writeText(value);
      setCopied("Copied.");
    } catch {
      copyBySelection();
    }
  };
  return (
    <Box role="region" aria-labelledby="new-key-heading" padding={4} borderRadius={4} borderStyle="solid" borderWidth={1} borderColor="accent1" display="flex" flexDirection="column" gap={3} data-testid="new-key">
      <Text as="h3" id="new-key-heading" size={4} fontWeight="bold">
        The key for {name}
      </Text>
      <Text size={2} fontWeight="bold" color="critical1">
        Store it now: this is the only time it is shown. The app keeps only a fingerprint of it and cannot show it again.
      </Text>
      <Box display="flex" gap={2} alignItems="center">
        <Box __flex="1">
          <label htmlFor="new-key-value" className="loyalty-visually-hidden">
            New API key
          </label>
          <input id="new-key-value" ref={input} readOnly value={value} className="loyalty-key" onFocus={(event) => event.target.select()} />
        </Box>
        <Button type="button" variant="primary" onClick={copy}>
          Copy key
        </Button>
      </Box>
      <Box display="flex" gap={3} alignItems="center">
        <Button type="button" variant="secondary" onClick={onDone}>
          I have stored it
        </Button>
        <Status testId="copy-status">{copied}</Status>
      </Box>
    </Box>
  );
}

function ApiKeys({ token }: { token: string | undefined }) {
  const { locale } = useDashboard();
  const { result, reload } = useLoad(token, fetchApiKeys);
  const [name, setName] = useState("");
  const [created, setCreated] = useState<{ name: string; key: string } | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  const save = useSave();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!token) return;
    if (!name.trim()) return save.refuse({ name: "Say what will use the key, e.g. reviews service." });
    const payload = await save.run(
      { ok: "API key created", failed: "API key not created" },
      () => createApiKey(token, name.trim()),
      (answer) => `Created the key ${answer.apiKey?.prefix ?? ""}… for ${name.trim()}.`,
    );
    if (payload?.key) {
      setCreated({ name: name.trim(), key: payload.key });
      setName("");
      reload();
    }
  };

  const revoke = async (key: ApiKey) => {
    if (!token) return;
    const payload = await save.run(
      { ok: "API key revoked", failed: "API key not revoked" },
      () => revokeApiKey(token, key.id),
      () => `${key.prefix}… (${key.name}) no longer works.`,
    );
    setConfirming(null);
    if (payload) reload();
  };

  return (
    <Section
      id="api-keys"
      title="API keys"
      description="Server keys your services send with recordEvent. Keep them on servers, never in a storefront. Revoking one stops it at once."
    >
      {created && <NewKey name={created.name} value={created.key} onDone={() => setCreated(null)} />}
      <Loaded result={result} what="API keys" failed="API keys could not be loaded" empty="No API keys yet.">
        {(keys) => (
            <DataTable columns={["Name", "Key starts with", "Created", "Status", ""]} labelledBy="api-keys-heading" testId="api-keys">
              {keys.map((key) => (
                <tr key={key.id} data-testid={`api-key-${key.prefix}`}>
                  <td>{key.name}</td>
                  <td>
                    <code>{key.prefix}…</code>
                  </td>
                  <td>{when(key.createdAt, locale)}</td>
                  <td>{key.revokedAt ? `Revoked ${when(key.revokedAt, locale)}` : "Active"}</td>
                  <td>
                    {!key.revokedAt &&
                      (confirming === key.id ? (
                        <RowActions label={`Confirm revoking ${key.name}`}>
                          <Text size={2}>Revoke? Services using it stop at once.</Text>
                          <Button type="button" variant="error" size="small" disabled={save.busy} onClick={() => revoke(key)}>
                            Yes, revoke
                          </Button>
                          <Button type="button" variant="secondary" size="small" onClick={() => setConfirming(null)}>
                            Keep it
                          </Button>
                        </RowActions>
                      ) : (
                        <RowActions>
                          <Button type="button" variant="tertiary" size="small" aria-label={`Revoke the key ${key.name} (${key.prefix})`} onClick={() => setConfirming(key.id)}>
                            Revoke
                          </Button>
                        </RowActions>
                      ))}
                  </td>
                </tr>
              ))}
            </DataTable>
        )}
      </Loaded>
      <FormCard
        id="key-form"
        title="Create a key"
        onSubmit={submit}
        error={save.errors[""] ?? save.errors.id}
        errorTitle="Not done"
        save={save}
        submitLabel="Create key"
        statusTestId="api-key-status"
      >
        <TextField id="api-key-name" label="What uses it" value={name} onChange={setName} error={save.errors.name} help="E.g. reviews service. Shown in this list." />
      </FormCard>
    </Section>
  );
}

/** The API keys tab: custom earning actions and the server keys that report them. */
export function ApiKeysTab({ token }: { token: string | undefined }) {
  return (
    <Box display="flex" flexDirection="column" gap={10} __maxWidth="880px">
      <EarningActions token={token} />
      <ApiKeys token={token} />
    </Box>
  );
}
