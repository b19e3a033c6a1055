/** Summary statistics of the samples of one tool on one workload. */
export interface Summary {
  runs: number;
  median: number;
  min: number;
  max: number;
  /** Half the interquartile range divided by the median, in percent: a robust relative spread. */
  spreadPercent: number;
}

/** Returns the `q` quantile (0 to 1) of sorted values, interpolating between neighbours. */
function quantile(sorted: number[], q: number): number {
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const above = Math.ceil(position);
  return sorted[below] + (sorted[above] - sorted[below]) * (position - below);
}

export function median(values: number[]): number {
  return quantile(
    [...values].sort((a, b) => a - b),
    0.5,
  );
}

/** Summarizes at least one sample. */
export function summarize(values: number[]): Summary {
  if (values.length === 0) throw new Error('summarize: no samples');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = quantile(sorted, 0.5);
  const halfIqr = (quantile(sorted, 0.75) - quantile(sorted, 0.25)) / 2;
  return {
    runs: sorted.length,
    median: middle,
    min: sorted[0],
    max: sorted[sorted.length - 1],
    spreadPercent: middle > 0 ? (100 * halfIqr) / middle : 0,
  };
}
