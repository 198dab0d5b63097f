import { Box, Button, Text } from "@saleor/macaw-ui";
import { type FormEvent, useEffect, useState } from "react";

import { type EmailPreview, type EmailSettings, fetchEmailPreview, fetchEmailSettings, updateEmailSettings } from "../api";
import { Alert, Card, CheckboxField, Loading, Section, SelectField, Status, TextField, useLoad, useSave } from "./ui";

function EmailsForm({ token, settings, onSaved }: { token: string | undefined; settings: EmailSettings; onSaved: () => void }) {
  const [enabled, setEnabled] = useState<Record<string, boolean>>(
    Object.fromEntries(settings.kinds.map((kind) => [kind.kind, kind.enabled])),
  );
  const [fromEmail, setFromEmail] = useState(settings.fromEmail);
  const [fromName, setFromName] = useState(settings.fromName);
  const save = useSave();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!token) return;
    const input = {
      disabledKinds: settings.kinds.map((kind) => kind.kind).filter((kind) => !enabled[kind]),
      fromEmail: fromEmail.trim(),
      fromName: fromName.trim(),
    };
    const payload = await save.run(
      { ok: "Email settings saved", failed: "Email settings not saved" },
      () => updateEmailSettings(token, input),
      () => "Saved.",
    );
    if (payload) onSaved();
  };

  return (
    <Box as="form" aria-labelledby="emails-heading" onSubmit={submit} display="flex" flexDirection="column" gap={4} noValidate>
      {save.errors[""] && <Alert title="Not saved" message={save.errors[""]} />}
      <Box as="fieldset" borderStyle="none" padding={0} margin={0} display="flex" flexDirection="column" gap={3}>
        <Box as="legend" marginBottom={2}>
          <Text size={3} fontWeight="bold">
            Which emails go out
          </Text>
        </Box>
        <Box display="grid" gridTemplateColumns={{ mobile: 1, desktop: 2 }} gap={3}>
          {settings.kinds.map((kind) => (
            <CheckboxField
              key={kind.kind}
              id={`email-kind-${kind.kind}`}
              label={kind.label}
              checked={enabled[kind.kind] ?? false}
              onChange={(value) => setEnabled((current) => ({ ...current, [kind.kind]: value }))}
            />
          ))}
        </Box>
        {save.errors.disabledKinds && <Alert title="Emails" message={save.errors.disabledKinds} />}
      </Box>
      <Box display="grid" gridTemplateColumns={{ mobile: 1, desktop: 2 }} gap={4}>
        <TextField id="emails-fromEmail" label="Sender address" value={fromEmail} onChange={setFromEmail} error={save.errors.fromEmail} help="Empty: the app's default sender." />
        <TextField id="emails-fromName" label="Sender name" value={fromName} onChange={setFromName} error={save.errors.fromName} help="E.g. your store's name." />
      </Box>
      <Box display="flex" gap={3} alignItems="center">
        <Button type="submit" variant="primary" disabled={save.busy}>
          Save email settings
        </Button>
        <Status testId="emails-status">{save.status}</Status>
      </Box>
    </Box>
  );
}

/** One kind rendered with the store's templates and sample data, in an iframe with every sandbox restriction on.
 * `saved` counts the settings' saves: the preview is read again after each, so it shows the sender just set. */
function Preview({ token, kinds, saved }: { token: string | undefined; kinds: EmailSettings["kinds"]; saved: number }) {
  const [kind, setKind] = useState(kinds[0]?.kind ?? "");
  const [preview, setPreview] = useState<{ state: "loading" } | { state: "error"; message: string } | { state: "ready"; data: EmailPreview }>({
    state: "loading",
  });
  useEffect(() => {
    if (!token || !kind) return;
    let current = true;
    setPreview({ state: "loading" });
    fetchEmailPreview(token, kind)
      .then((data) => current && setPreview({ state: "ready", data }))
      .catch((error: Error) => current && setPreview({ state: "error", message: error.message }));
    return () => {
      current = false;
    };
  }, [token, kind, saved]);
  const label = kinds.find((entry) => entry.kind === kind)?.label ?? kind;
  return (
    <Card>
      <Text as="h3" size={4} fontWeight="bold">
        Preview
      </Text>
      <SelectField id="email-preview-kind" label="Email to preview" value={kind} options={kinds.map((entry) => ({ value: entry.kind, label: entry.label }))} onChange={setKind} help="Rendered with your templates and a sample customer." />
      {preview.state === "loading" && <Loading what="the preview" />}
      {preview.state === "error" && <Alert title="The preview could not be loaded" message={preview.message} />}
      {preview.state === "ready" && (
        <Box display="flex" flexDirection="column" gap={2} data-testid="email-preview">
          <Text size={2}>
            <Text size={2} color="default2">
              From:{" "}
            </Text>
            <span data-testid="email-preview-sender">{preview.data.sender}</span>
          </Text>
          <Text size={2}>
            <Text size={2} color="default2">
              Subject:{" "}
            </Text>
            <span data-testid="email-preview-subject">{preview.data.subject}</span>
          </Text>
          <iframe title={`Preview of the ${label} email`} sandbox="" srcDoc={preview.data.html} className="loyalty-iframe" />
        </Box>
      )}
    </Card>
  );
}

/** The program's shopper emails: which kinds go out, the sender, and a preview of each. */
export function EmailsSection({ token, onSaved }: { token: string | undefined; onSaved: () => void }) {
  const { result } = useLoad(token, fetchEmailSettings);
  const [saved, setSaved] = useState(0);
  const afterSave = () => {
    setSaved((count) => count + 1);
    onSaved();
  };
  return (
    <Section id="emails" title="Emails" description="The emails shoppers get. A kind switched off is not sent (the app still records that it would have been).">
      {result.state === "loading" && <Loading what="email settings" />}
      {result.state === "error" && <Alert title="Email settings could not be loaded" message={result.message} />}
      {result.state === "ready" && (
        <>
          <EmailsForm token={token} settings={result.data} onSaved={afterSave} />
          <Preview token={token} kinds={result.data.kinds} saved={saved} />
        </>
      )}
    </Section>
  );
}
