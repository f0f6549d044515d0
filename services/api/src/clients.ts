// gRPC clients to the three backends. Every call carries the request's deadline; a backend that
// is down or too slow becomes a 503 naming it.
import { makeGenericClientConstructor, type Client, type ServiceError } from "@grpc/grpc-js";
import { service as healthService } from "grpc-health-check";
import {
  ActivitiesServiceClient,
  NotificationsServiceClient,
  UsersServiceClient,
  type AuthenticateResponse,
  type CreateActivityRequest,
  type CreateActivityResponse,
  type CreateUserResponse,
  type FeedResponse,
  type GetActivityResponse,
  type GetUserResponse,
  type LikeResponse,
  type ListNotificationsResponse,
  type ReplyRequest,
  type ReplyResponse,
  type UserFeedResponse,
} from "@tracemesh/proto";
import { callUnary, createClient, type UnaryMethod } from "@tracemesh/runtime";
import { unavailableError } from "./errors.js";

export const DEPENDENCIES = ["users", "activities", "notifications"] as const;
export type Dependency = (typeof DEPENDENCIES)[number];

async function invoke<Req, Res>(dependency: Dependency, method: UnaryMethod<Req, Res>, request: Req, deadline: Date): Promise<Res> {
  try {
    return await callUnary(method, request, { deadline });
  } catch (err) {
    throw unavailableError(err, dependency) ?? err;
  }
}

const HealthClient = makeGenericClientConstructor(healthService, "grpc.health.v1.Health");
type HealthCheck = (
  req: { service: string },
  opts: { deadline: Date },
  cb: (err: ServiceError | null, res?: { status: string | number }) => void,
) => void;
type HealthClientInstance = Client & { check: HealthCheck };

export class Backends {
  readonly users: UsersServiceClient;
  readonly activities: ActivitiesServiceClient;
  readonly notifications: NotificationsServiceClient;
  private readonly health: Record<Dependency, HealthClientInstance>;

  constructor(addrs: Record<Dependency, string>) {
    this.users = createClient(UsersServiceClient, addrs.users);
    this.activities = createClient(ActivitiesServiceClient, addrs.activities);
    this.notifications = createClient(NotificationsServiceClient, addrs.notifications);
    const healthClient = (addr: string) => createClient(HealthClient, addr) as unknown as HealthClientInstance;
    this.health = {
      users: healthClient(addrs.users),
      activities: healthClient(addrs.activities),
      notifications: healthClient(addrs.notifications),
    };
  }

  createUser(handle: string, displayName: string, deadline: Date): Promise<CreateUserResponse> {
    return invoke("users", this.users.createUser.bind(this.users), { handle, displayName }, deadline);
  }
  getUser(handle: string, deadline: Date): Promise<GetUserResponse> {
    return invoke("users", this.users.getUser.bind(this.users), { handle }, deadline);
  }
  authenticate(token: string, deadline: Date): Promise<AuthenticateResponse> {
    return invoke("users", this.users.authenticate.bind(this.users), { token }, deadline);
  }
  homeFeed(limit: number, cursor: string, deadline: Date): Promise<FeedResponse> {
    return invoke("activities", this.activities.homeFeed.bind(this.activities), { limit, cursor }, deadline);
  }
  userFeed(handle: string, limit: number, cursor: string, deadline: Date): Promise<UserFeedResponse> {
    return invoke("activities", this.activities.userFeed.bind(this.activities), { handle, limit, cursor }, deadline);
  }
  getActivity(uuid: string, deadline: Date): Promise<GetActivityResponse> {
    return invoke("activities", this.activities.getActivity.bind(this.activities), { uuid }, deadline);
  }
  createActivity(request: CreateActivityRequest, deadline: Date): Promise<CreateActivityResponse> {
    return invoke("activities", this.activities.createActivity.bind(this.activities), request, deadline);
  }
  reply(request: ReplyRequest, deadline: Date): Promise<ReplyResponse> {
    return invoke("activities", this.activities.reply.bind(this.activities), request, deadline);
  }
  like(handle: string, activityUuid: string, deadline: Date): Promise<LikeResponse> {
    return invoke("activities", this.activities.like.bind(this.activities), { handle, activityUuid }, deadline);
  }
  listNotifications(handle: string, limit: number, deadline: Date): Promise<ListNotificationsResponse> {
    return invoke("notifications", this.notifications.listNotifications.bind(this.notifications), { handle, limit }, deadline);
  }

  /** grpc.health.v1 Check of the whole server ("") of one dependency; true when SERVING. */
  serving(dependency: Dependency, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      this.health[dependency].check({ service: "" }, { deadline: new Date(Date.now() + timeoutMs) }, (err, res) => {
        // SERVING is 1 in grpc.health.v1.HealthCheckResponse.ServingStatus.
        resolve(!err && (res?.status === "SERVING" || res?.status === 1));
      });
    });
  }

  close(): void {
    for (const client of [this.users, this.activities, this.notifications, ...Object.values(this.health)]) client.close();
  }
}
