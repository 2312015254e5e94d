/**
 * Observes the source address a packet arrives with: a one-shot UDP receiver in one namespace and
 * a sender in another (both `node` processes started with argument arrays).
 */
import { spawn } from 'node:child_process';
import { sh } from './netns.js';
import { until } from './wait.js';

const RECEIVER = `const s=require('dgram').createSocket('udp4');s.on('message',(m,r)=>{process.stdout.write(r.address);process.exit(0)});s.bind(+process.argv[2],process.argv[1],()=>process.stdout.write('listening\\n'));setTimeout(()=>process.exit(3),8000)`;
const SENDER = `const s=require('dgram').createSocket('udp4');let n=0;const t=setInterval(()=>{s.send('x',+process.argv[2],process.argv[1]);if(++n>=20){clearInterval(t);s.close()}},50)`;

/** Returns the source address seen by `toNs` at `toIp:port` for datagrams sent from `fromNs`. */
export async function observedSource(fromNs: string, toNs: string, toIp: string, port = 40999): Promise<string> {
  const recv = spawn('ip', ['netns', 'exec', toNs, process.execPath, '-e', RECEIVER, toIp, String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  recv.stdout.on('data', (b: Buffer) => (out += b.toString()));
  let exited = false;
  const done = new Promise<number | null>((r) => recv.on('exit', (c) => ((exited = true), r(c))));
  await until('the receiver to listen', () => out.startsWith('listening\n') || exited, 10_000);
  sh('ip', ['netns', 'exec', fromNs, process.execPath, '-e', SENDER, toIp, String(port)]);
  const code = await done;
  if (code !== 0) throw new Error(`no datagram arrived at ${toIp}:${port} (receiver exit ${code})`);
  return out.slice('listening\n'.length).trim();
}
