// Fixtures for the generation tests: a small eval folder in the synthetic data set's layout (COCO captions,
// VQA questions/annotations, PNG images, a disjoint demonstration pool).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { PNG } from 'pngjs';

/** A synthetic-layout eval folder: N eval images and N pool images, 2 captions and 1 question each. */
export function writeEvalDir(dir: string, N: number): void {
  fs.mkdirSync(path.join(dir, 'eval', 'images'), { recursive: true });
  const colors = ['red', 'green', 'blue', 'yellow'];
  for (const [prefix, base] of [['', 100], ['pool_', 200]] as const) {
    const images = Array.from({ length: N }, (_, i) => ({ id: base + i, file_name: `images/${prefix || 'e'}${i}.png` }));
    const annotations = images.flatMap((im, i) => [
      { id: 2 * i, image_id: im.id, caption: `a ${colors[i % 4]} circle` },
      { id: 2 * i + 1, image_id: im.id, caption: `a small ${colors[i % 4]} circle` },
    ]);
    const questions = images.map((im, i) => ({ question_id: im.id * 10, image_id: im.id, question: `what color is object ${i}?` }));
    const anns = images.map((im, i) => ({
      question_id: im.id * 10, image_id: im.id, answer_type: 'other', question_type: 'color', multiple_choice_answer: colors[i % 4],
      answers: Array.from({ length: 10 }, (_, k) => ({ answer: colors[i % 4], answer_id: k + 1 })),
    }));
    const w = (n: string, o: unknown) => fs.writeFileSync(path.join(dir, 'eval', `${prefix}${n}.json`), JSON.stringify(o));
    w('captions', { images, annotations });
    w('vqa_questions', { questions });
    w('vqa_annotations', { annotations: anns });
    for (const im of images) {
      const png = new PNG({ width: 8, height: 8 });
      for (let p = 0; p < 64; p++) png.data.set([(im.id * 37 + p * 11) % 256, (im.id * 13 + p * 5) % 256, (p * 29) % 256, 255], p * 4);
      fs.writeFileSync(path.join(dir, 'eval', im.file_name), PNG.sync.write(png));
    }
  }
}

