import { ActivitiesServiceService, type ActivitiesServiceServer, type UsersServiceClient } from "@tracemesh/proto";
import type { Faults } from "@tracemesh/flags";
import { unary, type GrpcService, type Logger, type Redis } from "@tracemesh/runtime";
import { ActivitiesHandlers } from "./handlers.js";
import type { ModerationClient } from "./moderation.js";
import { ActivitiesStore } from "./store.js";

export interface ActivitiesDeps {
  redis: Redis;
  logger: Logger;
  users: UsersServiceClient;
  usersDeadlineMs?: number;
  eventsMaxLen?: number;
  /** Asked before a post or reply is stored; without it nothing is moderated. */
  moderation?: ModerationClient;
  moderationDeadlineMs?: number;
  /** Milliseconds since the epoch; tests may shift it. */
  now?: () => number;
  /** The failure scenarios; none when absent. */
  faults?: Faults;
}

/** The ActivitiesService implementation, ready for startGrpcServer (used by main and by tests in-process). */
export function createActivitiesServer(deps: ActivitiesDeps): GrpcService {
  const handlers = new ActivitiesHandlers({
    store: new ActivitiesStore(deps.redis, deps.eventsMaxLen ?? 100_000),
    users: deps.users,
    logger: deps.logger,
    usersDeadlineMs: deps.usersDeadlineMs ?? 300,
    moderation: deps.moderation,
    moderationDeadlineMs: deps.moderationDeadlineMs ?? 300,
    now: deps.now ?? Date.now,
    faults: deps.faults,
  });
  const implementation: ActivitiesServiceServer = {
    homeFeed: unary(deps.logger, (req, call) => handlers.homeFeed(req, call)),
    userFeed: unary(deps.logger, (req, call) => handlers.userFeed(req, call)),
    getActivity: unary(deps.logger, (req, call) => handlers.getActivity(req, call)),
    createActivity: unary(deps.logger, (req, call) => handlers.createActivity(req, call)),
    reply: unary(deps.logger, (req, call) => handlers.reply(req, call)),
    like: unary(deps.logger, (req, call) => handlers.like(req, call)),
  };
  return { name: "tracemesh.v1.ActivitiesService", definition: ActivitiesServiceService, implementation };
}
