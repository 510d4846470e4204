// @strand/auth — who a client is and what it may do; pure (no sockets, no files).

// SCRAM-SHA-256/512 (RFC 5802, 7677), server and client side; PLAIN (RFC 4616)
export {
  type ClientFirst,
  type CredentialLookup,
  credentialFromSalted,
  encodeSaslName,
  isScramMechanism,
  MAX_ITERATIONS,
  MIN_ITERATIONS,
  makeScramCredential,
  parseClientFirst,
  passwordMatches,
  SCRAM_MECHANISMS,
  ScramClient,
  type ScramCredential,
  type ScramHash,
  type ScramMechanism,
  ScramServer,
  saltedPassword,
} from './scram.js';
export { encodePlain, type PlainMessage, parsePlain } from './plain.js';

// Session tokens signed with the cluster's token key
export { makeTokenKey, signToken, type TokenClaims, verifyToken } from './token.js';

// Kafka's ACL model (plus the KV store's keys) and its evaluation
export * from './acl.js';
export {
  Authorizer,
  type AuthorizerOptions,
  normalizeHost,
  type Session,
} from './authorizer.js';
export {
  afterPrefix,
  covers,
  intersects,
  type KeyRange,
  keyRange,
  prefixRange,
  rangeOfAcl,
} from './key-ranges.js';

// What each request needs, and the check each edge makes with it
export { REQUIREMENTS, type RequestKind, type Requirement, resourcesOf } from './requirements.js';
export { type Check, Guard, onCluster, onKeys, onLease, onResource } from './guard.js';

// Users, ACLs and the token key as KV records, and a node's copy of them
export * from './records.js';
export { type SecurityChange, SecurityState } from './security-state.js';
export {
  Authenticator,
  type AuthenticatorOptions,
  SASL_MECHANISMS,
  type SaslExchange,
  type SaslMechanism,
  type TokenSession,
  userPrincipal,
} from './authenticator.js';
export { FailureLimiter } from './failure-limiter.js';
