// `mm bench kernels|train [--json] [--quick]`: kernel benchmarks beside TensorFlow.js on the same adapter
// (bench/kernels.ts); `train`: decoder training throughput beside the same model in TensorFlow.js
// (bench/train.ts); `profile`: GPU time per kernel of one training step (bench/profile.ts).
// Exit codes: 0 ok, 1 user error, 2 internal.

export interface BenchIo { stdout: (s: string) => void; stderr: (s: string) => void }

const HELP = `usage: mm bench kernels [--json] [--quick]
       mm bench train [--rounds N] [--json] [--quick]
       mm bench profile SPEC|CONFIG [--steps N] [--top K] [--f16] [--json]
       mm bench tune SPEC|CONFIG [--f16] [--force] [--json]
  kernels   matmul GFLOP/s, memory-bound GB/s, and attention and a transformer block forward + backward
            (compiled programs): ours vs TensorFlow.js WebGPU, same device
  train     training tokens/s of LLaMA-style decoders (tiny, 20M; on a GPU also 5M, 58M, 134M): ours vs
            the same model in TensorFlow.js WebGPU, same device, same process
  profile   GPU time of each kernel of one training step (timestamp queries), by kernel kind and the
            slowest kernels, beside the step's wall time; of a spec's model (SPEC.mm, random inputs) or a
            decoder configuration (tiny, 20M, 5M, 58M, 134M)
  tune      time the candidate kernels of every matmul shape in a training step and store the fastest per
            adapter (~/.cache/mm/matmul-tune.json, or MM_TUNING=FILE); later compilations use them
            (MM_TUNING=off ignores the table); --force re-times shapes already stored
  --json    machine-readable output on stdout
  --quick   fewer shapes and samples (about 2 minutes on lavapipe; train: the tiny model only)
  --steps N profiled steps to average (default 3);  --top K  slowest kernels listed (default 15)
  --rounds N  train: run ours and TensorFlow.js N times each, alternating, and report the median runs
  --f16     profile the f16 training step`;

export async function run(argv: string[], io: BenchIo): Promise<number> {
  // --steps and --top take a value: pull them out first.
  const valued: Record<string, number> = {};
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--steps' || a === '--top' || a === '--rounds') {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < 1) { io.stderr(`${a} needs a positive integer\n${HELP}`); return 1; }
      valued[a.slice(2)] = v;
    } else rest.push(a);
  }
  const flags = new Set(rest.filter((a) => a.startsWith('-')));
  const args = rest.filter((a) => !a.startsWith('-'));
  if (flags.has('--help') || flags.has('-h')) { io.stdout(HELP); return 0; }
  const unknown = [...flags].filter((f) => !['--json', '--quick', '--f16', '--force'].includes(f));
  const okArgs = args[0] === 'profile' || args[0] === 'tune' ? args.length === 2 : args.length === 1 && ['kernels', 'train'].includes(args[0]!);
  if (unknown.length > 0 || !okArgs) {
    io.stderr(`${unknown.length ? `unknown option ${unknown[0]}\n` : ''}${HELP}`);
    return 1;
  }
  const json = flags.has('--json'), quick = flags.has('--quick');
  try {
    const { openDevice, NoAdapterError } = await import('../runtime/device.js');
    let gpu;
    try { gpu = await openDevice(); } catch (e) {
      if (e instanceof NoAdapterError) { io.stderr(e.message); return 1; }
      throw e;
    }
    let spec;
    if ((args[0] === 'profile' || args[0] === 'tune') && args[1]!.endsWith('.mm')) {
      const { checkFile, renderDiagnostics } = await import('../compiler/index.js');
      const r = checkFile(args[1]!);
      if (!r.value || r.diagnostics.some((d) => d.severity === 'error')) { io.stderr(renderDiagnostics(r.diagnostics, r.sources, { color: false })); return 1; }
      spec = r.value;
    }
    if (args[0] === 'tune') {
      const { profileTarget } = await import('../bench/profile.js');
      const { tuneProgram, formatTune } = await import('../bench/autotune.js');
      const { render } = await import('../compiler/compile.js');
      const { kernelCaps } = await import('../compiler/codegen/caps.js');
      const { tuningStorePath } = await import('../runtime/tuning.js');
      let target;
      try { target = profileTarget(spec ?? args[1]!); } catch (e) {
        if (/unknown configuration/.test((e as Error).message)) { io.stderr(`mm bench: ${(e as Error).message}`); return 1; }
        throw e;
      }
      const program = render(target.graph, ['loss', 'grad_norm'], kernelCaps(gpu.caps), flags.has('--f16') ? 'f16' : 'f32');
      const rows = await tuneProgram(gpu, program, { force: flags.has('--force'), log: (s) => { if (!json) io.stderr(s); } });
      io.stdout(json ? JSON.stringify({ device: gpu.caps.description || gpu.caps.device, path: tuningStorePath(), rows }, null, 2) : formatTune(rows, tuningStorePath()));
      return 0;
    }
    if (args[0] === 'profile') {
      const target = args[1]!;
      const { profileTrainStep, formatProfile } = await import('../bench/profile.js');
      let report;
      try {
        report = await profileTrainStep(gpu, spec ?? target, { steps: valued.steps, top: valued.top, precision: flags.has('--f16') ? 'f16' : 'f32' });
      } catch (e) {
        if (/unknown configuration|timestamp-query/.test((e as Error).message)) { io.stderr(`mm bench: ${(e as Error).message}`); return 1; }
        throw e;
      }
      io.stdout(json ? JSON.stringify(report, null, 2) : formatProfile(report));
      return 0;
    }
    if (args[0] === 'train') {
      const { benchTrain, formatTrainReport } = await import('../bench/train.js');
      const names = quick ? ['tiny'] : gpu.caps.software ? ['tiny', '20M'] : ['tiny', '20M', '5M', '58M', '134M'];
      const rows = await benchTrain(gpu, names, { steps: quick || gpu.caps.software ? 3 : 10, rounds: valued.rounds, log: (s) => { if (!json) io.stderr(s); } });
      io.stdout(json ? JSON.stringify({ device: gpu.caps.description || gpu.caps.device, rows }, null, 2) : formatTrainReport(gpu.caps.description || gpu.caps.device, rows));
      return 0;
    }
    const { benchKernels, formatReport } = await import('../bench/kernels.js');
    const report = await benchKernels(gpu, { quick, log: (s) => { if (!json) io.stderr(s); } });
    io.stdout(json ? JSON.stringify(report, null, 2) : formatReport(report));
    return 0;
  } catch (e) {
    io.stderr(`mm bench: internal error: ${(e as Error).stack ?? String(e)}`);
    return 2;
  }
}
