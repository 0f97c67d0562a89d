// Connect-ES clients for every public service, over gRPC-Web to the edge
// that served this page. The admin session is an HttpOnly cookie, so every
// call is made with `credentials: "include"`.
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import type { DescService } from "@bufbuild/protobuf";
import { BadRequestSchema } from "@/gen/google/rpc/error_details_pb";
import { IdentityService } from "@/gen/rustbill/identity/identity_pb";
import { CustomerService } from "@/gen/rustbill/customer/customer_pb";
import { ApiKeyService } from "@/gen/rustbill/downstream/downstream_pb";
import { BalanceService } from "@/gen/rustbill/balance/balance_pb";
import { BillingService } from "@/gen/rustbill/billing/billing_pb";
import { CouponService } from "@/gen/rustbill/billing/coupon_pb";
import { InstanceService } from "@/gen/rustbill/instance/instance_pb";
import { IntegrationService } from "@/gen/rustbill/integration/integration_pb";
import { NotificationService } from "@/gen/rustbill/notification/notification_pb";
import { OrderService } from "@/gen/rustbill/order/order_pb";
import { PaymentService } from "@/gen/rustbill/payment/payment_pb";
import { ProductService } from "@/gen/rustbill/product/product_pb";
import { ProductCategoryService } from "@/gen/rustbill/product/product_category_pb";
import { ProductGroupService } from "@/gen/rustbill/product/product_group_pb";
import { TicketService } from "@/gen/rustbill/ticket/ticket_pb";
import { SystemService } from "@/gen/rustbill/system/system_pb";

const transport = createGrpcWebTransport({
  baseUrl: window.location.origin,
  fetch: (input, init) => globalThis.fetch(input, { ...init, credentials: "include" }),
});

function client<T extends DescService>(service: T): Client<T> {
  return createClient(service, transport);
}

/** One client per service; import `api` and call e.g. `api.orders.listOrders({...})`. */
export const api = {
  identity: client(IdentityService),
  customers: client(CustomerService),
  apiKeys: client(ApiKeyService),
  balance: client(BalanceService),
  billing: client(BillingService),
  coupons: client(CouponService),
  instances: client(InstanceService),
  integration: client(IntegrationService),
  notifications: client(NotificationService),
  orders: client(OrderService),
  payments: client(PaymentService),
  products: client(ProductService),
  categories: client(ProductCategoryService),
  groups: client(ProductGroupService),
  tickets: client(TicketService),
  system: client(SystemService),
};

/** Field name → message, from the google.rpc.BadRequest details of an error. */
export function fieldErrors(error: unknown): Record<string, string> {
  const connect = ConnectError.from(error);
  const out: Record<string, string> = {};
  for (const detail of connect.findDetails(BadRequestSchema)) {
    for (const violation of detail.fieldViolations) {
      out[violation.field] = violation.description;
    }
  }
  return out;
}

/** The message to show for a failed call. */
export function errorMessage(error: unknown): string {
  const connect = ConnectError.from(error);
  return connect.rawMessage || Code[connect.code];
}

/** True when the call failed because the session is missing or expired. */
export function isUnauthenticated(error: unknown): boolean {
  return error instanceof ConnectError && error.code === Code.Unauthenticated;
}

export { Code, ConnectError };
