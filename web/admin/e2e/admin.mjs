// An operator's day in the admin app, in headless Chromium against the real
// stack the Rust harness started (tests/tests/system/admin_web.rs):
// log in, add a provider interface and a product, a customer with balance
// and an API key; the customer's program orders and pays through the API;
// the operator sees the instance, runs an action, refunds the payment,
// answers a ticket with an internal note, edits the provider's script and
// sees the new version run. Every page is screenshotted.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { closeBrowser, env, launch, rpc, shot, step, waitFor } from "../../ui/e2e/kit.mjs";

const EDGE = env("RUSTBILL_EDGE");
const ADMIN = `${EDGE}/admin`;

const browser = await launch();
const context = await browser.newContext({ locale: "en-US", viewport: { width: 1440, height: 900 }, reducedMotion: "reduce" });
context.setDefaultTimeout(20_000);
const page = await context.newPage();
const consoleErrors = [];
page.on("pageerror", (error) => consoleErrors.push(String(error)));

let interfaceId = "";
let productId = "";
let customerId = "";
let apiKey = "";
let orderId = "";
let instanceId = "";
let paymentId = "";
let ticketId = "";

try {
  await step(page, "an anonymous visit lands on the login page", async () => {
    await page.goto(`${ADMIN}/orders`);
    await page.getByRole("button", { name: "Sign in" }).waitFor();
    assert.match(page.url(), /\/admin\/login\?next=/);
    await shot(page, "login");
  });

  await step(page, "a wrong password is refused and shown", async () => {
    await page.getByLabel("User name").fill(env("RUSTBILL_ADMIN_USER"));
    await page.getByLabel("Password").fill("not-the-password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").filter({ hasText: "Sign-in failed" }).waitFor();
  });

  await step(page, "log in, back to where the visit started", async () => {
    await page.getByLabel("Password").fill(env("RUSTBILL_ADMIN_PASSWORD"));
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(/\/admin\/orders$/);
    await page.getByTestId("me").filter({ hasText: "admin" }).waitFor();
  });

  await step(page, "the dashboard shows the system", async () => {
    await page.getByRole("link", { name: "Dashboard" }).click();
    await page.getByRole("heading", { name: "Dashboard" }).waitFor();
    await shot(page, "dashboard");
  });

  await step(page, "add and enable a provider interface from its config form", async () => {
    await page.getByRole("link", { name: "Plugins", exact: true }).click();
    await page.getByRole("button", { name: "New interface" }).first().click();
    const dialog = page.getByRole("dialog");
    const definition = dialog.getByLabel("Plugin definition");
    const demo = await definition.locator("option", { hasText: "demo" }).first().getAttribute("value");
    await definition.selectOption(demo);
    await dialog.getByLabel("Display name").fill("E2E Demo");
    await dialog.getByLabel("api_url").fill("https://demo.example");
    await dialog.getByLabel("base_price").fill("8.00");
    await dialog.getByRole("button", { name: "Create and enable", exact: true }).click();
    await dialog.waitFor({ state: "detached" });
    await page.getByRole("link", { name: "Plugins", exact: true }).click();
    const row = page.getByRole("row").filter({ hasText: "E2E Demo" });
    await row.waitFor();
    interfaceId = await row.getAttribute("data-row-key");
    assert.ok(interfaceId, "the interface row names its id");
    await shot(page, "plugins");
  });

  await step(page, "create a product sold through that provider", async () => {
    await page.getByRole("link", { name: "Products", exact: true }).click();
    await page.getByRole("button", { name: "New product" }).click();
    await page.getByLabel("Name", { exact: true }).fill("E2E VPS Small");
    const provider = page.getByLabel("Provider", { exact: true });
    const option = await provider.locator("option", { hasText: "E2E Demo" }).getAttribute("value");
    await provider.selectOption(option);
    await page.getByLabel("Monthly price").fill("8.00");
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await page.waitForURL(/\/admin\/products\/[0-9a-f-]{36}$/);
    productId = page.url().split("/").pop();
    await page.getByText("E2E VPS Small").first().waitFor();
    await page.getByRole("link", { name: "Products", exact: true }).click();
    await page.locator(`tr[data-row-key="${productId}"]`).waitFor();
    await shot(page, "products");
  });

  await step(page, "create a customer and credit its balance", async () => {
    await page.getByRole("link", { name: "Customers", exact: true }).click();
    await page.getByRole("button", { name: "New customer" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByLabel("Name", { exact: true }).fill("E2E Hosting Ltd");
    await dialog.getByLabel("Email", { exact: true }).fill("e2e.customer@example.com");
    await dialog.getByRole("button", { name: "Create customer" }).click();
    await page.waitForURL(/\/admin\/customers\/[0-9a-f-]{36}/);
    customerId = new URL(page.url()).pathname.split("/").pop();
    await page.getByRole("button", { name: "Adjust balance" }).click();
    const adjust = page.getByRole("dialog");
    await adjust.getByLabel("Amount").fill("100.00");
    await adjust.getByLabel("Reason").fill("Opening balance");
    await adjust.getByRole("button", { name: "Apply adjustment" }).click();
    await page.getByRole("alertdialog").getByRole("button", { name: "Confirm adjustment" }).click();
    await waitFor("the balance to show 100.00", async () =>
      (await page.getByTestId("customer-balance").innerText()).includes("100.00"),
    );
    await page.getByRole("row").filter({ hasText: "Opening balance" }).waitFor();
    await shot(page, "customers");
  });

  await step(page, "issue an API key for the customer's program", async () => {
    await page.getByRole("tab", { name: "API access" }).click();
    await page.getByLabel("Key name").fill("e2e-program");
    await page.getByRole("button", { name: "Create API key" }).click();
    const secret = page.getByRole("dialog").getByLabel("API key");
    await waitFor("the secret", async () => (await secret.inputValue()).startsWith("rk_"));
    apiKey = await secret.inputValue();
    await page.getByRole("button", { name: "I have saved the key" }).click();
    await page.getByRole("row").filter({ hasText: "e2e-program" }).waitFor();
  });

  await step(page, "the customer's program orders and pays from the balance (gRPC-Web, API key)", async () => {
    const created = await rpc(
      "rustbill.order.OrderService/CreateOrder",
      {
        productId,
        billingCycle: "monthly",
        currency: "CNY",
        gatewayInterfaceId: "balance",
        serverSpec: { extraSpecs: { os: "debian-12" } },
      },
      { bearer: apiKey },
    );
    orderId = created.order.id;
    assert.equal(created.order.customerId, customerId, "the key orders for its own customer");
  });

  await step(page, "the order becomes active and its instance is shown", async () => {
    await page.getByRole("link", { name: "Orders", exact: true }).click();
    await page.locator(`tr[data-row-key="${orderId}"]`).waitFor();
    await shot(page, "orders");
    await page.goto(`${ADMIN}/orders/${orderId}`);
    // The page follows a paid order while it is provisioned.
    await page.locator("main h1").locator('[data-status="active"]').waitFor({ timeout: 60_000 });
    await page.getByRole("link", { name: "Open instance" }).click();
    await page.waitForURL(/\/admin\/instances\/[0-9a-f-]{36}/);
    instanceId = new URL(page.url()).pathname.split("/").pop();
    await page.getByText("192.0.2.10").first().waitFor();
    await shot(page, "instance");
  });

  await step(page, "run a provider action on the instance", async () => {
    await page.getByRole("button", { name: "Reboot" }).click();
    await page.getByRole("alertdialog").getByRole("button", { name: "Run", exact: true }).click();
    await waitFor("the action result", async () =>
      (await page.getByTestId("action-result").innerText()).includes("done reboot"),
    );
  });

  await step(page, "refund the order's payment to the balance", async () => {
    await page.goto(`${ADMIN}/orders/${orderId}`);
    const link = page.locator('a[href*="/payments/"]').first();
    await link.click();
    await page.waitForURL(/\/admin\/payments\/[0-9a-f-]{36}/);
    paymentId = new URL(page.url()).pathname.split("/").pop();
    await page.getByRole("button", { name: "Refund", exact: true }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByLabel("Reason").fill("Customer changed plans");
    await dialog.getByRole("button", { name: "Confirm refund" }).click();
    await page.locator('[data-status="refunded"]').first().waitFor();
    await page.getByRole("link", { name: "Payments", exact: true }).click();
    await page.locator(`tr[data-row-key="${paymentId}"]`).waitFor();
    await shot(page, "payments");
  });

  await step(page, "answer the customer's ticket, with an internal note", async () => {
    const opened = await rpc(
      "rustbill.ticket.TicketService/CreateTicket",
      { title: "Server is slow", description: "My VPS feels slow since this morning.", priority: "high" },
      { bearer: apiKey },
    );
    ticketId = opened.ticket.id;
    await page.getByRole("link", { name: "Tickets", exact: true }).click();
    await page.locator(`tr[data-row-key="${ticketId}"]`).click();
    await page.waitForURL(new RegExp(`/admin/tickets/${ticketId}`));
    await page.getByLabel("Reply", { exact: true }).fill("We moved your server to a quieter host.");
    await page.getByRole("button", { name: "Send reply" }).click();
    await page.getByText("We moved your server to a quieter host.").waitFor();
    const box = page.getByLabel("Reply", { exact: true });
    await waitFor("the reply box to be cleared after sending", async () => (await box.inputValue()) === "");
    await box.fill("Host node 7 was overloaded; watch it.");
    await page.getByLabel("Internal note").check();
    await page.getByRole("button", { name: "Send reply" }).click();
    const note = page.locator("article, li, div").filter({ hasText: "Host node 7 was overloaded" }).last();
    await note.waitFor();
    await shot(page, "tickets");
    // The customer's program sees the answer and never the note.
    const seen = await rpc("rustbill.ticket.TicketService/GetTicket", { id: ticketId }, { bearer: apiKey });
    const contents = seen.ticket.replies.map((reply) => reply.content);
    assert.deepEqual(contents, ["We moved your server to a quieter host."]);
  });

  await step(page, "edit the provider's script and see the new version run", async () => {
    const original = await readFile(env("E2E_PROVIDER_SCRIPT"), "utf8");
    const edited = original.replace('"1.0.0"', '"1.1.0"').replace("done ${action}", "done v2 ${action}");
    assert.notEqual(edited, original);
    await page.goto(`${ADMIN}/plugins/interfaces/${interfaceId}?tab=source`);
    const editor = page.getByRole("textbox", { name: "Script source" });
    await editor.waitFor();
    await editor.fill(edited);
    await page.getByRole("button", { name: "Save and reload" }).click();
    const state = page.getByTestId("script-state");
    await waitFor("the script to be replaced", async () =>
      (await state.getAttribute("data-script-overridden")) === "true" && (await state.getAttribute("data-version")) === "1.1.0",
    );
    await shot(page, "plugin-source");
    await page.goto(`${ADMIN}/instances/${instanceId}`);
    await page.getByRole("button", { name: "Reboot" }).click();
    await page.getByRole("alertdialog").getByRole("button", { name: "Run", exact: true }).click();
    await waitFor("the new script's answer", async () =>
      (await page.getByTestId("action-result").innerText()).includes("done v2 reboot"),
    );
  });

  await step(page, "every other page renders", async () => {
    for (const [name, path] of [
      ["users", "users"],
      ["invoices", "invoices"],
      ["notifications", "notifications"],
      ["logs", "logs"],
      ["account", "account"],
      ["product-groups", "products/groups"],
      ["ticket", `tickets/${ticketId}`],
      ["customer", `customers/${customerId}`],
      ["payment", `payments/${paymentId}`],
      ["order", `orders/${orderId}`],
      ["plugin-interface", `plugins/interfaces/${interfaceId}`],
    ]) {
      await page.goto(`${ADMIN}/${path}`);
      await page.locator("main h1").first().waitFor();
      await page.waitForLoadState("networkidle");
      assert.equal(await page.getByRole("alert").filter({ hasText: "Could not load" }).count(), 0, `${name} loads`);
      await shot(page, name);
    }
    // The operation log shows what this run did, in each service.
    for (const service of ["catalog", "identity", "payments", "plugins"]) {
      await page.goto(`${ADMIN}/logs?service=${service}`);
      await page.locator("tbody tr[data-row-key]").first().waitFor();
    }
  });

  await step(page, "add an operator, who sees only what operators may do", async () => {
    await page.goto(`${ADMIN}/users`);
    await page.getByRole("button", { name: "New staff user" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByLabel("Username").fill("olga");
    await dialog.getByLabel("Display name").fill("Olga");
    await dialog.getByLabel("Role").selectOption("operator");
    await dialog.getByLabel("Password", { exact: true }).fill("olga-Pass-123");
    await dialog.getByLabel("Confirm password").fill("olga-Pass-123");
    await dialog.getByRole("button", { name: "Create user" }).click();
    await page.getByRole("row").filter({ hasText: "olga" }).waitFor();
    await page.getByRole("button", { name: "Log out" }).click();
    await page.getByLabel("User name").fill("olga");
    await page.getByLabel("Password").fill("olga-Pass-123");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByTestId("me").filter({ hasText: "operator" }).waitFor();
    await page.goto(`${ADMIN}/payments/${paymentId}`);
    await page.getByRole("button", { name: "Query status" }).waitFor();
    assert.equal(await page.getByRole("button", { name: "Refund", exact: true }).count(), 0, "operators cannot refund");
    await page.goto(`${ADMIN}/orders/${orderId}`);
    await page.locator("main h1").waitFor();
    await shot(page, "order-as-operator");
    await page.getByRole("button", { name: "Log out" }).click();
    await page.getByLabel("User name").fill(env("RUSTBILL_ADMIN_USER"));
    await page.getByLabel("Password").fill(env("RUSTBILL_ADMIN_PASSWORD"));
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByTestId("me").filter({ hasText: "admin · admin" }).waitFor();
  });

  await step(page, "Simplified Chinese and the dark theme", async () => {
    await page.goto(`${ADMIN}/`);
    await page.getByLabel("Language").selectOption("zh-CN");
    await page.getByRole("link", { name: "仪表盘" }).waitFor();
    await page.getByRole("button", { name: "切换主题" }).click();
    assert.ok(await page.evaluate(() => document.documentElement.classList.contains("dark")));
    await page.getByRole("heading", { name: "仪表盘" }).waitFor();
    await page.waitForLoadState("networkidle");
    await shot(page, "dashboard-zh-dark");
    await page.reload();
    await page.getByRole("link", { name: "仪表盘" }).waitFor();
    assert.ok(await page.evaluate(() => document.documentElement.classList.contains("dark")), "the choice is remembered");
  });

  console.log(JSON.stringify({ interfaceId, productId, customerId, orderId, instanceId, paymentId, ticketId, apiKey: apiKey ? "set" : "" }));
  assert.deepEqual(consoleErrors, [], "no uncaught errors in the page");
} finally {
  await closeBrowser(browser);
}
