// Sweeps: the cartesian product of the axes with the right `--set` overrides (re-checked through the
// language), and runSweep's bookkeeping with injected train/evaluate: results.md, charts, resumption.

import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkFile, checkSource } from '../../compiler/language.js';
import type { ResolvedSpec, SweepSpec } from '../../compiler/semantics/spec.js';
import type { EvalReport } from '../../runtime/eval/run.js';
import { expandSweep, pickSweep, runSweep } from '../../runtime/sweep.js';
import { run as sweepCli } from '../../cli/sweep.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-sweep-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const SPEC = path.resolve('specs/ablations/tiny-resolution.mm');

describe('sweep expansion', () => {
  it('is the cartesian product, first axis slowest', () => {
    const s: SweepSpec = { name: 's', axes: [{ param: 'a', values: [1, 2] }, { param: 'b', values: ['x', 'y', 'z'] }] };
    const v = expandSweep(s);
    expect(v.map((x) => x.name)).toEqual(['a=1 b=x', 'a=1 b=y', 'a=1 b=z', 'a=2 b=x', 'a=2 b=y', 'a=2 b=z']);
    expect(v[4]).toEqual({ name: 'a=2 b=y', slug: 'a-2_b-y', values: { a: 2, b: 'y' }, overrides: { a: '2', b: 'y' } });
    expect(expandSweep({ name: 'e', axes: [] })).toHaveLength(1);
  });

  it('overrides re-check the spec: each variant resolves to its own model', () => {
    const base = checkFile(SPEC);
    expect(base.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const sweep = pickSweep(base.value!);
    const variants = expandSweep(sweep);
    expect(variants.map((v) => v.overrides)).toEqual([
      { res: '32', tokens: '4' }, { res: '32', tokens: '16' }, { res: '64', tokens: '4' }, { res: '64', tokens: '16' },
    ]);
    const source = fs.readFileSync(SPEC, 'utf8');
    for (const v of variants) {
      const r = checkSource(source, SPEC, { overrides: v.overrides });
      expect(r.value!.model.encoder!.image).toBe(v.values.res);
      expect(r.value!.model.connector!.tokens).toBe(v.values.tokens);
    }
  });

  it('mm sweep --dry-run lists the runs; a --set on a swept param is a user error', async () => {
    const out: string[] = [], err: string[] = [];
    const io = { stdout: (s: string) => out.push(s), stderr: (s: string) => err.push(s) };
    expect(await sweepCli([SPEC, '--dry-run', '--json', '--out', path.join(tmp, 'dry')], io)).toBe(0);
    const j = JSON.parse(out[0]!);
    expect(j.runs.map((r: { slug: string }) => r.slug)).toEqual(['res-32_tokens-4', 'res-32_tokens-16', 'res-64_tokens-4', 'res-64_tokens-16']);
    expect(await sweepCli([SPEC, '--set', 'res=64'], io)).toBe(1);
    expect(err.join('\n')).toMatch(/conflicts with the sweep axis 'res'/);
  });
});

describe('runSweep', () => {
  const sweep: SweepSpec = { name: 'res', axes: [{ param: 'res', values: [32, 48] }, { param: 'tokens', values: [4, 16] }] };
  const fakeSpec = (o: Record<string, string>) => ({ params: o }) as unknown as ResolvedSpec;
  const report = (spec: ResolvedSpec): EvalReport => {
    const r = Number(spec.params.res) + Number(spec.params.tokens);
    return {
      shots: [0, 4], seeds: 2, perplexity: null, predictions: {},
      results: {
        captioning: { 0: { mean: r, std: 0, perSeed: [r] }, 4: { mean: r + 1, std: 0.5, perSeed: [r + 0.5, r + 1.5] } },
        vqa: { 0: { mean: r / 2, std: 0, perSeed: [r / 2] } },
      },
    };
  };

  it('trains and evaluates each variant once, writes results.md and charts, and resumes', async () => {
    const out = path.join(tmp, 'sweep');
    const calls: string[] = [];
    const hooks = {
      check: (o: Record<string, string>) => fakeSpec(o),
      train: async (spec: ResolvedSpec, dir: string, resume: boolean) => { calls.push(`train ${path.basename(dir)} ${resume}`); return { finalLoss: 1.5, tokensPerSecond: 10 }; },
      evaluate: async (spec: ResolvedSpec, dir: string) => {
        calls.push(`eval ${path.basename(dir)}`);
        if (path.basename(dir) === 'res-48_tokens-4' && calls.filter((c) => c.startsWith('eval')).length === 3) throw new Error('interrupted');
        return report(spec);
      },
    };
    await expect(runSweep(sweep, out, hooks)).rejects.toThrow('interrupted');
    expect(calls).toEqual(['train res-32_tokens-4 false', 'eval res-32_tokens-4', 'train res-32_tokens-16 false', 'eval res-32_tokens-16', 'train res-48_tokens-4 false', 'eval res-48_tokens-4']);
    calls.length = 0;
    const results = await runSweep(sweep, out, hooks);
    // Done variants are skipped; the interrupted one keeps its training and is only re-evaluated.
    expect(calls).toEqual(['eval res-48_tokens-4', 'train res-48_tokens-16 false', 'eval res-48_tokens-16']);
    expect(results.map((r) => r.variant.slug)).toEqual(['res-32_tokens-4', 'res-32_tokens-16', 'res-48_tokens-4', 'res-48_tokens-16']);

    const md = fs.readFileSync(path.join(out, 'results.md'), 'utf8').split('\n');
    expect(md).toContain('| res | tokens | final loss | CIDEr 0-shot | CIDEr 4-shot | VQA 0-shot |');
    expect(md).toContain('| 48 | 16 | 1.5000 | 64.00 ± 0.00 | 65.00 ± 0.50 | 32.00 ± 0.00 |');
    const svg = fs.readFileSync(path.join(out, 'captioning.svg'), 'utf8');
    expect(svg.match(/class="bar"/g)).toHaveLength(8);
    expect(svg).toContain('res=48 tokens=16');
    expect(fs.existsSync(path.join(out, 'vqa.svg'))).toBe(true);
    calls.length = 0;
    await runSweep(sweep, out, hooks);
    expect(calls).toEqual([]);
  });

  it('with training seeds: one run per seed in seed-<s>/, each given its seed; mean ± std over the runs', async () => {
    const out = path.join(tmp, 'seeds');
    const seen: string[] = [];
    const one: SweepSpec = { name: 'res', axes: [{ param: 'res', values: [32, 48] }] };
    const hooks = {
      check: (o: Record<string, string>) => ({ params: o, train: { seed: 0 } }) as unknown as ResolvedSpec,
      train: async (spec: ResolvedSpec, dir: string) => {
        seen.push(`${path.basename(path.dirname(dir))}/${path.basename(dir)} seed ${spec.train!.seed}`);
        return { finalLoss: 1 + spec.train!.seed, tokensPerSecond: 10 };
      },
      // CIDEr 0-shot = res + 2·seed; image gap = seed / 10.
      evaluate: async (spec: ResolvedSpec): Promise<EvalReport> => ({
        shots: [0], seeds: 1, perplexity: null, predictions: {},
        results: { captioning: { 0: { mean: Number(spec.params.res) + 2 * spec.train!.seed, std: 0, perSeed: [] } } },
        grounding: { loss: 1, shuffledLoss: 1 + spec.train!.seed / 10, gap: spec.train!.seed / 10, pairs: 4 },
      }),
    };
    const results = await runSweep(one, out, hooks, { trainSeeds: [5, 6, 7] });
    expect(seen).toEqual(['res-32/seed-5 seed 5', 'res-32/seed-6 seed 6', 'res-32/seed-7 seed 7', 'res-48/seed-5 seed 5', 'res-48/seed-6 seed 6', 'res-48/seed-7 seed 7']);
    // seeds 5, 6, 7: CIDEr 58, 60, 62 for res 48 → mean 60, sample std 2; loss 6, 7, 8 → 7 ± 1; gap 0.6 ± 0.1
    const r48 = results[1]!;
    expect(r48.results.captioning![0]).toEqual({ mean: 60, std: 2, perSeed: [58, 60, 62] });
    expect(r48.train.finalLoss).toBe(7);
    expect(r48.finalLossStd).toBe(1);
    expect(r48.imageGap!.mean).toBeCloseTo(0.6, 12);
    expect(r48.imageGap!.std).toBeCloseTo(0.1, 12);
    const md = fs.readFileSync(path.join(out, 'results.md'), 'utf8');
    expect(md).toContain('| 48 | 7.0000 ± 1.0000 | 0.600 ± 0.100 | 60.00 ± 2.00 |');
    expect(md).toMatch(/over 3 training seeds \(5, 6, 7\)/);
    expect(fs.existsSync(path.join(out, 'grounding.svg'))).toBe(true);
    seen.length = 0;
    await runSweep(one, out, hooks, { trainSeeds: [5, 6, 7] });
    expect(seen).toEqual([]);
    // More seeds later, report only: nothing trains, the table covers the runs that are done.
    const partial = await runSweep(one, out, hooks, { trainSeeds: [5, 6, 7, 8], reportOnly: true });
    expect(seen).toEqual([]);
    expect(partial.map((r) => r.runs!.length)).toEqual([3, 3]);
    expect(fs.existsSync(path.join(out, 'res-32', 'seed-8'))).toBe(false);
  });
});
