// @strand/wire — formats shared by every Strand package.

// Errors with stable codes
export * from './errors/errors.js';

// RecordBatch v2: header view, CRC32C, in-place patching
export * from './batch/header.js';
