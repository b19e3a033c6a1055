import * as readline from 'node:readline';
import { noahHome } from '../../home';
import { Credentials, saveCredentials } from '../../image/credentials';
import { RegistryClient } from '../../image/registry';
import { DOCKER_HUB_DOMAIN } from '../../image/reference';
import { optionFlag, optionValue, parseArgs } from '../args';
import { Command } from '../command';
import { UsageError } from '../errors';
import { withImageErrors } from './image-errors';
import { insecureRegistries } from './pull';

/** Returns the registry domain of a `login`/`logout` argument, or Docker Hub without one. */
export function loginDomain(server: string | undefined): string {
  if (server === undefined) return DOCKER_HUB_DOMAIN;
  const host = server.replace(/^[a-z]+:\/\//, '').replace(/\/.*$/, '');
  return host === 'index.docker.io' || host === 'registry-1.docker.io' ? DOCKER_HUB_DOMAIN : host;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += chunk.toString();
  return text;
}

/** `noah login`: checks credentials with the registry and saves them as Docker does. */
export const loginCommand: Command = {
  name: 'login',
  usage: '[-u USER] [-p PASSWORD | --password-stdin] [SERVER]',
  summary: 'Log in to a registry and save the credentials in the Docker client config',
  options: [
    { name: 'username', short: 'u', value: true, help: 'user name' },
    {
      name: 'password',
      short: 'p',
      value: true,
      help: 'password (visible to other users; prefer --password-stdin)',
    },
    { name: 'password-stdin', help: 'read the password from standard input' },
  ],
  async run(argv, io) {
    const parsed = parseArgs(argv, this.options);
    if (parsed.positionals.length > 1) throw new UsageError('noah login takes at most one server');
    const domain = loginDomain(parsed.positionals[0]);
    const username = optionValue(parsed, 'username');
    let password = optionValue(parsed, 'password');
    if (optionFlag(parsed, 'password-stdin')) {
      if (username === undefined) throw new UsageError('--password-stdin needs --username');
      password = (await readAll(process.stdin)).replace(/\r?\n$/, '');
    }
    if (username === undefined || password === undefined) {
      if (!process.stdin.isTTY)
        throw new UsageError('noah login needs --username and a password when not on a terminal');
      const prompt = readline.createInterface({ input: process.stdin, output: process.stderr });
      const ask = (question: string) =>
        new Promise<string>((resolve) => prompt.question(question, resolve));
      const user = username ?? (await ask('Username: '));
      const secret = password ?? (await ask('Password: '));
      prompt.close();
      return login(domain, { username: user, password: secret }, io.stdout);
    }
    return login(domain, { username, password }, io.stdout);
  },
};

async function login(
  domain: string,
  credentials: Credentials,
  out: NodeJS.WritableStream,
): Promise<number> {
  return withImageErrors(async () => {
    const client = new RegistryClient(domain, {
      home: noahHome(),
      credentials,
      insecureRegistries: insecureRegistries(),
    });
    try {
      // The client sends the credentials after the challenge, so a wrong password fails here.
      await client.fetch('GET', '/v2/', undefined).then((response) => response.body.dump());
    } finally {
      await client.close();
    }
    const where = await saveCredentials(domain, credentials);
    out.write(`Login Succeeded (credentials saved in ${where})\n`);
    return 0;
  });
}
