// `mm doctor` on the real adapter: reports it and passes its self-test (a copy kernel and a matmul vs the CPU).
import { describe, expect, it } from 'vitest';
import { main } from '../../cli/mm.js';

function capture() {
  const out: string[] = [], err: string[] = [];
  return { io: { stdout: (s: string) => { out.push(s); }, stderr: (s: string) => { err.push(s); } }, out, err };
}

describe('mm doctor', () => {
  it('reports the adapter and passes the self-test (--json)', async () => {
    const c = capture();
    const code = await main(['doctor', '--json'], c.io);
    expect(c.err.join('')).toBe('');
    expect(code).toBe(0);
    const r = JSON.parse(c.out.join(''));
    expect(r.ok).toBe(true);
    expect(r.adapter.vendor.length).toBeGreaterThan(0);
    expect(r.selfTest.map((t: { name: string }) => t.name.split(' ')[0])).toEqual(['vec4', 'matmul']);
    for (const t of r.selfTest) expect(t.ok).toBe(true);
    if (process.env.CI === 'true') expect(r.adapter.description).toMatch(/llvmpipe/);
  });

  it('reports the matmul tuning table stored for this adapter (MM_TUNING)', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const { openDevice } = await import('../../runtime/device.js');
    const { adapterKey } = await import('../../runtime/tuning.js');
    const caps = (await openDevice()).caps;
    const path = join(mkdtempSync(join(tmpdir(), 'mm-doctor-')), 'tune.json');
    const entry = { options: {}, variant: 'v', ms: 1, date: '', tried: [] };
    writeFileSync(path, JSON.stringify({ [adapterKey(caps)]: { a: entry, b: entry }, 'other|adapter||': { c: entry } }));
    const saved = process.env.MM_TUNING;
    try {
      process.env.MM_TUNING = path;
      const c = capture();
      expect(await main(['doctor', '--json'], c.io)).toBe(0);
      expect(JSON.parse(c.out.join('')).tuning).toEqual({ path, shapes: 2 });
      process.env.MM_TUNING = 'off';
      const off = capture();
      expect(await main(['doctor'], off.io)).toBe(0);
      expect(off.out.join('\n')).toMatch(/tuning +off/);
    } finally {
      if (saved === undefined) delete process.env.MM_TUNING; else process.env.MM_TUNING = saved;
    }
  });

  it('prints a readable report and --help', async () => {
    const c = capture();
    expect(await main(['doctor'], c.io)).toBe(0);
    expect(c.out.join('\n')).toMatch(/adapter .*\n[\s\S]*self-test[\s\S]*ok +vec4 copy/);
    const h = capture();
    expect(await main(['doctor', '--help'], h.io)).toBe(0);
    expect(h.out.join('')).toContain('usage: mm doctor');
  });

  it('rejects an unknown command with a suggestion and exit 1', async () => {
    const c = capture();
    expect(await main(['doctr'], c.io)).toBe(1);
    expect(c.err.join('')).toContain("did you mean 'doctor'");
  });
});
