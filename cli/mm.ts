#!/usr/bin/env node
// `mm`: the command line. Dispatches to one module per command, loaded lazily so that `mm check` never
// loads Dawn. Exit codes: 0 success, 1 user error (a message, never a stack trace), 2 internal error.

import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { processIO, UserError, type Command, type IO } from './io.js';

interface Entry { summary: string; load: () => Promise<{ run: Command }> }

const COMMANDS: Record<string, Entry> = {
  check: { summary: 'parse and check spec files; diagnostics to stderr', load: () => import('./check.js') },
  fmt: { summary: 'canonical formatting (--write, --check)', load: () => import('./fmt.js') },
  inspect: { summary: 'resolved spec, parameter counts, FLOPs per token, memory estimate', load: () => import('./inspect.js') },
  compile: { summary: 'show a compiler stage: --emit ast|spec|ir|grad|kernels|wgsl', load: () => import('./compile.js') },
  doctor: { summary: 'the WebGPU adapter, its features and limits, and a self-test', load: () => import('./doctor.js') },
  data: { summary: 'data sets: synth | emoji | text', load: () => import('./data.js') },
  tokenizer: { summary: 'train a byte-level BPE tokenizer', load: () => import('./tokenizer.js') },
  train: { summary: 'train a spec, with progress, metrics and checkpoints', load: () => import('./train.js') },
  generate: { summary: 'generate text from a checkpoint (KV cache), with images', load: () => import('./generate.js') },
  eval: { summary: 'few-shot captioning (CIDEr) and VQA accuracy', load: () => import('./eval.js') },
  score: { summary: 'the metrics alone: cider | vqa on COCO-format files', load: () => import('./score.js') },
  sweep: { summary: 'train and evaluate every run of a sweep; table and plots', load: () => import('./sweep.js') },
  plot: { summary: 'plot a run\'s metrics to SVG', load: () => import('./plot.js') },
  bench: { summary: 'kernel and training benchmarks with peers side by side', load: () => import('./bench.js') },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return [
    'mm — describe an MM1-style multimodal LLM in a .mm file; compile, train, generate and evaluate it on WebGPU.',
    '',
    'usage: mm <command> [options]      (mm <command> --help for its options)',
    '',
    'commands:',
    ...Object.entries(COMMANDS).map(([name, e]) => `  ${name.padEnd(width)}  ${e.summary}`),
    '',
    'Every command takes --json for machine-readable output. Exit codes: 0 ok, 1 user error, 2 internal error.',
  ].join('\n');
}

export async function main(argv: string[], io: IO = processIO): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') { io.stdout(usage()); return name ? 0 : 1; }
  if (name === '--version') { io.stdout('mm 0.1.0'); return 0; }
  const entry = COMMANDS[name];
  if (!entry) {
    const { closest } = await import('../compiler/diagnostics/suggest.js');
    const near = closest(name, Object.keys(COMMANDS));
    io.stderr(`mm: unknown command '${name}'${near ? ` — did you mean '${near}'?` : ''}\n\n${usage()}`);
    return 1;
  }
  try {
    const mod = await entry.load();
    return await mod.run(rest, io);
  } catch (e) {
    if (e instanceof UserError) { io.stderr(`mm ${name}: ${e.message}`); return 1; }
    const err = e as Error;
    if (['NoAdapterError', 'DataError', 'DeviceCapacityError', 'DeviceLostError', 'TrainError', 'GenerateError', 'CheckpointError'].includes(err?.name)) { io.stderr(`mm ${name}: ${err.message}`); return 1; }
    io.stderr(`mm ${name}: internal error: ${err?.stack ?? String(e)}\nThis is a bug in mm; please report it with the command you ran.`);
    return 2;
  }
}

function invokedDirectly(): boolean {
  const arg = process.argv[1];
  if (!arg) return false;
  try { return realpathSync(arg) === fileURLToPath(import.meta.url); } catch { return false; }
}

if (invokedDirectly()) {
  main(process.argv.slice(2)).then((code) => {
    // Dawn keeps handles open: exit explicitly once stdout has drained.
    process.stdout.write('', () => process.exit(code));
  });
}
