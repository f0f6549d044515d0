// Every Redis key and stream the mesh uses, in one place. The `tracemesh:` prefix keeps the
// mesh's data apart from anything else in the same Redis database.
const P = "tracemesh";

export const keys = {
  /** Hash: handle, display_name, created_at. */
  user: (handle: string) => `${P}:user:${handle}`,
  /** String holding the handle; expires with the session. */
  session: (token: string) => `${P}:session:${token}`,
  /** Hash of one activity; EXPIREAT its expires_at. */
  activity: (uuid: string) => `${P}:activity:${uuid}`,
  /** Sorted set of every top-level activity uuid by created_at in ms. */
  homeTimeline: () => `${P}:timeline:home`,
  /** Sorted set of one user's top-level activity uuids by created_at in ms. */
  userTimeline: (handle: string) => `${P}:timeline:user:${handle}`,
  /** Sorted set of reply uuids by created_at in ms. */
  replies: (uuid: string) => `${P}:replies:${uuid}`,
  /** Set of handles that liked the activity. */
  likes: (uuid: string) => `${P}:likes:${uuid}`,
  /** Sorted set of a user's notification ids by created_at in ms. */
  notifications: (handle: string) => `${P}:notifications:${handle}`,
  /** Hash of one notification. */
  notification: (id: string) => `${P}:notification:${id}`,
} as const;

/** The stream activities appends to on create, reply and like; notifications consumes it. */
export const EVENTS_STREAM = `${P}:events`;
/** Entries delivered too many times without being acknowledged end up here. */
export const EVENTS_DEAD_LETTER_STREAM = `${P}:events:dead`;
/** The consumer group every notifications replica joins. */
export const EVENTS_CONSUMER_GROUP = "notifications";
