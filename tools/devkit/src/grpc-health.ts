import { credentials, makeGenericClientConstructor, type Client, type ServiceError } from "@grpc/grpc-js";
import { service as healthService } from "grpc-health-check";

const HealthClient = makeGenericClientConstructor(healthService, "grpc.health.v1.Health");

type Check = (
  req: { service: string },
  opts: { deadline: Date },
  cb: (err: ServiceError | null, res?: { status: string | number }) => void,
) => void;

/** Asks grpc.health.v1 whether `service` ("" = the whole server) is SERVING, within timeoutMs. */
export function grpcServing(address: string, service = "", timeoutMs = 1000): Promise<boolean> {
  const client = new HealthClient(address, credentials.createInsecure()) as unknown as Client & { check: Check };
  return new Promise<boolean>((resolve) => {
    client.check({ service }, { deadline: new Date(Date.now() + timeoutMs) }, (err, res) => {
      client.close();
      // SERVING is 1 in grpc.health.v1.HealthCheckResponse.ServingStatus.
      resolve(!err && (res?.status === "SERVING" || res?.status === 1));
    });
  });
}
