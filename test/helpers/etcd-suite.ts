/** A real etcd for the etcd tier's suites, with the registries their tests make on it. */
import { after, before } from 'node:test';
import { EtcdSubnetRegistry } from '../../daemon/subnet/etcd-registry.js';
import { EtcdServer } from './etcd.js';

/** A real etcd for one describe block, and registries on it; all closed after the block. */
export interface EtcdSuite {
  /** The suite's etcd (started before its first test). */
  readonly etcd: EtcdServer;
  /** A registry on the suite's etcd under `prefix` (each call's deadline 3 s unless given), closed with the suite. */
  registry(prefix: string, callTimeoutMs?: number): EtcdSubnetRegistry;
}

/** Call inside a describe: registers the before/after hooks that start and stop the suite's etcd. */
export function etcdSuite(): EtcdSuite {
  let server: EtcdServer | undefined;
  const registries: EtcdSubnetRegistry[] = [];
  before(async () => (server = await EtcdServer.start()));
  after(async () => {
    for (const r of registries) await r.close();
    await server?.stop();
  });
  return {
    get etcd(): EtcdServer {
      if (!server) throw new Error('the suite\'s etcd is not started yet (use it inside a test)');
      return server;
    },
    registry(prefix: string, callTimeoutMs = 3000): EtcdSubnetRegistry {
      const r = new EtcdSubnetRegistry({ endpoints: [this.etcd.endpoint], prefix, callTimeoutMs });
      registries.push(r);
      return r;
    },
  };
}
