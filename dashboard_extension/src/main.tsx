import "@saleor/macaw-ui/style";
import "./pages/pages.css";

import { AppBridgeProvider } from "@saleor/app-sdk/app-bridge";
import { ThemeProvider } from "@saleor/macaw-ui";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";

import { appBridge } from "./bridge";
import { AppPage } from "./pages/AppPage";
import { CustomerPopup } from "./pages/popup";
import { CustomerWidget, OrderWidget } from "./pages/widgets";
import { DashboardLook } from "./theme";

/** One bundle, routed by path: Django serves the same index.html for the app page, each widget and the popup. */
function Page() {
  const path = window.location.pathname.replace(/\/+$/, "");
  if (path.endsWith("/widget/customer")) return <CustomerWidget />;
  if (path.endsWith("/widget/order")) return <OrderWidget />;
  if (path.endsWith("/popup/customer")) return <CustomerPopup />;
  return <AppPage />;
}

const initialTheme = appBridge.getState().theme === "dark" ? "defaultDark" : "defaultLight";

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <AppBridgeProvider appBridgeInstance={appBridge}>
      <ThemeProvider defaultTheme={initialTheme}>
        <DashboardLook />
        <Page />
      </ThemeProvider>
    </AppBridgeProvider>
  </StrictMode>,
);
