import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { ProcessRegistry, prng } from '@strand/testkit';
import { type ProtoFile, protoDefinition } from '@strand/wire';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type TestCluster } from './cluster.test-util.js';

/**
 * Hostile input against a real coordinator: for every method of every service on its client
 * port, requests built from the proto descriptors with random and boundary values in every
 * field (empty, huge, negative, 2^53, unknown enums, the metadata prefix, deep and long
 * lists). Every answer must be a success or a typed Strand error (never INTERNAL), and the
 * coordinator must stay up, keep its metadata readable, let no one take a broker's place,
 * and start again afterwards. STRAND_ABUSE_SEED replays a run; STRAND_ABUSE_ROUNDS runs longer.
 */
const SEED = Number(process.env.STRAND_ABUSE_SEED ?? Date.now() % 100_000);
const ROUNDS = Number(process.env.STRAND_ABUSE_ROUNDS ?? 20);
const DEADLINE_MS = 2000;
const AT_ONCE = 16;

type Rand = () => number;
type Descriptor = {
  oneofDecl: unknown[];
  field: {
    name: string;
    label: string;
    type: string;
    typeName: string;
    oneofIndex?: number;
    proto3Optional?: boolean;
  }[];
};
type Definitions = ReturnType<typeof protoDefinition>;

const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const bytes = (r: Rand, n: number) => Buffer.from(Array.from({ length: n }, () => r() * 256));

// Values worth trying, per protobuf type; one generic function reads them.
const STRINGS = [
  '',
  'a',
  't',
  'g',
  'member',
  '/strand/',
  '/strand/topics/t',
  '/strand/brokers/1',
  '..',
  ' ',
  '\u0000',
  'é💥',
  '^(a+)+b$',
  '(',
  '*',
  '127.0.0.1:1',
  'localhost:99999',
  'range',
  'put',
  'EQUAL',
  'x'.repeat(300),
  'x'.repeat(70_000),
];
const BYTES = [
  Buffer.alloc(0),
  Buffer.from('a'),
  Buffer.from('/strand/'),
  Buffer.from('/strand/topics/bogus'),
  Buffer.from('not json'),
  Buffer.alloc(4, 0xff),
  Buffer.alloc(16, 7),
  Buffer.alloc(5000, 0),
  Buffer.alloc(1024 * 1024 + 1, 1),
];
const NUMBERS = [
  0,
  1,
  2,
  -1,
  99,
  100,
  1000,
  65_536,
  2 ** 31 - 1,
  -(2 ** 31),
  2 ** 32 - 1,
  2 ** 32,
  Number.MAX_SAFE_INTEGER,
  -Number.MAX_SAFE_INTEGER,
];
const FLOATS = [0, -1, 0.5, Number.NaN, Number.POSITIVE_INFINITY, 1e308];
/** Plausible values, so that half the requests get past the decoders into the handlers. */
const MILD_STRINGS = ['t', 'g', 'a', 'member', 'range', 'classic', 'consumer', 'localhost:1'];
const MILD_NUMBERS = [0, 1, 2, 3, 100, 1000, 5000, 30_000];
const SCALARS: Record<string, (r: Rand, mild: boolean) => unknown> = {
  TYPE_STRING: (r, mild) =>
    mild
      ? pick(r, MILD_STRINGS)
      : r() < 0.2
        ? bytes(r, 1 + Math.floor(r() * 40)).toString('latin1')
        : pick(r, STRINGS),
  TYPE_BYTES: (r, mild) =>
    mild
      ? Buffer.from(pick(r, MILD_STRINGS))
      : r() < 0.2
        ? bytes(r, Math.floor(r() * 64))
        : pick(r, BYTES),
  TYPE_BOOL: (r) => r() < 0.5,
  TYPE_DOUBLE: (r) => pick(r, FLOATS),
  TYPE_FLOAT: (r) => pick(r, FLOATS),
};
for (const t of ['INT32', 'INT64', 'UINT32', 'UINT64', 'SINT32', 'SINT64'])
  SCALARS[`TYPE_${t}`] = (r, mild) => pick(r, mild ? MILD_NUMBERS : NUMBERS);

type Enum = { value: { name: string }[] };
type Message = Descriptor & {
  name: string;
  nestedType: Message[];
  enumType: (Enum & { name: string })[];
  options?: { mapEntry?: boolean } | null;
};
type Found = { message: Message; scope: string } | { enum: Enum };

