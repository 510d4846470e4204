import { type AclBinding, describeAcl, onCluster } from '@strand/auth';
import {
  CreateAcls,
  DeleteAcls,
  DescribeAcls,
  KafkaError,
  kafkaErrorCode,
  kafkaErrorMessage,
} from '@strand/kafka-protocol';
import type { KafkaDeps } from '../deps.js';
import { type ErrorPair, handler } from '../handler.js';
import {
  bindingFromKafka,
  bindingToKafka,
  filterFromKafka,
  isKafkaBinding,
  KAFKA_RESOURCE_TYPES,
  type KafkaAclBinding,
  type KafkaBinding,
  type KafkaFilter,
} from './acl-codes.js';

/**
 * Kafka's CreateAcls, DescribeAcls and DeleteAcls over the same ACLs as the SDK's Admin: the
 * broker checks the Kafka principal (alter on the cluster to change, describe to list) and
 * hands the change to the coordinators' Security service as itself, through the SDK's
 * AclAdmin (one store, one validation). The KV store's ACLs have no Kafka resource type:
 * Kafka clients neither see nor delete them. Without authorization: SECURITY_DISABLED.
 */

const OK: ErrorPair = { errorCode: KafkaError.NONE, errorMessage: null };
const DISABLED: ErrorPair = {
  errorCode: KafkaError.SECURITY_DISABLED,
  errorMessage: 'authorization is off on this cluster (--authentication none): there are no ACLs',
};
const pairOf = (err: unknown): ErrorPair => ({
  errorCode: kafkaErrorCode(err),
  errorMessage: kafkaErrorMessage(err),
});
const authorizing = (deps: KafkaDeps) => deps.guard?.enabled === true;

export const createAcls = handler(CreateAcls, {
  authorization: {
    whole: () => [onCluster('alterAcls')],
    refuse: (req, errorCode, errorMessage) => ({
      throttleTimeMs: 0,
      results: req.creations.map(() => ({ errorCode, errorMessage })),
    }),
  },
  async handle(req, { deps, principal }) {
    if (!authorizing(deps))
      return { throttleTimeMs: 0, results: req.creations.map(() => DISABLED) };
    // Each creation stands alone (a bad one is answered INVALID_REQUEST, the others made).
    const parsed = req.creations.map((c): AclBinding | ErrorPair => {
      try {
        return bindingFromKafka({ ...c, patternType: c.resourcePatternType });
      } catch (err) {
        return pairOf(err);
      }
    });
    const bindings = parsed.filter((p): p is AclBinding => 'principal' in p);
    let failed: ErrorPair | undefined;
    if (bindings.length > 0)
      try {
        await deps.acls.create(bindings);
        for (const b of bindings)
          deps.log({ principal, acl: describeAcl(b), via: 'kafka' }, 'ACL created');
      } catch (err) {
        failed = pairOf(err);
      }
    return {
      throttleTimeMs: 0,
      results: parsed.map((p) => ('principal' in p ? (failed ?? OK) : p)),
    };
  },
});

export const describeAcls = handler(DescribeAcls, {
  authorization: {
    whole: () => [onCluster('describeAcls')],
    refuse: (_req, errorCode, errorMessage) => ({
      throttleTimeMs: 0,
      errorCode,
      errorMessage,
      resources: [],
    }),
  },
  async handle(req, { deps }) {
    if (!authorizing(deps)) return { throttleTimeMs: 0, ...DISABLED, resources: [] };
    try {
      const filter = filterFromKafka(req);
      const found = filter === null ? [] : await deps.acls.describe(filter);
      return { throttleTimeMs: 0, ...OK, resources: byResource(found.filter(isKafkaBinding)) };
    } catch (err) {
      return { throttleTimeMs: 0, ...pairOf(err), resources: [] };
    }
  },
});

/** DescribeAcls' answer: one entry per resource pattern, with the entries on it. */
function byResource(bindings: KafkaAclBinding[]) {
  const resources = new Map<string, KafkaBinding & { acls: KafkaBinding[] }>();
  for (const b of bindings) {
    const k = bindingToKafka(b);
    const key = JSON.stringify([k.resourceType, k.patternType, k.resourceName]);
    const entry = resources.get(key) ?? { ...k, acls: [] };
    entry.acls.push(k);
    resources.set(key, entry);
  }
  return [...resources.values()].map((r) => ({
    resourceType: r.resourceType,
    resourceName: r.resourceName,
    patternType: r.patternType,
    acls: r.acls.map((a) => ({
      principal: a.principal,
      host: a.host,
      operation: a.operation,
      permissionType: a.permissionType,
    })),
  }));
}

export const deleteAcls = handler(DeleteAcls, {
  authorization: {
    whole: () => [onCluster('alterAcls')],
    refuse: (req, errorCode, errorMessage) => ({
      throttleTimeMs: 0,
      filterResults: req.filters.map(() => ({ errorCode, errorMessage, matchingAcls: [] })),
    }),
  },
  async handle(req, { deps, principal }) {
    const filterResults = [];
    // One after the other: a binding two filters match is deleted (and answered) once.
    for (const f of req.filters) {
      if (!authorizing(deps)) {
        filterResults.push({ ...DISABLED, matchingAcls: [] });
        continue;
      }
      try {
        const removed = await deleteMatching(deps, f);
        for (const b of removed)
          deps.log({ principal, acl: describeAcl(b), via: 'kafka' }, 'ACL deleted');
        const matchingAcls = removed.map((b) => ({ ...OK, ...bindingToKafka(b) }));
        filterResults.push({ ...OK, matchingAcls });
      } catch (err) {
        filterResults.push({ ...pairOf(err), matchingAcls: [] });
      }
    }
    return { throttleTimeMs: 0, filterResults };
  },
});

/** Deletes what `f` matches among Kafka's resource types (ANY: each, never the KV store's). */
async function deleteMatching(deps: KafkaDeps, f: KafkaFilter) {
  const filter = filterFromKafka(f);
  if (filter === null) return [];
  const removed: AclBinding[] = [];
  for (const resourceType of filter.resourceType ? [filter.resourceType] : KAFKA_RESOURCE_TYPES)
    removed.push(...(await deps.acls.delete({ ...filter, resourceType })));
  return removed.filter(isKafkaBinding);
}
