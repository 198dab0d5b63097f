// The customer popup: opened from a customer's "more actions" menu (CUSTOMER_DETAILS_MORE_ACTIONS, target POPUP).
// The same forms as the customer widget; after a successful save the form has already notified the dashboard, and
// the popup asks the dashboard to close it (AppBridge `popupClose`).
import { actions } from "@saleor/app-sdk/app-bridge";
import { Box, Button, Text } from "@saleor/macaw-ui";

import { fetchCustomerLoyalty } from "../api";
import { appBridge, contextParam, useDashboard } from "../bridge";
import { AdjustPoints, BalanceFacts, PinTier, pinnedTier, tierLabel } from "./customer";
import { Alert, Fact, Loading, useLoad } from "./ui";

/** Asks the dashboard to close this popup; outside a dashboard nothing happens. */
function closePopup(): void {
  appBridge.dispatch(actions.PopupClose()).catch(() => undefined);
}

export function CustomerPopup() {
  const { token } = useDashboard();
  const customerId = contextParam("customerId");
  const { result } = useLoad(token, (t) => (customerId ? fetchCustomerLoyalty(t, customerId) : Promise.resolve(null)));
  const loyalty = result.state === "ready" ? result.data : null;
  return (
    <Box as="main" aria-labelledby="popup-heading" padding={6} display="flex" flexDirection="column" gap={4}>
      <Box display="flex" justifyContent="space-between" alignItems="center" gap={4}>
        <Text as="h1" id="popup-heading" size={5} fontWeight="bold">
          Loyalty points
        </Text>
        <Button type="button" variant="secondary" onClick={closePopup}>
          Close
        </Button>
      </Box>
      {!customerId ? (
        <Text size={2} color="default2">
          Open this from a customer's page in the Saleor dashboard (more actions).
        </Text>
      ) : (
        <>
          {result.state === "loading" && <Loading what="the loyalty account" />}
          {result.state === "error" && <Alert title="The loyalty account could not be loaded" message={result.message} />}
          {result.state === "ready" &&
            (loyalty ? (
              <Box display="flex" flexDirection="column" gap={2}>
                <BalanceFacts balance={loyalty.account.balance} />
                <Box as="dl" margin={0}>
                  <Fact
                    label="Tier"
                    value={tierLabel(loyalty.tier)}
                    testId="tier"
                  />
                </Box>
              </Box>
            ) : (
              <Text size={2} color="default2" data-testid="no-activity">
                No loyalty activity yet: this customer has not earned any points.
              </Text>
            ))}
          {result.state !== "error" && <AdjustPoints token={token} customerId={customerId} onAdjusted={closePopup} />}
          {result.state === "ready" && (
            <PinTier token={token} customerId={customerId} pinned={pinnedTier(loyalty)} onChanged={closePopup} />
          )}
        </>
      )}
    </Box>
  );
}
