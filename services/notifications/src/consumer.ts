// The events consumer: reads tracemesh:events with the consumer group, turns each event into
// notifications, stores them, and acknowledges the entry only after the writes succeeded.
// Entries a dead consumer left pending are claimed after claimIdleMs; entries delivered more than
// maxDeliveries times, and malformed ones, go to the dead-letter stream.
import { faultAttributes, type Faults } from "@tracemesh/flags";
import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Link } from "@opentelemetry/api";
import {
  EVENTS_CONSUMER_GROUP,
  EVENTS_STREAM,
  MalformedEventError,
  decodeEvent,
  errorText,
  eventSpanAttributes,
  extractEventTraceContext,
  logHandled,
  type ActivityEvent,
  type Logger,
} from "@tracemesh/runtime";
import { mentionedHandles } from "@tracemesh/domain";
import type { ConsumerConfig } from "./config.js";
import type { NotificationsStore, StoredNotification, StreamEntry } from "./store.js";
import type { KnownUsers } from "./users.js";

const BATCH_SIZE = 50;
const EXCERPT_LENGTH = 80;
const BACKOFF_START_MS = 200;
const BACKOFF_MAX_MS = 5_000;

const tracer = trace.getTracer("@tracemesh/notifications");

/**
 * The notifications one event produces (mentions only for handles users knows, asked only when the message
 * mentions someone; nobody is notified of their own act).
 */
export async function planNotifications(entryId: string, event: ActivityEvent, knownUsers: KnownUsers): Promise<StoredNotification[]> {
  const createdAt = new Date(event.createdAt);
  const excerpt = [...(event.message ?? "")].slice(0, EXCERPT_LENGTH).join("");
  const out: StoredNotification[] = [];
  const add = (recipient: string, kind: StoredNotification["kind"], activityUuid: string, text: string) =>
    out.push({ id: `${entryId}:${recipient}:${kind}`, recipient, kind, actorHandle: event.actor, activityUuid, excerpt: text, createdAt });

  if (event.type === "activity.replied" || event.type === "activity.liked") {
    if (!event.targetHandle) throw new MalformedEventError(`${event.type} without target_handle`);
  }
  if (event.type === "activity.replied") {
    if (!event.targetActivityUuid) throw new MalformedEventError("activity.replied without target_activity_uuid");
    if (event.targetHandle !== event.actor) add(event.targetHandle!, "reply", event.targetActivityUuid, excerpt);
  }
  if (event.type === "activity.liked" && event.targetHandle !== event.actor) {
    add(event.targetHandle!, "like", event.activityUuid, "");
  }
  if (event.type !== "activity.liked" && event.message) {
    // The author of the replied-to activity already gets a REPLY for this event.
    const already = new Set(out.map((n) => n.recipient));
    const candidates = mentionedHandles(event.message).filter((h) => h !== event.actor && !already.has(h));
    const existing = await knownUsers(candidates);
    for (const handle of candidates) if (existing.has(handle)) add(handle, "mention", event.activityUuid, excerpt);
  }
  return out;
}

type LoopState = "idle" | "running" | "stopping" | "stopped";

export class EventsConsumer {
  private state: LoopState = "idle";
  private loopDone: Promise<void> = Promise.resolve();
  private wake: () => void = () => {};
  private claimStart = "0-0";
  private nextClaimAt = 0;

  constructor(
    private readonly store: NotificationsStore,
    /** Which mentioned handles are users (users' BatchGetUsers); failing, the entry is left pending. */
    private readonly knownUsers: KnownUsers,
    private readonly logger: Logger,
    private readonly config: ConsumerConfig,
    /** The failure scenarios (notifications-stall); none when absent. */
    private readonly faults?: Faults,
  ) {}

  /** Starts the loop in the root context: polling (XREADGROUP, XAUTOCLAIM) must not create traces. */
  start(): void {
    if (this.state !== "idle") return;
    this.state = "running";
    this.loopDone = context.with(ROOT_CONTEXT, () => this.loop());
  }

  /** Stops polling and waits (at most timeoutMs) for the batch in flight to finish. */
  async stop(timeoutMs: number): Promise<void> {
    if (this.state === "running") this.state = "stopping";
    this.wake();
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([this.loopDone, bound]);
    clearTimeout(timer);
  }

