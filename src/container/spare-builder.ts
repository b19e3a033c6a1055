/**
 * The spare root builder, started by `requestSpare` as `node spare-builder.js STORE-ROOT
 * CHAIN-ID` in a session of its own with no output. A spare that cannot be built is missing,
 * and the next container then clones its own root.
 */
import { isDigest } from '../image/digest';
import { openStore } from '../image/store';
import { buildSpares } from './spare';

const [root, chainId] = process.argv.slice(2);
if (root === undefined || chainId === undefined || !isDigest(chainId)) {
  process.stderr.write('usage: spare-builder.js STORE-ROOT CHAIN-ID\n');
  process.exitCode = 2;
} else {
  openStore(root)
    .then((store) => buildSpares(store, chainId))
    .catch(() => {
      process.exitCode = 1;
    });
}
