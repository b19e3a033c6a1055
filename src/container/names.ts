import { randomInt } from 'node:crypto';

// Word lists for generated container names. A name joins one adjective and one noun, as
// Docker's generated names do, from lists of our own.
const adjectives = (
  'agile amber bold brave bright calm clever cosmic crisp curious daring eager earnest ' +
  'fearless gentle glad golden happy hardy honest jolly keen kind lively loyal lucid merry ' +
  'mighty modest nimble noble patient plucky polite proud quick quiet rapid ready serene ' +
  'sharp silent sleek smart steady sunny swift tidy vivid warm wise witty zealous'
).split(' ');

const nouns = (
  'albatross badger beaver bison cheetah condor coyote crane dolphin eagle falcon ferret ' +
  'finch gazelle gecko heron ibex jackal jaguar kestrel koala lemur lynx marmot marten ' +
  'narwhal ocelot orca osprey otter panda pelican penguin puffin quokka raven robin salmon ' +
  'seal sparrow stork swan tapir tern toucan turtle walrus weasel wombat wren yak zebra'
).split(' ');

/**
 * Makes a random `adjective_noun` name. Later attempts append the attempt number, so a caller
 * that retries until a name is free ends even when every plain name is taken.
 */
export function randomName(attempt = 0): string {
  const name = `${adjectives[randomInt(adjectives.length)]}_${nouns[randomInt(nouns.length)]}`;
  return attempt === 0 ? name : `${name}${attempt}`;
}

/** Docker's rule for container names: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`. */
export function checkName(name: string): string | undefined {
  const bare = name.startsWith('/') ? name.slice(1) : name;
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(bare)) {
    return `invalid container name "${name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`;
  }
  return undefined;
}
