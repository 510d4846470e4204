/**
 * Kafka's listener security protocols (listener.security.protocol.map's values): TLS or not,
 * SASL or not. On SSL a client certificate names the client; on SASL_* a SASL exchange does.
 */
export const KAFKA_SECURITY_PROTOCOLS = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'] as const;
export type KafkaSecurityProtocol = (typeof KAFKA_SECURITY_PROTOCOLS)[number];

export const usesTls = (p: KafkaSecurityProtocol): boolean => p === 'SSL' || p === 'SASL_SSL';
export const usesSasl = (p: KafkaSecurityProtocol): boolean => p.startsWith('SASL_');

interface Settings {
  kafkaSecurityProtocol?: KafkaSecurityProtocol | undefined;
  kafkaListen?: string | undefined;
  tlsCert?: string | undefined;
  authentication: 'none' | 'required';
}

/** What the node's TLS and authentication settings imply when no protocol is given. */
export function defaultKafkaSecurityProtocol(c: Settings): KafkaSecurityProtocol {
  if (!c.tlsCert) return 'PLAINTEXT';
  return c.authentication === 'required' ? 'SASL_SSL' : 'SSL';
}

/** What is wrong with the Kafka listener's protocol given the rest, if anything. */
export function kafkaSecurityProblem(c: Settings): string | undefined {
  const p = c.kafkaSecurityProtocol ?? defaultKafkaSecurityProtocol(c);
  const tls = c.tlsCert !== undefined;
  if (usesTls(p) && !tls)
    return `--kafka-security-protocol ${p} needs TLS (--tls-cert, --tls-key, --tls-ca)`;
  if (!usesTls(p) && tls && !c.kafkaListen)
    return `--kafka-security-protocol ${p} needs --kafka-listen: the client port is TLS, and Kafka clients share it unless they have a port of their own`;
  if (p === 'PLAINTEXT' && c.authentication === 'required')
    return '--kafka-security-protocol PLAINTEXT would serve Kafka clients unauthenticated under --authentication required: use SASL_SSL (or SSL with client certificates, or SASL_PLAINTEXT)';
  return undefined;
}
