import * as React from "react";
import { createBrowserRouter, Link, RouterProvider } from "react-router";
import { useTranslation } from "react-i18next";
import { DashboardLayout, PublicLayout } from "@/components/layout";
import { RequireCustomer } from "@/lib/auth";

// Each page module under src/pages/ is loaded lazily; a module whose area
// has sub-pages renders its own nested <Routes>.
const page = (load: () => Promise<{ default: React.ComponentType }>) => {
  const Page = React.lazy(load);
  return (
    <React.Suspense fallback={<Loading />}>
      <Page />
    </React.Suspense>
  );
};

function Loading() {
  const { t } = useTranslation();
  return <p className="text-sm text-muted-foreground">{t("loading")}</p>;
}

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

const router = createBrowserRouter([
  {
    element: <PublicLayout />,
    children: [
      { index: true, element: page(() => import("@/pages/home")) },
      { path: "catalog/*", element: page(() => import("@/pages/catalog")) },
      { path: "login", element: page(() => import("@/pages/login")) },
      { path: "register", element: page(() => import("@/pages/register")) },
      { path: "terms", element: page(() => import("@/pages/legal/terms")) },
      { path: "privacy", element: page(() => import("@/pages/legal/privacy")) },
      { path: "*", element: <NotFound /> },
    ],
  },
  {
    path: "dashboard",
    element: (
      <RequireCustomer>
        <DashboardLayout />
      </RequireCustomer>
    ),
    children: [
      { index: true, element: page(() => import("@/pages/dashboard/overview")) },
      { path: "orders/*", element: page(() => import("@/pages/dashboard/orders")) },
      { path: "instances/*", element: page(() => import("@/pages/dashboard/instances")) },
      { path: "invoices/*", element: page(() => import("@/pages/dashboard/billing/invoices")) },
      { path: "balance/*", element: page(() => import("@/pages/dashboard/billing/balance")) },
      { path: "tickets/*", element: page(() => import("@/pages/dashboard/support/tickets")) },
      { path: "api-keys/*", element: page(() => import("@/pages/dashboard/account/api-keys")) },
      { path: "settings/*", element: page(() => import("@/pages/dashboard/account/settings")) },
      { path: "*", element: <NotFound /> },
    ],
  },
]);

export default function App() {
  return <RouterProvider router={router} />;
}
