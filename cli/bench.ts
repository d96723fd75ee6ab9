// `mm bench kernels|train [--json] [--quick]`: kernel benchmarks beside TensorFlow.js on the same adapter
// (bench/kernels.ts); `train`: decoder training throughput beside the same model in TensorFlow.js
// (bench/train.ts). Exit codes: 0 ok, 1 user error, 2 internal.

export interface BenchIo { stdout: (s: string) => void; stderr: (s: string) => void }

const HELP = `usage: mm bench kernels|train [--json] [--quick]
  kernels   matmul GFLOP/s and memory-bound GB/s: ours vs TensorFlow.js WebGPU, same device
  train     training tokens/s of LLaMA-style decoders (tiny, 20M; on a GPU also 5M, 58M, 134M): ours vs
            the same model in TensorFlow.js WebGPU, same device, same process
  --json    machine-readable output on stdout
  --quick   fewer shapes and samples (about 2 minutes on lavapipe; train: the tiny model only)`;

export async function run(argv: string[], io: BenchIo): Promise<number> {
  const flags = new Set(argv.filter((a) => a.startsWith('-')));
  const args = argv.filter((a) => !a.startsWith('-'));
  if (flags.has('--help') || flags.has('-h')) { io.stdout(HELP); return 0; }
  const unknown = [...flags].filter((f) => !['--json', '--quick'].includes(f));
  if (unknown.length > 0 || args.length !== 1 || !['kernels', 'train'].includes(args[0]!)) {
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
    if (args[0] === 'train') {
      const { benchTrain, formatTrainReport } = await import('../bench/train.js');
      const names = quick ? ['tiny'] : gpu.caps.software ? ['tiny', '20M'] : ['tiny', '20M', '5M', '58M', '134M'];
      const rows = await benchTrain(gpu, names, { steps: quick || gpu.caps.software ? 3 : 10, log: (s) => { if (!json) io.stderr(s); } });
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
