import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '@strand/testkit';
import { checkMaterial, commonName, InvalidConfigError, TlsFiles } from '@strand/wire';
import { afterAll, describe, expect, it } from 'vitest';
import { makePki, writePki } from './pki.js';

const dir = tempDir('strand-pki-');
afterAll(() => dir.cleanup());

const material = (ca: string, pair: { cert: string; key: string }) => ({
  ca: Buffer.from(ca),
  cert: Buffer.from(pair.cert),
  key: Buffer.from(pair.key),
});

describe('development certificates', () => {
  it('a CA signs leaves that check out against it, and against no other CA', async () => {
    const pki = await makePki(['node-1']);
    const other = await makePki(['node-1'], { caName: 'Other CA' });
    expect(checkMaterial(material(pki.ca.cert, pki.certs['node-1']!), 'TLS')).toBe('node-1');
    expect(commonName(pki.ca.cert)).toBe('Strand development CA');
    expect(() => checkMaterial(material(other.ca.cert, pki.certs['node-1']!), 'TLS')).toThrow(
      /not signed by the CA given/,
    );
    // A key that is not the certificate's.
    const mixed = { cert: pki.certs['node-1']!.cert, key: other.certs['node-1']!.key };
    expect(() => checkMaterial(material(pki.ca.cert, mixed), 'TLS')).toThrow(InvalidConfigError);
  });

  it('TlsFiles wants all three files, and keeps its set when a new one does not check out', async () => {
    expect(() => TlsFiles.open({ tlsCert: 'a.pem' }, () => {})).toThrow(/all three/);
    expect(TlsFiles.open({}, () => {})).toBeUndefined();
    const files = writePki(join(dir.path, 'a'), await makePki(['node-1']));
    const lines: { fields: Record<string, unknown>; msg: string }[] = [];
    const tls = TlsFiles.open(
      { tlsCert: files.cert('node-1'), tlsKey: files.key('node-1'), tlsCa: files.ca },
      (fields, msg) => lines.push({ fields, msg }),
    )!;
    expect(tls.principal).toBe('User:node-1');
    const before = tls.material.cert;
    let heard = 0;
    tls.onChange(() => {
      heard += 1;
    });
    writeFileSync(files.cert('node-1'), 'not a certificate');
    expect(tls.reload('test')).toBe(false);
    expect(tls.material.cert.equals(before)).toBe(true);
    expect(lines.at(-1)).toMatchObject({
      msg: 'TLS files not reloaded: the previous ones stay',
      fields: { why: 'test', reason: expect.stringMatching(/^TLS: /) },
    });
    const next = await makePki(['node-1'], {
      ca: { cert: tls.material.ca.toString(), key: readFileSync(files.caKey, 'utf8') },
    });
    writeFileSync(files.cert('node-1'), next.certs['node-1']!.cert);
    writeFileSync(files.key('node-1'), next.certs['node-1']!.key);
    expect(tls.reload('test')).toBe(true);
    expect(heard).toBe(1);
    expect(tls.material.cert.equals(before)).toBe(false);
    expect(() =>
      TlsFiles.open({ tlsCert: join(dir.path, 'nope.pem'), tlsKey: 'k', tlsCa: 'c' }, () => {}),
    ).toThrow(/cannot read the certificate/);
  });
});
