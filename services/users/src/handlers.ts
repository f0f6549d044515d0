// Validation and logic of UsersService; errors are runtime RpcErrors carrying their gRPC status.
import { randomBytes } from "node:crypto";
import { BATCH_GET_USERS_MAX, checkDisplayName, checkHandle } from "@tracemesh/domain";
import { alreadyExists, invalidArgument, notFound, unauthenticated, validArgument } from "@tracemesh/runtime";
import type { Faults } from "@tracemesh/flags";
import type {
  AuthenticateRequest,
  AuthenticateResponse,
  BatchGetUsersRequest,
  BatchGetUsersResponse,
  CreateUserRequest,
  CreateUserResponse,
  GetUserRequest,
  GetUserResponse,
  User,
} from "@tracemesh/proto";
import type { StoredUser, UsersStore } from "./store.js";

// 32 random bytes in base64url are always 43 characters of this alphabet.
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

const toProto = (u: StoredUser): User => ({ handle: u.handle, displayName: u.displayName, createdAt: u.createdAt });

export class UsersHandlers {
  constructor(
    private readonly store: UsersStore,
    private readonly sessionTtlSeconds: number,
    private readonly faults?: Faults,
  ) {}

  async createUser(req: CreateUserRequest): Promise<CreateUserResponse> {
    const handle = validArgument(checkHandle(req.handle));
    const displayName = validArgument(checkDisplayName(req.displayName));
    const user: StoredUser = { handle, displayName, createdAt: new Date() };
    const token = randomBytes(32).toString("base64url");
    if (!(await this.store.createUser(user, token, this.sessionTtlSeconds))) {
      throw alreadyExists(`handle "${handle}" is taken`);
    }
    return { user: toProto(user), token };
  }

  async getUser(req: GetUserRequest): Promise<GetUserResponse> {
    const handle = validArgument(checkHandle(req.handle));
    const user = await this.store.getUser(handle);
    if (!user) throw notFound(`user "${handle}" not found`);
    return { user: toProto(user) };
  }

  async batchGetUsers(req: BatchGetUsersRequest): Promise<BatchGetUsersResponse> {
    if (req.handles.length > BATCH_GET_USERS_MAX) throw invalidArgument(`at most ${BATCH_GET_USERS_MAX} handles per call`);
    for (const handle of req.handles) validArgument(checkHandle(handle, `handle "${handle.slice(0, 30)}"`));
    // users-slow: the wait a slow dependency would cost, inside the server span the caller's deadline cuts.
    const delayMs = await this.faults?.active("users-slow");
    if (delayMs) await new Promise((resolve) => setTimeout(resolve, delayMs));
    const users = await this.store.getUsers([...new Set(req.handles)]);
    return { users: users.map(toProto) };
  }

  async authenticate(req: AuthenticateRequest): Promise<AuthenticateResponse> {
    // Malformed tokens are rejected without a Redis round trip; the message never echoes the token.
    if (!TOKEN_PATTERN.test(req.token)) throw unauthenticated("invalid or expired token");
    const handle = await this.store.sessionHandle(req.token);
    const user = handle ? await this.store.getUser(handle) : undefined;
    if (!user) throw unauthenticated("invalid or expired token");
    return { user: toProto(user) };
  }
}
