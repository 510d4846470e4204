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
  isSecretKey,
  NodeSecurity,
  PRINCIPAL_HEADER,
} from './node-security.js';
export { authInterceptor } from './interceptor.js';
export { addAuthService } from './auth-service.js';
