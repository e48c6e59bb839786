/** What the eviction policy knows about one model that holds memory. */
export interface ResidentModel {
  id: string;
  /** Measured runner RSS, or the estimate while it loads. */
  bytes: number;
  lastUsedAt: number;
  /** keep_alive -1: never evicted. */
  pinned: boolean;
  /** Batches running on it now. */
  inFlight: number;
  loading: boolean;
}

/**
 * `evict`: idle models to stop now. `drain`: busy models that must go too; they are marked to
 * unload when their in-flight work is released, and the load waits for them. Busy models are
 * only used when idle ones cannot free enough: never cut off, never preferred.
 */
export interface EvictionPlan {
  evict: string[];
  drain: string[];
}

/**
 * Which models to evict so `neededBytes` more fit in `budgetBytes`. Pure.
 *
 * Candidates are unpinned, not loading, holding memory. Each gets a score
 * `idleMs x bytes` (memory held without use, in byte-milliseconds); the highest score goes
 * first, so among equal sizes it is plain LRU, and one big idle model goes before several small
 * recently used ones. Ties: older lastUsedAt, then bigger, then id (deterministic). After the
 * greedy pass, victims that turned out unnecessary are spared, lowest score first. Idle
 * candidates are exhausted before busy ones are considered. 'does-not-fit' when even every
 * candidate is not enough (or the need exceeds the whole budget).
 */
export function planEviction(
  models: readonly ResidentModel[],
  budgetBytes: number,
  neededBytes: number,
  now: number,
): EvictionPlan | 'does-not-fit' {
  if (neededBytes > budgetBytes) return 'does-not-fit';
  const used = models.reduce((sum, m) => sum + m.bytes, 0);
  const mustFree = used + neededBytes - budgetBytes;
  if (mustFree <= 0) return { evict: [], drain: [] };

  const candidates = models.filter((m) => !m.pinned && !m.loading && m.bytes > 0);
  const idle = rank(candidates.filter((m) => m.inFlight === 0), now);
  const busy = rank(candidates.filter((m) => m.inFlight > 0), now);

  const victims: { model: ResidentModel; busy: boolean }[] = [];
  let freed = 0;
  for (const [list, isBusy] of [[idle, false], [busy, true]] as const) {
    for (const model of list) {
      if (freed >= mustFree) break;
      victims.push({ model, busy: isBusy });
      freed += model.bytes;
    }
  }
  if (freed < mustFree) return 'does-not-fit';

  // Spare what is not needed: busy ones first (waiting is costly), then idle, lowest score first.
  const spareOrder = [...victims.filter((v) => v.busy).reverse(), ...victims.filter((v) => !v.busy).reverse()];
  const spared = new Set<string>();
  for (const v of spareOrder) {
    if (freed - v.model.bytes >= mustFree) {
      freed -= v.model.bytes;
      spared.add(v.model.id);
    }
  }
  const kept = victims.filter((v) => !spared.has(v.model.id));
  return { evict: kept.filter((v) => !v.busy).map((v) => v.model.id), drain: kept.filter((v) => v.busy).map((v) => v.model.id) };
}

function rank(models: ResidentModel[], now: number): ResidentModel[] {
  const score = (m: ResidentModel) => Math.max(0, now - m.lastUsedAt) * m.bytes;
  return [...models].sort(
    (a, b) => score(b) - score(a) || a.lastUsedAt - b.lastUsedAt || b.bytes - a.bytes || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
}
