// Workflow histories as an operator exports them, with the real Temporal CLI, and the
// payloads in them: what tests search for what must, or must not, be readable there.
import { spawnSync } from 'node:child_process';
import { jsonPayloadSchema, type JsonPayload } from '../../src/codec/payload-json';
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
