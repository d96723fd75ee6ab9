// Image loading: PNG and JPEG fixtures (written here with pngjs / jpeg-js), bicubic resize checked against our
// own Catmull-Rom implementation, CLIP normalisation, alpha on white, located errors for corrupt or missing
// files, and image paths that may not leave the data file's folder.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import jpeg from 'jpeg-js';
import { CLIP_MEAN, CLIP_STD, decodeRgbPure, loadImage, loadRgb, normalizeClip, resizeBicubic, resolveDataPath } from '../../runtime/data/image.js';
import { DataError } from '../../runtime/data/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'mm-img-'));

function rgba(w: number, h: number, f: (x: number, y: number) => [number, number, number, number]): Buffer {
  const d = Buffer.alloc(w * h * 4);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) d.set(f(x, y), (y * w + x) * 4);
  return d;
}
function writePng(name: string, w: number, h: number, f: (x: number, y: number) => [number, number, number, number]): string {
  const png = new PNG({ width: w, height: h });
  png.data = rgba(w, h, f);
  writeFileSync(join(dir, name), PNG.sync.write(png));
  return join(dir, name);
}
const pattern = (x: number, y: number): [number, number, number, number] =>
  [(x * 7 + y * 3) % 256, Math.round(128 + 100 * Math.sin(x / 5) * Math.cos(y / 7)), (x * y) % 256, 255];
const meanAbs = (a: Uint8Array, b: Uint8Array) => a.reduce((s, v, i) => s + Math.abs(v - b[i]!), 0) / a.length;

describe('image loading', () => {
  it('normalises with the CLIP mean and std into [3, R, R]', async () => {
    const f = writePng('uniform.png', 50, 50, () => [200, 100, 50, 255]);
    const img = await loadImage(f, 32, { file: join(dir, 'x.jsonl'), line: 1 });
    expect(img.length).toBe(3 * 32 * 32);
    [200, 100, 50].forEach((v, c) => {
      const want = (v / 255 - CLIP_MEAN[c]!) / CLIP_STD[c]!;
      expect(img[c * 1024]).toBeCloseTo(want, 5);
      expect(img[c * 1024 + 1023]).toBeCloseTo(want, 5);
    });
  });

  it('resizes PNG bicubically (sharp agrees with the reference Catmull-Rom)', async () => {
    const f = writePng('pattern.png', 96, 96, pattern);
    const viaSharp = await loadRgb(f, 32);
    const viaRef = resizeBicubic(await decodeRgbPure(f), 32);
    expect(viaSharp.width).toBe(32);
    expect(meanAbs(viaSharp.data, viaRef.data)).toBeLessThan(4);
    // upsampling: libvips places samples half an output pixel off the half-pixel convention, so only
    // check that it reproduces the input where the picture is flat
    const flat = await loadRgb(writePng('flat.png', 16, 16, () => [10, 200, 30, 255]), 64);
    expect(flat.data.every((v, i) => v === [10, 200, 30][i % 3])).toBe(true);
  });

  it('centre-crops non-square images like CLIP preprocessing', async () => {
    // left third red, middle green, right third blue: the centre crop keeps only green
    const f = writePng('wide.png', 90, 30, (x) => (x < 30 ? [255, 0, 0, 255] : x < 60 ? [0, 255, 0, 255] : [0, 0, 255, 255]));
    const img = await loadRgb(f, 16);
    const mid = (8 * 16 + 8) * 3;
    expect([...img.data.slice(mid, mid + 3)]).toEqual([0, 255, 0]);
    const ref = resizeBicubic(await decodeRgbPure(f), 16);
    expect([...ref.data.slice(mid, mid + 3)]).toEqual([0, 255, 0]);
  });

  it('decodes JPEG', async () => {
    const w = 64, h = 64;
    const enc = jpeg.encode({ width: w, height: h, data: rgba(w, h, pattern) }, 95);
    writeFileSync(join(dir, 'pattern.jpg'), enc.data);
    const viaSharp = await loadRgb(join(dir, 'pattern.jpg'), 32);
    const viaRef = resizeBicubic(await decodeRgbPure(join(dir, 'pattern.jpg')), 32);
    expect(meanAbs(viaSharp.data, viaRef.data)).toBeLessThan(4);
    // and it stays close to the picture that was encoded
    const orig = resizeBicubic({ width: w, height: h, data: Uint8Array.from(rgba(w, h, pattern).filter((_, i) => i % 4 !== 3)) }, 32);
    expect(meanAbs(viaSharp.data, orig.data)).toBeLessThan(6);
  });

  it('composites transparency on white', async () => {
    const f = writePng('alpha.png', 8, 8, () => [0, 0, 0, 0]);
    const img = await loadRgb(f, 8);
    expect(img.data.every((v) => v === 255)).toBe(true);
    expect(normalizeClip(img)[0]).toBeCloseTo((1 - CLIP_MEAN[0]) / CLIP_STD[0], 5);
  });

  it('names the data file and line for a corrupt or missing image', async () => {
    const good = writePng('ok.png', 8, 8, pattern);
    const bytes = PNG.sync.write(Object.assign(new PNG({ width: 8, height: 8 }), { data: rgba(8, 8, pattern) }));
    writeFileSync(join(dir, 'truncated.png'), bytes.subarray(0, 40));
    writeFileSync(join(dir, 'garbage.png'), Buffer.from('this is not an image at all'));
    const where = { file: join(dir, 'captions.jsonl'), line: 7 };
    for (const [name, msg] of [['truncated.png', /cannot decode/], ['garbage.png', /cannot decode/], ['missing.png', /not found/]] as const) {
      const err = await loadImage(join(dir, name), 16, where).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DataError);
      expect((err as DataError).file).toBe(where.file);
      expect((err as DataError).line).toBe(7);
      expect((err as DataError).message).toMatch(new RegExp(`captions\\.jsonl:7: image "${name}"`));
      expect((err as DataError).message).toMatch(msg);
    }
    await expect(loadImage(good, 16, where)).resolves.toBeInstanceOf(Float32Array);
    await expect(decodeRgbPure(join(dir, 'garbage.png'))).rejects.toThrow(/not a PNG or JPEG/);
  });

  it('keeps image paths inside the data file folder', () => {
    const data = join(dir, 'set', 'captions.jsonl');
    mkdirSync(join(dir, 'set'), { recursive: true });
    expect(resolveDataPath(data, 'images/a.png', 1)).toBe(join(dir, 'set', 'images', 'a.png'));
    expect(resolveDataPath(data, './b/../a.png', 1)).toBe(join(dir, 'set', 'a.png'));
    expect(() => resolveDataPath(data, '../secret.png', 3)).toThrow(/captions\.jsonl:3: .*leaves the data file's folder/);
    expect(() => resolveDataPath(data, 'images/../../x.png', 3)).toThrow(/leaves/);
    expect(() => resolveDataPath(data, '/etc/passwd', 4)).toThrow(/must be relative/);
    expect(() => resolveDataPath(data, 42, 5)).toThrow(/non-empty string/);
  });
});
