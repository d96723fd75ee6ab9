// `mm sweep`: one run per combination of a spec's sweep axes (cartesian product, first axis slowest), each
// re-checked with `--set`-style overrides, trained, then evaluated; resumable (a variant whose done.json
// exists is skipped, a half-trained one resumes from its checkpoint). With several training seeds each variant
// is trained once per seed (OUT/<variant>/seed-<s>/) and its figures are mean ± std over those runs: the error
// bars then say how much of a difference between variants is training noise. Writes results.md and SVG bar
// charts. Training and evaluation are injected, so the bookkeeping is tested without a GPU.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ResolvedSpec, SweepSpec } from '../compiler/semantics/spec.js';
import type { Cell, EvalReport, Task } from './eval/run.js';
import { fixed, meanStd } from './eval/run.js';
import type { Grounding } from './eval/grounding.js';
import { barChart } from './plot.js';

export interface Variant {
  /** e.g. "res=32 tokens=4" */
  name: string;
  /** folder name, e.g. "res-32_tokens-4" */
  slug: string;
  values: Record<string, number | string>;
  overrides: Record<string, string>;
}

export interface TrainSummary { finalLoss: number; tokensPerSecond: number; steps?: number }

/** One trained and evaluated run (a variant at one training seed). */
export interface RunResult {
  seed: number;
  runDir: string;
  train: TrainSummary;
  results: EvalReport['results'];
  perplexity: EvalReport['perplexity'];
  grounding?: Grounding | null;
}

/** A variant: its runs and their aggregate (over training seeds when there are several, else over demo seeds). */
export interface VariantResult {
  variant: Variant;
  runDir: string;
  train: TrainSummary;
  results: EvalReport['results'];
  perplexity: EvalReport['perplexity'];
  /** Image use, gap in nats/token: mean ± std over the runs. */
  imageGap?: { mean: number; std: number } | null;
  finalLossStd?: number;
  runs?: RunResult[];
}

export interface SweepOptions {
  /** Training seeds: each variant is trained once per seed, in <variant>/seed-<s>/ (default: the spec's seed, in <variant>/). */
  trainSeeds?: number[];
  /** Train nothing: rewrite the report from the runs that are done (a partial sweep's table so far). */
  reportOnly?: boolean;
}

export interface SweepHooks {
  /** The spec checked with these overrides (throws a user-facing error when it does not check). */
  check(overrides: Record<string, string>): ResolvedSpec;
  train(spec: ResolvedSpec, runDir: string, resume: boolean): Promise<TrainSummary>;
  evaluate(spec: ResolvedSpec, runDir: string): Promise<EvalReport>;
  log?(line: string): void;
}

const slugPart = (s: string): string => s.replace(/[^A-Za-z0-9._-]+/g, '_');

/** Every combination of the axes; the first axis varies slowest. */
export function expandSweep(sweep: SweepSpec): Variant[] {
  let combos: [string, number | string][][] = [[]];
  for (const axis of sweep.axes) combos = combos.flatMap((c) => axis.values.map((v) => [...c, [axis.param, v] as [string, number | string]]));
  return combos.map((c) => ({
    name: c.map(([k, v]) => `${k}=${v}`).join(' '),
    slug: c.map(([k, v]) => `${slugPart(k)}-${slugPart(String(v))}`).join('_') || 'base',
    values: Object.fromEntries(c),
    overrides: Object.fromEntries(c.map(([k, v]) => [k, String(v)])),
  }));
}

/** The sweep to run: the one named, or the only one. */
export function pickSweep(spec: ResolvedSpec, name?: string): SweepSpec {
  if (!spec.sweeps.length) throw new Error(`${spec.file} has no sweep block`);
  if (name !== undefined) {
    const s = spec.sweeps.find((x) => x.name === name);
    if (!s) throw new Error(`no sweep named '${name}' (sweeps: ${spec.sweeps.map((x) => x.name).join(', ')})`);
    return s;
  }
  if (spec.sweeps.length > 1) throw new Error(`the spec has ${spec.sweeps.length} sweeps (${spec.sweeps.map((x) => x.name).join(', ')}): pick one with --sweep NAME`);
  return spec.sweeps[0]!;
}

const DONE = 'done.json', TRAINED = 'train.json';
const readJson = <T>(f: string): T => JSON.parse(fs.readFileSync(f, 'utf8')) as T;

