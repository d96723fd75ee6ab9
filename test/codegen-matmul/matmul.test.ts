// Every matmul variant that this adapter can run, against a float64 CPU matmul: odd sizes, transposes, batch
// broadcast, a fused bias + residual epilogue, f16 inputs/outputs, and a batch large enough to split the
// dispatch. Without an adapter every GPU case fails: there is no skip.

import { beforeAll, describe, expect, it } from 'vitest';
import { openDevice, type GpuDevice } from '../../runtime/device.js';
import { CPU_SAFE_CAPS, hasSubgroupMatrix, kernelCaps, type KernelCaps } from '../../compiler/codegen/caps.js';
import { chooseVariant, emitMatmul, type MatmulOptions, type MatmulSpec } from '../../compiler/codegen/matmul.js';
import { flatDispatch } from '../../compiler/codegen/matmul-common.js';
import { checkMatmul } from '../../bench/matmul-check.js';

let gpu: GpuDevice | null = null;
let caps: KernelCaps = CPU_SAFE_CAPS;
let openError: unknown = null;

beforeAll(async () => {
  try { gpu = await openDevice(); caps = kernelCaps(gpu.caps); } catch (e) { openError = e; }
});

/** The device; without an adapter the test fails (never skips), with the device layer's message. */
function needGpu(): GpuDevice {
  if (gpu) return gpu;
  throw new Error(`no WebGPU adapter: ${String(openError)}`);
}

/** A variant this adapter cannot run must be refused by the emitter, and only for want of subgroup matrices. */
function expectUnrunnable(s: MatmulSpec, opts: MatmulOptions, c: KernelCaps = caps): void {
  expect(() => emitMatmul(s, c, opts)).toThrow();
  if (s.inType === 'f16') expect(hasSubgroupMatrix(c)).toBe(false);
}

function spec(p: Partial<MatmulSpec> & { M: number; N: number; K: number }): MatmulSpec {
  const batch = p.batch ?? 1;
  return {
    name: 'mm', batch, transA: false, transB: false, inType: 'f32', outType: 'f32',
    aBatchStride: p.M * p.K, bBatchStride: p.K * p.N, ...p,
  };
}

const SHAPES: MatmulSpec[] = [
  spec({ M: 1, N: 1, K: 1 }),
  spec({ M: 7, N: 13, K: 5 }),
  spec({ M: 33, N: 65, K: 17, transA: true }),
  spec({ M: 64, N: 64, K: 64, transB: true }),
  spec({ M: 130, N: 129, K: 70, transA: true, transB: true }),
  spec({ batch: 3, M: 20, N: 36, K: 24 }),
  spec({ batch: 3, M: 19, N: 12, K: 9, bBatchStride: 0 }),                 // B broadcast over the batch
  spec({ batch: 2, M: 16, N: 40, K: 12, aBatchStride: 0, transB: true }),  // A broadcast
  spec({ M: 5, N: 260, K: 128 }),                                          // skinny
];

// Subsets covering every feature (odd sizes, both transposes, both broadcasts): each shape is a fresh pipeline,
// and llvmpipe takes seconds to compile the unrolled tiled kernels (cold cache, loaded 2-core machine: the
// full list made this file take 350 s).
const FEW = [1, 4, 6, 7].map((i) => SHAPES[i]!);
const TWO = [4, 7].map((i) => SHAPES[i]!);

