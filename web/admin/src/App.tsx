import * as React from "react";
import { createBrowserRouter, Link, RouterProvider } from "react-router";
import { useTranslation } from "react-i18next";
import { Layout } from "@/components/layout";
import { Loading } from "@/components/page";
import { RequireAdmin } from "@/lib/auth";
import LoginPage from "@/pages/login";

// Each area is one lazily loaded module under src/pages/<area>/index.tsx
// whose default export renders its own nested <Routes>.
const areas = {
  products: React.lazy(() => import("@/pages/products")),
  customers: React.lazy(() => import("@/pages/customers")),
  users: React.lazy(() => import("@/pages/users")),
  orders: React.lazy(() => import("@/pages/orders")),
  instances: React.lazy(() => import("@/pages/instances")),
  payments: React.lazy(() => import("@/pages/payments")),
  invoices: React.lazy(() => import("@/pages/invoices")),
  coupons: React.lazy(() => import("@/pages/coupons")),
  tickets: React.lazy(() => import("@/pages/tickets")),
  notifications: React.lazy(() => import("@/pages/notifications")),
  plugins: React.lazy(() => import("@/pages/plugins")),
  logs: React.lazy(() => import("@/pages/logs")),
  account: React.lazy(() => import("@/pages/account")),
};
const Dashboard = React.lazy(() => import("@/pages/dashboard"));

function NotFound() {
  const { t } = useTranslation();
  return (
    <div className="grid gap-2">
      <h1 className="text-xl font-semibold">{t("notFound")}</h1>
      <Link className="text-primary underline" to="/">
        {t("backHome")}
      </Link>
    </div>
  );
}

/** The router basename: the path of <base href> ([server].admin_path). */
function basename(): string {
  const path = new URL(document.baseURI).pathname.replace(/\/+$/, "");
  return path || "/";
}

const router = createBrowserRouter(
  [
    { path: "/login", element: <LoginPage /> },
    {
      path: "/",
      element: (
        <RequireAdmin>
          <Layout />
        </RequireAdmin>
      ),
      children: [
        {
          index: true,
          element: (
            <React.Suspense fallback={<Loading />}>
              <Dashboard />
            </React.Suspense>
          ),
        },
        ...Object.entries(areas).map(([path, Area]) => ({
          path: `${path}/*`,
          element: (
            <React.Suspense fallback={<Loading />}>
              <Area />
            </React.Suspense>
          ),
        })),
        { path: "*", element: <NotFound /> },
      ],
    },
  ],
  { basename: basename() },
);

export default function App() {
  return <RouterProvider router={router} />;
}
