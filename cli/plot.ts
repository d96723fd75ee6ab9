// `mm plot RUN [--out FILE]`: a training run's loss and learning-rate curves as an SVG (no dependencies), from
// the run directory's metrics.jsonl. Exit 1 with a message when RUN is not a run directory.

import * as fs from 'node:fs';
import { parseFlags, UserError, type IO } from './io.js';
import { plotRun } from '../runtime/plot.js';

const USAGE = `usage: mm plot RUN [--out FILE] [--json]

Plots RUN/metrics.jsonl: every "*loss*" field against step, and the learning rate, to RUN/loss.svg.
options:
  --out FILE  where to write the SVG (default RUN/loss.svg)
  --json      print {"out": FILE} instead of a sentence
  --help      this text`;

export async function run(argv: string[], io: IO): Promise<number> {
  try {
    if (argv.includes('-h')) { io.stdout(USAGE); return 0; }
    const { flags, positional } = parseFlags(argv, { out: 'string', json: 'boolean', help: 'boolean' });
    if (flags.help) { io.stdout(USAGE); return 0; }
    if (positional.length !== 1) throw new UserError(`${positional.length ? 'one run directory at a time' : 'which run? give its directory'}\n\n${USAGE}`);
    const dir = positional[0]!;
    if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new UserError(`${dir}: not a directory`);
    let out: string;
    try { out = plotRun(dir, { out: flags.out as string | undefined }); } catch (e) { throw new UserError((e as Error).message); }
    io.stdout(flags.json ? JSON.stringify({ out }) : `wrote ${out}`);
    return 0;
  } catch (e) {
    if (e instanceof UserError) { io.stderr(`mm plot: ${e.message}`); return 1; }
    throw e;
  }
}
