// List pages keep their paging and filters in the URL (?page=2&status=paid),
// so a filtered view can be bookmarked, shared and reloaded.
import { useSearchParams } from "react-router";
import { useCallback, useMemo } from "react";
import { keepPreviousData, useQuery } from "@tanstack/react-query";

export const PAGE_SIZES = [10, 20, 50, 100] as const;

export interface ListState<F extends string> {
  page: number;
  pageSize: number;
  filters: Record<F, string>;
  /** The request's `page` field. */
  pageRequest: { page: number; pageSize: number };
  setPage: (page: number) => void;
  setPageSize: (size: number) => void;
  /** Sets one filter and goes back to page 1. */
  setFilter: (name: F, value: string) => void;
  setFilters: (values: Partial<Record<F, string>>) => void;
  /** True while any filter is set. */
  filtered: boolean;
  /** Clears every filter and goes back to page 1. */
  clearFilters: () => void;
}

export function useListState<F extends string>(filterNames: readonly F[], defaultPageSize = 20): ListState<F> {
  const [params, setParams] = useSearchParams();
  const page = Math.max(1, Number(params.get("page")) || 1);
  const sizeParam = Number(params.get("size"));
  const pageSize = (PAGE_SIZES as readonly number[]).includes(sizeParam) ? sizeParam : defaultPageSize;
  const filtersKey = filterNames.map((name) => params.get(name) ?? "").join("\u0000");
  const filters = useMemo(() => {
    const values = {} as Record<F, string>;
    for (const name of filterNames) values[name] = params.get(name) ?? "";
    return values;
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [filtersKey]);
  const update = useCallback(
    (change: (next: URLSearchParams) => void) =>
      setParams((current) => {
        const next = new URLSearchParams(current);
        change(next);
        return next;
      }),
    [setParams],
  );
  return {
    page,
    pageSize,
    filters,
    pageRequest: { page, pageSize },
    setPage: (value) => update((next) => (value <= 1 ? next.delete("page") : next.set("page", String(value)))),
    setPageSize: (value) =>
      update((next) => {
        next.set("size", String(value));
        next.delete("page");
      }),
    setFilter: (name, value) =>
      update((next) => {
        if (value) next.set(name, value);
        else next.delete(name);
        next.delete("page");
      }),
    setFilters: (values) =>
      update((next) => {
        for (const [name, value] of Object.entries(values) as [string, string | undefined][]) {
          if (value) next.set(name, value);
          else next.delete(name);
        }
        next.delete("page");
      }),
    filtered: Object.values<string>(filters).some(Boolean),
    clearFilters: () =>
      update((next) => {
        for (const name of filterNames) next.delete(name);
        next.delete("page");
      }),
  };
}

/**
 * The query of a list page: keyed `[...key, "list", page, size, filters]`
 * (so invalidating `key` refreshes it); the page on screen stays while the
 * next one loads.
 */
export function useListQuery<F extends string, R>(
  key: readonly unknown[],
  list: ListState<F>,
  fetch: (pagination: { page: number; pageSize: number }) => Promise<R>,
) {
  return useQuery({
    queryKey: [...key, "list", list.page, list.pageSize, list.filters],
    queryFn: () => fetch(list.pageRequest),
    placeholderData: keepPreviousData,
  });
}
