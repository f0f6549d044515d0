// The pieces the screens share: an activity card (with like), the feed with infinite scroll by
// cursor, the post and reply forms, and the error line that shows the API's message.
import { useCallback, useEffect, useRef, useState, type MouseEvent, type ReactNode } from "react";
import { api, errorMessage, expired, TTLS, type Activity, type Feed, type Ttl } from "./api";
import { Link } from "./router";
import { renderSpan } from "./tracing";
import { useAccount } from "./session";
import { ago, shortDuration } from "./time";

const MESSAGE_MAX = 280;

export function ErrorLine({ error }: { error: string }) {
  // role=alert: screen readers announce it as soon as it appears.
  return error ? <p className="error" role="alert">{error}</p> : null;
}

/** The message with @mentions linked to the profiles. */
function MessageText({ text }: { text: string }) {
  const parts = text.split(/(@[a-z0-9_]{3,20})\b/g);
  return (
    <p className="message">
      {parts.map((part, i) => (i % 2 === 1 ? <Link key={i} to={`/${part}`}>{part}</Link> : part))}
    </p>
  );
}

export function ActivityCard({ activity, now, onChange, headingLevel = 2 }: { activity: Activity; now: number; onChange: (a: Activity) => void; headingLevel?: 2 | 3 }) {
  const account = useAccount();
  const [error, setError] = useState("");
  const [liked, setLiked] = useState(false);
  const Heading = headingLevel === 2 ? "h2" : "h3";
  const name = activity.display_name ?? activity.handle;
  const like = () => {
    setError("");
    const rendered = renderSpan("like");
    api.like(activity.uuid).then(
      (r) => {
        setLiked(true);
        onChange(r.activity);
        rendered();
      },
      (err: unknown) => setError(errorMessage(err)),
    );
  };
  const expiresIn = activity.expires_at ? Date.parse(activity.expires_at) - now : undefined;
  return (
    <article className="activity" aria-labelledby={`a-${activity.uuid}`}>
      <Heading id={`a-${activity.uuid}`} className="author">
        <Link to={`/@${activity.handle}`}>{name}</Link> <span className="handle">@{activity.handle}</span>
      </Heading>
      <MessageText text={activity.message} />
      <div className="meta">
        <Link to={`/activities/${activity.uuid}`} aria-label={`Posted ${ago(activity.created_at, now)}, open the post and its replies`}>
          <time dateTime={activity.created_at ?? undefined}>{ago(activity.created_at, now)}</time>
        </Link>
        {expiresIn !== undefined && <span>expires in {shortDuration(expiresIn)}</span>}
      </div>
      <div className="actions">
        <Link className="action" to={`/activities/${activity.uuid}`} data-action="open-replies">
          {activity.replies_count} {activity.replies_count === 1 ? "reply" : "replies"}
        </Link>
        <button type="button" className="action" data-action="like" aria-pressed={liked} onClick={like} disabled={!account}
          aria-label={`Like, ${activity.likes_count} ${activity.likes_count === 1 ? "like" : "likes"}`}>
          ♥ {activity.likes_count}
        </button>
      </div>
      <ErrorLine error={error} />
    </article>
  );
}

/**
 * A feed read page by page with the API's cursor: the next page loads when the end of the list
 * scrolls into view, or with the "Load more" button (keyboard). Expired activities drop out.
 */
