// The small kit the browser tests of both web apps share: Chromium through
// playwright-core, numbered steps, screenshots, waits with deadlines,
// gRPC-Web calls as a customer's program would make them (`buf curl`
// against the real edge), and questions to the Rust harness that started
// the stack (`ask`).
import { execFile } from "node:child_process";
import readline from "node:readline";
import { promisify } from "node:util";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "../../..");

export const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (the Rust test harness sets it)`);
  return value;
};

/** Headless Debian Chromium with the flags this closed network needs. */
export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-dev-shm-usage",
    ],
  });
}

let stepNumber = 0;
/** How long one step may take before it counts as hung. */
const STEP_LIMIT_MS = 180_000;

/** Rejects after `ms` with `message` unless `promise` settles first. */
export function within(promise, ms, message) {
  let timer;
  const limit = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

/**
 * Runs one named step; a failure (or a step that hangs past 3 minutes)
 * names the step and saves a screenshot.
 */
export async function step(page, name, body) {
  stepNumber += 1;
  const label = `${String(stepNumber).padStart(2, "0")} ${name}`;
  const started = Date.now();
  try {
    await within(body(), STEP_LIMIT_MS, `step "${name}" did not finish within ${STEP_LIMIT_MS / 1000} s`);
    console.log(`ok   ${label} (${Date.now() - started} ms)`);
  } catch (error) {
    console.log(`FAIL ${label}`);
    await within(
      page.screenshot({ path: path.join(env("E2E_ARTIFACTS"), `failed-${stepNumber}.png`), fullPage: true }),
      15_000,
      "screenshot timed out",
    ).catch(() => {});
    throw error;
  }
}

/** A full-page screenshot in the artifacts directory. */
export async function shot(page, name) {
  await page.screenshot({ path: path.join(env("E2E_ARTIFACTS"), `${name}.png`), fullPage: true });
}

/**
 * Polls `check` until it returns a truthy value or the deadline passes; a
 * check that itself hangs counts against the deadline too.
 */
export async function waitFor(what, check, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const value = await within(Promise.resolve().then(check), Math.max(1_000, deadline - Date.now()), "check hung");
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ""}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Closes the browser, giving up after 15 s (a stuck browser must not hang the run). */
export async function closeBrowser(browser) {
  await within(browser.close(), 15_000, "closing the browser timed out").catch((error) => console.error(String(error)));
}

/**
 * One unary gRPC-Web call through the edge with `buf curl`, as a customer's
 * program would make it; the parsed JSON response. Throws with the gRPC
 * error when the call fails.
 */
export async function rpc(method, body, { bearer } = {}) {
  const args = [
    "curl",
    "--schema",
    path.join(repo, "proto/public"),
    "--protocol",
    "grpcweb",
    "--emit-defaults",
    "-d",
    JSON.stringify(body),
  ];
  if (bearer) args.push("-H", `Authorization: Bearer ${bearer}`);
  args.push(`${env("RUSTBILL_EDGE")}/${method}`);
  try {
    const { stdout } = await run(path.join(repo, "web/node_modules/.bin/buf"), args, { timeout: 30_000 });
    return JSON.parse(stdout);
  } catch (error) {
    throw new Error(`${method} failed: ${error.stderr || error.message}`);
  }
}

let reader;
let answers;
/**
 * Asks the Rust harness for something only it can do or see (an e-mail
 * that reached its SMTP server, an operator's action): one `ASK <json>`
 * line on standard output, answered by one JSON line on standard input.
 */
export async function ask(question) {
  reader ??= readline.createInterface({ input: process.stdin, terminal: false });
  answers ??= reader[Symbol.asyncIterator]();
  console.log(`ASK ${JSON.stringify(question)}`);
  const { value, done } = await answers.next();
  if (done) throw new Error(`the harness closed standard input instead of answering ${question.ask}`);
  return JSON.parse(value);
}

/** Stops reading standard input so the process can exit. */
export function doneAsking() {
  reader?.close();
  process.stdin.destroy();
}
