/**
 * Partition assignors: pure functions from the members' subscriptions and the topics'
 * partition counts to an assignment. Every subscribed partition goes to exactly one member
 * subscribed to its topic.
 */

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface AssignorMember {
  memberId: string;
  /** Sort key: the static instance id when there is one, so restarts keep their place. */
  sortKey: string;
  /** Topics (already resolved from a pattern) this member reads. */
  topics: string[];
  /** What the member holds now (cooperative-sticky keeps as much of it as balance allows). */
  owned: TopicPartition[];
}

export type Assignment = Map<string, TopicPartition[]>;
export type AssignorName = 'range' | 'round-robin' | 'cooperative-sticky';
export const ASSIGNORS: readonly AssignorName[] = ['range', 'round-robin', 'cooperative-sticky'];

/** Cooperative assignors revoke only what moves; eager ones revoke everything first. */
export const isCooperative = (name: AssignorName): boolean => name === 'cooperative-sticky';

const bySortKey = (a: AssignorMember, b: AssignorMember) =>
  a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : a.memberId < b.memberId ? -1 : 1;

const empty = (members: AssignorMember[]): Assignment =>
  new Map(members.map((m) => [m.memberId, [] as TopicPartition[]]));

const sortedTopics = (counts: ReadonlyMap<string, number>) => [...counts.keys()].sort();

/** Per topic, contiguous ranges; the first `count % n` subscribers get one more. */
export function rangeAssign(
  members: AssignorMember[],
  counts: ReadonlyMap<string, number>,
): Assignment {
  const out = empty(members);
  const sorted = [...members].sort(bySortKey);
  for (const topic of sortedTopics(counts)) {
    const subs = sorted.filter((m) => m.topics.includes(topic));
    if (subs.length === 0) continue;
    const count = counts.get(topic) ?? 0;
    const base = Math.floor(count / subs.length);
    const extra = count % subs.length;
    let next = 0;
    subs.forEach((m, i) => {
      const n = base + (i < extra ? 1 : 0);
      const list = out.get(m.memberId)!;
      for (let k = 0; k < n; k++) list.push({ topic, partition: next++ });
    });
  }
  return out;
}

/** Every partition in (topic, partition) order, dealt to the subscribed members in turn. */
export function roundRobinAssign(
  members: AssignorMember[],
  counts: ReadonlyMap<string, number>,
): Assignment {
  const out = empty(members);
  const sorted = [...members].sort(bySortKey);
  if (sorted.length === 0) return out;
  let turn = 0;
  for (const topic of sortedTopics(counts)) {
    if (!sorted.some((m) => m.topics.includes(topic))) continue;
    const count = counts.get(topic) ?? 0;
    for (let partition = 0; partition < count; partition++) {
      while (!sorted[turn % sorted.length]!.topics.includes(topic)) turn++;
      out.get(sorted[turn % sorted.length]!.memberId)!.push({ topic, partition });
      turn++;
    }
  }
  return out;
}

const tpKey = (tp: TopicPartition) => `${tp.topic}\u0000${tp.partition}`;

/**
 * Sticky and balanced: members keep the partitions they own (when still valid), orphans go to
 * the least-loaded eligible member, then single partitions move from the most-loaded member
 * to a member with at least two fewer until no such move exists. Each move lowers the sum of
 * squared loads, so the loop ends; with equal subscriptions it ends balanced to within one.
 */
export function stickyAssign(
  members: AssignorMember[],
  counts: ReadonlyMap<string, number>,
): Assignment {
  const sorted = [...members].sort(bySortKey);
  const load = new Map(sorted.map((m) => [m.memberId, [] as TopicPartition[]]));
  const eligible = (m: AssignorMember, topic: string) => m.topics.includes(topic);
  const taken = new Set<string>();
  for (const m of sorted) {
    for (const tp of m.owned) {
      const key = tpKey(tp);
      const valid =
        eligible(m, tp.topic) &&
        Number.isInteger(tp.partition) &&
        tp.partition >= 0 &&
        tp.partition < (counts.get(tp.topic) ?? 0);
      if (!valid || taken.has(key)) continue;
      taken.add(key);
      load.get(m.memberId)!.push({ topic: tp.topic, partition: tp.partition });
    }
  }
  const size = (m: AssignorMember) => load.get(m.memberId)!.length;
  const leastLoaded = (topic: string, below = Number.POSITIVE_INFINITY) => {
    let best: AssignorMember | undefined;
    for (const m of sorted) {
      if (!eligible(m, topic) || size(m) >= below) continue;
      if (!best || size(m) < size(best)) best = m;
    }
    return best;
  };
  for (const topic of sortedTopics(counts)) {
    const count = counts.get(topic) ?? 0;
    for (let partition = 0; partition < count; partition++) {
      if (taken.has(tpKey({ topic, partition }))) continue;
      const m = leastLoaded(topic);
      if (!m) continue;
      taken.add(tpKey({ topic, partition }));
      load.get(m.memberId)!.push({ topic, partition });
    }
  }
  for (;;) {
    let moved = false;
    const byLoad = [...sorted].sort((a, b) => size(b) - size(a) || bySortKey(a, b));
    for (const from of byLoad) {
      const list = load.get(from.memberId)!;
      // The newest additions (the tail) move first: the oldest ownership is the stickiest.
      for (let i = list.length - 1; i >= 0 && !moved; i--) {
        const tp = list[i]!;
        const to = leastLoaded(tp.topic, list.length - 1);
        if (!to) continue;
        list.splice(i, 1);
        load.get(to.memberId)!.push(tp);
        moved = true;
      }
      if (moved) break;
    }
    if (!moved) break;
  }
  const out: Assignment = new Map();
  for (const m of members) out.set(m.memberId, sortTps(load.get(m.memberId)!));
  return out;
}

export function sortTps(tps: TopicPartition[]): TopicPartition[] {
  return [...tps].sort((a, b) =>
    a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition,
  );
}

export function assign(
  name: AssignorName,
  members: AssignorMember[],
  counts: ReadonlyMap<string, number>,
): Assignment {
  switch (name) {
    case 'range':
      return rangeAssign(members, counts);
    case 'round-robin':
      return roundRobinAssign(members, counts);
    case 'cooperative-sticky':
      return stickyAssign(members, counts);
  }
}

/**
 * The cooperative step: a partition that changes owner is first only taken from its old
 * owner; the new owner gets it in the next generation, once the old one gave it up. Returns
 * what each member may hold now and whether anything was held back.
 */
export function incremental(
  target: Assignment,
  owners: ReadonlyMap<string, string>,
): { assignment: Assignment; heldBack: number } {
  const assignment: Assignment = new Map();
  let heldBack = 0;
  for (const [memberId, tps] of target) {
    const now = tps.filter((tp) => {
      const owner = owners.get(tpKey(tp));
      const ok = owner === undefined || owner === memberId;
      if (!ok) heldBack++;
      return ok;
    });
    assignment.set(memberId, now);
  }
  return { assignment, heldBack };
}

/** Who owns each partition, from members' current holdings (only members still present). */
export function ownersOf(members: AssignorMember[]): Map<string, string> {
  const owners = new Map<string, string>();
  for (const m of members) for (const tp of m.owned) owners.set(tpKey(tp), m.memberId);
  return owners;
}
