import * as React from "react";
import { useTranslation } from "react-i18next";
import { ChevronLeft, ChevronRight } from "lucide-react";
import { Button } from "@rustbill/ui/button";
import { Select } from "@rustbill/ui/input";
import { Table, TBody, TD, TH, THead, TR } from "@rustbill/ui/table";
import { formatDateTime } from "@rustbill/ui/utils";
import { QueryError } from "@/components/page";
import { PAGE_SIZES } from "@/lib/list";

export interface Column<T> {
  key: string;
  header: React.ReactNode;
  cell: (row: T) => React.ReactNode;
  className?: string;
}

/** A date and time in the page's language. */
function DateTime({ value }: { value: string | undefined }) {
  const { i18n } = useTranslation();
  return <>{formatDateTime(value, i18n.language)}</>;
}

/** A column of a date and time, kept on one line. */
export function timeColumn<T>(key: string, header: React.ReactNode, time: (row: T) => string | undefined): Column<T> {
  return { key, header, className: "whitespace-nowrap", cell: (row) => <DateTime value={time(row)} /> };
}

/** The pager's state and setters: a list's useListState (or a sub-table's own). */
export interface Paging {
  pageSize: number;
  setPage: (page: number) => void;
  setPageSize: (size: number) => void;
}

export interface PageMetaLike {
  total: bigint;
  page: number;
  pageSize: number;
  totalPages: number;
}

/**
 * A server-paginated table. Rows come from the current page only; the pager
 * changes the URL (see useListState), which refetches.
 */
export function DataTable<T>({
  columns,
  rows,
  rowKey,
  meta,
  loading,
  error,
  paging,
  selection,
  onRowClick,
}: {
  columns: Column<T>[];
  rows: T[] | undefined;
  rowKey: (row: T) => string;
  meta?: PageMetaLike;
  loading?: boolean;
  error?: unknown;
  paging?: Paging;
  /** Checkbox column: the selected keys and a setter. */
  selection?: { selected: Set<string>; onChange: (selected: Set<string>) => void };
  onRowClick?: (row: T) => void;
}) {
  const { t } = useTranslation();
  if (error) return <QueryError error={error} />;
  const all = rows ?? [];
  const allSelected = selection !== undefined && all.length > 0 && all.every((row) => selection.selected.has(rowKey(row)));
  return (
    <div className="grid gap-3">
      <Table>
        <THead>
          <TR>
            {selection ? (
              <TH className="w-8">
                <input
                  type="checkbox"
                  aria-label={t("table.selectAll")}
                  checked={allSelected}
                  onChange={(event) =>
                    selection.onChange(event.target.checked ? new Set(all.map(rowKey)) : new Set())
                  }
                />
              </TH>
            ) : null}
            {columns.map((column) => (
              <TH key={column.key} className={column.className}>
                {column.header}
              </TH>
            ))}
          </TR>
        </THead>
        <TBody>
          {loading && !rows ? (
            <TR>
              <TD colSpan={columns.length + (selection ? 1 : 0)} className="py-8 text-center text-muted-foreground">
                {t("loading")}
              </TD>
            </TR>
          ) : all.length === 0 ? (
            <TR>
              <TD colSpan={columns.length + (selection ? 1 : 0)} className="py-8 text-center text-muted-foreground">
                {t("table.empty")}
              </TD>
            </TR>
          ) : (
            all.map((row) => {
              const key = rowKey(row);
              return (
                <TR
                  key={key}
                  data-row-key={key}
                  className={onRowClick ? "cursor-pointer" : undefined}
                  onClick={onRowClick ? () => onRowClick(row) : undefined}
                >
                  {selection ? (
                    <TD onClick={(event) => event.stopPropagation()}>
                      <input
                        type="checkbox"
                        aria-label={t("table.select")}
                        checked={selection.selected.has(key)}
                        onChange={(event) => {
                          const next = new Set(selection.selected);
                          if (event.target.checked) next.add(key);
                          else next.delete(key);
                          selection.onChange(next);
                        }}
                      />
                    </TD>
                  ) : null}
                  {columns.map((column) => (
                    <TD key={column.key} className={column.className}>
                      {column.cell(row)}
                    </TD>
                  ))}
                </TR>
              );
            })
          )}
        </TBody>
      </Table>
      {meta ? (
        <div className="flex flex-wrap items-center justify-between gap-2 text-sm text-muted-foreground">
          <span>{t("table.total", { count: Number(meta.total) })}</span>
          <div className="flex items-center gap-2">
            {paging ? (
              <Select
                aria-label={t("table.pageSize")}
                className="h-8 w-28"
                value={paging.pageSize}
                onChange={(event) => paging.setPageSize(Number(event.target.value))}
              >
                {PAGE_SIZES.map((size) => (
                  <option key={size} value={size}>
                    {t("table.perPage", { count: size })}
                  </option>
                ))}
              </Select>
            ) : null}
            <Button variant="outline" size="sm" disabled={meta.page <= 1} onClick={() => paging?.setPage(meta.page - 1)} aria-label={t("table.previous")}>
              <ChevronLeft />
            </Button>
            <span>
              {t("table.pageOf", { page: meta.page, pages: Math.max(1, meta.totalPages) })}
            </span>
            <Button
              variant="outline"
              size="sm"
              disabled={meta.page >= meta.totalPages}
              onClick={() => paging?.setPage(meta.page + 1)}
              aria-label={t("table.next")}
            >
              <ChevronRight />
            </Button>
          </div>
        </div>
      ) : null}
    </div>
  );
}
