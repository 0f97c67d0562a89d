// One customer by id, as every page that names or links a customer loads it.
import { useQuery } from "@tanstack/react-query";
import { api } from "@/lib/api";

/** GetCustomer, cached under the key the customer's detail page uses (so its edits refresh every name). */
export function customerQuery(id: string) {
  return {
    queryKey: ["customers", "detail", id],
    queryFn: async () => (await api.customers.getCustomer({ id })).customer!,
  };
}

/** The customer with this id ("" loads nothing), for names and links. */
export function useCustomer(id: string) {
  return useQuery({ ...customerQuery(id), enabled: id !== "", staleTime: 60_000, retry: false });
}
