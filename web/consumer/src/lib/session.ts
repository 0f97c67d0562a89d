// The customer's tokens, under the keys the open-source portal uses
// (upstream-wire.md §5.1), so a browser moving between the two stays
// logged in.
const TOKEN = "rustbill_customer_token";
const REFRESH = "rustbill_customer_refresh";
const EXPIRES = "rustbill_customer_expires";
const CUSTOMER = "rustbill_customer_id";

export interface Tokens {
  accessToken: string;
  refreshToken: string;
  /** Seconds the access token lives. */
  expiresIn: number;
  customerId?: string;
}

export const session = {
  accessToken: () => localStorage.getItem(TOKEN) ?? "",
  refreshToken: () => localStorage.getItem(REFRESH) ?? "",
  customerId: () => localStorage.getItem(CUSTOMER) ?? "",
  save(tokens: Tokens) {
    localStorage.setItem(TOKEN, tokens.accessToken);
    // Rotation: a refresh answer may carry a new refresh token.
    if (tokens.refreshToken) localStorage.setItem(REFRESH, tokens.refreshToken);
    localStorage.setItem(EXPIRES, String(Date.now() + tokens.expiresIn * 1000));
    if (tokens.customerId) localStorage.setItem(CUSTOMER, tokens.customerId);
  },
  clear() {
    for (const key of [TOKEN, REFRESH, EXPIRES, CUSTOMER]) localStorage.removeItem(key);
  },
};
