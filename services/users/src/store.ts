// All of users' Redis access. A user is a hash at keys.user(handle); a session token is a string
// at keys.session(token) holding the handle, with a TTL. Only users reads or writes these keys: the other
// services learn about users through its gRPC API.
import { pipeline, redisKey, type Redis } from "@tracemesh/runtime";

/** users' Redis keys (renaming one would orphan the data stored under it). */
export const keys = {
  /** Hash: handle, display_name, created_at. */
  user: (handle: string) => redisKey("user", handle),
  /** String holding the handle; expires with the session. */
  session: (token: string) => redisKey("session", token),
} as const;

export interface StoredUser {
  handle: string;
  displayName: string;
  createdAt: Date;
}

// Creates the user hash and its first session in one atomic step, only when the handle is free:
// two concurrent sign-ups for the same handle cannot both win, and a user never exists without
// the session its creator was promised.
const CREATE_USER_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'handle', ARGV[1], 'display_name', ARGV[2], 'created_at', ARGV[3])
redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[4])
return 1
`;

function toUser(hash: Record<string, string>): StoredUser | undefined {
  if (!hash.handle) return undefined;
  return { handle: hash.handle, displayName: hash.display_name ?? "", createdAt: new Date(hash.created_at ?? 0) };
}

export class UsersStore {
  constructor(private readonly redis: Redis) {}

  /** False when the handle is already taken (nothing is written then). */
  async createUser(user: StoredUser, token: string, sessionTtlSeconds: number): Promise<boolean> {
    const created = await this.redis.eval(
      CREATE_USER_SCRIPT,
      2,
      keys.user(user.handle),
      keys.session(token),
      user.handle,
      user.displayName,
      user.createdAt.toISOString(),
      String(sessionTtlSeconds),
    );
    return created === 1;
  }

  async getUser(handle: string): Promise<StoredUser | undefined> {
    return toUser(await this.redis.hgetall(keys.user(handle)));
  }

  /** Users for the given handles in the same order; unknown handles are left out. One round trip. */
  async getUsers(handles: string[]): Promise<StoredUser[]> {
    if (handles.length === 0) return [];
    const hashes = await pipeline(this.redis, handles.map((handle) => ["hgetall", keys.user(handle)]));
    return hashes.flatMap((hash) => toUser(hash as Record<string, string>) ?? []);
  }

  /** The handle a live session token belongs to. */
  async sessionHandle(token: string): Promise<string | undefined> {
    return (await this.redis.get(keys.session(token))) ?? undefined;
  }
}
