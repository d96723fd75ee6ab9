// Prints the TensorFlow.js decoder peer's training throughput on this machine's adapter, one JSON line per config.
//   npx tsx test/bench-peer/run.ts [steps]      (XDG_RUNTIME_DIR=/tmp on lavapipe)
import { openDevice } from '../../runtime/device.js';
import { benchTfjsDecoder, type TfjsDecoderConfig } from '../../bench/tfjs-decoder.js';
import { openTfjsWebgpu } from '../../bench/tfjs-setup.js';

const steps = Number(process.argv[2] ?? 10);
const base: TfjsDecoderConfig = { vocab: 512, width: 64, depth: 2, heads: 4, kvHeads: 2, ffn: 128, T: 64, B: 8, steps, warmup: 3, lr: 3e-3 };
const configs: TfjsDecoderConfig[] = process.env.PEER_BIG
  ? [base, { ...base, vocab: 4096, width: 512, depth: 4, heads: 8, kvHeads: 4, ffn: 1536, T: 256, B: 16 }]
  : [base, { ...base, B: 2 }, { ...base, width: 128, ffn: 256, kvHeads: 4 }, { ...base, vocab: 64, width: 32, depth: 1, heads: 2, ffn: 64, T: 16, B: 2 }];
const dev = await openDevice();
console.log(`adapter: ${dev.caps.vendor} ${dev.caps.device} ${dev.caps.description}`);
// PEER_SUBMIT_BATCH=n: tfjs submits every n dispatches (its default 15)
if (process.env.PEER_SUBMIT_BATCH) (await openTfjsWebgpu(dev)).env().set('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE', Number(process.env.PEER_SUBMIT_BATCH));
for (const cfg of configs) {
  const r = await benchTfjsDecoder(cfg, dev);
  console.log(JSON.stringify({
    config: { vocab: cfg.vocab, width: cfg.width, depth: cfg.depth, heads: cfg.heads, kvHeads: cfg.kvHeads, ffn: cfg.ffn, T: cfg.T, B: cfg.B },
    tokensPerSecond: Math.round(r.tokensPerSecond * 10) / 10, stepMs: Math.round(r.stepMs * 10) / 10, params: r.params,
    firstLoss: r.losses[0], lastLoss: r.losses.at(-1),
  }));
}
process.exit(0);
