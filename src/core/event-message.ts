// How long a status event's `message` may be, and how a longer one is cut. Pure and without
// dependencies: workflow code (workflows/event-log.ts) cuts its events' messages with it too.

/** The longest `message` a status event carries. */
export const MAX_EVENT_MESSAGE = 4096;

/** `message` cut to what a status event carries, marked as cut. */
export const eventMessage = (message: string): string =>
  message.length > MAX_EVENT_MESSAGE ? `${message.slice(0, MAX_EVENT_MESSAGE - 3)}...` : message;
