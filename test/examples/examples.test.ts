// Every example in examples/ runs here as a user would run it (`npx tsx examples/NAME.ts`, a child process),
// and its output is checked. The examples are also type-checked on their own (test/examples/tsconfig.json),
// which checks the public API's declarations, and must import mm only through its two entry points.

import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PNG } from 'pngjs';

const ROOT = join(import.meta.dirname, '../..');
const run = promisify(execFile);

async function example(name: string, args: string[] = []): Promise<string> {
  const tsx = join(ROOT, 'node_modules/.bin/tsx');
  const { stdout } = await run(tsx, [join(ROOT, 'examples', name), ...args], { cwd: ROOT, timeout: 240_000, maxBuffer: 16 << 20 });
  return stdout;
}

describe('examples', () => {
  it('import mm only through mm/compiler and mm/runtime', () => {
    const files = ['browser/main.ts', ...readdirSync(join(ROOT, 'examples')).filter((f) => f.endsWith('.ts'))];
    for (const f of files) {
      const text = readFileSync(join(ROOT, 'examples', f), 'utf8');
      for (const m of text.matchAll(/from '([^']+)'/g)) {
        expect(m[1], `${f} imports ${m[1]}`).toMatch(/^(node:|(\.\.\/)+(compiler|runtime)\/index\.js$)/);
      }
    }
  });

  it('type-check against the public API (tsc on examples/)', async () => {
    const tsc = join(ROOT, 'node_modules/.bin/tsc');
    const r = await run(tsc, ['-p', join(ROOT, 'test/examples/tsconfig.json')], { cwd: ROOT, timeout: 240_000 }).catch((e: { stdout: string }) => e);
    expect(r.stdout).toBe('');
  });

  it('01 compiles a spec string and prints its kernels and WGSL', async () => {
    const out = await example('01-compile-and-print-kernels.ts');
    expect(out).toMatch(/model m: \d+ parameters/);
    expect(out).toMatch(/program: \d+ kernels, \d+ buffers/);
    expect(out).toMatch(/k0 +\S+ +wg=\[/);
    expect(out).toContain("// WGSL of kernel 'matmul'");
    expect(out).toContain('@compute @workgroup_size(');
  });

  it('02 trains a tiny model from code with an in-memory data source; the loss falls', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mm-ex02-'));
    try {
      const out = await example('02-train-from-code.ts', ['--steps', '8', '--out', dir]);
      const losses = [...out.matchAll(/loss (\d+\.\d+)  grad_norm/g)].map((m) => Number(m[1]));
      expect(losses).toHaveLength(8);
      expect(losses[7]!).toBeLessThan(losses[0]! - 0.5);
      expect(out).toMatch(/checkpoint: .*step-000008/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('03 trains a captioner, checkpoints it, and generates from the checkpoint with an image', async () => {
    const out = await example('03-generate-with-image.ts', ['--steps', '40']);
    const losses = [...out.matchAll(/train step \d+: loss (\d+\.\d+)/g)].map((m) => Number(m[1]));
    expect(losses[losses.length - 1]!).toBeLessThan(losses[0]! / 2);
    expect(out).toMatch(/caption: a \S+/);
    const runDir = /checkpoint: (.*)\/step-\d+ /.exec(out)![1]!;
    // Again from that checkpoint, with an image file (a blue square PNG) instead of the drawn one.
    const png = new PNG({ width: 32, height: 32 });
    for (let i = 0; i < 32 * 32; i++) {
      const x = i % 32, y = Math.floor(i / 32), inside = x >= 8 && x < 24 && y >= 8 && y < 24;
      png.data.set(inside ? [30, 40, 230, 255] : [128, 128, 128, 255], i * 4);
    }
    const image = join(runDir, 'blue.png');
    writeFileSync(image, PNG.sync.write(png));
    try {
      const again = await example('03-generate-with-image.ts', ['--checkpoint', runDir, '--image', image]);
      expect(again).not.toContain('train step');
      expect(again).toContain(`image: ${image}`);
      expect(again).toMatch(/caption: a \S+/);
    } finally {
      rmSync(runDir, { recursive: true, force: true });
    }
  });
});
