import * as React from "react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { Navigate, useLocation } from "react-router";
import type { UserInfo } from "@/gen/rustbill/identity/identity_pb";
import { api, renewSession, whenSessionEnds } from "@/lib/api";
import { session } from "@/lib/session";

export const ME_KEY = ["identity", "me"] as const;

/**
 * The logged-in customer user, or null. At start-up a stored token is
 * checked with GetMe; a stale one is renewed once with the refresh token.
 */
export function useCurrentUser() {
  const client = useQueryClient();
  React.useEffect(() => {
    whenSessionEnds(() => client.setQueryData(ME_KEY, null));
  }, [client]);
  return useQuery({
    queryKey: ME_KEY,
    queryFn: async (): Promise<UserInfo | null> => {
      if (!session.accessToken()) return null;
      try {
        return (await api.identity.getMe({})).user ?? null;
      } catch {
        if (!(await renewSession())) {
          session.clear();
          return null;
        }
        return (await api.identity.getMe({})).user ?? null;
      }
    },
    staleTime: Number.POSITIVE_INFINITY,
    retry: false,
  });
}

/** Renders its children for a logged-in customer; otherwise goes to /login. */
export function RequireCustomer({ children }: { children: React.ReactNode }) {
  const me = useCurrentUser();
  const location = useLocation();
  if (me.isPending) return null;
  if (!me.data) return <Navigate to={`/login?next=${encodeURIComponent(location.pathname + location.search)}`} replace />;
  return <>{children}</>;
}

/** Logs in as a customer and stores the tokens. */
export function useLogin() {
  const client = useQueryClient();
  return async (username: string, password: string) => {
    const response = await api.identity.login({ username, password, userType: "customer" });
    session.save({
      accessToken: response.accessToken,
      refreshToken: response.refreshToken,
      expiresIn: Number(response.expiresIn),
      customerId: response.user?.customerId,
    });
    client.setQueryData(ME_KEY, response.user ?? null);
    return response.user;
  };
}

/** Revokes the refresh token (best effort) and forgets the session. */
export function useLogout() {
  const client = useQueryClient();
  return async () => {
    try {
      await api.identity.logout({});
    } finally {
      session.clear();
      client.clear();
      client.setQueryData(ME_KEY, null);
    }
  };
}
