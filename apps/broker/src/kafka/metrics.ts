import { KafkaError } from '@strand/kafka-protocol';
import type { Metrics } from '@strand/ops';

/** Kafka's error names by code, for labels a dashboard can read. */
const ERROR_NAME = new Map<number, string>(
  Object.entries(KafkaError).map(([name, code]) => [code, name]),
);

/** A request for an API this broker does not serve: one label, whatever the client sent. */
export const UNSERVED_API = 'unserved';

/**
 * The Kafka listener's metrics, all `strand_kafka_…`, labelled by API name (a fixed set) and
 * Kafka error name at most: requests, their latency, errors, and connections open.
 */
export class KafkaMetrics {
  private readonly requests;
  private readonly seconds;
  private readonly errors;
  private open = 0;

  constructor(m: Metrics) {
    this.requests = m.counter('kafka_requests_total', 'Kafka-protocol requests received, by API', [
      'api',
    ]);
    this.seconds = m.histogram(
      'kafka_request_duration_seconds',
      'Kafka-protocol requests, from decoding to an encoded answer (long polls included)',
      ['api'],
    );
    this.errors = m.counter(
      'kafka_request_errors_total',
      'Kafka error codes answered, by API and code (one per topic, partition or group that failed); CONNECTION_CLOSED for a request that closed its connection',
      ['api', 'code'],
    );
    m.gaugeOf('kafka_connections', 'Kafka client connections open', () => this.open);
  }

  /** Starts timing a request of `api`; the returned function ends it with its answer. */
  request(api: string): (answer: unknown) => void {
    this.requests.inc({ api });
    const end = this.seconds.startTimer({ api });
    return (answer) => {
      end();
      if (answer === CLOSED) this.errors.inc({ api, code: 'CONNECTION_CLOSED' });
      else countErrors(answer, (code) => this.errors.inc({ api, code }));
    };
  }

  connectionOpened(): void {
    this.open++;
  }

  connectionClosed(): void {
    this.open--;
  }
}

/** What a request that closed its connection is ended with. */
export const CLOSED = Symbol('closed');

/**
 * Calls `found` with the name of every non-zero `errorCode` in an answer (at any depth: the
 * top level, per topic, per partition, per group). Record bytes are not walked.
 */
function countErrors(answer: unknown, found: (code: string) => void): void {
  if (typeof answer !== 'object' || answer === null || ArrayBuffer.isView(answer)) return;
  if (Array.isArray(answer)) {
    for (const x of answer) countErrors(x, found);
    return;
  }
  const fields = answer as Record<string, unknown>;
  for (const k in fields) {
    const v = fields[k];
    if (k === 'errorCode') {
      if (typeof v === 'number' && v !== 0) found(ERROR_NAME.get(v) ?? 'UNKNOWN_SERVER_ERROR');
    } else if (typeof v === 'object' && v !== null) countErrors(v, found);
  }
}
