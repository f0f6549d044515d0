// The screens: home feed, a profile, one activity with its replies, sign up, notifications.
import { useEffect, useState, type MouseEvent, type ReactNode } from "react";
import { api, errorMessage, expired, type Activity, type Notification, type User } from "./api";
import { ActivityCard, Compose, ErrorLine, FeedList, ReplyForm } from "./components";
import { Link, navigate } from "./router";
import { markNotificationsSeen, signIn, useAccount } from "./session";
import { ago, useNow } from "./time";

function Title({ children }: { children: ReactNode }) {
  // tabIndex -1: focus moves here after a navigation, so screen readers start at the new page.
  return <h1 tabIndex={-1}>{children}</h1>;
}

export function HomePage() {
  const account = useAccount();
  const now = useNow();
  const [posted, setPosted] = useState<Activity[]>([]);
  return (
    <>
      <Title>Home</Title>
      {account ? (
        <Compose onPosted={(a) => setPosted((old) => [a, ...old])} />
      ) : (
        <p className="notice"><Link to="/signup">Sign up</Link> to post, reply and like.</p>
      )}
      <FeedList feedKey="home" label="Home feed" load={(cursor) => api.homeFeed(cursor)} prepend={posted} now={now} empty="Nothing here yet." />
    </>
  );
}

export function ProfilePage({ handle }: { handle: string }) {
  const now = useNow();
  const [user, setUser] = useState<User | null>(null);
  const [error, setError] = useState("");
  useEffect(() => {
    setUser(null);
    setError("");
    api.user(handle).then((r) => setUser(r.user), (err: unknown) => setError(errorMessage(err)));
  }, [handle]);
  return (
    <>
      <Title>{user ? user.display_name : `@${handle}`}</Title>
      {user && <p className="handle">@{user.handle} · joined {ago(user.created_at, now)}</p>}
      <ErrorLine error={error} />
      {!error && <FeedList feedKey={`@${handle}`} label={`Posts by @${handle}`} load={(cursor) => api.userFeed(handle, cursor)} now={now} empty={`@${handle} has not posted anything that is still live.`} />}
    </>
  );
}

export function ActivityPage({ uuid }: { uuid: string }) {
  const account = useAccount();
  const now = useNow();
  const [activity, setActivity] = useState<Activity | null>(null);
  const [error, setError] = useState("");
  useEffect(() => {
    setActivity(null);
    setError("");
    api.activity(uuid).then(setActivity, (err: unknown) => setError(errorMessage(err)));
  }, [uuid]);
  const replies = (activity?.replies ?? []).filter((r) => !expired(r, now));
  const gone = activity && expired(activity, now);
  return (
    <>
      <Title>Post</Title>
      <ErrorLine error={error} />
      {gone && <p className="notice" role="status">This post has expired.</p>}
      {activity && !gone && (
        <>
          <ActivityCard activity={activity} now={now} onChange={(a) => setActivity({ ...a, replies: activity.replies })} />
          <section aria-label="Replies" className="replies">
            <h2>Replies ({replies.length})</h2>
            {replies.map((r) => (
              <ActivityCard key={r.uuid} activity={r} now={now} headingLevel={3}
                onChange={(next) => setActivity({ ...activity, replies: activity.replies?.map((o) => (o.uuid === next.uuid ? next : o)) })} />
            ))}
            {account ? (
              <ReplyForm uuid={uuid} onReplied={(r) => setActivity({ ...activity, replies_count: activity.replies_count + 1, replies: [...(activity.replies ?? []), r] })} />
            ) : (
              <p className="notice"><Link to="/signup">Sign up</Link> to reply.</p>
            )}
          </section>
        </>
      )}
    </>
  );
}

export function SignupPage() {
  const [handle, setHandle] = useState("");
  const [displayName, setDisplayName] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const submit = (e: MouseEvent<HTMLButtonElement>) => {
    e.preventDefault();
    setBusy(true);
    setError("");
    // The API checks the handle and the name and says what is wrong; its message is shown as is.
    api.signUp(handle.trim(), displayName).then(
      (r) => {
        signIn({ token: r.token, handle: r.user.handle, displayName: r.user.display_name });
        navigate("/");
      },
      (err: unknown) => {
        setError(errorMessage(err));
        setBusy(false);
      },
    );
  };
  return (
    <>
      <Title>Sign up</Title>
      <form className="signup" aria-label="Sign up" onSubmit={(e) => e.preventDefault()}>
        <label htmlFor="signup-handle">Handle</label>
        <input id="signup-handle" value={handle} autoComplete="username" autoCapitalize="none" spellCheck={false}
          aria-describedby="signup-handle-help" onChange={(e) => setHandle(e.target.value)} />
        <p id="signup-handle-help" className="help">3–20 characters: a–z, 0–9 and _.</p>
        <label htmlFor="signup-name">Display name</label>
        <input id="signup-name" value={displayName} autoComplete="name" onChange={(e) => setDisplayName(e.target.value)} />
        <button type="submit" data-action="sign-up" onClick={submit} disabled={busy}>{busy ? "Signing up…" : "Sign up"}</button>
        <ErrorLine error={error} />
      </form>
    </>
  );
}

const KIND_TEXT: Record<Notification["kind"], string> = {
  reply: "replied to your post",
  like: "liked your post",
  mention: "mentioned you",
  unspecified: "did something",
};

export function NotificationsPage({ onSeen }: { onSeen: () => void }) {
  const account = useAccount();
  const now = useNow();
  const [items, setItems] = useState<Notification[] | null>(null);
  const [error, setError] = useState("");
  useEffect(() => {
    if (!account) return;
    api.notifications().then(
      (r) => {
        setItems(r.notifications);
        const newest = r.notifications[0]?.created_at;
        if (newest) markNotificationsSeen(newest);
        onSeen();
      },
      (err: unknown) => setError(errorMessage(err)),
    );
  }, [account, onSeen]);
  if (!account) {
    return (
      <>
        <Title>Notifications</Title>
        <p className="notice"><Link to="/signup">Sign up</Link> to get notified of replies, likes and @mentions.</p>
      </>
    );
  }
  return (
    <>
      <Title>Notifications</Title>
      <ErrorLine error={error} />
      {items && items.length === 0 && <p className="notice">No notifications yet.</p>}
      {items && items.length > 0 && (
        <ul className="notifications">
          {items.map((n) => (
            <li key={n.id} className={`notification ${n.kind}`}>
              <Link to={`/@${n.actor_handle}`}>@{n.actor_handle}</Link> {KIND_TEXT[n.kind]}{" "}
              <Link to={`/activities/${n.activity_uuid}`}>{n.excerpt ? `“${n.excerpt}”` : "(open the post)"}</Link>{" "}
              <time className="when" dateTime={n.created_at ?? undefined}>{ago(n.created_at, now)}</time>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

export function NotFoundPage({ path }: { path: string }) {
  return (
    <>
      <Title>Not found</Title>
      <p className="notice">There is no page at {path}. <Link to="/">Go home</Link>.</p>
    </>
  );
}
