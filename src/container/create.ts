import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { ImageRecord, removeTree } from '../image/store';
import { mergeCommand, readRunConfig } from '../runtime/image-config';
import { buildEnv, readEnvFile } from './env';
import { ContainerError } from './errors';
import { parseExtraHost, writeEtcFiles } from './etc-files';
import {
  checkDuplicateTargets,
  MountRequest,
  parseMount,
  parseTmpfs,
  parseVolume,
  resetTmpfsFolders,
  translatorMounts,
} from './mounts';
import { buildLabels, imageLabels } from './labels';
import { checkName, randomName } from './names';
import { parseSignal } from './process';
import { cloneRootfs } from './rootfs';
import { requestSpare, takeSpare } from './spare';
import { ContainerConfig, ContainerStore, newState } from './store';
import { parseUlimit } from './ulimits';
import { resolveUser } from './user';
import { resolveInRoot } from './root-path';

/** What `noah run` and `noah create` take from the command line. */
export interface CreateOptions {
  imageName: string;
  args: string[];
  entrypoint?: string;
  env: string[];
  envFiles: string[];
  workdir?: string;
  user?: string;
  name?: string;
  hostname?: string;
  autoRemove: boolean;
  tty: boolean;
  interactive: boolean;
  volumes: string[];
  mounts: string[];
  tmpfs: string[];
  readOnly: boolean;
  stopSignal?: string;
  ulimits: string[];
  labels: string[];
  labelFiles: string[];
  extraHosts: string[];
}

/**
 * Checks the options that need no image, so that a bad name, signal or mount fails before a
 * pull. Resolves to the container's name.
 */
export async function checkCreateOptions(
  store: ContainerStore,
  options: CreateOptions,
): Promise<string> {
  if (options.name !== undefined) {
    const problem = checkName(options.name);
    if (problem !== undefined) throw new ContainerError(problem);
    await store.checkNameFree(options.name.replace(/^\//, ''));
  }
  if (options.stopSignal !== undefined) parseSignal(options.stopSignal);
  for (const ulimit of options.ulimits) parseUlimit(ulimit);
  for (const file of options.envFiles) readEnvFile(file);
  buildLabels({}, options.labelFiles, options.labels);
  for (const host of options.extraHosts) parseExtraHost(host);
  if (
    options.hostname !== undefined &&
    !/^[a-zA-Z0-9][a-zA-Z0-9.-]{0,62}$/.test(options.hostname)
  ) {
    throw new ContainerError(
      `invalid hostname "${options.hostname}": use letters, digits, . and -`,
    );
  }
  if (options.workdir !== undefined && !options.workdir.startsWith('/')) {
    throw new ContainerError(
      `the working directory "${options.workdir}" is invalid: it must be an absolute path`,
    );
  }
  return options.name?.replace(/^\//, '') ?? (await freeRandomName(store));
}

async function freeRandomName(store: ContainerStore): Promise<string> {
  return pickFreeName(new Set((await store.list()).map((c) => c.config.name)));
}

function pickFreeName(taken: Set<string>): string {
  for (let attempt = 0; ; attempt++) {
    const name = randomName(attempt);
    if (!taken.has(name)) return name;
  }
}

/**
 * Creates a container of `image`: its root, etc files, mount folders and records, assembled
 * in tmp/ and moved into containers/ in one rename. On any failure nothing is left behind,
 * except a -v source folder that Docker would have created too.
 */
export async function createContainer(
  store: ContainerStore,
  image: ImageRecord,
  name: string,
  options: CreateOptions,
): Promise<ContainerConfig> {
  const requests = mountRequests(options);
  const imageConfig = await readRunConfig(store.images, image);
  const argv = mergeCommand(imageConfig, options.args, options.entrypoint);
  if (argv.length === 0) {
    throw new ContainerError(
      `no command specified: image ${options.imageName} has no Cmd or Entrypoint`,
    );
  }
  const id = ContainerStore.newId();
  const finalDir = store.dir(id);
  const folder = store.images.temporaryPath('container');
  const root = path.join(folder, 'rootfs');
  const spare = await takeSpare(store.images, image.chainId, folder);
  if (!spare) await fsp.mkdir(folder);
  try {
    if (!spare) {
      const imageTree = store.images.rootfsPath(image.chainId);
      cloneRootfs(imageTree, root, path.join(folder, 'shared-inodes'));
    }
    requestSpare(store.images, image.chainId);
    const userSpec = options.user ?? imageConfig.user;
    const user = await resolveUser(root, userSpec);
    const workingDir = options.workdir ?? imageConfig.workingDir;
    if (workingDir !== undefined && workingDir !== '') await resolveInRoot(root, workingDir, true);
    const hostname = options.hostname ?? id.slice(0, 12);
    const config: ContainerConfig = {
      id,
      name,
      created: new Date().toISOString(),
      image: image.id,
      imageName: options.imageName,
      chainId: image.chainId,
      entrypoint:
        options.entrypoint === undefined ? imageConfig.entrypoint : argvOf(options.entrypoint),
      cmd:
        options.args.length > 0
          ? options.args
          : options.entrypoint === undefined
            ? imageConfig.cmd
            : [],
      argv,
      env: buildEnv({
        hostname,
        home: user.home,
        imageEnv: imageConfig.env,
        envFiles: options.envFiles,
        values: options.env,
      }),
      workingDir: options.workdir ?? imageConfig.workingDir,
      user: userSpec,
      resolvedUser: { uid: user.uid, gid: user.gid, groups: user.groups },
      hostname,
      mounts: translatorMounts(requests, finalDir),
      readOnly: options.readOnly,
      tty: options.tty,
      interactive: options.interactive,
      stopSignal: options.stopSignal !== undefined ? parseSignal(options.stopSignal) : 'SIGTERM',
      autoRemove: options.autoRemove,
      ulimits: options.ulimits.map(parseUlimit),
      labels: buildLabels(
        imageLabels(await store.images.readBlob(image.id)),
        options.labelFiles,
        options.labels,
      ),
      extraHosts: options.extraHosts,
    };
    await writeEtcFiles(folder, hostname, options.extraHosts.map(parseExtraHost));
    await fsp.writeFile(path.join(folder, 'stdout.log'), '');
    await fsp.writeFile(path.join(folder, 'stderr.log'), '');
    await fsp.mkdir(path.join(folder, 'processes'));
    resetTmpfsFolders(translatorMounts(requests, folder));
    await fsp.writeFile(
      path.join(folder, 'container.json'),
      JSON.stringify(config, null, 2) + '\n',
    );
    await fsp.writeFile(
      path.join(folder, 'state.json'),
      JSON.stringify(newState(), null, 2) + '\n',
    );
    await store.commit(folder, config, options.name === undefined ? pickFreeName : undefined);
    return config;
  } catch (error) {
    await removeTree(folder);
    throw error;
  }
}

function argvOf(entrypoint: string): string[] {
  return entrypoint === '' ? [] : [entrypoint];
}

function mountRequests(options: CreateOptions): MountRequest[] {
  const requests = [
    ...options.mounts.map(parseMount),
    ...options.tmpfs.map(parseTmpfs),
    // -v last: it creates a missing source folder, which should not happen when another
    // mount option is invalid.
    ...options.volumes.map(parseVolume),
  ];
  checkDuplicateTargets(requests);
  return requests;
}
