// A one-method gRPC service with string messages, so the runtime's tests need no generated code.
import { makeGenericClientConstructor, type Client, type ClientUnaryCall, type ServiceError } from "@grpc/grpc-js";

const string = { serialize: (s: string) => Buffer.from(s), deserialize: (b: Buffer) => b.toString() };

/** A client of the one method `run`, as makeGenericClientConstructor builds it. */
export type StringClient = Client & { run(req: string, opts: { deadline: Date }, cb: (err: ServiceError | null, res?: string) => void): ClientUnaryCall };

/** The service definition of `/tracemesh.test.<name>/Run` and its client constructor. */
export function stringService(name: string) {
  const definition = {
    run: {
      path: `/tracemesh.test.${name}/Run`,
      requestStream: false,
      responseStream: false,
      requestSerialize: string.serialize,
      requestDeserialize: string.deserialize,
      responseSerialize: string.serialize,
      responseDeserialize: string.deserialize,
    },
  };
  return { definition, Client: makeGenericClientConstructor(definition, name) };
}
