// Daily charts of the dashboard, drawn with the theme's CSS variables so
// they read in both light and dark mode.
import * as React from "react";
import { useTranslation } from "react-i18next";
import {
  Area, AreaChart, Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis,
} from "recharts";
import { TitledCard } from "@/components/page";
import type { DailySeries } from "@/gen/rustbill/system/system_pb";
import { sumMoney, sumCount } from "./numbers";

/** Charts draw at once for users who asked the system for less motion. */
const ANIMATE = !window.matchMedia("(prefers-reduced-motion: reduce)").matches;

/** One row per day with every series as a number, oldest first. */
type Day = { date: string } & Record<string, number | string>;

function byDay(series: DailySeries[]): Day[] {
  const days = new Map<string, Day>();
  for (const one of series) {
    for (const point of one.points) {
      const day = days.get(point.date) ?? { date: point.date };
      day[one.name] = Number(point.value) || 0;
      days.set(point.date, day);
    }
  }
  return [...days.values()].sort((a, b) => a.date.localeCompare(b.date));
}

const axis = { stroke: "var(--border)", tick: { fill: "var(--muted-foreground)", fontSize: 12 } };
const tooltip = {
  contentStyle: {
    background: "var(--card)",
    border: "1px solid var(--border)",
    borderRadius: 8,
    color: "var(--foreground)",
    fontSize: 12,
  },
  labelStyle: { color: "var(--muted-foreground)" },
  cursor: { fill: "var(--muted)", stroke: "var(--border)" },
};
const legendStyle = { fontSize: 12, color: "var(--muted-foreground)" };

function ChartCard({ title, summary, children }: { title: string; summary: React.ReactNode; children: React.ReactElement }) {
  return (
    <TitledCard title={title} description={summary}>
      {/* The paid colour is set per theme; the rest are theme tokens. */}
      <div className="h-72 [--chart-paid:oklch(0.6_0.15_150)] dark:[--chart-paid:oklch(0.75_0.15_150)]">
        <ResponsiveContainer width="100%" height="100%">
          {children}
        </ResponsiveContainer>
      </div>
    </TitledCard>
  );
}

function seriesOf(series: DailySeries[], name: string): DailySeries | undefined {
  return series.find((one) => one.name === name);
}

export function RevenueChart({ series, currency, days }: { series: DailySeries[]; currency: string; days: number }) {
  const { t } = useTranslation("dashboard");
  const data = byDay(series.filter((one) => one.name === "revenue" || one.name === "refunds"));
  const money = (value: unknown) => `${Number(value).toFixed(2)} ${currency}`.trim();
  return (
    <ChartCard
      title={t("chart.revenue")}
      summary={t("chart.revenueSummary", {
        days,
        revenue: `${sumMoney(seriesOf(series, "revenue"))} ${currency}`.trim(),
        refunds: `${sumMoney(seriesOf(series, "refunds"))} ${currency}`.trim(),
      })}
    >
      <AreaChart data={data} margin={{ top: 8, right: 8, left: 0, bottom: 0 }}>
        <defs>
          <linearGradient id="dashboard-revenue" x1="0" y1="0" x2="0" y2="1">
            <stop offset="0%" stopColor="var(--primary)" stopOpacity={0.35} />
            <stop offset="100%" stopColor="var(--primary)" stopOpacity={0} />
          </linearGradient>
        </defs>
        <CartesianGrid strokeDasharray="3 3" stroke="var(--border)" vertical={false} />
        <XAxis dataKey="date" tickFormatter={(date: string) => date.slice(5)} {...axis} />
        <YAxis width={56} {...axis} />
        <Tooltip {...tooltip} formatter={(value) => money(value)} />
        <Legend wrapperStyle={legendStyle} />
        <Area
          isAnimationActive={ANIMATE}
          type="monotone"
          dataKey="revenue"
          name={t("series.revenue")}
          stroke="var(--primary)"
          strokeWidth={2}
          fill="url(#dashboard-revenue)"
        />
        <Area isAnimationActive={ANIMATE} type="monotone" dataKey="refunds" name={t("series.refunds")} stroke="var(--destructive)" strokeWidth={2} fill="none" />
      </AreaChart>
    </ChartCard>
  );
}

export function OrdersChart({ series, days }: { series: DailySeries[]; days: number }) {
  const { t } = useTranslation("dashboard");
  const data = byDay(series.filter((one) => one.name === "orders_created" || one.name === "orders_paid"));
  return (
    <ChartCard
      title={t("chart.orders")}
      summary={t("chart.ordersSummary", {
        days,
        created: sumCount(seriesOf(series, "orders_created")),
        paid: sumCount(seriesOf(series, "orders_paid")),
        customers: sumCount(seriesOf(series, "customers_created")),
      })}
    >
      <BarChart data={data} margin={{ top: 8, right: 8, left: 0, bottom: 0 }}>
        <CartesianGrid strokeDasharray="3 3" stroke="var(--border)" vertical={false} />
        <XAxis dataKey="date" tickFormatter={(date: string) => date.slice(5)} {...axis} />
        <YAxis width={40} allowDecimals={false} {...axis} />
        <Tooltip {...tooltip} />
        <Legend wrapperStyle={legendStyle} />
        <Bar isAnimationActive={ANIMATE} dataKey="orders_created" name={t("series.ordersCreated")} fill="var(--primary)" radius={[3, 3, 0, 0]} />
        <Bar isAnimationActive={ANIMATE} dataKey="orders_paid" name={t("series.ordersPaid")} fill="var(--chart-paid)" radius={[3, 3, 0, 0]} />
      </BarChart>
    </ChartCard>
  );
}
