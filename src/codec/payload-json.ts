// Payloads in proto3 JSON, the form of `temporal workflow show -o json` and of Temporal's
// remote codec protocol: every bytes field (data, each metadata value) is base64.
import type { Payload } from '@temporalio/common';
import { z } from 'zod';

// proto3 JSON accepts standard and URL-safe base64, padded or not.
const base64 = z.string().regex(/^[A-Za-z0-9+/_-]*={0,2}$/, 'must be base64');

export const jsonPayloadSchema = z.object({ metadata: z.record(z.string(), base64).optional(), data: base64.optional() });
export type JsonPayload = z.infer<typeof jsonPayloadSchema>;

export function payloadFromJson(p: JsonPayload): Payload {
  return {
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
    data: Buffer.from(p.data ?? '', 'base64'),
  };
}

export function payloadToJson(p: Payload): JsonPayload {
  return {
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
    data: Buffer.from(p.data ?? []).toString('base64'),
  };
}
