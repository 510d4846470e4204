import { ApiVersions } from '@strand/kafka-protocol';
import { handler } from '../handler.js';

/** The APIs and versions this broker serves (unknown versions are answered by the service). */
export const apiVersions = handler(ApiVersions, {
  authorization: { open: true },
  async handle(_req, ctx) {
    return { errorCode: 0, apiKeys: ctx.served, throttleTimeMs: 0 };
  },
});
