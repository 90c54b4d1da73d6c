/**
 * The group and chord cases of the shared ResultBackend suite (./conformance.ts): chord parts counted
 * atomically, across instances where the store is shared; group records saved, restored and deleted.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { States } from '../protocol/states.js';
import type { ChordPart } from './groups.js';
import type { ResultBackend } from './types.js';

export interface GroupCaseFixture {
  backend(): Promise<ResultBackend>;
}

type Add = (name: string, fn: (f: GroupCaseFixture) => Promise<void>, skip?: string) => void;

const NO_GROUPS = 'no group store (setChordSize / chordPartReturn / saveGroup)';

function groups(b: ResultBackend): Required<Pick<ResultBackend, 'setChordSize' | 'chordPartReturn' | 'saveGroup' | 'restoreGroup' | 'deleteGroup'>> {
  const { setChordSize, chordPartReturn, saveGroup, restoreGroup, deleteGroup } = b;
  if (!setChordSize || !chordPartReturn || !saveGroup || !restoreGroup || !deleteGroup) throw new Error(NO_GROUPS);
  return {
    setChordSize: setChordSize.bind(b),
    chordPartReturn: chordPartReturn.bind(b),
    saveGroup: saveGroup.bind(b),
    restoreGroup: restoreGroup.bind(b),
    deleteGroup: deleteGroup.bind(b),
  };
}

export function groupCases(add: Add, options: { shared?: boolean; groups?: boolean }): void {
  const skip = options.groups === false ? NO_GROUPS : undefined;

  add(
    'chord parts are counted atomically: exactly one part completes the chord, with every result in header order',
    async (f) => {
      // Several instances on one store when it is shared (other processes), else one instance.
      const backends = options.shared ? await Promise.all([0, 1, 2, 3].map(() => f.backend())) : [await f.backend()];
      const gid = randomUUID();
      const size = 24;
      await groups(backends[0] as ResultBackend).setChordSize(gid, size);
      const order = Array.from({ length: size }, (_, i) => i).sort(() => Math.random() - 0.5);
      const outcomes = await Promise.all(
        order.map((i) => groups(backends[i % backends.length] as ResultBackend).chordPartReturn({ groupId: gid, taskId: `t${i}`, index: i, state: States.SUCCESS, result: i * 10 })),
      );
      const done = outcomes.filter((o): o is ChordPart[] => o !== null);
      assert.equal(done.length, 1, 'exactly one part completes the chord');
      assert.deepEqual(done[0]?.map((p) => p.result), Array.from({ length: size }, (_, i) => i * 10));
      assert.deepEqual(done[0]?.map((p) => p.taskId), Array.from({ length: size }, (_, i) => `t${i}`));
    },
    skip,
  );

  add(
    'chord parts: failures keep their state and error; a part without an index sorts last; a repeated part counts once',
    async (f) => {
      const g = groups(await f.backend());
      const gid = randomUUID();
      await g.setChordSize(gid, 3);
      const error = { exc_type: 'ValueError', exc_message: ['boom'], exc_module: 'builtins' };
      assert.equal(await g.chordPartReturn({ groupId: gid, taskId: 'last', index: null, state: States.SUCCESS, result: 'z' }), null);
      assert.equal(await g.chordPartReturn({ groupId: gid, taskId: 'bad', index: 1, state: States.FAILURE, result: error }), null);
      assert.equal(await g.chordPartReturn({ groupId: gid, taskId: 'bad', index: 1, state: States.FAILURE, result: error }), null, 'a redelivered part counts once');
      const done = await g.chordPartReturn({ groupId: gid, taskId: 'first', index: 0, state: States.SUCCESS, result: { a: [1] } });
      assert.deepEqual(done, [
        { taskId: 'first', state: States.SUCCESS, result: { a: [1] } },
        { taskId: 'bad', state: States.FAILURE, result: error },
        { taskId: 'last', state: States.SUCCESS, result: 'z' },
      ]);
    },
    skip,
  );

  add(
    'groups: saved member ids are restored in order (by another instance when shared) and deleted',
    async (f) => {
      const writer = groups(await f.backend());
      const reader = options.shared ? groups(await f.backend()) : writer;
      const gid = randomUUID();
      const ids = [randomUUID(), randomUUID(), randomUUID()];
      assert.equal(await reader.restoreGroup(gid), null);
      await writer.saveGroup(gid, ids);
      assert.deepEqual(await reader.restoreGroup(gid), ids);
      await writer.deleteGroup(gid);
      assert.equal(await reader.restoreGroup(gid), null);
    },
    skip,
  );
}
