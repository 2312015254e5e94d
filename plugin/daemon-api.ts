/**
 * The daemon's API as the plugin calls it: one method per route of shared/protocol/api.ts, the
 * body and the answer typed by the route (the daemon's handlers are typed by the same map).
 */
import type { ApiRequest, ApiResponse, ApiRoute } from '../shared/protocol/api.js';
import { DAEMON_TIMEOUT_MS, DaemonClient, type PendingCall } from './daemon-client.js';

/** What follows the route in a call: the request body, for the routes that take one. */
type BodyArg<R extends ApiRoute> = ApiRequest<R> extends void ? [] : [body: ApiRequest<R>];

/** The daemon's routes as typed calls over a DaemonClient. */
export class DaemonApi {
  private readonly client: DaemonClient;

  constructor(socketPath: string, timeoutMs = DAEMON_TIMEOUT_MS) {
    this.client = new DaemonClient(socketPath, timeoutMs);
  }

  /** Sends the request and returns at once (see DaemonClient.start); `answer()` waits for the reply. */
  start<R extends ApiRoute>(route: R, ...body: BodyArg<R>): PendingCall<ApiResponse<R>> {
    const space = route.indexOf(' ');
    const pending = this.client.start(route.slice(0, space) as 'GET' | 'POST', route.slice(space + 1), body[0]);
    // The daemon answers a route with its response type (daemon/api/handlers.ts `satisfies ApiHandlers`).
    return { answer: () => pending.answer() as ApiResponse<R> };
  }

  /** A whole call: request, then its answer. */
  call<R extends ApiRoute>(route: R, ...body: BodyArg<R>): ApiResponse<R> {
    return this.start(route, ...body).answer();
  }
}
