// Small building blocks the pages share: labelled fields that show their error next to them, sections, alerts,
// loading state, dates, and the dashboard's notifications.
import { actions } from "@saleor/app-sdk/app-bridge";
import { Box, Button, Input, Skeleton, Text } from "@saleor/macaw-ui";
import { type FormEvent, type KeyboardEvent, type MouseEvent, type ReactNode, useCallback, useEffect, useState } from "react";

import type { FieldError } from "../api";
import { appBridge } from "../bridge";

/** Shows a notification in the dashboard (AppBridge `notification`); outside a dashboard nothing happens. */
export function notify(status: "success" | "error", title: string, text?: string): void {
  appBridge.dispatch(actions.Notification({ status, title, text })).catch(() => undefined);
}

export type Load<T> = { state: "loading" } | { state: "error"; message: string } | { state: "ready"; data: T };

/** Loads once the dashboard token has arrived; `reload` loads again (after a save). */
export function useLoad<T>(token: string | undefined, load: (token: string) => Promise<T>) {
  const [result, setResult] = useState<Load<T>>({ state: "loading" });
  const [generation, setGeneration] = useState(0);
  const hasToken = Boolean(token);
  useEffect(() => {
    if (!token) return;
    let current = true;
    load(token)
      .then((data) => current && setResult({ state: "ready", data }))
      .catch((error: Error) => current && setResult({ state: "error", message: error.message }));
    return () => {
      current = false;
    };
    // a refreshed token need not reload what is shown: load when the first token arrives and on `reload`
  }, [hasToken, generation]);
  const reload = useCallback(() => setGeneration((value) => value + 1), []);
  return { result, reload };
}

/** The errors of a mutation, by field (`null` field: the form's own). */
export function errorsByField(errors: FieldError[]): Record<string, string> {
  const found: Record<string, string> = {};
  for (const error of errors) {
    const key = error.field ?? "";
    found[key] = found[key] ? `${found[key]} ${error.message}` : error.message;
  }
  return found;
}

export function Section({ id, title, description, children, actions: sectionActions }: {
  id: string;
  title: string;
  description?: ReactNode;
  children: ReactNode;
  actions?: ReactNode;
}) {
  return (
    <Box as="section" aria-labelledby={`${id}-heading`} display="flex" flexDirection="column" gap={4}>
      <Box display="flex" justifyContent="space-between" alignItems="flex-end" gap={4}>
        <Box display="flex" flexDirection="column" gap={1}>
          <Text as="h2" id={`${id}-heading`} size={5} fontWeight="bold">
            {title}
          </Text>
          {description && (
            <Text size={2} color="default2">
              {description}
            </Text>
          )}
        </Box>
        {sectionActions}
      </Box>
      {children}
    </Box>
  );
}

export function Card({ children, ...rest }: { children: ReactNode; "data-testid"?: string; "aria-label"?: string; as?: "li" | "div" }) {
  return (
    <Box
      padding={4}
      borderRadius={4}
      borderStyle="solid"
      borderWidth={1}
      borderColor="default1"
      backgroundColor="default1"
      display="flex"
      flexDirection="column"
      gap={3}
      {...rest}
    >
      {children}
    </Box>
  );
}

export function Alert({ title, message }: { title: string; message: string }) {
  return (
    <Box role="alert" padding={4} borderRadius={4} backgroundColor="critical1">
      <Text size={3} fontWeight="bold" color="critical1">
        {title}
      </Text>
      <Text as="p" size={2} color="critical1">
        {message}
      </Text>
    </Box>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <Box display="flex" flexDirection="column" gap={3} aria-busy="true" aria-live="polite">
      <Text size={2} color="default2">
        Loading {what}…
      </Text>
      <Skeleton __height="40px" />
      <Skeleton __height="40px" />
    </Box>
  );
}

