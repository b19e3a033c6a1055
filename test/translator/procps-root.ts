/**
 * A bookworm minbase root with procps added, for the /proc tests. The debian fixture root is
 * minbase only and has no `ps`, `top`, `free` or `uptime`; util-linux (`mount`) and coreutils
 * (`df`, `nproc`) are in minbase already.
 *
 * Command line: `npx jest test/translator/procfs.test.ts` builds it on first use (about a minute
 * with the Debian mirror); it is cached under rootfs-cache/ like the fixtures.
 */

import { Recipe, cachedFolder } from '../fixtures/cache';
import { runCommand } from '../fixtures/command';
import { debianSuite, debootstrapTar } from '../fixtures/debian';
import { sourceDateEpoch } from '../fixtures/layer';

/** Bumped when the build below changes in a way the recipe does not show. */
const builderVersion = 1;

const packages = ['procps'];

const tarRecipe: Recipe = {
  suite: debianSuite,
  variant: 'minbase',
  architecture: 'amd64',
  include: packages,
  sourceDateEpoch,
};

/**
 * Returns the root tar made by `mmdebstrap --variant=minbase --include=procps`. Its cache name
 * differs from the fixtures' tar, because the cache removes other recipes of the same name.
 */
function procpsTar(): Promise<string> {
  return debootstrapTar(
    { variant: 'minbase', architecture: 'amd64', include: packages },
    `${debianSuite}-minbase-procps-amd64`,
  );
}

/**
 * Returns `rootfs-cache/rootfs/debian-procps-KEY`, the procps root extracted with owners and
 * modes kept. Shared by every test run: treat it as read-only.
 */
export async function procpsRootfs(): Promise<string> {
  const recipe: Recipe = { builderVersion, base: tarRecipe };
  return cachedFolder('rootfs', 'debian-procps', recipe, async (folder) => {
    const tar = await procpsTar();
    await runCommand('tar', ['-x', '--numeric-owner', '-p', '-f', tar, '-C', folder]);
  });
}
