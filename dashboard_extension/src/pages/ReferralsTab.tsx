import { Box, Button, Text } from "@saleor/macaw-ui";
import { type FormEvent, useEffect, useState } from "react";

import {
  fetchReferralProgram,
  fetchReferralReview,
  fetchReferralStats,
  type ReferralFunnel,
  type ReferralProgram,
  type ReviewedReferral,
  reviewReferral,
  type TopReferrer,
  updateReferralProgram,
} from "../api";
import { useDashboard } from "../bridge";
import { DataTable, Empty, FieldGrid, Form, Loaded, useFormState } from "./blocks";
import {
  Alert,
  Card,
  CheckboxField,
  errorsByField,
  notify,
  points,
  Section,
  TextField,
  useLoad,
  useSave,
  when,
  WHOLE,
} from "./ui";

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
  if (!decisions.length) return <Empty>No decisions yet.</Empty>;
  return (
    <DataTable columns={["When", "Referral", "Decision", "By", "Note"]} labelledBy="decisions-heading" testId="decisions">
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
    </DataTable>
  );
}

// -- Terms -----------------------------------------------------------------------------------------------------

type TermsForm = Record<keyof ReferralProgram, string | boolean>;
const OPTIONAL = new Set(["maxRewardedPerPeriod", "maxRewardedTotal"]);
const COUNTS = ["refereeRewardPoints", "referrerRewardPoints", "maxRewardedPerPeriod", "capPeriodDays", "maxRewardedTotal"] as const;

function termsForm(program: ReferralProgram): TermsForm {
  return {
    isActive: program.isActive,
    storefrontUrl: program.storefrontUrl,
    refereeRewardPoints: String(program.refereeRewardPoints),
    referrerRewardPoints: String(program.referrerRewardPoints),
    maxRewardedPerPeriod: program.maxRewardedPerPeriod === null ? "" : String(program.maxRewardedPerPeriod),
    capPeriodDays: String(program.capPeriodDays),
    maxRewardedTotal: program.maxRewardedTotal === null ? "" : String(program.maxRewardedTotal),
  };
}

function Terms({ token, program }: { token: string | undefined; program: ReferralProgram }) {
  const [saved, setSaved] = useState(program);
  const { form, setForm, set } = useFormState<TermsForm>(() => termsForm(program));
  const save = useSave();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!token) return;
    const before = termsForm(saved);
    const input: Record<string, unknown> = {};
    const local: Record<string, string> = {};
    for (const name of Object.keys(form) as (keyof ReferralProgram)[]) {
      const value = form[name];
      if (value === before[name]) continue;
      if ((COUNTS as readonly string[]).includes(name)) {
        const text = String(value).trim();
        if (text === "" && OPTIONAL.has(name)) input[name] = null;
        else if (WHOLE.test(text)) input[name] = Number(text);
        else local[name] = OPTIONAL.has(name) ? "Enter a whole number, or leave it empty for no cap." : "Enter a whole number.";
      } else {
        input[name] = typeof value === "string" ? value.trim() : value;
      }
    }
    if (Object.keys(local).length) return save.refuse(local);
    if (!Object.keys(input).length) {
      save.setErrors({});
      save.setStatus("Nothing changed.");
      return;
    }
    const payload = await save.run(
      { ok: "Referral terms saved", failed: "Referral terms not saved" },
      () => updateReferralProgram(token, input as Partial<ReferralProgram>),
      () => "Saved. Referrals already started keep the rewards they were given.",
    );
    if (payload) {
      setSaved(payload.program);
      setForm(termsForm(payload.program));
    }
  };

  const id = (name: string) => `referral-program-${name}`;
  return (
    <Form
      labelledBy="referral-terms-heading"
      onSubmit={submit}
      save={save}
      submitLabel="Save referral terms"
      statusTestId="referral-terms-status"
    >
      <FieldGrid>
        <CheckboxField id={id("isActive")} label="Referral program active" checked={form.isActive === true} onChange={set("isActive")} error={save.errors.isActive} help="Off: codes stop earning; referrals already started go on." />
        <TextField id={id("storefrontUrl")} label="Storefront page for links" value={String(form.storefrontUrl)} onChange={set("storefrontUrl")} error={save.errors.storefrontUrl} help="Links are this address with ?ref=<code>." />
        <TextField id={id("referrerRewardPoints")} label="Referrer's reward (points)" value={String(form.referrerRewardPoints)} onChange={set("referrerRewardPoints")} error={save.errors.referrerRewardPoints} inputMode="numeric" />
        <TextField id={id("refereeRewardPoints")} label="Friend's welcome reward (points)" value={String(form.refereeRewardPoints)} onChange={set("refereeRewardPoints")} error={save.errors.refereeRewardPoints} inputMode="numeric" />
        <TextField id={id("maxRewardedPerPeriod")} label="Rewarded referrals per period (cap)" value={String(form.maxRewardedPerPeriod)} onChange={set("maxRewardedPerPeriod")} error={save.errors.maxRewardedPerPeriod} inputMode="numeric" help="Per referrer; more are held for review. Empty: no cap." />
        <TextField id={id("capPeriodDays")} label="Cap period (days)" value={String(form.capPeriodDays)} onChange={set("capPeriodDays")} error={save.errors.capPeriodDays} inputMode="numeric" />
        <TextField id={id("maxRewardedTotal")} label="Rewarded referrals ever (cap)" value={String(form.maxRewardedTotal)} onChange={set("maxRewardedTotal")} error={save.errors.maxRewardedTotal} inputMode="numeric" help="Per referrer. Empty: no cap." />
      </FieldGrid>
    </Form>
  );
}

