// The shipped spec zoo as test data: every `.mm` under specs/, read once, plus an in-memory `readFile`
// so the property tests run without touching the disk.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { repoRoot } from './golden.js';

export const specsDir = join(repoRoot, 'specs');

function walk(dir: string, out: string[]): void {
  for (const n of readdirSync(dir).sort()) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (n.endsWith('.mm')) out.push(p);
  }
}

export const shippedFiles: string[] = (() => { const out: string[] = []; walk(specsDir, out); return out; })();
export const shippedText = new Map(shippedFiles.map((f) => [f, readFileSync(f, 'utf8')]));
export const rel = (abs: string): string => relative(repoRoot, abs);
export const memoryReadFile = (p: string): string | undefined => shippedText.get(p) ?? (p === join(repoRoot, 'package.json') ? '{}' : undefined);
