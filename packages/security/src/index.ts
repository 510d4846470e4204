// @strand/security — a node's security at run time, and certificates for development clusters.

// Certificates for development clusters and tests (a CA and the leaves it signs)
export { type CertPair, makePki, type Pki, type PkiFiles, writePki } from './pki.js';

// Authentication on a node's gRPC listeners: settings, users and tokens, the interceptor
// that finds each call's principal, and the Auth service clients authenticate with
export {
  AUTH_FLAGS,
  type AuthConfig,
  AuthConfigShape,
  AUTHENTICATION,
  authConfigProblem,
} from './config.js';
export {
  AUTHORIZATION_HEADER,
  callPrincipal,
  HOST_HEADER,
  isSecretKey,
  NodeSecurity,
  PRINCIPAL_HEADER,
  peerHost,
} from './node-security.js';
export {
  CHECKED_PER_MESSAGE,
  type CallRule,
  type CallRules,
  OPEN_CALL,
  rule,
  ruleOf,
} from './call-rules.js';
export { authInterceptor } from './interceptor.js';
export { addAuthService } from './auth-service.js';
export {
  commitChecks,
  grpcRules,
  keysOf,
  kvStreamChecks,
  fetchChecks,
  produceChecks,
  type RuleContext,
  txnChecks,
} from './grpc-rules.js';
