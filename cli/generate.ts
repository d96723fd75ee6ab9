// `mm generate SPEC --checkpoint DIR --prompt TEXT [--image PNG]...`: text from a trained checkpoint with a
// KV cache, `<image>` placeholders in the prompt matched in order to --image files; tokens stream to stdout.
// Also the helpers `mm eval` and `mm sweep` share: checking the spec, loading weights and the run's tokenizer.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkFile, renderDiagnostics, type ResolvedSpec } from '../compiler/index.js';
import { CheckpointError, loadCheckpoint, tensorToFloat32 } from '../runtime/checkpoint.js';
import { Tokenizer } from '../runtime/data/tokenizer.js';
import { encodePrompt } from '../runtime/data/mixer.js';
import { loadRgb, normalizeClip } from '../runtime/data/image.js';
import { GenerateError, Generator, cpuEngineFactory, defaultPrefillChunk, gpuEngineFactory, type EngineFactory, type Strategy } from '../runtime/generate.js';
import { tokenizerGuards } from '../runtime/eval/run.js';
import { parseFlags, processIO, UserError, type IO } from './io.js';
import { parseSets, useColor } from './specfiles.js';

const USAGE = `usage: mm generate SPEC --checkpoint DIR --prompt TEXT [--image PNG]... [options]

Generates a continuation of TEXT with the model of SPEC and the weights of a checkpoint (a step directory,
or a run directory: its latest checkpoint). Each <image> in TEXT takes the next --image file, in order.
The tokenizer is the run's tokenizer.json (found by walking up from the checkpoint).

options:
  --checkpoint DIR    checkpoint step directory or run directory (required)
  --prompt TEXT       the prompt (required); e.g. "<image>Output:"
  --image PNG         an image for the next <image> placeholder (repeatable)
  --max-tokens N      new tokens at most (default 32)
  --temperature T     sample at temperature T (default 0: greedy)
  --top-p P           nucleus sampling mass (default 1)
  --beam K            beam search with K beams (instead of greedy/sampling)
  --seed S            sampling seed (default 0)
  --stop STR          also stop once the text contains STR (repeatable); <eos> always stops
  --prefill-chunk N   prompt tokens per prefill run (default max(32, 2 x visual tokens per image))
  --set k=v           override a spec param (repeatable)
  --cpu               run on the CPU reference interpreter instead of the GPU
  --json              print one JSON object instead of streaming text: the text, token ids, log-prob,
                      seconds (in all), firstTokenSeconds (compiling and the prompt included) and
                      tokensPerSecond (the decode steps after the first token)
  --help              this text`;

/** Checks SPEC (with --set overrides); diagnostics to stderr; a user error when it does not check. */
export function loadSpec(file: string, sets: string[], io: IO, json = false): ResolvedSpec {
  if (!fs.existsSync(file)) throw new UserError(`no such spec file: ${file}`);
  const r = checkFile(file, { overrides: parseSets(sets) });
  if (r.diagnostics.length) io.stderr(renderDiagnostics(r.diagnostics, r.sources, { color: useColor() && !json }));
  if (r.diagnostics.some((d) => d.severity === 'error') || !r.value) throw new UserError(`${file} does not check (see above)`);
  return r.value;
}

