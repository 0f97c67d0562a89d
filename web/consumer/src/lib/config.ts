// Run-time settings from /config.json (deployers edit it without a rebuild)
// and build-time branding from brand.yaml (compiled in as __BRAND__).

export interface PortalConfig {
  appTitle: string;
  /** Candidate API origins; the fastest to answer /health is used. */
  endpoints: string[];
  /** Legacy single endpoint (older config.json files). */
  grpcEndpoint: string;
  adminUrl: string;
}

type Localized = Record<string, string>;
export interface NavItem {
  label: Localized;
  to: string;
  icon?: string;
}
export interface Brand {
  name: string;
  logo: string;
  accent: string;
  header: NavItem[];
  sidebar: NavItem[];
}

declare const __BRAND__: Brand;
export const brand: Brand = __BRAND__;

/** The label of a brand navigation item in `language` (falls back to en, then any). */
export function navLabel(item: NavItem, language: string): string {
  return item.label[language] ?? item.label.en ?? Object.values(item.label)[0] ?? item.to;
}

let config: PortalConfig = { appTitle: brand.name, endpoints: [], grpcEndpoint: "", adminUrl: "" };
let endpoint = window.location.origin;

export function portalConfig(): PortalConfig {
  return config;
}

/** The API origin chosen at start-up. */
export function apiEndpoint(): string {
  return endpoint;
}

/** Milliseconds until `origin`/health answers 200, or Infinity. */
async function ping(origin: string, timeoutMs = 3000): Promise<number> {
  const started = performance.now();
  try {
    const response = await fetch(`${origin.replace(/\/+$/, "")}/health`, {
      signal: AbortSignal.timeout(timeoutMs),
      cache: "no-store",
    });
    return response.ok ? performance.now() - started : Number.POSITIVE_INFINITY;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

/**
 * Loads config.json and picks the endpoint: every candidate is pinged at
 * once and the fastest healthy one wins; with none healthy (or none listed)
 * the legacy grpcEndpoint, then this page's own origin, is used.
 */
export async function loadConfig(): Promise<void> {
  try {
    const response = await fetch("/config.json", { cache: "no-store" });
    if (response.ok) config = { ...config, ...((await response.json()) as Partial<PortalConfig>) };
  } catch {
    // No config.json: same-origin API, brand name as title.
  }
  document.title = config.appTitle || brand.name;
  const candidates = (config.endpoints ?? []).filter(Boolean);
  if (candidates.length > 0) {
    const timings = await Promise.all(candidates.map((candidate) => ping(candidate)));
    const best = timings.indexOf(Math.min(...timings));
    if (Number.isFinite(timings[best])) {
      endpoint = candidates[best].replace(/\/+$/, "");
      return;
    }
  }
  endpoint = (config.grpcEndpoint || window.location.origin).replace(/\/+$/, "");
}

/** Applies the brand's accent colour to the theme tokens. */
export function applyBrand() {
  if (brand.accent) {
    document.documentElement.style.setProperty("--primary", brand.accent);
    document.documentElement.style.setProperty("--ring", brand.accent);
  }
}
