// The mixer against the tiny spec's data block (32 px images, seq_len 64, max_images 4, 4 tokens per image,
// vocab 512) over `mm data synth` output: batch layout, loss mask, mix proportions, interleaved fitting and
// truncation, resume from state, user-supplied JSONL with JPEG images, and bad data located or skipped.
import { describe, expect, it, beforeAll } from 'vitest';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { check, trainShape } from '../../compiler/compile.js';
import jpeg from 'jpeg-js';
import type { DataSpec, DataSourceSpec } from '../../compiler/semantics/spec.js';
import type { Batch } from '../../runtime/data/batch.js';
import { Mixer, encodePrompt, mixerOptionsFor, type MixerOptions } from '../../runtime/data/mixer.js';
import { synth } from '../../runtime/data/synth.js';
import { trainTokenizerForData } from '../../runtime/data/corpus.js';
import { DataError } from '../../runtime/data/errors.js';
import type { Tokenizer } from '../../runtime/data/tokenizer.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const M = 4, T = 64, R = 32, MAXI = 4;
let dir: string, tok: Tokenizer, tiny: DataSpec;
const opts = (o: Partial<MixerOptions> = {}): MixerOptions => ({ B: 8, T, maxImages: MAXI, tokensPerImage: M, imageSize: R, seed: 1, ...o });
const src = (kind: DataSourceSpec['kind'], path: string, weight = 1, maxImages = MAXI): DataSourceSpec => ({ kind, path, weight, maxImages });
const spec = (sources: DataSourceSpec[], seqLen = T): DataSpec => ({ name: 'mix', sources, seqLen, vocab: 512 });

/** Structural invariants every batch must satisfy, whatever its sources. */
function checkBatch(b: Batch, o: MixerOptions, tk: Tokenizer): void {
  const { B, T: TT, maxImages, tokensPerImage: MM, imageSize: RR } = o;
  const { image, bos, pad } = tk.special;
  expect(b.tokens.length).toBe(B * TT);
  expect(b.images.length).toBe(B * maxImages * 3 * RR * RR);
  expect(b.imageSlots.length).toBe(B * maxImages * MM);
  const slotOf = new Map<number, number>();
  for (let s = 0; s < B * maxImages; s++) {
    for (let j = 0; j < MM; j++) {
      const p = b.imageSlots[s * MM + j]!;
      if (s >= b.numImages) { expect(p).toBe(-1); continue; }
      expect(b.tokens[p]).toBe(image);
      if (j > 0) expect(p).toBe(b.imageSlots[s * MM + j - 1]! + 1); // M consecutive positions
      slotOf.set(p, s);
    }
    const px = b.images.subarray(s * 3 * RR * RR, (s + 1) * 3 * RR * RR);
    if (s < b.numImages) expect(px.some((v) => v !== 0)).toBe(true); else expect(px.every((v) => v === 0)).toBe(true);
  }
  for (let r = 0; r < B; r++) {
    let imgs = 0;
    for (let t = 0; t < TT; t++) {
      const i = r * TT + t, tokn = b.tokens[i]!;
      expect(tokn).toBeGreaterThanOrEqual(0);
      expect(tokn).toBeLessThan(512);
      expect(b.imageMask[i]).toBe(tokn === image ? 1 : 0);
      if (tokn === image) expect(slotOf.has(i)).toBe(true);
      if (tokn === pad) expect(b.segments[i]).toBe(-1);
      if (t === 0 && tokn !== pad) expect([bos, ...(b.sources[r] === 'text' ? [tokn] : [])]).toContain(tokn);
      if (tokn === image && (t === 0 || b.tokens[i - 1] !== image)) imgs++;
      // the loss mask: a target exactly where the next token is text of the same document
      const nextIsText = t + 1 < TT && b.segments[i + 1] === b.segments[i] && b.segments[i]! >= 0 && b.tokens[i + 1] !== image && b.tokens[i + 1] !== pad;
      expect(b.targets[i]).toBe(nextIsText ? b.tokens[i + 1] : -1);
    }
    expect(imgs).toBeLessThanOrEqual(maxImages);
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mm-mix-'));
  await synth({ out: dir, seed: 2, images: 200, evalImages: 10, poolImages: 10 });
  // the tiny spec's own data block (checked by the compiler), pointed at this synth output
  const file = join(ROOT, 'specs', 'tiny.mm');
  const checked = check(readFileSync(file, 'utf8'), file).value!;
  const shape = trainShape(checked);
  expect([checked.data!.seqLen, shape.maxImages, checked.model.connector!.tokens, checked.model.encoder!.image, checked.data!.vocab]).toEqual([T, MAXI, M, R, 512]);
  expect(mixerOptionsFor(checked)).toMatchObject({ B: 8, T, maxImages: MAXI, tokensPerImage: M, imageSize: R });
  tiny = { ...checked.data!, sources: checked.data!.sources.map((s) => ({ ...s, path: join(dir, basename(s.path)) })) };
  expect(tiny.sources.map((s) => [s.kind, s.weight])).toEqual([['captions', 45], ['interleaved', 45], ['text', 10]]);
  tok = await trainTokenizerForData(tiny);
});