function FieldNote({ id, error, help }: { id: string; error?: string; help?: string }) {
  if (error) {
    return (
      <Text id={`${id}-error`} size={2} color="critical1" data-field-error={id}>
        {error}
      </Text>
    );
  }
  return help ? (
    <Text id={`${id}-help`} size={1} color="default2">
      {help}
    </Text>
  ) : null;
}

function describedBy(id: string, error?: string, help?: string): string | undefined {
  if (error) return `${id}-error`;
  return help ? `${id}-help` : undefined;
}

export function TextField({ id, label, value, onChange, error, help, type = "text", inputMode, required, autoComplete }: {
  id: string;
  label: string;
  value: string;
  onChange: (value: string) => void;
  error?: string;
  help?: string;
  type?: "text" | "number" | "datetime-local" | "password";
  inputMode?: "numeric" | "decimal" | "text";
  required?: boolean;
  autoComplete?: string; // "off" for a secret typed once (the browser must not offer to keep it)
}) {
  return (
    <Box display="flex" flexDirection="column" gap={1}>
      <Input
        id={id}
        label={label}
        value={value}
        type={type}
        inputMode={inputMode}
        required={required}
        autoComplete={autoComplete}
        error={Boolean(error)}
        aria-invalid={Boolean(error)}
        aria-describedby={describedBy(id, error, help)}
        onChange={(event) => onChange(event.target.value)}
      />
      <FieldNote id={id} error={error} help={help} />
    </Box>
  );
}

/** A native control in a frame styled like macaw's Input, with its label above and its note below. */
function FramedField({ id, label, error, help, children }: {
  id: string;
  label: string;
  error?: string;
  help?: string;
  children: ReactNode;
}) {
  return (
    <Box display="flex" flexDirection="column" gap={1}>
      <Box
        display="flex"
        flexDirection="column"
        gap={0.5}
        paddingX={2}
        paddingY={1.5}
        borderRadius={3}
        borderStyle="solid"
        borderWidth={1}
        borderColor={error ? "critical1" : "default1"}
        backgroundColor="default1"
        className="loyalty-select"
      >
        <Box as="label" htmlFor={id}>
          <Text size={1} color="default2">
            {label}
          </Text>
        </Box>
        {children}
      </Box>
      <FieldNote id={id} error={error} help={help} />
    </Box>
  );
}

export function SelectField({ id, label, value, options, onChange, error, help }: {
  id: string;
  label: string;
  value: string;
  options: { value: string; label: string }[];
  onChange: (value: string) => void;
  error?: string;
  help?: string;
}) {
  return (
    <FramedField id={id} label={label} error={error} help={help}>
      <Box
        as="select"
        id={id}
        value={value}
        aria-invalid={Boolean(error)}
        aria-describedby={describedBy(id, error, help)}
        onChange={(event: React.ChangeEvent<HTMLSelectElement>) => onChange(event.target.value)}
        borderStyle="none"
        backgroundColor="default1"
        color="default1"
        fontSize={3}
        padding={0}
        cursor="pointer"
      >
        {options.map((option) => (
          <option key={option.value} value={option.value}>
            {option.label}
          </option>
        ))}
      </Box>
    </FramedField>
  );
}

export function CheckboxField({ id, label, checked, onChange, error, help }: {
  id: string;
  label: string;
  checked: boolean;
  onChange: (checked: boolean) => void;
  error?: string;
  help?: string;
}) {
  return (
    <Box display="flex" flexDirection="column" gap={1} justifyContent="center">
      <Box display="flex" gap={2} alignItems="center">
        <input
          id={id}
          type="checkbox"
          className="loyalty-checkbox"
          checked={checked}
          aria-invalid={Boolean(error)}
          aria-describedby={describedBy(id, error, help)}
          onChange={(event) => onChange(event.target.checked)}
        />
        <Box as="label" htmlFor={id} cursor="pointer">
          <Text size={3}>{label}</Text>
        </Box>
      </Box>
      <FieldNote id={id} error={error} help={help} />
    </Box>
  );
}

