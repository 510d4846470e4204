import { describe, expect, it } from 'vitest';
import { InvalidRequestError } from '../errors/errors.js';
import { toGrpcError } from './errors.js';

describe('toGrpcError', () => {
  it('cuts an error message that echoes a huge input, so it fits in a trailer', () => {
    // Regression (abuse e2e, seed 77893): a 100 KiB name echoed in the message outgrew the
    // client's header limit, which saw only "RST_STREAM ... Protocol error", not the typed error.
    const long = toGrpcError(new InvalidRequestError(`bad name ${'x'.repeat(100_000)}`));
    expect(long.details.length).toBeLessThanOrEqual(1025);
    expect(long.details.startsWith('bad name xxx')).toBe(true);
    expect(long.metadata?.get('strand-code')).toEqual(['INVALID_REQUEST']);
    expect(toGrpcError(new InvalidRequestError('short')).details).toBe('short');
  });
});
