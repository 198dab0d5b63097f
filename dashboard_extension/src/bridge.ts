// The one AppBridge of the page, created as soon as the module runs: the dashboard posts its handshake as soon as
// the iframe loads, without waiting for the app, so the listener must exist before React's first effect.
import { AppBridge, type AppBridgeState } from "@saleor/app-sdk/app-bridge";
import { useEffect, useState } from "react";

export const appBridge = new AppBridge();

const EVENTS = ["handshake", "theme", "localeChanged", "tokenRefresh", "redirect"] as const;

/** The dashboard's state (token, theme, locale, versions), re-rendered on every event the dashboard posts. */
export function useDashboard(): AppBridgeState {
  const [state, setState] = useState<AppBridgeState>(() => appBridge.getState());
  useEffect(() => {
    const update = () => setState(appBridge.getState());
    const unsubscribes = EVENTS.map((event) => appBridge.subscribe(event, update));
    update(); // an event may have arrived between the first render and this effect
    return () => unsubscribes.forEach((unsubscribe) => unsubscribe());
  }, []);
  return state;
}

/** The context ids the dashboard puts in a widget's URL (`customerId`, `orderId`, ...). */
export function contextParam(name: string): string | null {
  return new URLSearchParams(window.location.search).get(name);
}

// The customer popup and the customer widget are two iframes of this app on the same customer page: same origin,
// same storage partition, so a BroadcastChannel reaches from one to the other (the dashboard relays nothing).
const CUSTOMER_CHANNEL = "saleor-loyalty:customer";
type CustomerChanged = { type: "customerChanged"; customerId: string };

/** Tells the app's other frames (the customer widget under the popup) that this customer's loyalty changed. */
export function announceCustomerChanged(customerId: string): void {
  if (typeof BroadcastChannel === "undefined") return;
  const channel = new BroadcastChannel(CUSTOMER_CHANNEL);
  channel.postMessage({ type: "customerChanged", customerId } satisfies CustomerChanged);
  channel.close(); // a message already posted is still delivered
}

/** Calls `onChanged` when another of the app's frames announces a change to this customer. */
export function useCustomerChanged(customerId: string | null, onChanged: () => void): void {
  useEffect(() => {
    if (!customerId || typeof BroadcastChannel === "undefined") return;
    const channel = new BroadcastChannel(CUSTOMER_CHANNEL);
    channel.onmessage = (event: MessageEvent<CustomerChanged>) => {
      if (event.data?.type === "customerChanged" && event.data.customerId === customerId) onChanged();
    };
    return () => channel.close();
  }, [customerId, onChanged]);
}
