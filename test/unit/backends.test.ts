/** The backend list: every backend folder is in it, and its descriptors drive the config check. */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseBackendConfig } from '../../daemon/backend/backend-config.js';
import { BACKEND_TYPES, BACKENDS, backendNamed } from '../../daemon/backend/backends.js';
import { parseNetConfig } from '../../daemon/config/net-config.js';
import { InvalidConfigError } from '../../shared/errors.js';
import { REPO } from '../helpers/repo.js';

const invalid = (field: string, text?: RegExp) => (e: unknown): boolean =>
  e instanceof InvalidConfigError && e.field === field && (!text || text.test(e.message));

describe('backend list', () => {
  it('holds every backend folder (a folder with index.ts) exactly once', () => {
    const dir = join(REPO, 'daemon', 'backend');
    const folders = readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory() && existsSync(join(dir, d.name, 'index.ts'))).map((d) => d.name);
    assert.deepEqual([...BACKEND_TYPES].sort(), folders.sort());
    assert.equal(new Set(BACKEND_TYPES).size, BACKENDS.length);
  });
  it('gives every backend a generated validator that fills its defaults', () => {
    for (const b of BACKENDS) {
      const conf = parseBackendConfig(b.type, { Type: b.type });
      for (const [field, s] of Object.entries(b.schema.properties)) {
        const def = (s as { default?: unknown }).default;
        if (def !== undefined) assert.equal(conf[field], def, `${b.type}.${field}`);
      }
    }
  });
  it('names the field of a bad value, for each backend\'s own fields', () => {
    assert.throws(() => parseNetConfig('{"Network":"10.42.0.0/16","Backend":{"Type":"vxlan","VNI":"one"}}'), invalid('Backend.VNI', /integer/));
    assert.throws(() => parseNetConfig('{"Network":"10.42.0.0/16","Backend":{"Type":"udp","Port":0}}'), invalid('Backend.Port'));
    assert.throws(() => parseNetConfig('{"Network":"10.42.0.0/16","Backend":{"Type":"vxlan","MTU":40}}'), invalid('Backend.MTU', /at least 68/));
    assert.throws(() => parseNetConfig('{"Network":"10.42.0.0/16","Backend":{"Type":"ipsec"}}'), invalid('Backend.Type', /vxlan, host-gw, udp, alloc/));
  });
  it('fills the backend\'s defaults into the checked config (no Backend: udp on 8285)', () => {
    assert.deepEqual(parseNetConfig('{"Network":"10.42.0.0/16"}').backend, { Type: 'udp', Port: 8285 });
    const vx = parseNetConfig('{"Network":"10.42.0.0/16","Backend":{"Type":"vxlan","VNI":4}}').backend;
    assert.deepEqual(vx, { Type: 'vxlan', VNI: 4, Port: 0, GBP: false, DirectRouting: false, MTU: 0 });
  });
  it('says which backends program no routes', () => {
    assert.equal(backendNamed('alloc')?.programsRoutes, false);
    assert.equal(backendNamed('vxlan')?.programsRoutes, true);
    assert.equal(backendNamed('wireguard '), undefined);
  });
});

describe('host-gw', () => {
  it('refuses a PublicIP other than the interface address, as flannel does (NAT)', async () => {
    const deps = {
      cfg: parseNetConfig('{"Network":"10.42.0.0/16","Backend":{"Type":"host-gw"}}'),
      ext: { name: 'eth0', ifaceIp: '192.168.1.10', ifacePrefix: 24, publicIp: '203.0.113.7', mtu: 1500 },
      dataDir: '/nonexistent', log: undefined as never, onFatal: () => undefined,
    };
    await assert.rejects(backendNamed('host-gw')!.create(deps), invalid('public-ip', /203\.0\.113\.7.*192\.168\.1\.10.*NAT/));
    const same = await backendNamed('host-gw')!.create({ ...deps, ext: { ...deps.ext, publicIp: '192.168.1.10' } });
    assert.equal(same.type, 'host-gw');
  });
});
