import { ConfigError, loadConfig } from '../../src/config';

describe('config', () => {
  it('has defaults that match the local stack', () => {
    const c = loadConfig({ HOME: '/home/op' });
    expect(c.temporal).toEqual({ address: '127.0.0.1:7233', namespace: 'default', taskQueue: 'deployer' });
    expect(c.kafka.topics).toEqual({ requests: 'deployer.requests', events: 'deployer.events', deadLetters: 'deployer.requests.dlq', records: 'deployer.records' });
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

  it('rejects a setting it cannot use, naming it', () => {
    expect(() => loadConfig({ DEPLOYER_MAX_REQUEST_BYTES: 'lots' })).toThrow(ConfigError);
    expect(() => loadConfig({ DEPLOYER_MAX_REQUEST_BYTES: 'lots' })).toThrow(/DEPLOYER_MAX_REQUEST_BYTES/);
    expect(() => loadConfig({ KAFKA_BROKERS: ' , ' })).toThrow(/KAFKA_BROKERS/);
  });
});
