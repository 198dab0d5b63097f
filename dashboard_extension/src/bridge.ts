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
