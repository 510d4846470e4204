import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '@strand/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { checkDataFormat, DATA_FORMAT_FILE, DataFolderError } from './data-format.js';

const dirs: { cleanup: () => void }[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.cleanup();
});
function folder(files: Record<string, string> = {}): string {
  const d = tempDir('strand-format-');
  dirs.push(d);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(d.path, name), text);
  return d.path;
}
const format = (dir: string) => JSON.parse(readFileSync(join(dir, DATA_FORMAT_FILE), 'utf8'));

describe('checkDataFormat', () => {
  it('marks a new folder, and one from before format files, with its kind and version', () => {
    const fresh = join(folder(), 'new');
    checkDataFormat(fresh, 'broker');
    expect(format(fresh)).toEqual({ kind: 'broker', version: 1 });
    const old = folder({ CURRENT: 'MANIFEST-000003\n', IDENTITY: 'x' });
    checkDataFormat(old, 'coordinator');
    expect(format(old)).toEqual({ kind: 'coordinator', version: 1 });
    checkDataFormat(old, 'coordinator'); // and opens it again
  });

  it("refuses another app's folder, by its format file or by its files, and writes nothing", () => {
    const broker = folder({ 'broker.token': 'secret' });
    mkdirSync(join(broker, 'logs'));
    expect(() => checkDataFormat(broker, 'coordinator')).toThrow(
      /is a Strand broker's data folder, not a coordinator's/,
    );
    expect(existsSync(join(broker, DATA_FORMAT_FILE))).toBe(false);
    const coordinator = folder();
    checkDataFormat(coordinator, 'coordinator');
    expect(() => checkDataFormat(coordinator, 'broker')).toThrow(DataFolderError);
  });

  it('refuses a newer layout and a damaged format file, naming them', () => {
    const newer = folder({ [DATA_FORMAT_FILE]: '{"kind":"broker","version":7}' });
    expect(() => checkDataFormat(newer, 'broker')).toThrow(
      /broker data format 7, newer than this release understands \(1\)/,
    );
    for (const text of [
      '',
      'garbage',
      '{"kind":"broker"}',
      '{"kind":"x","version":1}',
      '{"kind":"broker","version":0}',
    ]) {
      const damaged = folder({ [DATA_FORMAT_FILE]: text });
      expect(() => checkDataFormat(damaged, 'broker')).toThrow(/is not a Strand data format file/);
      expect(readFileSync(join(damaged, DATA_FORMAT_FILE), 'utf8')).toBe(text);
    }
  });
});
