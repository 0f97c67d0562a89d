import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";
import tailwindcss from "@tailwindcss/vite";
import path from "node:path";

// Relative asset URLs: the edge serves the app under any [server].admin_path
// and rewrites <base href> in index.html to it.
export default defineConfig({
  base: "./",
  plugins: [react(), tailwindcss()],
  resolve: { alias: { "@": path.resolve(__dirname, "src") } },
  build: { outDir: "dist", emptyOutDir: true, chunkSizeWarningLimit: 1500 },
  server: {
    // `npm run dev` against a running edge (make run): API calls go to it.
    proxy: { "^/rustbill\\.": { target: process.env.RUSTBILL_EDGE ?? "http://127.0.0.1:50051", changeOrigin: false } },
  },
});
