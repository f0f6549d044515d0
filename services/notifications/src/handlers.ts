// Validation and logic of NotificationsService; errors are runtime RpcErrors carrying their gRPC status.
import { NotificationKind, type ListNotificationsRequest, type ListNotificationsResponse } from "@tracemesh/proto";
import { NOTIFICATIONS_LIMIT, checkHandle } from "@tracemesh/domain";
import { invalidArgument, validArgument } from "@tracemesh/runtime";
import type { NotificationKindName, NotificationsStore } from "./store.js";

const { default: DEFAULT_LIMIT, max: MAX_LIMIT } = NOTIFICATIONS_LIMIT;

const KIND: Record<NotificationKindName, NotificationKind> = {
  reply: NotificationKind.NOTIFICATION_KIND_REPLY,
  like: NotificationKind.NOTIFICATION_KIND_LIKE,
  mention: NotificationKind.NOTIFICATION_KIND_MENTION,
};

export class NotificationsHandlers {
  constructor(private readonly store: NotificationsStore) {}

  async listNotifications(req: ListNotificationsRequest): Promise<ListNotificationsResponse> {
    const handle = validArgument(checkHandle(req.handle));
    const limit = req.limit === 0 ? DEFAULT_LIMIT : req.limit;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
      throw invalidArgument(`limit must be 1..${MAX_LIMIT} (0 means ${DEFAULT_LIMIT})`);
    }
    const stored = await this.store.listNotifications(handle, limit);
    return {
      notifications: stored.map((n) => ({
        id: n.id,
        kind: KIND[n.kind] ?? NotificationKind.NOTIFICATION_KIND_UNSPECIFIED,
        actorHandle: n.actorHandle,
        activityUuid: n.activityUuid,
        excerpt: n.excerpt,
        createdAt: n.createdAt,
      })),
    };
  }
}