// On software adapters with subgroups, reg4 and lanes share A's rows through subgroupBroadcast (8 rows per
// subgroup, one or more subgroups per workgroup); 'unshared' is the same adapter told it has no subgroups.
const noSubgroups = (c: KernelCaps): KernelCaps => ({ ...c, subgroups: false });
const VARIANTS: { label: string; opts: MatmulOptions; shapes: MatmulSpec[]; f16shapes: MatmulSpec[]; caps?: (c: KernelCaps) => KernelCaps }[] = [
  { label: 'reg4', opts: { variant: 'reg4' }, shapes: SHAPES, f16shapes: FEW },
  { label: 'reg4 wg32', opts: { variant: 'reg4', reg4Workgroup: 32 }, shapes: FEW, f16shapes: TWO },
  { label: 'reg4 8 rows', opts: { variant: 'reg4', reg4Rows: 8 }, shapes: FEW, f16shapes: TWO },
  { label: 'reg4 16 rows', opts: { variant: 'reg4', reg4Rows: 16 }, shapes: FEW, f16shapes: TWO },
  { label: 'reg4 8 rows unshared', opts: { variant: 'reg4', reg4Rows: 8 }, shapes: FEW, f16shapes: TWO, caps: noSubgroups },
  { label: 'lanes', opts: { variant: 'lanes' }, shapes: SHAPES, f16shapes: FEW },
  { label: 'lanes 16x4', opts: { variant: 'lanes', lanes: { WG: 8, RM: 16, CN: 4 } }, shapes: FEW, f16shapes: TWO },
  { label: 'lanes unshared', opts: { variant: 'lanes' }, shapes: FEW, f16shapes: TWO, caps: noSubgroups },
  { label: 'lanes wg16 2x3', opts: { variant: 'lanes', lanes: { WG: 16, RM: 2, CN: 3 } }, shapes: FEW, f16shapes: TWO },
  { label: 'tiled small', opts: { variant: 'tiled', tile: 'small' }, shapes: FEW, f16shapes: TWO },
  { label: 'tiled large', opts: { variant: 'tiled', tile: 'large' }, shapes: TWO, f16shapes: [SHAPES[1]!] },
  { label: 'sgmat', opts: { variant: 'sgmat' }, shapes: SHAPES, f16shapes: SHAPES },
  { label: 'sgmat small', opts: { variant: 'sgmat', sgmat: { tile: 'small' } }, shapes: FEW, f16shapes: FEW },
];

function runnable(v: MatmulOptions, s: MatmulSpec, c: KernelCaps = caps): boolean {
  if (v.variant !== 'sgmat') return true;
  try { emitMatmul(s, c, v); return true; } catch { return false; }
}

describe.each(VARIANTS)('matmul $label', ({ opts, shapes, f16shapes, caps: adjust }) => {
  const capsFor = (): KernelCaps => (adjust ? adjust(caps) : caps);
  it('f32 matches the CPU on odd shapes, transposes and broadcasts', async () => {
    const g = needGpu();
    if (opts.variant === 'sgmat') { expectUnrunnable(shapes[0]!, opts, capsFor()); return; }     // sgmat takes f16 inputs only
    for (const [i, s] of shapes.entries()) {
      const k = emitMatmul(s, capsFor(), opts);
      const res = await checkMatmul(g, s, k, 1e-5, 10 + i);
      expect(res.bad, `${k.variant} ${JSON.stringify(s)}: ${res.firstBad}`).toBe(0);
    }
  });

  it('f16 inputs (f32 and f16 outputs) match the CPU', async () => {
    const g = needGpu();
    expect(caps.f16).toBe(true);                    // lavapipe and NVIDIA (with Dawn's toggle) both offer shader-f16
    for (const [i, s0] of f16shapes.entries()) {
      for (const outType of i % 2 || f16shapes.length === 1 ? ['f32', 'f16'] as const : ['f16'] as const) {
        const s: MatmulSpec = { ...s0, inType: 'f16', outType };
        if (!runnable(opts, s, capsFor())) { expectUnrunnable(s, opts, capsFor()); return; }
        const k = emitMatmul(s, capsFor(), opts);
        const res = await checkMatmul(g, s, k, 1e-2, 20 + i);
        expect(res.bad, `${k.variant} ${JSON.stringify(s)}: ${res.firstBad}`).toBe(0);
      }
    }
  });

  it('fuses a bias + residual epilogue', async () => {
    const g = needGpu();
    const s: MatmulSpec = {
      ...spec({ batch: 2, M: 37, N: 44, K: 29, transB: true }),
      inType: opts.variant === 'sgmat' ? 'f16' : 'f32',
      epilogue: {
        decls: '@group(0) @binding(3) var<storage, read> bias: array<f32>;\n@group(0) @binding(4) var<storage, read> resid: array<f32>;',
        extraBindings: 2,
        expr: 'acc + bias[col] + resid[(bi * 37u + row) * 44u + col]',
      },
    };
    if (!runnable(opts, s, capsFor())) { expectUnrunnable(s, opts, capsFor()); return; }
    const bias = Float64Array.from({ length: 44 }, (_, i) => Math.fround(Math.sin(i)));
    const resid = Float64Array.from({ length: 2 * 37 * 44 }, (_, i) => Math.fround(Math.cos(i * 0.37)));
    const k = emitMatmul(s, capsFor(), opts);
    const res = await checkMatmul(g, s, k, s.inType === 'f16' ? 1e-2 : 1e-5, 7, {
      buffers: [bias, resid], cpu: (acc, bi, row, col) => acc + bias[col]! + resid[(bi * 37 + row) * 44 + col]!,
    });
    expect(res.bad, `${k.variant}: ${res.firstBad}`).toBe(0);
  });
});

