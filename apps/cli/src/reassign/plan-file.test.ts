import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '@strand/testkit';
import { InvalidRequestError } from '@strand/wire';
import { afterAll, describe, expect, it } from 'vitest';
import { planFile, readPlanFile } from './plan-file.js';

const dir = tempDir('strand-plan-');
afterAll(() => dir.cleanup());
const file = (text: string) => {
  const path = join(dir.path, `${Math.random()}.json`);
  writeFileSync(path, text);
  return path;
};
const plan = planFile([{ topic: 't', partition: 0, replicas: [2, 3] }]);

describe('readPlanFile', () => {
  it('reads a plan as printed, alone or as the proposed part of the --json output', () => {
    expect(readPlanFile(file(JSON.stringify(plan)))).toEqual(plan.partitions);
    expect(readPlanFile(file(JSON.stringify({ current: plan, proposed: plan })))).toEqual(
      plan.partitions,
    );
  });

  it.each([
    ['not JSON', '{', /--plan .*JSON/],
    ['another version', JSON.stringify({ ...plan, version: 2 }), /version/],
    [
      'a repeated replica',
      JSON.stringify(planFile([{ topic: 't', partition: 0, replicas: [1, 1] }])),
      /distinct/,
    ],
    ['an unknown field', JSON.stringify({ ...plan, extra: 1 }), /extra/],
  ])('refuses %s with a clear error', (_what, text, message) => {
    expect(() => readPlanFile(file(text))).toThrow(InvalidRequestError);
    expect(() => readPlanFile(file(text))).toThrow(message);
  });
});
