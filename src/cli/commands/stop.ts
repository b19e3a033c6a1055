import { parseSignal } from '../../container/process';
import { signalContainer, stopContainer } from '../../container/lifecycle';
import { optionValue, parseArgs } from '../args';
import { Command } from '../command';
import { UsageError } from '../errors';
import { forEachContainer } from './container-store';

/** `noah stop`: the stop signal, then SIGKILL after a timeout. */
export const stopCommand: Command = {
  name: 'stop',
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  summary: 'Stop one or more running containers',
  options: [
    {
      name: 'time',
      short: 't',
      value: true,
      help: 'seconds to wait after the stop signal before SIGKILL (default 10)',
    },
  ],
  async run(argv, io) {
    const parsed = parseArgs(argv, this.options);
    if (parsed.positionals.length === 0) throw new UsageError('noah stop needs a container');
    const text = optionValue(parsed, 'time') ?? '10';
    const seconds = Number(text);
    if (!/^[0-9]+$/.test(text) || !Number.isSafeInteger(seconds)) {
      throw new UsageError(`invalid --time "${text}": give whole seconds`);
    }
    return forEachContainer(parsed.positionals, io, async (store, name) =>
      stopContainer(store, await store.get(name), seconds),
    );
  },
};

/** `noah kill`: send a signal to a container's first process. */
export const killCommand: Command = {
  name: 'kill',
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  summary: 'Send a signal (default SIGKILL) to one or more running containers',
  options: [{ name: 'signal', short: 's', value: true, help: 'signal to send (default SIGKILL)' }],
  async run(argv, io) {
    const parsed = parseArgs(argv, this.options);
    if (parsed.positionals.length === 0) throw new UsageError('noah kill needs a container');
    const signal = parseSignal(optionValue(parsed, 'signal') ?? 'SIGKILL');
    return forEachContainer(parsed.positionals, io, async (store, name) =>
      signalContainer(store, await store.get(name), signal),
    );
  },
};
