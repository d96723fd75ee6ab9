// `npm run demo`, the README's main job: synthesise the shapes world (once), train the tiny multimodal spec
// end to end on the WebGPU adapter into runs/demo/, check that its loss fell to at most half its start, then
// caption a held-out image with the trained model (KV-cache generation) beside that image's references, and
// measure whether the model uses its images at all (held-out caption loss with right vs rotated images).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { main } from '../cli/mm.js';
import { readMetrics } from '../runtime/metrics-log.js';

const DATA = 'runs/data/synth';
const RUN = 'runs/demo';
const step = (s: string) => process.stderr.write(`\n== ${s}\n`);

async function mm(args: string[]): Promise<void> {
  const code = await main(args);
  if (code !== 0) { process.stderr.write(`demo: \`mm ${args.join(' ')}\` failed (exit ${code})\n`); process.exit(code); }
}

if (!fs.existsSync(path.join(DATA, 'captions.jsonl'))) {
  step('1/4 synthesising the shapes world');
  await mm(['data', 'synth', '--out', DATA, '--images', '2000']);
} else step(`1/4 data: ${DATA} exists`);

step('2/4 training specs/tiny.mm');
fs.rmSync(RUN, { recursive: true, force: true });
await mm(['train', 'specs/tiny.mm', '--out', RUN]);
const losses = readMetrics(path.join(RUN, 'metrics.jsonl')).map((m) => m.loss as number);
const first = losses[0]!, last = losses[losses.length - 1]!;
const ok = last <= first / 2;
process.stderr.write(`loss ${first.toFixed(3)} → ${last.toFixed(3)} (${ok ? 'at most half its start: ok' : 'NOT below half its start'}); curves in ${RUN}/loss.svg\n`);

step('3/4 captioning a held-out image');
const coco = JSON.parse(fs.readFileSync(path.join(DATA, 'eval', 'captions.json'), 'utf8')) as { images: { id: number; file_name: string }[]; annotations: { image_id: number; caption: string }[] };
const image = coco.images[0]!;
process.stderr.write(`image ${path.join(DATA, 'eval', image.file_name)}; references: ${coco.annotations.filter((a) => a.image_id === image.id).map((a) => `"${a.caption}"`).join(', ')}\nmodel: `);
await mm(['generate', 'specs/tiny.mm', '--checkpoint', RUN, '--prompt', '<image>', '--image', path.join(DATA, 'eval', image.file_name), '--max-tokens', '20']);

step('4/4 zero-shot captioning of 20 held-out images, and image use');
await mm(['eval', 'specs/tiny.mm', '--checkpoint', RUN, '--shots', '0', '--limit', '20']);
process.stderr.write('(an image-use gap near 0 means the caption comes from the language prior, not the image: see docs/ablations.md)\n');
process.exit(ok ? 0 : 1);
