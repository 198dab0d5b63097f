// The customer popup: opened from a customer's "more actions" menu (CUSTOMER_DETAILS_MORE_ACTIONS, target POPUP).
// The same forms as the customer widget; after a successful save the form has already notified the dashboard, and
// the popup tells the customer widget on the same page to read the account again (a BroadcastChannel between the
// app's two frames) and asks the dashboard to close it (AppBridge `popupClose`).
import { actions } from "@saleor/app-sdk/app-bridge";
import { Box, Button, Text } from "@saleor/macaw-ui";

import { fetchCustomerLoyalty } from "../api";
import { announceCustomerChanged, appBridge, contextParam, useDashboard } from "../bridge";
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
  const saved = () => {
    if (customerId) announceCustomerChanged(customerId); // the customer card under the popup reads it again
    closePopup();
  };
  return (
    <Box as="main" aria-labelledby="popup-heading" padding={6} display="flex" flexDirection="column" gap={4}>
      {/* The dashboard titles the dialog with the extension's label: this heading is for screen readers only. */}
      <h1 id="popup-heading" className="loyalty-visually-hidden">
        Loyalty points
      </h1>
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
                  <Fact label="Tier" value={tierLabel(loyalty.tier)} testId="tier" />
                </Box>
              </Box>
            ) : (
              <Text size={2} color="default2" data-testid="no-activity">
                No loyalty activity yet: this customer has not earned any points.
              </Text>
            ))}
          {result.state !== "error" && <AdjustPoints token={token} customerId={customerId} onAdjusted={saved} />}
          {result.state === "ready" && <PinTier token={token} customerId={customerId} pinned={pinnedTier(loyalty)} onChanged={saved} />}
        </>
      )}
      <Box display="flex" justifyContent="flex-end">
        <Button type="button" variant="secondary" onClick={closePopup}>
          Close
        </Button>
      </Box>
    </Box>
  );
}
