import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/config';

describe('config', () => {
  it('has defaults that match the local stack', () => {
    const c = loadConfig({ HOME: '/home/op' });
    expect(c.temporal).toEqual({ address: '127.0.0.1:7233', namespace: 'default', taskQueue: 'deployer' });
    expect(c.kafka.topics).toEqual({ requests: 'deployer.requests', events: 'deployer.events', deadLetters: 'deployer.requests.dlq', records: 'deployer.records', nodes: 'platform.nodes' });
    expect(loadConfig({ DEPLOYER_NODES_TOPIC: '' }).kafka.topics.nodes).toBeUndefined();
    expect(c.kafka.brokers).toEqual(['127.0.0.1:19092']);
    expect(c.inventoryPath).toMatch(/deployer\/inventory\.json$/);
    expect(c.lockIdleMs).toBe(10_000);
  });

  it('reads every setting from the environment', () => {
    const c = loadConfig({ KAFKA_BROKERS: 'k1:9092, k2:9092', DEPLOYER_STATE: '/var/lib/deployer', DEPLOYER_EVENTS_TOPIC: 'ev' });
    expect(c.kafka.brokers).toEqual(['k1:9092', 'k2:9092']);
    expect(c.inventoryPath).toBe('/var/lib/deployer/inventory.json');
    expect(c.kafka.topics.events).toBe('ev');
    expect(loadConfig({ DEPLOYER_LOCK_IDLE_MS: '2500' }).lockIdleMs).toBe(2500);
  });

  it('allows builds to read nothing unless told what', () => {
    expect(loadConfig({}).build).toEqual({ roots: [], gitPrefixes: [] });
    expect(loadConfig({ DEPLOYER_BUILD_ROOTS: '', DEPLOYER_GIT_PREFIXES: '' }).build).toEqual({ roots: [], gitPrefixes: [] });
  });

  it('reads the build roots separated by ":" or ",", and the git prefixes by ","', () => {
    const c = loadConfig({ DEPLOYER_BUILD_ROOTS: '/srv/builds:/opt/apps, /home/ci/work', DEPLOYER_GIT_PREFIXES: 'https://git.example.org/team/, ssh://git@git.example.org/team/' });
    expect(c.build).toEqual({ roots: ['/srv/builds', '/opt/apps', '/home/ci/work'], gitPrefixes: ['https://git.example.org/team/', 'ssh://git@git.example.org/team/'] });
  });

  it.each([
    [{ DEPLOYER_BUILD_ROOTS: '/srv/builds:builds' }, 'builds must be an absolute directory such as /srv/builds, without "." or ".." segments'],
    [{ DEPLOYER_BUILD_ROOTS: '/srv/builds/../..' }, '/srv/builds/../.. must be an absolute directory'],
    [{ DEPLOYER_GIT_PREFIXES: 'https://git.example.org/team' }, 'https://git.example.org/team must end with "/"'],
    [{ DEPLOYER_GIT_PREFIXES: 'https://ci:token@git.example.org/team/' }, 'must not carry credentials'],
  ])('refuses a build setting it cannot use, naming the entry: %j', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
    expect(() => loadConfig(env)).toThrow(Object.keys(env)[0]!);
  });

  it('reaches Kafka with TLS and SASL when told to, the password read from its file and never printed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'config-'));
    writeFileSync(join(dir, 'ca.pem'), 'PEM');
    writeFileSync(join(dir, 'password'), 's3cret\n');
    const c = loadConfig({ KAFKA_TLS: 'on', KAFKA_TLS_CA_FILE: join(dir, 'ca.pem'), KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'deployer', KAFKA_SASL_PASSWORD_FILE: join(dir, 'password') });
    expect(c.kafka.tls).toEqual({ ca: 'PEM' });
    expect([c.kafka.sasl?.mechanism, c.kafka.sasl?.username, c.kafka.sasl?.password.reveal()]).toEqual(['scram-sha-512', 'deployer', 's3cret']);
    expect(JSON.stringify(c)).not.toContain('s3cret');
    expect(loadConfig({}).kafka).not.toHaveProperty('tls');
    expect(loadConfig({ KAFKA_TLS: 'on' }).kafka.tls).toEqual({});
    expect(() => loadConfig({ KAFKA_TLS: 'on', KAFKA_TLS_CA_FILE: join(dir, 'missing.pem') })).toThrow(`cannot read ${join(dir, 'missing.pem')}: ENOENT\n  → at KAFKA_TLS_CA_FILE`);
    rmSync(dir, { recursive: true });
  });

  it.each([
    [{ KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD_FILE: '/p' }, /must be "on" with KAFKA_SASL_MECHANISM: without TLS[^\n]*\n\s+→ at KAFKA_TLS$/],
    [{ KAFKA_TLS: 'on', KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_PASSWORD_FILE: '/p' }, /is required with KAFKA_SASL_MECHANISM\n\s+→ at KAFKA_SASL_USERNAME$/],
    [{ KAFKA_TLS: 'on', KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u' }, /is required with KAFKA_SASL_MECHANISM \(a file holding the password[^\n]*\n\s+→ at KAFKA_SASL_PASSWORD_FILE$/],
    [{ KAFKA_TLS: 'on', KAFKA_SASL_USERNAME: 'u' }, /is required with KAFKA_SASL_USERNAME or KAFKA_SASL_PASSWORD_FILE[^\n]*\n\s+→ at KAFKA_SASL_MECHANISM$/],
    [{ KAFKA_TLS_CA_FILE: '/ca.pem' }, /must be "on" when KAFKA_TLS_CA_FILE is set\n\s+→ at KAFKA_TLS$/],
    [{ KAFKA_TLS: 'on', KAFKA_SASL_MECHANISM: 'kerberos' }, /→ at KAFKA_SASL_MECHANISM/],
  ] as [Record<string, string>, RegExp][])('refuses Kafka security settings that do not fit together, saying what to set: %j', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('traces only when an OTLP endpoint is set, by the OpenTelemetry SDK’s own variable names', () => {
    expect(loadConfig({}).tracing).toBeUndefined();
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318/' }).tracing).toEqual({ endpoint: 'http://127.0.0.1:4318/v1/traces', serviceName: 'deployer' });
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://b/otlp/traces', OTEL_SERVICE_NAME: 'deployer-eu' }).tracing).toEqual({ endpoint: 'https://b/otlp/traces', serviceName: 'deployer-eu' });
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_SDK_DISABLED: 'true' }).tracing).toBeUndefined();
  });

  it.each([
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: '127.0.0.1:4318' }, /must be an http:\/\/ or https:\/\/ URL such as http:\/\/127\.0\.0\.1:4318\n\s+→ at OTEL_EXPORTER_OTLP_ENDPOINT$/],
    [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'grpc://collector:4317' }, /→ at OTEL_EXPORTER_OTLP_TRACES_ENDPOINT$/],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://user:token@collector' }, /must not hold credentials: put them in OTEL_EXPORTER_OTLP_HEADERS\n\s+→ at OTEL_EXPORTER_OTLP_ENDPOINT$/],
  ] as [Record<string, string>, RegExp][])('refuses a tracing endpoint it cannot use, saying what it needs: %j', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('rejects a setting it cannot use, naming it', () => {
    expect(() => loadConfig({ DEPLOYER_MAX_REQUEST_BYTES: 'lots' })).toThrow(ConfigError);
    expect(() => loadConfig({ DEPLOYER_MAX_REQUEST_BYTES: 'lots' })).toThrow(/DEPLOYER_MAX_REQUEST_BYTES/);
    expect(() => loadConfig({ KAFKA_BROKERS: ' , ' })).toThrow(/KAFKA_BROKERS/);
  });
});
