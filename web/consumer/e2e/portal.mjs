// A new customer's first day in the portal, in headless Chromium against
// the real stack the Rust harness started (tests/tests/system/portal_web.rs)
// with the portal's static build behind Caddy: register with the e-mailed
// code, browse and configure, order and pay through epay (the gateway's
// cashier page) and by bank transfer (confirmed by the operator), see both
// servers active, recharge the balance, download and pay the renewal
// invoice, open a ticket and read the answer, create / use / revoke an API
// key, change the password, and look at it all on a phone and in the dark.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { ask, closeBrowser, doneAsking, env, launch, rpc, shot, step, waitFor } from "../../ui/e2e/kit.mjs";

const PORTAL = env("PORTAL_URL");
const EMAIL = "mei.portal@example.com";
const USERNAME = "mei_portal";
const PASSWORD = "Mei-Portal-2026!";
const NEW_PASSWORD = "Mei-Portal-2027!";

const browser = await launch();
const context = await browser.newContext({ locale: "zh-CN", viewport: { width: 1366, height: 900 }, reducedMotion: "reduce", acceptDownloads: true });
context.setDefaultTimeout(20_000);
const page = await context.newPage();
const pageErrors = [];
page.on("pageerror", (error) => pageErrors.push(String(error)));

let epayOrder = "";
let bankOrder = "";

/** The order page's id from the URL. */
const orderIdOf = (url) => new URL(url).pathname.split("/").pop();

/**
 * Opens the epay cashier from the payment panel (a new tab, as for a
 * customer) and pays there. The tab is left open: closing a page that is
 * still navigating can hang in Chromium, and the context closes it at the end.
 */
async function payAtCashier() {
  const popup = page.waitForEvent("popup");
  await page.getByRole("link", { name: "Open the payment page" }).click();
  const cashier = await popup;
  await cashier.getByRole("button", { name: /Pay/ }).click();
  // Back to the merchant's return URL, or epay's own "paid" page without one.
  await waitFor(
    "the cashier to finish",
    async () => cashier.url().startsWith(PORTAL) || (await cashier.getByRole("heading", { name: /Paid/ }).isVisible()),
  );
  await page.bringToFront();
}

