import { useWidgetAutoResize } from "@saleor/app-sdk/app-bridge";
import { Box, Skeleton, Text } from "@saleor/macaw-ui";
import { useRef } from "react";

import { contextParam, useDashboard } from "../bridge";

/** A details-page widget: the context id it was opened for, and a loading / empty state until its data lands. */
function Widget({ title, idLabel, idParam, empty }: { title: string; idLabel: string; idParam: string; empty: string }) {
  const { ready } = useDashboard();
  const root = useRef<HTMLDivElement>(null);
  useWidgetAutoResize(root);
  const id = contextParam(idParam);
  return (
    <Box ref={root} as="section" aria-labelledby="widget-heading" padding={4} display="flex" flexDirection="column" gap={3}>
      <Text as="h2" id="widget-heading" size={4} fontWeight="bold">
        {title}
      </Text>
      <Box display="flex" gap={2} alignItems="baseline">
        <Text size={2} color="default2">
          {idLabel}
        </Text>
        <Text size={2} data-testid="context-id" style={{ wordBreak: "break-all" }}>
          {id ?? "none"}
        </Text>
      </Box>
      {!ready ? (
        <Box aria-busy="true" aria-live="polite" display="flex" flexDirection="column" gap={2}>
          <Text size={2} color="default2">
            Loading…
          </Text>
          <Skeleton __height="24px" />
        </Box>
      ) : (
        <Text size={2} color="default2" aria-live="polite">
          {empty}
        </Text>
      )}
    </Box>
  );
}

export function CustomerWidget() {
  return (
    <Widget
      title="Loyalty"
      idLabel="Customer"
      idParam="customerId"
      empty="No loyalty activity to show yet: the balance, tier and referrals of this customer appear here."
    />
  );
}

export function OrderWidget() {
  return (
    <Widget
      title="Loyalty points"
      idLabel="Order"
      idParam="orderId"
      empty="No points activity to show yet: what this order earned, spent and had clawed back appears here."
    />
  );
}
