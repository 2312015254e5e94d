/** twill, the CNI plugin: hands the commands to the dispatcher with the process's I/O. */
import { cmdAdd } from './cmd-add.js';
import { cmdCheck } from './cmd-check.js';
import { cmdDel } from './cmd-del.js';
import { cmdGc } from './cmd-gc.js';
import { cmdStatus } from './cmd-status.js';
import { processIo } from './process-io.js';
import { runSkel } from './skel.js';

void runSkel({ add: cmdAdd, del: cmdDel, check: cmdCheck, gc: cmdGc, status: cmdStatus }, processIo()).then((code) => {
  process.exitCode = code;
});
