// The text of a run's data, for training its tokenizer: captions, the text items of interleaved documents and
// text documents, read with the same streaming readers and validation as the mixer (bad lines are located).
import type { DataSourceSpec, DataSpec } from '../../compiler/semantics/spec.js';
import { BadDataLog, DataError } from './errors.js';
import { SourceStream } from './sources.js';
import { trainBpe, type Tokenizer } from './tokenizer.js';

export type SourceKind = DataSourceSpec['kind'];

/** Guesses the kind of a data file from its first record (for `mm tokenizer train FILE...`). */
export function guessKind(path: string, firstLine: string): SourceKind {
  if (!/\.(jsonl|ndjson|json)$/i.test(path)) return 'text';
  try {
    const v = JSON.parse(firstLine) as Record<string, unknown>;
    if ('items' in v) return 'interleaved';
    if ('caption' in v) return 'captions';
  } catch { /* fall through: reported as a bad line when read */ }
  return 'text';
}

/** Reads one pass over each source and returns its texts, stopping at maxChars in total. */
export async function collectTexts(sources: Pick<DataSourceSpec, 'kind' | 'path'>[], opts: { maxChars?: number; skipBad?: boolean } = {}): Promise<{ texts: string[]; chars: number; bad: BadDataLog }> {
  const maxChars = opts.maxChars ?? 50_000_000;
  const bad = new BadDataLog(), texts: string[] = [];
  let chars = 0;
  for (const s of sources) {
    const src = new SourceStream({ ...s, weight: 1, maxImages: 0 }, opts.skipBad ? bad : null);
    try {
      for (;;) {
        const loc = await src.peek().catch((e: unknown) => {
          if (e instanceof DataError && e.line === 0 && /no usable/.test(e.message)) return null; // empty file
          throw e;
        });
        if (!loc || src.state().epoch > 0) break; // one pass only
        const r = loc.rec;
        const add = r.kind === 'captions' ? [r.caption] : r.kind === 'text' ? [r.text] : r.items.flatMap((i) => ('text' in i ? [i.text] : []));
        for (const t of add) { texts.push(t); chars += t.length; }
        src.consume();
        if (chars >= maxChars) break;
      }
    } finally {
      await src.close();
    }
    if (chars >= maxChars) break;
  }
  return { texts, chars, bad };
}

/** The run's tokenizer: byte-level BPE with the data block's vocabulary size, trained on its sources. */
export async function trainTokenizerForData(data: DataSpec, opts: { maxChars?: number; skipBad?: boolean } = {}): Promise<Tokenizer> {
  const { texts } = await collectTexts(data.sources, opts);
  return trainBpe(texts, data.vocab);
}
