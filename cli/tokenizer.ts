// `mm tokenizer train`: byte-level BPE trained on a run's data files (captions, interleaved text, text
// documents), saved as JSON beside the run. The vocabulary size is the spec's (data.vocab): the trainer
// calls trainTokenizerForData with the checked spec; this command takes it as --vocab.
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseFlags, UserError, type IO } from './io.js';
import { collectTexts, guessKind, type SourceKind } from '../runtime/data/corpus.js';
import { check, type DataSpec, type ResolvedSpec } from '../compiler/index.js';
import { DataError } from '../runtime/data/errors.js';
import { trainBpe } from '../runtime/data/tokenizer.js';
import { LineReader } from '../runtime/data/sources.js';

const USAGE = `usage: mm tokenizer train DATA... --vocab N --out FILE [--max-chars N] [--skip-bad] [--json]
       mm tokenizer train --spec SPEC.mm --out FILE [--set k=v]... [...]

Trains a byte-level BPE tokenizer (256 byte tokens, <image> <bos> <eos> <pad>, then merges up to N) on the
text of the data files: captions.jsonl, interleaved.jsonl, .txt (documents split by blank lines) or
text JSONL ({"text": ...}); the kind of each file is read from its first record. Any UTF-8 text encodes
and decodes back exactly. Use the spec's data vocab as N.

options:
  --spec FILE      train on the spec's data block, with its vocab (the decoder's)
  --set k=v        override a spec param (with --spec)
  --vocab N        vocabulary size (≥ 260)
  --out FILE       where to write the tokenizer (JSON)
  --max-chars N    read at most N characters of text (default 50,000,000)
  --skip-bad       count bad records and go on instead of stopping
  --json           machine-readable summary on stdout
  --help           this text`;

export async function run(argv: string[], io: IO): Promise<number> {
  try {
    return await runInner(argv, io);
  } catch (e) {
    // user mistakes and bad data are messages with exit 1; anything else is a bug for mm.ts to report
    if (e instanceof UserError || e instanceof DataError) { io.stderr(`mm tokenizer: ${e.message}`); return 1; }
    throw e;
  }
}

async function runInner(argv: string[], io: IO): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || sub === '--help' || sub === '-h') { io.stdout(USAGE); return sub ? 0 : 1; }
  if (sub !== 'train') throw new UserError(`unknown tokenizer command '${sub}' (train)\n\n${USAGE}`);
  const { flags, positional } = parseFlags(rest, { spec: 'string', set: 'list', vocab: 'number', out: 'string', 'max-chars': 'number', 'skip-bad': 'boolean', json: 'boolean', help: 'boolean' });
  if (flags.help) { io.stdout(USAGE); return 0; }
  const fromSpec = typeof flags.spec === 'string' ? specData(flags.spec, (flags.set as string[] | undefined) ?? []) : null;
  const vocab = flags.vocab ?? fromSpec?.vocab;
  if (typeof vocab !== 'number' || !Number.isInteger(vocab) || vocab < 260) throw new UserError('--vocab must be an integer ≥ 260');
  if (typeof flags.out !== 'string') throw new UserError(`tokenizer train needs --out FILE\n\n${USAGE}`);
  if (positional.length === 0 && !fromSpec) throw new UserError(`tokenizer train needs --spec or at least one data file\n\n${USAGE}`);

  const t0 = Date.now();
  try {
    const sources: { kind: SourceKind; path: string }[] = fromSpec ? fromSpec.sources.map((s) => ({ kind: s.kind, path: s.path })) : [];
    for (const f of positional) {
      const path = resolve(f);
      let first = '';
      const reader = new LineReader(path);
      try {
        first = (await reader.next())?.text ?? '';
      } catch (e) {
        if (!(e instanceof DataError)) throw new UserError(`${f}: cannot read (${(e as Error).message.split('\n')[0]})`);
      } finally {
        await reader.close();
      }
      sources.push({ kind: guessKind(path, first), path });
    }
    const maxChars = typeof flags['max-chars'] === 'number' ? flags['max-chars'] : undefined;
    const { texts, chars, bad } = await collectTexts(sources, { maxChars, skipBad: flags['skip-bad'] === true });
    if (chars === 0) throw new UserError('the data files hold no text to train on');
    const tok = trainBpe(texts, vocab);
    const out = resolve(flags.out);
    mkdirSync(dirname(out), { recursive: true });
    tok.save(out);
    const sample = texts[0]!.slice(0, 200);
    const ratio = sample.length / Math.max(1, tok.encode(sample).length);
    const summary = { out, vocab, merges: tok.merges.length, chars, files: sources, bad: bad.count, charsPerToken: Number(ratio.toFixed(2)), seconds: (Date.now() - t0) / 1000 };
    if (flags.json === true) io.stdout(JSON.stringify(summary));
    else {
      io.stdout(`wrote ${out}: ${tok.merges.length} merges learned from ${chars} characters (${summary.charsPerToken} chars/token on a sample) in ${summary.seconds.toFixed(1)} s`);
      if (bad.count) io.stderr(bad.summary());
    }
    return 0;
  } catch (e) {
    if (e instanceof DataError) { io.stderr(`mm tokenizer train: ${e.message}`); return 1; }
    throw e;
  }
}

/** The data block of a checked spec. */
function specData(file: string, sets: string[]): DataSpec {
  const spec = loadCheckedSpec(file, sets);
  if (!spec.data) throw new UserError(`${file}: the spec has no data block`);
  return spec.data;
}

/** A checked spec; check errors are user errors (printed as the checker words them). */
export function loadCheckedSpec(file: string, sets: string[] = []): ResolvedSpec {
  let source: string;
  try { source = readFileSync(file, 'utf8'); } catch { throw new UserError(`${file}: file not found`); }
  const overrides: Record<string, string> = {};
  for (const kv of sets) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new UserError(`--set needs k=v, got '${kv}'`);
    overrides[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  const r = check(source, resolve(file), { overrides });
  const errors = r.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length || !r.value) throw new UserError(`${file}: ${errors.map((d) => d.message).join('; ') || 'does not check'} (run mm check for details)`);
  return r.value;
}
