import { useEffect, useState } from 'react';
import { Box, Text, render, useApp, useInput } from 'ink';
import { TopTracker, topLines, type TopSample, type TopSnapshot } from './top-model.js';

/**
 * The live `top` view (ink): the lines of topLines, redrawn every interval until q, Esc or
 * Ctrl-C. Only the `top` action imports this file, so ink and React load for it alone.
 */

interface TopProps {
  first: TopSnapshot;
  tracker: TopTracker;
  sample: () => Promise<TopSample>;
  intervalMs: number;
  describe: (err: unknown) => string;
}

function Top({ first, tracker, sample, intervalMs, describe }: TopProps) {
  const { exit } = useApp();
  const [snapshot, setSnapshot] = useState(first);
  const [error, setError] = useState<string | undefined>(undefined);
  const [now, setNow] = useState(Date.now());
  useInput(
    (input, key) => {
      if (input === 'q' || key.escape || (key.ctrl && input === 'c')) exit();
    },
    { isActive: process.stdin.isTTY === true },
  );
  useEffect(() => {
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    const tick = async () => {
      try {
        const next = tracker.update(await sample());
        if (!stopped) {
          setSnapshot(next);
          setError(undefined);
        }
      } catch (err) {
        if (!stopped) setError(describe(err));
      }
      if (!stopped) {
        setNow(Date.now());
        timer = setTimeout(() => void tick(), intervalMs);
      }
    };
    timer = setTimeout(() => void tick(), intervalMs);
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, []);

  const lines = topLines(snapshot, now);
  return (
    <Box flexDirection="column">
      <Box justifyContent="space-between">
        <Text bold>{lines.header}</Text>
        <Text dimColor>q to quit</Text>
      </Box>
      {error !== undefined && <Text color="red">{error} (showing the last sample)</Text>}
      <Text> </Text>
      {lines.summary.map((line) => (
        <Text key={line.slice(0, 10)}>{line}</Text>
      ))}
      <Text> </Text>
      <Text>{lines.table}</Text>
      <Text> </Text>
      <Text bold>Recent errors</Text>
      {lines.errors.length === 0 ? <Text dimColor>none</Text> : lines.errors.map((line, i) => <Text key={i} color="yellow">{line}</Text>)}
    </Box>
  );
}

export async function runTopView(props: TopProps): Promise<void> {
  const app = render(<Top {...props} />, { exitOnCtrlC: true });
  await app.waitUntilExit();
}
