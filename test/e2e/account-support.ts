// Shared by the account page browser tests: waiting without fixed sleeps, and the axe-core scan.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ROOT } from '../helpers/server.ts';

/** Waits until `check` holds, re-checking after each event-loop turn of `stepMs` (no fixed sleep). */
export async function until(check: () => Promise<boolean>, what: string, limitMs = 15_000, stepMs = 100): Promise<void> {
  const end = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

const AXE = await readFile(path.join(ROOT, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');

/** An axe-core scan of the page (run through DevTools, outside the page's CSP): serious and critical violations. */
export async function axeProblems(page: Page): Promise<string[]> {
  const result = (await page.evaluate(`${AXE}\n;axe.run(document, { resultTypes: ['violations'] })`)) as {
    violations: Array<{ id: string; impact: string | null; nodes: Array<{ target: unknown }> }>;
  };
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${page.url()}: ${v.id} (${v.impact}) at ${JSON.stringify(v.nodes.map((n) => n.target))}`);
}

/** A fresh browser context signed in to the account page as `address` (password, then consent), with console errors collected. */
export async function signInPage(
  browser: Browser,
  baseUrl: string,
  address: string,
  password: string,
): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 800 }, ignoreHTTPSErrors: true });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`${m.text()} ${m.location().url}`);
  });
  await page.goto(`${baseUrl}/account`);
  await page.waitForSelector('input[name=email]');
  await page.fill('input[name=email]', address);
  await page.fill('input[name=password]', password);
  await Promise.all([page.waitForSelector('text=Allow access?'), page.click('form:has(input[name=password]) button.primary')]);
  await Promise.all([page.waitForURL(`${baseUrl}/account`), page.click('button.primary')]);
  return { context, page, errors };
}