/** A date and time in the dashboard's locale. */
export function when(iso: string | null | undefined, locale: string): string {
  if (!iso) return "—";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  try {
    return new Intl.DateTimeFormat(locale.replace("_", "-"), { dateStyle: "medium", timeStyle: "short" }).format(date);
  } catch {
    return date.toLocaleString();
  }
}

export function day(iso: string | null | undefined, locale: string): string {
  if (!iso) return "—";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  try {
    return new Intl.DateTimeFormat(locale.replace("_", "-"), { dateStyle: "medium" }).format(date);
  } catch {
    return date.toLocaleDateString();
  }
}

/** A rebate period's key in the dashboard's language: "2026-11" → "November 2026", "2026-Q4" → "Q4 2026". */
export function periodLabel(key: string, locale: string): string {
  const month = /^(\d{4})-(\d{2})$/.exec(key);
  if (month) {
    try {
      const first = new Date(Date.UTC(Number(month[1]), Number(month[2]) - 1, 1));
      return new Intl.DateTimeFormat(locale.replace("_", "-"), { month: "long", year: "numeric", timeZone: "UTC" }).format(first);
    } catch {
      return key;
    }
  }
  const quarter = /^(\d{4})-Q([1-4])$/.exec(key);
  return quarter ? `Q${quarter[2]} ${quarter[1]}` : key;
}

/** A percentage as the API writes it ("2.5000") for people ("2.5%"). */
export function percent(value: string | null | undefined): string {
  return value === null || value === undefined ? "—" : `${decimal(value)}%`;
}

export function points(value: number): string {
  return `${value.toLocaleString("en-US")} ${Math.abs(value) === 1 ? "point" : "points"}`;
}

/** A decimal without trailing zeros ("2.5000" → "2.5"). */
export function decimal(value: string | undefined | null): string {
  if (value === undefined || value === null) return "—";
  return value.includes(".") ? value.replace(/\.?0+$/, "") : value;
}

/** An amount in its currency, in the dashboard's locale ("$50.00"). */
export function money(amount: string, currency: string | undefined, locale: string): string {
  if (!currency) return decimal(amount);
  try {
    return new Intl.NumberFormat(locale.replace("_", "-"), { style: "currency", currency }).format(Number(amount));
  } catch {
    return `${decimal(amount)} ${currency}`;
  }
}

/** A label and a value on one line (summaries in cards and widgets). */
export function Fact({ label, value, testId }: { label: string; value: ReactNode; testId?: string }) {
  return (
    <Box display="flex" justifyContent="space-between" gap={4} alignItems="baseline">
      <Box as="dt">
        <Text size={2} color="default2">
          {label}
        </Text>
      </Box>
      <Box as="dd" margin={0} textAlign="right">
        <Text size={3} fontWeight="medium" data-testid={testId}>
          {value}
        </Text>
      </Box>
    </Box>
  );
}

/** A form's save: field errors (by field), a status line, and the busy flag; `run` sends one mutation, puts its
 * errors next to their fields and notifies the dashboard either way. */
export function useSave() {
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [status, setStatus] = useState("");
  const [busy, setBusy] = useState(false);
  const refuse = (local: Record<string, string>) => {
    setErrors(local);
    setStatus("Not saved: check the highlighted fields.");
  };
  async function run<P extends { errors: FieldError[] }>(
    titles: { ok: string; failed: string },
    call: () => Promise<P>,
    done: (payload: P) => string | undefined,
  ): Promise<P | null> {
    if (busy) return null;
    setBusy(true);
    try {
      const payload = await call();
      if (payload.errors.length) {
        setErrors(errorsByField(payload.errors));
        setStatus("Not saved: check the highlighted fields.");
        notify("error", titles.failed, payload.errors.map((error) => error.message).join(" "));
        return null;
      }
      setErrors({});
      const text = done(payload);
      setStatus(text ?? "Saved.");
      notify("success", titles.ok, text);
      return payload;
    } catch (error) {
      setStatus(`Not saved: ${(error as Error).message}`);
      notify("error", titles.failed, (error as Error).message);
      return null;
    } finally {
      setBusy(false);
    }
  }
  return { errors, setErrors, status, setStatus, busy, run, refuse };
}

