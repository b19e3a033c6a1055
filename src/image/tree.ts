import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { chainId, Digest } from './digest';
import { DigestMismatchError } from './errors';
import { Store, removeTree } from './store';

/** One layer file to unpack, bottom first. */
export interface LayerSource {
  file: string;
  name: string; // how errors name the layer, usually its digest
  diffId?: Digest; // the diff ID the image config promises, checked after unpacking
  onBytes?: (bytes: number) => void;
  onStart?: () => void;
  onDone?: () => void;
}

export interface TreeResult {
  diffIds: Digest[];
  contentBytes: number;
  chainId: Digest;
}

/**
 * Unpacks `layers` into tree/CHAIN_ID of the store: in a folder under tmp/ first, renamed into
 * place only when every layer applied and matched its diff ID. Without `expectedChainId` the
 * chain ID comes from the diff IDs found while unpacking.
 */
export async function buildTree(
  store: Store,
  expectedChainId: Digest | undefined,
  layers: LayerSource[],
): Promise<TreeResult> {
  const work = store.temporaryPath('tree');
  const rootfs = path.join(work, 'rootfs');
  await fsp.mkdir(rootfs, { recursive: true, mode: 0o755 });
  try {
    // Loaded here, with tar-stream, so that commands that unpack nothing start faster.
    const { TreeWriter } = await import('./unpack');
    const writer = new TreeWriter(rootfs);
    const diffIds: Digest[] = [];
    let contentBytes = 0;
    for (const layer of layers) {
      layer.onStart?.();
      const result = await writer.applyLayer(layer.file, layer.name, layer.onBytes);
      if (layer.diffId !== undefined && result.diffId !== layer.diffId) {
        throw new DigestMismatchError(
          `layer ${layer.name}: uncompressed content has digest ${result.diffId}, but the ` +
            `image config lists ${layer.diffId}`,
        );
      }
      diffIds.push(result.diffId);
      contentBytes += result.contentBytes;
      layer.onDone?.();
    }
    await writer.finish();
    await writer.metadata.write(path.join(work, 'metadata.json'), contentBytes);
    const chain = expectedChainId ?? chainId(diffIds);
    await store.commitTree(chain, work);
    return { diffIds, contentBytes, chainId: chain };
  } catch (error) {
    await removeTree(work);
    throw error;
  }
}
