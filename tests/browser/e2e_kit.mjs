// What every end-to-end script in this folder shares: timed step lines, checks, pages that
// record their errors, signing up and in through the page's own forms, and the ending (a
// screenshot of every open page on failure, then `RESULT {json}` and the exit code).
//
//   const kit = e2eKit({ baseUrl, shotDir });
//   const page = await kit.openPage(context, 'alice', (page) => { /* the script's own listeners */ });

import { mkdirSync } from 'node:fs';
import path from 'node:path';

export const STEP_TIMEOUT_MS = 10000;

/**
 * `expectedError(label, text)` says which console errors a script provokes on purpose (they
 * are not reported in `console_errors`).
 */
export function e2eKit({ baseUrl, shotDir, expectedError = () => false }) {
  mkdirSync(shotDir, { recursive: true });
  const started = Date.now();
  const pages = new Map(); // label -> page, for failure screenshots
  const consoleErrors = [];

  function step(text) {
    console.log(`[${((Date.now() - started) / 1000).toFixed(1)} s] ${text}`);
  }

  function check(condition, message) {
    if (!condition) throw new Error(`check failed: ${message}`);
  }

  /** `page`, its errors recorded and screenshot on failure; `watch(page)` adds the script's listeners. */
  function track(label, page, watch = () => {}) {
    pages.set(label, page);
    watch(page);
    page.on('pageerror', (error) => consoleErrors.push(`${label}: page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error' && !expectedError(label, message.text())) {
        consoleErrors.push(`${label}: console: ${message.text()}`);
      }
    });
    page.setDefaultTimeout(STEP_TIMEOUT_MS);
    return page;
  }

  /** A new tracked page of `context` on the client's sign-in screen. */
  async function openPage(context, label, watch = () => {}) {
    const page = track(label, await context.newPage(), watch);
    await page.goto(baseUrl + '/');
    await page.locator('#login-form').waitFor();
    return page;
  }

  /** Signed in and connected: the user's id, as the page shows it. */
  async function afterLogin(page, user) {
    await page.locator('#me-name', { hasText: user.username }).waitFor();
    await page.locator('#connection[data-state="online"]').waitFor();
    return Number(await page.locator('#me-id').textContent());
  }

  async function register(page, user) {
    const form = page.locator('#register-form');
    await form.getByLabel('Username').fill(user.username);
    await form.getByLabel('Display name (optional)').fill(user.nickname);
    await form.getByLabel('Password').fill(user.password);
    await form.getByRole('button', { name: 'Create account' }).click();
    return afterLogin(page, user);
  }

  async function login(page, user) {
    const form = page.locator('#login-form');
    await form.getByLabel('Username').fill(user.username);
    await form.getByLabel('Password').fill(user.password);
    await form.getByRole('button', { name: 'Log in' }).click();
    return afterLogin(page, user);
  }

  /** A failed run: say why, and keep a screenshot of every page still open. */
  async function failure(error) {
    console.error(`FAILED: ${error.stack || error}`);
    for (const [label, page] of pages) {
      if (page.isClosed()) continue;
      const file = path.join(shotDir, `failure-${label}.png`);
      await page.screenshot({ path: file }).catch(() => {});
      console.error(`screenshot of ${label}: ${file}`);
    }
  }

  /** Print what each person saw (`RESULT {json}`, the console errors included) and exit. */
  function finish(result, failed) {
    result.console_errors = consoleErrors;
    console.log(`RESULT ${JSON.stringify(result)}`);
    step(failed ? 'failed' : 'done');
    process.exit(failed ? 1 : 0);
  }

  return { step, check, track, openPage, afterLogin, register, login, failure, finish };
}
