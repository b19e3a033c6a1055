import * as fs from 'node:fs';
import * as path from 'node:path';

/** One KVM capability as the addon reports it. */
export interface KvmCapability {
  name: string;
  present: boolean;
  value: number;
  required: boolean;
}

/** The state of the KVM device, from the addon's probe. */
export interface KvmProbe {
  device: string;
  usable: boolean;
  error: string;
  apiVersion: number;
  platform: string;
  capabilities: KvmCapability[];
}

/** What `cloneTree` made: directories, hard links to image files, and other entries. */
export interface CloneCounts {
  directories: number;
  files: number;
  others: number;
}

interface Addon {
  probeKvm(device?: string): KvmProbe;
  /**
   * Makes `containerRoot` a hardlink farm of `imageTree` (directories and symlinks made anew,
   * regular files linked) and writes the linked inode numbers to `inodesFile` for the
   * translator's `--shared-inodes`. Throws an Error naming the path that failed.
   */
  cloneTree(imageTree: string, containerRoot: string, inodesFile: string): CloneCounts;
  /**
   * Makes a pipe and returns [readFd, writeFd], both close-on-exec. Unlike stdio 'pipe' (a
   * socket pair), a writer whose reader closed gets EPIPE and SIGPIPE.
   */
  pipe(): [number, number];
}

const packageRoot = path.resolve(__dirname, '..');

let addon: Addon | undefined;

/** Loads the native addon built by `npm install` (node-gyp). */
export function loadAddon(): Addon {
  if (addon === undefined) {
    const file = path.join(packageRoot, 'build', 'Release', 'noah_addon.node');
    if (!fs.existsSync(file)) {
      throw new Error(`native addon not found at ${file}: run "npm install" to build it`);
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    addon = require(file) as Addon;
  }
  return addon;
}

/**
 * Returns the translator executable: `$NOAH_TRANSLATOR` when set (the tests point it at the
 * sanitizer build), else the release build from node-gyp.
 */
export function translatorPath(): string {
  const fromEnv = process.env.NOAH_TRANSLATOR;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  return path.join(packageRoot, 'build', 'Release', 'noah-translator');
}

/** The package version from package.json. */
export function packageVersion(): string {
  const manifest = JSON.parse(fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as {
    version: string;
  };
  return manifest.version;
}
