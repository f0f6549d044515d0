// What a long-running stand-in keeps. The real services keep data for days (Honeycomb 60, X-Ray 30, CloudWatch
// Logs as the group's retention says); a stand-in in the demo's own process keeps it in memory, so
// `tracemesh demo --keep-running` bounds it by count instead: the newest items are kept and the oldest dropped
// first, as a retention period drops them. Tests and the demo's own run keep everything (no limit): they check
// every span, segment and line they sent.

/** How many items (spans, segment documents, log events, items) a stand-in keeps; undefined keeps everything. */
export interface Retention {
  maxItems?: number;
}

/**
 * Records in arrival order, the newest kept up to `maxItems` items: a record may hold several (an export's
 * spans), and whole records are dropped, oldest first, until the rest fits. The newest record is always kept.
 */
export class RetainedRecords<T> {
  private records: T[] = [];
  /** The index of the oldest record kept: dropping moves it on; the array is compacted now and then. */
  private first = 0;
  private held = 0;
  private droppedItems = 0;

  constructor(
    private readonly retention: Retention = {},
    private readonly itemsOf: (record: T) => number = () => 1,
  ) {}

  /** Keeps `record`; returns the records dropped to make room (oldest first). */
  push(record: T): T[] {
    this.records.push(record);
    this.held += this.itemsOf(record);
    const max = this.retention.maxItems;
    if (max === undefined) return [];
    const dropped: T[] = [];
    while (this.held > max && this.records.length - this.first > 1) {
      const oldest = this.records[this.first]!;
      this.first += 1;
      const items = this.itemsOf(oldest);
      this.held -= items;
      this.droppedItems += items;
      dropped.push(oldest);
    }
    if (this.first > 1024 && this.first * 2 > this.records.length) {
      this.records = this.records.slice(this.first);
      this.first = 0;
    }
    return dropped;
  }

  /** The records kept, oldest first (a copy). */
  values(): T[] {
    return this.records.slice(this.first);
  }

  /** Items kept, and items dropped so far. */
  counts(): { kept: number; dropped: number } {
    return { kept: this.held, dropped: this.droppedItems };
  }
}
