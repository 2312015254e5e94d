/**
 * conf/kube-twill.yml and conf/twilld.service as an operator runs them: the DaemonSet lands only on
 * Linux nodes, can open /dev/net/tun (udp backend), requests the memory twilld holds, reads etcd's
 * TLS files from a Secret in every container that talks to etcd, and mounts no service-account
 * token; the systemd unit never takes kubelet down with it and never holds the container runtime
 * back forever while etcd is unreachable.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { daemonFlags } from '../../daemon/options.js';
import { confText, REPO } from '../helpers/repo.js';
import { SYSTEMD_ANALYZE, skipUnless } from '../helpers/require.js';

type Obj = Record<string, any>;

function manifest(): Obj[] {
  return parseAllDocuments(confText('kube-twill.yml')).map((d) => d.toJS() as Obj);
}

function podSpec(): Obj {
  return manifest().find((o) => o['kind'] === 'DaemonSet')!['spec']['template']['spec'] as Obj;
}

/** The containers that reach etcd: every one whose command is twilld other than install-cni. */
function etcdContainers(spec: Obj): Obj[] {
  return [...spec['initContainers'], ...spec['containers']].filter((c: Obj) => c['command'][0] === '/opt/twill/twilld' && c['command'][1] !== 'install-cni');
}

/** A systemd unit file as section → key → values (a key may repeat). */
function unitFile(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const s = /^\[(.+)\]$/.exec(line);
    if (s) {
      current = new Map();
      sections.set(s[1]!, current);
      continue;
    }
    const kv = /^([A-Za-z]+)=(.*)$/.exec(line);
    assert.ok(kv && current, `a unit line: ${line}`);
    current.set(kv[1]!, [...(current.get(kv[1]!) ?? []), kv[2]!]);
  }
  return sections;
}

/** systemd's time span (`90`, `90s`, `2min`, `1min 30s`) in seconds; `infinity` and 0 are Infinity. */
function seconds(span: string): number {
  if (span === 'infinity' || span === '0') return Infinity;
  const units: Record<string, number> = { '': 1, s: 1, sec: 1, m: 60, min: 60, h: 3600 };
  let total = 0;
  for (const m of span.matchAll(/(\d+)\s*([a-z]*)/g)) {
    assert.ok(m[2]! in units, `a time unit: ${span}`);
    total += Number(m[1]) * units[m[2]!]!;
  }
  return total;
}

