import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidConfigError } from '@strand/wire';
import { describe, expect, it } from 'vitest';
import { loadBrokerConfig } from './config.js';

const base = ['--id', '1', '--listen', '127.0.0.1:9092', '--coordinators', '127.0.0.1:2379'];

describe('broker config', () => {
  it('merges file < env < flags, splits the coordinator list and defaults advertise', () => {
    const dir = mkdtempSync(join(tmpdir(), 'strand-broker-cfg-'));
    try {
      const file = join(dir, 'b.json');
      writeFileSync(file, JSON.stringify({ id: 4, dataDir: '/from-file', rack: 'file-rack' }));
      const c = loadBrokerConfig(
        ['--config', file, '--listen', '127.0.0.1:9', '--coordinators', 'a:1, b:2,,c:3'],
        { STRAND_RACK: 'env-rack', STRAND_LISTEN: '127.0.0.1:8' },
      );
      expect(c).toMatchObject({
        id: 4,
        listen: '127.0.0.1:9',
        advertise: '127.0.0.1:9',
        coordinators: ['a:1', 'b:2', 'c:3'],
        dataDir: '/from-file',
        rack: 'env-rack',
        flush: 'interval',
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('takes the admin listener and the log settings from flags, env or the file', () => {
    const c = loadBrokerConfig([...base, '--data', 'd', '--admin-listen', '127.0.0.1:0'], {
      STRAND_LOG_LEVEL: 'debug',
    });
    expect(c).toMatchObject({ adminListen: '127.0.0.1:0', logLevel: 'debug', logFormat: 'auto' });
    expect(loadBrokerConfig([...base, '--data', 'd'], {})).toMatchObject({ logLevel: 'info' });
    expect(loadBrokerConfig([...base, '--data', 'd'], {}).adminListen).toBeUndefined();
    expect(() =>
      loadBrokerConfig([...base, '--data', 'd', '--log-level', 'loud', '--admin-listen', 'x'], {}),
    ).toThrow(/adminListen: expected host:port; logLevel: /);
  });

  it('refuses bad config with one error naming every problem', () => {
    const bad = (argv: string[]) => () => loadBrokerConfig(argv, {});
    expect(bad([...base, '--data', 'd', '--rack', 'no spaces'])).toThrow(/rack: a rack is/);
    expect(bad([...base, '--data', 'd', '--frob', 'x'])).toThrow(InvalidConfigError);
    expect(bad(['--id', '0', '--listen', 'nowhere'])).toThrow(
      /invalid broker config: id: .*; listen: expected host:port; coordinators: .*; dataDir/,
    );
    expect(
      bad(['--id', '1', '--listen', '0.0.0.0:9092', '--coordinators', 'c:1', '--data', 'd']),
    ).toThrow(/needs --advertise/);
  });

  it("derives the Kafka listener's security protocol from TLS and authentication, and refuses what cannot work", () => {
    const tls = ['--tls-cert', 'c.pem', '--tls-key', 'k.pem', '--tls-ca', 'ca.pem'];
    const required = ['--authentication', 'required', '--super-users', 'User:admin'];
    const load = (...argv: string[]) => loadBrokerConfig([...base, '--data', 'd', ...argv], {});
    expect(load().kafkaSecurityProtocol).toBe('PLAINTEXT');
    expect(load(...tls).kafkaSecurityProtocol).toBe('SSL');
    expect(load(...tls, ...required).kafkaSecurityProtocol).toBe('SASL_SSL');
    expect(load('--kafka-security-protocol', 'SASL_PLAINTEXT').kafkaSecurityProtocol).toBe(
      'SASL_PLAINTEXT',
    );
    // A Kafka port of its own may be plaintext beside a TLS client port, with SASL (SCRAM).
    const own = ['--kafka-listen', '127.0.0.1:9093'];
    expect(
      load(...tls, ...required, ...own, '--kafka-security-protocol', 'SASL_PLAINTEXT')
        .kafkaSecurityProtocol,
    ).toBe('SASL_PLAINTEXT');
    expect(() => load('--kafka-security-protocol', 'SASL_SSL')).toThrow(/SASL_SSL needs TLS/);
    expect(() => load(...tls, '--kafka-security-protocol', 'PLAINTEXT')).toThrow(
      /needs --kafka-listen: the client port is TLS/,
    );
    expect(() =>
      load(...tls, ...required, ...own, '--kafka-security-protocol', 'PLAINTEXT'),
    ).toThrow(/unauthenticated under --authentication required/);
    expect(() => load('--kafka-security-protocol', 'TLS')).toThrow(/kafkaSecurityProtocol/);
  });
});
