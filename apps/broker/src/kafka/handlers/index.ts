import type { KafkaHandler } from '../handler.js';
import { apiVersions } from './api-versions.js';
import { metadata } from './metadata.js';

/**
 * Every Kafka API this broker serves, one module each (or per group of APIs); ApiVersions
 * advertises exactly these.
 */
export const KAFKA_HANDLERS: readonly KafkaHandler[] = [apiVersions, metadata];
