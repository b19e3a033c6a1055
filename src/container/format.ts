import { Container } from './store';

/**
 * Formats a duration as `docker ps` prints it ("Less than a second", "5 seconds",
 * "About a minute", "3 hours"), with the same unit steps.
 */
export function humanDuration(milliseconds: number): string {
  const seconds = Math.floor(milliseconds / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(seconds / 60);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(seconds / 3600);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(hours / 24 / 365)} years`;
}

/** Formats the STATUS column: "Up 5 seconds", "Exited (0) 3 minutes ago" or "Created". */
export function statusText(container: Container, now = Date.now()): string {
  const { state } = container;
  if (state.status === 'running') {
    return `Up ${humanDuration(now - Date.parse(state.startedAt))}`;
  }
  if (state.status === 'exited') {
    const ago = humanDuration(now - Date.parse(state.finishedAt));
    return `Exited (${state.exitCode}) ${ago} ago`;
  }
  return 'Created';
}

/** Formats the COMMAND column: the command line, quoted, cut to 20 characters with "…". */
export function commandText(container: Container, full = false): string {
  const text = container.config.argv.map(quoteArgument).join(' ');
  if (full || text.length <= 20) return `"${text}"`;
  return `"${text.slice(0, 19)}…"`;
}

/** Quotes an argument that a shell would split or expand, as `docker ps` shows it. */
function quoteArgument(argument: string): string {
  if (argument !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(argument)) return argument;
  return `'${argument.replace(/'/g, `'\\''`)}'`;
}

/** Prints rows under headers with columns padded to the widest cell plus three spaces. */
export function formatTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, i) =>
    Math.max(header.length, ...rows.map((row) => [...row[i]].length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] + 3)))
      .join('')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

/** Builds the `docker inspect` document of a container, with the fields noah has. */
export function inspectDocument(container: Container, rootfs: string): object {
  const { config, state } = container;
  return {
    Id: config.id,
    Created: config.created,
    Path: config.argv[0] ?? '',
    Args: config.argv.slice(1),
    State: {
      Status: state.status,
      Running: state.status === 'running',
      // The translator's memory is not limited by a cgroup, so no OOM kill is recorded.
      OOMKilled: false,
      Pid: state.status === 'running' ? state.pid : 0,
      ExitCode: state.exitCode,
      StartedAt: state.startedAt || '0001-01-01T00:00:00Z',
      FinishedAt: state.finishedAt || '0001-01-01T00:00:00Z',
    },
    Image: config.image,
    Name: `/${config.name}`,
    HostConfig: {
      AutoRemove: config.autoRemove,
      ReadonlyRootfs: config.readOnly,
      NetworkMode: 'host',
      ExtraHosts: config.extraHosts?.length ? config.extraHosts : null, // null when none, as Docker shows it
      // Only "no" is accepted, because noah has no daemon that could restart a container.
      RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
    },
    GraphDriver: {
      Name: 'noah-hardlink',
      Data: { Root: rootfs },
    },
    Mounts: config.mounts.map((mount) => ({
      Type: mount.type,
      Source: mount.source,
      Destination: mount.target,
      Mode: mount.readonly ? 'ro' : '',
      RW: !mount.readonly,
    })),
    Config: {
      Hostname: config.hostname,
      User: config.user,
      Tty: config.tty,
      OpenStdin: config.interactive,
      Env: config.env,
      Cmd: config.cmd,
      Image: config.imageName,
      WorkingDir: config.workingDir,
      Entrypoint: config.entrypoint,
      StopSignal: config.stopSignal,
      Labels: config.labels ?? {},
    },
    NetworkSettings: {
      // The container uses the host's network stack, so, as with Docker's --network host, it
      // has no address, gateway or MAC address of its own.
      IPAddress: '',
      Networks: { host: { IPAddress: '', Gateway: '', MacAddress: '' } },
    },
  };
}