/** The folder holding tokenizer.json: the checkpoint folder or the nearest one above it. */
export function findRunDir(checkpoint: string): string {
  let dir = path.resolve(checkpoint);
  for (;;) {
    if (fs.existsSync(path.join(dir, 'tokenizer.json'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new UserError(`no tokenizer.json in ${checkpoint} or any folder above it (a run folder written by \`mm train\` has one)`);
    dir = up;
  }
}

export interface LoadedModel { weights: Map<string, Float32Array>; tok: Tokenizer; runDir: string; step: number; dir: string }

/** Checkpoint weights (as f32) and the run's tokenizer, with user errors for missing or damaged files. */
export function loadModelFiles(checkpoint: string, spec: ResolvedSpec): LoadedModel {
  let ck;
  try { ck = loadCheckpoint(checkpoint, { verify: false }); } catch (e) {
    if (e instanceof CheckpointError) throw new UserError(e.message);
    throw e;
  }
  const weights = new Map([...ck.tensors].map(([k, t]) => [k, tensorToFloat32(t)]));
  const runDir = findRunDir(ck.dir);
  let tok: Tokenizer;
  try { tok = Tokenizer.load(path.join(runDir, 'tokenizer.json')); } catch (e) { throw new UserError(`${path.join(runDir, 'tokenizer.json')}: ${(e as Error).message}`); }
  if (tok.vocabSize > spec.model.decoder.vocab) throw new UserError(`the tokenizer has ${tok.vocabSize} ids but the decoder's vocab is ${spec.model.decoder.vocab}: is this checkpoint from this spec?`);
  return { weights, tok, runDir, step: ck.step, dir: ck.dir };
}

export function engineFactory(cpu: boolean, outputs?: string[]): EngineFactory {
  return cpu ? cpuEngineFactory({ precision: 'f64' }) : gpuEngineFactory({ precision: 'f32', outputs });
}

/**
 * The part of streamed text that is safe to print: up to the first stop string, holding back an incomplete
 * UTF-8 sequence and any tail that may be the start of a stop string.
 */
export function printable(s: string, stops: readonly string[]): string {
  let end = s.length;
  for (const st of stops) { const i = st ? s.indexOf(st) : -1; if (i >= 0 && i < end) end = i; }
  if (end === s.length) {
    for (const st of stops) for (let k = Math.min(st.length - 1, s.length); k > 0; k--) if (s.endsWith(st.slice(0, k))) { end = Math.min(end, s.length - k); break; }
  }
  const t = s.slice(0, end);
  const bad = t.indexOf('\uFFFD', Math.max(0, t.length - 4));
  return bad >= 0 ? t.slice(0, bad) : t;
}

const num = (flags: Record<string, unknown>, name: string, def: number, ok: (v: number) => boolean, what: string): number => {
  const v = flags[name] === undefined ? def : (flags[name] as number);
  if (!ok(v)) throw new UserError(`--${name} must be ${what}, got ${v}`);
  return v;
};

export async function run(argv: string[], io: IO): Promise<number> {
  try {
    const { flags, positional } = parseFlags(argv, {
      checkpoint: 'string', prompt: 'string', image: 'list', 'max-tokens': 'number', temperature: 'number', 'top-p': 'number',
      beam: 'number', seed: 'number', stop: 'list', 'prefill-chunk': 'number', set: 'list', cpu: 'boolean', json: 'boolean', help: 'boolean',
    });
    if (flags.help) { io.stdout(USAGE); return 0; }
    if (positional.length !== 1) throw new UserError(`name one spec file\n\n${USAGE}`);
    if (typeof flags.checkpoint !== 'string') throw new UserError(`--checkpoint DIR is required\n\n${USAGE}`);
    if (typeof flags.prompt !== 'string') throw new UserError(`--prompt TEXT is required\n\n${USAGE}`);
    const maxTokens = num(flags, 'max-tokens', 32, (v) => Number.isInteger(v) && v >= 1, 'a positive integer');
    const temperature = num(flags, 'temperature', 0, (v) => v >= 0, '≥ 0');
    const topP = num(flags, 'top-p', 1, (v) => v > 0 && v <= 1, 'in (0, 1]');
    const beam = num(flags, 'beam', 1, (v) => Number.isInteger(v) && v >= 1, 'a positive integer');
    const seed = num(flags, 'seed', 0, Number.isInteger, 'an integer');
    const chunk = num(flags, 'prefill-chunk', 0, (v) => Number.isInteger(v) && v >= 0, 'a positive integer');
    const json = !!flags.json;

    const spec = loadSpec(positional[0]!, (flags.set as string[] | undefined) ?? [], io, json);
    const m = spec.model;
    const files = (flags.image as string[] | undefined) ?? [];
    const parts = flags.prompt.split('<image>');
    if (parts.length - 1 !== files.length) throw new UserError(`the prompt has ${parts.length - 1} <image> placeholder(s) but ${files.length} --image file(s) were given`);
    if (files.length && !m.encoder) throw new UserError(`model '${m.name}' has no image encoder; drop the <image> placeholders`);
    for (const f of files) if (!fs.existsSync(f)) throw new UserError(`no such image: ${f}`);
    const { weights, tok } = loadModelFiles(flags.checkpoint, spec);

    const items: ({ text: string } | { image: Float32Array })[] = [];
    for (let i = 0; i < parts.length; i++) {
      if (i > 0) {
        try { items.push({ image: normalizeClip(await loadRgb(files[i - 1]!, m.encoder!.image)) }); } catch (e) {
          throw new UserError(`${files[i - 1]}: cannot decode image (${(e as Error).message.split('\n')[0]})`);
        }
      }
      if (parts[i]) items.push({ text: parts[i]! });
    }
    const p = encodePrompt(tok, items, m.connector?.tokens ?? 0);
    const C = chunk || defaultPrefillChunk(m);
    const Tmax = Math.ceil((p.tokens.length + maxTokens) / C) * C;
    const gen = await Generator.create(engineFactory(!!flags.cpu), m, { Tmax, prefillChunk: C, imageToken: tok.special.image, padToken: tok.special.pad });
    try {
      try { gen.loadWeights(weights); } catch (e) { if (e instanceof GenerateError) throw new UserError(e.message); throw e; }
      const strategy: Strategy = beam > 1 ? { kind: 'beam', width: beam } : temperature > 0 ? { kind: 'sample', temperature, topP, seed } : { kind: 'greedy' };
      const { ban, decode } = tokenizerGuards(tok, m.decoder.vocab);
      // Streaming writes raw to the terminal; through another IO (tests) the text arrives in one piece.
      const stream = !json && io === processIO;
      const stops = (flags.stop as string[] | undefined) ?? [];
      const sofar: number[] = [];
      let printed = '';
      const t0 = performance.now();
      let tFirst = 0;
      const r = await gen.generate(p.tokens, p.images, {
        maxNewTokens: maxTokens, strategy, stopTokens: [tok.special.eos], stopStrings: stops, decode, banTokens: ban,
        onToken: (id) => {
          tFirst ||= performance.now();
          if (!stream) return;
          sofar.push(id);
          const safe = printable(decode(sofar), stops);
          if (safe.length > printed.length && safe.startsWith(printed)) { process.stdout.write(safe.slice(printed.length)); printed = safe; }
        },
      });
      const tEnd = performance.now(), seconds = (tEnd - t0) / 1000;
      if (json) {
        // The first token's time includes compiling the prefill and decode programs and the prefill itself; the
        // rate is that of the decode steps after it (beam search reports its tokens at the end: whole time).
        const firstTokenSeconds = tFirst ? (tFirst - t0) / 1000 : seconds;
        const after = r.tokens.length - 1, decodeSeconds = (tEnd - tFirst) / 1000;
        const tokensPerSecond = tFirst && after > 0 && decodeSeconds > 0 && strategy.kind !== 'beam' ? after / decodeSeconds : r.tokens.length / seconds;
        io.stdout(JSON.stringify({ prompt: flags.prompt, promptTokens: p.tokens.length, tokens: r.tokens, text: r.text, logProb: r.logProb, finish: r.finish, strategy,
          seconds, firstTokenSeconds, tokensPerSecond }));
      } else if (stream) process.stdout.write((r.text ?? '').slice(printed.length) + '\n');
      else io.stdout(r.text ?? '');
      return 0;
    } finally { gen.dispose(); }
  } catch (e) {
    if (e instanceof UserError) { io.stderr(`mm generate: ${e.message}`); return 1; }
    if (e instanceof GenerateError) { io.stderr(`mm generate: ${e.message}`); return 1; }
    throw e;
  }
}