describe('matmul dispatch and choice', () => {
  it('splits more than 65535 workgroups over y and z', () => {
    expect(flatDispatch(10, 65535)).toEqual([10, 1, 1]);
    expect(flatDispatch(70000, 65535)).toEqual([65535, 2, 1]);
    const [x, y, z] = flatDispatch(65535 * 65535 + 5, 65535);
    expect(x * y * z).toBeGreaterThanOrEqual(65535 * 65535 + 5);
    expect(z).toBe(2);
  });

  it('runs a batch of 66000 (dispatch split across dimensions)', async () => {
    const g = needGpu();
    const s = spec({ batch: 66000, M: 2, N: 3, K: 2 });
    const k = emitMatmul(s, caps, { variant: 'reg4' });
    expect(k.workgroups[1]).toBeGreaterThan(1);
    const res = await checkMatmul(g, s, k, 1e-5, 3);
    expect(res.bad, res.firstBad ?? '').toBe(0);
  });

  it('picks reg4 (lanes with B transposed) on software adapters, tiled on GPUs, sgmat for f16 where subgroup matrices exist', () => {
    const s = spec({ M: 512, N: 512, K: 512 });
    expect(chooseVariant(s, { ...CPU_SAFE_CAPS, software: true })).toBe('reg4');
    expect(chooseVariant({ ...s, transB: true }, { ...CPU_SAFE_CAPS, software: true })).toBe('lanes');
    expect(chooseVariant(s, CPU_SAFE_CAPS)).toBe('tiled');
    const nv: KernelCaps = {
      ...CPU_SAFE_CAPS, f16: true, subgroups: true, subgroupMinSize: 32, subgroupMaxSize: 32, vendor: 'nvidia',
      subgroupMatrixConfigs: [{ M: 16, N: 16, K: 16, componentType: 'f16', resultComponentType: 'f32' }],
      limits: { ...CPU_SAFE_CAPS.limits, maxComputeWorkgroupStorageSize: 49152, maxComputeInvocationsPerWorkgroup: 1024 },
    };
    expect(chooseVariant({ ...s, inType: 'f16' }, nv)).toBe('sgmat');
    // Tile per problem size: the fastest measured on H200 where it fills the GPU, smaller tiles below that.
    const big = { ...s, M: 4096, N: 4096, K: 4096, inType: 'f16' as const };
    expect(emitMatmul(big, nv).variant).toBe('sgmat-256x128x32-4x2sg-direct');
    expect(emitMatmul({ ...big, M: 2048, N: 1024 }, nv).variant).toBe('sgmat-128x128x32-4x2sg-direct');
    expect(emitMatmul({ ...big, M: 300, N: 200 }, nv).variant).toBe('sgmat-64x64x32-2x2sg');
    expect(emitMatmul({ ...big, inType: 'f32' }, nv).variant).toBe('tiled-128x128x32-8x8');
    expect(emitMatmul({ ...big, inType: 'f32' }, CPU_SAFE_CAPS).variant).toBe('tiled-128x128x16-8x8');
    expect(chooseVariant(s, nv)).toBe('tiled');
    const k = emitMatmul({ ...s, inType: 'f16' }, nv);
    expect(k.wgsl).toContain('enable chromium_experimental_subgroup_matrix;');
    expect(k.wgsl).toContain('subgroupMatrixMultiplyAccumulate');
    expect(k.wgsl).toMatch(/subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>/);
    expect(emitMatmul({ ...s, inType: 'f16' }, nv, { variant: 'sgmat', sgmat: { api: 'old' } }).wgsl)
      .toMatch(/subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>>\(&As, [^,]+, false, 40u\)/);
  });

  it('software adapters share A through subgroups of at least 8 lanes (16 rows per invocation from M = 64)', () => {
    const sw: KernelCaps = { ...CPU_SAFE_CAPS, software: true, subgroups: true, subgroupMinSize: 8, subgroupMaxSize: 8 };
    const s = spec({ M: 512, N: 512, K: 512 });
    const k = emitMatmul(s, sw);
    expect(k.variant).toBe('reg4-wg8-r16-sg');
    expect(k.wgsl).toContain('enable subgroups;');
    expect(k.wgsl.match(/subgroupBroadcast\(al[01], \d+u\)/g)!.length).toBe(16);
    // The 16 rows are stored by one loop (the epilogue compiled once), with a bound llvmpipe cannot unroll.
    expect(k.wgsl).toContain('var accs: array<vec4<f32>, 16>;');
    expect(k.wgsl.match(/put4\(/g)!.length).toBe(2);                 // its definition and the loop's one call
    expect(k.wgsl).toContain('for (var r = 0u; r < select(16u, 0u, arrayLength(&out) == 0u); r++)');
    expect(emitMatmul({ ...s, M: 40 }, sw).variant).toBe('reg4-wg8-r8-sg');
    expect(emitMatmul({ ...s, transB: true }, sw).variant).toBe('lanes-wg8-16x4-sg');
    expect(emitMatmul({ ...s, transA: true }, sw).wgsl).toContain('let al1 = aRow4(bi, k + sl % 4u, m0 + 8u + 4u * (sl / 4u));');
    // No subgroups, subgroups narrower than the rows, or a workgroup that is not whole subgroups: every lane loads.
    expect(emitMatmul(s, { ...sw, subgroups: false }).variant).toBe('reg4-wg8-r8');
    expect(emitMatmul(s, { ...sw, subgroupMinSize: 4, subgroupMaxSize: 4 }, { variant: 'reg4', reg4Rows: 8 }).variant).toBe('reg4-wg8-r8');
    expect(emitMatmul(s, { ...sw, subgroupMinSize: 8, subgroupMaxSize: 16 }, { variant: 'reg4' }).wgsl).not.toContain('subgroupBroadcast');
    expect(emitMatmul(s, { ...sw, software: false }, { variant: 'reg4' }).wgsl).not.toContain('subgroupBroadcast');
  });

  it('rejects epilogues that need more storage buffers than the device has', () => {
    const s = { ...spec({ M: 4, N: 4, K: 4 }), epilogue: { decls: '', extraBindings: 6, expr: 'acc' } };
    expect(() => emitMatmul(s, CPU_SAFE_CAPS)).toThrow(/storage buffers/);
  });
});

describe('matmul autotuner', () => {
  it('times the candidates once, then answers from its JSON cache', async () => {
    const g = needGpu();
    const { autotune, lookupTuned, adapterKey } = await import('../../bench/autotune.js');
    const { mkdtempSync, readFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const path = join(mkdtempSync(join(tmpdir(), 'mm-tune-')), 'tune.json');
    const s = spec({ M: 24, N: 40, K: 16 });
    const first = await autotune(g, s, { cachePath: path, targetMs: 5 });
    expect(first.cached).toBe(false);
    expect(first.tried.length).toBeGreaterThan(1);
    const again = await autotune(g, s, { cachePath: path });
    expect(again.cached).toBe(true);
    expect(again.variant).toBe(first.variant);
    expect(lookupTuned(adapterKey(g.caps), s, path)).toEqual(first.options);
    expect(lookupTuned(adapterKey(g.caps), { ...s, M: 25 }, path)).toBeNull();
    expect(Object.keys(JSON.parse(readFileSync(path, 'utf8')))).toEqual([adapterKey(g.caps)]);
    // The tuned options emit a kernel that is still correct.
    const res = await checkMatmul(g, s, emitMatmul(s, caps, first.options), 1e-5, 4);
    expect(res.bad).toBe(0);
  });

  it('compilation uses the stored choice for the adapter: tuneProgram stores it, tunedKernelCaps hands it to the compiler', async () => {
    const g = needGpu();
    const { tuneProgram } = await import('../../bench/autotune.js');
    const { tunedKernelCaps, readTuning, adapterKey } = await import('../../runtime/tuning.js');
    const { Graph } = await import('../../compiler/ir/graph.js');
    const { render } = await import('../../compiler/compile.js');
    const { kernelCaps } = await import('../../compiler/codegen/caps.js');
    const { tuningKey } = await import('../../compiler/codegen/matmul.js');
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'mm-tune-'));
    const gr = new Graph();
    const x = gr.input('x', [24, 16]), w = gr.param('w', [16, 40], { kind: 'normal', std: 0.1 });
    gr.output('y', gr.matmul(x, w));
    const plain = render(gr, ['y'], kernelCaps(g.caps), 'f32');
    const shape = plain.kernels.find((k) => k.matmul)!.matmul!;
    expect(shape).toMatchObject({ M: 24, N: 40, K: 16, transA: false, transB: false, epilogueBindings: 0 });
    // A table naming a variant other than the heuristic's: the compiled kernel follows the table.
    const other = g.caps.software ? { variant: 'lanes' as const } : { variant: 'reg4' as const };
    const path = join(dir, 'forced.json');
    writeFileSync(path, JSON.stringify({ [adapterKey(g.caps)]: { [tuningKey(shape)]: { options: other, variant: 'x', ms: 1, date: '', tried: [] } } }));
    const forced = render(gr, ['y'], tunedKernelCaps(g.caps, path), 'f32');
    const want = emitMatmul({ ...shape, name: 'mm' }, caps, other).variant;
    expect(want).not.toBe(emitMatmul({ ...shape, name: 'mm' }, caps).variant);
    expect(forced.kernels.find((k) => k.matmul)!.wgsl).not.toBe(plain.kernels.find((k) => k.matmul)!.wgsl);
    // Another adapter's entries, a missing file and MM_TUNING=off leave the heuristic's kernel.
    expect(tunedKernelCaps({ ...g.caps, description: 'another adapter' }, path).matmulTuning).toBeUndefined();
    expect(tunedKernelCaps(g.caps, join(dir, 'missing.json')).matmulTuning).toBeUndefined();
    expect(tunedKernelCaps(g.caps, null).matmulTuning).toBeUndefined();
    // tuneProgram times the program's shapes and stores one entry per distinct shape.
    const store = join(dir, 'store.json');
    const rows = await tuneProgram(g, plain, { cachePath: store, targetMs: 5 });
    expect(rows.map((r) => r.key)).toEqual([tuningKey(shape)]);
    expect(Object.keys(readTuning(store)[adapterKey(g.caps)]!)).toEqual([tuningKey(shape)]);
  });
});
