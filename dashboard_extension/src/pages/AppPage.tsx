import { Box, Text } from "@saleor/macaw-ui";
import { useState } from "react";

import { useDashboard } from "../bridge";
import { ApiKeysTab } from "./ApiKeysTab";
import { CampaignsTab, RewardsTab } from "./CatalogTabs";
import { PaymentsTab } from "./PaymentsTab";
import { ProgramTab } from "./ProgramTab";
import { RebatesTab } from "./RebatesTab";
import { ReferralsTab } from "./ReferralsTab";
import { type Tab, Tabs } from "./Tabs";
import { TiersTab } from "./TiersTab";

/** The app's page in the dashboard (Extensions → Loyalty, and Customers → Loyalty). */
export function AppPage() {
  const { token, ready } = useDashboard();
  const [selected, setSelected] = useState("program");
  const tabs: Tab[] = [
    { id: "program", label: "Program", content: <ProgramTab token={token} /> },
    { id: "rewards", label: "Rewards", content: <RewardsTab token={token} /> },
    { id: "campaigns", label: "Campaigns", content: <CampaignsTab token={token} /> },
    { id: "tiers", label: "Tiers", content: <TiersTab token={token} /> },
    { id: "rebates", label: "Rebates", content: <RebatesTab token={token} /> },
    { id: "payments", label: "Payments", content: <PaymentsTab token={token} /> },
    { id: "referrals", label: "Referrals", content: <ReferralsTab token={token} /> },
    { id: "api-keys", label: "API keys", content: <ApiKeysTab token={token} /> },
  ];
  return (
    <Box padding={8} display="flex" flexDirection="column" gap={6} backgroundColor="default1" __minHeight="100vh">
      <Box display="flex" flexDirection="column" gap={1}>
        <Text as="h1" size={8} fontWeight="bold">
          Loyalty
        </Text>
        <Text size={3} color="default2">
          Points, tiers, rebates, paid plans, referrals and campaigns for your store.
        </Text>
      </Box>
      {!ready && (
        <Text size={2} color="default2" aria-live="polite">
          Connecting to the Saleor dashboard…
        </Text>
      )}
      <Tabs label="Loyalty program" tabs={tabs} selected={selected} onSelect={setSelected} />
    </Box>
  );
}
