import { NotificationsServiceService, type NotificationsServiceServer } from "@tracemesh/proto";
import { unary, type GrpcService, type Logger, type Redis } from "@tracemesh/runtime";
import { NotificationsHandlers } from "./handlers.js";
import { NotificationsStore } from "./store.js";

// For tests that look at what the consumer stored (tests/test/reliability/reliability-consumer).
export { EVENTS_DEAD_LETTER_STREAM, keys as notificationsKeys } from "./store.js";

export interface NotificationsDeps {
  redis: Redis;
  logger: Logger;
}

/** The NotificationsService implementation, ready for startGrpcServer (used by main and by tests in-process). */
export function createNotificationsServer(deps: NotificationsDeps): GrpcService {
  const handlers = new NotificationsHandlers(new NotificationsStore(deps.redis));
  const implementation: NotificationsServiceServer = {
    listNotifications: unary(deps.logger, (req) => handlers.listNotifications(req)),
  };
  return { name: "tracemesh.v1.NotificationsService", definition: NotificationsServiceService, implementation };
}
