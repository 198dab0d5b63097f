import { fileURLToPath } from "node:url";

import react from "@vitejs/plugin-react";
import { defineConfig, type Plugin } from "vite";

const OUT_DIR = fileURLToPath(new URL("../saleor_loyalty/dashboard/static/dashboard", import.meta.url));

// macaw-ui's stylesheet declares ~50 font files (4 MB). The dashboard's text is Inter: keep its one variable font
// and drop the other @font-face rules, so the build ships one font instead of fifty.
const KEPT_FONTS = ["Inter-roman.var.woff2"];

function onlyInterFont(): Plugin {
  return {
    name: "loyalty:only-inter-font",
    enforce: "pre",
    transform(code, id) {
      if (!id.includes("@saleor/macaw-ui") || !id.endsWith(".css")) return null;
      return code.replace(/@font-face\s*{[^}]*}/g, (rule) =>
        KEPT_FONTS.some((font) => rule.includes(font)) ? rule : "",
      );
    },
  };
}

export default defineConfig({
  // Django serves index.html at /app/ and the widget paths, and the assets at /app/assets/.
  base: "/app/",
  plugins: [onlyInterFont(), react()],
  build: {
    outDir: OUT_DIR,
    emptyOutDir: true,
    assetsDir: "assets",
    sourcemap: false,
    reportCompressedSize: true,
    chunkSizeWarningLimit: 600,
  },
});
