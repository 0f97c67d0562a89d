// An admin turns on two-factor authentication in the app and signs in with
// it, in headless Chromium against the real stack the Rust harness started
// (tests/tests/system/admin_web.rs): enrol from the account page with the
// code an authenticator would show, keep the recovery codes, sign in with a
// code and then with a recovery code, send a parked webhook again from the
// delivery log, create a coupon and upgrade a customer's service.
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { closeBrowser, env, launch, shot, step } from "../../ui/e2e/kit.mjs";

const EDGE = env("RUSTBILL_EDGE");
const ADMIN = `${EDGE}/admin`;

/** RFC 4648 base32 (no padding) to bytes. */
function base32(text) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = 0;
  let value = 0;
  const out = [];
  for (const char of text.replace(/[\s=]/g, "").toUpperCase()) {
    const index = alphabet.indexOf(char);
    assert.ok(index >= 0, `not base32: ${char}`);
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** RFC 6238 TOTP (SHA-1, 6 digits, 30 s) of an authenticator `offset` seconds off. */
function totp(secret, offset = 0) {
  const counter = Math.floor((Date.now() / 1000 + offset) / 30);
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const digest = createHmac("sha1", base32(secret)).update(message).digest();
  const start = digest[digest.length - 1] & 0x0f;
  const number = (digest.readUInt32BE(start) & 0x7fffffff) % 1_000_000;
  return String(number).padStart(6, "0");
}

/** Waits until the current 30 s step has a few seconds left either side. */
async function midStep() {
  while (true) {
    const into = Math.floor(Date.now() / 1000) % 30;
    if (into >= 2 && into <= 24) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const browser = await launch();
const context = await browser.newContext({ locale: "en-US", viewport: { width: 1280, height: 900 }, reducedMotion: "reduce" });
context.setDefaultTimeout(20_000);
const page = await context.newPage();
const consoleErrors = [];
page.on("pageerror", (error) => consoleErrors.push(String(error)));

async function passwordStep() {
  await page.getByRole("button", { name: "Sign in" }).waitFor();
  await page.getByLabel("User name").fill(env("RUSTBILL_ADMIN_USER"));
  await page.getByLabel("Password").fill(env("RUSTBILL_ADMIN_PASSWORD"));
  await page.getByRole("button", { name: "Sign in" }).click();
}

let secret = "";
let recoveryCodes = [];

try {
  await step(page, "sign in with the password alone, open the account page", async () => {
    await page.goto(`${ADMIN}/account`);
    await passwordStep();
    await page.waitForURL(/\/admin\/account$/);
    await page.getByText("Two-factor authentication", { exact: true }).first().waitFor();
  });

  await step(page, "turn on two-factor authentication with the shown secret", async () => {
    await page.getByRole("button", { name: "Turn on two-factor authentication" }).click();
    await page.getByTestId("totp-qr").waitFor();
    secret = (await page.getByTestId("totp-secret").innerText()).replace(/\s/g, "");
    assert.match(secret, /^[A-Z2-7]{32}$/);
    await page.getByLabel("Code", { exact: true }).fill("000000" === totp(secret) ? "111111" : "000000");
    await page.getByRole("button", { name: "Turn on", exact: true }).click();
    await page.getByText("invalid two-factor code").first().waitFor();
    await midStep();
    await page.getByLabel("Code", { exact: true }).fill(totp(secret));
    await page.getByRole("button", { name: "Turn on", exact: true }).click();
    const list = page.getByTestId("recovery-codes");
    await list.waitFor();
    recoveryCodes = (await list.locator("li").allInnerTexts()).map((code) => code.trim());
    assert.equal(recoveryCodes.length, 10);
    await shot(page, "security");
    await page.getByRole("button", { name: "I have saved them" }).click();
    await page.getByText("Recovery codes left").waitFor();
  });

  await step(page, "the password alone no longer signs in; a code does", async () => {
    await page.getByRole("button", { name: "Log out" }).click();
    await page.waitForURL(/\/admin\/login/);
    await passwordStep();
    await page.getByLabel("6-digit code from your authenticator").waitFor();
    await shot(page, "login-totp");
    // The step used to enrol is spent; an authenticator one step ahead is fine.
    await midStep();
    await page.getByLabel("6-digit code from your authenticator").fill(totp(secret, 30));
    await page.getByRole("button", { name: "Verify" }).click();
    await page.getByTestId("me").waitFor();
  });

  await step(page, "a recovery code signs in once", async () => {
    await page.getByRole("button", { name: "Log out" }).click();
    await page.waitForURL(/\/admin\/login/);
    await passwordStep();
    await page.getByRole("button", { name: "Use a recovery code instead" }).click();
    await page.getByLabel("Recovery code").fill(recoveryCodes[0]);
    await page.getByRole("button", { name: "Verify" }).click();
    await page.getByTestId("me").waitFor();
  });

  await step(page, "a parked webhook is sent again from the delivery log", async () => {
    await page.goto(`${ADMIN}/notifications`);
    await page.getByText("Delivery log", { exact: true }).waitFor();
    const row = page.locator(`tr[data-row-key="${env("E2E_DELIVERY_ID")}"]`);
    await row.getByText("Parked").waitFor();
    await shot(page, "deliveries");
    await row.getByRole("button", { name: "Send again" }).click();
    await page.getByText("Queued to be sent again").waitFor();
    // The worker sends it within a second or so; the list shows it sent.
    const deadline = Date.now() + 30_000;
    while (!(await row.getByText("Sent", { exact: true }).isVisible())) {
      assert.ok(Date.now() < deadline, "the delivery was not sent again");
      await page.getByLabel("Status").first().selectOption("sent");
      await page.getByLabel("Status").first().selectOption("");
      await page.waitForTimeout(300);
    }
    await row.click();
    const detail = page.getByTestId("delivery-detail");
    await detail.waitFor();
    await detail.getByText("replay 1").waitFor();
    await shot(page, "delivery");
    await page.keyboard.press("Escape");
    await detail.waitFor({ state: "detached" });
  });

  await step(page, "an admin creates a coupon for the first three periods", async () => {
    await page.getByRole("link", { name: "Coupons" }).click();
    await page.getByRole("button", { name: "New coupon" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByLabel("Code").fill("e2e-ten");
    await dialog.getByLabel("Percent off").fill("10");
    await dialog.getByLabel("Lasts").selectOption("repeating");
    await dialog.getByLabel("Periods discounted (first included)").fill("3");
    await dialog.getByLabel("Uses per customer").fill("1");
    await dialog.getByRole("button", { name: "Create" }).click();
    await dialog.waitFor({ state: "detached" });
    const row = page.getByRole("row").filter({ hasText: "E2E-TEN" });
    await row.getByText("10% · 3 periods").waitFor();
    await shot(page, "coupons");
    await row.getByRole("button", { name: "Pause" }).click();
    await row.getByText("Inactive").waitFor();
  });

  await step(page, "an admin upgrades a customer's service, prorated", async () => {
    await page.goto(`${ADMIN}/orders/${env("E2E_ORDER_ID")}`);
    await page.getByLabel("New product").selectOption({ label: "VPS M" });
    await page.getByText("Net (negative goes to the balance)").waitFor();
    await page.getByText("Now (prorated to the second)").waitFor();
    await shot(page, "plan-change");
    await page.getByRole("button", { name: "Change plan" }).click();
    await page.getByText("Plan change submitted").waitFor();
  });

  assert.deepEqual(consoleErrors, [], "no uncaught errors in the page");
} finally {
  await closeBrowser(browser);
}
