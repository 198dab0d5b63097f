// The blocks the tabs compose their sections of: a loaded section's three states, a table with its header, an empty
// list's line, and a form (in a card or not) with its heading, form-level error, two-column fields and submit row.
import { Box, Button, Text } from "@saleor/macaw-ui";
import { type FormEvent, type ReactNode, useState } from "react";

import { Alert, Card, type Load, Loading, Status } from "./ui";

/** A form's values, and a setter per field for its inputs' onChange (`set("name")`). */
export function useFormState<F extends object>(initial: F | (() => F)) {
  const [form, setForm] = useState<F>(initial);
  const set = (name: keyof F) => (value: F[keyof F] | string | boolean) => setForm((current) => ({ ...current, [name]: value }));
  return { form, setForm, set };
}

/** What a section shows while its data loads, when it failed, and once it is there (`empty`: what an empty list
 * shows instead). */
export function Loaded<T>({ result, what, failed, empty, children }: {
  result: Load<T>;
  what: string; // "Loading <what>…"
  failed: string; // the alert's title
  empty?: ReactNode;
  children: (data: T) => ReactNode;
}) {
  if (result.state === "loading") return <Loading what={what} />;
  if (result.state === "error") return <Alert title={failed} message={result.message} />;
  if (empty !== undefined && Array.isArray(result.data) && !result.data.length) return <Empty>{empty}</Empty>;
  return <>{children(result.data)}</>;
}

/** The line an empty list shows instead of a table. */
export function Empty({ testId, children }: { testId?: string; children: ReactNode }) {
  return (
    <Text size={2} color="default2" data-testid={testId}>
      {children}
    </Text>
  );
}

/** A table with its header row; a column named "" is the row's buttons (its header is for screen readers). */
export function DataTable({ columns, labelledBy, label, testId, children }: {
  columns: string[];
  labelledBy?: string;
  label?: string;
  testId?: string;
  children: ReactNode;
}) {
  return (
    <table className="loyalty-table" aria-labelledby={labelledBy} aria-label={label} data-testid={testId}>
      <thead>
        <tr>
          {columns.map((column, index) => (
            <th scope="col" key={column || `actions-${index}`}>
              {column || <span className="loyalty-visually-hidden">Actions</span>}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>{children}</tbody>
    </table>
  );
}

/** A row's buttons, at the end of the row. */
export function RowActions({ children, label }: { children: ReactNode; label?: string }) {
  return (
    <Box display="flex" gap={2} alignItems="center" justifyContent="flex-end" role={label ? "group" : undefined} aria-label={label}>
      {children}
    </Box>
  );
}

/** Fields side by side on a wide screen, one above the other on a narrow one. */
export function FieldGrid({ children }: { children: ReactNode }) {
  return (
    <Box display="grid" gridTemplateColumns={{ mobile: 1, desktop: 2 }} gap={4}>
      {children}
    </Box>
  );
}

/** A form's submit button and the line that says what the last save did. */
export function SubmitRow({ label, busy, status, statusTestId }: { label: string; busy: boolean; status: string; statusTestId: string }) {
  return (
    <Box display="flex" gap={3} alignItems="center">
      <Button type="submit" variant="primary" disabled={busy}>
        {label}
      </Button>
      <Status testId={statusTestId}>{status}</Status>
    </Box>
  );
}

type FormProps = {
  onSubmit: (event: FormEvent) => void;
  save: { busy: boolean; status: string; errors: Record<string, string> }; // useSave()'s state
  submitLabel: string;
  statusTestId: string;
  error?: string; // the form's own error (not a field's); by default the save's
  errorTitle?: string;
  children: ReactNode;
};

/** A form labelled by its section's heading (`labelledBy`), with its error, its fields and its submit row. */
export function Form({ labelledBy, heading, onSubmit, save, submitLabel, statusTestId, error = save.errors[""], errorTitle = "Not saved", children }: FormProps & {
  labelledBy: string;
  heading?: ReactNode;
}) {
  return (
    <Box as="form" aria-labelledby={labelledBy} onSubmit={onSubmit} display="flex" flexDirection="column" gap={4} noValidate>
      {heading}
      {error && <Alert title={errorTitle} message={error} />}
      {children}
      <SubmitRow label={submitLabel} busy={save.busy} status={save.status} statusTestId={statusTestId} />
    </Box>
  );
}

/** A form in a card of its own under a list ("Add or change …"), headed by `title`. */
export function FormCard({ id, title, description, ...form }: FormProps & { id: string; title: string; description?: string }) {
  const heading = (
    <>
      <Text as="h3" id={`${id}-heading`} size={4} fontWeight="bold">
        {title}
      </Text>
      {description && (
        <Text size={2} color="default2">
          {description}
        </Text>
      )}
    </>
  );
  return (
    <Card>
      <Form labelledBy={`${id}-heading`} heading={heading} {...form} />
    </Card>
  );
}
