// Checkpoints: safetensors round trip (checked against an independent reading of the format), clear errors
// naming the damaged file, keep-last-K, and crash safety: a writer SIGKILLed mid-save leaves the previous
// checkpoint loadable and `latest` pointing at it.

import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Float16Array } from '@petamoriken/float16';
import { CheckpointError, decodeSafetensors, f16Tensor, tensorToFloat32, latestCheckpoint, listCheckpoints, loadCheckpoint, readSafetensors, saveCheckpoint, writeSafetensorsSync, type Tensor } from '../../runtime/checkpoint.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'mm-ckpt-'));
const here = path.dirname(fileURLToPath(import.meta.url));

function tensors(step: number): Map<string, Tensor | Float32Array> {
  return new Map<string, Tensor | Float32Array>([
    ['embed.weight', { dtype: 'F32', shape: [3, 2], data: Float32Array.from([1, 2, 3, 4, 5, step]) }],
    ['half', { dtype: 'F16', shape: [3], data: Uint16Array.from([0x3c00, 0xc000, 0x7bff]) }], // odd length: misaligns what follows
    ['ids', { dtype: 'I32', shape: [2, 1], data: Int32Array.from([-7, 2 ** 31 - 1]) }],
    ['scalar', { dtype: 'F32', shape: [], data: Float32Array.from([Math.PI]) }],
    ['vec', Float32Array.from([0.5, -0.25])],
  ]);
}

describe('safetensors', () => {
  it('writes the format byte for byte: u64 LE header length, space-padded JSON, contiguous LE data', () => {
    const file = path.join(tmp(), 'a.safetensors');
    writeSafetensorsSync(file, tensors(1), { who: 'mm' });
    const buf = fs.readFileSync(file);
    const n = Number(buf.readBigUInt64LE(0));
    expect((8 + n) % 8).toBe(0);
    const text = buf.subarray(8, 8 + n).toString('utf8');
    expect(text).toMatch(/ *$/);
    const header = JSON.parse(text);
    expect(header.__metadata__).toEqual({ who: 'mm' });
    expect(header.half).toEqual({ dtype: 'F16', shape: [3], data_offsets: [24, 30] });
    // Read one value by hand: ids[1] is an int32 little-endian at its offset.
    expect(buf.readInt32LE(8 + n + header.ids.data_offsets[0] + 4)).toBe(2 ** 31 - 1);
    expect(buf.readUInt16LE(8 + n + header.half.data_offsets[0])).toBe(0x3c00);
    expect(buf.length).toBe(8 + n + Math.max(...Object.values(header).filter((v: any) => v.data_offsets).map((v: any) => v.data_offsets[1])));
  });

  it('round-trips every dtype and shape', () => {
    const file = path.join(tmp(), 'b.safetensors');
    writeSafetensorsSync(file, tensors(2));
    const { tensors: back } = readSafetensors(file);
    expect(back.get('embed.weight')).toEqual({ dtype: 'F32', shape: [3, 2], data: Float32Array.from([1, 2, 3, 4, 5, 2]) });
    expect([...back.get('half')!.data]).toEqual([0x3c00, 0xc000, 0x7bff]);
    expect([...back.get('ids')!.data]).toEqual([-7, 2 ** 31 - 1]);
    expect(back.get('scalar')!.shape).toEqual([]);
    expect(back.get('scalar')!.data[0]).toBeCloseTo(Math.PI, 6);
    expect(back.get('vec')).toEqual({ dtype: 'F32', shape: [2], data: Float32Array.from([0.5, -0.25]) });
  });

  it('F16: Float16Array input, f16Tensor rounding, decoding to float32', () => {
    const file = path.join(tmp(), 'h.safetensors');
    writeSafetensorsSync(file, new Map<string, Tensor | Float16Array>([['a', Float16Array.from([1, -2, 0.1])], ['b', f16Tensor([65504, 1e-8, 1 / 3], [3, 1])]]));
    const { tensors: back } = readSafetensors(file);
    expect(back.get('a')!.dtype).toBe('F16');
    expect([...back.get('a')!.data]).toEqual([0x3c00, 0xc000, 0x2e66]);
    expect([...tensorToFloat32(back.get('b')!)]).toEqual([65504, 0, 0.333251953125]);
    expect(back.get('b')!.shape).toEqual([3, 1]);
  });

  it('rejects damaged files with the file name and the reason', () => {
    const file = path.join(tmp(), 'c.safetensors');
    writeSafetensorsSync(file, tensors(3));
    const buf = fs.readFileSync(file);
    expect(() => decodeSafetensors(buf.subarray(0, buf.length - 3), 'c.safetensors')).toThrow(/c\.safetensors: truncated: tensor '\w+' ends at data byte/);
    expect(() => decodeSafetensors(buf.subarray(0, 5), 'x')).toThrow(/x: truncated: 5 bytes/);
    expect(() => decodeSafetensors(buf.subarray(0, 20), 'x')).toThrow(/x: truncated: header of \d+ bytes/);
    const badJson = Buffer.from(buf); badJson[8] = 0x5b; // '[' instead of '{'
    expect(() => decodeSafetensors(badJson, 'x')).toThrow(/x: corrupt header JSON/);
    expect(() => decodeSafetensors(Buffer.concat([buf, Buffer.alloc(4)]), 'x')).toThrow(/x: corrupt: 4 trailing bytes/);
    expect(() => readSafetensors(path.join(tmp(), 'missing.safetensors'))).toThrow(/missing\.safetensors: cannot read \(ENOENT\)/);
    expect(() => writeSafetensorsSync(file, new Map([['t', { dtype: 'F32', shape: [3], data: new Float32Array(2) }]]))).toThrow(/shape \[3\] needs 3 values/);
  });
});

