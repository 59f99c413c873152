// Samples the process's resident memory during a run to report its peak (observability layer).

/** Current resident set size in bytes. */
export function currentRss(): number {
  return Deno.memoryUsage().rss;
}

/** Samples RSS every `intervalMs` until stopped; `stop()` returns the peak in MiB. */
export function startRssSampler(intervalMs = 100): { stop(): number; peakMb(): number } {
  let peak = currentRss();
  const timer = setInterval(() => {
    const rss = currentRss();
    if (rss > peak) peak = rss;
  }, intervalMs);
  Deno.unrefTimer(timer);
  const peakMb = () => Math.round(Math.max(peak, currentRss()) / (1024 * 1024));
  return {
    stop() {
      clearInterval(timer);
      return peakMb();
    },
    peakMb,
  };
}