export async function runSweep(sweep: SweepSpec, out: string, hooks: SweepHooks, opts: SweepOptions = {}): Promise<VariantResult[]> {
  const log = hooks.log ?? (() => {});
  const variants = expandSweep(sweep);
  const seeds = opts.trainSeeds;
  fs.mkdirSync(out, { recursive: true });
  const results: VariantResult[] = [];
  for (const [i, v] of variants.entries()) {
    const variantDir = path.join(out, v.slug);
    const runs: RunResult[] = [];
    for (const seed of seeds ?? [undefined]) {
      // With explicit seeds every run has a folder of its own, so a sweep can later be re-run with more seeds.
      const runDir = seeds ? path.join(variantDir, `seed-${seed}`) : variantDir;
      const tag = `[${i + 1}/${variants.length}] ${v.name}${seeds ? ` seed ${seed}` : ''}`;
      if (opts.reportOnly && !fs.existsSync(path.join(runDir, DONE))) { log(`${tag}: not done (left out of the report)`); continue; }
      runs.push(await runOne(v, seed, runDir, tag, hooks, log));
    }
    if (runs.length) results.push(aggregate(v, variantDir, runs));
    writeReport(sweep, results, out);
  }
  writeReport(sweep, results, out);
  return results;
}

/** Trains (or resumes) and evaluates one run; a run with done.json is read back, not redone. */
async function runOne(v: Variant, seed: number | undefined, runDir: string, tag: string, hooks: SweepHooks, log: (l: string) => void): Promise<RunResult> {
  const done = path.join(runDir, DONE);
  if (fs.existsSync(done)) {
    log(`${tag}: done (skipped)`);
    const r = readJson<RunResult & { variant?: Variant }>(done);
    return { seed: r.seed ?? seed ?? 0, runDir: r.runDir, train: r.train, results: r.results, perplexity: r.perplexity, grounding: r.grounding ?? null };
  }
  let spec = hooks.check(v.overrides);
  if (seed !== undefined && spec.train) spec = { ...spec, train: { ...spec.train, seed } };
  fs.mkdirSync(runDir, { recursive: true });
  // Training finished before (the evaluation was interrupted): keep its summary; a partial run resumes.
  let train: TrainSummary;
  if (fs.existsSync(path.join(runDir, TRAINED))) train = readJson<TrainSummary>(path.join(runDir, TRAINED));
  else {
    const resume = fs.existsSync(path.join(runDir, 'latest'));
    log(`${tag}: ${resume ? 'resuming training' : 'training'} in ${runDir}`);
    train = await hooks.train(spec, runDir, resume);
    fs.writeFileSync(path.join(runDir, TRAINED), JSON.stringify(train) + '\n');
  }
  log(`${tag}: evaluating`);
  const ev = await hooks.evaluate(spec, runDir);
  const r: RunResult = { seed: seed ?? spec.train?.seed ?? 0, runDir, train, results: ev.results, perplexity: ev.perplexity, grounding: ev.grounding ?? null };
  fs.writeFileSync(done, JSON.stringify(r, null, 1) + '\n');
  return r;
}

/** One run: its own figures (± over demonstration seeds). Several: mean ± std over the runs' means. */
export function aggregate(variant: Variant, runDir: string, runs: RunResult[]): VariantResult {
  const gaps = runs.map((r) => r.grounding?.gap).filter((g): g is number => g !== undefined);
  const imageGap = gaps.length === runs.length && gaps.length ? meanStd(gaps) : null;
  if (runs.length === 1) {
    const r = runs[0]!;
    return { variant, runDir, train: r.train, results: r.results, perplexity: r.perplexity, imageGap, runs };
  }
  const results: EvalReport['results'] = {};
  for (const task of ['captioning', 'vqa'] as Task[]) {
    const shots = [...new Set(runs.flatMap((r) => Object.keys(r.results[task] ?? {})))];
    for (const k of shots) {
      const per = runs.map((r) => r.results[task]?.[k]?.mean);
      if (per.some((x) => x === undefined)) continue;
      (results[task] ??= {})[k] = { ...meanStd(per as number[]), perSeed: per as number[] };
    }
  }
  const loss = meanStd(runs.map((r) => r.train.finalLoss));
  const ppl = runs.every((r) => r.perplexity) ? { value: meanStd(runs.map((r) => r.perplexity!.value)).mean, tokens: runs[0]!.perplexity!.tokens } : null;
  const tps = meanStd(runs.map((r) => r.train.tokensPerSecond)).mean;
  return { variant, runDir, train: { finalLoss: loss.mean, tokensPerSecond: tps, steps: runs[0]!.train.steps }, finalLossStd: loss.std, results, perplexity: ppl, imageGap, runs };
}

const TASKS: { task: Task; label: string }[] = [{ task: 'captioning', label: 'CIDEr' }, { task: 'vqa', label: 'VQA' }];
const cell = (c: Cell | undefined): string => (c ? `${c.mean.toFixed(2)} ± ${c.std.toFixed(2)}` : '—');