  private async loop(): Promise<void> {
    let backoffMs = 0;
    let groupReady = false;
    const { consumerName } = this.config;
    this.logger.info({ consumer: consumerName, stream: EVENTS_STREAM, group: EVENTS_CONSUMER_GROUP }, "consuming events");
    while (this.state === "running") {
      try {
        if (!groupReady) {
          await this.store.ensureGroup();
          groupReady = true;
        }
        if (Date.now() >= this.nextClaimAt) {
          this.nextClaimAt = Date.now() + this.config.claimIntervalMs;
          await this.claimStale();
        }
        const entries = await this.store.readNew(consumerName, BATCH_SIZE, this.config.blockMs);
        await this.handleBatch(entries);
        backoffMs = 0;
      } catch (err) {
        // Redis down, timed out, or the stream/group vanished: log, back off, try again.
        groupReady = false;
        backoffMs = Math.min(backoffMs === 0 ? BACKOFF_START_MS : backoffMs * 2, BACKOFF_MAX_MS);
        this.logger.warn({ err: errorText(err), backoff_ms: backoffMs }, "events consumer error; retrying");
        await this.sleep(backoffMs);
      }
    }
    this.state = "stopped";
    this.logger.info({ consumer: consumerName }, "events consumer stopped");
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** Claims entries left pending too long; the ones delivered too often are dead-lettered. */
  private async claimStale(): Promise<void> {
    const { consumerName, claimIdleMs, maxDeliveries } = this.config;
    const { next, entries } = await this.store.claimStale(consumerName, claimIdleMs, this.claimStart, BATCH_SIZE);
    this.claimStart = next;
    if (entries.length === 0) return;
    const counts = await this.store.deliveryCounts(entries.map((e) => e.id));
    this.logger.info({ claimed: entries.length }, "claimed stale pending events");
    const retries: StreamEntry[] = [];
    for (const entry of entries) {
      if (this.state !== "running") return;
      const deliveries = counts.get(entry.id) ?? 0;
      if (deliveries > maxDeliveries) {
        await this.store.deadLetter(entry, `delivered ${deliveries} times (max ${maxDeliveries})`, consumerName);
        this.logger.warn({ stream_id: entry.id, deliveries }, "event dead-lettered after too many deliveries");
      } else {
        retries.push(entry);
      }
    }
    await this.handleBatch(retries);
  }

  /**
   * A batch's entries side by side: each waits only for its own Redis writes and users call, not for the
   * entries read before it (one at a time, the last of n entries waited n entries' round trips). Storage
   * is per entry and idempotent, so their order does not matter. Under notifications-stall they go one at
   * a time, each after its pause, so that the backlog builds up as a slow consumer's would.
   */
  private async handleBatch(entries: StreamEntry[]): Promise<void> {
    let next = 0;
    while (next < entries.length) {
      // Read before each entry, so that switching the fault off takes effect at the next one.
      const stallMs = await this.faults?.value("notifications-stall");
      if (!stallMs) break;
      await this.sleep(stallMs);
      await this.handle(entries[next++]!, stallMs);
    }
    await Promise.all(entries.slice(next).map((entry) => this.handle(entry)));
  }

  /**
   * One entry in a CONSUMER span that continues the producer's trace (child of its context, plus a
   * link to it). A failed write leaves the entry pending for a later claim; it never stops the loop.
   */
  private async handle(entry: StreamEntry, stallMs?: number): Promise<void> {
    // notifications-stall: the pause happens before the CONSUMER span starts (handleBatch), so the trace
    // shows it as the gap between producer and consumer, and entries pile up pending (XPENDING) behind it.
    const producer = extractEventTraceContext(entry.fields);
    const producerSpan = trace.getSpanContext(producer);
    const links: Link[] = producerSpan && trace.isSpanContextValid(producerSpan) ? [{ context: producerSpan }] : [];
    const span = tracer.startSpan(
      `process ${EVENTS_STREAM}`,
      {
        kind: SpanKind.CONSUMER,
        links,
        attributes: {
          ...eventSpanAttributes("process"),
          "messaging.message.id": entry.id,
          ...(stallMs ? faultAttributes("notifications-stall", stallMs) : {}),
        },
      },
      producer,
    );
    await context.with(trace.setSpan(producer, span), async () => {
      const started = process.hrtime.bigint();
      let outcome = "processed";
      try {
        outcome = await this.process(entry);
      } catch (err) {
        outcome = "left pending";
        span.recordException(err as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: errorText(err) });
        this.logger.warn({ err: errorText(err), stream_id: entry.id }, "event not processed; left pending");
      } finally {
        // The one line per event (runtime's request-log), inside the CONSUMER span: it carries the trace's ids.
        logHandled(this.logger, "event", { redis_stream: EVENTS_STREAM, stream_id: entry.id, outcome }, started, outcome === "left pending");
        span.end();
      }
    });
  }

  /** Stores the entry's notifications and acknowledges it; resolves what became of it. */
  private async process(entry: StreamEntry): Promise<"processed" | "dead-lettered"> {
    let notifications: StoredNotification[];
    try {
      const event = decodeEvent(entry.fields);
      trace.getActiveSpan()?.setAttributes({ "app.event.type": event.type, "enduser.id": event.actor, "app.user.handle": event.actor });
      notifications = await planNotifications(entry.id, event, this.knownUsers);
    } catch (err) {
      if (!(err instanceof MalformedEventError)) throw err;
      await this.store.deadLetter(entry, err.message, this.config.consumerName);
      this.logger.warn({ stream_id: entry.id, reason: err.message }, "malformed event dead-lettered");
      return "dead-lettered";
    }
    await this.store.saveNotifications(notifications);
    // Only now: a crash before this line means redelivery, and storage is idempotent.
    await this.store.ack(entry.id);
    trace.getActiveSpan()?.setAttribute("app.result_length", notifications.length);
    return "processed";
  }
}
