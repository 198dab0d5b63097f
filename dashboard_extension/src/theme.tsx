import { useTheme } from "@saleor/macaw-ui";
import { useEffect } from "react";

import { useDashboard } from "./bridge";

/** Follows the dashboard's theme and locale as its AppBridge messages say (a widget may get no `theme` query). */
export function DashboardLook() {
  const { theme, locale } = useDashboard();
  const { setTheme } = useTheme();
  useEffect(() => {
    setTheme(theme === "dark" ? "defaultDark" : "defaultLight");
    document.documentElement.dataset.theme = theme;
    document.documentElement.style.colorScheme = theme;
  }, [theme, setTheme]);
  useEffect(() => {
    document.documentElement.lang = locale.replace("_", "-");
  }, [locale]);
  return null;
}