/** The line beside a form's button that says what the last save did (read out by screen readers). */
export function Status({ testId, children }: { testId: string; children: ReactNode }) {
  return (
    <Text size={2} color="default2" aria-live="polite" data-testid={testId}>
      {children}
    </Text>
  );
}

/** A multi-line field (one entry per line), styled like the select. */
export function TextAreaField({ id, label, value, onChange, error, help, rows = 3 }: {
  id: string;
  label: string;
  value: string;
  onChange: (value: string) => void;
  error?: string;
  help?: string;
  rows?: number;
}) {
  return (
    <FramedField id={id} label={label} error={error} help={help}>
      <textarea
        id={id}
        rows={rows}
        value={value}
        className="loyalty-textarea"
        aria-invalid={Boolean(error)}
        aria-describedby={describedBy(id, error, help)}
        onChange={(event) => onChange(event.target.value)}
      />
    </FramedField>
  );
}

/** A group's error (a field that is a list of rows, e.g. a tier's thresholds). */
export function GroupError({ id, error }: { id: string; error?: string }) {
  return error ? (
    <Text id={`${id}-error`} size={2} color="critical1" data-field-error={id} role="alert">
      {error}
    </Text>
  ) : null;
}

export const WHOLE = /^-?\d+$/;
export const NUMBER = /^-?\d+(\.\d+)?$/;

/** Splits a list typed one per line (or comma-separated for flags). */
export function lines(text: string, separator: RegExp = /\n/): string[] {
  return text
    .split(separator)
    .map((entry) => entry.trim())
    .filter(Boolean);
}