function TermsSection({ token }: { token: string | undefined }) {
  const { result } = useLoad(token, fetchReferralProgram);
  return (
    <Section id="referral-terms" title="Referral terms" description="What each side earns, the caps, and the storefront page links point at. Changes apply to referrals started from now on.">
      <Loaded result={result} what="the referral terms" failed="The referral terms could not be loaded">
        {(program) => <Terms token={token} program={program} />}
      </Loaded>
    </Section>
  );
}

// -- Funnel and top referrers ----------------------------------------------------------------------------------

function percent(part: number, whole: number): string {
  return whole ? `${Math.round((part / whole) * 100)}%` : "—";
}

function Funnel({ funnel }: { funnel: ReferralFunnel }) {
  const steps = [
    { label: "Codes shared", value: funnel.codesShared },
    { label: "Sign-ups", value: funnel.signUps },
    { label: "First orders", value: funnel.firstOrders },
    { label: "Rewarded", value: funnel.rewarded },
  ];
  const top = Math.max(1, ...steps.map((step) => step.value));
  return (
    <Box as="ol" className="loyalty-list" aria-label="Referral funnel, all time" data-testid="funnel">
      {steps.map((step, index) => (
        <Box as="li" key={step.label} display="grid" __gridTemplateColumns="140px 1fr 220px" gap={3} alignItems="center">
          <Text size={2}>{step.label}</Text>
          <Box backgroundColor="default1Hovered" borderRadius={2} __height="12px" aria-hidden="true">
            <Box className="loyalty-funnel-bar" borderRadius={2} __height="12px" __width={`${(step.value / top) * 100}%`} />
          </Box>
          <Text size={2} fontWeight="medium" data-testid={`funnel-${index}`}>
            {step.value.toLocaleString("en-US")}
            {index === 1 && funnel.codesShared > 0 && (
              <Text size={1} color="default2">{` (${(step.value / funnel.codesShared).toFixed(1)} per code)`}</Text>
            )}
            {index > 1 && <Text size={1} color="default2">{` (${percent(step.value, steps[index - 1].value)} of the step before)`}</Text>}
          </Text>
        </Box>
      ))}
    </Box>
  );
}

function TopReferrers({ referrers }: { referrers: TopReferrer[] }) {
  if (!referrers.length) return <Empty>Nobody has referred a friend yet.</Empty>;
  return (
    <DataTable columns={["Member", "Referrals", "Rewarded"]} labelledBy="top-referrers-heading" testId="top-referrers">
        {referrers.map((referrer) => (
          <tr key={referrer.customerId ?? referrer.email}>
            <td>{referrer.email || referrer.customerId || "—"}</td>
            <td>{referrer.referrals}</td>
            <td>{referrer.rewarded}</td>
          </tr>
        ))}
    </DataTable>
  );
}

function Stats({ token, generation }: { token: string | undefined; generation: number }) {
  const { result, reload } = useLoad(token, fetchReferralStats);
  useEffect(() => {
    if (generation) reload();
  }, [generation, reload]);
  return (
    <>
      <Section id="funnel" title="Funnel" description="All time: codes shared → friends who signed up → their first orders → referrals rewarded.">
        <Loaded result={result} what="the funnel" failed="The funnel could not be loaded">
          {(stats) => <Funnel funnel={stats.referralFunnel} />}
        </Loaded>
      </Section>
      <Section id="top-referrers" title="Top referrers" description="The members with the most rewarded referrals.">
        {result.state === "ready" && <TopReferrers referrers={result.data.topReferrers} />}
      </Section>
    </>
  );
}

/** The Referrals tab: the review queue of referrals the fraud checks held, the decisions taken, the funnel and top
 * referrers, and the program's terms. */
export function ReferralsTab({ token }: { token: string | undefined }) {
  const { result, reload: reloadQueue } = useLoad(token, fetchReferralReview);
  const [generation, setGeneration] = useState(0);
  const reload = () => {
    reloadQueue();
    setGeneration((value) => value + 1);
  };
  return (
    <Box display="flex" flexDirection="column" gap={10} __maxWidth="880px">
      <Section
        id="review-queue"
        title="Review queue"
        description="Referrals the fraud checks held, oldest first. Approving pays both sides (pending through the order's return window); rejecting pays nothing."
      >
        <Loaded result={result} what="the review queue" failed="The review queue could not be loaded">
          {(review) =>
            review.referralsToReview.length ? (
              <ul className="loyalty-list" aria-label="Held referrals">
                {review.referralsToReview.map((referral) => (
                  <Held key={referral.id} referral={referral} token={token} onDecided={reload} />
                ))}
              </ul>
            ) : (
              <Empty testId="queue-empty">Nothing to review: no referral is held.</Empty>
            )
          }
        </Loaded>
      </Section>
      <Section id="decisions" title="Decisions" description="What reviewers decided, newest first.">
        {result.state === "ready" && <Decisions decisions={result.data.referralDecisions} />}
      </Section>
      <Stats token={token} generation={generation} />
      <TermsSection token={token} />
    </Box>
  );
}
