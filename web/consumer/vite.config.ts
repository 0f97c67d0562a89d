import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";
import tailwindcss from "@tailwindcss/vite";
import { readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";

// brand.yaml is read at build time and compiled in as __BRAND__; config.json
// (endpoints, title) is fetched at run time, so one build serves any domain.
const brand = parse(readFileSync(path.resolve(__dirname, "brand.yaml"), "utf8"));

export default defineConfig({
  base: "/",
  plugins: [react(), tailwindcss()],
  define: { __BRAND__: JSON.stringify(brand) },
  resolve: { alias: { "@": path.resolve(__dirname, "src") } },
  build: { outDir: "dist", emptyOutDir: true, chunkSizeWarningLimit: 1500 },
  server: {
    port: 5174,
    proxy: { "^/rustbill\\.": { target: process.env.RUSTBILL_EDGE ?? "http://127.0.0.1:50051" } },
  },
});
