// A tiny rasteriser for the synthetic world: filled circles, squares and triangles into an RGBA buffer, with
// 4×4 supersampled edges so shapes stay recognisable after resizing to 32 px. PNG encoding via pngjs (fast,
// synchronous, no native code) because 10k images must render in about a minute.
import { PNG } from 'pngjs';

export type Shape = 'circle' | 'square' | 'triangle';
export type RGB = readonly [number, number, number];

export class Canvas {
  readonly data: Uint8Array; // [H, W, 4]
  constructor(readonly width: number, readonly height: number, bg: RGB) {
    this.data = new Uint8Array(width * height * 4);
    for (let i = 0; i < width * height; i++) {
      this.data[i * 4] = bg[0]; this.data[i * 4 + 1] = bg[1]; this.data[i * 4 + 2] = bg[2]; this.data[i * 4 + 3] = 255;
    }
  }

  /** Fills `shape` centred at (cx, cy) with half-extent r (circle radius, half the square's side, triangle's). */
  fill(shape: Shape, cx: number, cy: number, r: number, color: RGB): void {
    const inside = insideFn(shape, cx, cy, r);
    const x0 = Math.max(0, Math.floor(cx - r - 1)), x1 = Math.min(this.width - 1, Math.ceil(cx + r + 1));
    const y0 = Math.max(0, Math.floor(cy - r - 1)), y1 = Math.min(this.height - 1, Math.ceil(cy + r + 1));
    const S = 4;
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        let hit = 0;
        for (let sy = 0; sy < S; sy++) for (let sx = 0; sx < S; sx++) if (inside(x + (sx + 0.5) / S, y + (sy + 0.5) / S)) hit++;
        if (hit === 0) continue;
        const a = hit / (S * S), o = (y * this.width + x) * 4;
        for (let c = 0; c < 3; c++) this.data[o + c] = Math.round(this.data[o + c]! * (1 - a) + color[c]! * a);
      }
    }
  }

  /** Draws text with the 3×5 bitmap font below, `scale` px per font pixel (for the text-reading questions). */
  text(s: string, x: number, y: number, scale: number, color: RGB): void {
    for (const ch of s) {
      const rows = FONT[ch];
      if (rows) {
        for (let ry = 0; ry < 5; ry++) for (let rx = 0; rx < 3; rx++) {
          if (!((rows[ry]! >> (2 - rx)) & 1)) continue;
          for (let py = 0; py < scale; py++) for (let px = 0; px < scale; px++) {
            const X = x + rx * scale + px, Y = y + ry * scale + py;
            if (X < 0 || Y < 0 || X >= this.width || Y >= this.height) continue;
            const o = (Y * this.width + X) * 4;
            this.data[o] = color[0]; this.data[o + 1] = color[1]; this.data[o + 2] = color[2];
          }
        }
      }
      x += 4 * scale;
    }
  }

  png(): Buffer {
    const png = new PNG({ width: this.width, height: this.height });
    png.data = Buffer.from(this.data.buffer, this.data.byteOffset, this.data.length);
    return PNG.sync.write(png, { colorType: 2 }); // RGB: smaller files, nothing is transparent
  }
}

function insideFn(shape: Shape, cx: number, cy: number, r: number): (x: number, y: number) => boolean {
  switch (shape) {
    case 'circle': return (x, y) => (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
    case 'square': return (x, y) => Math.abs(x - cx) <= r && Math.abs(y - cy) <= r;
    case 'triangle': {
      // apex up, base at cy + r, apex at cy − r: inside when below both slanted edges and above the base
      return (x, y) => y <= cy + r && Math.abs(x - cx) <= ((y - (cy - r)) / (2 * r)) * r;
    }
  }
}

/** 3×5 glyphs, one bit per pixel, rows top to bottom (lower-case letters drawn as capitals). */
const FONT: Record<string, number[]> = {
  a: [2, 5, 7, 5, 5], b: [6, 5, 6, 5, 6], c: [3, 4, 4, 4, 3], d: [6, 5, 5, 5, 6], e: [7, 4, 6, 4, 7], f: [7, 4, 6, 4, 4],
  g: [3, 4, 5, 5, 3], h: [5, 5, 7, 5, 5], i: [7, 2, 2, 2, 7], j: [1, 1, 1, 5, 2], k: [5, 5, 6, 5, 5], l: [4, 4, 4, 4, 7],
  m: [5, 7, 7, 5, 5], n: [6, 5, 5, 5, 5], o: [2, 5, 5, 5, 2], p: [6, 5, 6, 4, 4], q: [2, 5, 5, 6, 3], r: [6, 5, 6, 5, 5],
  s: [3, 4, 2, 1, 6], t: [7, 2, 2, 2, 2], u: [5, 5, 5, 5, 7], v: [5, 5, 5, 5, 2], w: [5, 5, 7, 7, 5], x: [5, 5, 2, 5, 5],
  y: [5, 5, 2, 2, 2], z: [7, 1, 2, 4, 7], ' ': [0, 0, 0, 0, 0],
};