/** The shot counts that appear for a task across the results, ascending. */
function shotsOf(results: VariantResult[], task: Task): number[] {
  return [...new Set(results.flatMap((r) => Object.keys(r.results[task] ?? {}).map(Number)))].sort((a, b) => a - b);
}

/** Markdown table: one row per variant, its params, final loss, then CIDEr and VQA per shot (± over seeds). */
export function resultsMarkdown(sweep: SweepSpec, results: VariantResult[]): string {
  const params = sweep.axes.map((a) => a.param);
  const cols = TASKS.flatMap(({ task, label }) => shotsOf(results, task).map((k) => ({ task, k, head: `${label} ${k}-shot` })));
  const ppl = results.some((r) => r.perplexity);
  const gap = results.some((r) => r.imageGap);
  const nRuns = Math.max(1, ...results.map((r) => r.runs?.length ?? 1));
  const head = [...params, 'final loss', ...(gap ? ['image gap'] : []), ...cols.map((c) => c.head), ...(ppl ? ['text ppl'] : [])];
  const rows = results.map((r) => [
    ...params.map((p) => String(r.variant.values[p])),
    !Number.isFinite(r.train.finalLoss) ? '—' : r.finalLossStd !== undefined ? `${r.train.finalLoss.toFixed(4)} ± ${r.finalLossStd.toFixed(4)}` : r.train.finalLoss.toFixed(4),
    ...(gap ? [r.imageGap ? `${fixed(r.imageGap.mean, 3)}${(r.runs?.length ?? 1) > 1 ? ` ± ${r.imageGap.std.toFixed(3)}` : ''}` : '—'] : []),
    ...cols.map((c) => cell(r.results[c.task]?.[c.k])),
    ...(ppl ? [r.perplexity ? r.perplexity.value.toFixed(3) : '—'] : []),
  ]);
  const over = nRuns > 1
    ? `mean ± std over ${nRuns} training seeds (${results[0]?.runs?.map((x) => x.seed).join(', ')}) of each run's mean over demonstration seeds`
    : 'mean ± std over demonstration seeds';
  return [
    `# Sweep \`${sweep.name}\``,
    '',
    `${results.length} variant(s) × ${nRuns} run(s); ${over}. CIDEr-D ×100, VQA accuracy in %.`,
    ...(gap ? ['Image gap: held-out caption loss with the images rotated across slots minus with the right images (nats/token); 0 = the model ignores its images.'] : []),
    '',
    ...[head, head.map(() => '---'), ...rows].map((c) => `| ${c.join(' | ')} |`),
    '',
    ...TASKS.filter(({ task }) => shotsOf(results, task).length).map(({ task }) => `![${task}](${task}.svg)`),
    ...(gap ? ['![image use](grounding.svg)'] : []),
    '',
  ].join('\n');
}

/** One grouped bar chart per task: a group per variant, a bar per shot count, error bars = std over seeds. */
export function sweepCharts(sweep: SweepSpec, results: VariantResult[]): Map<string, string> {
  const charts = new Map<string, string>();
  for (const { task, label } of TASKS) {
    const shots = shotsOf(results, task);
    if (!shots.length) continue;
    const series = shots.map((k) => ({
      name: `${k}-shot`,
      values: results.map((r) => r.results[task]?.[k]?.mean ?? NaN),
      errors: results.map((r) => r.results[task]?.[k]?.std ?? 0),
    }));
    charts.set(`${task}.svg`, barChart(results.map((r) => r.variant.name), series, { title: `${sweep.name}: ${label}`, yLabel: task === 'vqa' ? 'VQA accuracy (%)' : 'CIDEr-D' }));
  }
  if (results.some((r) => r.imageGap)) {
    const series = [{ name: 'image gap', values: results.map((r) => r.imageGap?.mean ?? NaN), errors: results.map((r) => r.imageGap?.std ?? 0) }];
    charts.set('grounding.svg', barChart(results.map((r) => r.variant.name), series, { title: `${sweep.name}: image use`, yLabel: 'loss gap (nats/token)' }));
  }
  return charts;
}

export function writeReport(sweep: SweepSpec, results: VariantResult[], out: string): void {
  fs.writeFileSync(path.join(out, 'results.md'), resultsMarkdown(sweep, results));
  fs.writeFileSync(path.join(out, 'results.json'), JSON.stringify(results, null, 1) + '\n');
  for (const [name, svg] of sweepCharts(sweep, results)) fs.writeFileSync(path.join(out, name), svg);
}