describe('mixer on the tiny data block', () => {
  it('yields correct batches for all three sources', async () => {
    const m = new Mixer(tiny, tok, opts());
    const seen = new Set<string>();
    const captions = readFileSync(join(dir, 'captions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).caption as string);
    let capIdx = 0;
    for (let k = 0; k < 20; k++) {
      const b = await m.next();
      checkBatch(b, m.opts, tok);
      b.sources.forEach((s, r) => {
        seen.add(s);
        const row = Array.from(b.tokens.subarray(r * T, (r + 1) * T));
        if (s === 'captions') {
          // caption rows: <bos> M×<image> caption <eos>, in file order
          const text = tok.decode(row.filter((id) => id !== tok.special.pad && id !== tok.special.image));
          for (const part of text.split('<eos>').filter(Boolean)) expect(part).toBe(`<bos>${captions[capIdx++]}`);
        }
      });
    }
    expect([...seen].sort()).toEqual(['captions', 'interleaved', 'text']);
    await m.close();
  });

  it('draws sources within 1% of the weights over 10k sequences', async () => {
    const m = new Mixer(tiny, tok, opts({ B: 100 }));
    const n: Record<string, number> = {};
    for (let k = 0; k < 100; k++) for (const s of (await m.next()).sources) n[s] = (n[s] ?? 0) + 1;
    expect(Math.abs(n.captions! / 10000 - 0.45)).toBeLessThan(0.01);
    expect(Math.abs(n.interleaved! / 10000 - 0.45)).toBeLessThan(0.01);
    expect(Math.abs(n.text! / 10000 - 0.1)).toBeLessThan(0.01);
    await m.close();
  }, 60_000);

  it.each([true, false])('resumes from its state with the same data order (prefetch %s)', async (prefetch) => {
    const a = new Mixer(tiny, tok, opts({ seed: 9, prefetch }));
    for (let k = 0; k < 3; k++) await a.next();
    const st = JSON.parse(JSON.stringify(a.state()));
    const after: Batch[] = [];
    for (let k = 0; k < 3; k++) after.push(await a.next());
    const b = new Mixer(tiny, tok, opts({ seed: 9, prefetch: !prefetch }));
    await b.restore(st);
    for (let k = 0; k < 3; k++) {
      const x = await b.next();
      expect(x.tokens).toEqual(after[k]!.tokens);
      expect(x.targets).toEqual(after[k]!.targets);
      expect(x.images).toEqual(after[k]!.images);
      expect(x.sources).toEqual(after[k]!.sources);
    }
    await a.close(); await b.close();
  });

  it('packs several caption pairs per row, at most max_images', async () => {
    const m = new Mixer(spec([src('captions', join(dir, 'captions.jsonl'), 1, 3)]), tok, opts());
    const b = await m.next();
    checkBatch(b, m.opts, tok);
    for (let r = 0; r < 8; r++) {
      const row = b.tokens.subarray(r * T, (r + 1) * T);
      const pairs = row.filter((id) => id === tok.special.bos).length;
      expect(pairs).toBeGreaterThanOrEqual(2);
      expect(pairs).toBeLessThanOrEqual(3);
    }
    await m.close();
  });
});

describe('a text-only model (specs/tiny-text.mm)', () => {
  it('trains on text, and on the text of interleaved documents', async () => {
    const file = join(ROOT, 'specs', 'tiny-text.mm');
    const checked = check(readFileSync(file, 'utf8'), file).value!;
    const o = mixerOptionsFor(checked);
    expect(o).toMatchObject({ B: 8, T: 64, maxImages: 0 });
    const data = { ...checked.data!, sources: [...checked.data!.sources.map((s) => ({ ...s, path: join(dir, basename(s.path)) })), src('interleaved', join(dir, 'interleaved.jsonl'))] };
    const m = new Mixer(data, tok, o);
    const b = await m.next();
    checkBatch(b, o, tok);
    expect(b.numImages).toBe(0);
    expect(b.images.length).toBe(0);
    expect(b.tokens).not.toContain(tok.special.image);
    expect(new Set(b.sources)).toEqual(new Set(['text', 'interleaved']));
    let ended = 0; // short documents end whole
    for (let k = 0; k < 4; k++) {
      const x = await m.next();
      x.sources.forEach((s, r) => { if (s === 'interleaved' && x.tokens.subarray(r * 64, (r + 1) * 64).includes(tok.special.eos)) ended++; });
    }
    expect(ended).toBeGreaterThan(0);
    await m.close();
    expect(() => new Mixer(tiny, tok, o)).toThrow(/cannot train on captions/);
  });
});

describe('interleaved documents', () => {
  let file: string;
  beforeAll(() => {
    const d = join(dir, 'doc16');
    mkdirSync(join(d, 'pics'), { recursive: true });
    const items: object[] = [];
    for (let i = 0; i < 16; i++) {
      copyFileSync(join(dir, 'images', `t${String(i).padStart(6, '0')}.png`), join(d, 'pics', `${i}.png`));
      items.push({ image: `pics/${i}.png` }, { text: `image ${i + 1}.` });
    }
    file = join(d, 'docs.jsonl');
    writeFileSync(file, [JSON.stringify({ items }), JSON.stringify({ items: [{ text: 'second doc' }, { image: 'pics/0.png' }, { text: 'end' }] })].join('\n') + '\n');
  });

  it('fits a 16-image document whole when the sequence allows', async () => {
    const o = opts({ B: 1, T: 256, maxImages: 16 });
    const m = new Mixer(spec([src('interleaved', file, 1, 16)], 256), tok, o);
    const b = await m.next();
    checkBatch(b, o, tok);
    expect(b.numImages).toBe(16);
    const row = Array.from(b.tokens);
    expect(row[0]).toBe(tok.special.bos);
    expect(tok.decode(row.filter((id) => id !== tok.special.image && id !== tok.special.pad))).toMatch(/^<bos>image 1\.image 2\..*image 16\.<eos>/);
    await m.close();
  });

  it('truncates cleanly at max_images and at the sequence end', async () => {
    const m = new Mixer(spec([src('interleaved', file, 1, 4)]), tok, opts({ B: 2 }));
    const b = await m.next();
    checkBatch(b, m.opts, tok);
    const row0 = Array.from(b.tokens.subarray(0, T));
    const imgs = row0.filter((id) => id === tok.special.image).length / M;
    expect(imgs).toBeGreaterThanOrEqual(1);
    expect(imgs).toBeLessThanOrEqual(4);
    expect(row0).not.toContain(tok.special.eos); // the document did not end
    const last = row0.filter((id) => id !== tok.special.pad).pop();
    expect(last).not.toBe(tok.special.image); // never ends on an image
    // the truncated rest is dropped: the next row starts the next document
    expect(tok.decode(Array.from(b.tokens.subarray(T, 2 * T)).filter((id) => id !== tok.special.image && id !== tok.special.pad))).toBe('<bos>second docend<eos>');
    await m.close();
  });
});

describe('user-supplied data', () => {
  it('reads JSONL with JPEG and PNG images in subfolders through the same pipeline', async () => {
    const d = mkdtempSync(join(tmpdir(), 'mm-user-'));
    mkdirSync(join(d, 'photos'));
    const w = 40, h = 30, px = Buffer.alloc(w * h * 4, 255);
    for (let i = 0; i < w * h; i++) px[i * 4] = (i * 13) % 256;
    writeFileSync(join(d, 'photos', 'a.jpg'), jpeg.encode({ width: w, height: h, data: px }, 90).data);
    copyFileSync(join(dir, 'images', 't000001.png'), join(d, 'photos', 'b.png'));
    writeFileSync(join(d, 'caps.jsonl'), '{"image": "photos/a.jpg", "caption": "a striped photo"}\n\n{"image": "photos/b.png", "caption": "shapes"}\n');
    writeFileSync(join(d, 'docs.jsonl'), JSON.stringify({ items: [{ text: 'look:' }, { image: 'photos/a.jpg' }, { text: 'stripes' }] }) + '\n');
    writeFileSync(join(d, 'notes.jsonl'), JSON.stringify({ text: 'x'.repeat(200_000) + ' end' }) + '\n' + JSON.stringify({ text: 'short note' }) + '\n');
    const s = spec([src('captions', join(d, 'caps.jsonl')), src('interleaved', join(d, 'docs.jsonl')), src('text', join(d, 'notes.jsonl'))]);
    const m = new Mixer(s, tok, opts({ B: 6 }));
    const b = await m.next();
    checkBatch(b, m.opts, tok);
    expect(new Set(b.sources)).toEqual(new Set(['captions', 'interleaved', 'text']));
    // a long document continues over text rows; the cursor records how far it got
    expect(m.state().sources[2]!.skip).toBeGreaterThan(0);
    await m.close();
  });

  it('builds generation prompts with M image tokens per image', () => {
    const img = new Float32Array(3 * R * R);
    const p = encodePrompt(tok, [{ image: img }, { text: 'Output:' }], M);
    expect(p.tokens.slice(0, 1 + M)).toEqual([tok.special.bos, ...Array(M).fill(tok.special.image)]);
    expect(p.imagePositions).toEqual([[1, 2, 3, 4]]);
    expect(tok.decode(p.tokens.slice(1 + M))).toBe('Output:');
  });
});

describe('bad data', () => {
  let d: string;
  beforeAll(() => {
    d = mkdtempSync(join(tmpdir(), 'mm-bad-'));
    mkdirSync(join(d, 'images'));
    copyFileSync(join(dir, 'images', 't000002.png'), join(d, 'images', 'ok.png'));
    writeFileSync(join(d, 'images', 'broken.png'), Buffer.from('\x89PNG\r\n\x1a\n garbage'));
    const ok = '{"image": "images/ok.png", "caption": "fine"}';
    writeFileSync(join(d, 'badjson.jsonl'), [ok, ok, '{"image": "images/ok.png", "caption": ', ok].join('\n') + '\n');
    writeFileSync(join(d, 'badimage.jsonl'), [ok, '{"image": "images/broken.png", "caption": "x"}', '{"image": "images/none.png", "caption": "y"}', ok].join('\n') + '\n');
    writeFileSync(join(d, 'escape.jsonl'), [ok, '{"image": "../outside.png", "caption": "z"}'].join('\n') + '\n');
  });

  const first = async (file: string, skipBad = false) => {
    const m = new Mixer(spec([src('captions', join(d, file), 1, 1)]), tok, opts({ B: 4, skipBad }));
    try { return { batch: await m.next(), bad: m.bad }; } finally { await m.close(); }
  };

  it('stops with the file and line of a bad JSON line, a corrupt, missing or escaping image', async () => {
    for (const [file, line, msg] of [['badjson.jsonl', 3, /bad JSON/], ['badimage.jsonl', 2, /broken\.png.*cannot decode/], ['escape.jsonl', 2, /leaves/]] as const) {
      const err = await first(file).catch((e: unknown) => e);
      expect(err, file).toBeInstanceOf(DataError);
      expect((err as DataError).file).toBe(join(d, file));
      expect((err as DataError).line).toBe(line);
      expect((err as DataError).message).toMatch(msg);
    }
  });

  it('with skipBad counts, reports and skips them', async () => {
    const a = await first('badjson.jsonl', true);
    expect(a.bad.count).toBe(1);
    const b = await first('badimage.jsonl', true);
    expect(b.bad.count).toBe(2);
    expect(b.bad.summary()).toMatch(/2 bad record\(s\) skipped[\s\S]*badimage\.jsonl: 2/);
    expect(b.bad.examples.join('\n')).toMatch(/none\.png.*not found/);
    checkBatch(b.batch, opts({ B: 4 }), tok);
  });

  it('refuses a missing data file at construction', () => {
    expect(() => new Mixer(spec([src('text', join(d, 'nope.txt'))]), tok, opts())).toThrow(/nope\.txt: text data file not found/);
  });

  it('stops rather than looping forever when no record is usable', async () => {
    writeFileSync(join(d, 'allbad.jsonl'), 'nope\n{"caption": 1}\n');
    const err = await first('allbad.jsonl', true).catch((e: unknown) => e);
    expect((err as DataError).message).toMatch(/no usable captions records/);
  });
});
