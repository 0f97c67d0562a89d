// Connect-ES clients over gRPC-Web to the endpoint config.json chose, with
// the customer's JWT as a bearer token. An expired access token is renewed
// once with the refresh token (rotated by the server) and the call retried;
// when that fails too the session ends.
import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import type { DescService } from "@bufbuild/protobuf";
import { BadRequestSchema } from "@/gen/google/rpc/error_details_pb";
import { IdentityService } from "@/gen/rustbill/identity/identity_pb";
import { ApiKeyService } from "@/gen/rustbill/downstream/downstream_pb";
import { BalanceService } from "@/gen/rustbill/balance/balance_pb";
import { BillingService } from "@/gen/rustbill/billing/billing_pb";
import { CouponService } from "@/gen/rustbill/billing/coupon_pb";
import { InstanceService } from "@/gen/rustbill/instance/instance_pb";
import { IntegrationService } from "@/gen/rustbill/integration/integration_pb";
import { OrderService } from "@/gen/rustbill/order/order_pb";
import { PaymentService } from "@/gen/rustbill/payment/payment_pb";
import { ProductService } from "@/gen/rustbill/product/product_pb";
import { ProductCategoryService } from "@/gen/rustbill/product/product_category_pb";
import { ProductGroupService } from "@/gen/rustbill/product/product_group_pb";
import { TicketService } from "@/gen/rustbill/ticket/ticket_pb";
import { apiEndpoint } from "@/lib/config";
import { session } from "@/lib/session";

/** Called when the session cannot be renewed (the app logs the user out). */
let onSessionEnded: () => void = () => {};
export function whenSessionEnds(handler: () => void) {
  onSessionEnded = handler;
}

let refreshing: Promise<boolean> | null = null;

/** Renews the access token once for all calls that failed at the same time. */
export function renewSession(): Promise<boolean> {
  refreshing ??= (async () => {
    const refreshToken = session.refreshToken();
    if (!refreshToken) return false;
    try {
      const renewed = await createClient(IdentityService, transport(false)).refreshToken({ refreshToken });
      session.save({ accessToken: renewed.accessToken, refreshToken: renewed.refreshToken, expiresIn: Number(renewed.expiresIn) });
      return true;
    } catch {
      return false;
    }
  })().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

const bearer: Interceptor = (next) => async (request) => {
  const token = session.accessToken();
  if (token) request.header.set("Authorization", `Bearer ${token}`);
  try {
    return await next(request);
  } catch (error) {
    if (!token || !(error instanceof ConnectError) || error.code !== Code.Unauthenticated) throw error;
    if (!(await renewSession())) {
      session.clear();
      onSessionEnded();
      throw error;
    }
    request.header.set("Authorization", `Bearer ${session.accessToken()}`);
    return await next(request);
  }
};

function transport(withBearer = true) {
  return createGrpcWebTransport({ baseUrl: apiEndpoint(), interceptors: withBearer ? [bearer] : [] });
}

function lazyClient<T extends DescService>(service: T): Client<T> {
  // The endpoint is only known after loadConfig(); create on first use.
  let client: Client<T> | undefined;
  return new Proxy({} as Client<T>, {
    get: (_, method) => {
      client ??= createClient(service, transport());
      return client[method as keyof Client<T>];
    },
  });
}

/** One client per service: `api.orders.listOrders({...})`. */
export const api = {
  identity: lazyClient(IdentityService),
  apiKeys: lazyClient(ApiKeyService),
  balance: lazyClient(BalanceService),
  billing: lazyClient(BillingService),
  coupons: lazyClient(CouponService),
  instances: lazyClient(InstanceService),
  integration: lazyClient(IntegrationService),
  orders: lazyClient(OrderService),
  payments: lazyClient(PaymentService),
  products: lazyClient(ProductService),
  categories: lazyClient(ProductCategoryService),
  groups: lazyClient(ProductGroupService),
  tickets: lazyClient(TicketService),
};

/** Field name → message, from the google.rpc.BadRequest details of an error. */
export function fieldErrors(error: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const detail of ConnectError.from(error).findDetails(BadRequestSchema)) {
    for (const violation of detail.fieldViolations) out[violation.field] = violation.description;
  }
  return out;
}

/** The message to show for a failed call. */
export function errorMessage(error: unknown): string {
  const connect = ConnectError.from(error);
  return connect.rawMessage || Code[connect.code];
}

export { Code, ConnectError };
