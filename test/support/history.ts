// Workflow histories as an operator exports them, with the real Temporal CLI, and the
// payloads in them: what tests search for what must, or must not, be readable there.
import { spawnSync } from 'node:child_process';
import type { LoadedDataConverter } from '@temporalio/common';
import { decodePayloads } from '../../src/codec/data-converter';
import { jsonPayloadSchema, payloadFromJson, type JsonPayload } from '../../src/codec/payload-json';
import { temporalBinary } from './temporal-binary';

/** `temporal workflow show -o json` of a workflow: its text, and the text parsed. */
export function exportHistory(address: string, workflowId: string): { text: string; json: unknown } {
  const show = spawnSync(temporalBinary(), ['workflow', 'show', '--workflow-id', workflowId, '--address', address, '-o', 'json'], { encoding: 'utf8' });
  if (show.status !== 0) throw new Error(`temporal workflow show ${workflowId} failed: ${show.stderr}`);
  return { text: show.stdout, json: JSON.parse(show.stdout) };
}

export interface FoundPayload {
  /** Where it is, e.g. `events.0.workflowExecutionStartedEventAttributes.input.payloads.0`. */
  path: string;
  payload: JsonPayload;
}

/** Every payload in an exported history: every object with an `encoding` in its metadata. */
export function payloadsIn(value: unknown, path = ''): FoundPayload[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => payloadsIn(v, `${path}.${i}`));
  if (value === null || typeof value !== 'object') return [];
  const o = value as Record<string, unknown>;
  const payload = jsonPayloadSchema.safeParse(o);
  if (payload.success && typeof payload.data.metadata?.encoding === 'string') return [{ path, payload: payload.data }];
  return Object.entries(o).flatMap(([k, v]) => payloadsIn(v, path ? `${path}.${k}` : k));
}

export interface FoundFailure {
  /** Where it is, e.g. `events.12.workflowExecutionFailedEventAttributes.failure`. */
  path: string;
  failure: { message?: string; stackTrace?: string; encodedAttributes?: JsonPayload };
}

/** Every failure in an exported history, each cause too: what Temporal shows of an error, by its `failure`, `lastFailure` or `cause` key. */
export function failuresIn(value: unknown, path = ''): FoundFailure[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => failuresIn(v, `${path}.${i}`));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => {
    const at = path ? `${path}.${k}` : k;
    const here = ['failure', 'lastFailure', 'cause'].includes(k) && v !== null && typeof v === 'object' ? [{ path: at, failure: v as FoundFailure['failure'] }] : [];
    return [...here, ...failuresIn(v, at)];
  });
}

/** What `historyText` needs of a test's Deployer: Temporal's address, and the data converter that decrypts payloads. */
export interface HistoryReader {
  config: { temporal: { address: string } };
  client: { options: { loadedDataConverter: LoadedDataConverter } };
}

/**
 * Everything a history holds as text: as stored (the export, and each payload's bytes
 * base64-decoded) and with its payloads decrypted. What the secrets tests search.
 */
export async function historyText(d: HistoryReader, workflowId: string): Promise<{ stored: string; decrypted: string }> {
  const { text, json } = exportHistory(d.config.temporal.address, workflowId);
  const payloads = payloadsIn(json).map((p) => p.payload);
  const decrypted = await decodePayloads(d.client.options.loadedDataConverter, payloads.map(payloadFromJson));
  return {
    stored: [text, ...payloads.map((p) => Buffer.from(p.data ?? '', 'base64').toString('utf8'))].join('\n'),
    decrypted: [text, ...decrypted.map((p) => Buffer.from(p.data ?? []).toString('utf8'))].join('\n'),
  };
}

/** The histories of the workflows as one text, stored and decrypted. */
export async function historiesText(d: HistoryReader, workflowIds: readonly string[]): Promise<string> {
  const texts = await Promise.all(workflowIds.map((id) => historyText(d, id)));
  return texts.map((t) => `${t.stored}\n${t.decrypted}`).join('\n');
}

/** A local activity's marker (a patch is a marker too: `core_patch`). */
export const isLocalActivityMarker = (e: { markerRecordedEventAttributes?: { markerName?: string | null } | null }): boolean =>
  e.markerRecordedEventAttributes?.markerName === 'core_local_activity';
