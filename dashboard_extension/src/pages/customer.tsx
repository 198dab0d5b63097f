// The customer's loyalty forms and balance, shared by the customer widget (CUSTOMER_DETAILS_WIDGETS) and the
// customer popup (CUSTOMER_DETAILS_MORE_ACTIONS). Each form notifies the dashboard itself; the page decides what a
// successful save does next (the widget reloads the account, the popup closes).
import { Box, Button, Text } from "@saleor/macaw-ui";
import { type FormEvent, type ReactNode, useState } from "react";

import { adjustPoints, type Balance, type CustomerLoyalty, freshKey, pinTier, unpinTier } from "../api";
import { Alert, errorsByField, Fact, notify, points, Status, TextField, useSave } from "./ui";

export function BalanceFacts({ balance }: { balance: Balance }) {
  return (
    <Box as="dl" margin={0} display="flex" flexDirection="column" gap={2} data-testid="balance">
      <Fact label="Available" value={points(balance.available)} testId="balance-available" />
      <Fact label="Pending" value={points(balance.pending)} testId="balance-pending" />
      <Fact label="Held by a redemption" value={points(balance.held)} testId="balance-held" />
      <Fact label="Owed after refunds" value={points(balance.owed)} testId="balance-owed" />
    </Box>
  );
}

/** The customer's tier as shown: its name, "(pinned)" when pinned, "None" without one. */
/** A form of the card's actions (adjust, pin): a rule above it, a heading that names it. */
function ActionForm({ headingId, title, onSubmit, children }: {
  headingId: string;
  title: string;
  onSubmit: (event: FormEvent) => void;
  children: ReactNode;
}) {
  return (
    <Box
      as="form"
      aria-labelledby={headingId}
      onSubmit={onSubmit}
      display="flex"
      flexDirection="column"
      gap={3}
      paddingTop={3}
      borderTopStyle="solid"
      borderTopWidth={1}
      borderColor="default1"
      noValidate
    >
      <Text as="h3" id={headingId} size={3} fontWeight="bold">
        {title}
      </Text>
      {children}
    </Box>
  );
}

export function tierLabel(tier: CustomerLoyalty["tier"]): string {
  return tier.current ? `${tier.current.name}${tier.current.pinned ? " (pinned)" : ""}` : "None";
}

/** The name of the tier the customer is pinned at, if any. */
export function pinnedTier(loyalty: CustomerLoyalty | null): string | null {
  return loyalty?.tier.current?.pinned ? loyalty.tier.current.name : null;
}

export function AdjustPoints({ token, customerId, onAdjusted }: { token: string | undefined; customerId: string; onAdjusted: () => void }) {
  const [amount, setAmount] = useState("");
  const [reason, setReason] = useState("");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [result, setResult] = useState("");
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!token || busy) return;
    const local: Record<string, string> = {};
    const text = amount.trim();
    if (!/^-?\d+$/.test(text) || Number(text) === 0) local.points = "Enter a whole number of points: positive to add, negative to deduct.";
    if (!reason.trim()) local.reason = "Say why: it is kept with the adjustment.";
    if (Object.keys(local).length) {
      setErrors(local);
      setResult("");
      return;
    }
    setBusy(true);
    try {
      const payload = await adjustPoints(token, customerId, Number(text), reason.trim(), freshKey());
      if (payload.errors.length) {
        setErrors(errorsByField(payload.errors));
        setResult("");
        notify("error", "Points not adjusted", payload.errors.map((error) => error.message).join(" "));
      } else {
        setErrors({});
        setAmount("");
        setReason("");
        const available = payload.balance?.available ?? 0;
        setResult(`Adjusted. New balance: ${points(available)} available.`);
        notify("success", "Points adjusted", `New balance: ${points(available)} available.`);
        onAdjusted();
      }
    } catch (error) {
      setErrors({ "": (error as Error).message });
      notify("error", "Points not adjusted", (error as Error).message);
    } finally {
      setBusy(false);
    }
  };

  const formError = errors[""] ?? errors.customerId ?? errors.idempotencyKey;
  return (
    <ActionForm headingId="adjust-heading" title="Adjust points" onSubmit={submit}>
      <TextField
        id="adjust-points"
        label="Points (negative to deduct)"
        value={amount}
        onChange={setAmount}
        error={errors.points}
        inputMode="numeric"
      />
      <TextField id="adjust-reason" label="Reason" value={reason} onChange={setReason} error={errors.reason} />
      {formError && <Alert title="Points not adjusted" message={formError} />}
      <Box display="flex" gap={3} alignItems="center">
        <Button type="submit" variant="primary" disabled={busy}>
          Adjust points
        </Button>
        <Text size={2} color="success1" aria-live="polite" data-testid="adjust-result">
          {result}
        </Text>
      </Box>
    </ActionForm>
  );
}

export function PinTier({ token, customerId, pinned, onChanged }: {
  token: string | undefined;
  customerId: string;
  pinned: string | null;
  onChanged: () => void;
}) {
  const [tier, setTier] = useState("");
  const [reason, setReason] = useState("");
  const save = useSave();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!token) return;
    const local: Record<string, string> = {};
    if (!tier.trim()) local.tier = "Type the tier's name, as on the Tiers tab.";
    if (!reason.trim()) local.reason = "Say why: it is kept with the pin.";
    if (Object.keys(local).length) return save.refuse(local);
    const payload = await save.run(
      { ok: "Tier pinned", failed: "Tier not pinned" },
      () => pinTier(token, customerId, tier.trim(), reason.trim()),
      (answer) => `Pinned at ${answer.pinnedTier}: the customer is now in ${answer.tier}.`,
    );
    if (payload) {
      setTier("");
      setReason("");
      onChanged();
    }
  };

  const unpin = async () => {
    if (!token) return;
    const payload = await save.run(
      { ok: "Tier unpinned", failed: "Tier not unpinned" },
      () => unpinTier(token, customerId),
      (answer) => `Unpinned: ${answer.tier ?? "no tier"} until the next review finds otherwise.`,
    );
    if (payload) onChanged();
  };

  const formError = save.errors[""] ?? save.errors.customerId;
  return (
    <ActionForm headingId="pin-heading" title="Pin a tier" onSubmit={submit}>
      <Text size={2} color="default2">
        The customer stays at this tier or above, whatever they spend, until unpinned.
      </Text>
      <TextField id="pin-tier" label="Tier" value={tier} onChange={setTier} error={save.errors.tier} />
      <TextField id="pin-reason" label="Why" value={reason} onChange={setReason} error={save.errors.reason} />
      {formError && <Alert title="Not done" message={formError} />}
      <Box display="flex" gap={3} alignItems="center" flexWrap="wrap">
        <Button type="submit" variant="primary" disabled={save.busy}>
          Pin tier
        </Button>
        {pinned && (
          <Button type="button" variant="secondary" disabled={save.busy} onClick={unpin}>
            Unpin {pinned}
          </Button>
        )}
        <Status testId="pin-result">{save.status}</Status>
      </Box>
    </ActionForm>
  );
}
