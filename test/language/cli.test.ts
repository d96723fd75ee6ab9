// `mm check`, `mm fmt` and `mm inspect` through their `run` functions: exit codes, --json, --help, and no
// stack trace for any user error.

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run as check } from '../../cli/check.js';
import { run as fmt } from '../../cli/fmt.js';
import { run as inspect } from '../../cli/inspect.js';
import { repoRoot } from './golden.js';

async function call(cmd: typeof check, argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await cmd(argv, { stdout: (s) => { out += s + '\n'; }, stderr: (s) => { err += s + '\n'; } });
  return { code, out, err };
}
const spec = (f: string): string => join(repoRoot, 'specs', f);

describe('mm check', () => {
  it('passes the whole zoo (folders and ** globs expand)', async () => {
    const r = await call(check, [join(repoRoot, 'specs')]);
    expect(r.err).toMatch(/^ok: \d+ files checked/m);
    expect(r.code).toBe(0);
  });

  it('exits 1 with rendered diagnostics and no stack trace on errors', async () => {
    const r = await call(check, [join(repoRoot, 'test/language/invalid/MM2001-unknown-field.mm')]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('error[MM2001]');
    expect(r.err).not.toMatch(/\n\s+at /);
  });

  it('prints JSON with --json and help with --help', async () => {
    const j = await call(check, [spec('tiny.mm'), '--json']);
    expect(JSON.parse(j.out)).toMatchObject({ ok: true, files: [{ ok: true, diagnostics: [] }] });
    expect((await call(check, ['--help'])).out).toContain('usage: mm check');
  });

  it('takes --set and reports unknown params with a suggestion', async () => {
    const r = await call(check, [spec('ablations/tiny-resolution.mm'), '--set', 'rse=48']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('did you mean `res`?');
  });

  it('missing files and bad flags are user errors', async () => {
    const missing = await call(check, ['nope.mm']);
    expect(missing).toMatchObject({ code: 1, err: 'mm check: no such file: nope.mm\n' });
    expect((await call(check, [spec('tiny.mm'), '--frobnicate'])).code).toBe(1);
    expect((await call(check, [])).code).toBe(1);
    const empty = mkdtempSync(join(tmpdir(), 'mm-empty-'));
    expect(await call(check, [empty])).toMatchObject({ code: 1, err: `mm check: no .mm files in ${empty}\n` });
  });
});

describe('mm fmt', () => {
  it('--check passes on the zoo and --write canonicalises a file', async () => {
    expect((await call(fmt, [join(repoRoot, 'specs'), '--check'])).code).toBe(0);
    const dir = mkdtempSync(join(tmpdir(), 'mmfmt-'));
    const f = join(dir, 'a.mm');
    writeFileSync(f, 'mm 1\n// keep me\nencoder e = vit { image 32;patch 8 }   // and me\n');
    expect((await call(fmt, [f, '--check'])).code).toBe(1);
    expect((await call(fmt, [f, '--write'])).code).toBe(0);
    expect(readFileSync(f, 'utf8')).toBe('mm 1\n// keep me\nencoder e = vit {\n  image 32\n  patch 8\n}  // and me\n');
    expect((await call(fmt, [f, '--check'])).code).toBe(0);
  });

  it('refuses to format a file with syntax errors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mmfmt-'));
    const f = join(dir, 'b.mm');
    writeFileSync(f, 'mm 1\nencoder e = vit { image = 3 }\n');
    const r = await call(fmt, [f]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('MM0103');
  });
});

describe('mm inspect', () => {
  it('shows origins, parameter counts, FLOPs and memory', async () => {
    const r = await call(inspect, [spec('mm1-base.mm'), '--set', 'res=224']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('--set res=224');
    expect(r.out).toContain('template vit_l14');
    expect(r.out).toMatch(/encoder\s+303\.\d+M/);
    expect(r.out).toContain('FLOPs');
    expect(r.out).toContain('training memory');
  });

  it('--json carries the spec and the counts', async () => {
    const r = await call(inspect, [spec('mm1-3b-moe.mm'), '--json']);
    const j = JSON.parse(r.out);
    expect(j.spec.model.decoder.moe.experts).toBe(64);
    expect(j.params.total).toBeGreaterThan(60e9);
    expect(j.memory.total).toBeGreaterThan(j.params.total * 16);
  });

  it('a library file is a user error, not a crash', async () => {
    const r = await call(inspect, [spec('std/vit.mm')]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('defines no model');
  });
});
