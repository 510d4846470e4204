import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { ScramClient } from '@strand/auth';
import { Consumer, type ConsumerRecord } from '@strand/client';
import {
  type ApiDef,
  decodeResponse,
  encodeRequest,
  type Input,
  type RequestOf,
  type ResponseOf,
  SaslAuthenticate,
  SaslHandshake,
} from '@strand/kafka-protocol';

/**
 * A bare Kafka client for tests: it sends what it is told, pipelined, and reads answers by
 * correlation id — what real clients do not let a test do (bad bytes, odd versions, many
 * requests in flight).
 */
export class RawKafkaClient {
  private buffered = Buffer.alloc(0);
  private next = 1;
  private readonly waiting = new Map<number, (frame: Buffer) => void>();
  /** Takes the next frame whatever it holds (a bare SASL token after SaslHandshake v0). */
  private rawWaiter: ((frame: Buffer) => void) | undefined;
  readonly order: number[] = [];
  readonly closed: Promise<void>;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      while (
        this.buffered.length >= 4 &&
        this.buffered.length >= 4 + this.buffered.readInt32BE(0)
      ) {
        const frame = this.buffered.subarray(4, 4 + this.buffered.readInt32BE(0));
        this.buffered = this.buffered.subarray(4 + frame.length);
        const raw = this.rawWaiter;
        if (raw) {
          this.rawWaiter = undefined;
          raw(frame);
          continue;
        }
        const id = frame.readInt32BE(0);
        this.order.push(id);
        this.waiting.get(id)?.(frame);
        this.waiting.delete(id);
      }
    });
    this.closed = new Promise((resolve) => socket.on('close', () => resolve()));
    socket.on('error', () => undefined);
  }

  /** Connects over TCP, or TLS with `opts.tls`; from `opts.localAddress` if given (127.0.0.2...). */
  static connect(
    address: string,
    opts: { tls?: tls.ConnectionOptions; localAddress?: string } = {},
  ): Promise<RawKafkaClient> {
    const i = address.lastIndexOf(':');
    const port = Number(address.slice(i + 1));
    const host = address.slice(0, i);
    const local = opts.localAddress ? { localAddress: opts.localAddress } : {};
    return new Promise((resolve, reject) => {
      const s = opts.tls
        ? tls.connect({ port, host, ...local, ...opts.tls }, () => resolve(new RawKafkaClient(s)))
        : net.connect({ port, host, ...local }, () => resolve(new RawKafkaClient(s)));
      s.once('error', reject);
    });
  }

  /** Sends a bare SASL token framed by its length (after SaslHandshake v0); resolves with the answer's. */
  rawToken(token: Buffer): Promise<Buffer> {
    const size = Buffer.alloc(4);
    size.writeInt32BE(token.length, 0);
    const answer = new Promise<Buffer>((resolve) => {
      this.rawWaiter = resolve;
    });
    this.socket.write(Buffer.concat([size, token]));
    return answer;
  }

  /** Sends one request; resolves with its decoded answer. */
  request<A extends ApiDef>(
    api: A,
    version: number,
    body: Input<RequestOf<A>>,
  ): Promise<ResponseOf<A>> {
    const correlationId = this.next++;
    const answer = this.expect(correlationId);
    this.socket.write(encodeRequest(api, version, { correlationId, clientId: 'raw' }, body));
    return answer.then((frame) => decodeResponse(api, version, frame).body);
  }

  /** The frame answering `correlationId`, once it arrives. */
  expect(correlationId: number): Promise<Buffer> {
    return new Promise((resolve) => this.waiting.set(correlationId, resolve));
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  close(): void {
    this.socket.destroy();
  }
}

/** SaslHandshake v1 + SaslAuthenticate v`version` SCRAM-SHA-512 on `c`: the last answer. */
export async function rawScram(
  c: RawKafkaClient,
  user: string,
  password: string,
  version = 2,
): Promise<ResponseOf<typeof SaslAuthenticate>> {
  const hs = await c.request(SaslHandshake, 1, { mechanism: 'SCRAM-SHA-512' });
  if (hs.errorCode !== 0) throw new Error(`SaslHandshake answered ${hs.errorCode}`);
  const client = new ScramClient('SCRAM-SHA-512', user, password);
  const first = await c.request(SaslAuthenticate, version, {
    authBytes: Buffer.from(client.first()),
  });
  if (first.errorCode !== 0) return first;
  const final = Buffer.from(client.final(first.authBytes));
  return c.request(SaslAuthenticate, version, { authBytes: final });
}

/**
 * A third-party tool the tests need: present, or (outside CI) a reason to skip. In CI a
 * missing tool fails the test instead (.ci/run installs it).
 */
export function tool(path: string): { present: boolean } {
  const present = existsSync(path);
  if (!present && process.env.CI === 'true')
    throw new Error(`${path} is missing: .ci/run installs it (apt-get)`);
  return { present };
}

/** Runs a program; resolves with its stdout (rejects with its stderr on failure). */
export function run(
  file: string,
  args: string[],
  opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      {
        timeout: opts.timeoutMs ?? 30_000,
        maxBuffer: 256 * 1024 * 1024,
        env: opts.env ?? process.env,
      },
      (err, stdout, stderr) =>
        err
          ? reject(new Error(`${file} ${args.join(' ')}: ${err.message}\n${stderr}`))
          : resolve(stdout),
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** What kcat says when it fails (it must, within its 3 s metadata timeout), or that it did not. */
export function kcatRefusal(args: string[]): Promise<string> {
  return run('/usr/bin/kcat', [...args, '-m', '3']).then(
    () => 'kcat succeeded',
    (e: Error) => e.message,
  );
}

/** What the Strand SDK reads of `topic` from the beginning: `count` records, or what came in 30 s. */
export async function readWithSdk(
  bootstrap: string[],
  topic: string,
  count: number,
): Promise<ConsumerRecord[]> {
  const consumer = new Consumer({ bootstrap, maxWaitMs: 200 });
  try {
    await consumer.assignTopic(topic, 'beginning');
    const out: ConsumerRecord[] = [];
    const deadline = Date.now() + 30_000;
    while (out.length < count && Date.now() < deadline) out.push(...(await consumer.poll(500)));
    return out;
  } finally {
    await consumer.close();
  }
}
