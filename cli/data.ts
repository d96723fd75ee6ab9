// `mm data synth|emoji|text|check`: writes the data sets the spec's data block points at (the synthetic world,
// emoji pictures and public-domain text that ship in npm packages), and checks user-supplied data files
// with the mixer's own readers so a bad record is found before a run, not in the middle of one.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseFlags, UserError, type IO } from './io.js';
import { synth } from '../runtime/data/synth.js';
import { importEmoji, importText } from '../runtime/data/realdata.js';
import { BadDataLog, DataError } from '../runtime/data/errors.js';
import { loadImage } from '../runtime/data/image.js';
import { SourceStream } from '../runtime/data/sources.js';
import { loadCheckedSpec } from './tokenizer.js';

const USAGE = `usage: mm data synth --out DIR [--seed N] [--images N] [--eval N] [--pool N] [--size PX] [--words] [--json]
       mm data emoji --out DIR [--size PX | --spec SPEC.mm] [--seed N] [--limit N] [--json]
       mm data text  --out DIR [--max-chars N] [--json]
       mm data check FILE --kind captions|interleaved|text [--size PX] [--skip-bad] [--json]

synth  the synthetic world: scenes of coloured shapes with captions, VQA pairs, interleaved documents
       and text. Writes DIR/captions.jsonl, interleaved.jsonl, text.txt, images/, scenes.jsonl and the
       held-out DIR/eval/ (captions.json in COCO format, vqa_questions.json + vqa_annotations.json in the
       VQA formats, images/) with a few-shot pool (eval/pool_*.json). Default 2000 images of 64 px.
emoji  ~3,700 emoji (Noto) captioned from their names and keywords; the Fluent art style is held out in
       DIR/eval/. Writes the same files as synth (no VQA). --spec: rasterise at its encoder's resolution.
text   Moby-Dick chapters as DIR/text.jsonl, the last 10% held out in DIR/eval/text.jsonl.
check  reads every record of a data file (and decodes its images) as training would; reports bad
       records with file:line, all of them with --skip-bad.

options:
  --json   machine-readable summary on stdout
  --help   this text`;

const num = (v: unknown, name: string, min = 0): number | undefined => {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new UserError(`--${name} must be an integer ≥ ${min}`);
  return v;
};

export async function run(argv: string[], io: IO): Promise<number> {
  try {
    return await runInner(argv, io);
  } catch (e) {
    // user mistakes and bad data are messages with exit 1; anything else is a bug for mm.ts to report
    if (e instanceof UserError || e instanceof DataError) { io.stderr(`mm data: ${e.message}`); return 1; }
    throw e;
  }
}

async function runInner(argv: string[], io: IO): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || sub === '--help' || sub === '-h') { io.stdout(USAGE); return sub ? 0 : 1; }
  const { flags, positional } = parseFlags(rest, {
    out: 'string', seed: 'number', images: 'number', eval: 'number', pool: 'number', size: 'number', words: 'boolean',
    limit: 'number', spec: 'string', 'max-chars': 'number', kind: 'string', 'skip-bad': 'boolean', json: 'boolean', help: 'boolean',
  });
  if (flags.help) { io.stdout(USAGE); return 0; }
  const json = flags.json === true;
  const out = () => {
    if (typeof flags.out !== 'string') throw new UserError(`data ${sub} needs --out DIR\n\n${USAGE}`);
    return resolve(flags.out);
  };
  const progress = (what: string) => (done: number, total: number) => {
    if (!json && (done === total || done % Math.max(1, Math.ceil(total / 10)) < 100)) io.stderr(`${what}: ${done}/${total}`);
  };

  try {
    switch (sub) {
      case 'synth': {
        const t0 = Date.now();
        const s = await synth({
          out: out(), seed: num(flags.seed, 'seed'), images: num(flags.images, 'images', 1), evalImages: num(flags.eval, 'eval', 1),
          poolImages: num(flags.pool, 'pool', 1), size: num(flags.size, 'size', 8), words: flags.words === true, onProgress: progress('images'),
        });
        if (json) io.stdout(JSON.stringify({ ...s, seconds: (Date.now() - t0) / 1000 }));
        else io.stdout(`wrote ${s.out}: ${s.train.images} training images (${s.train.captions} captions, ${s.train.interleaved} interleaved documents, ${s.train.textDocs} text documents); eval ${s.eval.images} images, ${s.eval.questions} questions; few-shot pool ${s.pool.images} images, in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        return 0;
      }
      case 'emoji': {
        const size = typeof flags.spec === 'string' ? loadCheckedSpec(flags.spec).model.encoder?.image : num(flags.size, 'size', 8);
        if (typeof flags.spec === 'string' && !size) throw new UserError(`${flags.spec}: the model has no image encoder`);
        const s = await importEmoji({ out: out(), size, seed: num(flags.seed, 'seed'), limit: num(flags.limit, 'limit', 1), onProgress: progress('emoji') });
        if (json) io.stdout(JSON.stringify(s));
        else io.stdout(`wrote ${s.out}: ${s.train.images} training emoji (${s.train.captions} captions, ${s.train.interleaved} interleaved documents); held out ${s.eval.images} (Fluent style), pool ${s.pool.images}`);
        return 0;
      }
      case 'text': {
        const s = importText({ out: out(), maxChars: num(flags['max-chars'], 'max-chars', 1) });
        if (json) io.stdout(JSON.stringify(s));
        else io.stdout(`wrote ${s.out}/text.jsonl: ${s.train.docs} documents, ${s.train.chars} characters (held out: ${s.eval.docs} in eval/text.jsonl)`);
        return 0;
      }
      case 'check': return await check(positional, flags, io);
      default: throw new UserError(`unknown data command '${sub}' (synth, emoji, text, check)\n\n${USAGE}`);
    }
  } catch (e) {
    if (e instanceof DataError) { io.stderr(`mm data ${sub}: ${e.message}`); return 1; }
    throw e;
  }
}

async function check(positional: string[], flags: Record<string, unknown>, io: IO): Promise<number> {
  const file = positional[0];
  const kind = flags.kind;
  if (!file) throw new UserError(`data check needs a FILE\n\n${USAGE}`);
  if (kind !== 'captions' && kind !== 'interleaved' && kind !== 'text') throw new UserError('data check needs --kind captions|interleaved|text');
  const path = resolve(file);
  if (!existsSync(path)) throw new UserError(`${file}: file not found`);
  const log = flags['skip-bad'] === true ? new BadDataLog() : null;
  const R = num(flags.size, 'size', 8) ?? 32;
  const src = new SourceStream({ kind, path, weight: 1, maxImages: 0 }, log);
  let records = 0, images = 0;
  try {
    for (;;) {
      const loc = await src.peek();
      if (src.state().epoch > 0) break;
      const r = loc.rec;
      const files = r.kind === 'captions' ? [r.image] : r.kind === 'interleaved' ? r.items.flatMap((i) => ('image' in i ? [i.image] : [])) : [];
      try {
        for (const f of files) { await loadImage(f, R, { file: path, line: loc.line }); images++; }
        records++;
        src.consume();
      } catch (e) {
        if (!(e instanceof DataError)) throw e;
        src.reject(e); // rethrows without --skip-bad
      }
    }
  } finally {
    await src.close();
  }
  const bad = log?.count ?? 0;
  if (flags.json === true) io.stdout(JSON.stringify({ file: path, kind, records, images, bad, examples: log?.examples ?? [] }));
  else {
    io.stdout(`${file}: ${records} good ${kind} records, ${images} images decoded`);
    if (log && bad) io.stderr(log.summary());
  }
  return bad ? 1 : 0;
}
