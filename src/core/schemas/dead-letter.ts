// Rejection records on `deployer.requests.dlq` (scheduler-kafka-v1, "Dead letters").
import { z } from 'zod';

export const deadLetterSchema = z.strictObject({
  reason: z.string().min(1),
  issues: z.array(
    z.object({
      path: z.array(z.union([z.string(), z.number()])),
      message: z.string(),
      /** Where the field is in the original text, when that is a TOSCA template (a Deployer extension). */
      line: z.number().int().min(1).optional(),
      column: z.number().int().min(1).optional(),
    }),
  ),
  topic: z.string(),
  partition: z.number().int().min(0),
  offset: z.string(),
  original: z.string(),
  originalEncoding: z.enum(['utf8', 'base64']),
  /**
   * The original's length in bytes, given only when the dead letter whole would have been
   * larger than the largest request (a Deployer extension): then `original` holds the
   * original's beginning, `issues` the first ones, `reason` its beginning.
   */
  originalBytes: z.number().int().min(1).optional(),
});

export type DeadLetter = z.infer<typeof deadLetterSchema>;
