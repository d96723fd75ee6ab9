// `mm compile SPEC --emit STAGE`: shows any stage of the pipeline for the spec's training step (or, with
// --decode, its KV-cache inference step): the AST, the checked spec, the IR, the backward graph, the fused
// kernels, or their WGSL. --out DIR writes one file per kernel instead of printing.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseFlags, UserError, type IO } from './io.js';
import { loadSpec } from './load-spec.js';
import { parseSpec, lowerTrainStep, lowerInference, render, trainShape, lowerTrain, printGraph, programKernelsText, programWgslText, CPU_SAFE_CAPS } from '../compiler/index.js';

const STAGES = ['ast', 'spec', 'ir', 'grad', 'kernels', 'wgsl'] as const;
const HELP = `usage: mm compile SPEC --emit ${STAGES.join('|')} [--decode] [--set name=value]... [--out DIR] [--json]

  --emit STAGE   ast: the syntax tree; spec: the checked spec; ir: the forward graph; grad: the whole
                 training step (forward, backward, optimizer); kernels: fused kernels with the IR nodes each
                 contains; wgsl: their WGSL source
  --decode       the KV-cache inference step (one token) instead of the training step
  --out DIR      write the output into DIR (wgsl: one .wgsl file per kernel)
  --json         JSON output where the stage has a data form (ast, spec, kernels)`;

export async function run(argv: string[], io: IO): Promise<number> {
  const { flags, positional } = parseFlags(argv, { emit: 'string', decode: 'boolean', set: 'list', out: 'string', json: 'boolean', help: 'boolean' });
  if (flags.help) { io.stdout(HELP); return 0; }
  const stage = flags.emit as string | undefined;
  if (!stage || !(STAGES as readonly string[]).includes(stage)) throw new UserError(`--emit needs one of ${STAGES.join(', ')}`);
  const file = positional[0];
  let text: string;
  if (stage === 'ast') {
    if (!file) throw new UserError('name a spec file');
    let src: string;
    try { src = fs.readFileSync(file, 'utf8'); } catch { throw new UserError(`cannot read ${file}`); }
    text = JSON.stringify(parseSpec(src, file).value, null, 1);
  } else {
    const spec = loadSpec(file, flags.set as string[] | undefined, io);
    const shape = trainShape(spec);
    if (stage === 'spec') text = JSON.stringify(spec, null, 2);
    else if (stage === 'ir') {
      text = flags.decode ? printGraph(lowerInference(spec.model, { B: 1, Tn: 1, Tmax: shape.T, maxImages: shape.maxImages })) : printGraph(lowerTrain(spec.model, shape).graph);
    } else {
      const graph = flags.decode ? lowerInference(spec.model, { B: 1, Tn: 1, Tmax: shape.T, maxImages: shape.maxImages }) : lowerTrainStep(spec, shape);
      if (stage === 'grad') text = printGraph(graph);
      else {
        const program = render(graph, flags.decode ? ['logits'] : ['loss', 'grad_norm'], CPU_SAFE_CAPS, spec.train?.precision ?? 'f32');
        if (stage === 'kernels') text = flags.json ? JSON.stringify(program.kernels.map((k) => ({ name: k.name, ops: k.ops, workgroups: k.workgroups })), null, 1) : programKernelsText(program);
        else {
          if (flags.out) {
            const dir = flags.out as string;
            fs.mkdirSync(dir, { recursive: true });
            program.kernels.forEach((k, i) => fs.writeFileSync(path.join(dir, `${String(i).padStart(4, '0')}_${k.name}.wgsl`), k.wgsl));
            io.stdout(`wrote ${program.kernels.length} kernels to ${dir}`);
            return 0;
          }
          text = programWgslText(program);
        }
      }
    }
  }
  if (flags.out) {
    fs.mkdirSync(flags.out as string, { recursive: true });
    const f = path.join(flags.out as string, `${stage}.${flags.json || stage === 'ast' || stage === 'spec' ? 'json' : 'txt'}`);
    fs.writeFileSync(f, text);
    io.stdout(`wrote ${f}`);
  } else io.stdout(text);
  return 0;
}