describe('conf/kube-twill.yml', () => {
  it('schedules only on Linux nodes', () => {
    const terms = podSpec()['affinity']['nodeAffinity']['requiredDuringSchedulingIgnoredDuringExecution']['nodeSelectorTerms'] as Obj[];
    assert.ok(terms.length > 0);
    for (const t of terms) {
      assert.ok((t['matchExpressions'] as Obj[]).some((e) => e['key'] === 'kubernetes.io/os' && e['operator'] === 'In' && JSON.stringify(e['values']) === '["linux"]'), JSON.stringify(t));
    }
  });

  it('mounts the host\'s /dev/net/tun into twilld (the udp backend opens it)', () => {
    const spec = podSpec();
    const vol = (spec['volumes'] as Obj[]).find((v) => v['hostPath']?.['path'] === '/dev/net/tun');
    assert.ok(vol, 'a hostPath volume for /dev/net/tun');
    assert.equal(vol['hostPath']['type'], 'CharDevice');
    const twilld = (spec['containers'] as Obj[]).find((c) => c['name'] === 'twilld')!;
    assert.ok((twilld['volumeMounts'] as Obj[]).some((m) => m['name'] === vol['name'] && m['mountPath'] === '/dev/net/tun'));
  });

  it('requests the memory twilld holds (test/lab/image.test.ts measures it against this request)', () => {
    const twilld = (podSpec()['containers'] as Obj[]).find((c) => c['name'] === 'twilld')!;
    const m = /^(\d+)Mi$/.exec(String(twilld['resources']['requests']['memory']));
    assert.ok(m, 'memory request in Mi');
    assert.ok(Number(m[1]) >= 80 && Number(m[1]) <= 160, `a request near twilld's resident memory (73-75 MiB measured), not ${m[1]}Mi`);
  });

  it('gives every container that talks to etcd the endpoints, the prefix and TLS files from a Secret', () => {
    const spec = podSpec();
    const cm = manifest().find((o) => o['kind'] === 'ConfigMap')!;
    assert.ok(typeof cm['data']['etcd-prefix'] === 'string' && cm['data']['etcd-prefix'].startsWith('/'), 'an etcd-prefix key');
    const secretVolume = (spec['volumes'] as Obj[]).find((v) => v['secret'])!;
    assert.ok(secretVolume, 'a Secret volume');
    const containers = etcdContainers(spec);
    assert.deepEqual(containers.map((c) => c['name']).sort(), ['put-net-conf', 'twilld']);
    for (const c of containers) {
      const env = new Map((c['env'] as Obj[]).map((e) => [e['name'], e]));
      for (const [name, key] of [['FLANNELD_ETCD_ENDPOINTS', 'etcd-endpoints'], ['FLANNELD_ETCD_PREFIX', 'etcd-prefix']]) {
        assert.equal(env.get(name)?.['valueFrom']?.['configMapKeyRef']?.['key'], key, `${c['name']}: ${name} from the ConfigMap's ${key}`);
      }
      const mount = (c['volumeMounts'] as Obj[]).find((m) => m['name'] === secretVolume['name']);
      assert.ok(mount, `${c['name']} mounts the etcd Secret`);
      assert.equal(mount['readOnly'], true);
      for (const flag of ['etcd-cafile', 'etcd-certfile', 'etcd-keyfile']) {
        assert.ok(flag in daemonFlags);
        const e = env.get(`FLANNELD_${flag.toUpperCase().replace(/-/g, '_')}`);
        assert.ok(e, `${c['name']}: --${flag} is set`);
        const ref = e['valueFrom']['configMapKeyRef'];
        assert.equal(ref['optional'], true, 'a plain-HTTP etcd works by removing the key');
        const path = String(cm['data'][ref['key']]);
        assert.ok(path.startsWith(String(mount['mountPath']).replace(/\/?$/, '/')), `${flag} = ${path} lies in the Secret's mount ${mount['mountPath']}`);
        const item = path.slice(String(mount['mountPath']).replace(/\/?$/, '/').length);
        const items = secretVolume['secret']['items'] as Obj[] | undefined;
        if (items) assert.ok(items.some((i) => i['path'] === item), `the Secret volume provides ${item}`);
      }
    }
  });

  it('runs the image npm run image tags (localhost/twill:<package version>) in every container', () => {
    const { version } = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };
    const spec = podSpec();
    for (const c of [...spec['initContainers'], ...spec['containers']] as Obj[]) assert.equal(c['image'], `localhost/twill:${version}`, c['name']);
  });

  it('mounts no service-account token (nothing in twill talks to the API server)', () => {
    const spec = podSpec();
    assert.equal(spec['automountServiceAccountToken'], false);
    const sa = manifest().find((o) => o['kind'] === 'ServiceAccount');
    if (sa) assert.equal(sa['automountServiceAccountToken'], false);
  });
});

describe('conf/twilld.service', () => {
  const unit = unitFile(confText('twilld.service'));

  it('is wanted by, never required by or bound to, kubelet or the container runtime', () => {
    const install = unit.get('Install')!;
    assert.equal(install.get('RequiredBy'), undefined, 'RequiredBy would stop and restart kubelet with twilld');
    for (const key of ['Requires', 'BindsTo', 'PartOf', 'Requisite']) {
      for (const v of unit.get('Unit')!.get(key) ?? []) assert.doesNotMatch(v, /kubelet|containerd|crio|docker/, `${key}=${v}`);
    }
    const wanted = (install.get('WantedBy') ?? []).join(' ').split(/\s+/);
    assert.ok(wanted.includes('multi-user.target'));
    assert.ok(wanted.includes('kubelet.service'), 'WantedBy=kubelet.service: starting kubelet starts twilld, stopping twilld leaves kubelet');
  });

  it('never holds the container runtime or kubelet back forever: a bounded start timeout while ordered before them', () => {
    const u = unit.get('Unit')!;
    const before = (u.get('Before') ?? []).join(' ');
    const start = unit.get('Service')!.get('TimeoutStartSec');
    if (/containerd|crio|docker|kubelet/.test(before)) {
      assert.ok(start, 'TimeoutStartSec is set');
      const s = seconds(start.at(-1)!);
      assert.ok(Number.isFinite(s) && s > 0 && s <= 300, `TimeoutStartSec=${start.at(-1)} bounds the wait (≤ 5 min)`);
    }
  });

  it('passes systemd-analyze verify without a warning', { skip: skipUnless(SYSTEMD_ANALYZE) }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'twill-unit-'));
    try {
      // The executables need not be installed here: the paths point at ones that exist.
      const text = confText('twilld.service').replaceAll('/usr/local/bin/twilld', process.execPath).replaceAll('/usr/local/bin/twill', '/bin/true');
      writeFileSync(join(dir, 'twilld.service'), text);
      const r = spawnSync('systemd-analyze', ['verify', join(dir, 'twilld.service')], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stderr.trim(), '', 'no warning');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