/** What `typeName` names, seen from inside message `scope` (names may be relative). */
function lookup(defs: Definitions, scope: string, typeName: string): Found {
  if (typeName.startsWith('.')) return lookup(defs, '', typeName.slice(1));
  // Nested in the message itself or one around it, else a top-level type of some package.
  const parts = scope.split('.');
  for (let n = parts.length; n > 0; n--) {
    const outer = defs[parts.slice(0, n).join('.')] as { type: Message } | undefined;
    const message = outer?.type.nestedType.find((t) => t.name === typeName);
    if (message) return { message, scope: `${parts.slice(0, n).join('.')}.${typeName}` };
    const e = outer?.type.enumType.find((t) => t.name === typeName);
    if (e) return { enum: e };
  }
  for (let n = parts.length; n >= 0; n--) {
    const name = [...parts.slice(0, n), typeName].join('.');
    const d = defs[name] as { type: Message & Enum; format: string } | undefined;
    if (d) return d.format.includes('Enum') ? { enum: d.type } : { message: d.type, scope: name };
  }
  throw new Error(`no type ${typeName} from ${scope}`);
}

/** A request of message type `desc` (at `scope`): each field absent, boundary or random. */
function generate(
  defs: Definitions,
  desc: Message,
  scope: string,
  r: Rand,
  mild: boolean,
  depth = 0,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const oneofsSet = new Set<number>();
  for (const f of desc.field) {
    if (r() < (mild ? 0.1 : 0.25)) continue;
    // Usually one member of a oneof, now and then two.
    if (desc.oneofDecl.length > 0 && f.oneofIndex !== undefined && !f.proto3Optional) {
      if (oneofsSet.has(f.oneofIndex) && r() < 0.9) continue;
      oneofsSet.add(f.oneofIndex);
    }
    const found = f.typeName ? lookup(defs, scope, f.typeName) : undefined;
    const one = () => value(defs, f.type, found, r, mild, depth);
    const n = r() < (mild ? 0 : 0.05) ? 300 : Math.floor(r() * 4);
    if (found && 'message' in found && found.message.options?.mapEntry) {
      // A map: protobufjs wants an object.
      out[f.name] = Object.fromEntries(
        Array.from({ length: n }, () => [
          pick(r, mild ? MILD_STRINGS : STRINGS),
          pick(r, mild ? MILD_STRINGS : STRINGS),
        ]),
      );
    } else if (f.label === 'LABEL_REPEATED') {
      out[f.name] = Array.from({ length: depth > 1 ? Math.min(n, 2) : n }, one);
    } else out[f.name] = one();
  }
  return out;
}

function value(
  defs: Definitions,
  type: string,
  found: Found | undefined,
  r: Rand,
  mild: boolean,
  depth: number,
): unknown {
  if (found && 'message' in found)
    return depth > 3 ? {} : generate(defs, found.message, found.scope, r, mild, depth + 1);
  if (found && 'enum' in found) return !mild && r() < 0.15 ? 99 : pick(r, found.enum.value).name;
  const scalar = SCALARS[type];
  if (!scalar) throw new Error(`no values for ${type}`);
  return scalar(r, mild);
}

interface Outcome {
  method: string;
  ok: boolean;
  code?: number;
  strandCode?: string;
  details?: string;
}

/** Whether an answer carries an INTERNAL error somewhere inside (streamed and per-item errors). */
function internalIn(res: unknown): boolean {
  if (!res || typeof res !== 'object' || Buffer.isBuffer(res)) return false;
  if ((res as { code?: unknown }).code === 'INTERNAL') return true;
  return Object.values(res).some(internalIn);
}

const internalOutcome = (method: string): Outcome => ({
  method,
  ok: false,
  strandCode: 'INTERNAL',
  details: 'an INTERNAL error inside the answer',
});

