// `mm eval SPEC --checkpoint DIR`: MM1's few-shot protocol on a checkpoint: captioning (CIDEr-D) and VQA
// (accuracy) at 0/4/8 shots, demonstrations drawn per seed from the held-out pool, mean ± std over seeds,
// plus held-out text perplexity when the data set has eval/text.jsonl. Table to stdout, JSON to a file.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ResolvedSpec } from '../compiler/index.js';
import { InputFileError } from '../runtime/eval/json-file.js';
import { formatTable, generatorCompleter, loadEvalDir, runEval, type EvalReport, type Task } from '../runtime/eval/run.js';
import { GenerateError } from '../runtime/generate.js';
import { parseFlags, UserError, type IO } from './io.js';
import { captionPairs, measureGrounding } from '../runtime/eval/grounding.js';
import { engineFactory, loadModelFiles, loadSpec } from './generate.js';

const USAGE = `usage: mm eval SPEC --checkpoint DIR [options]

Few-shot evaluation as in MM1: prompts "<image>Output: {caption}" and "<image>Question: {q} Short answer: {a}",
k demonstrations drawn from the held-out pool (one draw per seed), greedy decoding (or beam, from the spec's
eval block), at most 20 new tokens for captions and 5 for answers. CIDEr-D (x100) and VQA accuracy (%).

options:
  --checkpoint DIR   checkpoint step directory or run directory (required)
  --shots LIST       shot counts, e.g. 0,4,8 (default: the spec's eval block, else 0,4,8)
  --seeds N          demonstration draws per shot count > 0 (default: the spec's, else 3)
  --data DIR         data set folder with eval/ (default: the folder of the spec's data files)
  --limit N          evaluate the first N images / questions only
  --beam K           beam width (default: the spec's eval beam, 1 = greedy)
  --batch N          greedy prompts decoded together (default 8; 1 = one at a time)
  --out FILE         where the JSON goes (default RUN/eval.json)
  --set k=v          override a spec param (repeatable)
  --no-grounding     skip the image-use measure (held-out caption loss with right vs rotated images)
  --cpu              run on the CPU reference interpreter instead of the GPU
  --json             print the JSON report instead of the table
  --help             this text`;

export interface EvaluateOptions {
  checkpoint: string;
  dataDir?: string;
  shots?: number[];
  seeds?: number;
  limit?: number;
  beam?: number;
  batch?: number;
  cpu?: boolean;
  out?: string;
  /** Measure image use (default true; needs an image model, captions and the spec's data block). */
  grounding?: boolean;
  log?: (line: string) => void;
}

/** The default data folder: where the spec's data files live (`mm data synth --out` there). */
export function defaultDataDir(spec: ResolvedSpec): string {
  const src = spec.data?.sources[0];
  if (!src) throw new UserError('the spec has no data block: pass --data DIR (a folder with eval/captions.json)');
  return path.dirname(src.path);
}

/** Loads the checkpoint, runs the protocol, writes the JSON; returns the report and where it went. */
export async function evaluateCheckpoint(spec: ResolvedSpec, o: EvaluateOptions): Promise<{ report: EvalReport; file: string }> {
  const dataDir = o.dataDir ?? defaultDataDir(spec);
  let data;
  try { data = loadEvalDir(dataDir); } catch (e) { if (e instanceof InputFileError) throw new UserError(e.message); throw e; }
  if (!spec.model.encoder) { delete data.captioning; delete data.vqa; }
  if (!data.captioning && !data.vqa && !data.text?.length) throw new UserError(`nothing to evaluate: model '${spec.model.name}' has no image encoder and ${dataDir} has no eval/text.jsonl`);
  const files = loadModelFiles(o.checkpoint, spec);
  const ev = spec.eval;
  const shots: number[] | Partial<Record<Task, number[]>> = o.shots ?? (ev ? { captioning: ev.captioning.shots, vqa: ev.vqa.shots } : [0, 4, 8]);
  const completer = generatorCompleter({
    factory: engineFactory(!!o.cpu), model: spec.model, tok: files.tok, weights: files.weights, beam: o.beam ?? ev?.beam ?? 1, batch: o.batch ?? 8, log: o.log,
  });
  let report: EvalReport;
  try {
    report = await runEval(data, completer, {
      shots, seeds: o.seeds ?? ev?.seeds ?? 3, limit: o.limit, log: o.log, batchSize: o.batch ?? 8,
      maxNewTokens: { captioning: ev?.captioning.maxNewTokens ?? 20, vqa: ev?.vqa.maxNewTokens ?? 5 },
    });
  } catch (e) {
    if (e instanceof GenerateError) throw new UserError(e.message);
    if (e instanceof InputFileError) throw new UserError(e.message);
    throw e;
  } finally { completer.dispose(); }
  if (o.grounding !== false && data.captioning && spec.model.encoder && spec.data && spec.train) {
    const pairs = captionPairs(data.captioning);
    o.log?.(`image use: scoring ${pairs.length} held-out caption pairs with right and rotated images`);
    report.grounding = await measureGrounding(spec, files.weights, files.tok, pairs, { factory: engineFactory(!!o.cpu, ['lm_loss']) });
  }
  const file = o.out ?? path.join(files.runDir, 'eval.json');
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.writeFileSync(file, JSON.stringify({ spec: spec.file, checkpoint: files.dir, step: files.step, data: dataDir, ...report }, null, 1) + '\n');
  return { report, file };
}

export async function run(argv: string[], io: IO): Promise<number> {
  try {
    const { flags, positional } = parseFlags(argv, {
      checkpoint: 'string', shots: 'string', seeds: 'number', data: 'string', limit: 'number', beam: 'number', batch: 'number', out: 'string',
      set: 'list', 'no-grounding': 'boolean', cpu: 'boolean', json: 'boolean', help: 'boolean',
    });
    if (flags.help) { io.stdout(USAGE); return 0; }
    if (positional.length !== 1) throw new UserError(`name one spec file\n\n${USAGE}`);
    if (typeof flags.checkpoint !== 'string') throw new UserError(`--checkpoint DIR is required\n\n${USAGE}`);
    let shots: number[] | undefined;
    if (typeof flags.shots === 'string') {
      shots = flags.shots.split(',').map((s) => Number(s.trim()));
      if (!shots.length || shots.some((k) => !Number.isInteger(k) || k < 0)) throw new UserError(`--shots needs non-negative integers separated by commas, e.g. 0,4,8 (got '${flags.shots}')`);
    }
    const posInt = (n: string) => { const v = flags[n]; if (v !== undefined && (!Number.isInteger(v) || (v as number) < 1)) throw new UserError(`--${n} must be a positive integer`); return v as number | undefined; };
    const json = !!flags.json;
    const spec = loadSpec(positional[0]!, (flags.set as string[] | undefined) ?? [], io, json);
    const { report, file } = await evaluateCheckpoint(spec, {
      checkpoint: flags.checkpoint, dataDir: flags.data as string | undefined, shots, seeds: posInt('seeds'), limit: posInt('limit'),
      beam: posInt('beam'), batch: posInt('batch'), cpu: !!flags.cpu, grounding: !flags['no-grounding'], out: flags.out as string | undefined, log: (l) => io.stderr(l),
    });
    if (json) io.stdout(JSON.stringify({ ...report, file }));
    else io.stdout(`${formatTable(report)}\n\nwrote ${file}`);
    return 0;
  } catch (e) {
    if (e instanceof UserError) { io.stderr(`mm eval: ${e.message}`); return 1; }
    throw e;
  }
}
