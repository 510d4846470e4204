import { KafkaError, SaslAuthenticate, SaslHandshake } from '@strand/kafka-protocol';
import { handler } from '../handler.js';
import { mechanismsOf } from '../session.js';

// A connection's SASL exchanges are its session's (session.ts): these answer only what
// reaches the handlers outside one — SASL on a listener without it, or after authenticating
// (Kafka's ILLEGAL_SASL_STATE).

export const saslHandshake = handler(SaslHandshake, {
  authorization: { open: true },
  async handle(_req, ctx) {
    return {
      errorCode: KafkaError.ILLEGAL_SASL_STATE,
      mechanisms: mechanismsOf(ctx.deps.security.protocol),
    };
  },
});

export const saslAuthenticate = handler(SaslAuthenticate, {
  authorization: { open: true },
  async handle(_req, ctx) {
    return {
      errorCode: KafkaError.ILLEGAL_SASL_STATE,
      errorMessage: ctx.deps.security.protocol.startsWith('SASL_')
        ? 'SaslAuthenticate without a SaslHandshake before it'
        : `this listener (${ctx.deps.security.protocol}) does not use SASL`,
      authBytes: Buffer.alloc(0),
      sessionLifetimeMs: 0,
    };
  },
});