export function FeedList({ feedKey, load, prepend = [], now, label, empty }: {
  feedKey: string;
  load: (cursor: string | null) => Promise<Feed>;
  prepend?: Activity[];
  now: number;
  label: string;
  empty: ReactNode;
}) {
  const [items, setItems] = useState<Activity[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [state, setState] = useState<"loading" | "idle" | "done">("loading");
  const [error, setError] = useState("");
  const [namesMissing, setNamesMissing] = useState(false);
  const sentinel = useRef<HTMLDivElement>(null);
  const busy = useRef(false);
  const loadRef = useRef(load);
  loadRef.current = load;

  const fetchPage = useCallback((from: string | null, replace: boolean) => {
    if (busy.current) return;
    busy.current = true;
    setState("loading");
    setError("");
    loadRef.current(from).then(
      (feed) => {
        setItems((old) => (replace ? feed.activities : [...old, ...feed.activities.filter((a) => !old.some((o) => o.uuid === a.uuid))]));
        setCursor(feed.next_cursor);
        setNamesMissing(Boolean(feed.display_names_unavailable));
        setState(feed.next_cursor ? "idle" : "done");
        busy.current = false;
      },
      (err: unknown) => {
        setError(errorMessage(err));
        setState("idle");
        busy.current = false;
      },
    );
  }, []);

  useEffect(() => {
    setItems([]);
    setCursor(null);
    fetchPage(null, true);
  }, [feedKey, fetchPage]);

  useEffect(() => {
    const el = sentinel.current;
    if (!el || state !== "idle" || !cursor) return;
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) fetchPage(cursor, false);
    }, { rootMargin: "400px" });
    observer.observe(el);
    return () => observer.disconnect();
  }, [cursor, state, fetchPage]);

  const update = (next: Activity) => setItems((old) => old.map((a) => (a.uuid === next.uuid ? next : a)));
  const shown = [...prepend.filter((p) => !items.some((a) => a.uuid === p.uuid)), ...items].filter((a) => !expired(a, now));
  return (
    <section aria-label={label} aria-busy={state === "loading"}>
      {namesMissing && <p className="notice">Display names are unavailable right now (the users service did not answer).</p>}
      {shown.map((a) => <ActivityCard key={a.uuid} activity={a} now={now} onChange={update} />)}
      {state === "done" && shown.length === 0 && <p className="notice">{empty}</p>}
      <ErrorLine error={error} />
      <div ref={sentinel} className="feed-end">
        {state === "loading" && <p className="notice" role="status">Loading…</p>}
        {state === "idle" && cursor && (
          <button type="button" data-action="load-more" onClick={() => fetchPage(cursor, false)}>Load more</button>
        )}
        {state === "done" && shown.length > 0 && <p className="notice">That is everything.</p>}
      </div>
    </section>
  );
}

function MessageForm({ id, formLabel, label, submitLabel, action, withTtl, onDone }: {
  id: string;
  formLabel: string;
  label: string;
  submitLabel: string;
  action: string;
  withTtl: boolean;
  onDone: (message: string, ttl: Ttl) => Promise<unknown>;
}) {
  const [message, setMessage] = useState("");
  const [ttl, setTtl] = useState<Ttl>("7-days");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const length = [...message].length;
  const submit = (e: MouseEvent<HTMLButtonElement>) => {
    e.preventDefault();
    if (message.trim() === "" || length > MESSAGE_MAX) {
      setError(`A message is 1 to ${MESSAGE_MAX} characters.`);
      return;
    }
    setBusy(true);
    setError("");
    const rendered = renderSpan(action);
    // onDone calls fetch synchronously, inside this click's span.
    onDone(message, ttl).then(
      () => {
        setMessage("");
        setBusy(false);
        rendered();
      },
      (err: unknown) => {
        setError(errorMessage(err));
        setBusy(false);
      },
    );
  };
  return (
    <form className="compose" aria-label={formLabel} onSubmit={(e) => e.preventDefault()}>
      <label htmlFor={`${id}-message`}>{label}</label>
      <textarea id={`${id}-message`} value={message} rows={3} maxLength={MESSAGE_MAX * 2} aria-describedby={`${id}-count`}
        onChange={(e) => setMessage(e.target.value)} />
      <div className="compose-row">
        {withTtl && (
          <>
            <label htmlFor={`${id}-ttl`}>Expires after</label>
            <select id={`${id}-ttl`} value={ttl} onChange={(e) => setTtl(e.target.value as Ttl)}>
              {TTLS.map(([value, text]) => <option key={value} value={value}>{text}</option>)}
            </select>
          </>
        )}
        <span id={`${id}-count`} className={length > MESSAGE_MAX ? "count over" : "count"}>{MESSAGE_MAX - length} left</span>
        <button type="submit" data-action={action} onClick={submit} disabled={busy}>{busy ? "Sending…" : submitLabel}</button>
      </div>
      <ErrorLine error={error} />
    </form>
  );
}

export function Compose({ onPosted }: { onPosted: (a: Activity) => void }) {
  return <MessageForm id="compose" formLabel="New post" label="What's happening?" submitLabel="Post" action="post" withTtl
    onDone={(message, ttl) => api.post(message, ttl).then(onPosted)} />;
}

export function ReplyForm({ uuid, onReplied }: { uuid: string; onReplied: (a: Activity) => void }) {
  return <MessageForm id="reply" formLabel="Write a reply" label="Your reply" submitLabel="Reply" action="reply" withTtl={false}
    onDone={(message) => api.reply(uuid, message).then(onReplied)} />;
}
