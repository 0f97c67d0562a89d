import * as React from "react";
import { createRoot } from "react-dom/client";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { Toaster } from "sonner";
import "@/lib/i18n";
import "@/index.css";
import { applyBrand, loadConfig } from "@/lib/config";
import { applyTheme, currentTheme } from "@/lib/theme";
import App from "@/App";

applyTheme(currentTheme());
applyBrand();

const queryClient = new QueryClient({
  defaultOptions: { queries: { refetchOnWindowFocus: false, staleTime: 10_000 } },
});

// The API endpoint comes from config.json: pick it before the first call.
void loadConfig().then(() => {
  createRoot(document.getElementById("root")!).render(
    <React.StrictMode>
      <QueryClientProvider client={queryClient}>
        <App />
        <Toaster richColors position="top-right" closeButton />
      </QueryClientProvider>
    </React.StrictMode>,
  );
});
