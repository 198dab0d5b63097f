import { Box, Button, Text } from "@saleor/macaw-ui";
import { useState } from "react";

import { fetchReferralReview, type ReviewedReferral, reviewReferral } from "../api";
import { useDashboard } from "../bridge";
import { Alert, Card, errorsByField, Loading, notify, points, Section, TextField, useLoad, when } from "./ui";

/** Why the fraud checks held a referral, as a merchant reads it. */
const FLAG_REASONS: Record<string, string> = {
  same_user: "The friend is the referrer's own account",
  same_email: "The friend's email is the referrer's (ignoring case, +tags and dots)",
  same_address: "The order ships to an address the referrer's orders used",
  same_phone: "The order uses a phone number the referrer's orders used",
  cap_reached: "The referrer reached the cap of rewarded referrals",
  order_returned: "The first order was refunded or cancelled",
};

export function flagReason(flag: string): string {
  return FLAG_REASONS[flag] ?? flag.replace(/_/g, " ");
}

const STATUS_LABELS: Record<string, string> = {
  QUALIFIED: "Approved (points pending)",
  REWARDED: "Approved",
  REJECTED: "Rejected",
  HELD: "Held",
  PENDING: "Pending",
};

function Held({ referral, token, onDecided }: { referral: ReviewedReferral; token: string | undefined; onDecided: () => void }) {
  const { locale } = useDashboard();
  const [note, setNote] = useState("");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const referrer = referral.referrerEmail ?? "a deleted customer";
  const referee = referral.refereeEmail ?? "a deleted customer";

  const decide = async (decision: "approve" | "reject") => {
    if (!token || busy) return;
    setBusy(true);
    try {
      const payload = await reviewReferral(token, decision, referral.id, note.trim());
      if (payload.errors.length) {
        setErrors(errorsByField(payload.errors));
        notify("error", decision === "approve" ? "Referral not approved" : "Referral not rejected", payload.errors.map((e) => e.message).join(" "));
      } else {
        notify("success", decision === "approve" ? "Referral approved" : "Referral rejected", `${referrer} → ${referee}`);
        onDecided();
      }
    } catch (error) {
      setErrors({ "": (error as Error).message });
      notify("error", "The decision was not saved", (error as Error).message);
    } finally {
      setBusy(false);
    }
  };

  const noteId = `note-${referral.id}`;
  const formError = errors[""] ?? errors.id;
  return (
    <Box as="li" data-testid="held-referral" aria-label={`Referral of ${referee} by ${referrer}`}>
      <Card>
        <Box display="flex" justifyContent="space-between" gap={4} flexWrap="wrap">
          <Box display="flex" flexDirection="column" gap={1}>
            <Text size={3} fontWeight="bold">
              {referrer} referred {referee}
            </Text>
            <Text size={2} color="default2">
              Held since {when(referral.createdAt, locale)}
              {referral.orderNumber ? ` · first order #${referral.orderNumber}` : referral.orderId ? ` · first order ${referral.orderId}` : ""}
            </Text>
          </Box>
          <Text size={2} color="default2">
            Rewards: {points(referral.referrerPoints)} to the referrer, {points(referral.refereePoints)} to the friend
          </Text>
        </Box>
        <Box>
          <Text size={2} fontWeight="medium">
            Why it was held
          </Text>
          <Box as="ul" margin={0} paddingLeft={4} marginTop={1}>
            {(referral.flags.length ? referral.flags : ["unknown"]).map((flag) => (
              <li key={flag}>
                <Text size={2} color="critical1" data-testid="flag">
                  {flag === "unknown" ? "No reason recorded" : flagReason(flag)}
                </Text>
              </li>
            ))}
          </Box>
        </Box>
        <Box
          as="form"
          aria-label={`Review the referral of ${referee}`}
          onSubmit={(event) => {
            event.preventDefault();
            decide("approve");
          }}
          display="flex"
          gap={3}
          alignItems="flex-start"
          flexWrap="wrap"
        >
          <Box __flex="1 1 280px">
            <TextField id={noteId} label={`Note on ${referee} (optional)`} value={note} onChange={setNote} error={errors.note} />
          </Box>
          <Box display="flex" gap={2} paddingTop={2}>
            <Button type="submit" variant="primary" disabled={busy}>
              Approve
            </Button>
            <Button type="button" variant="error" disabled={busy} onClick={() => decide("reject")}>
              Reject
            </Button>
          </Box>
        </Box>
        {formError && <Alert title="The decision was not saved" message={formError} />}
      </Card>
    </Box>
  );
}

function Decisions({ decisions }: { decisions: ReviewedReferral[] }) {
  const { locale } = useDashboard();
  if (!decisions.length) {
    return (
      <Text size={2} color="default2">
        No decisions yet.
      </Text>
    );
  }
  return (
    <table className="loyalty-table" aria-labelledby="decisions-heading" data-testid="decisions">
      <thead>
        <tr>
          <th scope="col">When</th>
          <th scope="col">Referral</th>
          <th scope="col">Decision</th>
          <th scope="col">By</th>
          <th scope="col">Note</th>
        </tr>
      </thead>
      <tbody>
        {decisions.map((decision) => (
          <tr key={decision.id}>
            <td>{when(decision.reviewedAt, locale)}</td>
            <td>
              {decision.referrerEmail ?? "—"} → {decision.refereeEmail ?? "—"}
            </td>
            <td>{STATUS_LABELS[decision.status] ?? decision.status}</td>
            <td>{decision.reviewedBy ?? "—"}</td>
            <td>{decision.reviewNote || "—"}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The Referrals tab: the review queue of referrals the fraud checks held, and the decisions taken. */
export function ReferralsTab({ token }: { token: string | undefined }) {
  const { result, reload } = useLoad(token, fetchReferralReview);
  return (
    <Box display="flex" flexDirection="column" gap={10} __maxWidth="880px">
      <Section
        id="review-queue"
        title="Review queue"
        description="Referrals the fraud checks held, oldest first. Approving pays both sides (pending through the order's return window); rejecting pays nothing."
      >
        {result.state === "loading" && <Loading what="the review queue" />}
        {result.state === "error" && <Alert title="The review queue could not be loaded" message={result.message} />}
        {result.state === "ready" &&
          (result.data.referralsToReview.length ? (
            <ul className="loyalty-list" aria-label="Held referrals">
              {result.data.referralsToReview.map((referral) => (
                <Held key={referral.id} referral={referral} token={token} onDecided={reload} />
              ))}
            </ul>
          ) : (
            <Text size={2} color="default2" data-testid="queue-empty">
              Nothing to review: no referral is held.
            </Text>
          ))}
      </Section>
      <Section id="decisions" title="Decisions" description="What reviewers decided, newest first.">
        {result.state === "ready" && <Decisions decisions={result.data.referralDecisions} />}
      </Section>
    </Box>
  );
}
