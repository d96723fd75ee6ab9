// Memory planning: liveness-based reuse of temp buffers. Walk the kernels in schedule order; a temp value is
// born at its producing kernel and dies after its last reader; a dead buffer is reused (best fit by size)
// for a later value. Leaves, outputs and assigned values keep dedicated buffers for the whole step.

export interface PlanValue {
  key: number;            // caller's id of the value
  bytes: number;
  def: number;            // producing kernel index
  lastUse: number;        // last kernel index that reads it (≥ def)
  pinned: boolean;        // outputs / assign values: never shared
}

export interface MemoryPlan {
  /** value key → physical slot */
  slot: Map<number, number>;
  /** bytes of each physical slot */
  slotBytes: number[];
  pinnedSlots: Set<number>;
  unplannedBytes: number;
}

export function planMemory(values: readonly PlanValue[], kernelCount: number): MemoryPlan {
  const slot = new Map<number, number>();
  const slotBytes: number[] = [];
  const pinnedSlots = new Set<number>();
  const free: number[] = [];
  const byDef = new Map<number, PlanValue[]>();
  const byDeath = new Map<number, PlanValue[]>();
  for (const v of values) {
    (byDef.get(v.def) ?? byDef.set(v.def, []).get(v.def)!).push(v);
    if (!v.pinned) (byDeath.get(v.lastUse) ?? byDeath.set(v.lastUse, []).get(v.lastUse)!).push(v);
  }
  for (let k = 0; k < kernelCount; k++) {
    for (const v of byDef.get(k) ?? []) {
      if (v.pinned) { slot.set(v.key, slotBytes.length); pinnedSlots.add(slotBytes.length); slotBytes.push(v.bytes); continue; }
      // Best fit among free slots that are large enough and not wastefully large (≤ 4×); else a new slot.
      let best = -1;
      for (const [fi, s] of free.entries()) {
        const b = slotBytes[s]!;
        if (b >= v.bytes && b <= 4 * v.bytes && (best < 0 || b < slotBytes[free[best]!]!)) best = fi;
      }
      if (best >= 0) { slot.set(v.key, free[best]!); free.splice(best, 1); }
      else { slot.set(v.key, slotBytes.length); slotBytes.push(v.bytes); }
    }
    // Values whose last reader is kernel k are free for kernels after k.
    for (const v of byDeath.get(k) ?? []) free.push(slot.get(v.key)!);
  }
  return { slot, slotBytes, pinnedSlots, unplannedBytes: values.reduce((a, v) => a + v.bytes, 0) };
}
