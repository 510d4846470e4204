/**
 * Which entry format the leader writes, and when it moves the cluster to a newer one (as
 * Kafka's metadata.version and Redpanda's feature activation): a release that reads a newer
 * format does not write it until every member, voter and learner, has said it reads it too.
 * Then the leader proposes activation, a Raft entry of its own; from the index it applies at,
 * the format is the cluster's for good. Members say what they read when they open a Raft
 * stream to the leader (the transport's business); one not heard from counts as reading 0,
 * which is what a release before versioned formats is.
 */
export interface FormatView {
  /** The format the cluster has activated (the state machine's). */
  active: number;
  /** Every member's id, voters and learners, this node included. */
  members: readonly number[];
  /** This node's id. */
  self: number;
  /** The newest format this node reads. */
  selfMax: number;
  /** The newest format each other member said it reads, as last heard. */
  heard: ReadonlyMap<number, number>;
}

/** The format to activate now (undefined: none newer than the active one is read by all). */
export function formatToActivate(view: FormatView): number | undefined {
  let common = view.selfMax;
  for (const id of view.members)
    if (id !== view.self) common = Math.min(common, view.heard.get(id) ?? 0);
  return common > view.active ? common : undefined;
}
