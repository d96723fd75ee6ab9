// `mm inspect`'s closed-form training-memory estimate agrees with the memory planner's peak (within 10%) for
// every tiny spec: dense, MoE, text-only and each connector kind.
import { describe, expect, it } from 'vitest';
import { checkFile, memoryEstimate } from '../../compiler/language.js';
import { lowerTrainStep, render } from '../../compiler/compile.js';
import { CPU_SAFE_CAPS } from '../../compiler/codegen/caps.js';

const SPECS = ['tiny', 'tiny-text', 'tiny-moe', 'tiny-avgpool', 'tiny-attnpool', 'tiny-linear'];

describe('memory estimate vs memory plan', () => {
  for (const name of SPECS) {
    it(`${name}: estimate within 10% of the planned peak`, () => {
      const spec = checkFile(`specs/${name}.mm`).value!;
      const program = render(lowerTrainStep(spec), ['loss', 'grad_norm'], CPU_SAFE_CAPS);
      const est = memoryEstimate(spec).total;
      expect(Math.abs(est / program.peakBytes - 1), `estimate ${est} vs plan ${program.peakBytes}`).toBeLessThanOrEqual(0.10);
      // The planner really reuses memory: the peak is below the sum of every temp's size.
      expect(program.peakBytes).toBeLessThan(program.tempBytesUnplanned + program.buffers.filter((b) => b.kind !== 'temp').reduce((a, b) => a + b.bytes, 0));
    });
  }
});
