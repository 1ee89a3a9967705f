import { Counter, Registry } from 'prom-client';
import { loadConfig } from '../../src/config';
import { scrapeText, serveMetrics } from '../../src/metrics';

describe('metrics endpoint', () => {
  it('listens on loopback at 9464 for the worker and 9465 for the bridge unless told otherwise', () => {
    expect(loadConfig({ HOME: '/home/op' }).metrics).toEqual({ host: '127.0.0.1', workerPort: 9464, bridgePort: 9465 });
    expect(loadConfig({ DEPLOYER_METRICS_HOST: '0.0.0.0', DEPLOYER_METRICS_PORT: '0', DEPLOYER_BRIDGE_METRICS_PORT: '19465' }).metrics).toEqual({
      host: '0.0.0.0',
      workerPort: 0,
      bridgePort: 19465,
    });
    expect(() => loadConfig({ DEPLOYER_METRICS_PORT: '70000' })).toThrow(/DEPLOYER_METRICS_PORT/);
  });

  it('serves its registry and the text of another exporter after it, on a free port when given 0', async () => {
    const other = new Registry();
    new Counter({ name: 'temporal_example', help: 'x', registers: [other] }).inc(3);
    const sdk = await serveMetrics(other, { host: '127.0.0.1', port: 0 });
    const own = new Registry();
    new Counter({ name: 'deployer_example_total', help: 'x', registers: [own] }).inc();
    const endpoint = await serveMetrics(own, { host: '127.0.0.1', port: 0, extra: scrapeText(sdk.url) });
    try {
      expect(endpoint.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      const res = await fetch(endpoint.url);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      const text = await res.text();
      expect(text).toMatch(/^deployer_example_total 1$/m);
      expect(text).toMatch(/^temporal_example 3$/m);
      expect(text).toMatch(/^process_cpu_user_seconds_total /m);
      expect((await fetch(endpoint.url.replace('/metrics', '/'))).status).toBe(404);
    } finally {
      await endpoint.close();
      await sdk.close();
    }
  });

  it('still answers when the other exporter cannot be read, saying why in a comment', async () => {
    expect(await scrapeText('http://127.0.0.1:1/metrics', 500)()).toMatch(/^# http:\/\/127\.0\.0\.1:1\/metrics could not be read: .*\n$/);
  });
});
