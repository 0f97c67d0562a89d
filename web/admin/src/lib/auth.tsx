import * as React from "react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { Navigate, useLocation } from "react-router";
import type { UserInfo } from "@/gen/rustbill/identity/identity_pb";
import { api, isUnauthenticated } from "@/lib/api";

const MeContext = React.createContext<UserInfo | null>(null);

/** The logged-in admin or operator. Only inside <RequireAdmin>. */
export function useMe(): UserInfo {
  const me = React.useContext(MeContext);
  if (!me) throw new Error("useMe outside RequireAdmin");
  return me;
}

/** True for the admin role (operators may not delete, refund, change settings...). */
export function useIsAdmin(): boolean {
  return useMe().role === "admin";
}

export const ME_KEY = ["identity", "me"] as const;

/** Renders its children for a logged-in admin user; otherwise goes to /login. */
export function RequireAdmin({ children }: { children: React.ReactNode }) {
  const location = useLocation();
  const me = useQuery({
    queryKey: ME_KEY,
    queryFn: async () => (await api.identity.getMe({})).user ?? null,
    retry: (count, error) => !isUnauthenticated(error) && count < 2,
    staleTime: 60_000,
  });
  if (me.isPending) return null;
  const user = me.data;
  if (!user || user.userType !== "admin") {
    const next = location.pathname + location.search;
    return <Navigate to={`/login?next=${encodeURIComponent(next)}`} replace />;
  }
  return <MeContext.Provider value={user}>{children}</MeContext.Provider>;
}

export function useLogout() {
  const client = useQueryClient();
  return async () => {
    try {
      await api.identity.logout({});
    } finally {
      client.clear();
      window.location.assign(document.baseURI + "login");
    }
  };
}
