import { ImageRecord, Store } from '../image/store';

/** The parts of an OCI image config that decide how a container's process starts. */
export interface ImageRunConfig {
  env: string[];
  entrypoint: string[];
  cmd: string[];
  workingDir: string;
  user: string;
}

interface ConfigBlob {
  config?: {
    Env?: string[] | null;
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    WorkingDir?: string;
    User?: string;
  };
}

/** Reads the run settings of a stored image from its config blob. */
export async function readRunConfig(store: Store, record: ImageRecord): Promise<ImageRunConfig> {
  const blob = JSON.parse((await store.readBlob(record.id)).toString('utf8')) as ConfigBlob;
  const config = blob.config ?? {};
  return {
    env: config.Env ?? [],
    entrypoint: config.Entrypoint ?? [],
    cmd: config.Cmd ?? [],
    workingDir: config.WorkingDir || '/',
    user: config.User ?? '',
  };
}

/**
 * The argv of a container's first process, as Docker merges them: the entrypoint (or the
 * --entrypoint override, where "" clears it) followed by the command line's arguments, or by
 * the image's Cmd when there are none.
 */
export function mergeCommand(
  config: ImageRunConfig,
  args: string[],
  entrypointOverride: string | undefined,
): string[] {
  let entrypoint = config.entrypoint;
  let cmd = config.cmd;
  if (entrypointOverride !== undefined) {
    entrypoint = entrypointOverride === '' ? [] : [entrypointOverride];
    // Docker drops the image's Cmd when --entrypoint is given.
    cmd = [];
  }
  return [...entrypoint, ...(args.length > 0 ? args : cmd)];
}
