// @strand/security — a node's security at run time.

// Certificates for development clusters and tests (a CA and the leaves it signs)
export { type CertPair, makePki, type Pki, type PkiFiles, writePki } from './pki.js';
