// Golden diagnostics: every file in test/language/invalid/ is one invalid spec for one error kind (its
// name starts with the code it must produce). `render` gives the text compared against NAME.expected;
// `npm run accept` (accept.ts) rewrites the .expected files after a deliberate change.

import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkFile } from '../../compiler/language.js';
import { renderDiagnostics } from '../../compiler/diagnostics/render.js';
import type { Diagnostic } from '../../compiler/diagnostics/types.js';

export const here = dirname(fileURLToPath(import.meta.url));
export const casesDir = join(here, 'invalid');
export const repoRoot = join(here, '..', '..');

export const listCases = (): string[] => readdirSync(casesDir).filter((f) => f.endsWith('.mm')).sort();

/** `// set: a=1 b=2` on the first line passes overrides, as `--set` would. */
function overridesOf(text: string): Record<string, string> {
  const m = /^\/\/ set: (.*)$/m.exec(text);
  const out: Record<string, string> = {};
  for (const kv of m?.[1]?.split(/\s+/) ?? []) {
    const eq = kv.indexOf('=');
    if (eq > 0) out[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return out;
}

export function runCase(name: string): { diagnostics: Diagnostic[]; text: string } {
  const path = join(casesDir, name);
  const source = readFileSync(path, 'utf8');
  const r = checkFile(path, { overrides: overridesOf(source), projectRoot: casesDir });
  const text = renderDiagnostics(r.diagnostics, r.sources, { color: false }).split(casesDir + '/').join('invalid/');
  return { diagnostics: r.diagnostics, text };
}

export const expectedPath = (name: string): string => join(casesDir, name.replace(/\.mm$/, '.expected'));
