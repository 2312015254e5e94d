/**
 * A throw-away PKI for etcd over TLS, made with openssl (argument arrays): a CA, a server
 * certificate for the lab's etcd address, and a client certificate.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sh } from './netns.js';

export interface TestPki {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

function cert(dir: string, name: string, cn: string, caKey: string, caCert: string, ext: string): { cert: string; key: string } {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const crt = join(dir, `${name}.crt`);
  const extFile = join(dir, `${name}.ext`);
  writeFileSync(extFile, ext);
  sh('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${cn}`]);
  sh('openssl', ['x509', '-req', '-in', csr, '-CA', caCert, '-CAkey', caKey, '-CAcreateserial', '-out', crt, '-days', '2', '-extfile', extFile]);
  return { cert: crt, key };
}

/** Makes a CA, a server certificate valid for `serverIp` and a client certificate, in `dir`. */
export function makePki(dir: string, serverIp: string, tag = 'ca'): TestPki {
  const caKey = join(dir, `${tag}.key`);
  const ca = join(dir, `${tag}.crt`);
  sh('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', caKey, '-out', ca, '-days', '2', '-subj', `/CN=twill test ${tag}`]);
  const server = cert(dir, `${tag}-server`, 'etcd', caKey, ca, `subjectAltName=IP:${serverIp},IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n`);
  const client = cert(dir, `${tag}-client`, 'twilld', caKey, ca, 'extendedKeyUsage=clientAuth\n');
  return { ca, serverCert: server.cert, serverKey: server.key, clientCert: client.cert, clientKey: client.key };
}
