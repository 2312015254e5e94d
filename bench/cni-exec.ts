/**
 * Running a CNI plugin as a runtime does: CNI_* in the environment, the config on stdin, exec'd into
 * the host's network namespace with nsenter, a pod namespace made for the run.
 */
import { netnsPath, sh } from '../test/helpers/netns.js';
import { REF_PLUGINS } from '../test/helpers/paths.js';
import { timed } from './stats.js';

/** The environment a runtime gives the plugin for one command. */
export function cniEnv(cmd: string, containerId: string, podNs: string): Record<string, string> {
  return { PATH: process.env['PATH'] ?? '', CNI_COMMAND: cmd, CNI_CONTAINERID: containerId, CNI_NETNS: netnsPath(podNs), CNI_IFNAME: 'eth0', CNI_PATH: REF_PLUGINS };
}

/** Times `bin` exec'd through nsenter into `hostNs` (nsenter's own exec is counted). */
export function timedInHost(hostNs: string, bin: string, env: Record<string, string>, stdin?: string): ReturnType<typeof timed> {
  return timed('nsenter', ['--net=' + netnsPath(hostNs), bin], stdin === undefined ? { env } : { env, stdin });
}

/** VERSION exec'd exactly as ADD is (through nsenter into the host), timed, in ms. */
export async function versionInHost(hostNs: string, bin: string): Promise<number> {
  const r = await timedInHost(hostNs, bin, { CNI_COMMAND: 'VERSION', PATH: process.env['PATH'] ?? '' });
  if (r.code !== 0) throw new Error(`${bin} VERSION exited ${r.code}`);
  return r.ms;
}

/** ADD then DEL of one pod, timed; throws when either fails. */
export async function addDel(hostNs: string, bin: string, conf: string, containerId: string, podNs: string): Promise<{ add: number; del: number }> {
  const a = await timedInHost(hostNs, bin, cniEnv('ADD', containerId, podNs), conf);
  const d = await timedInHost(hostNs, bin, cniEnv('DEL', containerId, podNs), conf);
  if (a.code !== 0 || d.code !== 0) throw new Error(`${bin} ADD/DEL failed: ${a.stdout} ${d.stdout}`);
  return { add: a.ms, del: d.ms };
}

/**
 * The kernel's peak RSS of one ADD (getrusage of the children of a python wrapper, whose child is
 * nsenter, which execs the plugin), in MB. The pod is left added; DEL it afterwards.
 */
export function peakRssOfAdd(hostNs: string, bin: string, conf: string, containerId: string, podNs: string): number {
  const py = 'import resource,subprocess,sys,os\nsubprocess.run(sys.argv[1:],input=os.environ["CONF"].encode(),stdout=subprocess.DEVNULL)\nprint(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)';
  const env = Object.entries(cniEnv('ADD', containerId, podNs)).map(([k, v]) => `${k}=${v}`);
  return Number(sh('env', ['CONF=' + conf, ...env, 'python3', '-c', py, 'nsenter', '--net=' + netnsPath(hostNs), bin]).trim()) / 1024;
}
