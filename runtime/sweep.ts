// `mm sweep`: one run per combination of a spec's sweep axes (cartesian product, first axis slowest), each
// re-checked with `--set`-style overrides, trained, then evaluated; resumable (a variant whose done.json
// exists is skipped, a half-trained one resumes from its checkpoint). Writes results.md and SVG bar charts.
// Training and evaluation are injected, so the bookkeeping is tested without a GPU.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ResolvedSpec, SweepSpec } from '../compiler/semantics/spec.js';
import type { Cell, EvalReport, Task } from './eval/run.js';
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

export interface VariantResult {
  variant: Variant;
  runDir: string;
  train: TrainSummary;
  results: EvalReport['results'];
  perplexity: EvalReport['perplexity'];
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

export async function runSweep(sweep: SweepSpec, out: string, hooks: SweepHooks): Promise<VariantResult[]> {
  const log = hooks.log ?? (() => {});
  const variants = expandSweep(sweep);
  fs.mkdirSync(out, { recursive: true });
  const results: VariantResult[] = [];
  for (const [i, v] of variants.entries()) {
    const runDir = path.join(out, v.slug);
    const done = path.join(runDir, DONE);
    if (fs.existsSync(done)) {
      log(`[${i + 1}/${variants.length}] ${v.name}: done (skipped)`);
      results.push(readJson<VariantResult>(done));
      continue;
    }
    const spec = hooks.check(v.overrides);
    fs.mkdirSync(runDir, { recursive: true });
    // Training finished before (the evaluation was interrupted): keep its summary; a partial run resumes.
    let train: TrainSummary;
    if (fs.existsSync(path.join(runDir, TRAINED))) train = readJson<TrainSummary>(path.join(runDir, TRAINED));
    else {
      const resume = fs.existsSync(path.join(runDir, 'latest'));
      log(`[${i + 1}/${variants.length}] ${v.name}: ${resume ? 'resuming training' : 'training'} in ${runDir}`);
      train = await hooks.train(spec, runDir, resume);
      fs.writeFileSync(path.join(runDir, TRAINED), JSON.stringify(train) + '\n');
    }
    log(`[${i + 1}/${variants.length}] ${v.name}: evaluating`);
    const ev = await hooks.evaluate(spec, runDir);
    const r: VariantResult = { variant: v, runDir, train, results: ev.results, perplexity: ev.perplexity };
    fs.writeFileSync(done, JSON.stringify(r, null, 1) + '\n');
    results.push(r);
    writeReport(sweep, results, out);
  }
  writeReport(sweep, results, out);
  return results;
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
  const head = [...params, 'final loss', ...cols.map((c) => c.head), ...(ppl ? ['text ppl'] : [])];
  const rows = results.map((r) => [
    ...params.map((p) => String(r.variant.values[p])),
    Number.isFinite(r.train.finalLoss) ? r.train.finalLoss.toFixed(4) : '—',
    ...cols.map((c) => cell(r.results[c.task]?.[c.k])),
    ...(ppl ? [r.perplexity ? r.perplexity.value.toFixed(3) : '—'] : []),
  ]);
  return [
    `# Sweep \`${sweep.name}\``,
    '',
    `${results.length} run(s); mean ± std over demonstration seeds. CIDEr-D ×100, VQA accuracy in %.`,
    '',
    ...[head, head.map(() => '---'), ...rows].map((c) => `| ${c.join(' | ')} |`),
    '',
    ...TASKS.filter(({ task }) => shotsOf(results, task).length).map(({ task }) => `![${task}](${task}.svg)`),
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
  return charts;
}

export function writeReport(sweep: SweepSpec, results: VariantResult[], out: string): void {
  fs.writeFileSync(path.join(out, 'results.md'), resultsMarkdown(sweep, results));
  fs.writeFileSync(path.join(out, 'results.json'), JSON.stringify(results, null, 1) + '\n');
  for (const [name, svg] of sweepCharts(sweep, results)) fs.writeFileSync(path.join(out, name), svg);
}
