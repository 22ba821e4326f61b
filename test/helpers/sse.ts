/**
 * Test helper: a server-sent-events reader over a real HTTP request (node:http), giving each event as it
 * arrives and telling when the server ended the stream.
 */
import { get, type IncomingMessage } from 'node:http';
import { within } from './wait.js';

export interface SseEvent {
  readonly event: string;
  readonly data: unknown;
}

export interface SseReader {
  readonly status: number;
  readonly res: IncomingMessage;
  readonly events: SseEvent[];
  /** Comment lines seen (heartbeats). */
  comments: number;
  /** Resolves when an event matching `test` has arrived (at any time). */
  next(what: string, test: (e: SseEvent) => boolean): Promise<SseEvent>;
  /** Resolves when the server ends or cuts the stream. */
  readonly ended: Promise<void>;
  close(): void;
}

/** Open `url` with `headers`; the body of a non-200 answer is in `events` as one `error` event. */
export function openSse(url: string, headers: Record<string, string> = {}): Promise<SseReader> {
  return new Promise((resolve, reject) => {
    const req = get(url, { headers }, (res) => {
      const events: SseEvent[] = [];
      const waiters = new Set<() => void>();
      let buffer = '';
      const ended = new Promise<void>((done) => res.on('close', done));
      res.setEncoding('utf8');
      const reader: SseReader = {
        status: res.statusCode ?? 0,
        res,
        events,
        comments: 0,
        next: (what, test) =>
          within(what, new Promise<SseEvent>((found) => {
            const check = (): void => {
              const e = events.find(test);
              if (e) {
                waiters.delete(check);
                found(e);
              }
            };
            waiters.add(check);
            check();
          })),
        ended,
        close: () => req.destroy(),
      };
      res.on('data', (chunk: string) => {
        buffer += chunk;
        if (res.statusCode !== 200) return;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let event = 'message';
          let data = '';
          for (const line of frame.split('\n')) {
            if (line.startsWith(':')) reader.comments++;
            else if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data += line.slice(6);
          }
          if (data !== '') events.push({ event, data: JSON.parse(data) as unknown });
        }
        for (const w of [...waiters]) w();
      });
      res.on('end', () => {
        if (res.statusCode !== 200) events.push({ event: 'error', data: JSON.parse(buffer) as unknown });
        for (const w of [...waiters]) w();
      });
      res.on('error', () => {});
      resolve(reader);
    });
    req.on('error', reject);
  });
}
