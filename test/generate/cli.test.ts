// `mm generate` and `mm eval` end to end on the CPU: a tiny spec, a run folder with a tokenizer and a
// checkpoint of random weights written by runtime/checkpoint.ts; user errors exit 1 with a message.

import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkFile } from '../../compiler/language.js';
import { lowerDecode } from '../../compiler/lower/index.js';
import { saveCheckpoint } from '../../runtime/checkpoint.js';
import { trainBpe } from '../../runtime/data/tokenizer.js';
import { printable, run as generateCli } from '../../cli/generate.js';
import { run as evalCli } from '../../cli/eval.js';
import { randomParams } from '../lower/harness.js';
import { writeEvalDir } from './fixtures.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-gen-cli-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const spec = path.join(tmp, 'tiny.mm');
fs.writeFileSync(spec, `mm 1
encoder v = vit { image 8; patch 4; width 8; depth 1; heads 2; mlp 16 }
connector c = avg_pool { tokens 4 }
decoder d = transformer { vocab 280; width 16; depth 1; heads 2; kv_heads 1; ffn 16; max_seq 256 }
model m { encoder v; connector c; decoder d }
eval { captioning shots 0 1; vqa shots 0; seeds 2 }
`);
const run = path.join(tmp, 'run');
const data = path.join(tmp, 'data');
writeEvalDir(data, 3);
const image = path.join(data, 'eval', 'images', 'e0.png');

function setup(): string {
  const r = checkFile(spec);
  expect(r.diagnostics.filter((d) => d.severity === 'error'), JSON.stringify(r.diagnostics)).toEqual([]);
  const { graph } = lowerDecode(r.value!.model, { B: 1, Tn: 1, Tmax: 2, maxImages: 1 });
  const tensors = new Map([...randomParams(graph, 4, 0.5)].map(([k, v]) => [k, Float32Array.from(v)]));
  fs.mkdirSync(run, { recursive: true });
  trainBpe(['a red circle. Output: Question: Short answer: what color'], 275).save(path.join(run, 'tokenizer.json'));
  return saveCheckpoint(run, { tensors, state: { step: 7 } });
}
const stepDir = setup();

function capture() {
  const out: string[] = [], err: string[] = [];
  return { io: { stdout: (s: string) => out.push(s), stderr: (s: string) => err.push(s) }, out, err };
}

describe('mm generate', () => {
  it('generates from a step directory with an image (greedy, --json), and beam and sampling run', async () => {
    const c = capture();
    expect(await generateCli([spec, '--checkpoint', stepDir, '--prompt', '<image>Output:', '--image', image, '--max-tokens', '4', '--cpu', '--json'], c.io), c.err.join('\n')).toBe(0);
    const j = JSON.parse(c.out[0]!);
    expect(j.promptTokens).toBeGreaterThan(5);
    expect(j.tokens.length).toBeGreaterThan(0);
    expect(j.tokens.length).toBeLessThanOrEqual(4);
    expect(typeof j.text).toBe('string');
    expect(j.firstTokenSeconds).toBeGreaterThan(0);
    expect(j.firstTokenSeconds).toBeLessThanOrEqual(j.seconds);
    expect(j.tokensPerSecond).toBeGreaterThan(0);
    // The run directory works too (its latest checkpoint); greedy is deterministic.
    const c2 = capture();
    expect(await generateCli([spec, '--checkpoint', run, '--prompt', '<image>Output:', '--image', image, '--max-tokens', '4', '--cpu', '--json'], c2.io)).toBe(0);
    expect(JSON.parse(c2.out[0]!).tokens).toEqual(j.tokens);
    for (const extra of [['--beam', '2'], ['--temperature', '0.8', '--top-p', '0.9', '--seed', '3']]) {
      const c3 = capture();
      expect(await generateCli([spec, '--checkpoint', run, '--prompt', 'a red', '--max-tokens', '3', '--cpu', '--json', ...extra], c3.io), c3.err.join('\n')).toBe(0);
    }
  });

  it('user errors exit 1 with a message', async () => {
    const cases: [string[], RegExp][] = [
      [['--prompt', '<image>x'], /1 <image> placeholder\(s\) but 0 --image/],
      [['--prompt', 'x', '--image', image], /0 <image> placeholder\(s\) but 1 --image/],
      [['--prompt', 'x', '--top-p', '2'], /--top-p must be in \(0, 1\]/],
      [['--prompt', '<image>', '--image', path.join(tmp, 'nope.png')], /no such image/],
    ];
    for (const [args, re] of cases) {
      const c = capture();
      expect(await generateCli([spec, '--checkpoint', run, '--cpu', ...args], c.io)).toBe(1);
      expect(c.err.join('\n')).toMatch(re);
    }
    const c = capture();
    expect(await generateCli([spec, '--checkpoint', tmp, '--prompt', 'x', '--cpu'], c.io)).toBe(1);
    expect(c.err.join('\n')).toMatch(/neither a checkpoint/);
    // A checkpoint of another model: named parameters missing.
    const other = path.join(tmp, 'other-run');
    fs.mkdirSync(other, { recursive: true });
    fs.copyFileSync(path.join(run, 'tokenizer.json'), path.join(other, 'tokenizer.json'));
    saveCheckpoint(other, { tensors: new Map([['decoder.embed', new Float32Array(280 * 16)]]), state: { step: 1 } });
    const o = capture();
    expect(await generateCli([spec, '--checkpoint', other, '--prompt', 'x', '--cpu'], o.io)).toBe(1);
    expect(o.err.join('\n')).toMatch(/the checkpoint lacks \d+ of the model's \d+ parameters/);
    const h = capture();
    expect(await generateCli(['--help'], h.io)).toBe(0);
    expect(h.out[0]).toMatch(/usage: mm generate/);
  });
});

describe('streaming', () => {
  it('prints up to a stop string, holding back what may start one and a cut UTF-8 sequence', () => {
    expect(printable('a cat\nQuestion: x', ['\n'])).toBe('a cat');
    expect(printable('a cat Ques', ['Question:'])).toBe('a cat ');
    expect(printable('a cat Q', ['Question:', 'Output:'])).toBe('a cat ');
    expect(printable('a cat', ['Question:'])).toBe('a cat');
    expect(printable('caf\uFFFD', [])).toBe('caf');
  });
});

describe('mm eval', () => {
  it('runs the protocol from the spec eval block and writes RUN/eval.json', async () => {
    const c = capture();
    expect(await evalCli([spec, '--checkpoint', run, '--data', data, '--limit', '2', '--cpu'], c.io), c.err.join('\n')).toBe(0);
    expect(c.out[0]).toMatch(/\| metric \| 0-shot \| 1-shot \|/);
    expect(c.out[0]).toMatch(/\| VQA acc \| [\d.]+ ± 0\.00 \| — \|/);
    const j = JSON.parse(fs.readFileSync(path.join(run, 'eval.json'), 'utf8'));
    expect(j.step).toBe(7);
    expect(j.results.captioning['1'].perSeed).toHaveLength(2);
    const bad = capture();
    expect(await evalCli([spec, '--checkpoint', run, '--data', tmp, '--cpu'], bad.io)).toBe(1);
    expect(bad.err.join('\n')).toMatch(/no eval\/captions\.json/);
  });
});
