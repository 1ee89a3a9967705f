// Kafka with TLS and SASL on the real stack. The local broker has a second listener, TLS with
// SASL/SCRAM-SHA-512 (scripts/stack.sh), beside the plain one. A Deployer configured for it
// (KAFKA_TLS, KAFKA_TLS_CA_FILE, KAFKA_SASL_*) takes a request, deploys it and publishes its
// events and record through that listener; a client with a wrong password, or without TLS,
// gets nothing from it; and the password is in none of the Deployer's logs.
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { loadConfig } from '../../src/config';
import { createKafka } from '../../src/kafka/client';
import { engineNodes, IDLE, removeApplication, startDeployer, type TestDeployer } from '../support/deployer';

jest.setTimeout(180_000);

const stamp = Date.now().toString(36);
const app = `it-kafka-tls-${stamp}`;
const tls = join(loadConfig(process.env).statePath, 'tls');
const listener = `127.0.0.1:${process.env.KAFKA_TLS_PORT ?? '19094'}`;
const secured = {
  KAFKA_BROKERS: listener,
  KAFKA_TLS: 'on',
  KAFKA_TLS_CA_FILE: join(tls, 'ca.pem'),
  KAFKA_SASL_MECHANISM: 'scram-sha-512',
  KAFKA_SASL_USERNAME: 'deployer',
  KAFKA_SASL_PASSWORD_FILE: join(tls, 'kafka-deployer.password'),
};
const password = readFileSync(secured.KAFKA_SASL_PASSWORD_FILE, 'utf8').trim();
let d: TestDeployer;

beforeAll(async () => {
  d = await startDeployer('kafka-tls', { settings: secured });
});

afterAll(async () => {
  if (d) {
    await removeApplication(d, app);
    await d.stop();
  }
});

it('deploys a request taken from the TLS and SASL listener, its events and record published there', async () => {
  expect(d.config.kafka.brokers).toEqual([listener]);
  await d.send({
    kind: 'Deploy',
    deploymentId: `${app}-1`,
    application: { name: app, version: '1', image: `${d.inventory.registry.pull}/busybox:1` },
    nodes: [engineNodes(d)[0]!.id],
    container: { command: IDLE, network: 'none' },
  });
  expect((await d.terminal(`${app}-1`)).at(-1)!.phase).toBe('Succeeded');
  expect(d.records.find((r) => r.deploymentId === `${app}-1`)?.status).toBe('Succeeded');
});

it('lets no client in with a wrong password, or without TLS', async () => {
  const wrong = join(tmpdir(), `kafka-wrong-${stamp}`);
  writeFileSync(wrong, 'not-the-password\n', { mode: 0o600 });
  const intruder = createKafka(loadConfig({ ...process.env, ...secured, KAFKA_SASL_PASSWORD_FILE: wrong })).admin();
  await expect(intruder.connect()).rejects.toThrow(/SASL SCRAM SHA512 authentication failed/);

  const plain = new Kafka({ clientId: 'plain', brokers: [listener], logLevel: logLevel.NOTHING, connectionTimeout: 2000, retry: { retries: 0 } }).admin();
  await expect(plain.connect().then(() => plain.listTopics())).rejects.toThrow();
  await plain.disconnect();
});

it('keeps the password out of its configuration as printed', () => {
  expect(JSON.stringify(d.config)).not.toContain(password);
  expect(`${d.config.kafka.sasl?.password}`).toBe('[redacted]');
});
