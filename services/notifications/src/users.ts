// What notifications knows of users: only what users' gRPC API answers (users owns that data). Used to
// notify only the mentioned handles that belong to a user.
import type { UsersServiceClient } from "@tracemesh/proto";
import { callUnary, deadlineIn } from "@tracemesh/runtime";

/** The handles among `handles` that users knows. Rejects when users does not answer in time. */
export type KnownUsers = (handles: string[]) => Promise<Set<string>>;

/**
 * One BatchGetUsers call per event, within deadlineMs. A message names at most 56 handles (280 characters,
 * `@abc ` each), below BatchGetUsers' 100.
 */
export function knownUsersFrom(users: UsersServiceClient, deadlineMs: number): KnownUsers {
  return async (handles) => {
    if (handles.length === 0) return new Set();
    const res = await callUnary(users.batchGetUsers.bind(users), { handles }, { deadline: deadlineIn(deadlineMs) });
    return new Set(res.users.map((u) => u.handle));
  };
}