describe('checkpoints', () => {
  it('save / list / load round trip, through the latest pointer or a step directory', () => {
    const run = tmp();
    const d1 = saveCheckpoint(run, { tensors: tensors(1), state: { step: 1, rng: [1, 2, 3, 4], sampler: { cursor: 9 } } });
    expect(path.basename(d1)).toBe('step-000001');
    saveCheckpoint(run, { tensors: tensors(20), state: { step: 20 } });
    expect(listCheckpoints(run).map((c) => c.step)).toEqual([1, 20]);
    expect(latestCheckpoint(run)).toBe(path.join(run, 'step-000020'));
    const latest = loadCheckpoint(run);
    expect(latest.step).toBe(20);
    expect(latest.tensors.get('embed.weight')!.data[5]).toBe(20);
    const first = loadCheckpoint(d1);
    expect(first.state).toEqual({ step: 1, rng: [1, 2, 3, 4], sampler: { cursor: 9 } });
    expect(fs.readdirSync(run).filter((e) => e.startsWith('.tmp'))).toEqual([]);
  });

  it('keeps the last K and can re-save a step', () => {
    const run = tmp();
    for (const s of [10, 20, 30, 40, 50]) saveCheckpoint(run, { tensors: tensors(s), state: { step: s } }, { keep: 2 });
    expect(listCheckpoints(run).map((c) => c.step)).toEqual([40, 50]);
    saveCheckpoint(run, { tensors: tensors(99), state: { step: 50, again: true } }, { keep: 2 });
    expect(loadCheckpoint(run).state).toEqual({ step: 50, again: true });
  });

  it('names the damaged file: truncated tensors, flipped byte, missing manifest, bad pointer', () => {
    const run = tmp();
    const dir = saveCheckpoint(run, { tensors: tensors(5), state: { step: 5 } });
    const model = path.join(dir, 'model.safetensors');
    const good = fs.readFileSync(model);
    fs.writeFileSync(model, good.subarray(0, good.length - 10));
    expect(() => loadCheckpoint(run)).toThrow(CheckpointError);
    expect(() => loadCheckpoint(run)).toThrow(new RegExp(`${model.replace(/[.]/g, '\\.')}: truncated: \\d+ bytes, the manifest says ${good.length}`));
    const flipped = Buffer.from(good); flipped[flipped.length - 1]! ^= 0xff;
    fs.writeFileSync(model, flipped);
    expect(() => loadCheckpoint(dir)).toThrow(/model\.safetensors: corrupt: SHA-256 does not match/);
    expect(loadCheckpoint(dir, { verify: false }).step).toBe(5); // sizes still fine
    fs.writeFileSync(model, good);
    fs.writeFileSync(path.join(dir, 'state.json'), '{"step": 5');
    expect(() => loadCheckpoint(dir)).toThrow(/state\.json: (truncated|corrupt)/);
    fs.writeFileSync(path.join(run, 'latest'), 'garbage\n');
    expect(() => loadCheckpoint(run)).toThrow(/latest: corrupt pointer/);
    expect(() => loadCheckpoint(tmp())).toThrow(/neither a checkpoint .* nor a run directory/);
    expect(() => loadCheckpoint(path.join(run, 'nope'))).toThrow(/nope: no such checkpoint directory/);
  });
});

function child(run: string, step: number, mode: string): Promise<{ code: number | null; signal: string | null; out: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'fixtures', 'crash-writer.mjs'), run, String(step), mode], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    p.stderr.on('data', (d) => { err += d; });
    p.stdout.on('data', (d) => {
      out += d;
      if (out.includes('READY')) p.kill('SIGKILL');
      if (mode === 'stream' && out.includes('START')) setTimeout(() => p.kill('SIGKILL'), Math.floor(Math.random() * 60));
    });
    p.on('error', reject);
    p.on('exit', (code, signal) => (code && code !== 0 ? reject(new Error(err)) : resolve({ code, signal, out })));
  });
}

describe('crash safety (a writer SIGKILLed mid-save)', () => {
  for (const mode of ['before-rename', 'before-pointer']) {
    it(`killed ${mode}: the previous checkpoint is intact and latest points to it`, async () => {
      const run = tmp();
      saveCheckpoint(run, { tensors: tensors(1), state: { step: 1 } });
      const r = await child(run, 2, mode);
      expect(r.signal).toBe('SIGKILL');
      expect(latestCheckpoint(run)).toBe(path.join(run, 'step-000001'));
      const c = loadCheckpoint(run);
      expect(c.step).toBe(1);
      expect(c.tensors.get('embed.weight')!.data[5]).toBe(1);
      // The next save cleans up and succeeds.
      saveCheckpoint(run, { tensors: tensors(3), state: { step: 3 } });
      expect(loadCheckpoint(run).step).toBe(3);
      expect(fs.readdirSync(run).filter((e) => e.startsWith('.tmp'))).toEqual([]);
    });
  }

  it('killed at random moments while streaming a 48 MB checkpoint: latest is always loadable', async () => {
    const run = tmp();
    saveCheckpoint(run, { tensors: tensors(1), state: { step: 1 } });
    for (let i = 0; i < 4; i++) {
      const r = await child(run, 100 + i, 'stream');
      const c = loadCheckpoint(run); // whichever it points to must verify
      if (r.signal === 'SIGKILL' && !r.out.includes('DONE')) expect([1, ...Array.from({ length: i + 1 }, (_, j) => 100 + j)]).toContain(c.step);
      expect(c.state.step).toBe(c.step);
    }
  }, 120_000);
});
