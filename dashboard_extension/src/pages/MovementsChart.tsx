// The tier movements over time, drawn with recharts. Loaded lazily by the Tiers tab (its own chunk): the widgets,
// the popup and the other tabs never download the chart library.
import { Box, Text, vars } from "@saleor/macaw-ui";
import { Bar, BarChart, CartesianGrid, Legend, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";

import type { TierMovement } from "../api";
import { useDashboard } from "../bridge";
import { DataTable } from "./blocks";
import { day } from "./ui";

const WEEK = 7 * 24 * 3600 * 1000;
export const MOVEMENT_WEEKS = 12;

// macaw-ui's theme variables: the chart follows the dashboard's light or dark theme like the rest of the page.
const COLORS = {
  up: vars.colors.text.accent1,
  down: vars.colors.text.critical1,
  axis: vars.colors.border.default1,
  grid: vars.colors.border.default1,
  label: vars.colors.text.default2,
  text: vars.colors.text.default1,
  surface: vars.colors.background.default1,
};

/** The last `count` weeks, oldest first, with the weeks nobody moved (the API lists only weeks with movements). */
export function everyWeek(moved: TierMovement[], count: number, now: Date = new Date()): TierMovement[] {
  const monday = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - ((now.getUTCDay() + 6) % 7));
  const first = monday - (count - 1) * WEEK;
  const weeks = Array.from({ length: count }, (_, index) => ({
    week: new Date(first + index * WEEK).toISOString(),
    upgrades: 0,
    downgrades: 0,
  }));
  for (const entry of moved) {
    // the nearest week start: whatever time zone the server truncated weeks in
    const index = Math.round((new Date(entry.week).getTime() - first) / WEEK);
    if (index >= 0 && index < count) weeks[index] = { ...entry };
  }
  return weeks;
}

/** Whole-number ticks from -peak to peak through 0, at most five each side. */
function ticks(peak: number): number[] {
  const step = Math.max(1, Math.ceil(peak / 4));
  const top = step * Math.ceil(peak / step);
  const up = Array.from({ length: top / step + 1 }, (_, index) => index * step);
  return [...up.slice(1).map((value) => -value).reverse(), ...up];
}

function shortDay(iso: string, locale: string): string {
  return day(iso, locale).replace(/,? \d{4}$/, "");
}

type Row = { week: string; label: string; upgrades: number; downgrades: number };

/** Upgrades (up) and downgrades (down) per week, with labelled axes, a legend and tooltips; the same numbers as a
 * table for screen readers and for anyone who prefers one. */
export default function MovementsChart({ moved }: { moved: TierMovement[] }) {
  const { locale } = useDashboard();
  const weeks = everyWeek(moved, MOVEMENT_WEEKS);
  const ups = weeks.reduce((sum, week) => sum + week.upgrades, 0);
  const downs = weeks.reduce((sum, week) => sum + week.downgrades, 0);
  const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? "" : "s"}`;
  const summary = `Over ${weeks.length} weeks: ${count(ups, "upgrade")} and ${count(downs, "downgrade")}.`;
  // downgrades are drawn below the zero line: negative values, shown as counts
  const rows: Row[] = weeks.map((week) => ({
    week: week.week,
    label: shortDay(week.week, locale),
    upgrades: week.upgrades,
    downgrades: -week.downgrades,
  }));
  const peak = Math.max(1, ...weeks.map((week) => Math.max(week.upgrades, week.downgrades)));
  const yTicks = ticks(peak);
  const tick = { fill: COLORS.label, fontSize: 11 };
  const axisLabel = { fill: COLORS.label, fontSize: 12 };
  return (
    <Box display="flex" flexDirection="column" gap={2} data-testid="movements">
      <div role="img" aria-label={`Tier movements per week. ${summary} The numbers per week are in the table below.`}>
        <ResponsiveContainer width="100%" height={260}>
          <BarChart data={rows} stackOffset="sign" margin={{ top: 8, right: 8, bottom: 24, left: 8 }} accessibilityLayer={false}>
            <CartesianGrid vertical={false} stroke={COLORS.grid} strokeDasharray="3 3" />
            <XAxis
              dataKey="label"
              interval={0}
              tick={tick}
              tickLine={false}
              axisLine={{ stroke: COLORS.axis }}
              label={{ value: "Week starting", position: "insideBottom", offset: -16, ...axisLabel }}
            />
            <YAxis
              allowDecimals={false}
              domain={[yTicks[0], yTicks[yTicks.length - 1]]}
              ticks={yTicks}
              tickFormatter={(value: number) => String(Math.abs(value))}
              tick={tick}
              tickLine={false}
              axisLine={{ stroke: COLORS.axis }}
              width={56}
              label={{ value: "Members (up ↑ / down ↓)", angle: -90, position: "insideLeft", offset: 4, style: { textAnchor: "middle" }, ...axisLabel }}
            />
            <ReferenceLine y={0} stroke={COLORS.label} />
            <Tooltip
              cursor={{ fill: vars.colors.background.default1Hovered }}
              contentStyle={{ background: COLORS.surface, borderColor: COLORS.axis, color: COLORS.text, fontSize: 12 }}
              labelStyle={{ color: COLORS.text, fontWeight: 600 }}
              labelFormatter={(_, payload) => {
                const row = payload?.[0]?.payload as Row | undefined;
                return row ? `Week of ${day(row.week, locale)}` : "";
              }}
              formatter={(value) => Math.abs(Number(value))}
              itemSorter={(item) => (item.dataKey === "upgrades" ? 0 : 1)}
            />
            <Legend
              verticalAlign="top"
              align="right"
              height={28}
              iconType="square"
              itemSorter={(item) => (item.dataKey === "upgrades" ? 0 : 1)}
              formatter={(value) => <span style={{ color: COLORS.text, fontSize: 12 }}>{value}</span>}
            />
            <Bar dataKey="upgrades" name="Upgrades" stackId="moves" fill={COLORS.up} maxBarSize={24} isAnimationActive={false} />
            <Bar dataKey="downgrades" name="Downgrades" stackId="moves" fill={COLORS.down} maxBarSize={24} isAnimationActive={false} />
          </BarChart>
        </ResponsiveContainer>
      </div>
      <Text size={2} color="default2" data-testid="movements-totals">
        Upgrades (above the line): {ups} · Downgrades (below): {downs}
      </Text>
      <details>
        <summary>
          <Text size={2}>Show as a table</Text>
        </summary>
        <DataTable columns={["Week of", "Upgrades", "Downgrades"]} label="Tier movements per week">
          {weeks.map((week) => (
            <tr key={week.week}>
              <td>{day(week.week, locale)}</td>
              <td>{week.upgrades}</td>
              <td>{week.downgrades}</td>
            </tr>
          ))}
        </DataTable>
      </details>
    </Box>
  );
}
