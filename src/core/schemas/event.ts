// Status events on `deployer.events` (scheduler-kafka-v1, "Status events").
// Pure: imported by workflow code.
import { z } from 'zod';
import { applicationNameSchema, deploymentIdSchema } from './request';
import { MAX_EVENT_MESSAGE } from '../event-message';

export const PHASES = [
  'Accepted',
  'Rejected',
  'Building',
  'Pushing',
  'Configuring',
  'Deploying',
  'Verifying',
  'Succeeded',
  'Failed',
  'RollingBack',
  'RolledBack',
  'Cancelled',
  'Paused',
] as const;

export const phaseSchema = z.enum(PHASES);
export type Phase = z.infer<typeof phaseSchema>;

/** Every deployment ends with exactly one of these. */
export const TERMINAL_PHASES = ['Succeeded', 'RolledBack', 'Cancelled', 'Failed', 'Rejected'] as const satisfies readonly Phase[];
export type TerminalPhase = (typeof TERMINAL_PHASES)[number];

export function isTerminal(phase: Phase): phase is TerminalPhase {
  return (TERMINAL_PHASES as readonly Phase[]).includes(phase);
}

export const statusEventSchema = z.strictObject({
  deploymentId: deploymentIdSchema,
  // A Rejected event may carry an application name that failed validation, so it is free text there.
  application: z.union([applicationNameSchema, z.string().max(256)]).optional(),
  version: z.string().max(256).optional(),
  phase: phaseSchema,
  node: z.string().max(256).optional(),
  message: z.string().max(MAX_EVENT_MESSAGE),
  at: z.iso.datetime(),
  seq: z.number().int().min(1),
});

export type StatusEvent = z.infer<typeof statusEventSchema>;
