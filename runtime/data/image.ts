// Image loading for the data pipeline: decode PNG/JPEG, resize to the model's R×R with a bicubic kernel
// (CLIP-style: scale the short side, centre-crop), normalise with CLIP's mean and std into [3, R, R] floats.
// sharp does the work; pngjs/jpeg-js plus our own bicubic are the dependency-free fallback and the test oracle.
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import sharp from 'sharp';
import { PNG } from 'pngjs';
import jpeg from 'jpeg-js';
import { DataError } from './errors.js';

export const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073] as const;
export const CLIP_STD = [0.26862954, 0.26130258, 0.27577711] as const;

/** An 8-bit RGB image, rows top to bottom. */
export interface Rgb { width: number; height: number; data: Uint8Array } // [H, W, 3]

/** Resolves `rel` against the data file's folder; refuses absolute paths and anything outside that folder. */
export function resolveDataPath(dataFile: string, rel: unknown, line: number): string {
  if (typeof rel !== 'string' || rel.length === 0) throw new DataError(dataFile, line, 'image path must be a non-empty string');
  if (isAbsolute(rel)) throw new DataError(dataFile, line, `image path "${rel}" must be relative to the data file`);
  const dir = dirname(dataFile);
  const abs = resolve(dir, rel);
  const r = relative(dir, abs);
  if (r === '' || r === '..' || r.startsWith('..' + sep) || isAbsolute(r)) {
    throw new DataError(dataFile, line, `image path "${rel}" leaves the data file's folder`);
  }
  return abs;
}

/** RGB bytes → [3, R, R] CLIP-normalised floats. */
export function normalizeClip(rgb: Rgb, out = new Float32Array(3 * rgb.width * rgb.height)): Float32Array {
  const n = rgb.width * rgb.height;
  for (let c = 0; c < 3; c++) {
    const m = CLIP_MEAN[c]!, s = CLIP_STD[c]!;
    for (let i = 0; i < n; i++) out[c * n + i] = (rgb.data[i * 3 + c]! / 255 - m) / s;
  }
  return out;
}

/** Decodes with sharp, alpha flattened on white (emoji and user PNGs often have a transparent background). */
export async function loadRgb(file: string, R: number): Promise<Rgb> {
  const { data, info } = await sharp(file)
    .flatten({ background: '#ffffff' })
    .resize(R, R, { kernel: 'cubic', fit: 'cover', position: 'centre' })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`expected 3 channels, got ${info.channels}`);
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

/** Loads one image for the mixer; any failure becomes a DataError at the record that named it. */
export async function loadImage(file: string, R: number, where: { file: string; line: number }): Promise<Float32Array> {
  try {
    return normalizeClip(await loadRgb(file, R));
  } catch (e) {
    const why = !existsSync(file) ? 'file not found' : `cannot decode (${(e as Error).message.split('\n')[0]})`;
    throw new DataError(where.file, where.line, `image "${relative(dirname(where.file), file)}": ${why}`);
  }
}

// ---- dependency-free path (fallback and oracle) ----

/** Decodes PNG (pngjs) or JPEG (jpeg-js) to RGB, alpha composited on white. */
export async function decodeRgbPure(file: string): Promise<Rgb> {
  const buf = await readFile(file);
  let w: number, h: number, rgba: Uint8Array;
  if (buf[0] === 0x89 && buf[1] === 0x50) {
    const png = PNG.sync.read(buf);
    w = png.width; h = png.height; rgba = png.data;
  } else if (buf[0] === 0xff && buf[1] === 0xd8) {
    const img = jpeg.decode(buf, { useTArray: true, formatAsRGBA: true });
    w = img.width; h = img.height; rgba = img.data;
  } else {
    throw new Error('not a PNG or JPEG file');
  }
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) {
    const a = rgba[i * 4 + 3]! / 255;
    for (let c = 0; c < 3; c++) data[i * 3 + c] = Math.round(rgba[i * 4 + c]! * a + 255 * (1 - a));
  }
  return { width: w, height: h, data };
}

/** Catmull-Rom (a = −0.5), the kernel sharp calls 'cubic'. */
function cubic(x: number): number {
  x = Math.abs(x);
  if (x < 1) return 1.5 * x ** 3 - 2.5 * x ** 2 + 1;
  if (x < 2) return -0.5 * x ** 3 + 2.5 * x ** 2 - 4 * x + 2;
  return 0;
}

/** Filter weights for one axis; the kernel widens by the scale when shrinking so downsizing does not alias. */
function axisWeights(inN: number, outN: number, scale: number, offset: number): { idx: Int32Array[]; w: Float64Array[] } {
  const support = 2 * Math.max(1, scale);
  const idx: Int32Array[] = [], w: Float64Array[] = [];
  for (let o = 0; o < outN; o++) {
    const center = (o + 0.5) * scale + offset;
    const lo = Math.floor(center - support), hi = Math.ceil(center + support);
    const ii: number[] = [], ww: number[] = [];
    let sum = 0;
    for (let i = lo; i <= hi; i++) {
      const k = cubic((i + 0.5 - center) / Math.max(1, scale));
      if (k === 0) continue;
      ii.push(Math.min(inN - 1, Math.max(0, i))); ww.push(k); sum += k;
    }
    idx.push(Int32Array.from(ii)); w.push(Float64Array.from(ww.map((v) => v / sum)));
  }
  return { idx, w };
}

/** Bicubic resize to R×R, short side scaled then centre-cropped (same geometry as loadRgb). */
export function resizeBicubic(img: Rgb, R: number): Rgb {
  const scale = Math.min(img.width, img.height) / R; // input px per output px
  const offX = (img.width - R * scale) / 2, offY = (img.height - R * scale) / 2;
  const X = axisWeights(img.width, R, scale, offX), Y = axisWeights(img.height, R, scale, offY);
  const tmp = new Float64Array(img.height * R * 3); // horizontal pass: [H, R, 3]
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < R; x++) {
      const ii = X.idx[x]!, ww = X.w[x]!;
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let k = 0; k < ii.length; k++) s += ww[k]! * img.data[(y * img.width + ii[k]!) * 3 + c]!;
        tmp[(y * R + x) * 3 + c] = s;
      }
    }
  }
  const out = new Uint8Array(R * R * 3);
  for (let y = 0; y < R; y++) {
    const ii = Y.idx[y]!, ww = Y.w[y]!;
    for (let x = 0; x < R; x++) {
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let k = 0; k < ii.length; k++) s += ww[k]! * tmp[(ii[k]! * R + x) * 3 + c]!;
        out[(y * R + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(s)));
      }
    }
  }
  return { width: R, height: R, data: out };
}