/** One call with a deadline; a server stream is read until its first message or its end. */
function callOnce(
  client: grpc.Client,
  path: string,
  def: grpc.MethodDefinition<unknown, unknown>,
  req: unknown,
): Promise<Outcome> {
  const deadline = Date.now() + DEADLINE_MS;
  const outcome = (err: grpc.ServiceError | null): Outcome => ({
    method: path,
    ok: err === null,
    ...(err
      ? {
          code: err.code,
          strandCode: err.metadata?.get('strand-code')[0]?.toString(),
          details: err.details,
        }
      : {}),
  });
  return new Promise((resolve) => {
    const ser = (v: unknown) => def.requestSerialize(v);
    const de = (b: Buffer) => def.responseDeserialize(b);
    if (!def.requestStream && !def.responseStream) {
      client.makeUnaryRequest(path, ser, de, req, new grpc.Metadata(), { deadline }, (err, res) =>
        resolve(internalIn(res) ? internalOutcome(path) : outcome(err)),
      );
      return;
    }
    const stream = def.requestStream
      ? client.makeBidiStreamRequest(path, ser, de, new grpc.Metadata(), { deadline })
      : client.makeServerStreamRequest(path, ser, de, req, new grpc.Metadata(), { deadline });
    let done = false;
    const finish = (o: Outcome) => {
      if (done) return;
      done = true;
      stream.cancel();
      resolve(o);
    };
    stream.on('data', (res: unknown) =>
      finish(internalIn(res) ? internalOutcome(path) : outcome(null)),
    );
    stream.on('error', (err: grpc.ServiceError) =>
      finish(err.code === grpc.status.CANCELLED ? outcome(null) : outcome(err)),
    );
    stream.on('end', () => finish(outcome(null)));
    if (def.requestStream) {
      const w = stream as grpc.ClientDuplexStream<unknown, unknown>;
      try {
        w.write(req);
        w.end();
      } catch {
        finish(outcome(null)); // refused by our own serializer
      }
    }
  });
}

/**
 * Answers that mean the server did not break: success, a Strand error other than INTERNAL,
 * or gRPC's own refusals (a message over its size limit, a deadline that passed while a call
 * waited as it may, e.g. a join waiting for its group).
 */
function broke(o: Outcome): boolean {
  if (o.ok) return false;
  if (o.strandCode) return o.strandCode === 'INTERNAL';
  if (o.code === grpc.status.RESOURCE_EXHAUSTED || o.code === grpc.status.DEADLINE_EXCEEDED)
    return false;
  // Our own client refusing to encode a value (not sent at all).
  if (o.code === grpc.status.INTERNAL && /serializ/i.test(o.details ?? '')) return false;
  return true;
}

const registry = new ProcessRegistry();
let cluster: TestCluster;
let address: string;
const TOKEN = randomBytes(32);
const SERVICES: { proto: ProtoFile; services: string[] }[] = [
  {
    proto: 'kv.proto',
    services: [
      'strand.kv.v1.KV',
      'strand.kv.v1.Watch',
      'strand.kv.v1.Lease',
      'strand.kv.v1.Cluster',
    ],
  },
  { proto: 'broker.proto', services: ['strand.broker.v1.Controller'] },
  { proto: 'group.proto', services: ['strand.group.v1.GroupCoordinator'] },
];

function unary<T>(client: grpc.Client, def: grpc.MethodDefinition<unknown, unknown>, req: unknown) {
  return new Promise<T>((resolve, reject) =>
    client.makeUnaryRequest(
      def.path,
      (v: unknown) => def.requestSerialize(v),
      (b: Buffer) => def.responseDeserialize(b) as T,
      req,
      new grpc.Metadata(),
      { deadline: Date.now() + 5000 },
      (err, res) => (err ? reject(err) : resolve(res!)),
    ),
  );
}

interface ClusterAnswer {
  brokers: { id: number; epoch: number; address: string; fenced: boolean }[];
  malformed_records: { key: string; error: string }[];
}

const loaded = SERVICES.map(({ proto, services }) => {
  const defs = protoDefinition(proto);
  return { defs, services: services.map((s) => [s, defs[s] as grpc.ServiceDefinition] as const) };
});
const controller = (() => {
  const svc = loaded[1]!.services[0]![1];
  return {
    register: svc.RegisterBroker!,
    heartbeat: svc.Heartbeat!,
    describe: svc.DescribeCluster!,
    create: svc.CreateTopic!,
  };
})();

beforeAll(async () => {
  cluster = await startCluster(registry, 1, ['--broker-session-timeout-ms', '60000']);
  await cluster.leader();
  address = cluster.addresses.get(cluster.ids[0]!)!;
});

afterAll(async () => {
  await cluster?.close();
});

