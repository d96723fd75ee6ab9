// The docs stay true: docs/cli.md is what scripts/gen-cli-docs.ts generates from the commands' --help today,
// and every relative link and every repository path named in the docs pages this suite owns exists.

import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';

const ROOT = join(import.meta.dirname, '../..');
const PAGES = ['examples/README.md', 'docs/README.md', 'docs/architecture.md', 'docs/api.md', 'docs/adding-an-op.md', 'docs/cli.md'];

describe('docs', () => {
  it('docs/cli.md is generated from the current commands (npx tsx scripts/gen-cli-docs.ts)', async () => {
    const r = await promisify(execFile)(join(ROOT, 'node_modules/.bin/tsx'), [join(ROOT, 'scripts/gen-cli-docs.ts'), '--check'], { cwd: ROOT, timeout: 120_000 })
      .catch((e: { stdout: string; stderr: string }) => e);
    expect(r.stderr, 'docs/cli.md is out of date: run npx tsx scripts/gen-cli-docs.ts').not.toMatch(/out of date/);
    expect(r.stdout).toContain('up to date');
  });

  it.each(PAGES)('%s: relative links and repository paths exist', (page) => {
    const text = readFileSync(join(ROOT, page), 'utf8');
    const missing: string[] = [];
    for (const m of text.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
      const target = m[1]!;
      if (/^[a-z]+:/.test(target)) continue;                                     // http:, mailto:
      if (!existsSync(resolve(dirname(join(ROOT, page)), target))) missing.push(target);
    }
    for (const m of text.matchAll(/`((?:compiler|runtime|cli|examples|scripts|test|specs)\/[\w./-]+\.(?:ts|md|mm|html))`/g)) {
      if (!existsSync(join(ROOT, m[1]!))) missing.push(m[1]!);
    }
    expect(missing).toEqual([]);
  });
});
