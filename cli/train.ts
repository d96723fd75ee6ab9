// `mm train SPEC`: trains the spec's model on its data mix, with a progress bar, metrics.jsonl, a loss plot
// and checkpoints in the run folder; --resume continues from the latest checkpoint exactly.

import * as path from 'node:path';
import { parseFlags, UserError, type IO } from './io.js';
import { loadSpec } from './load-spec.js';
import { trainRun, TrainError } from '../runtime/train.js';

const HELP = `usage: mm train SPEC [--set name=value]... [--steps N] [--out DIR] [--resume] [--cpu] [--skip-bad] [--json]

Trains the model the spec's train block names on its data block, on the WebGPU adapter.

  --set name=value   override a param (repeatable)
  --steps N          stop after N optimizer steps (default: the spec's steps)
  --out DIR          run folder (default runs/<spec name>): metrics.jsonl, loss.svg, checkpoints, tokenizer.json
  --resume           continue from the run folder's latest checkpoint
  --cpu              run on the CPU reference interpreter instead of the GPU (slow; for checking)
  --skip-bad         skip unreadable records (counted and reported) instead of stopping
  --json             print the result as JSON (no progress bar)`;

export async function run(argv: string[], io: IO): Promise<number> {
  const { flags, positional } = parseFlags(argv, { set: 'list', steps: 'number', out: 'string', resume: 'boolean', cpu: 'boolean', 'skip-bad': 'boolean', json: 'boolean', help: 'boolean' });
  if (flags.help) { io.stdout(HELP); return 0; }
  const spec = loadSpec(positional[0], flags.set as string[] | undefined, io);
  if (!spec.train) throw new UserError(`${positional[0]} has no train block`);
  const steps = flags.steps as number | undefined;
  if (steps !== undefined && (!Number.isInteger(steps) || steps < 1)) throw new UserError('--steps needs a positive integer');
  const out = (flags.out as string | undefined) ?? path.join('runs', path.basename(positional[0]!, '.mm'));
  try {
    const r = await trainRun(spec, {
      out, steps, resume: !!flags.resume, backend: flags.cpu ? 'cpu' : 'gpu', skipBad: !!flags['skip-bad'],
      progress: flags.json ? 'json' : 'auto', log: (l) => io.stderr(l),
    });
    if (flags.json) io.stdout(JSON.stringify(r, (k, v) => (k === 'losses' ? undefined : v), 2));
    else io.stdout(`trained ${r.steps} steps: loss ${r.firstLoss.toFixed(4)} → ${r.finalLoss.toFixed(4)}, ${Math.round(r.tokensPerSecond)} tokens/s\nrun folder: ${r.runDir}`);
    return 0;
  } catch (e) {
    if (e instanceof TrainError) throw new UserError(e.message);
    throw e;
  }
}
