import { api, bytes, i16, i64, list, str } from '../schema.js';

// SASL authentication (described for the security work; not served yet).

export const SaslHandshake = api({
  key: 17,
  name: 'SaslHandshake',
  versions: '0-1',
  flexible: 'none',
  request: [str('mechanism', '0+')],
  response: [i16('errorCode', '0+'), list('mechanisms', '0+', 'string')],
});

export const SaslAuthenticate = api({
  key: 36,
  name: 'SaslAuthenticate',
  versions: '0-2',
  flexible: '2+',
  request: [bytes('authBytes', '0+')],
  response: [
    i16('errorCode', '0+'),
    str('errorMessage', '0+', { nullable: '0+' }),
    bytes('authBytes', '0+'),
    i64('sessionLifetimeMs', '1+'),
  ],
});
