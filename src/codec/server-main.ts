// Entry point of the codec server (npm run codec-server), through which an operator who
// holds DEPLOYER_CODEC_TOKEN sees decrypted payloads in the Temporal Web UI and CLI.
import { once } from 'node:events';
import { ConfigError, loadConfig } from '../config';
import { createLogger } from '../log';
import { createCodecServer } from './codec-server';
import { EncryptionCodec } from './encryption-codec';
import { loadPayloadKeys } from './payload-keys';

async function main(): Promise<void> {
  const log = createLogger('codec-server');
  const config = loadConfig();
  const { host, port, token, origins } = config.codecServer;
  if (token === undefined) throw new ConfigError('DEPLOYER_CODEC_TOKEN is not set: the codec server answers only requests that carry it');
  // Whatever DEPLOYER_PAYLOAD_ENCRYPTION says now: histories written while it was on stay encrypted.
  const codec = new EncryptionCodec(loadPayloadKeys(config.payloadEncryption.keysPath));
  const server = createCodecServer({ codec, token, origins, log });
  server.listen(port, host);
  await once(server, 'listening');
  log.info('codec server started', { url: `http://${host}:${port}`, origins });

  const stop = (signal: string) => {
    log.info('codec server stopping', { signal });
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((err) => {
  createLogger('codec-server').error('codec server stopped', { error: String(err?.stack ?? err) });
  process.exit(1);
});
