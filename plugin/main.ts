/**
 * twill, the CNI plugin: hands the commands to the dispatcher with the process's I/O. Each command's
 * module is loaded only when that command runs, so VERSION and DEL do not pay for ADD's code.
 */
import { exitNow } from '../shared/native/native-exit.js';
import { processIo } from './process-io.js';
import { runSkel } from './skel.js';

void runSkel(
  {
    add: async (a) => (await import('./cmd-add.js')).cmdAdd(a),
    del: async (a) => (await import('./cmd-del.js')).cmdDel(a),
    check: async (a) => (await import('./cmd-check.js')).cmdCheck(a),
    gc: async (a) => (await import('./cmd-gc.js')).cmdGc(a),
    status: async (a) => (await import('./cmd-status.js')).cmdStatus(a),
  },
  processIo(),
).then((code) => {
  // Exit now: the answer is written (process-io.ts writes synchronously), and
  // waiting for the event loop to wind down (sockets, child handles) cost ~10 ms per pod.
  exitNow(code);
});