describe(`hostile gRPC input against a coordinator (seed ${SEED}, ${ROUNDS} rounds)`, () => {
  it('answers every request with a result or a typed error, stays up, and keeps its metadata whole', async () => {
    const client = new grpc.Client(address, grpc.credentials.createInsecure());
    try {
      // Something to protect: a registered broker and a topic.
      const reg = await unary<{ epoch: number }>(client, controller.register, {
        id: 1,
        address: '127.0.0.1:9',
        incarnation: 'abuse',
        token: TOKEN,
      });
      await unary(client, controller.create, { name: 't', partitions: 2, replication_factor: 1 });
      // Found by this suite: an id in use was UNAVAILABLE (retriable), for a request that
      // can never succeed.
      const lease = loaded[0]!.services[2]![1].LeaseGrant!;
      await unary(client, lease, { ttl_ms: 60_000, id: 424_242 });
      await expect(unary(client, lease, { ttl_ms: 60_000, id: 424_242 })).rejects.toMatchObject({
        code: grpc.status.INVALID_ARGUMENT,
        details: 'lease 424242 already exists',
      });

      const r = prng(SEED);
      const broken: Outcome[] = [];
      const counts = new Map<string, { ok: number; refused: number; why?: string }>();
      const codes = new Map<string, number>();
      const jobs: (() => Promise<void>)[] = [];
      for (const { defs, services } of loaded)
        for (const [, svc] of services)
          for (const def of Object.values(svc) as grpc.MethodDefinition<unknown, unknown>[])
            for (let i = 0; i < ROUNDS; i++) {
              const message = (def as unknown as { requestType: { type: Message } }).requestType
                .type;
              const pkg = def.path.split('/')[1]!.split('.').slice(0, -1).join('.');
              const req = generate(defs, message, `${pkg}.${message.name}`, r, i % 2 === 0);
              jobs.push(async () => {
                const o = await callOnce(client, def.path, def, req);
                const c = counts.get(def.path) ?? { ok: 0, refused: 0 };
                if (o.ok) c.ok++;
                else {
                  c.refused++;
                  c.why ??= o.details;
                }
                counts.set(def.path, c);
                const why = o.ok ? 'OK' : (o.strandCode ?? grpc.status[o.code!]!);
                codes.set(why, (codes.get(why) ?? 0) + 1);
                if (broke(o)) broken.push(o);
              });
            }
      // Shuffled, a few at a time: methods interleave as hostile clients would.
      for (let i = jobs.length - 1; i > 0; i--) {
        const j = Math.floor(r() * (i + 1));
        [jobs[i], jobs[j]] = [jobs[j]!, jobs[i]!];
      }
      for (let i = 0; i < jobs.length; i += AT_ONCE)
        await Promise.all(jobs.slice(i, i + AT_ONCE).map((j) => j()));

      console.log(
        `abuse (seed ${SEED}): ${jobs.length} requests to ${counts.size} methods; answers ${[...codes].map(([c, n]) => `${c} ${n}`).join(', ')}`,
      );
      if (process.env.STRAND_ABUSE_VERBOSE)
        for (const [m, c] of counts)
          console.log(`${m}: ${c.ok} ok, ${c.refused} refused (${c.why})`);
      expect(
        broken.slice(0, 5).map((o) => `${o.method}: ${o.code} ${o.strandCode ?? ''} ${o.details}`),
        `${broken.length} of ${jobs.length} answers were not a result or a typed error`,
      ).toEqual([]);
      // Every method was reached, and requests got past the decoders to the handlers.
      expect(counts.size).toBeGreaterThan(30);
      const total = [...counts.values()].reduce((n, c) => n + c.ok, 0);
      expect(total).toBeGreaterThan(0);

      const check = async () => {
        // Up and serving, nothing in the metadata it cannot read, the broker still itself.
        const c = await unary<ClusterAnswer>(client, controller.describe, {});
        expect(c.malformed_records).toEqual([]);
        const b = c.brokers.find((x) => x.id === 1);
        expect(b).toMatchObject({ epoch: reg.epoch, address: '127.0.0.1:9' });
        await expect(
          unary<{ fenced: boolean }>(client, controller.heartbeat, {
            id: 1,
            epoch: reg.epoch,
            token: TOKEN,
          }),
        ).resolves.toEqual({ fenced: false });
      };
      await check();

      // A restart replays everything the run committed.
      const id = cluster.ids[0]!;
      await cluster.procs.get(id)!.terminate();
      await cluster.start(id);
      await cluster.leader();
      await check();
    } finally {
      client.close();
    }
  }, 120_000);
});