/** An ISO date-time as a `datetime-local` value in the browser's time zone ("" for none). */
export function localInput(iso: string | null | undefined): string {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  return new Date(date.getTime() - date.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}

/** A `datetime-local` value as an ISO date-time (null for empty; undefined when it is no date). */
export function fromLocalInput(value: string): string | null | undefined {
  if (!value.trim()) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

// -- Lists of records with row actions, a form in a card, and a picker that searches the store -----------------

/** A column of a `RecordsTable`: its header and what each row shows in it. */
export type Column<T> = { header: string; cell: (row: T) => ReactNode };

/** A table of records (rewards, campaigns…), one row each, with the row's buttons in a last, unlabelled column. */
export function RecordsTable<T>({ labelledBy, testId, columns, rows, rowKey, rowTestId, actions }: {
  labelledBy: string;
  testId: string;
  columns: Column<T>[];
  rows: T[];
  rowKey: (row: T) => string;
  rowTestId: (row: T) => string;
  actions: (row: T) => ReactNode;
}) {
  return (
    <table className="loyalty-table" aria-labelledby={labelledBy} data-testid={testId}>
      <thead>
        <tr>
          {columns.map((column) => (
            <th key={column.header} scope="col">
              {column.header}
            </th>
          ))}
          <th scope="col">
            <span className="loyalty-visually-hidden">Actions</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <tr key={rowKey(row)} data-testid={rowTestId(row)}>
            {columns.map((column) => (
              <td key={column.header}>{column.cell(row)}</td>
            ))}
            <td>
              <Box display="flex" gap={1} justifyContent="flex-end">
                {actions(row)}
              </Box>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** A small button in a table row; `label` says what it does to which record (for screen readers). */
export function RowButton({ label, busy, onClick, children }: { label: string; busy?: boolean; onClick: () => void; children: ReactNode }) {
  return (
    <Button type="button" variant="tertiary" size="small" disabled={busy} aria-label={label} onClick={onClick}>
      {children}
    </Button>
  );
}

/** A form in a card: its heading, a form-wide error, its fields in a grid, and the submit (and cancel) buttons
 * beside the status line of the last save. */
export function FormCard({ id, heading, onSubmit, formError, note, children, submitLabel, busy, status, statusTestId, onCancel, cancelLabel = "Cancel" }: {
  id: string;
  heading: string;
  onSubmit: (event: FormEvent) => void;
  formError?: string;
  note?: ReactNode;
  children: ReactNode;
  submitLabel: string;
  busy: boolean;
  status: ReactNode;
  statusTestId: string;
  onCancel?: () => void;
  cancelLabel?: string;
}) {
  return (
    <Card>
      <Box as="form" id={id} aria-labelledby={`${id}-heading`} onSubmit={onSubmit} display="flex" flexDirection="column" gap={4} noValidate>
        <Text as="h3" id={`${id}-heading`} size={4} fontWeight="bold">
          {heading}
        </Text>
        {note && (
          <Text size={2} color="default2" data-testid={`${id}-note`}>
            {note}
          </Text>
        )}
        {formError && <Alert title="Not done" message={formError} />}
        <Box display="grid" gridTemplateColumns={{ mobile: 1, desktop: 2 }} gap={4}>
          {children}
        </Box>
        <Box display="flex" gap={3} alignItems="center">
          <Button type="submit" variant="primary" disabled={busy}>
            {submitLabel}
          </Button>
          {onCancel && (
            <Button type="button" variant="secondary" onClick={onCancel}>
              {cancelLabel}
            </Button>
          )}
          <Status testId={statusTestId}>{status}</Status>
        </Box>
      </Box>
    </Card>
  );
}

/** A value a form shows but does not let change (with why, in `help`). */
export function ReadOnlyField({ id, label, value, help }: { id: string; label: string; value: ReactNode; help?: string }) {
  return (
    <Box display="flex" flexDirection="column" gap={1} data-testid={id}>
      <Text size={1} color="default2">
        {label}
      </Text>
      <Text size={3}>{value}</Text>
      {help && (
        <Text size={1} color="default2">
          {help}
        </Text>
      )}
    </Box>
  );
}

/** Something the store has (a product, a category): its id, its name (null: unknown to the store now) and where it
 * sits (its category, its parent). */
export type PickedItem = { id: string; name: string | null; detail: string };

const SEARCH_DELAY_MS = 250;

/** A labelled combobox that searches the store as you type and keeps a list of picked items (their ids go to the
 * API; their names are shown). Keyboard: type to search, ↓/↑ to move through the results, Enter to pick (or unpick),
 * Escape to close the list; each picked item has its own Remove button (`showPicked={false}`: the form lists the
 * picked items itself, e.g. one row each with a rate). */
export function StorePicker({ id, label, noun, help, error, picked, onChange, search, showPicked = true }: {
  id: string;
  label: string;
  noun: string; // "product": "Remove the product …", "No product matches …"
  help?: string;
  error?: string;
  picked: PickedItem[];
  onChange: (items: PickedItem[]) => void;
  search: (text: string) => Promise<PickedItem[]>;
  showPicked?: boolean;
}) {
  const [text, setText] = useState("");
  const [open, setOpen] = useState(false);
  const [options, setOptions] = useState<PickedItem[]>([]);
  const [active, setActive] = useState(-1);
  const [state, setState] = useState<{ searching: boolean; failed?: string }>({ searching: false });
  const listId = `${id}-listbox`;
  const optionId = (index: number) => `${id}-option-${index}`;

  useEffect(() => {
    if (!open) return;
    let current = true;
    setState({ searching: true });
    const timer = window.setTimeout(() => {
      search(text.trim())
        .then((found) => {
          if (!current) return;
          setOptions(found);
          setActive(found.length ? 0 : -1);
          setState({ searching: false });
        })
        .catch((failure: Error) => current && setState({ searching: false, failed: failure.message }));
    }, SEARCH_DELAY_MS);
    return () => {
      current = false;
      window.clearTimeout(timer);
    };
  }, [text, open]);

  const isPicked = (item: PickedItem) => picked.some((entry) => entry.id === item.id);
  const toggle = (item: PickedItem) => onChange(isPicked(item) ? picked.filter((entry) => entry.id !== item.id) : [...picked, item]);

  const onKeyDown = (event: KeyboardEvent<HTMLInputElement>) => {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!open) return setOpen(true);
      if (!options.length) return;
      const step = event.key === "ArrowDown" ? 1 : -1;
      setActive((index) => (index + step + options.length) % options.length);
    } else if (event.key === "Enter" && open && active >= 0 && options[active]) {
      event.preventDefault(); // picks; Enter with the list closed submits the form as usual
      toggle(options[active]);
    } else if (event.key === "Escape" && open) {
      event.preventDefault();
      setOpen(false);
    }
  };

  const status = state.failed
    ? `Could not search: ${state.failed}`
    : state.searching
      ? "Searching…"
      : open && !options.length
        ? `No ${noun} matches “${text.trim()}”.`
        : "";

  return (
    <Box display="flex" flexDirection="column" gap={1} position="relative">
      <Input
        id={id}
        label={label}
        value={text}
        role="combobox"
        autoComplete="off"
        aria-autocomplete="list"
        aria-expanded={open}
        aria-controls={listId}
        aria-activedescendant={open && active >= 0 ? optionId(active) : undefined}
        aria-invalid={Boolean(error)}
        aria-describedby={describedBy(id, error, help)}
        error={Boolean(error)}
        onChange={(event) => {
          setText(event.target.value);
          setOpen(true);
        }}
        onFocus={() => setOpen(true)}
        onBlur={() => setOpen(false)}
        onKeyDown={onKeyDown}
      />
      <Box
        as="ul"
        id={listId}
        role="listbox"
        aria-label={`${label}: results`}
        aria-multiselectable
        display={open && options.length ? "flex" : "none"}
        flexDirection="column"
        margin={0}
        padding={1}
        borderRadius={3}
        borderStyle="solid"
        borderWidth={1}
        borderColor="default1"
        backgroundColor="default1"
        boxShadow="defaultOverlay"
        position="absolute"
        __top="56px"
        __left="0"
        __right="0"
        __maxHeight="240px"
        overflowY="auto"
        __zIndex="10"
      >
        {options.map((option, index) => (
          <Box
            as="li"
            key={option.id}
            id={optionId(index)}
            role="option"
            aria-selected={isPicked(option)}
            listStyleType="none"
            paddingX={2}
            paddingY={1.5}
            borderRadius={2}
            cursor="pointer"
            backgroundColor={index === active ? "default1Hovered" : "default1"}
            onMouseDown={(event: MouseEvent) => event.preventDefault()} // keep the focus in the field
            onMouseEnter={() => setActive(index)}
            onClick={() => toggle(option)}
          >
            <Text size={3} fontWeight={isPicked(option) ? "bold" : "regular"}>
              {isPicked(option) ? "✓ " : ""}
              {option.name ?? option.id}
            </Text>
            {option.detail && (
              <Text size={1} color="default2">
                {" "}
                · {option.detail}
              </Text>
            )}
          </Box>
        ))}
      </Box>
      <Text size={1} color="default2" aria-live="polite" data-testid={`${id}-search-status`}>
        {status}
      </Text>
      {showPicked && picked.length > 0 && (
        <Box as="ul" display="flex" flexWrap="wrap" gap={1} margin={0} padding={0} aria-label={`${label}: picked`} data-testid={`${id}-picked`}>
          {picked.map((item) => (
            <Box as="li" key={item.id} listStyleType="none" display="flex" alignItems="center" gap={1} paddingLeft={2} borderRadius={3} backgroundColor="default1Hovered">
              <Text size={2}>{item.name ?? `Unknown ${noun} (${item.id})`}</Text>
              <RowButton label={`Remove the ${noun} ${item.name ?? item.id}`} onClick={() => onChange(picked.filter((entry) => entry.id !== item.id))}>
                ×
              </RowButton>
            </Box>
          ))}
        </Box>
      )}
      <FieldNote id={id} error={error} help={help} />
    </Box>
  );
}