try {
  await step(page, "the home page speaks Chinese by default", async () => {
    await page.goto(PORTAL);
    await page.getByRole("link", { name: "注册" }).first().waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.lang), "zh-CN");
    assert.equal(await page.title(), "RustBill Cloud", "appTitle from config.json");
    await shot(page, "home");
  });

  await step(page, "switch to English", async () => {
    await page.getByLabel("语言").selectOption("en");
    await page.getByRole("link", { name: "Sign up" }).first().waitFor();
  });

  await step(page, "the catalog shows the category, group and product", async () => {
    await page.goto(`${PORTAL}/catalog`);
    await page.getByText("Cloud servers").first().waitFor();
    await page.getByText("Hong Kong").first().waitFor();
    await page.getByText("HK VPS Starter").first().waitFor();
    await shot(page, "catalog");
  });

  await step(page, "register with the e-mailed code", async () => {
    await page.goto(`${PORTAL}/register`);
    await page.getByLabel("Username").fill(USERNAME);
    await page.getByLabel("Email").fill(EMAIL);
    await page.getByLabel("Display name").fill("Mei");
    await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
    await page.getByLabel("Confirm password").fill(PASSWORD);
    await page.getByRole("button", { name: "Send code" }).click();
    const { code } = await ask({ ask: "mail_code", email: EMAIL });
    assert.match(code, /^\d{6}$/);
    await page.getByLabel("Verification code").fill(code);
    await shot(page, "register");
    await page.getByRole("button", { name: "Create account" }).click();
    await page.waitForURL(/\/dashboard$/);
    await page.getByText("Mei").first().waitFor();
  });

  await step(page, "configure a server and order it, paying through epay", async () => {
    await page.goto(`${PORTAL}/catalog`);
    await page.getByRole("link", { name: /HK VPS Starter/ }).first().click();
    await page.locator("#spec-cpu_cores").waitFor();
    await page.locator("#spec-cpu_cores").fill("4");
    await page.locator("#spec-os").selectOption("ubuntu-24.04");
    await page.getByLabel("Billing cycle").selectOption("yearly");
    await waitFor("the yearly price", async () => (await page.getByTestId("order-total").textContent()).includes("80.00"));
    await page.getByLabel("Billing cycle").selectOption("monthly");
    await waitFor("the monthly price", async () => (await page.getByTestId("order-total").textContent()).includes("8.00"));
    await page.getByLabel("Payment method").selectOption({ label: "Alipay (epay)" });
    await shot(page, "product");
    await page.getByRole("button", { name: "Order now" }).click();
    await page.waitForURL(/\/dashboard\/orders\/[0-9a-f-]{36}$/);
    epayOrder = orderIdOf(page.url());
    const url = await page.getByLabel("Payment URL").inputValue();
    assert.match(url, /\/submit\.php\?/, "the epay payment URL");
    await shot(page, "order-epay");
    await payAtCashier();
  });

  await step(page, "the epay order becomes active with a running server", async () => {
    await page.getByText("Active", { exact: true }).first().waitFor({ timeout: 60_000 });
    await page.getByText("192.0.2.10").waitFor({ timeout: 30_000 });
    await page.getByRole("link", { name: "View instance" }).click();
    await page.waitForURL(/\/dashboard\/instances\/[0-9a-f-]{36}$/);
    await page.getByText("Running").first().waitFor();
    await shot(page, "instance");
  });

  await step(page, "order a second server with a coupon, by bank transfer; the operator confirms receipt", async () => {
    await page.goto(`${PORTAL}/catalog`);
    await page.getByRole("link", { name: /HK VPS Starter/ }).first().click();
    await page.getByLabel("Billing cycle").selectOption("yearly");
    await page.getByLabel("Payment method").selectOption({ label: "Bank transfer" });
    // A wrong code says why; the welcome coupon takes 10 % off.
    await page.getByLabel("Coupon code").fill("NOPE-123");
    await page.getByRole("button", { name: "Apply" }).click();
    await page.getByText("no such coupon").waitFor();
    await page.getByLabel("Coupon code").fill("welcome10");
    await page.getByRole("button", { name: "Apply" }).click();
    await page.getByTestId("coupon-applied").filter({ hasText: "WELCOME10" }).waitFor();
    await waitFor("the discounted price", async () => (await page.getByTestId("order-total").textContent()).includes("72.00"));
    await page.getByRole("button", { name: "Order now" }).click();
    await page.waitForURL(/\/dashboard\/orders\/[0-9a-f-]{36}$/);
    bankOrder = orderIdOf(page.url());
    await page.getByText("6222 0000 1111 2222").first().waitFor();
    await page.getByText("72.00").first().waitFor();
    await shot(page, "order-bank");
    await ask({ ask: "confirm_bank_transfer", order_id: bankOrder });
    await page.getByText("Active", { exact: true }).first().waitFor({ timeout: 60_000 });
  });

  await step(page, "both servers are listed as running", async () => {
    await page.getByRole("link", { name: "Instances" }).first().click();
    await waitFor("two running instances", async () => (await page.getByText("Running").count()) >= 2);
    await shot(page, "instances");
  });

  await step(page, "recharge the balance through epay", async () => {
    await page.getByRole("link", { name: "Balance" }).first().click();
    await waitFor("the balance", async () => /0\.00/.test(await page.getByTestId("balance-amount").textContent()));
    await page.getByLabel("Amount").fill("12.5x");
    await page.getByRole("button", { name: "Recharge" }).click();
    await page.getByRole("alert").filter({ hasText: "at most two decimals" }).waitFor();
    await page.getByLabel("Amount").fill("100");
    await page.getByLabel("Payment method").selectOption({ label: "Alipay (epay)" });
    await page.getByRole("button", { name: "Recharge" }).click();
    await payAtCashier();
    await waitFor("the recharged balance", async () => (await page.getByTestId("balance-amount").textContent()).includes("100.00"), 60_000);
    await shot(page, "balance");
  });

  await step(page, "the renewal invoice is downloaded and paid from the balance", async () => {
    const { generated } = await ask({ ask: "generate_invoices" });
    assert.ok(generated >= 1, "the billing run made an invoice");
    await page.getByRole("link", { name: "Invoices" }).first().click();
    const row = page.locator("[data-row-key]").first();
    await row.waitFor();
    await row.locator("a").first().click();
    await page.waitForURL(/\/dashboard\/invoices\/[0-9a-f-]{36}$/);
    const number = (await page.getByText(/INV-\d{4}-\d{6}/).first().textContent()).match(/INV-\d{4}-\d{6}/)[0];
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download" }).click()]);
    assert.equal(download.suggestedFilename(), `${number}.html`);
    const html = await readFile(await download.path(), "utf8");
    assert.ok(html.includes(number) && html.includes("HK VPS Starter"), "the downloaded invoice names its number and the server");
    await shot(page, "invoice");
    await page.getByLabel("Payment method").selectOption({ label: "Account balance" });
    await page.getByRole("button", { name: "Pay", exact: true }).click();
    await page.getByRole("button", { name: "Confirm payment" }).click();
    await page.getByText("Paid", { exact: true }).first().waitFor({ timeout: 30_000 });
  });

  await step(page, "the ledger shows the recharge and the invoice payment", async () => {
    await page.getByRole("link", { name: "Balance" }).first().click();
    await waitFor("the balance after paying", async () => !(await page.getByTestId("balance-amount").textContent()).includes("100.00"));
    await waitFor("the recharge and the invoice payment in the ledger", async () => (await page.locator("[data-row-key]").count()) >= 2);
    await page.locator("[data-row-key]").filter({ hasText: "Payment" }).first().waitFor();
    await page.locator("[data-row-key]").filter({ hasText: "Recharge" }).first().waitFor();
  });

  await step(page, "open a ticket and read support's answer", async () => {
    await page.getByRole("link", { name: "Tickets" }).first().click();
    await page.getByRole("link", { name: "New ticket" }).click();
    await page.getByLabel("Subject").fill("Reverse DNS for my server");
    await page.getByLabel("Message").fill("Please set the PTR record of 192.0.2.10 to mei.example.com.");
    await page.getByRole("button", { name: "Submit" }).click();
    await page.waitForURL(/\/dashboard\/tickets\/[0-9a-f-]{36}$/);
    await page.getByText("Please set the PTR record").waitFor();
    await ask({ ask: "answer_ticket", content: "Done: the PTR record now points to mei.example.com." });
    await page.getByText("Done: the PTR record").waitFor({ timeout: 30_000 });
    await page.getByLabel("Reply").fill("Thank you!");
    await page.getByRole("button", { name: "Send reply" }).click();
    await page.getByText("Thank you!").waitFor();
    await shot(page, "ticket");
  });

  await step(page, "create an API key, use it, revoke it", async () => {
    await ask({ ask: "allow_api_keys", email: EMAIL });
    await page.getByRole("link", { name: "API keys" }).first().click();
    await page.getByRole("button", { name: "Create API key" }).click();
    await page.getByLabel("Name").fill("deploy script");
    await page.getByRole("button", { name: "Create", exact: true }).click();
    const secret = (await page.getByTestId("api-key-secret").textContent()).trim();
    assert.match(secret, /^rk_live_/);
    await shot(page, "api-key-created");
    const me = await rpc("rustbill.identity.IdentityService/GetMe", {}, { bearer: secret });
    assert.equal(me.user?.email ?? me.email, EMAIL, "the key acts as this customer");
    await page.getByRole("button", { name: "I have saved it" }).click();
    await page.getByTestId("api-key-secret").waitFor({ state: "detached" });
    const row = page.locator("[data-row-key]").filter({ hasText: "deploy script" });
    await row.getByRole("button", { name: "Revoke" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Revoke" }).click();
    await row.getByText("Revoked").waitFor();
    await assert.rejects(rpc("rustbill.identity.IdentityService/GetMe", {}, { bearer: secret }), /unauthenticated/i);
    await shot(page, "api-keys");
  });

  await step(page, "change the password and sign in with the new one", async () => {
    await page.getByRole("link", { name: "Settings" }).first().click();
    await page.getByLabel("Current password").fill("not-my-password");
    await page.getByLabel("New password", { exact: true }).fill(NEW_PASSWORD);
    await page.getByLabel("Confirm new password").fill(NEW_PASSWORD);
    await page.getByRole("button", { name: "Change password" }).click();
    await page.getByRole("alert").filter({ hasText: "incorrect" }).waitFor();
    assert.match(page.url(), /\/dashboard\/settings/, "a wrong current password does not end the session");
    await page.getByLabel("Current password").fill(PASSWORD);
    await page.getByLabel("New password", { exact: true }).fill(NEW_PASSWORD);
    await page.getByLabel("Confirm new password").fill(NEW_PASSWORD);
    await page.getByRole("button", { name: "Change password" }).click();
    await waitFor("the cleared form", async () => (await page.getByLabel("Current password").inputValue()) === "");
    await page.getByRole("button", { name: "Log out" }).first().click();
    await page.goto(`${PORTAL}/login`);
    await page.getByLabel("Username").fill(USERNAME);
    await page.getByLabel("Password").fill(NEW_PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(/\/dashboard/);
  });

  await step(page, "on a phone, in the dark, nothing overflows", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByRole("button", { name: "Toggle theme" }).first().click();
    for (const path of ["/dashboard", "/dashboard/orders", `/dashboard/orders/${epayOrder}`, "/dashboard/invoices", "/catalog"]) {
      await page.goto(`${PORTAL}${path}`);
      await page.locator("main").waitFor();
      await page.waitForLoadState("networkidle");
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 1, `${path} is ${overflow}px wider than the phone`);
    }
    assert.ok(await page.evaluate(() => document.documentElement.classList.contains("dark")), "the dark theme is on");
    await shot(page, "phone-dark");
  });

  assert.deepEqual(pageErrors, [], "no uncaught errors in the pages");
} finally {
  doneAsking();
  await closeBrowser(browser);
}
