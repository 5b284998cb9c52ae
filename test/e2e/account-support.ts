// Shared by the account page browser tests: waiting without fixed sleeps, and the axe-core scan.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'playwright-core';
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
