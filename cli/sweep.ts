// `mm sweep SPEC`: trains and evaluates every combination of a sweep block's axes (each a `--set` of the
// spec), resumable, then writes OUT/results.md (Markdown table, ± over seeds) and grouped bar charts (SVG).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkFile, renderDiagnostics } from '../compiler/index.js';
import { expandSweep, pickSweep, resultsMarkdown, runSweep } from '../runtime/sweep.js';
import { parseFlags, UserError, type IO } from './io.js';
import { evaluateCheckpoint } from './eval.js';
import { loadSpec } from './generate.js';
import { parseSets, useColor } from './specfiles.js';

const USAGE = `usage: mm sweep SPEC [options]

Runs the spec's sweep block: one training run per combination of the axes (e.g. res in 224 336 × tokens in
64 144 = 4 runs), each followed by the few-shot evaluation of \`mm eval\`. Each run lives in OUT/<params>/;
a run with done.json is skipped, a half-trained one resumes, so re-running the command continues a sweep.
Besides CIDEr and VQA, each run reports its image use: the held-out caption loss with the images rotated
across slots minus with the right images (0 = the model ignores its images).

options:
  --out DIR        sweep folder (default runs/<spec name>-<sweep name>)
  --sweep NAME     which sweep block (when the spec has several)
  --steps N        training steps per run (default: the spec's train block)
  --shots LIST     shot counts for the evaluation (default: the spec's eval block)
  --train-seeds N  train each variant N times (seeds s, s+1, … from the spec's train seed; runs in
                   OUT/<params>/seed-<s>/) and report mean ± std over those runs; re-running with a larger
                   N adds seeds to a finished sweep
  --seeds N        demonstration seeds (default: the spec's eval block)
  --limit N        evaluate the first N images / questions only
  --batch N        greedy prompts decoded together in the evaluation (default 8)
  --data DIR       data set folder with eval/ (default: next to the spec's data files)
  --set k=v        override a spec param for every run (repeatable; not a swept one)
  --report         train nothing: rewrite OUT/results.md and the charts from the runs already done
  --dry-run        list the runs and exit
  --cpu            train and evaluate on the CPU reference interpreter
  --json           print the results as JSON
  --help           this text`;

export async function run(argv: string[], io: IO): Promise<number> {
  try {
    const { flags, positional } = parseFlags(argv, {
      out: 'string', sweep: 'string', steps: 'number', 'train-seeds': 'number', shots: 'string', seeds: 'number', limit: 'number', batch: 'number', data: 'string',
      set: 'list', report: 'boolean', 'dry-run': 'boolean', cpu: 'boolean', json: 'boolean', help: 'boolean',
    });
    if (flags.help) { io.stdout(USAGE); return 0; }
    if (positional.length !== 1) throw new UserError(`name one spec file\n\n${USAGE}`);
    const file = positional[0]!;
    const json = !!flags.json;
    const sets = parseSets((flags.set as string[] | undefined) ?? []);
    const base = loadSpec(file, (flags.set as string[] | undefined) ?? [], io, json);
    let sweep;
    try { sweep = pickSweep(base, flags.sweep as string | undefined); } catch (e) { throw new UserError((e as Error).message); }
    for (const a of sweep.axes) if (a.param in sets) throw new UserError(`--set ${a.param} conflicts with the sweep axis '${a.param}'`);
    const variants = expandSweep(sweep);
    const out = (flags.out as string | undefined) ?? path.join('runs', `${path.basename(file, '.mm')}-${sweep.name}`);
    if (flags['dry-run']) {
      if (json) io.stdout(JSON.stringify({ sweep: sweep.name, out, runs: variants.map((v) => ({ ...v, dir: path.join(out, v.slug) })) }));
      else io.stdout([`sweep ${sweep.name}: ${variants.length} run(s) in ${out}`, ...variants.map((v) => `  ${v.slug.padEnd(24)} --set ${Object.entries(v.overrides).map(([k, x]) => `${k}=${x}`).join(' --set ')}`)].join('\n'));
      return 0;
    }
    for (const n of ['steps', 'seeds', 'limit', 'batch', 'train-seeds']) {
      const v = flags[n];
      if (v !== undefined && (!Number.isInteger(v) || (v as number) < 1)) throw new UserError(`--${n} must be a positive integer`);
    }
    const steps = flags.steps as number | undefined;
    const nSeeds = flags['train-seeds'] as number | undefined;
    const seed0 = base.train?.seed ?? 0;
    const trainSeeds = nSeeds !== undefined ? Array.from({ length: nSeeds }, (_, k) => seed0 + k) : undefined;
    let shots: number[] | undefined;
    if (typeof flags.shots === 'string') {
      shots = flags.shots.split(',').map((s) => Number(s.trim()));
      if (shots.some((k) => !Number.isInteger(k) || k < 0)) throw new UserError(`--shots needs non-negative integers separated by commas (got '${flags.shots}')`);
    }
    const log = (l: string) => io.stderr(l);
    const { trainRun, TrainError } = await import('../runtime/train.js');
    const results = await runSweep(sweep, out, {
      check: (overrides) => {
        const r = checkFile(file, { overrides: { ...sets, ...overrides } });
        if (r.diagnostics.some((d) => d.severity === 'error') || !r.value) {
          io.stderr(renderDiagnostics(r.diagnostics, r.sources, { color: useColor() && !json }));
          throw new UserError(`${file} does not check with ${Object.entries(overrides).map(([k, v]) => `${k}=${v}`).join(' ')} (see above)`);
        }
        return r.value;
      },
      train: async (spec, runDir, resume) => {
        try {
          const r = await trainRun(spec, { out: runDir, steps, resume, backend: flags.cpu ? 'cpu' : 'gpu', progress: json ? 'json' : 'auto', log });
          return { finalLoss: r.finalLoss, tokensPerSecond: r.tokensPerSecond, steps: r.steps };
        } catch (e) {
          if (e instanceof TrainError) throw new UserError(`${runDir}: ${e.message}`);
          throw e;
        }
      },
      evaluate: async (spec, runDir) => (await evaluateCheckpoint(spec, {
        checkpoint: runDir, dataDir: flags.data as string | undefined, shots, seeds: flags.seeds as number | undefined,
        limit: flags.limit as number | undefined, batch: flags.batch as number | undefined, cpu: !!flags.cpu, out: path.join(runDir, 'eval.json'), log,
      })).report,
      log,
    }, { trainSeeds, reportOnly: !!flags.report });
    if (json) io.stdout(JSON.stringify({ sweep: sweep.name, out, results }));
    else io.stdout(`${resultsMarkdown(sweep, results)}\nwrote ${path.join(out, 'results.md')}${fs.existsSync(path.join(out, 'captioning.svg')) ? ` and charts in ${out}` : ''}`);
    return 0;
  } catch (e) {
    if (e instanceof UserError) { io.stderr(`mm sweep: ${e.message}`); return 1; }
    throw e;
  }
}
