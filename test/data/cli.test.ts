// `mm data` and `mm tokenizer` as the lead wires them: exit codes, --help, --json, and the real data that
// ships in npm packages (emoji pictures, Moby-Dick) going through the same mixer as synthetic data.
import { describe, expect, it } from 'vitest';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run as data } from '../../cli/data.js';
import { run as tokenizer } from '../../cli/tokenizer.js';
import { Tokenizer } from '../../runtime/data/tokenizer.js';
import { Mixer } from '../../runtime/data/mixer.js';

function io() {
  const out: string[] = [], err: string[] = [];
  return { io: { stdout: (s: string) => { out.push(s); }, stderr: (s: string) => { err.push(s); } }, out, err };
}

describe('mm data / mm tokenizer', () => {
  const d = mkdtempSync(join(tmpdir(), 'mm-cli-'));

  it('prints help and rejects bad usage with exit 1', async () => {
    let c = io();
    expect(await data(['--help'], c.io)).toBe(0);
    expect(c.out.join('')).toMatch(/mm data synth --out DIR/);
    c = io();
    expect(await data(['synth', '--help'], c.io)).toBe(0);
    c = io();
    expect(await data(['synth'], c.io)).toBe(1);
    expect(c.err.join('')).toMatch(/needs --out DIR/);
    c = io();
    expect(await data(['synth', '--out', d, '--imgs', '3'], c.io)).toBe(1);
    expect(c.err.join('')).toMatch(/unknown option --imgs/);
    c = io();
    expect(await data(['bogus'], c.io)).toBe(1);
    c = io();
    expect(await tokenizer(['--help'], c.io)).toBe(0);
    c = io();
    expect(await tokenizer(['train', '--vocab', '100', '--out', join(d, 't.json'), 'x'], c.io)).toBe(1);
    expect(c.err.join('')).toMatch(/--vocab must be/);
  });

  it('synth → tokenizer train → check, with --json', async () => {
    let c = io();
    expect(await data(['synth', '--out', join(d, 'syn'), '--images', '30', '--eval', '5', '--pool', '5', '--seed', '4', '--json'], c.io)).toBe(0);
    const s = JSON.parse(c.out.join(''));
    expect(s.train.images).toBe(30);
    expect(readdirSync(join(d, 'syn', 'images'))).toHaveLength(30);

    c = io();
    const files = ['captions.jsonl', 'interleaved.jsonl', 'text.txt'].map((f) => join(d, 'syn', f));
    expect(await tokenizer(['train', ...files, '--vocab', '400', '--out', join(d, 'run', 'tokenizer.json'), '--json'], c.io)).toBe(0);
    const t = JSON.parse(c.out.join(''));
    expect(t.files.map((f: { kind: string }) => f.kind)).toEqual(['captions', 'interleaved', 'text']);
    const tok = Tokenizer.load(join(d, 'run', 'tokenizer.json'));
    expect(tok.vocabSize).toBe(400);

    // --spec: the tiny spec's data block (paths relative to the spec) and its vocab
    mkdirSync(join(d, 'proj', 'specs'), { recursive: true });
    copyFileSync(fileURLToPath(new URL('../../specs/tiny.mm', import.meta.url)), join(d, 'proj', 'specs', 'tiny.mm'));
    c = io();
    expect(await data(['synth', '--out', join(d, 'proj', 'runs', 'data', 'synth'), '--images', '20', '--eval', '2', '--pool', '2', '--json'], c.io)).toBe(0);
    c = io();
    expect(await tokenizer(['train', '--spec', join(d, 'proj', 'specs', 'tiny.mm'), '--out', join(d, 'proj', 'tok.json'), '--json'], c.io), c.err.join('')).toBe(0);
    expect(JSON.parse(c.out.join('')).vocab).toBe(512);
    c = io();
    expect(await tokenizer(['train', '--spec', join(d, 'nope.mm'), '--out', join(d, 'x.json')], c.io)).toBe(1);

    c = io();
    expect(await data(['check', files[1]!, '--kind', 'interleaved', '--json'], c.io)).toBe(0);
    expect(JSON.parse(c.out.join('')).images).toBeGreaterThan(0);
    writeFileSync(join(d, 'syn', 'bad.jsonl'), '{"image": "images/t000000.png", "caption": "ok"}\n{oops\n');
    c = io();
    expect(await data(['check', join(d, 'syn', 'bad.jsonl'), '--kind', 'captions'], c.io)).toBe(1);
    expect(c.err.join('')).toMatch(/bad\.jsonl:2: bad JSON/);
    c = io();
    expect(await data(['check', join(d, 'syn', 'bad.jsonl'), '--kind', 'captions', '--skip-bad', '--json'], c.io)).toBe(1);
    expect(JSON.parse(c.out.join(''))).toMatchObject({ records: 1, bad: 1 });
  });

  it('imports emoji and Moby-Dick from npm packages, and the mixer trains on them', async () => {
    let c = io();
    const spec = fileURLToPath(new URL('../../specs/tiny.mm', import.meta.url));
    expect(await data(['emoji', '--out', join(d, 'emoji'), '--limit', '24', '--spec', spec, '--json'], c.io)).toBe(0);
    const e = JSON.parse(c.out.join(''));
    expect(e.size).toBe(32);
    expect(e.train.images).toBe(24);
    expect(e.eval.images + e.pool.images).toBeGreaterThan(10);
    const coco = JSON.parse(readFileSync(join(d, 'emoji', 'eval', 'captions.json'), 'utf8'));
    for (const im of coco.images) expect(existsSync(join(d, 'emoji', 'eval', im.file_name))).toBe(true);
    expect(readFileSync(join(d, 'emoji', 'captions.jsonl'), 'utf8')).toMatch(/"caption":"[a-z]/);

    c = io();
    expect(await data(['text', '--out', join(d, 'moby'), '--max-chars', '200000', '--json'], c.io)).toBe(0);
    expect(readFileSync(join(d, 'moby', 'text.jsonl'), 'utf8')).toMatch(/Call me Ishmael/);

    const tok = Tokenizer.load(join(d, 'run', 'tokenizer.json'));
    const m = new Mixer({
      name: 'real', seqLen: 64, vocab: 400, sources: [
        { kind: 'captions', path: join(d, 'emoji', 'captions.jsonl'), weight: 5, maxImages: 4 },
        { kind: 'interleaved', path: join(d, 'emoji', 'interleaved.jsonl'), weight: 5, maxImages: 4 },
        { kind: 'text', path: join(d, 'moby', 'text.jsonl'), weight: 1, maxImages: 0 },
      ],
    }, tok, { B: 11, T: 64, maxImages: 4, tokensPerImage: 4, imageSize: 32, seed: 0 });
    const b = await m.next();
    expect(new Set(b.sources)).toEqual(new Set(['captions', 'interleaved', 'text']));
    expect(b.numImages).toBeGreaterThan(5);
    await m.close();
  }, 60_000);
});
