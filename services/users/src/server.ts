import { UsersServiceService, type UsersServiceServer } from "@tracemesh/proto";
import type { Faults } from "@tracemesh/flags";
import { unary, type GrpcService, type Logger, type Redis } from "@tracemesh/runtime";
import { UsersHandlers } from "./handlers.js";
import { UsersStore } from "./store.js";

export interface UsersDeps {
  redis: Redis;
  logger: Logger;
  sessionTtlSeconds: number;
  /** The failure scenarios (users-slow); none when absent. */
  faults?: Faults;
}

/** The UsersService implementation, ready for startGrpcServer (used by main and by tests in-process). */
export function createUsersServer(deps: UsersDeps): GrpcService {
  const handlers = new UsersHandlers(new UsersStore(deps.redis), deps.sessionTtlSeconds, deps.faults);
  const implementation: UsersServiceServer = {
    createUser: unary(deps.logger, (req) => handlers.createUser(req)),
    getUser: unary(deps.logger, (req) => handlers.getUser(req)),
    batchGetUsers: unary(deps.logger, (req) => handlers.batchGetUsers(req)),
    authenticate: unary(deps.logger, (req) => handlers.authenticate(req)),
  };
  return { name: "tracemesh.v1.UsersService", definition: UsersServiceService, implementation };
}
