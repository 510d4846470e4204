import { randomUUID } from 'node:crypto';
import type { Logger } from '@strand/ops';
import { InconsistentClusterIdError, type StrandError } from '@strand/wire';
import type { ControllerClient } from './controller-client.js';
import type { BrokerIdentity } from './identity.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * This broker's registration with the controller and its heartbeats, each carrying the token
 * from its data folder. A new incarnation id per process start; a heartbeat answered
 * "fenced" (session expired, or a newer registration exists) makes it register again and get
 * a new epoch. Coordinators of another cluster than the one its data folder joined are
 * refused: start() fails.
 */
export class Membership {
  epoch = 0;
  /** When the controller last accepted a registration or heartbeat of this epoch (0: never). */
  lastAcceptedAt = 0;
  /** The controller answered that this registration is fenced; registering again. */
  fenced = false;
  private readonly incarnation = randomUUID();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private intervalMs = 500;
  private registering: Promise<void> | undefined;

  constructor(
    private readonly controller: ControllerClient,
    readonly id: number,
    private readonly address: string,
    private readonly rack: string,
    private readonly identity: BrokerIdentity,
    /** Where Kafka clients reach it ('' when at `address`). */
    private readonly kafkaAddress: string,
    private readonly log: Logger,
    /** Its admin listener's URL ('' for none): registered so tools can find it. */
    private readonly adminUrl = '',
  ) {}

  /** Registers, retrying until a controller accepts, then heartbeats until stop(). */
  async start(): Promise<void> {
    await this.register();
    this.schedule();
  }

  /** How long without an accepted heartbeat this broker still takes itself for registered. */
  get staleAfterMs(): number {
    return Math.max(3000, 6 * this.intervalMs);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /**
   * Stops heartbeating and asks the controller to fence this broker now, so its leaderships
   * move and it leaves every ISR before it stops. Returns how many partitions it led, or
   * undefined when it was not registered or no controller answered.
   */
  async requestShutdown(timeoutMs: number): Promise<number | undefined> {
    this.stop();
    // A registration in flight would unfence it again after the controller fenced it.
    await this.registering?.catch(() => undefined);
    if (this.epoch === 0) return undefined;
    try {
      const r = await this.controller.call<{ leaderships: number }>(
        'ControlledShutdown',
        { id: this.id, epoch: this.epoch, token: this.identity.token },
        { attempts: 3, timeoutMs: Math.min(timeoutMs, 3_000) },
      );
      return r.leaderships;
    } catch (err) {
      this.log.warn({ broker: this.id, epoch: this.epoch, err }, 'controlled shutdown refused');
      return undefined;
    }
  }

  private register(): Promise<void> {
    this.registering ??= (async () => {
      for (let attempt = 0; !this.stopped; attempt++) {
        try {
          const r = await this.controller.call<{
            epoch: number;
            heartbeat_interval_ms: number;
            cluster_id: string;
          }>('RegisterBroker', {
            id: this.id,
            address: this.address,
            incarnation: this.incarnation,
            rack: this.rack,
            cluster_id: this.identity.clusterId,
            token: this.identity.token,
            admin_url: this.adminUrl,
            kafka_address: this.kafkaAddress,
          });
          await this.identity.joined(r.cluster_id);
          this.epoch = r.epoch;
          this.intervalMs = r.heartbeat_interval_ms || 500;
          this.fenced = false;
          this.lastAcceptedAt = Date.now();
          this.log.info({ epoch: this.epoch }, 'registered');
          return;
        } catch (err) {
          if (err instanceof InconsistentClusterIdError) {
            this.log.error({ broker: this.id, err }, 'cannot join the cluster');
            throw err;
          }
          if (attempt % 10 === 0)
            this.log.warn({ broker: this.id, attempt, err }, 'cannot register yet');
          await sleep(Math.min(2000, 100 * 2 ** Math.min(attempt, 5)));
        }
      }
    })().finally(() => {
      this.registering = undefined;
    });
    return this.registering;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.beat(), this.intervalMs);
  }

  private async beat(): Promise<void> {
    try {
      const r = await this.controller.call<{ fenced: boolean }>(
        'Heartbeat',
        { id: this.id, epoch: this.epoch, token: this.identity.token },
        { attempts: 2, timeoutMs: Math.max(this.intervalMs, 1000) },
      );
      if (!r.fenced) this.lastAcceptedAt = Date.now();
      else if (!this.stopped) {
        this.fenced = true;
        this.log.warn(
          { broker: this.id, epoch: this.epoch },
          'fenced by the controller; registering again',
        );
        await this.register();
      }
    } catch (err) {
      // The controller may be moving; the next beat tries again. Another process that took
      // this id over (after this one was silent for a session) is worth saying.
      if (!(err as StrandError).retriable)
        this.log.warn({ broker: this.id, epoch: this.epoch, err }, 'heartbeat refused');
    }
    this.schedule();
  }
}
