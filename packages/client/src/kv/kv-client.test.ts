import { InvalidRequestError, UnavailableError } from '@strand/wire';
import { describe, expect, it } from 'vitest';
import { KvClient } from './kv-client.js';

describe('KvClient', () => {
  it('validates its bootstrap list', () => {
    expect(() => new KvClient({ bootstrap: [] })).toThrow(InvalidRequestError);
    expect(() => new KvClient({ bootstrap: ['localhost'] })).toThrow(/host:port/);
    expect(() => new KvClient({ bootstrap: ['127.0.0.1:1', 'x y:2'] })).toThrow(/host:port/);
  });

  it('reports an unreachable cluster as Unavailable after its retries', async () => {
    // Port 1 on loopback: nothing listens, connections are refused at once.
    const client = new KvClient({ bootstrap: ['127.0.0.1:1'], timeoutMs: 500, retries: 2 });
    await expect(client.get('k', { consistency: 'stale' })).rejects.toBeInstanceOf(
      UnavailableError,
    );
    client.close();
  });
});
